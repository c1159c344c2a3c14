//! Reading a package without extracting it: a zip opened through its central directory, or a folder on disk, indexed
//! into one list of normalised entry names. Hostile archives are refused here, before any rule or extraction sees
//! them: `..`, absolute and drive paths, control characters, symlinks, duplicates (also case-folded), encryption,
//! and zip bombs (entry count, total size, per-entry ratio, streamed bytes checked against the declared size).
//! The validator, `inspect` and `unpack` all start from [`Package`].

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hashbrown::HashTable;

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

/// One indexed entry, borrowed from the package's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Normalised name: `/`-separated, relative, no `.` or `..` segments, no trailing `/`.
    pub name: &'a str,
    /// File or folder.
    pub kind: EntryKind,
    /// Declared uncompressed size.
    pub size: u64,
    /// Compressed size (equal to `size` in a folder source).
    pub compressed_size: u64,
}

/// Anything a zip can be read from. Indexing reads the central directory in small sequential reads, so a file
/// should come buffered ([`Package::open`] does that).
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

enum Source {
    /// The reader, and how many bytes precede the archive proper (a self-extractor stub): central-directory
    /// offsets are relative to the archive, the reader's to the file.
    Zip {
        reader: Box<dyn ReadSeek>,
        archive_offset: u64,
        /// Every central-directory record, in order (the index drops a few: `./`, repeated folders), and
        /// where the directory starts, for checking the local headers against them.
        central: Vec<CentralEntry>,
        directory_start: u64,
    },
    Folder(PathBuf),
}

/// What the central directory says of one entry, kept for checking the local headers against it.
#[derive(Debug, Clone)]
struct CentralEntry {
    header_offset: u64,
    compressed_size: u64,
    method: u16,
    name: String,
}

/// One entry of the index: fixed size, its name a range of the shared name arena. About 48 bytes per entry plus
/// the name, where the zip crate's `ZipArchive` kept several hundred (owned name, raw name, comment, extra fields,
/// an `Arc` per entry): at 100,000 entries the index went from ~85 MB to ~10 MB.
#[derive(Debug, Clone, Copy)]
struct Record {
    name_start: usize,
    name_len: u32,
    kind: EntryKind,
    /// Compression method (0 stored, 8 deflate); unused in a folder source.
    method: u16,
    crc32: u32,
    size: u64,
    compressed_size: u64,
    /// Offset of the local header, relative to the archive.
    header_offset: u64,
}

/// An opened, indexed package. Every name in it has passed the safety checks.
pub struct Package {
    source: Source,
    index: Index,
    limits: Limits,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Zip { .. } => "zip".to_string(),
            Source::Folder(p) => p.display().to_string(),
        };
        f.debug_struct("Package").field("source", &source).field("entries", &self.index.records.len()).finish()
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
            Self::from_zip(Box::new(SeekBuf::new(file)), limits)
        }
    }

    /// Opens a zip from memory (tests, fuzzing, uploads already in memory).
    pub fn from_zip_bytes(bytes: Vec<u8>, limits: Limits) -> Result<Self, ScormError> {
        Self::from_zip(Box::new(std::io::Cursor::new(bytes)), limits)
    }

    /// Opens a zip from any seekable reader.
    ///
    /// The central directory is read here in one sequential pass, record by record, straight into the compact
    /// index: no entry's local header is touched until that entry is read. (Through the zip crate, opening read
    /// every local header, 100,000 small seeks and reads for 100,000 entries: 345 of the 830 ms of validating
    /// such a package.) Entries are inflated with flate2 and checked against their CRC-32 when read, as the zip
    /// crate did; like the zip crate as we built it, only stored and deflated entries can be read.
    pub fn from_zip(mut reader: Box<dyn ReadSeek>, limits: Limits) -> Result<Self, ScormError> {
        let dir = zipfmt::find_central_directory(&mut reader)?;
        check_count(usize::try_from(dir.entries).unwrap_or(usize::MAX), &limits)?;
        let mut index = Indexer::new(limits, dir.entries as usize);
        reader.seek(SeekFrom::Start(dir.start)).map_err(zipfmt::unreadable)?;
        let mut name = Vec::new();
        let mut scratch = Vec::new();
        // Where each entry's local header and data lie (start, end, record), to refuse entries that share bytes.
        let mut spans: Vec<(u64, u64, usize)> = Vec::with_capacity(index.index.records.capacity());
        let mut central = Vec::with_capacity(index.index.records.capacity());
        for _ in 0..dir.entries {
            let record = zipfmt::read_central_record(&mut reader, &mut name, &mut scratch)?;
            let raw = &*record.name;
            if record.flags & 1 != 0 {
                return Err(ScormError::UnsafeEntry { name: raw.to_string(), reason: UnsafeReason::Encrypted });
            }
            if record.is_symlink() {
                return Err(ScormError::UnsafeEntry { name: raw.to_string(), reason: UnsafeReason::Symlink });
            }
            // As the zip crate decides it: a name ending in a slash (either kind) is a folder.
            let kind = if raw.ends_with(['/', '\\']) { EntryKind::Folder } else { EntryKind::File };
            let fields = ZipFields { method: record.method, crc32: record.crc32, header_offset: record.header_offset };
            // A local header is 30 bytes and the name (as long as the central one in any honest archive).
            let end = record.header_offset.saturating_add(30 + raw.len() as u64).saturating_add(record.compressed_size);
            spans.push((record.header_offset, end, spans.len()));
            central.push(CentralEntry {
                header_offset: record.header_offset,
                compressed_size: record.compressed_size,
                method: record.method,
                name: raw.to_string(),
            });
            index.add(raw, kind, record.size, record.compressed_size, fields)?;
        }
        refuse_overlaps(&mut spans, &central)?;
        index.check_package_ratio()?;
        let source = Source::Zip { reader, archive_offset: dir.archive_offset, central, directory_start: dir.start };
        Ok(index.finish(source))
    }

    /// Indexes a folder (an unpacked package), refusing symlinks and special files like the zip path does.
    pub fn from_folder(root: &Path, limits: Limits) -> Result<Self, ScormError> {
        let mut index = Indexer::new(limits, 0);
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
                    index.add(&name, EntryKind::Folder, 0, 0, ZipFields::default())?;
                    stack.push((path, depth + 1));
                } else if ft.is_file() {
                    index.add(&name, EntryKind::File, meta.len(), meta.len(), ZipFields::default())?;
                } else {
                    return Err(ScormError::UnsafeEntry { name, reason: UnsafeReason::SpecialFile });
                }
            }
        }
        Ok(index.finish(Source::Folder(root.to_path_buf())))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.records.len()
    }

    /// True when the package has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.index.records.is_empty()
    }

    /// All entries, in archive (or sorted folder) order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'_>> + '_ {
        (0..self.index.records.len()).map(|i| self.index.entry(i))
    }

    /// The `i`th entry in archive order.
    pub fn entry_at(&self, i: usize) -> Option<Entry<'_>> {
        (i < self.index.records.len()).then(|| self.index.entry(i))
    }

    /// The regular files.
    pub fn files(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.entries().filter(|e| e.kind == EntryKind::File)
    }

    /// The limits this package was opened with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The entry with exactly this normalised name.
    pub fn get(&self, name: &str) -> Option<Entry<'_>> {
        self.index.find(name).map(|i| self.index.entry(i))
    }

    /// The entry whose name equals this one once case is folded.
    pub fn get_case_insensitive(&self, name: &str) -> Option<Entry<'_>> {
        self.index.find_folded(&fold(name)).map(|i| self.index.entry(i))
    }

    /// The position in [`Package::entries`] of the entry whose name equals this one once case is folded.
    pub fn position_case_insensitive(&self, name: &str) -> Option<usize> {
        self.index.find_folded(&fold(name))
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
    /// slip past size limits) and, in a zip, against the declared CRC-32.
    pub fn copy_to(&mut self, name: &str, out: &mut dyn Write) -> Result<u64, ScormError> {
        let i = self.index.find(name).ok_or_else(|| ScormError::EntryNotFound { name: name.into() })?;
        let record = self.index.records[i];
        let unreadable =
            |e: &dyn fmt::Display| ScormError::EntryUnreadable { name: name.into(), detail: e.to_string() };
        let copied = match &mut self.source {
            Source::Zip { reader, archive_offset, .. } => {
                zipfmt::copy_entry(reader, *archive_offset, &record, out).map_err(|e| unreadable(&e))?
            }
            Source::Folder(root) => {
                let path = root.join(self.index.name(i));
                let file = File::open(&path).map_err(|source| ScormError::Io { path, source })?;
                copy_bounded(file, out, record.size).map_err(|e| unreadable(&e))?
            }
        };
        if copied != record.size {
            return Err(ScormError::SizeMismatch { name: name.into(), declared: record.size, actual_at_least: copied });
        }
        Ok(copied)
    }
}

impl Package {
    /// Where the archive's local headers disagree with its central directory, in words: a local header that
    /// names another file or method, or bytes between entries (or before the directory) that no central record
    /// accounts for, such as a hidden `../evil.txt` that in-order readers (Java's `ZipInputStream`) would
    /// extract. Empty for a folder, or for an archive laid out as any standard tool writes it. Reads every
    /// local header, so only validation asks for it.
    pub fn local_layout_problems(&mut self) -> Result<Vec<String>, ScormError> {
        let Source::Zip { reader, archive_offset, central, directory_start } = &mut self.source else {
            return Ok(Vec::new());
        };
        let mut entries: Vec<&CentralEntry> = central.iter().collect();
        entries.sort_by_key(|entry| entry.header_offset);
        let mut problems = Vec::new();
        let mut expected = *archive_offset;
        for entry in entries {
            let at = entry.header_offset.saturating_add(*archive_offset);
            if at > expected {
                problems.push(format!(
                    "{} bytes at byte {expected}, before {:?}, belong to no entry of the central directory",
                    at - expected,
                    entry.name
                ));
            }
            let Some(local) = zipfmt::read_local_header(reader, at).map_err(zipfmt::unreadable)? else {
                problems.push(format!("{:?} has no local header at byte {at}", entry.name));
                expected = expected.max(at);
                continue;
            };
            if local.name != entry.name.as_bytes() {
                let named = String::from_utf8_lossy(&local.name);
                problems.push(format!("the local header of {:?} names {named:?}", entry.name));
            }
            if local.method != entry.method {
                problems.push(format!(
                    "the local header of {:?} says method {} where the central directory says {}",
                    entry.name, local.method, entry.method
                ));
            }
            let data_end = at.saturating_add(local.header_length).saturating_add(entry.compressed_size);
            let descriptor = if local.flags & 0b1000 != 0 {
                zipfmt::data_descriptor_length(reader, data_end, entry.compressed_size).map_err(zipfmt::unreadable)?
            } else {
                0
            };
            expected = expected.max(data_end.saturating_add(descriptor));
        }
        if *directory_start > expected {
            problems.push(format!(
                "{} bytes at byte {expected}, after the last entry and before the central directory, belong to no entry",
                *directory_start - expected
            ));
        }
        Ok(problems)
    }
}

/// A buffered reader whose seeks stay inside the buffer when they can. `std::io::BufReader` drops its buffer on
/// every seek; indexing skips each central-directory record's comment with a short relative seek, which must stay
/// a buffer move rather than an `lseek` + refill (when the zip crate indexed, that cost a third of a 10 MB course's
/// validation time). After a seek out of the buffer the next fill is small and fills then double while reading on:
/// reading one entry seeks to its 30-byte local header, and filling a whole buffer there would read far past a
/// small entry.
struct SeekBuf<R> {
    inner: R,
    buf: Box<[u8]>,
    /// How much the next fill asks for.
    fill: usize,
    /// Offset in `inner` of `buf[0]`; `inner` itself is always at `start + filled`.
    start: u64,
    filled: usize,
    /// Read position inside `buf`.
    pos: usize,
}

impl<R: Read + Seek> SeekBuf<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; Self::MAX_FILL].into_boxed_slice(),
            fill: Self::MIN_FILL,
            start: 0,
            filled: 0,
            pos: 0,
        }
    }

    const MIN_FILL: usize = 512;
    const MAX_FILL: usize = 64 << 10;
}

impl<R: Read + Seek> Read for SeekBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.filled {
            self.start += self.filled as u64;
            (self.pos, self.filled) = (0, 0);
            if out.len() >= self.buf.len() {
                let n = self.inner.read(out)?;
                self.start += n as u64;
                return Ok(n);
            }
            self.filled = self.inner.read(&mut self.buf[..self.fill])?;
            self.fill = (self.fill * 2).min(Self::MAX_FILL);
        }
        let n = out.len().min(self.filled - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SeekBuf<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let here = self.start + self.pos as u64;
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => here.checked_add_signed(d),
            SeekFrom::End(_) => None,
        };
        if let Some(p) = target.filter(|&p| p >= self.start && p <= self.start + self.filled as u64) {
            self.pos = (p - self.start) as usize;
            return Ok(p);
        }
        // Outside the buffer: let the inner reader decide (and report errors such as a negative position).
        let to = match to {
            SeekFrom::Current(d) => SeekFrom::Start(here.checked_add_signed(d).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start of the file")
            })?),
            other => other,
        };
        let p = self.inner.seek(to)?;
        (self.start, self.filled, self.pos, self.fill) = (p, 0, 0, Self::MIN_FILL);
        Ok(p)
    }

    fn stream_position(&mut self) -> std::io::Result<u64> {
        Ok(self.start + self.pos as u64)
    }
}

/// Copies at most `declared + 1` bytes: one byte more than declared is enough to know the header lied.
fn copy_bounded(reader: impl Read, out: &mut dyn Write, declared: u64) -> std::io::Result<u64> {
    let mut limited = reader.take(declared.saturating_add(1));
    std::io::copy(&mut limited, out)
}

/// Refuses entries whose local header and data overlap another's (sorted by start, each must begin at or
/// after the previous one's end). Checked on the declared layout, before anything is read or written.
fn refuse_overlaps(spans: &mut [(u64, u64, usize)], central: &[CentralEntry]) -> Result<(), ScormError> {
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let ((_, previous_end, _), (start, _, entry)) = (pair[0], pair[1]);
        if start < previous_end {
            let name = central.get(entry).map(|entry| entry.name.clone()).unwrap_or_default();
            return Err(ScormError::UnsafeEntry { name, reason: UnsafeReason::Overlapping });
        }
    }
    Ok(())
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

/// The central-directory fields of an entry that reading it needs (all zero in a folder source).
#[derive(Debug, Clone, Copy, Default)]
struct ZipFields {
    method: u16,
    crc32: u32,
    header_offset: u64,
}

/// The names of all entries in one string, records pointing into it, and two hash tables of record numbers: by
/// exact name and by case-folded name. The tables hold `u32`s and hash the names in the arena on demand, so a
/// lookup structure costs ~10 bytes per entry instead of an owned copy of every name (and of its folded form)
/// plus a map slot. Hashes are seeded per process (`RandomState`): names come from untrusted archives.
struct Index {
    names: String,
    records: Vec<Record>,
    by_name: HashTable<u32>,
    by_folded: HashTable<u32>,
    hasher: RandomState,
}

impl Index {
    fn name(&self, i: usize) -> &str {
        let r = &self.records[i];
        &self.names[r.name_start..r.name_start + r.name_len as usize]
    }

    fn entry(&self, i: usize) -> Entry<'_> {
        let r = &self.records[i];
        Entry { name: self.name(i), kind: r.kind, size: r.size, compressed_size: r.compressed_size }
    }

    fn find(&self, name: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        self.by_name.find(hash, |&i| self.name(i as usize) == name).map(|&i| i as usize)
    }

    /// `folded` must already be folded with [`fold`].
    fn find_folded(&self, folded: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(folded);
        // Only candidates with the same hash (and 7-bit tag) are folded again to compare.
        self.by_folded.find(hash, |&i| fold(self.name(i as usize)) == folded).map(|&i| i as usize)
    }
}

/// Builds the index entry by entry, applying the name and size checks.
struct Indexer {
    limits: Limits,
    index: Index,
    /// Raw names of folder records: an exact repeat of a raw name is a duplicate even for folders (as the zip
    /// crate's index, which collapsed them, made us decide before), while two spellings of one folder are harmless.
    /// Folders are few, so this stays small.
    folder_raw_names: HashSet<String>,
    total: u64,
    /// Compressed bytes of all entries.
    total_compressed: u64,
    /// Every folder some entry's name passes through (`a` and `a/b` for `a/b/c.html`).
    parents: HashSet<String>,
}

impl Indexer {
    /// `expected` entries are reserved up front (bounded by the limit), so the tables never rehash, which would
    /// fold every name again.
    fn new(limits: Limits, expected: usize) -> Self {
        let expected = expected.min(limits.max_entries);
        let index = Index {
            names: String::new(),
            records: Vec::with_capacity(expected),
            by_name: HashTable::with_capacity(expected),
            by_folded: HashTable::with_capacity(expected),
            hasher: RandomState::new(),
        };
        Self { limits, index, folder_raw_names: HashSet::new(), total: 0, total_compressed: 0, parents: HashSet::new() }
    }

    /// Refuses a package whose entries together expand more than the ratio allows, even when each stays
    /// under the size the per-entry check starts at (300 entries of one zero MiB each).
    fn check_package_ratio(&self) -> Result<(), ScormError> {
        let ratio = self.total / self.total_compressed.max(1);
        if self.total > self.limits.ratio_floor && ratio > self.limits.max_ratio {
            return Err(ScormError::LimitExceeded {
                kind: LimitKind::PackageCompressionRatio,
                limit: self.limits.max_ratio,
                actual: ratio,
                name: None,
            });
        }
        Ok(())
    }

    fn add(
        &mut self,
        raw: &str,
        kind: EntryKind,
        size: u64,
        compressed: u64,
        zip: ZipFields,
    ) -> Result<(), ScormError> {
        check_count(self.index.records.len() + 1, &self.limits)?;
        self.total_compressed = self.total_compressed.saturating_add(compressed);
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
        // A name that is a file here and a folder elsewhere collides when written out.
        if kind == EntryKind::File && self.parents.contains(&name) {
            return Err(unsafe_entry(UnsafeReason::FileFolderClash));
        }
        for (end, _) in name.match_indices('/') {
            let parent = &name[..end];
            if self.parents.contains(parent) {
                continue;
            }
            if let Some(other) = self.index.find(parent) {
                if self.index.records[other].kind == EntryKind::File {
                    return Err(unsafe_entry(UnsafeReason::FileFolderClash));
                }
            }
            self.parents.insert(parent.to_owned());
        }
        let repeated_raw = kind == EntryKind::Folder && !self.folder_raw_names.insert(raw.to_string());
        let index = &mut self.index;
        if let Some(other) = index.find(&name) {
            // Two folder records for one folder are harmless; anything else collides on extraction.
            if kind == EntryKind::Folder && index.records[other].kind == EntryKind::Folder && !repeated_raw {
                return Ok(());
            }
            return Err(unsafe_entry(UnsafeReason::Duplicate));
        }
        let folded = fold(&name);
        if index.find_folded(&folded).is_some() {
            return Err(unsafe_entry(UnsafeReason::DuplicateCaseFolded));
        }
        let Ok(i) = u32::try_from(index.records.len()) else {
            return Err(limit(LimitKind::EntryCount, u64::from(u32::MAX), index.records.len() as u64));
        };
        let name_start = index.names.len();
        index.names.push_str(&name);
        index.records.push(Record {
            name_start,
            name_len: name.len() as u32,
            kind,
            method: zip.method,
            crc32: zip.crc32,
            size,
            compressed_size: compressed,
            header_offset: zip.header_offset,
        });
        let Index { names, records, by_name, by_folded, hasher } = index;
        let name_of = |i: u32| {
            let r = &records[i as usize];
            &names[r.name_start..r.name_start + r.name_len as usize]
        };
        by_name.insert_unique(hasher.hash_one(name.as_str()), i, |&j| hasher.hash_one(name_of(j)));
        by_folded.insert_unique(hasher.hash_one(folded.as_str()), i, |&j| hasher.hash_one(fold(name_of(j))));
        Ok(())
    }

    fn finish(mut self, source: Source) -> Package {
        self.index.names.shrink_to_fit();
        self.index.records.shrink_to_fit();
        Package { source, index: self.index, limits: self.limits }
    }
}

/// The zip format, the little of it that indexing and reading need (APPNOTE 6.3): the end of central directory
/// record (and its zip64 form), central directory records, local headers, stored and deflated data.
mod zipfmt {
    use std::io::{self, Read, Seek, SeekFrom, Write};

    use super::{ReadSeek, Record, copy_bounded};
    use crate::error::ScormError;

    pub(super) fn unreadable(e: impl std::fmt::Display) -> ScormError {
        ScormError::ZipUnreadable { detail: e.to_string() }
    }

    fn invalid(detail: &str) -> ScormError {
        ScormError::ZipUnreadable { detail: detail.to_string() }
    }

    fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_le_bytes([b[i], b[i + 1]])
    }

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    fn u64_at(b: &[u8], i: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    }

    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const EOCD64: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    const EOCD64_LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const CENTRAL: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    const LOCAL: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];

    /// Where the central directory is.
    pub(super) struct CentralDirectory {
        /// Offset of its first record in the reader.
        pub start: u64,
        pub entries: u64,
        /// Bytes before the archive proper (local header offsets are relative to the archive).
        pub archive_offset: u64,
    }

    /// Finds the end of central directory record in the last 64 KiB + 22 bytes (it ends with a comment of at most
    /// 65,535 bytes), its zip64 form when the counts overflow, and where the directory really starts: when bytes
    /// were prepended to the archive (self-extractors), its recorded offset is off by their length.
    pub(super) fn find_central_directory(reader: &mut Box<dyn ReadSeek>) -> Result<CentralDirectory, ScormError> {
        let len = reader.seek(SeekFrom::End(0)).map_err(unreadable)?;
        let tail_len = len.min(22 + 65_535);
        reader.seek(SeekFrom::Start(len - tail_len)).map_err(unreadable)?;
        let mut tail = vec![0u8; tail_len as usize];
        reader.read_exact(&mut tail).map_err(unreadable)?;
        let at = (0..tail.len().saturating_sub(21))
            .rev()
            .find(|&i| tail[i..i + 4] == EOCD && i + 22 + usize::from(u16_at(&tail, i + 20)) <= tail.len())
            .ok_or_else(|| invalid("Could not find EOCD"))?;
        let eocd_pos = len - tail_len + at as u64;
        let e = &tail[at..at + 22];
        let mut entries = u64::from(u16_at(e, 10));
        let mut size = u64::from(u32_at(e, 12));
        let mut offset = u64::from(u32_at(e, 16));
        // The directory ends where the (zip64) end record begins.
        let mut end = eocd_pos;
        if eocd_pos >= 20 {
            let mut locator = [0u8; 20];
            reader.seek(SeekFrom::Start(eocd_pos - 20)).map_err(unreadable)?;
            reader.read_exact(&mut locator).map_err(unreadable)?;
            if locator[..4] == EOCD64_LOCATOR {
                let recorded = u64_at(&locator, 8);
                // The zip64 record sits right before its locator; its recorded offset may be shifted too.
                let mut record = [0u8; 56];
                let candidates = [recorded, (eocd_pos - 20).saturating_sub(56)];
                let found = candidates.into_iter().find(|&pos| {
                    reader.seek(SeekFrom::Start(pos)).is_ok()
                        && reader.read_exact(&mut record).is_ok()
                        && record[..4] == EOCD64
                });
                let pos = found.ok_or_else(|| invalid("Could not find the zip64 end of central directory"))?;
                entries = u64_at(&record, 32);
                size = u64_at(&record, 40);
                offset = u64_at(&record, 48);
                end = pos;
            }
        }
        let mut signature = [0u8; 4];
        let mut has_record_at = |pos: u64| {
            reader.seek(SeekFrom::Start(pos)).is_ok()
                && reader.read_exact(&mut signature).is_ok()
                && signature == CENTRAL
        };
        if entries == 0 || has_record_at(offset) {
            return Ok(CentralDirectory { start: offset, entries, archive_offset: 0 });
        }
        let start = end.checked_sub(size).ok_or_else(|| invalid("central directory size is larger than the file"))?;
        match start.checked_sub(offset) {
            Some(shift) if has_record_at(start) => Ok(CentralDirectory { start, entries, archive_offset: shift }),
            _ => Err(invalid("Invalid central directory header")),
        }
    }

    /// The fields of one central directory record that indexing uses.
    pub(super) struct CentralRecord {
        pub name: String,
        pub flags: u16,
        pub method: u16,
        pub crc32: u32,
        pub size: u64,
        pub compressed_size: u64,
        pub header_offset: u64,
        external_attributes: u32,
    }

    impl CentralRecord {
        /// As the zip crate decides it: the upper 16 bits of the external attributes, when set, are a Unix mode.
        pub fn is_symlink(&self) -> bool {
            const S_IFLNK: u32 = 0o120_000;
            (self.external_attributes >> 16) & S_IFLNK == S_IFLNK
        }
    }

    /// Reads the record at the reader's position; `raw` and `scratch` are reused buffers.
    pub(super) fn read_central_record(
        reader: &mut Box<dyn ReadSeek>,
        raw: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
    ) -> Result<CentralRecord, ScormError> {
        let mut h = [0u8; 46];
        reader.read_exact(&mut h).map_err(unreadable)?;
        if h[..4] != CENTRAL {
            return Err(invalid("Invalid Central Directory header"));
        }
        let (name_len, extra_len, comment_len) =
            (usize::from(u16_at(&h, 28)), usize::from(u16_at(&h, 30)), usize::from(u16_at(&h, 32)));
        raw.resize(name_len, 0);
        reader.read_exact(raw).map_err(unreadable)?;
        scratch.resize(extra_len, 0);
        reader.read_exact(scratch).map_err(unreadable)?;
        if comment_len > 0 {
            reader.seek(SeekFrom::Current(comment_len as i64)).map_err(unreadable)?;
        }
        let flags = u16_at(&h, 8);
        let mut r = CentralRecord {
            name: String::new(),
            flags,
            method: u16_at(&h, 10),
            crc32: u32_at(&h, 16),
            compressed_size: u64::from(u32_at(&h, 20)),
            size: u64::from(u32_at(&h, 24)),
            header_offset: u64::from(u32_at(&h, 42)),
            external_attributes: u32_at(&h, 38),
        };
        let mut unicode_name = None;
        let mut extra = &scratch[..];
        while extra.len() >= 4 {
            let (kind, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
            let body = extra.get(4..4 + len).ok_or_else(|| invalid("Extra field content truncated"))?;
            match kind {
                // Zip64: 8-byte values for exactly those fields whose 4-byte form is saturated, in this order.
                0x0001 => {
                    let mut values = body.chunks_exact(8).map(|c| u64_at(c, 0));
                    for field in [&mut r.size, &mut r.compressed_size, &mut r.header_offset] {
                        if *field == u64::from(u32::MAX) {
                            *field = values.next().ok_or_else(|| invalid("zip64 extended information too short"))?;
                        }
                    }
                }
                // Info-ZIP Unicode Path: the UTF-8 name, valid only while the CRC of the stored name matches.
                0x7075 if body.len() >= 5 => {
                    if u32_at(body, 1) != crc32fast::hash(raw) {
                        return Err(invalid("CRC32 checksum failed on Unicode extra field"));
                    }
                    let name = String::from_utf8(body[5..].to_vec())
                        .map_err(|_| invalid("Unicode path extra field is not UTF-8"))?;
                    unicode_name = Some(name);
                }
                _ => {}
            }
            extra = &extra[4 + len..];
        }
        r.name = match unicode_name {
            Some(name) => name,
            None if flags & (1 << 11) != 0 => String::from_utf8_lossy(raw).into_owned(),
            None => from_cp437(raw),
        };
        Ok(r)
    }

    /// Names without the UTF-8 flag are IBM code page 437 (APPNOTE appendix D), as the zip crate reads them.
    fn from_cp437(raw: &[u8]) -> String {
        const HIGH: [u16; 128] = [
            0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7, 0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee,
            0x00ec, 0x00c4, 0x00c5, 0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9, 0x00ff, 0x00d6,
            0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192, 0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa,
            0x00ba, 0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb, 0x2591, 0x2592, 0x2593, 0x2502,
            0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510, 0x2514,
            0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f, 0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550,
            0x256c, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b, 0x256a, 0x2518, 0x250c,
            0x2588, 0x2584, 0x258c, 0x2590, 0x2580, 0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
            0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229, 0x2261, 0x00b1, 0x2265, 0x2264, 0x2320,
            0x2321, 0x00f7, 0x2248, 0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
        ];
        raw.iter()
            .map(|&b| match b {
                0..=0x7f => char::from(b),
                _ => char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).unwrap_or(char::REPLACEMENT_CHARACTER),
            })
            .collect()
    }

    /// Streams one entry's bytes, inflated, into `out`: at most `size + 1` bytes (one more than declared is enough
    /// to know the header lied), the CRC-32 checked once the data ends.
    pub(super) fn copy_entry(
        reader: &mut Box<dyn ReadSeek>,
        archive_offset: u64,
        record: &Record,
        out: &mut dyn Write,
    ) -> io::Result<u64> {
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
        let header = record.header_offset.checked_add(archive_offset).ok_or_else(|| bad("bad local header offset"))?;
        reader.seek(SeekFrom::Start(header))?;
        let mut h = [0u8; 30];
        reader.read_exact(&mut h)?;
        if h[..4] != LOCAL {
            return Err(bad("Invalid local file header"));
        }
        let skip = i64::from(u16_at(&h, 26)) + i64::from(u16_at(&h, 28));
        reader.seek(SeekFrom::Current(skip))?;
        let data = reader.take(record.compressed_size);
        match record.method {
            0 => copy_checked(data, out, record),
            8 => copy_checked(flate2::read::DeflateDecoder::new(data), out, record),
            m => Err(io::Error::new(io::ErrorKind::Unsupported, format!("Compression method {m} is not supported"))),
        }
    }

    /// A local header's fields that the layout check compares.
    pub(super) struct LocalHeader {
        pub name: Vec<u8>,
        pub method: u16,
        pub flags: u16,
        /// 30 bytes, the name and the extra field: where the data starts.
        pub header_length: u64,
    }

    /// The local header at `at`, or `None` when no local header signature is there.
    pub(super) fn read_local_header(reader: &mut Box<dyn ReadSeek>, at: u64) -> io::Result<Option<LocalHeader>> {
        reader.seek(SeekFrom::Start(at))?;
        let mut h = [0u8; 30];
        if reader.read_exact(&mut h).is_err() || h[..4] != LOCAL {
            return Ok(None);
        }
        let (name_length, extra_length) = (u16_at(&h, 26), u16_at(&h, 28));
        let mut name = vec![0u8; usize::from(name_length)];
        reader.read_exact(&mut name)?;
        Ok(Some(LocalHeader {
            name,
            method: u16_at(&h, 8),
            flags: u16_at(&h, 6),
            header_length: 30 + u64::from(name_length) + u64::from(extra_length),
        }))
    }

    /// The length of the data descriptor at `at` (after an entry's data): 12 bytes, 16 with its optional
    /// signature, 8 more in the zip64 form for entries of 4 GiB and more.
    pub(super) fn data_descriptor_length(reader: &mut Box<dyn ReadSeek>, at: u64, compressed: u64) -> io::Result<u64> {
        reader.seek(SeekFrom::Start(at))?;
        let mut signature = [0u8; 4];
        let signed = reader.read_exact(&mut signature).is_ok() && signature == [0x50, 0x4b, 0x07, 0x08];
        let sizes = if compressed >= u64::from(u32::MAX) { 16 } else { 8 };
        Ok(if signed { 4 } else { 0 } + 4 + sizes)
    }

    fn copy_checked(data: impl Read, out: &mut dyn Write, record: &Record) -> io::Result<u64> {
        let mut checked = Crc32Reader { inner: data, hasher: crc32fast::Hasher::new(), expected: record.crc32 };
        copy_bounded(&mut checked, out, record.size)
    }

    /// Computes the CRC-32 of what passes through and fails at the end of the data when it differs.
    struct Crc32Reader<R> {
        inner: R,
        hasher: crc32fast::Hasher,
        expected: u32,
    }

    impl<R: Read> Read for Crc32Reader<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            if n == 0 && !buf.is_empty() && self.hasher.clone().finalize() != self.expected {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "Invalid checksum"));
            }
            self.hasher.update(&buf[..n]);
            Ok(n)
        }
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
        assert_eq!(pkg.get_case_insensitive("A/B.HTML").map(|e| e.name), Some("a/b.html"));
        assert_eq!(pkg.read("imsmanifest.xml", 100).expect("read"), b"<manifest/>");
        assert!(matches!(pkg.read("imsmanifest.xml", 3), Err(ScormError::LimitExceeded { .. })));
        assert!(matches!(pkg.read("nope", 3), Err(ScormError::EntryNotFound { .. })));
    }

    #[test]
    fn seek_buf_reads_and_seeks_like_the_file() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut r = SeekBuf::new(std::io::Cursor::new(data.clone()));
        let mut got = [0u8; 10];
        let steps = [
            SeekFrom::Start(5),
            SeekFrom::Current(3),
            SeekFrom::Current(-8),
            SeekFrom::Start(150_000),
            SeekFrom::Current(60_000),
            SeekFrom::End(-10),
            SeekFrom::Start(70_000),
            SeekFrom::Current(-70_000),
        ];
        for step in steps {
            let p = r.seek(step).expect("seek") as usize;
            assert_eq!(r.stream_position().expect("position"), p as u64);
            let n = r.read(&mut got).expect("read");
            assert_eq!(&got[..n], &data[p.min(data.len())..(p + n).min(data.len())], "{step:?}");
        }
        assert!(r.seek(SeekFrom::Current(-1_000_000)).is_err());
        r.seek(SeekFrom::Start(1)).expect("seek");
        let mut all = Vec::new();
        r.read_to_end(&mut all).expect("read all");
        assert_eq!(all, data[1..]);
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let err = Package::from_zip_bytes(b"PK\x03\x04 nothing".to_vec(), Limits::default()).expect_err("garbage");
        assert_eq!(err.code(), "zip-unreadable");
    }
}
