//! One module per subcommand: its clap arguments and a `run` that calls into a library crate.

pub mod batch;
pub mod fleet;
pub mod hls;
pub mod probe;
pub mod scorm;
pub mod serve;
pub mod transcode;
pub mod worker;
