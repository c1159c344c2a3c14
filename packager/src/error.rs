//! The one error type of `lms-packager`.
//!
//! Everything the crate reads comes from an encoder or a user (fMP4 boxes, playlists, subtitle files), so
//! every reader returns a [`PackagerError`] instead of panicking. A validation that *finds problems* is not an
//! error: it returns findings. An error means the work could not be done at all (a master playlist that cannot
//! be read, a subtitle file that cannot be parsed); the CLI maps it to exit code 2.

use std::path::PathBuf;

/// What went wrong in the packager.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackagerError {
    /// A file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An fMP4 box is truncated or malformed.
    #[error("malformed mp4 box `{fourcc}` at byte {offset}: {reason}")]
    Mp4 {
        /// The box type, or `?` when not yet known.
        fourcc: String,
        /// Byte offset of the box in its file.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The init segment lacks something the contract needs (a track, a codec configuration).
    #[error("unsupported init segment: {reason}")]
    UnsupportedInit {
        /// What is missing or unsupported.
        reason: String,
    },
    /// A playlist could not be parsed.
    #[error("cannot parse playlist {path}: {reason}")]
    PlaylistParse {
        /// The playlist (its URI or path).
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// The inputs given to a playlist writer contradict the contract (no rungs, two DEFAULT renditions, …).
    #[error("invalid ladder description: {reason}")]
    InvalidLadder {
        /// What is inconsistent.
        reason: String,
    },
    /// A subtitle file (SRT or WebVTT) is malformed.
    #[error("malformed subtitles at line {line}: {reason}")]
    SubtitleParse {
        /// 1-based line number of the offending line.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A subtitle file would make absurd segments (too many cues, or too many on screen at once).
    #[error("{reason}")]
    SubtitleLimit {
        /// Which limit, with the numbers.
        reason: String,
    },
    /// A subtitle file's bytes are not text in the encoding its byte-order mark or its bytes point to.
    #[error("the file is not readable text in {encoding}: some bytes do not decode")]
    SubtitleEncoding {
        /// The encoding tried.
        encoding: &'static str,
    },
    /// A subtitle file given for a ladder could not be parsed.
    #[error("cannot read subtitles {path}")]
    SubtitleFile {
        /// The subtitle file.
        path: PathBuf,
        /// What was wrong, with its line.
        #[source]
        source: Box<PackagerError>,
    },
}

impl PackagerError {
    /// A stable, machine-readable code for the variant (for logs, JSON reports and HTTP problem types).
    pub fn code(&self) -> &'static str {
        match self {
            PackagerError::Io { .. } => "io",
            PackagerError::Mp4 { .. } => "mp4_malformed",
            PackagerError::UnsupportedInit { .. } => "mp4_unsupported",
            PackagerError::PlaylistParse { .. } => "playlist_parse",
            PackagerError::InvalidLadder { .. } => "invalid_ladder",
            PackagerError::SubtitleParse { .. } => "subtitle_parse",
            PackagerError::SubtitleEncoding { .. } => "subtitle_encoding",
            PackagerError::SubtitleLimit { .. } => "subtitle_limit",
            PackagerError::SubtitleFile { .. } => "subtitle_file",
        }
    }

    /// Whether running the same work again might succeed. Only I/O can be transient; malformed input stays
    /// malformed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PackagerError::Io { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackagerError::Io { path: path.into(), source }
    }
}

/// The crate's result type.
pub type Result<T, E = PackagerError> = std::result::Result<T, E>;
