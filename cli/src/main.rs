//! The `lms-media` command. This file is glue: it parses the command line, calls one library function per
//! subcommand and turns the outcome into an exit code. No media, HLS or XML logic lives in this crate.
//!
//! Exit codes, the same for every subcommand:
//! - 0: success;
//! - 1: the command ran fine and found problems (a validation failed, a probe rejected its input);
//! - 2: the command could not do its work (bad arguments, unreadable files, internal errors).

mod commands;
mod isolated;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Media for learning platforms: HLS ladders from lectures, SCORM package checks, and the services around them.
#[derive(Debug, Parser)]
#[command(name = "lms-media", version, about, propagate_version = true, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect a media file and show the ladder it would get.
    Probe(commands::probe::ProbeArgs),
    /// Check SCORM packages, show their structure, or unpack them safely.
    #[command(subcommand)]
    Scorm(commands::scorm::ScormCommand),
    /// Turn a lecture into a validated HLS ladder.
    Transcode(commands::transcode::TranscodeArgs),
    /// Turn every lecture under a folder into ladders; reruns skip what is done.
    Batch(commands::batch::BatchArgs),
    /// Validate HLS ladders.
    #[command(subcommand)]
    Hls(commands::hls::HlsCommand),
    /// Run the API with its relay (and, embedded, its workers): uploads in, ladders out.
    Serve(Box<commands::serve::ServeArgs>),
    /// Consume transcode jobs from the queue and publish their ladders.
    Worker(Box<commands::worker::WorkerArgs>),
    /// Create accounts (schools) and their first admins.
    #[command(subcommand)]
    Accounts(commands::accounts::AccountsCommand),
    /// Enroll users in courses from a CSV file.
    #[command(subcommand)]
    Enrollments(commands::enrollments::EnrollmentsCommand),
    /// Make access tokens for users.
    #[command(subcommand)]
    Tokens(commands::tokens::TokensCommand),
    /// Apply the database migrations that are missing.
    Migrate(commands::migrate::MigrateArgs),
}

/// What a subcommand concluded, when it did its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Success,
    /// The work was done and found problems (exit code 1).
    ProblemsFound,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe(args) => commands::probe::run(args),
        Command::Scorm(command) => commands::scorm::run(command),
        Command::Hls(command) => commands::hls::run(command),
        Command::Transcode(args) => commands::transcode::run(args),
        Command::Batch(args) => commands::batch::run(args),
        Command::Serve(args) => commands::serve::run(*args),
        Command::Worker(args) => commands::worker::run(*args),
        Command::Accounts(command) => commands::accounts::run(command),
        Command::Enrollments(command) => commands::enrollments::run(command),
        Command::Tokens(command) => commands::tokens::run(command),
        Command::Migrate(args) => commands::migrate::run(args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ProblemsFound) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
