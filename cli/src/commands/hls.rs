//! `lms-media hls …`: check HLS ladders against the contract. Glue only: the rules and the report formats
//! live in `lms-packager`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use lms_packager::report::{self, ReportFormat};

use crate::Outcome;

/// The `hls` subcommands.
#[derive(Debug, Subcommand)]
pub enum HlsCommand {
    /// Validate a ladder (master, media playlists, segments, WebVTT) against the HLS contract.
    Validate(ValidateArgs),
    /// List the validator's rules: id, severity, name and what each checks.
    Rules,
}

/// Output formats of `hls validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per finding and a verdict.
    Human,
    /// One JSON document with the findings and the rule legend.
    Json,
    /// JUnit XML, one test case per rule, for CI dashboards.
    Junit,
}

/// Arguments of `lms-media hls validate`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  lms-media hls validate out/lesson-42/\n  \
lms-media hls validate out/lesson-42/master.m3u8 --format junit > hls-report.xml\n\n\
Exit codes: 0 the ladder is valid (warnings allowed), 1 the validator found errors, 2 it could not run \
(no master playlist, unreadable master).")]
pub struct ValidateArgs {
    /// A folder holding master.m3u8, or the master playlist itself.
    pub path: PathBuf,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Runs an `hls` subcommand.
pub fn run(command: HlsCommand) -> anyhow::Result<Outcome> {
    match command {
        HlsCommand::Validate(args) => validate(args),
        HlsCommand::Rules => {
            print!("{}", report::rules_table());
            Ok(Outcome::Success)
        }
    }
}

fn validate(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let validation = lms_packager::validate_path(&args.path)
        .with_context(|| format!("could not validate {}", args.path.display()))?;
    let format = match args.format {
        Format::Human => ReportFormat::Human,
        Format::Json => ReportFormat::Json,
        Format::Junit => ReportFormat::Junit,
    };
    print!("{}", report::render(&validation, format));
    Ok(if validation.passed() { Outcome::Success } else { Outcome::ProblemsFound })
}
