//! Finding the work of a batch: every video under a folder, the subtitles that belong to it, and whether
//! its ladder is already complete.
//!
//! A file is a candidate by its extension; the probe still decides what it really is, so a text file named
//! `.mp4` fails on its own without stopping the batch. Subtitles belong to a video when they sit beside it
//! and are named after it with a language tag: `lecture.mp4` takes `lecture.en.srt` and `lecture.fr.vtt`.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::transcode::SubtitleInput;

/// Extensions of files a batch tries (lower case).
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg"];

/// One video of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The video.
    pub input: PathBuf,
    /// Its path inside the batch folder, without extension: the ladder goes to `OUT/<relative>`.
    pub relative: PathBuf,
    /// Subtitles found beside it, sorted by language.
    pub subtitles: Vec<SubtitleInput>,
}

/// Every video under `root` (recursively, hidden folders skipped), sorted by path.
pub fn discover(root: &Path) -> Result<Vec<BatchItem>, Error> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    files.sort();
    let items = files
        .iter()
        .filter(|path| has_video_extension(path))
        .map(|input| {
            let relative = input.strip_prefix(root).unwrap_or(input).with_extension("");
            BatchItem { subtitles: subtitles_for(input, &files), relative, input: input.clone() }
        })
        .collect();
    Ok(items)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read { path: dir.to_owned(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read { path: dir.to_owned(), source })?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // file_type() does not follow symlinks: a link loop cannot trap the walk.
        let kind = entry.file_type().map_err(|source| Error::Read { path: path.clone(), source })?;
        if kind.is_dir() {
            collect_files(&path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| VIDEO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// `lecture.en.srt`, `lecture.fr-CA.vtt` beside `lecture.mp4`.
fn subtitles_for(video: &Path, files: &[PathBuf]) -> Vec<SubtitleInput> {
    let (Some(dir), Some(stem)) = (video.parent(), video.file_stem().and_then(|stem| stem.to_str())) else {
        return Vec::new();
    };
    let mut found: Vec<SubtitleInput> = files
        .iter()
        .filter(|path| path.parent() == Some(dir))
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let extension = path.extension()?.to_str()?.to_ascii_lowercase();
            if extension != "srt" && extension != "vtt" {
                return None;
            }
            let language = name
                .strip_prefix(stem)?
                .strip_prefix('.')?
                .strip_suffix(&format!(".{}", path.extension()?.to_str()?))?;
            let valid = !language.is_empty()
                && language.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
            valid.then(|| SubtitleInput { language: language.to_owned(), path: path.clone() })
        })
        .collect();
    found.sort_by(|a, b| a.language.cmp(&b.language));
    found
}

/// Whether `ladder_dir` holds a finished ladder that passes validation; anything else is redone.
pub fn is_complete(ladder_dir: &Path) -> bool {
    let master = ladder_dir.join(lms_packager::package::MASTER_PLAYLIST);
    master.is_file() && lms_packager::validate_path(&master).is_ok_and(|validation| validation.passed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn videos_are_found_recursively_with_their_subtitles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("week1/.hidden")).unwrap();
        for name in [
            "week1/lecture.mp4",
            "week1/lecture.en.srt",
            "week1/lecture.fr-CA.vtt",
            "week1/lecture.notes.txt",
            "week1/lecture2.MOV",
            "week1/.hidden/secret.mp4",
            "intro.mkv",
            "readme.txt",
        ] {
            std::fs::write(root.join(name), b"x").unwrap();
        }
        let items = discover(root).unwrap();
        let inputs: Vec<_> = items.iter().map(|item| item.relative.to_string_lossy().into_owned()).collect();
        assert_eq!(inputs, ["intro", "week1/lecture", "week1/lecture2"]);
        let languages: Vec<_> = items[1].subtitles.iter().map(|s| s.language.as_str()).collect();
        assert_eq!(languages, ["en", "fr-CA"]);
        assert!(items[2].subtitles.is_empty(), "lecture2 must not take lecture's subtitles");
    }
}
