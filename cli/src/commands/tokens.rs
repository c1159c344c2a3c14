//! `lms-media tokens create --user EMAIL`: a new access token for an existing user, printed as JSON, for an
//! operator who lost the admin's token or scripts a service account.

use anyhow::Context;
use lms_db::AccountId;

use crate::Outcome;
use crate::commands::fleet::{DatabaseArgs, runtime};

/// `lms-media tokens …`.
#[derive(Debug, clap::Subcommand)]
pub enum TokensCommand {
    /// Make a token for a user; prints {"account_id", "user_id", "token"}.
    Create(CreateArgs),
}

/// Arguments of `lms-media tokens create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The user's login (an email address).
    #[arg(long)]
    pub user: String,
    /// The user's account, when the login exists in several.
    #[arg(long)]
    pub account: Option<i64>,
    /// What the token is for, shown in the user's token list.
    #[arg(long, default_value = "created by lms-media tokens create")]
    pub purpose: String,
}

/// Runs `lms-media tokens …`.
pub fn run(command: TokensCommand) -> anyhow::Result<Outcome> {
    let TokensCommand::Create(args) = command;
    runtime()?.block_on(async {
        let db = args.database.connect().await?;
        let created =
            lms_api::accounts::operators::create_token(&db, &args.user, args.account.map(AccountId), &args.purpose)
                .await
                .context("creating the token")?;
        println!("{}", serde_json::to_string(&created)?);
        Ok(Outcome::Success)
    })
}
