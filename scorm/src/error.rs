//! The one error type of `lms-scorm`. Validation turns most of these into findings (a hostile archive or a broken
//! manifest is a verdict about the package, not a failure of the tool); only "cannot read the input at all" reaches
//! the caller as an error from [`crate::validate_path`]. `unpack` returns them directly.

use std::path::PathBuf;

/// Why an archive entry name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UnsafeReason {
    /// A `..` segment, after `\` was read as `/`.
    ParentSegment,
    /// Starts with `/` or `\`, or is a UNC path.
    AbsolutePath,
    /// Starts with a drive letter such as `C:`.
    DrivePath,
    /// Holds NUL or another control character.
    ControlCharacter,
    /// The entry is a symbolic link.
    Symlink,
    /// Another entry has the same name.
    Duplicate,
    /// Another entry has the same name once case is folded (they collide on Windows and macOS).
    DuplicateCaseFolded,
    /// The entry is encrypted.
    Encrypted,
    /// The name is empty or not valid UTF-8.
    BadName,
    /// Neither a file, a folder nor a link (a device, a socket…), in a folder source.
    SpecialFile,
    /// The name is a file in one entry and a folder in another (`a` and `a/b`): they collide on extraction.
    FileFolderClash,
    /// Its compressed bytes are shared with, or overlap, another entry's: one deflated MiB listed 500 times
    /// unpacks to 500 MiB from 29 KB.
    Overlapping,
}

impl UnsafeReason {
    /// A short phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ParentSegment => "a `..` segment climbs out of the package",
            Self::AbsolutePath => "an absolute path",
            Self::DrivePath => "a drive-letter path",
            Self::ControlCharacter => "a NUL or control character in the name",
            Self::Symlink => "a symbolic link",
            Self::Duplicate => "a duplicate name",
            Self::DuplicateCaseFolded => "a name that differs from another only by case",
            Self::Encrypted => "an encrypted entry",
            Self::BadName => "an empty or undecodable name",
            Self::SpecialFile => "a special file (device, socket or pipe)",
            Self::FileFolderClash => "a name that is a file in one entry and a folder in another",
            Self::Overlapping => "compressed bytes shared with or overlapping another entry's",
        }
    }
}

impl std::fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Which configured limit an archive went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LimitKind {
    /// Number of entries.
    EntryCount,
    /// Sum of declared uncompressed sizes.
    TotalSize,
    /// Declared uncompressed size of one entry.
    EntrySize,
    /// Uncompressed size divided by compressed size of one entry.
    CompressionRatio,
    /// Uncompressed size divided by compressed size of the whole package.
    PackageCompressionRatio,
    /// Size of an XML document we agree to parse.
    XmlSize,
    /// Nesting depth of XML elements.
    XmlDepth,
    /// Number of XML elements.
    XmlElements,
    /// Folder depth in a folder source.
    FolderDepth,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::EntryCount => "entry count",
            Self::TotalSize => "total uncompressed size",
            Self::EntrySize => "entry size",
            Self::CompressionRatio => "compression ratio",
            Self::PackageCompressionRatio => "compression ratio of the whole package",
            Self::XmlSize => "xml document size",
            Self::XmlDepth => "xml nesting depth",
            Self::XmlElements => "xml element count",
            Self::FolderDepth => "folder depth",
        })
    }
}

/// Everything that can go wrong in `lms-scorm`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScormError {
    /// The input path could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The path we tried.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a readable zip archive.
    #[error("not a readable zip archive: {detail}")]
    ZipUnreadable {
        /// What the zip reader said.
        detail: String,
    },
    /// An entry of the archive is hostile or unsafe to extract.
    #[error("unsafe entry {name:?}: {reason}")]
    UnsafeEntry {
        /// The entry name as stored (lossy if not UTF-8).
        name: String,
        /// Why it was refused.
        reason: UnsafeReason,
    },
    /// The archive is over one of the configured limits (a zip bomb, or simply too big).
    #[error("{kind} over the limit: {actual} > {limit}{}", name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default())]
    LimitExceeded {
        /// Which limit.
        kind: LimitKind,
        /// The limit.
        limit: u64,
        /// What we saw.
        actual: u64,
        /// The entry concerned, if one.
        name: Option<String>,
    },
    /// An entry produced a different number of bytes than its header declared.
    #[error("entry {name:?} declared {declared} bytes but holds {actual_at_least} or more")]
    SizeMismatch {
        /// Entry name.
        name: String,
        /// Declared uncompressed size.
        declared: u64,
        /// Bytes seen (a lower bound when we stopped reading early).
        actual_at_least: u64,
    },
    /// Reading an entry's bytes failed (corrupt data, bad checksum).
    #[error("cannot read entry {name:?}: {detail}")]
    EntryUnreadable {
        /// Entry name.
        name: String,
        /// What the reader said.
        detail: String,
    },
    /// No entry with that name.
    #[error("no entry {name:?} in the package")]
    EntryNotFound {
        /// The name asked for.
        name: String,
    },
    /// An XML document is not well-formed, or uses something we refuse (DOCTYPE, entities).
    #[error("{file}:{line}:{column}: {message}")]
    ManifestParse {
        /// The document's path inside the package.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column, in characters.
        column: u32,
        /// What is wrong.
        message: String,
    },
    /// `unpack` was pointed at a destination that already holds something.
    #[error("destination {path} is not an empty folder")]
    DestinationNotEmpty {
        /// The destination.
        path: PathBuf,
    },
}

impl ScormError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::ZipUnreadable { .. } => "zip-unreadable",
            Self::UnsafeEntry { .. } => "unsafe-entry",
            Self::LimitExceeded { .. } => "limit-exceeded",
            Self::SizeMismatch { .. } => "size-mismatch",
            Self::EntryUnreadable { .. } => "entry-unreadable",
            Self::EntryNotFound { .. } => "entry-not-found",
            Self::ManifestParse { .. } => "manifest-parse",
            Self::DestinationNotEmpty { .. } => "destination-not-empty",
        }
    }

    /// True when the error is a verdict about the package's content (hostile, corrupt, too big) rather than a
    /// failure to reach it: the CLI maps these to exit code 1, the others to 2.
    pub fn is_package_problem(&self) -> bool {
        !matches!(self, Self::Io { .. } | Self::DestinationNotEmpty { .. })
    }
}
