//! A small, bounds-checked reader of the ISO-BMFF (fMP4) boxes the HLS contract needs.
//!
//! Why our own reader and not the `mp4` or `mp4-atom` crates: we need a handful of boxes (moov/trak/mdhd/
//! hdlr/stsd/avcC/esds/trex in the init segment, moof/tfhd/tfdt/trun/mdat in media segments) but we need
//! them *with their byte offsets* (the I-frame playlists point at `moof` + the IDR sample by byte range) and
//! with the raw sample flags and NAL units (to prove a segment starts with an IDR). The `mp4` crate parses
//! whole files through `Read + Seek` into its own model without offsets, and `mp4-atom` decodes into an
//! owned model too; both would be bent to get positions back. A slice-based reader of a few hundred lines
//! that never indexes without a check is easier to fuzz and to trust on untrusted encoder output.
//!
//! Callers: [`crate::measure`] (segment measurement) and through it the playlist writer and the validator.

pub mod fragment;
pub mod init;

use crate::error::{PackagerError, Result};

/// A four-character box type.
pub type FourCc = [u8; 4];

/// One box found in a byte slice: its type, where it starts (relative to the file) and its payload.
#[derive(Debug, Clone, Copy)]
pub struct BoxRef<'a> {
    /// The box type.
    pub fourcc: FourCc,
    /// Offset of the box header in the file.
    pub offset: u64,
    /// Total size of the box, header included.
    pub size: u64,
    /// Offset of the payload (after the header) in the file.
    pub payload_offset: u64,
    /// The payload bytes.
    pub payload: &'a [u8],
}

impl BoxRef<'_> {
    /// The box type as text, for messages.
    pub fn name(&self) -> String {
        fourcc_name(self.fourcc)
    }
}

/// The box type as printable text (non-ASCII bytes become `?`).
pub fn fourcc_name(fourcc: FourCc) -> String {
    fourcc.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' }).collect()
}

/// Iterates over the boxes laid end to end in `data`, which starts at `base` in its file.
///
/// Yields an error (and then stops) on a truncated or impossible box instead of panicking.
pub fn boxes(data: &[u8], base: u64) -> BoxIter<'_> {
    BoxIter { data, pos: 0, base, failed: false }
}

/// The iterator returned by [`boxes`].
#[derive(Debug)]
pub struct BoxIter<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    failed: bool,
}

impl<'a> Iterator for BoxIter<'a> {
    type Item = Result<BoxRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let result = self.read_one();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

impl<'a> BoxIter<'a> {
    fn read_one(&mut self) -> Result<BoxRef<'a>> {
        let start = self.pos;
        let offset = self.base + start as u64;
        let rest = &self.data[start..];
        let mut reader = Reader::new(rest, offset);
        let size32 = reader.u32().map_err(|_| mp4_error("?", offset, "truncated box header"))?;
        let fourcc = reader.fourcc().map_err(|_| mp4_error("?", offset, "truncated box header"))?;
        let name = fourcc_name(fourcc);
        let (size, header) = match size32 {
            // Size 0: the box runs to the end of the file (allowed for a trailing mdat).
            0 => (rest.len() as u64, 8usize),
            1 => {
                let large = reader.u64().map_err(|_| mp4_error(&name, offset, "truncated largesize"))?;
                (large, 16usize)
            }
            small => (u64::from(small), 8usize),
        };
        if size < header as u64 {
            return Err(mp4_error(&name, offset, format!("size {size} is smaller than its header")));
        }
        if size > rest.len() as u64 {
            return Err(mp4_error(
                &name,
                offset,
                format!("size {size} runs past the end of the data ({} bytes left)", rest.len()),
            ));
        }
        // Fits in usize: it is at most rest.len().
        let size_usize = size as usize;
        self.pos = start + size_usize;
        Ok(BoxRef { fourcc, offset, size, payload_offset: offset + header as u64, payload: &rest[header..size_usize] })
    }
}

/// Finds the first child box of the given type in `data`.
pub fn find_box<'a>(data: &'a [u8], base: u64, fourcc: &FourCc) -> Result<Option<BoxRef<'a>>> {
    for item in boxes(data, base) {
        let found = item?;
        if &found.fourcc == fourcc {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Follows a path of box types (`moov/trak/mdia`) from `data`, taking the first match at each level.
pub fn find_path<'a>(data: &'a [u8], base: u64, path: &[&FourCc]) -> Result<Option<BoxRef<'a>>> {
    let mut current: Option<BoxRef<'a>> = None;
    let (mut slice, mut slice_base) = (data, base);
    for fourcc in path {
        match find_box(slice, slice_base, fourcc)? {
            Some(found) => {
                slice = found.payload;
                slice_base = found.payload_offset;
                current = Some(found);
            }
            None => return Ok(None),
        }
    }
    Ok(current)
}

pub(crate) fn mp4_error(fourcc: &str, offset: u64, reason: impl Into<String>) -> PackagerError {
    PackagerError::Mp4 { fourcc: fourcc.to_owned(), offset, reason: reason.into() }
}

/// A big-endian cursor over a box payload that reports truncation as an error.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

/// Marker error of [`Reader`]: the payload ended early. Callers turn it into a [`PackagerError::Mp4`]
/// naming their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl<'a> Reader<'a> {
    /// A reader over `data`, which starts at file offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Reader { data, pos: 0, base }
    }

    /// File offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated)?;
        let slice = self.data.get(self.pos..end).ok_or(Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), Truncated> {
        self.bytes(n).map(|_| ())
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.bytes(1)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a big-endian u24 (the flags of a full box).
    pub fn u24(&mut self) -> Result<u32, Truncated> {
        let b = self.bytes(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a big-endian i32.
    pub fn i32(&mut self) -> Result<i32, Truncated> {
        self.u32().map(|v| v as i32)
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        let b = self.bytes(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(b);
        Ok(u64::from_be_bytes(array))
    }

    /// Reads a box type.
    pub fn fourcc(&mut self) -> Result<FourCc, Truncated> {
        let b = self.bytes(4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }

    /// Reads the version and flags of a full box.
    pub fn full_box_header(&mut self) -> Result<(u8, u32), Truncated> {
        Ok((self.u8()?, self.u24()?))
    }
}

#[cfg(test)]
pub(crate) mod test_boxes {
    //! Builders of synthetic boxes for unit tests.

    /// A box with the given type and payload.
    pub fn make_box(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 8);
        out.extend_from_slice(&((payload.len() + 8) as u32).to_be_bytes());
        out.extend_from_slice(fourcc);
        out.extend_from_slice(payload);
        out
    }

    /// A full box (version and flags) with the given payload.
    pub fn full_box(fourcc: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![version];
        body.extend_from_slice(&flags.to_be_bytes()[1..]);
        body.extend_from_slice(payload);
        make_box(fourcc, &body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::test_boxes::make_box;
    use super::*;

    #[test]
    fn iterates_nested_boxes_with_offsets() {
        let inner = make_box(b"mdhd", &[1, 2, 3]);
        let outer = make_box(b"mdia", &inner);
        let mut data = make_box(b"ftyp", b"isom");
        data.extend_from_slice(&outer);
        let found = find_path(&data, 0, &[b"mdia", b"mdhd"]).unwrap().unwrap();
        assert_eq!(found.offset, 12 + 8);
        assert_eq!(found.payload, &[1, 2, 3]);
    }

    #[test]
    fn truncated_box_is_an_error_not_a_panic() {
        let mut data = make_box(b"moof", &[0; 16]);
        data.truncate(10);
        let result: Vec<_> = boxes(&data, 0).collect();
        assert_eq!(result.len(), 1);
        assert!(result[0].is_err());
        // A size smaller than its header.
        let bad = [0, 0, 0, 4, b'm', b'o', b'o', b'f'];
        assert!(boxes(&bad, 0).next().unwrap().is_err());
        // A header cut short.
        assert!(boxes(&[0, 0, 1], 0).next().unwrap().is_err());
    }

    #[test]
    fn largesize_and_size_zero_are_understood() {
        let mut data = vec![0, 0, 0, 1];
        data.extend_from_slice(b"mdat");
        data.extend_from_slice(&20u64.to_be_bytes());
        data.extend_from_slice(&[7, 7, 7, 7]);
        let found = boxes(&data, 0).next().unwrap().unwrap();
        assert_eq!(found.payload, &[7, 7, 7, 7]);
        let mut to_end = vec![0, 0, 0, 0];
        to_end.extend_from_slice(b"mdat");
        to_end.extend_from_slice(&[1, 2]);
        assert_eq!(boxes(&to_end, 0).next().unwrap().unwrap().payload, &[1, 2]);
    }
}
