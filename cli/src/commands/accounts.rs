//! `lms-media accounts create`: a new account (a school) with its first admin and a token for that admin,
//! printed as JSON. The operator's way in to a fresh install.

use anyhow::Context;

use crate::Outcome;
use crate::commands::fleet::{DatabaseArgs, runtime};

/// `lms-media accounts …`.
#[derive(Debug, clap::Subcommand)]
pub enum AccountsCommand {
    /// Create an account and its first admin; prints {"account_id", "user_id", "token"}.
    #[command(
        after_help = "Example:\n  lms-media accounts create --name 'North High' --admin-email admin@north.example"
    )]
    Create(CreateArgs),
}

/// Arguments of `lms-media accounts create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The account's name.
    #[arg(long)]
    pub name: String,
    /// The first admin's login (an email address).
    #[arg(long)]
    pub admin_email: String,
    /// The first admin's full name (the email's local part when not given).
    #[arg(long)]
    pub admin_name: Option<String>,
    /// A password for the first admin (read from this environment variable, never from the command line).
    #[arg(long, value_name = "ENV_VAR")]
    pub admin_password_env: Option<String>,
}

/// Runs `lms-media accounts …`.
pub fn run(command: AccountsCommand) -> anyhow::Result<Outcome> {
    let AccountsCommand::Create(args) = command;
    let password = match &args.admin_password_env {
        Some(variable) => {
            Some(std::env::var(variable).with_context(|| format!("reading the password from ${variable}"))?)
        }
        None => None,
    };
    runtime()?.block_on(async {
        let db = args.database.connect().await?;
        let created = lms_api::accounts::operators::create_account(
            &db,
            &args.name,
            &args.admin_email,
            args.admin_name.as_deref(),
            password.as_deref(),
        )
        .await
        .context("creating the account")?;
        println!("{}", serde_json::to_string(&created)?);
        Ok(Outcome::Success)
    })
}
