//! `lms-media transcode INPUT -o OUT`: one lecture into a validated HLS ladder.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lms_workers::engine::CancelFlag;
use lms_workers::transcode::{SubtitleInput, TranscodeEvent, TranscodeRequest, TranscodeSummary, transcode};
use lms_workers::{EncodeSettings, FfmpegEngine};
use serde_json::Value;

use crate::Outcome;
use crate::isolated::{ChildResult, run_isolated};

/// Arguments of `lms-media transcode`.
#[derive(Debug, Args, Clone)]
#[command(after_help = "Examples:\n  lms-media transcode lecture.mp4 -o lecture-hls\n  \
lms-media transcode lecture.mp4 -o out --subs en=lecture.en.srt --subs fr=lecture.fr.vtt\n  \
lms-media transcode lecture.mp4 -o out --rungs 720,480 --json\n\n\
The ladder is written to a hidden folder beside OUT and renamed to OUT once every playlist passed validation.\n\
Exit codes: 0 the ladder is in place, 1 the input was refused or the ladder broke HLS rules, 2 an error.")]
pub struct TranscodeArgs {
    /// The lecture to transcode.
    pub input: PathBuf,
    /// The ladder folder to write; an earlier ladder there is replaced, anything else only with --force.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace OUT even when it exists and is not a ladder (a file, or a folder without master.m3u8).
    #[arg(long)]
    pub force: bool,
    /// A subtitle file as LANG=FILE (SRT or WebVTT); repeat for more languages; the first is the default.
    #[arg(long = "subs", value_name = "LANG=FILE", value_parser = parse_subtitle)]
    pub subtitles: Vec<SubtitleArg>,
    /// Short sides of the rungs, best first; rungs above the source are dropped.
    #[arg(long, value_delimiter = ',', value_name = "SIDES")]
    pub rungs: Option<Vec<u32>>,
    /// x264 preset: faster presets trade bytes for speed.
    #[arg(long, default_value = "veryfast")]
    pub preset: String,
    /// Threads per x264 encoder (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub x264_threads: Option<u32>,
    /// Print one JSON event per line instead of a progress bar and a summary.
    #[arg(long)]
    pub json: bool,
    /// Stop the encode after this many seconds (default: 10 minutes plus 10 times the programme's length).
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<u64>,
    /// Encode in this process instead of a child process (no crash isolation, no time limit).
    #[arg(long)]
    pub in_process: bool,
    /// Internal: run as the child of an isolated transcode, printing JSON events.
    #[arg(long, hide = true)]
    pub child_events: bool,
}

/// A `LANG=FILE` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleArg {
    language: String,
    path: PathBuf,
}

impl SubtitleArg {
    /// A subtitle file for `language`.
    pub fn new(language: &str, path: PathBuf) -> Self {
        Self { language: language.to_owned(), path }
    }
}

fn parse_subtitle(value: &str) -> Result<SubtitleArg, String> {
    let (language, path) =
        value.split_once('=').ok_or_else(|| format!("`{value}` is not LANG=FILE (for example en=lecture.en.srt)"))?;
    if !lms_packager::subtitles::language::is_language_tag(language) {
        return Err(format!("`{language}` is not a language tag such as en, fr or pt-BR"));
    }
    if path.is_empty() {
        return Err(format!("`{value}` names no file"));
    }
    Ok(SubtitleArg { language: language.to_owned(), path: PathBuf::from(path) })
}

impl TranscodeArgs {
    fn request(&self) -> TranscodeRequest {
        TranscodeRequest {
            input: self.input.clone(),
            output: self.output.clone(),
            subtitles: self
                .subtitles
                .iter()
                .map(|arg| SubtitleInput { language: arg.language.clone(), path: arg.path.clone() })
                .collect(),
            rungs: self.rungs.clone(),
            settings: EncodeSettings { x264_preset: self.preset.clone(), x264_threads: self.x264_threads },
            cancel: CancelFlag::default(),
        }
    }

    /// The arguments a child needs to redo this transcode.
    pub fn child_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![self.input.clone().into(), "-o".into(), self.output.clone().into()];
        for subtitle in &self.subtitles {
            let mut pair = OsString::from(format!("{}=", subtitle.language));
            pair.push(&subtitle.path);
            args.push("--subs".into());
            args.push(pair);
        }
        if let Some(rungs) = &self.rungs {
            let list: Vec<String> = rungs.iter().map(u32::to_string).collect();
            args.push("--rungs".into());
            args.push(list.join(",").into());
        }
        args.push("--preset".into());
        args.push(self.preset.clone().into());
        if let Some(threads) = self.x264_threads {
            args.push("--x264-threads".into());
            args.push(threads.to_string().into());
        }
        args
    }
}

/// What `output` is when it exists and is not a ladder this command may replace: `None` when it is absent,
/// an empty folder, or a folder holding a ladder (`master.m3u8`).
fn not_a_ladder(output: &std::path::Path) -> Option<&'static str> {
    let metadata = std::fs::symlink_metadata(output).ok()?;
    if !metadata.is_dir() {
        return Some("not a folder");
    }
    if output.join("master.m3u8").is_file() {
        return None;
    }
    let empty = std::fs::read_dir(output).map(|mut entries| entries.next().is_none()).unwrap_or(false);
    (!empty).then_some("a folder that holds no ladder (no master.m3u8)")
}

/// Runs `lms-media transcode`.
pub fn run(args: TranscodeArgs) -> anyhow::Result<Outcome> {
    for subtitle in &args.subtitles {
        if !subtitle.path.is_file() {
            bail!("subtitle file {} (for {}) does not exist", subtitle.path.display(), subtitle.language);
        }
    }
    if args.child_events {
        return run_child(&args);
    }
    if !args.force {
        if let Some(what) = not_a_ladder(&args.output) {
            bail!(
                "{} exists and is {what}: it is left as it is (choose another -o, or pass --force to replace it)",
                args.output.display()
            );
        }
    }
    let mut display = Display::new(args.json);
    let result = if args.in_process {
        in_process(&args, &mut display)
    } else {
        let limit = args.time_limit.map(Duration::from_secs);
        run_isolated(&args.output, args.child_args(), limit, None, &mut |event| display.event(event))?
    };
    display.finish();
    match result {
        ChildResult::Finished(summary) => {
            if !args.json {
                print!("{}", human_summary(&summary));
            }
            Ok(Outcome::Success)
        }
        // The input was refused, or the ladder broke HLS rules: the run worked and found a problem.
        ChildResult::Failed { code, message, rejection } if rejection || code == "ladder-invalid" => {
            if !args.json {
                eprintln!("refused ({code}): {message}");
            }
            Ok(Outcome::ProblemsFound)
        }
        ChildResult::Failed { code, message, .. } => bail!("transcode failed ({code}): {message}"),
    }
}

/// Transcodes in this process, turning the outcome into the events a child would print.
fn in_process(args: &TranscodeArgs, display: &mut Display) -> ChildResult {
    let result = transcode(&args.request(), &FfmpegEngine, &mut |event| {
        if let Ok(value) = serde_json::to_value(&event) {
            display.event(&value);
        }
    });
    let value = finished_or_failed(result);
    display.event(&value);
    match value["event"].as_str() {
        Some("finished") => ChildResult::Finished(value["summary"].clone()),
        _ => ChildResult::Failed {
            code: value["code"].as_str().unwrap_or("failed").to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
            rejection: value["rejection"].as_bool().unwrap_or(false),
        },
    }
}

/// The child side: do the work here, print every event as one JSON line.
fn run_child(args: &TranscodeArgs) -> anyhow::Result<Outcome> {
    die_with_parent();
    let mut stdout = std::io::stdout().lock();
    let fault = std::env::var("LMS_MEDIA_CHILD_FAULT").ok();
    let result = transcode(&args.request(), &FfmpegEngine, &mut |event| {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
        // Fault injection for the isolation tests: die the way a crashing decoder would, mid-encode.
        if fault.as_deref() == Some("abort-while-encoding") && matches!(event, TranscodeEvent::Progress { .. }) {
            std::process::abort();
        }
    });
    let last = finished_or_failed(result);
    writeln!(stdout, "{last}").context("writing the last event")?;
    stdout.flush().context("writing the last event")?;
    Ok(if last["event"] == "finished" { Outcome::Success } else { Outcome::ProblemsFound })
}

fn finished_or_failed(result: Result<TranscodeSummary, lms_workers::Error>) -> Value {
    match result {
        Ok(summary) => serde_json::json!({ "event": "finished", "summary": summary }),
        Err(error) => {
            let (code, rejection) = (error.code(), error.is_rejection());
            // The whole chain of causes, as "what failed: because: because".
            let message = format!("{:#}", anyhow::Error::new(error));
            serde_json::json!({ "event": "failed", "code": code, "message": message, "rejection": rejection })
        }
    }
}

/// A child whose parent died (Ctrl-C on the terminal, a killed worker) stops too. The signal only covers
/// deaths after it is asked for, so the parent's pid is then compared with the one it passed down: a parent
/// that died during the child's start-up leaves the child adopted by another process.
fn die_with_parent() {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a signal number on this process.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let expected = std::env::var(crate::isolated::PARENT_PID_VAR).ok().and_then(|pid| pid.parse::<libc::pid_t>().ok());
    // SAFETY: getppid() has no preconditions.
    if expected.is_some_and(|pid| pid != unsafe { libc::getppid() }) {
        std::process::exit(2);
    }
}

/// The progress bar on a terminal, JSON lines with `--json`, nothing in a pipe.
struct Display {
    json: bool,
    bar: Option<ProgressBar>,
}

impl Display {
    fn new(json: bool) -> Self {
        Self { json, bar: None }
    }

    fn event(&mut self, event: &Value) {
        if self.json {
            println!("{event}");
            return;
        }
        match event["event"].as_str() {
            Some("probed") => {
                let total = event["duration_seconds"].as_f64().unwrap_or(0.0);
                let bar = ProgressBar::new((total * 1000.0) as u64);
                bar.set_style(
                    ProgressStyle::with_template("{msg:12} [{bar:32}] {percent:>3}% {prefix} ETA {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                let rungs: Vec<&str> = event["ladder"]["rungs"]
                    .as_array()
                    .map(|rungs| rungs.iter().filter_map(|rung| rung["name"].as_str()).collect())
                    .unwrap_or_default();
                bar.set_message(rungs.join("/"));
                self.bar = Some(bar);
            }
            Some("progress") => {
                if let Some(bar) = &self.bar {
                    bar.set_position((event["encoded_seconds"].as_f64().unwrap_or(0.0) * 1000.0) as u64);
                    bar.set_prefix(format!(
                        "{:.0} fps {:.2}×",
                        event["fps"].as_f64().unwrap_or(0.0),
                        event["speed"].as_f64().unwrap_or(0.0)
                    ));
                }
            }
            Some("packaging") => {
                if let Some(bar) = &self.bar {
                    bar.set_message("packaging");
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The summary printed at the end: where the ladder is, how fast, and what each rung measured.
pub fn human_summary(summary: &Value) -> String {
    let ladder = &summary["ladder"];
    let mut out = format!(
        "{} → {}: {:.1} s of video in {:.1} s ({:.2}× real time)\n",
        summary["input"].as_str().unwrap_or("?"),
        summary["output"].as_str().unwrap_or("?"),
        ladder["duration_seconds"].as_f64().unwrap_or(0.0),
        summary["elapsed_seconds"].as_f64().unwrap_or(0.0),
        summary["speed"].as_f64().unwrap_or(0.0),
    );
    for variant in ladder["variants"].as_array().into_iter().flatten() {
        let resolution =
            variant["resolution"].as_array().map(|pair| format!("{}×{}", pair[0], pair[1])).unwrap_or_default();
        out += &format!(
            "  {:7} {:10} peak {:>5.2} Mb/s  average {:>5.2} Mb/s  {}\n",
            variant["name"].as_str().unwrap_or("?"),
            resolution,
            variant["bandwidth"].as_f64().unwrap_or(0.0) / 1e6,
            variant["average_bandwidth"].as_f64().unwrap_or(0.0) / 1e6,
            variant["codecs"].as_str().unwrap_or(""),
        );
    }
    let subtitles: Vec<&str> =
        ladder["subtitle_languages"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !subtitles.is_empty() {
        out += &format!("  subtitles: {}\n", subtitles.join(", "));
    }
    for note in ladder["subtitle_notes"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        out += &format!("  note: {note}\n");
    }
    let warnings: Vec<&str> =
        summary["validation_warnings"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    out += &if warnings.is_empty() {
        "  validation: passed\n".to_owned()
    } else {
        format!("  validation: passed with warnings {}\n", warnings.join(", "))
    };
    out += &format!("  master: {}\n", ladder["master"].as_str().unwrap_or("?"));
    out
}
