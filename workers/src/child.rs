//! The one place lms-media starts other processes.
//!
//! An encode runs in a child process so that a decoder crash or a hang fails that one file, not the batch or
//! the worker around it. Every child goes through [`run_child`]: argv only (never a shell), standard input
//! closed, standard output read line by line as events, standard error drained concurrently with its tail
//! kept for the error message, a deadline the caller may extend as it learns more, and a kill when the
//! deadline passes or the caller's handle is dropped.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Error;

/// How much of a child's standard error is kept for the error message.
const STDERR_TAIL_BYTES: usize = 4096;

/// A command to run as a child process.
#[derive(Debug, Clone)]
pub struct ChildCommand {
    /// The program (for an isolated encode, this binary itself).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// How long it may run before it is killed, unless the event handler extends it.
    pub time_limit: Duration,
    /// Extra environment variables for the child.
    pub env: Vec<(String, String)>,
    /// Kills the child when set (the worker lost its lease, or is shutting down).
    pub cancel: Option<crate::engine::CancelFlag>,
}

/// What the caller's event handler says after each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Keep the current deadline.
    Keep,
    /// Replace it: the child may run until `time_limit` from its start.
    ExtendTo(Duration),
}

/// How a child ended when it was not killed.
#[derive(Debug)]
pub struct ChildExit {
    /// Its exit status.
    pub status: ExitStatus,
    /// The last few kilobytes it wrote to standard error.
    pub stderr_tail: String,
}

/// Kills the child and everything it started when dropped, so no path out of [`run_child`] leaves a
/// process running. The child leads its own process group, so one signal reaches its descendants too (they
/// would otherwise hold the output pipes open after the child died).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            if let Ok(group) = libc::pid_t::try_from(self.0.id()) {
                // SAFETY: kill() with a negative pid signals that process group; no memory is involved.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Runs `command`, handing each line of its standard output to `on_line`, and returns how it exited.
///
/// A child still running at its deadline is killed and reported as [`Error::ChildTimedOut`].
pub fn run_child(command: &ChildCommand, on_line: &mut dyn FnMut(&str) -> Deadline) -> Result<ChildExit, Error> {
    let started = Instant::now();
    let mut deadline = started + command.time_limit;
    let child = Command::new(&command.program)
        .args(&command.args)
        .envs(command.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| Error::ChildStart { program: command.program.clone(), source })?;
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take();
    let stderr = child.0.stderr.take();

    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let stdout_reader = std::thread::spawn(move || {
        let Some(stdout) = stdout else { return };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut tail = VecDeque::with_capacity(STDERR_TAIL_BYTES);
        let Some(mut stderr) = stderr else { return String::new() };
        let mut chunk = [0u8; 4096];
        while let Ok(read) = stderr.read(&mut chunk) {
            if read == 0 {
                break;
            }
            for &byte in &chunk[..read] {
                if tail.len() == STDERR_TAIL_BYTES {
                    tail.pop_front();
                }
                tail.push_back(byte);
            }
        }
        String::from_utf8_lossy(tail.make_contiguous()).into_owned()
    });

    loop {
        let now = Instant::now();
        if command.cancel.as_ref().is_some_and(|cancel| cancel.is_cancelled()) {
            drop(child);
            let _ = stderr_reader.join();
            let _ = stdout_reader.join();
            return Err(Error::Cancelled);
        }
        if now >= deadline {
            drop(child);
            let stderr_tail = stderr_reader.join().unwrap_or_default();
            let _ = stdout_reader.join();
            return Err(Error::ChildTimedOut { seconds: (now - started).as_secs(), stderr_tail });
        }
        // Wake at least every 200 ms to notice a cancellation.
        match lines_rx.recv_timeout((deadline - now).min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Deadline::ExtendTo(limit) = on_line(&line) {
                    deadline = started + limit;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            // Standard output closed: the child is ending; wait for it within the same deadline.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    loop {
        if let Some(status) =
            child.0.try_wait().map_err(|source| Error::ChildStart { program: command.program.clone(), source })?
        {
            let stderr_tail = stderr_reader.join().unwrap_or_default();
            let _ = stdout_reader.join();
            return Ok(ChildExit { status, stderr_tail });
        }
        if Instant::now() >= deadline {
            drop(child);
            let stderr_tail = stderr_reader.join().unwrap_or_default();
            return Err(Error::ChildTimedOut { seconds: started.elapsed().as_secs(), stderr_tail });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, limit: Duration) -> ChildCommand {
        // A test-only shell: the wrapper itself never goes through one.
        ChildCommand {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            time_limit: limit,
            env: Vec::new(),
            cancel: None,
        }
    }

    #[test]
    fn lines_arrive_in_order_and_the_stderr_tail_is_kept() {
        let mut lines = Vec::new();
        let exit = run_child(&sh("echo one; echo two; echo oops >&2; exit 3", Duration::from_secs(10)), &mut |line| {
            lines.push(line.to_owned());
            Deadline::Keep
        })
        .unwrap();
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(exit.status.code(), Some(3));
        assert_eq!(exit.stderr_tail.trim(), "oops");
    }

    #[test]
    fn a_hanging_child_is_killed_at_its_deadline() {
        let started = Instant::now();
        let error =
            run_child(&sh("echo started; sleep 30", Duration::from_millis(500)), &mut |_| Deadline::Keep).unwrap_err();
        assert!(matches!(error, Error::ChildTimedOut { .. }), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_handler_can_extend_the_deadline() {
        let exit = run_child(&sh("echo go; sleep 1; echo done", Duration::from_millis(300)), &mut |_| {
            Deadline::ExtendTo(Duration::from_secs(10))
        })
        .unwrap();
        assert!(exit.status.success());
    }

    #[test]
    fn a_crashing_child_reports_its_signal() {
        let exit = run_child(&sh("kill -SEGV $$", Duration::from_secs(10)), &mut |_| Deadline::Keep).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit.status.signal(), Some(11));
    }

    #[test]
    fn a_cancelled_child_is_killed_promptly() {
        let cancel = crate::engine::CancelFlag::default();
        let mut command = sh("echo started; sleep 30", Duration::from_secs(60));
        command.cancel = Some(cancel.clone());
        let started = Instant::now();
        let error = run_child(&command, &mut |_| {
            cancel.cancel();
            Deadline::Keep
        })
        .unwrap_err();
        assert!(matches!(error, Error::Cancelled), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
