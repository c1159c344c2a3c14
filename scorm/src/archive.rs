//! Reading a package without extracting it: a zip opened through its central directory, or a folder on disk, indexed
//! into one list of normalised entry names. Hostile archives are refused here, before any rule or extraction sees
//! them: `..`, absolute and drive paths, control characters, symlinks, duplicates (also case-folded), encryption,
//! and zip bombs (entry count, total size, per-entry ratio, streamed bytes checked against the declared size).
//! The validator, `inspect` and `unpack` all start from [`Package`].

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{LimitKind, ScormError, UnsafeReason};
use crate::paths::{fold, normalize_entry_name};

/// Limits applied while indexing and reading a package. The defaults suit real courses (the largest we know are a
/// few GB of video in a few thousand files) while refusing bombs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries an archive may hold.
    pub max_entries: usize,
    /// Most bytes all entries may hold together, uncompressed.
    pub max_total_size: u64,
    /// Most bytes one entry may hold, uncompressed.
    pub max_entry_size: u64,
    /// Highest uncompressed/compressed ratio of one entry…
    pub max_ratio: u64,
    /// …checked only for entries larger than this, since tiny files compress absurdly well and harmlessly.
    pub ratio_floor: u64,
    /// Largest XML document (manifest, metadata) we parse.
    pub max_xml_size: u64,
    /// Deepest folder nesting in a folder source (guards against loops through bind mounts).
    pub max_folder_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_total_size: 8 << 30,
            max_entry_size: 4 << 30,
            max_ratio: 200,
            ratio_floor: 1 << 20,
            max_xml_size: 32 << 20,
            max_folder_depth: 64,
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
}

/// One indexed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Normalised name: `/`-separated, relative, no `.` or `..` segments, no trailing `/`.
    pub name: String,
    /// File or folder.
    pub kind: EntryKind,
    /// Declared uncompressed size.
    pub size: u64,
    /// Compressed size (equal to `size` in a folder source).
    pub compressed_size: u64,
    /// Index in the zip's central directory.
    zip_index: Option<usize>,
}

/// Anything a zip can be read from.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

enum Source {
    Zip(Box<zip::ZipArchive<Box<dyn ReadSeek>>>),
    Folder(PathBuf),
}

/// An opened, indexed package. Every name in it has passed the safety checks.
pub struct Package {
    source: Source,
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    by_folded: HashMap<String, usize>,
    limits: Limits,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Zip(_) => "zip".to_string(),
            Source::Folder(p) => p.display().to_string(),
        };
        f.debug_struct("Package").field("source", &source).field("entries", &self.entries.len()).finish()
    }
}

impl Package {
    /// Opens a zip file or a folder.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, ScormError> {
        let io = |source| ScormError::Io { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            Self::from_folder(path, limits)
        } else {
            let file = File::open(path).map_err(io)?;
            Self::from_zip(Box::new(BufReader::new(file)), limits)
        }
    }

    /// Opens a zip from memory (tests, fuzzing, uploads already in memory).
    pub fn from_zip_bytes(bytes: Vec<u8>, limits: Limits) -> Result<Self, ScormError> {
        Self::from_zip(Box::new(std::io::Cursor::new(bytes)), limits)
    }

    /// Opens a zip from any seekable reader.
    pub fn from_zip(reader: Box<dyn ReadSeek>, limits: Limits) -> Result<Self, ScormError> {
        let unreadable = |e: zip::result::ZipError| ScormError::ZipUnreadable { detail: e.to_string() };
        let archive = zip::ZipArchive::new(reader).map_err(unreadable)?;
        check_count(archive.len(), &limits)?;
        // The zip crate keeps one entry per name, so exact duplicates vanish from its index: count the raw
        // central directory records ourselves to see them.
        let (start, offset) = (archive.central_directory_start(), archive.offset());
        let mut reader = archive.into_inner();
        let raw_names = scan_central_directory(&mut reader, start, offset, limits.max_entries)?;
        let mut archive = zip::ZipArchive::new(reader).map_err(unreadable)?;
        if raw_names.len() > archive.len() {
            let mut seen = std::collections::HashSet::new();
            let dup = raw_names.iter().find(|n| !seen.insert(*n)).cloned().unwrap_or_default();
            return Err(ScormError::UnsafeEntry { name: dup, reason: UnsafeReason::Duplicate });
        }
        let mut index = Indexer::new(limits);
        for i in 0..archive.len() {
            let file = archive.by_index_raw(i).map_err(unreadable)?;
            let raw = file.name().to_string();
            if file.encrypted() {
                return Err(ScormError::UnsafeEntry { name: raw, reason: UnsafeReason::Encrypted });
            }
            if file.is_symlink() {
                return Err(ScormError::UnsafeEntry { name: raw, reason: UnsafeReason::Symlink });
            }
            let kind = if file.is_dir() { EntryKind::Folder } else { EntryKind::File };
            index.add(&raw, kind, file.size(), file.compressed_size(), Some(i))?;
        }
        Ok(index.finish(Source::Zip(Box::new(archive))))
    }

    /// Indexes a folder (an unpacked package), refusing symlinks and special files like the zip path does.
    pub fn from_folder(root: &Path, limits: Limits) -> Result<Self, ScormError> {
        let mut index = Indexer::new(limits);
        let mut stack = vec![(root.to_path_buf(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            if depth > limits.max_folder_depth {
                return Err(ScormError::LimitExceeded {
                    kind: LimitKind::FolderDepth,
                    limit: limits.max_folder_depth as u64,
                    actual: depth as u64,
                    name: Some(dir.display().to_string()),
                });
            }
            let io = |source| ScormError::Io { path: dir.clone(), source };
            let mut children: Vec<_> = std::fs::read_dir(&dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
            children.sort_by_key(|e| e.file_name());
            for child in children {
                let path = child.path();
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let name = rel.to_str().map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"));
                let Some(name) = name else {
                    return Err(ScormError::UnsafeEntry {
                        name: rel.to_string_lossy().into_owned(),
                        reason: UnsafeReason::BadName,
                    });
                };
                let meta =
                    std::fs::symlink_metadata(&path).map_err(|source| ScormError::Io { path: path.clone(), source })?;
                let ft = meta.file_type();
                if ft.is_symlink() {
                    return Err(ScormError::UnsafeEntry { name, reason: UnsafeReason::Symlink });
                } else if ft.is_dir() {
                    index.add(&name, EntryKind::Folder, 0, 0, None)?;
                    stack.push((path, depth + 1));
                } else if ft.is_file() {
                    index.add(&name, EntryKind::File, meta.len(), meta.len(), None)?;
                } else {
                    return Err(ScormError::UnsafeEntry { name, reason: UnsafeReason::SpecialFile });
                }
            }
        }
        Ok(index.finish(Source::Folder(root.to_path_buf())))
    }

    /// All entries, in archive (or sorted folder) order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The regular files.
    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == EntryKind::File)
    }

    /// The limits this package was opened with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The entry with exactly this normalised name.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// The entry whose name equals this one once case is folded.
    pub fn get_case_insensitive(&self, name: &str) -> Option<&Entry> {
        self.by_folded.get(&fold(name)).map(|&i| &self.entries[i])
    }

    /// True when a file of that name exists.
    pub fn has_file(&self, name: &str) -> bool {
        self.get(name).is_some_and(|e| e.kind == EntryKind::File)
    }

    /// Reads a whole entry, refusing entries over `max` bytes.
    pub fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, ScormError> {
        let size = self.get(name).map(|e| e.size).ok_or_else(|| ScormError::EntryNotFound { name: name.into() })?;
        if size > max {
            return Err(ScormError::LimitExceeded {
                kind: LimitKind::XmlSize,
                limit: max,
                actual: size,
                name: Some(name.into()),
            });
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 24));
        self.copy_to(name, &mut out)?;
        Ok(out)
    }

    /// Streams one entry into `out`, checking the bytes against the declared size (a lying header is how bombs
    /// slip past size limits).
    pub fn copy_to(&mut self, name: &str, out: &mut dyn Write) -> Result<u64, ScormError> {
        let entry = self.get(name).cloned().ok_or_else(|| ScormError::EntryNotFound { name: name.into() })?;
        let unreadable =
            |e: &dyn fmt::Display| ScormError::EntryUnreadable { name: name.into(), detail: e.to_string() };
        let copied = match &mut self.source {
            Source::Zip(archive) => {
                let index = entry.zip_index.ok_or_else(|| ScormError::EntryNotFound { name: name.into() })?;
                let file = archive.by_index(index).map_err(|e| unreadable(&e))?;
                copy_bounded(file, out, entry.size).map_err(|e| unreadable(&e))?
            }
            Source::Folder(root) => {
                let path = root.join(&entry.name);
                let file = File::open(&path).map_err(|source| ScormError::Io { path, source })?;
                copy_bounded(file, out, entry.size).map_err(|e| unreadable(&e))?
            }
        };
        if copied != entry.size {
            return Err(ScormError::SizeMismatch { name: name.into(), declared: entry.size, actual_at_least: copied });
        }
        Ok(copied)
    }
}

/// Copies at most `declared + 1` bytes: one byte more than declared is enough to know the header lied.
fn copy_bounded(reader: impl Read, out: &mut dyn Write, declared: u64) -> std::io::Result<u64> {
    let mut limited = reader.take(declared.saturating_add(1));
    std::io::copy(&mut limited, out)
}

fn check_count(count: usize, limits: &Limits) -> Result<(), ScormError> {
    if count > limits.max_entries {
        return Err(ScormError::LimitExceeded {
            kind: LimitKind::EntryCount,
            limit: limits.max_entries as u64,
            actual: count as u64,
            name: None,
        });
    }
    Ok(())
}

/// Reads the raw names of the central directory records, at most `max + 1` of them.
fn scan_central_directory(
    reader: &mut dyn ReadSeek,
    start: u64,
    offset: u64,
    max: usize,
) -> Result<Vec<String>, ScormError> {
    const SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    for base in [start, start.saturating_add(offset)] {
        if reader.seek(SeekFrom::Start(base)).is_err() {
            continue;
        }
        let mut names = Vec::new();
        let mut header = [0u8; 46];
        while names.len() <= max {
            if reader.read_exact(&mut header).is_err() || header[..4] != SIGNATURE {
                break;
            }
            let u16_at = |i: usize| u64::from(u16::from_le_bytes([header[i], header[i + 1]]));
            let (name_len, extra_len, comment_len) = (u16_at(28), u16_at(30), u16_at(32));
            let mut name = vec![0u8; name_len as usize];
            if reader.read_exact(&mut name).is_err() {
                break;
            }
            names.push(String::from_utf8_lossy(&name).into_owned());
            if reader.seek(SeekFrom::Current((extra_len + comment_len) as i64)).is_err() {
                break;
            }
        }
        if !names.is_empty() {
            return Ok(names);
        }
    }
    Ok(Vec::new())
}

/// Builds the index entry by entry, applying the name and size checks.
struct Indexer {
    limits: Limits,
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    by_folded: HashMap<String, usize>,
    total: u64,
}

impl Indexer {
    fn new(limits: Limits) -> Self {
        Self { limits, entries: Vec::new(), by_name: HashMap::new(), by_folded: HashMap::new(), total: 0 }
    }

    fn add(
        &mut self,
        raw: &str,
        kind: EntryKind,
        size: u64,
        compressed: u64,
        zip_index: Option<usize>,
    ) -> Result<(), ScormError> {
        check_count(self.entries.len() + 1, &self.limits)?;
        let unsafe_entry = |reason| ScormError::UnsafeEntry { name: raw.to_string(), reason };
        let name = normalize_entry_name(raw).map_err(unsafe_entry)?;
        if name.is_empty() {
            return Ok(()); // "./" names the root itself
        }
        let limit = |kind, limit, actual| ScormError::LimitExceeded { kind, limit, actual, name: Some(name.clone()) };
        if size > self.limits.max_entry_size {
            return Err(limit(LimitKind::EntrySize, self.limits.max_entry_size, size));
        }
        if size > self.limits.ratio_floor && size / compressed.max(1) > self.limits.max_ratio {
            return Err(limit(LimitKind::CompressionRatio, self.limits.max_ratio, size / compressed.max(1)));
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total_size {
            return Err(limit(LimitKind::TotalSize, self.limits.max_total_size, self.total));
        }
        if let Some(&other) = self.by_name.get(&name) {
            // Two folder records for one folder are harmless; anything else collides on extraction.
            if kind == EntryKind::Folder && self.entries[other].kind == EntryKind::Folder {
                return Ok(());
            }
            return Err(unsafe_entry(UnsafeReason::Duplicate));
        }
        let folded = fold(&name);
        if self.by_folded.contains_key(&folded) {
            return Err(unsafe_entry(UnsafeReason::DuplicateCaseFolded));
        }
        let i = self.entries.len();
        self.by_name.insert(name.clone(), i);
        self.by_folded.insert(folded, i);
        self.entries.push(Entry { name, kind, size, compressed_size: compressed, zip_index });
        Ok(())
    }

    fn finish(self, source: Source) -> Package {
        Package { source, entries: self.entries, by_name: self.by_name, by_folded: self.by_folded, limits: self.limits }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn indexes_and_reads_a_plain_zip() {
        let bytes = zip_of(&[("imsmanifest.xml", b"<manifest/>"), ("a/b.html", b"hi")]);
        let mut pkg = Package::from_zip_bytes(bytes, Limits::default()).expect("open");
        assert!(pkg.has_file("a/b.html"));
        assert_eq!(pkg.get_case_insensitive("A/B.HTML").map(|e| e.name.as_str()), Some("a/b.html"));
        assert_eq!(pkg.read("imsmanifest.xml", 100).expect("read"), b"<manifest/>");
        assert!(matches!(pkg.read("imsmanifest.xml", 3), Err(ScormError::LimitExceeded { .. })));
        assert!(matches!(pkg.read("nope", 3), Err(ScormError::EntryNotFound { .. })));
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let err = Package::from_zip_bytes(b"PK\x03\x04 nothing".to_vec(), Limits::default()).expect_err("garbage");
        assert_eq!(err.code(), "zip-unreadable");
    }
}
