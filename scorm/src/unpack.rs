//! `scorm unpack`: extraction that trusts nothing and leaves nothing half-done. The archive is indexed first (so
//! every hostile name, link, duplicate or bomb is refused before a single byte is written), files are created with
//! `create_new` (never following or overwriting anything), and every entry's bytes are checked against its
//! declared size while streaming. Some problems only show while streaming (a lying size header, a bad checksum, a
//! full disk), so everything is written into a hidden folder beside the destination, `.NAME.partial-PID-N`, which
//! is renamed into place only once every entry was written and verified, and removed (by a drop guard) on any
//! failure.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::archive::{EntryKind, Limits, Package};
use crate::error::{ScormError, UnsafeReason};

/// What was extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Unpacked {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Extracts `package` (a zip) into `dest`, all or nothing.
///
/// `dest` must not exist, or be an empty folder; a folder with anything in it is refused with
/// [`ScormError::DestinationNotEmpty`] before anything is written, and is never modified. The entries are written
/// into a hidden sibling folder `.NAME.partial-PID-N` and renamed onto `dest` only after the last entry was
/// written and checked, so `dest` either holds the complete package or is exactly as it was: when extraction
/// fails, the partial folder is removed, an empty `dest` stays empty, and a `dest` that did not exist still does
/// not (nor do the missing parent folders this call created). Should something appear in an empty `dest` while
/// extracting, the final rename fails and that is reported as `DestinationNotEmpty` too.
pub fn unpack(package: &Path, dest: &Path, limits: Limits) -> Result<Unpacked, ScormError> {
    let mut pkg = Package::open(package, limits)?;
    let mut partial = PartialDir::create(dest)?;
    let done = extract(&mut pkg, partial.path())?;
    partial.commit()?;
    Ok(done)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ScormError + use<> {
    let path = path.to_path_buf();
    move |source| ScormError::Io { path, source }
}

/// Writes every entry of `pkg` under `root`, which is ours alone (freshly created, hidden).
fn extract(pkg: &mut Package, root: &Path) -> Result<Unpacked, ScormError> {
    let mut done = Unpacked { files: 0, bytes: 0 };
    for i in 0..pkg.len() {
        // One owned name at a time: the index is borrowed again to copy the entry's bytes.
        let Some((name, kind)) = pkg.entry_at(i).map(|e| (e.name.to_string(), e.kind)) else { break };
        // Names were normalised by the indexer; check again that each part is a plain name, so a bug there can
        // never write outside `root`.
        let rel = Path::new(&name);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(ScormError::UnsafeEntry { name: name.clone(), reason: UnsafeReason::ParentSegment });
        }
        let target = root.join(rel);
        match kind {
            EntryKind::Folder => std::fs::create_dir_all(&target).map_err(io_error(&target))?,
            EntryKind::File => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
                }
                let file: File =
                    OpenOptions::new().write(true).create_new(true).open(&target).map_err(io_error(&target))?;
                let mut out = BufWriter::new(file);
                done.bytes += pkg.copy_to(&name, &mut out)?;
                out.flush().map_err(io_error(&target))?;
                done.files += 1;
            }
        }
    }
    Ok(done)
}

/// The hidden folder an extraction writes into. Dropping it before [`PartialDir::commit`] removes it, and the
/// parent folders created for it, so a failed `unpack` leaves the file system as it found it.
struct PartialDir {
    /// `.NAME.partial-PID-N`, beside the destination (same file system, so the final rename is atomic).
    path: PathBuf,
    /// Where it goes: the destination with its parent resolved to an absolute path.
    dest: PathBuf,
    /// Ancestors of the destination that did not exist and were created here, outermost first.
    created_parents: Vec<PathBuf>,
    committed: bool,
}

impl PartialDir {
    /// Checks the destination (absent, or an empty folder) and creates the partial folder beside it.
    fn create(dest: &Path) -> Result<Self, ScormError> {
        let dest = if dest.exists() {
            let mut children = std::fs::read_dir(dest).map_err(io_error(dest))?;
            if children.next().is_some() {
                return Err(ScormError::DestinationNotEmpty { path: dest.to_path_buf() });
            }
            // Resolves `.`, `..` and a link to the folder: the rename must land on the folder itself.
            dest.canonicalize().map_err(io_error(dest))?
        } else {
            dest.to_path_buf()
        };
        let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the destination has no folder name");
            return Err(ScormError::Io { path: dest, source });
        };
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut created_parents = Vec::new();
        let mut missing = parent.as_path();
        while !missing.as_os_str().is_empty() && !missing.exists() {
            created_parents.insert(0, missing.to_path_buf());
            missing = missing.parent().unwrap_or(Path::new(""));
        }
        let mut partial = Self { path: PathBuf::new(), dest: dest.clone(), created_parents, committed: false };
        std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
        // Unique per process and per call; a leftover of a crashed run with a recycled pid is skipped, not reused.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(".{name}.partial-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    partial.path = path;
                    return Ok(partial);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1_000_000 => continue,
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the finished extraction into place. `rename` replaces an empty folder and fails on a non-empty one,
    /// so a destination that filled up meanwhile is refused here, not overwritten.
    fn commit(&mut self) -> Result<(), ScormError> {
        if let Err(e) = std::fs::rename(&self.path, &self.dest) {
            let filled = std::fs::read_dir(&self.dest).is_ok_and(|mut d| d.next().is_some());
            return Err(if filled {
                ScormError::DestinationNotEmpty { path: self.dest.clone() }
            } else {
                io_error(&self.dest)(e)
            });
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if !self.path.as_os_str().is_empty() {
            // Best effort: an error here must not hide the one that got us here.
            let _ = std::fs::remove_dir_all(&self.path);
        }
        // `remove_dir` only removes empty folders, so anything someone else put there meanwhile survives.
        for dir in self.created_parents.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::zip_of;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn extracts_into_a_fresh_folder_and_refuses_a_full_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zip = dir.path().join("p.zip");
        std::fs::write(&zip, zip_of(&[("imsmanifest.xml", "<manifest/>"), ("a/", ""), ("a/b.html", "hi")]))
            .expect("write");
        let out = dir.path().join("out");
        let done = unpack(&zip, &out, Limits::default()).expect("unpack");
        assert_eq!(done, Unpacked { files: 2, bytes: 13 });
        assert_eq!(std::fs::read_to_string(out.join("a/b.html")).expect("read"), "hi");
        assert!(matches!(unpack(&zip, &out, Limits::default()), Err(ScormError::DestinationNotEmpty { .. })));
        assert_eq!(listing(&out), ["a", "imsmanifest.xml"], "the full folder is untouched");
        assert_eq!(listing(dir.path()), ["out", "p.zip"], "no partial folder left beside it");
    }

    #[test]
    fn extracts_into_an_existing_empty_folder_and_new_parents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zip = dir.path().join("p.zip");
        std::fs::write(&zip, zip_of(&[("imsmanifest.xml", "<manifest/>")])).expect("write");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        unpack(&zip, &empty, Limits::default()).expect("unpack into an empty folder");
        assert_eq!(listing(&empty), ["imsmanifest.xml"]);
        let nested = dir.path().join("x/y/out");
        unpack(&zip, &nested, Limits::default()).expect("unpack into new parents");
        assert_eq!(listing(&nested), ["imsmanifest.xml"]);
        assert_eq!(listing(&dir.path().join("x/y")), ["out"]);
    }

    #[test]
    fn the_partial_folder_is_removed_when_dropped_uncommitted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("a/b/out");
        let partial = PartialDir::create(&dest).expect("create");
        std::fs::write(partial.path().join("f"), "x").expect("write");
        assert!(partial.path().file_name().is_some_and(|n| n.to_string_lossy().starts_with(".out.partial-")));
        drop(partial);
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }
}
