//! One module per subcommand: its clap arguments and a `run` that calls into a library crate.

pub mod batch;
pub mod hls;
pub mod probe;
pub mod scorm;
pub mod transcode;
