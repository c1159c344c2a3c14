//! The Canvas-compatible API driven by the real `canvasapi` client: `tests/canvasapi/flow.py` runs a
//! school's script (accounts, users, courses, enrollments, pages of results, errors) against a real
//! `lms-media serve`, on SQLite and on PostgreSQL. `scripts/python-deps` installs canvasapi from PyPI.

// Helpers shared by the tests, which clippy does not see as test code.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::fleet::{account_named, create_database, serve};
use crate::util::run_with_limit;

pub(crate) fn python() -> PathBuf {
    let cache = std::env::var_os("LMS_MEDIA_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lms-media"));
    let python = cache.join("venv/bin/python");
    assert!(python.exists(), "no Python environment at {}: run scripts/python-deps", python.display());
    python
}

fn run_flow(env: &[(String, String)]) {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), env, &[]);
    let (token, _) = account_named(data.path(), env, "Canvas School", "admin@canvas-school.example");
    let flow = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/canvasapi/flow.py");
    // canvasapi is given the server's origin, as a school gives it its Canvas URL.
    let base_url = server.url("");
    let mut command = Command::new(python());
    command.arg(&flow).arg(&base_url).arg(&token);
    let output = run_with_limit(&mut command, Duration::from_secs(300));
    assert!(
        output.status.success(),
        "canvasapi flow failed:\n{}\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
}

#[test]
fn canvasapi_drives_accounts_users_courses_and_enrollments_on_sqlite() {
    run_flow(&[]);
}

#[test]
fn canvasapi_drives_accounts_users_courses_and_enrollments_on_postgres() {
    run_flow(&[("DATABASE_URL".to_owned(), create_database())]);
}
