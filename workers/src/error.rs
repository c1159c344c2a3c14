//! The one error type of `lms-workers`.

use std::path::PathBuf;

/// Everything that can go wrong while probing or encoding a source.
///
/// Each variant names the file; `code()` gives a stable machine-readable name and `is_rejection()` tells an
/// input that was read and refused (the file is the problem) from a failure to do the work at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The source file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The path is a folder, a device or a pipe, not a regular file.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// The path cannot be handed to FFmpeg (not UTF-8, or with a NUL byte or a `%`, which FFmpeg's segment
    /// muxer reads as a number template).
    #[error("{path} has a name that cannot be used (it must be valid UTF-8, without NUL bytes or '%')")]
    UnusablePath {
        /// The path given.
        path: PathBuf,
    },
    /// The file is larger than the policy allows.
    #[error("{path} is {size} bytes, more than the {limit} bytes accepted")]
    FileTooLarge {
        /// The source file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The policy's limit.
        limit: u64,
    },
    /// The file is not media at all (text, an empty file, or bytes no demuxer recognises).
    #[error("{path} is not a media file: {reason}")]
    NotMedia {
        /// The source file.
        path: PathBuf,
        /// What it looks like instead.
        reason: String,
    },
    /// The file is a playlist or a list of other files, which could make a reader open other files or URLs.
    #[error("{path} is {kind}, which refers to other files or URLs; only self-contained media files are accepted")]
    ReferenceFile {
        /// The source file.
        path: PathBuf,
        /// What kind of reference file it is ("an HLS playlist").
        kind: &'static str,
    },
    /// The container format is recognised but not on the allowlist.
    #[error("{path} is in the {container} container ({description}), which is not accepted; accepted: {accepted}")]
    ContainerNotAllowed {
        /// The source file.
        path: PathBuf,
        /// FFmpeg's demuxer name.
        container: String,
        /// FFmpeg's description of it.
        description: String,
        /// The accepted containers, for the message.
        accepted: String,
    },
    /// A video or audio stream uses a codec that is not on the allowlist.
    #[error("{path}: stream {stream} is {kind} in the {codec} codec, which is not accepted; accepted: {accepted}")]
    CodecNotAllowed {
        /// The source file.
        path: PathBuf,
        /// The stream index.
        stream: usize,
        /// "video" or "audio".
        kind: &'static str,
        /// FFmpeg's codec name.
        codec: String,
        /// The accepted codecs of that kind, for the message.
        accepted: String,
    },
    /// The container holds more streams than the policy allows.
    #[error("{path} has {count} streams, more than the {limit} accepted")]
    TooManyStreams {
        /// The source file.
        path: PathBuf,
        /// How many streams it declares.
        count: usize,
        /// The policy's limit.
        limit: usize,
    },
    /// A video stream's picture is larger than the policy allows.
    #[error("{path}: stream {stream} is {width}×{height}, larger than the {max_side}×{max_side} accepted")]
    PictureTooLarge {
        /// The source file.
        path: PathBuf,
        /// The stream index.
        stream: usize,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The policy's limit on either side.
        max_side: u32,
    },
    /// A video stream's picture cannot make a ladder: too small, or so stretched by its sample aspect ratio
    /// that the rungs would be absurd (a 100:1 pixel makes a 32000×240 rung, which crashes x264).
    #[error("{path}: {reason}")]
    UnusablePicture {
        /// The source file.
        path: PathBuf,
        /// What is wrong, with the numbers.
        reason: String,
    },
    /// The disk holding the ladder being built filled up. Retrying elsewhere (or once space is freed) helps;
    /// the source is not at fault.
    #[error("no space left on the disk holding {path} (No space left on device): the ladder could not be written")]
    DiskFull {
        /// The folder the ladder was built in.
        path: PathBuf,
    },
    /// The programme is longer than the policy allows.
    #[error("{path} lasts {seconds:.0} s, more than the {limit_seconds} s accepted")]
    TooLong {
        /// The source file.
        path: PathBuf,
        /// Its duration.
        seconds: f64,
        /// The policy's limit.
        limit_seconds: u64,
    },
    /// The file has no video stream to make a ladder from.
    #[error("{path} has no video stream")]
    NoVideo {
        /// The source file.
        path: PathBuf,
    },
    /// FFmpeg could not make sense of an accepted container: damaged, truncated or inconsistent.
    #[error("{path} is damaged or truncated: FFmpeg could not {step}")]
    Damaged {
        /// The source file.
        path: PathBuf,
        /// What FFmpeg was doing ("read the container header").
        step: &'static str,
        /// FFmpeg's error.
        #[source]
        source: ffmpeg_next::Error,
    },
    /// Reading took longer than the policy allows.
    #[error("{path} took longer than {seconds} s to read")]
    TimedOut {
        /// The source file.
        path: PathBuf,
        /// The policy's limit.
        seconds: u64,
    },
    /// An output file or folder could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A child process could not be started or waited for.
    #[error("cannot run {program}")]
    ChildStart {
        /// The program.
        program: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A child process ran past its time limit and was killed.
    #[error("the encode ran for {seconds} s, past its time limit, and was stopped{}", tail_note(stderr_tail))]
    ChildTimedOut {
        /// How long it ran.
        seconds: u64,
        /// The end of its standard error.
        stderr_tail: String,
    },
    /// A child process ended without reporting a result: it crashed or was killed.
    #[error("the encode process ended without a result ({status}){}", tail_note(stderr_tail))]
    ChildCrashed {
        /// How it ended (`signal 11`, `exit status 101`).
        status: String,
        /// The end of its standard error.
        stderr_tail: String,
    },
    /// Packaging failed: a segment could not be measured, a subtitle file could not be read, a playlist could
    /// not be written.
    #[error("packaging the ladder failed")]
    Package {
        /// The packager's error.
        #[source]
        source: lms_packager::PackagerError,
    },
    /// The finished ladder broke rules of the HLS contract; it was kept for inspection, not published.
    #[error("the ladder broke HLS rules {} and was not published (kept in {partial})", rules.join(", "))]
    LadderInvalid {
        /// The rule ids with errors.
        rules: Vec<String>,
        /// Where the ladder was left.
        partial: PathBuf,
    },
    /// The encode was asked to stop.
    #[error("the encode was cancelled")]
    Cancelled,
    /// FFmpeg failed in a way that says nothing about the file (out of memory, a library fault).
    #[error("ffmpeg failed while {step}")]
    Ffmpeg {
        /// What was being done.
        step: &'static str,
        /// FFmpeg's error.
        #[source]
        source: ffmpeg_next::Error,
    },
}

impl Error {
    /// A stable, machine-readable name for the error, used in JSON output and job records.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Read { .. } => "read-failed",
            Error::NotAFile { .. } => "not-a-file",
            Error::UnusablePath { .. } => "unusable-path",
            Error::FileTooLarge { .. } => "file-too-large",
            Error::NotMedia { .. } => "not-media",
            Error::ReferenceFile { .. } => "reference-file",
            Error::ContainerNotAllowed { .. } => "container-not-allowed",
            Error::CodecNotAllowed { .. } => "codec-not-allowed",
            Error::TooManyStreams { .. } => "too-many-streams",
            Error::PictureTooLarge { .. } => "picture-too-large",
            Error::UnusablePicture { .. } => "unusable-picture",
            Error::DiskFull { .. } => "disk-full",
            Error::TooLong { .. } => "too-long",
            Error::NoVideo { .. } => "no-video",
            Error::Damaged { .. } => "damaged",
            Error::TimedOut { .. } => "timed-out",
            Error::Write { .. } => "write-failed",
            Error::Cancelled => "cancelled",
            Error::ChildStart { .. } => "child-start-failed",
            Error::Package { .. } => "package-failed",
            Error::LadderInvalid { .. } => "ladder-invalid",
            Error::ChildTimedOut { .. } => "timed-out",
            Error::ChildCrashed { .. } => "crashed",
            Error::Ffmpeg { .. } => "ffmpeg-failed",
        }
    }

    /// True when the file was read and refused: retrying will not help, the input has to change.
    pub fn is_rejection(&self) -> bool {
        match self {
            Error::NotAFile { .. }
            | Error::FileTooLarge { .. }
            | Error::NotMedia { .. }
            | Error::ReferenceFile { .. }
            | Error::ContainerNotAllowed { .. }
            | Error::CodecNotAllowed { .. }
            | Error::TooManyStreams { .. }
            | Error::PictureTooLarge { .. }
            | Error::UnusablePicture { .. }
            | Error::TooLong { .. }
            | Error::NoVideo { .. }
            | Error::Damaged { .. }
            | Error::TimedOut { .. }
            | Error::LadderInvalid { .. } => true,
            // A subtitle file the user gave is refused; a packager that cannot read or write is a fault.
            Error::Package { source } => matches!(
                source,
                lms_packager::PackagerError::SubtitleFile { .. } | lms_packager::PackagerError::SubtitleParse { .. }
            ),
            Error::Read { .. }
            | Error::UnusablePath { .. }
            | Error::DiskFull { .. }
            | Error::Write { .. }
            | Error::Cancelled
            | Error::ChildStart { .. }
            | Error::ChildTimedOut { .. }
            | Error::ChildCrashed { .. }
            | Error::Ffmpeg { .. } => false,
        }
    }
}

/// ": <last line of stderr>" when a child left one, for error messages.
fn tail_note(stderr_tail: &str) -> String {
    match stderr_tail.lines().rev().find(|line| !line.trim().is_empty()) {
        Some(line) => format!(": {}", line.trim()),
        None => String::new(),
    }
}
