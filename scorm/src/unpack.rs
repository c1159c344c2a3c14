//! `scorm unpack`: extraction that trusts nothing. The archive is indexed first (so every hostile name, link,
//! duplicate or bomb is refused before a single byte is written), the destination must be new or empty, files are
//! created with `create_new` (never following or overwriting anything), and every entry's bytes are checked
//! against its declared size while streaming.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Component, Path};

use crate::archive::{EntryKind, Limits, Package};
use crate::error::ScormError;

/// What was extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Unpacked {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Extracts `package` (a zip) into `dest`, which must not exist or be empty.
pub fn unpack(package: &Path, dest: &Path, limits: Limits) -> Result<Unpacked, ScormError> {
    let mut pkg = Package::open(package, limits)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScormError::Io { path, source }
    };
    if dest.exists() {
        let mut children = std::fs::read_dir(dest).map_err(io(dest))?;
        if children.next().is_some() {
            return Err(ScormError::DestinationNotEmpty { path: dest.to_path_buf() });
        }
    } else {
        std::fs::create_dir_all(dest).map_err(io(dest))?;
    }
    let entries: Vec<_> = pkg.entries().to_vec();
    let mut done = Unpacked { files: 0, bytes: 0 };
    for e in entries {
        // Names were normalised by the indexer; check again that each part is a plain name, so a bug there can
        // never write outside `dest`.
        let rel = Path::new(&e.name);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(ScormError::UnsafeEntry {
                name: e.name.clone(),
                reason: crate::error::UnsafeReason::ParentSegment,
            });
        }
        let target = dest.join(rel);
        match e.kind {
            EntryKind::Folder => std::fs::create_dir_all(&target).map_err(io(&target))?,
            EntryKind::File => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                let file: File = OpenOptions::new().write(true).create_new(true).open(&target).map_err(io(&target))?;
                let mut out = BufWriter::new(file);
                done.bytes += pkg.copy_to(&e.name, &mut out)?;
                std::io::Write::flush(&mut out).map_err(io(&target))?;
                done.files += 1;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::zip_of;

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
    }
}
