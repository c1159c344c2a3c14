//! `lms-media migrate`: applies the database migrations that are missing and lists every applied one.
//! `serve` and `worker` apply them at start too; this runs them alone, before a rolling deploy.

use anyhow::Context;

use crate::Outcome;
use crate::commands::fleet::{DatabaseArgs, runtime};

/// Arguments of `lms-media migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Runs `lms-media migrate`.
pub fn run(args: MigrateArgs) -> anyhow::Result<Outcome> {
    runtime()?.block_on(async {
        let applied = lms_db::Db::migrate(&args.database.url()?).await.context("migrating the database")?;
        for migration in applied {
            println!("{:04} {}", migration.version, migration.description);
        }
        Ok(Outcome::Success)
    })
}
