//! Helpers shared by the integration tests: the binary under test, the generated fixtures, and a runner
//! that kills a command which runs too long, so a hang fails the test instead of stalling the suite.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A command for the `lms-media` binary built for these tests.
pub fn lms_media() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lms-media"))
}

/// The folder `scripts/fixtures` writes to.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("LMS_MEDIA_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/lms-media/fixtures"),
    }
}

/// A generated media fixture; fails the test with the fix when it is missing.
pub fn fixture(name: &str) -> PathBuf {
    let path = fixtures_dir().join(name);
    assert!(path.is_file(), "fixture {} is missing: run scripts/fixtures first", path.display());
    path
}

/// A small fixture committed under `fixtures/`.
pub fn committed_fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(relative)
}

/// Runs `command` to completion, killing it and failing the test after `limit`.
pub fn run_with_limit(command: &mut Command, limit: Duration) -> Output {
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}
