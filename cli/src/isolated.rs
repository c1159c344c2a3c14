//! Running one transcode in a child process of this same binary.
//!
//! The parent re-executes `lms-media transcode … --child-events`; the child does the work in-process and
//! prints one JSON event per line (`probed`, `progress`, `packaging`, then `finished` or `failed`). A decoder
//! crash or a hang therefore ends one child, never the batch or worker that started it. The time limit starts
//! short (probing is quick) and grows once the child has said how long the programme is.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::Context;
use lms_workers::child::{ChildCommand, Deadline, run_child};
use serde_json::Value;

/// The environment variable that tells a child which process started it.
pub const PARENT_PID_VAR: &str = "LMS_MEDIA_PARENT_PID";

/// Time the child has to probe its input and say how long the programme is.
const PROBE_TIME_LIMIT: Duration = Duration::from_secs(120);

/// How a child transcode ended.
#[derive(Debug)]
pub enum ChildResult {
    /// The ladder is in place; the summary as the child reported it.
    Finished(Value),
    /// The transcode failed; `rejection` is true when the input itself was refused.
    Failed {
        /// Stable error code.
        code: String,
        /// The message, with its causes.
        message: String,
        /// Whether the input was refused (as opposed to a failure to do the work).
        rejection: bool,
    },
}

/// The default limit for a programme of `seconds`: ten minutes of slack plus ten times real time, which a
/// two-core machine encoding three 1080p rungs stays well inside.
pub fn default_time_limit(seconds: f64) -> Duration {
    Duration::from_secs(600) + Duration::from_secs_f64(seconds.max(0.0) * 10.0)
}

/// Runs `lms-media transcode <args> --child-events` and passes each event to `on_event`. `output` is the
/// ladder folder the child writes: when the child dies, the hidden build folder it left is removed.
pub fn run_isolated(
    output: &std::path::Path,
    args: Vec<OsString>,
    time_limit: Option<Duration>,
    cancel: Option<lms_workers::engine::CancelFlag>,
    on_event: &mut dyn FnMut(&Value),
) -> anyhow::Result<ChildResult> {
    let program = std::env::current_exe().context("finding the lms-media binary to run the encode in")?;
    let mut argv: Vec<OsString> = vec!["transcode".into()];
    argv.extend(args);
    argv.push("--child-events".into());
    let command = ChildCommand {
        program,
        args: argv,
        time_limit: time_limit.unwrap_or(PROBE_TIME_LIMIT),
        // The child checks it is still ours once it has asked to die with its parent (see transcode.rs).
        env: vec![(PARENT_PID_VAR.to_owned(), std::process::id().to_string())],
        cancel,
    };
    let mut result = None;
    let outcome = run_child(&command, &mut |line| {
        let Ok(event) = serde_json::from_str::<Value>(line) else { return Deadline::Keep };
        on_event(&event);
        match event["event"].as_str() {
            Some("probed") if time_limit.is_none() => {
                let seconds = event["duration_seconds"].as_f64().unwrap_or(3600.0);
                return Deadline::ExtendTo(default_time_limit(seconds));
            }
            Some("finished") => result = Some(ChildResult::Finished(event["summary"].clone())),
            Some("failed") => {
                result = Some(ChildResult::Failed {
                    code: event["code"].as_str().unwrap_or("failed").to_owned(),
                    message: event["message"].as_str().unwrap_or("the transcode failed").to_owned(),
                    rejection: event["rejection"].as_bool().unwrap_or(false),
                })
            }
            _ => {}
        }
        Deadline::Keep
    });
    let died = match (outcome, result) {
        (Ok(_), Some(result)) => return Ok(result),
        (Ok(exit), None) => {
            lms_workers::Error::ChildCrashed { status: exit.status.to_string(), stderr_tail: exit.stderr_tail }
        }
        (Err(error @ (lms_workers::Error::ChildTimedOut { .. } | lms_workers::Error::Cancelled)), _) => error,
        (Err(error), _) => return Err(error).context("running the encode process"),
    };
    lms_workers::transcode::remove_abandoned_partials(output)
        .context("removing the build folder of the stopped encode")?;
    Ok(ChildResult::Failed { code: died.code().into(), message: died.to_string(), rejection: false })
}
