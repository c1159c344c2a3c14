//! Storage keys: every object path the system uses, built in one place.
//!
//! Sources live under `sources/{tenant}/{job}/`, ladders under `ladders/{tenant}/{job}/{attempt}/`: each
//! attempt publishes under a fresh prefix, so a CDN never has to be purged and a zombie worker cannot
//! overwrite what the finishing attempt published. Every part is checked when the key is made, so a path
//! can never climb out of its prefix or smuggle a separator.

use crate::PipelineError;
use crate::storage::ObjectMeta;

/// The longest part of a key; S3 keys may be 1024 bytes in all.
const MAX_PART: usize = 200;

/// An object's place in storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(KeyKind);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyKind {
    Source { tenant: String, job: String, file: String },
    SourceFolder { tenant: String, job: String },
    LadderAttempt { tenant: String, job: String, attempt: u32 },
    LadderFile { tenant: String, job: String, attempt: u32, relative: String },
}

impl StorageKey {
    /// An uploaded file of a job (the lecture, a subtitle file).
    pub fn source(tenant: &str, job: &str, file: &str) -> Result<Self, PipelineError> {
        Ok(Self(KeyKind::Source { tenant: part(tenant)?, job: part(job)?, file: part(file)? }))
    }

    /// The prefix under which a job's uploaded files live (what a sweep of orphaned sources removes).
    pub fn source_folder(tenant: &str, job: &str) -> Result<Self, PipelineError> {
        Ok(Self(KeyKind::SourceFolder { tenant: part(tenant)?, job: part(job)? }))
    }

    /// The prefix under which one attempt of a job publishes its ladder.
    pub fn ladder_attempt(tenant: &str, job: &str, attempt: u32) -> Result<Self, PipelineError> {
        Ok(Self(KeyKind::LadderAttempt { tenant: part(tenant)?, job: part(job)?, attempt }))
    }

    /// A file of a ladder attempt; `relative` is its path inside the ladder (`720p/seg_00001.m4s`).
    pub fn ladder_file(tenant: &str, job: &str, attempt: u32, relative: &str) -> Result<Self, PipelineError> {
        let parts: Vec<String> = relative.split('/').map(part).collect::<Result<_, _>>()?;
        Ok(Self(KeyKind::LadderFile { tenant: part(tenant)?, job: part(job)?, attempt, relative: parts.join("/") }))
    }

    /// Reads back a key from its [`path`](Self::path), as stored in a job row. Only the layouts this module
    /// writes are accepted, with the same checks on every part.
    pub fn from_path(path: &str) -> Result<Self, PipelineError> {
        let parts: Vec<&str> = path.split('/').collect();
        let attempt_of = |text: &str| {
            text.parse::<u32>()
                .map_err(|_| PipelineError::InvalidKey { part: text.to_owned(), reason: "not an attempt number" })
        };
        match parts.as_slice() {
            ["sources", tenant, job, file] => Self::source(tenant, job, file),
            ["ladders", tenant, job, attempt] => Self::ladder_attempt(tenant, job, attempt_of(attempt)?),
            ["ladders", tenant, job, attempt, rest @ ..] => {
                Self::ladder_file(tenant, job, attempt_of(attempt)?, &rest.join("/"))
            }
            _ => Err(PipelineError::InvalidKey { part: path.to_owned(), reason: "not a key this system writes" }),
        }
    }

    /// The object path (or, for a ladder attempt, the prefix without its trailing slash).
    pub fn path(&self) -> String {
        match &self.0 {
            KeyKind::Source { tenant, job, file } => format!("sources/{tenant}/{job}/{file}"),
            KeyKind::SourceFolder { tenant, job } => format!("sources/{tenant}/{job}"),
            KeyKind::LadderAttempt { tenant, job, attempt } => format!("ladders/{tenant}/{job}/{attempt}"),
            KeyKind::LadderFile { tenant, job, attempt, relative } => {
                format!("ladders/{tenant}/{job}/{attempt}/{relative}")
            }
        }
    }
}

impl StorageKey {
    /// The headers an object under this key is stored with by the code that writes it, for a backend that keeps
    /// none of its own; `None` for a prefix.
    pub(crate) fn served_as(&self) -> Option<ObjectMeta> {
        match &self.0 {
            KeyKind::Source { .. } => Some(ObjectMeta::for_source()),
            KeyKind::LadderAttempt { .. } | KeyKind::SourceFolder { .. } => None,
            KeyKind::LadderFile { relative, .. } => Some(ObjectMeta::for_ladder_file(relative)),
        }
    }
}

/// Checks one path part: 1 to 200 bytes of letters, digits, `-`, `_` and `.`, and not `.` or `..`.
fn part(value: &str) -> Result<String, PipelineError> {
    let invalid = |reason| Err(PipelineError::InvalidKey { part: value.to_owned(), reason });
    if value.is_empty() {
        return invalid("it is empty");
    }
    if value.len() > MAX_PART {
        return invalid("it is longer than 200 bytes");
    }
    if value == "." || value == ".." {
        return invalid("it names a folder relative to another");
    }
    if !value.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')) {
        return invalid("only letters, digits, '-', '_' and '.' are allowed");
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_layout() {
        assert_eq!(StorageKey::source("t1", "j9", "lecture.mp4").unwrap().path(), "sources/t1/j9/lecture.mp4");
        assert_eq!(StorageKey::ladder_attempt("t1", "j9", 3).unwrap().path(), "ladders/t1/j9/3");
        assert_eq!(
            StorageKey::ladder_file("t1", "j9", 3, "720p/seg_00001.m4s").unwrap().path(),
            "ladders/t1/j9/3/720p/seg_00001.m4s"
        );
    }

    #[test]
    fn paths_read_back_into_the_same_keys() {
        for key in [
            StorageKey::source("t1", "j9", "lecture.mp4").unwrap(),
            StorageKey::ladder_attempt("t1", "j9", 3).unwrap(),
            StorageKey::ladder_file("t1", "j9", 3, "720p/seg_00001.m4s").unwrap(),
        ] {
            assert_eq!(StorageKey::from_path(&key.path()).unwrap(), key);
        }
        for bad in ["sources/t1/j9", "sources/t1/../x", "ladders/t/j/x/master.m3u8", "other/a/b/c", ""] {
            assert!(StorageKey::from_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parts_cannot_escape_or_smuggle_separators() {
        for bad in ["", "..", ".", "a/b", "a\\b", "café", "a b", "x\0y"] {
            assert!(StorageKey::source("t", "j", bad).is_err(), "{bad:?} accepted");
        }
        for bad in ["../x", "a//b", "/abs", "720p/", "720p/../../x"] {
            assert!(StorageKey::ladder_file("t", "j", 1, bad).is_err(), "{bad:?} accepted");
        }
        assert!(StorageKey::source(&"a".repeat(201), "j", "f").is_err());
    }
}
