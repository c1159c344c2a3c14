//! One module per subcommand: its clap arguments and a `run` that calls into a library crate.

pub mod accounts;
pub mod batch;
pub mod enrollments;
pub mod fleet;
pub mod hls;
pub mod migrate;
pub mod probe;
pub mod scorm;
pub mod serve;
pub mod tokens;
pub mod transcode;
pub mod worker;
