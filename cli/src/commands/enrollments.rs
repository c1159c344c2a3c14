//! `lms-media enrollments import FILE --account ID`: bulk enrollment from an SIS-style CSV file against the
//! serve database, idempotent (see `lms_api::catalog::import` for the columns). Prints what changed as JSON.

use std::path::PathBuf;

use anyhow::Context;
use lms_db::{AccountId, Scope};

use crate::Outcome;
use crate::commands::fleet::{DatabaseArgs, runtime};

/// `lms-media enrollments …`.
#[derive(Debug, clap::Subcommand)]
pub enum EnrollmentsCommand {
    /// Enroll users from a CSV file (email,course_id[,type,state,name]); running it twice changes nothing.
    #[command(after_help = "Example:\n  lms-media enrollments import fall.csv --account 1\n\n\
        fall.csv:\n  email,course_id,type,name\n  ann@north.example,7,student,Ann Lee\n  tess@north.example,7,teacher,Tess Teach")]
    Import(ImportArgs),
}

/// Arguments of `lms-media enrollments import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The CSV file.
    pub file: PathBuf,
    /// The account whose courses and users the file names.
    #[arg(long)]
    pub account: i64,
}

/// Runs `lms-media enrollments …`; a refused file exits 1 with the line and column at fault.
pub fn run(command: EnrollmentsCommand) -> anyhow::Result<Outcome> {
    let EnrollmentsCommand::Import(args) = command;
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    runtime()?.block_on(async {
        let db = args.database.connect().await?;
        let account = AccountId(args.account);
        let tenant = account.tenant_key();
        let mut tx = db.begin(Scope::Tenant(&tenant)).await.context("starting the import")?;
        match lms_api::catalog::import::import(&mut tx, account, &bytes).await {
            Ok(report) => {
                tx.commit().await.context("committing the import")?;
                println!("{}", serde_json::to_string(&report)?);
                Ok(Outcome::Success)
            }
            Err(refusal) if refusal.is_client_error() => {
                eprintln!("{}: refused, nothing imported: {refusal}", args.file.display());
                Ok(Outcome::ProblemsFound)
            }
            Err(error) => Err(error).context("importing enrollments"),
        }
    })
}
