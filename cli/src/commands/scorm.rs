//! `lms-media scorm …`: validate, inspect and unpack SCORM packages. Glue only: parsing arguments and printing
//! what `lms-scorm` returns; the rules, the reports and the safe extraction all live in the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use lms_scorm::report::{self, Format};
use lms_scorm::{Limits, Options, Profile, Verdict};

use crate::Outcome;

/// The `scorm` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScormCommand {
    /// Check packages against the SCORM rules (zip files or unpacked folders).
    Validate(ValidateArgs),
    /// Show a package's standard, organization tree, resources and launch URLs.
    Inspect(InspectArgs),
    /// Extract a package safely (hostile names, links, duplicates and bombs are refused before anything is written).
    Unpack(UnpackArgs),
    /// List the rules with their ids, severities and what they check.
    Rules,
}

/// Which judgement to apply.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileArg {
    /// The ADL Conformance Test Suite's rules.
    Strict,
    /// What the large LMSs accept, with a note of what each does differently.
    Compat,
}

/// How to print the reports.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Text for a terminal.
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML (a test suite per package, a test case per rule).
    Junit,
    /// SARIF 2.1.0 for code-scanning views.
    Sarif,
}

/// Arguments of `lms-media scorm validate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lms-media scorm validate course.zip\n  lms-media scorm validate dist/*.zip --format junit > scorm.xml\n  \
lms-media scorm validate course/ --profile compat --format sarif\n\n\
Exit codes: 0 every package passed, 1 at least one package has errors (or is not SCORM, or has warnings with \
--warnings-as-errors), 2 at least one package could not be read at all (the others are still reported)."
)]
pub struct ValidateArgs {
    /// Packages to check: .zip files or folders holding an unpacked package.
    #[arg(required = true)]
    pub packages: Vec<PathBuf>,
    /// `strict` applies the conformance rules; `compat` what SCORM Cloud, Moodle and Canvas accept.
    #[arg(long, value_enum, default_value = "strict")]
    pub profile: ProfileArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: FormatArg,
    /// Fail packages that have warnings.
    #[arg(long)]
    pub warnings_as_errors: bool,
}

/// Arguments of `lms-media scorm inspect`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lms-media scorm inspect course.zip\n  lms-media scorm inspect course.zip --json | jq .launch"
)]
pub struct InspectArgs {
    /// The package (.zip or folder).
    pub package: PathBuf,
    /// Print JSON instead of a tree.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `lms-media scorm unpack`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  lms-media scorm unpack course.zip -o /srv/scorm/course-42\n\n\
Exit codes: 0 extracted, 1 the archive was refused as unsafe or corrupt (nothing written), 2 could not run.")]
pub struct UnpackArgs {
    /// The package zip.
    pub package: PathBuf,
    /// Destination folder; must not exist or be empty.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs a `scorm` subcommand.
pub fn run(command: ScormCommand) -> anyhow::Result<Outcome> {
    match command {
        ScormCommand::Validate(args) => validate(args),
        ScormCommand::Inspect(args) => inspect(args),
        ScormCommand::Unpack(args) => unpack(args),
        ScormCommand::Rules => {
            for rule in lms_scorm::rules::RULES {
                println!("{:<24} {:<8} {}", rule.id, rule.severity.as_str(), rule.summary);
            }
            Ok(Outcome::Success)
        }
    }
}

fn validate(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let options = Options {
        profile: match args.profile {
            ProfileArg::Strict => Profile::Strict,
            ProfileArg::Compat => Profile::Compat,
        },
        warnings_as_errors: args.warnings_as_errors,
        ..Options::default()
    };
    let format = match args.format {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
        FormatArg::Junit => Format::Junit,
        FormatArg::Sarif => Format::Sarif,
    };
    let mut reports = Vec::new();
    let mut unreadable = Vec::new();
    for path in &args.packages {
        // One unreadable package does not stop the batch: it is reported and decides the exit code.
        match lms_scorm::validate_path(path, &options) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: {e:#}", path.display());
                unreadable.push(path.display().to_string());
            }
        }
    }
    print!("{}", report::render(&reports, format));
    if !unreadable.is_empty() {
        anyhow::bail!(
            "could not read {} of {} packages: {}",
            unreadable.len(),
            args.packages.len(),
            unreadable.join(", ")
        );
    }
    Ok(if reports.iter().all(|r| r.verdict == Verdict::Pass) { Outcome::Success } else { Outcome::ProblemsFound })
}

fn inspect(args: InspectArgs) -> anyhow::Result<Outcome> {
    let inspection = lms_scorm::inspect::inspect_path(&args.package, Limits::default())
        .with_context(|| format!("could not inspect {}", args.package.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inspection).context("writing JSON")?);
    } else {
        print!("{}", lms_scorm::inspect::render_text(&inspection));
    }
    Ok(Outcome::Success)
}

fn unpack(args: UnpackArgs) -> anyhow::Result<Outcome> {
    match lms_scorm::unpack::unpack(&args.package, &args.output, Limits::default()) {
        Ok(done) => {
            println!("extracted {} files ({} bytes) into {}", done.files, done.bytes, args.output.display());
            Ok(Outcome::Success)
        }
        Err(e) if e.is_package_problem() => {
            eprintln!("refused: {}: {e}", args.package.display());
            Ok(Outcome::ProblemsFound)
        }
        Err(e) => Err(e).with_context(|| format!("could not unpack {}", args.package.display())),
    }
}
