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

/// Every video under `root` (recursively, hidden folders and `skip` left out), sorted by path.
///
/// A ladder goes to the video's path without its extension, unless that would collide: two videos with one
/// name (`lecture.mp4`, `lecture.mov`), or a ladder folder that would hold another video's ladder
/// (`intro.mp4` beside a folder `intro/`). Those keep their extension in the name (`lecture.mp4/`), so no
/// ladder can overwrite or nest inside another. Pass the output folder as `skip` when it sits inside `root`,
/// so a rerun does not take earlier ladders for lectures.
pub fn discover(root: &Path, skip: Option<&Path>) -> Result<Vec<BatchItem>, Error> {
    let skip = skip.and_then(|path| path.canonicalize().ok());
    let mut files = Vec::new();
    collect_files(root, skip.as_deref(), &mut files)?;
    files.sort();
    let videos: Vec<&PathBuf> = files.iter().filter(|path| has_video_extension(path)).collect();
    let bare: Vec<PathBuf> =
        videos.iter().map(|input| input.strip_prefix(root).unwrap_or(input).with_extension("")).collect();
    let folders: std::collections::HashSet<&Path> =
        bare.iter().flat_map(|relative| relative.ancestors().skip(1)).collect();
    let items = videos
        .iter()
        .zip(&bare)
        .map(|(input, relative)| {
            let shared = bare.iter().filter(|other| *other == relative).count() > 1;
            let relative = if shared || folders.contains(relative.as_path()) {
                input.strip_prefix(root).unwrap_or(input).to_owned()
            } else {
                relative.clone()
            };
            BatchItem { subtitles: subtitles_for(input, &files), relative, input: (*input).clone() }
        })
        .collect();
    Ok(items)
}

fn collect_files(dir: &Path, skip: Option<&Path>, files: &mut Vec<PathBuf>) -> Result<(), Error> {
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
            if skip.is_some_and(|skip| path.canonicalize().is_ok_and(|real| real == skip)) {
                continue;
            }
            collect_files(&path, skip, files)?;
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
    fn colliding_and_nesting_ladders_keep_their_extension_and_the_output_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("intro")).unwrap();
        std::fs::create_dir_all(root.join("ladders/old")).unwrap();
        for name in ["lecture.mp4", "lecture.mov", "intro.mp4", "intro/part1.mp4", "solo.mp4", "ladders/old/init.mp4"] {
            std::fs::write(root.join(name), b"x").unwrap();
        }
        let items = discover(root, Some(&root.join("ladders"))).unwrap();
        let relative: Vec<_> = items.iter().map(|item| item.relative.to_string_lossy().into_owned()).collect();
        assert_eq!(relative, ["intro/part1", "intro.mp4", "lecture.mov", "lecture.mp4", "solo"]);
    }

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
        let items = discover(root, None).unwrap();
        let inputs: Vec<_> = items.iter().map(|item| item.relative.to_string_lossy().into_owned()).collect();
        assert_eq!(inputs, ["intro", "week1/lecture", "week1/lecture2"]);
        let languages: Vec<_> = items[1].subtitles.iter().map(|s| s.language.as_str()).collect();
        assert_eq!(languages, ["en", "fr-CA"]);
        assert!(items[2].subtitles.is_empty(), "lecture2 must not take lecture's subtitles");
    }
}
