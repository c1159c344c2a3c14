//! `lms-media probe FILE [--json]`: what a media file holds and the ladder it would get.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use lms_workers::probe::{StreamDetails, StreamReport};
use lms_workers::{InputPolicy, ProbeReport};

use crate::Outcome;

/// Arguments of `lms-media probe`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lms-media probe lecture.mp4\n  lms-media probe lecture.mp4 --json | jq .ladder\n\n\
Exit codes: 0 the file is accepted, 1 the file is refused (the message says why), 2 the probe could not run."
)]
pub struct ProbeArgs {
    /// The media file to inspect. Only the file's bytes decide what it is, never its name.
    pub file: PathBuf,
    /// Print one JSON object (the report, or {"error": {"code", "message"}} for a refused file).
    #[arg(long)]
    pub json: bool,
}

/// Runs `lms-media probe`.
pub fn run(args: ProbeArgs) -> anyhow::Result<Outcome> {
    match lms_workers::probe(&args.file, &InputPolicy::default()) {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).context("writing the report as JSON")?);
            } else {
                print!("{}", human_report(&report));
            }
            Ok(Outcome::Success)
        }
        Err(error) if error.is_rejection() => {
            if args.json {
                let body = serde_json::json!({ "error": { "code": error.code(), "message": error.to_string() } });
                println!("{body:#}");
            } else {
                eprintln!("refused: {error}");
            }
            Ok(Outcome::ProblemsFound)
        }
        Err(error) => Err(error).context(format!("could not probe {}", args.file.display())),
    }
}

fn human_report(report: &ProbeReport) -> String {
    let mut out = format!("{}\n", report.path.display());
    let duration = report.duration_seconds.map_or("unknown length".to_owned(), |s| format!("{s:.2} s"));
    let rate = report.bit_rate.map_or(String::new(), |bps| format!(", {:.0} kb/s", bps as f64 / 1000.0));
    out += &format!(
        "  container  {} ({}), {}, {} bytes{}\n",
        report.container_description, report.container, duration, report.size_bytes, rate
    );
    for stream in &report.streams {
        out += &format!("  stream {:<3} {}\n", stream.index, stream_line(stream));
    }
    let rungs: Vec<String> =
        report.ladder.rungs.iter().map(|rung| format!("{} {}×{}", rung.name, rung.width, rung.height)).collect();
    out += &format!("  ladder     {}\n", rungs.join(", "));
    out
}

fn stream_line(stream: &StreamReport) -> String {
    let language = stream.language.as_deref().map_or(String::new(), |lang| format!(" [{lang}]"));
    let details = match &stream.details {
        StreamDetails::Video(video) => {
            let fps = video.frame_rate.map_or("unknown fps".to_owned(), |fps| format!("{fps:.3} fps"));
            let rotation = if video.rotation == 0 { String::new() } else { format!(", rotated {}°", video.rotation) };
            let pixels = video.pixel_format.as_deref().unwrap_or("unknown pixel format");
            format!(
                "video {} {}×{} (SAR {}), {}, {}, {}{}",
                stream.codec, video.width, video.height, video.sample_aspect_ratio, fps, video.scan, pixels, rotation
            )
        }
        StreamDetails::Audio(audio) => {
            format!("audio {} {} Hz, {} channels ({})", stream.codec, audio.sample_rate, audio.channels, audio.layout)
        }
        StreamDetails::AttachedPicture => format!("cover picture {}", stream.codec),
        StreamDetails::Subtitle => format!("subtitles {}", stream.codec),
        StreamDetails::Other => format!("data {}", stream.codec),
    };
    details + &language
}
