//! `lms-media batch DIR -o OUT [-j N]`: every lecture under a folder into ladders, one child process each.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use lms_workers::batch::{BatchItem, discover, is_complete};
use serde::Serialize;

use crate::Outcome;
use crate::commands::transcode::{SubtitleArg, TranscodeArgs};
use crate::isolated::{ChildResult, run_isolated};

/// Arguments of `lms-media batch`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  lms-media batch lectures/ -o ladders/ -j 2\n\n\
Every video under DIR (by extension; the probe decides what it really is) becomes OUT/<path without \
extension>/. Subtitles beside a video named after it (lecture.en.srt, lecture.fr.vtt) are added. A ladder \
that is complete and valid is skipped, anything else is redone, so a batch can simply be run again.\n\
Exit codes: 0 every file done or skipped, 1 at least one failed (the others still ran), 2 an error.")]
pub struct BatchArgs {
    /// The folder of lectures, searched recursively.
    pub dir: PathBuf,
    /// The folder the ladders go to.
    #[arg(short, long)]
    pub output: PathBuf,
    /// How many transcodes run at once.
    #[arg(short = 'j', long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Short sides of the rungs, best first.
    #[arg(long, value_delimiter = ',', value_name = "SIDES")]
    pub rungs: Option<Vec<u32>>,
    /// x264 preset.
    #[arg(long, default_value = "veryfast")]
    pub preset: String,
    /// Print one JSON object per file, then the totals, instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Per-file time limit in seconds (default: 10 minutes plus 10 times the programme's length).
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<u64>,
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
struct FileResult {
    input: PathBuf,
    output: PathBuf,
    /// `done`, `skipped` or `failed`.
    status: &'static str,
    seconds: f64,
    /// The rungs written, when done.
    rungs: Vec<String>,
    /// Why it failed.
    reason: Option<String>,
}

/// Runs `lms-media batch`.
pub fn run(args: BatchArgs) -> anyhow::Result<Outcome> {
    if !args.dir.is_dir() {
        bail!("{} is not a folder", args.dir.display());
    }
    let items = discover(&args.dir, Some(&args.output)).with_context(|| format!("listing {}", args.dir.display()))?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, FileResult)>> = Mutex::new(Vec::new());
    let total = items.len();
    std::thread::scope(|scope| {
        for _ in 0..usize::from(args.jobs).min(total.max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { return };
                    let result = process(&args, item);
                    if args.json {
                        if let Ok(line) = serde_json::to_string(&result) {
                            println!("{line}");
                        }
                    } else {
                        eprintln!("[{}/{total}] {:7} {}", index + 1, result.status, item.input.display());
                    }
                    if let Ok(mut results) = results.lock() {
                        results.push((index, result));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().map_err(|_| anyhow::anyhow!("a batch worker panicked"))?;
    results.sort_by_key(|(index, _)| *index);
    let results: Vec<FileResult> = results.into_iter().map(|(_, result)| result).collect();
    let failed = results.iter().filter(|result| result.status == "failed").count();
    if args.json {
        let count = |status| results.iter().filter(|result| result.status == status).count();
        println!(
            "{}",
            serde_json::json!({ "totals": { "done": count("done"), "skipped": count("skipped"), "failed": failed } })
        );
    } else {
        print!("{}", table(&results));
    }
    Ok(if failed == 0 { Outcome::Success } else { Outcome::ProblemsFound })
}

fn process(args: &BatchArgs, item: &BatchItem) -> FileResult {
    let output = args.output.join(&item.relative);
    let started = Instant::now();
    let mut result = FileResult {
        input: item.input.clone(),
        output: output.clone(),
        status: "done",
        seconds: 0.0,
        rungs: Vec::new(),
        reason: None,
    };
    if is_complete(&output) {
        result.status = "skipped";
        return result;
    }
    let transcode = TranscodeArgs {
        input: item.input.clone(),
        output: output.clone(),
        // Each output is a folder of the batch's own -o: a leftover there is the batch's, replaced.
        force: true,
        subtitles: item
            .subtitles
            .iter()
            .map(|subtitle| SubtitleArg::new(&subtitle.language, subtitle.path.clone()))
            .collect(),
        rungs: args.rungs.clone(),
        preset: args.preset.clone(),
        x264_threads: None,
        json: false,
        time_limit: args.time_limit,
        in_process: false,
        child_events: false,
    };
    let limit = args.time_limit.map(Duration::from_secs);
    match run_isolated(&output, transcode.child_args(), limit, None, &mut |_| {}) {
        Ok(ChildResult::Finished(summary)) => {
            result.rungs = summary["ladder"]["variants"]
                .as_array()
                .map(|variants| variants.iter().filter_map(|v| v["name"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
        }
        Ok(ChildResult::Failed { code, message, .. }) => {
            result.status = "failed";
            result.reason = Some(format!("{code}: {message}"));
        }
        Err(error) => {
            result.status = "failed";
            result.reason = Some(format!("{error:#}"));
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

fn table(results: &[FileResult]) -> String {
    let width =
        results.iter().map(|result| result.input.display().to_string().chars().count()).max().unwrap_or(4).max(4);
    let mut out = format!("{:width$}  {:7}  {:>7}  {}\n", "file", "status", "seconds", "rungs / reason");
    for result in results {
        let detail = match &result.reason {
            Some(reason) => reason.lines().next().unwrap_or_default().to_owned(),
            None => result.rungs.join(" "),
        };
        out += &format!(
            "{:width$}  {:7}  {:>7.1}  {}\n",
            result.input.display().to_string(),
            result.status,
            result.seconds,
            detail
        );
    }
    let count = |status| results.iter().filter(|result| result.status == status).count();
    out += &format!("{} done, {} skipped, {} failed\n", count("done"), count("skipped"), count("failed"));
    out
}
