//! Integration tests of the `lms-media` binary: one module per subcommand, each test with a fresh temporary
//! folder and the real binary. One test binary, so it compiles and links once.

mod batch;
mod browser;
mod canvas;
mod fleet;
mod hls;
mod hostile;
mod lms;
mod probe;
mod schemathesis;
mod scorm;
mod transcode;
mod util;
