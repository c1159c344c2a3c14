//! Recognising what a file is from its first bytes, before any FFmpeg demuxer touches it.
//!
//! The name of a file says nothing (an HLS playlist called `lecture.mp4` is the classic attack), so the
//! container is decided from content alone: first our own checks for text and reference files, for which we
//! can give a plain message, then FFmpeg's probe functions, which only score the bytes and open nothing.

use std::ffi::CStr;
use std::path::Path;

use ffmpeg_next::ffi;

use crate::Error;

/// How many leading bytes are sniffed. FFmpeg's own probing starts at 2 KiB and grows to 1 MiB for hard
/// cases (MPEG-TS with a late sync byte); one read of 1 MiB covers them all.
pub(crate) const SNIFF_BYTES: usize = 1 << 20;

/// The container a file's bytes say it is.
#[derive(Debug)]
pub(crate) struct Sniffed {
    /// FFmpeg's demuxer; its pointer refers to static data inside libavformat.
    pub(crate) format: *const ffi::AVInputFormat,
    /// The demuxer's comma-separated names (`mov,mp4,m4a,3gp,3g2,mj2`).
    pub(crate) names: String,
    /// The demuxer's long name, for messages.
    pub(crate) description: String,
}

// SAFETY: the only non-Send field points at an immutable, static AVInputFormat inside libavformat.
unsafe impl Send for Sniffed {}

/// Text that makes a demuxer fetch other resources, with what to call it in an error.
const REFERENCE_SIGNATURES: &[(&[u8], &str)] = &[
    (b"#EXTM3U", "an HLS playlist"),
    (b"ffconcat", "an FFmpeg concat list"),
    (b"<?xml", "an XML document (a DASH manifest or a playlist)"),
    (b"<MPD", "a DASH manifest"),
    (b"[playlist]", "a PLS playlist"),
];

/// Decides what `head` (the first bytes of the file at `path`) is.
pub(crate) fn sniff(path: &Path, head: &[u8]) -> Result<Sniffed, Error> {
    if head.is_empty() {
        return Err(Error::NotMedia { path: path.to_owned(), reason: "the file is empty".into() });
    }
    let trimmed = trim_text_start(head);
    for (signature, kind) in REFERENCE_SIGNATURES {
        if trimmed.len() >= signature.len() && trimmed[..signature.len()].eq_ignore_ascii_case(signature) {
            return Err(Error::ReferenceFile { path: path.to_owned(), kind });
        }
    }
    if looks_like_text(head) {
        return Err(Error::NotMedia { path: path.to_owned(), reason: "it holds text, not audio or video".into() });
    }
    probe_with_ffmpeg(path, head)
}

/// Skips a UTF-8 byte-order mark and leading whitespace, as playlist readers do.
fn trim_text_start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    &bytes[start..]
}

/// True when the sample is valid UTF-8 made of printable characters and line breaks. A binary container has
/// NUL bytes or invalid sequences within its first few hundred bytes.
fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(4096)];
    let text = match std::str::from_utf8(sample) {
        Ok(text) => text,
        // A multi-byte character cut at the sample's end is still text.
        Err(error) if error.error_len().is_none() => match std::str::from_utf8(&sample[..error.valid_up_to()]) {
            Ok(text) => text,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    text.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{feff}'))
}

fn probe_with_ffmpeg(path: &Path, head: &[u8]) -> Result<Sniffed, Error> {
    // FFmpeg's probe functions read up to AVPROBE_PADDING_SIZE bytes past the end: they must be zeros.
    let padding = ffi::AVPROBE_PADDING_SIZE as usize;
    let mut buffer = Vec::with_capacity(head.len() + padding);
    buffer.extend_from_slice(head);
    buffer.resize(head.len() + padding, 0);
    let buf_size = i32::try_from(head.len()).unwrap_or(i32::MAX);
    let probe_data = ffi::AVProbeData {
        // No file name: the extension must not sway the decision.
        filename: c"".as_ptr(),
        buf: buffer.as_mut_ptr(),
        buf_size,
        mime_type: std::ptr::null(),
    };
    let mut score = 0;
    // SAFETY: `probe_data` points at `buffer`, which lives until the call returns and has the zero padding
    // FFmpeg requires; `is_opened = 1` restricts the search to demuxers that read from an opened stream, so
    // none of them is asked to open a URL.
    let format = unsafe { ffi::av_probe_input_format2(&probe_data, 1, &mut score) };
    if format.is_null() {
        return Err(Error::NotMedia {
            path: path.to_owned(),
            reason: "no known audio or video container starts like this".into(),
        });
    }
    // SAFETY: a non-null AVInputFormat from FFmpeg is static and its names are NUL-terminated C strings.
    let (names, description) = unsafe { (c_string((*format).name), c_string((*format).long_name)) };
    Ok(Sniffed { format, names, description })
}

/// Copies a possibly-null C string from FFmpeg.
///
/// # Safety
/// `ptr` is null or points at a NUL-terminated string that outlives the call.
pub(crate) unsafe fn c_string(ptr: *const std::ffi::c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_bytes(bytes: &[u8]) -> Result<Sniffed, Error> {
        crate::ffmpeg_setup::ensure_initialised();
        sniff(Path::new("input.mp4"), bytes)
    }

    #[test]
    fn hls_playlist_is_a_reference_file_even_with_a_bom() {
        let error = sniff_bytes(b"\xEF\xBB\xBF#EXTM3U\n#EXTINF:4,\nhttp://127.0.0.1:9/a.ts\n").unwrap_err();
        assert_eq!(error.code(), "reference-file");
        assert!(error.to_string().contains("HLS playlist"), "{error}");
    }

    #[test]
    fn plain_text_is_not_media() {
        let error = sniff_bytes("Lecture notes, week 1 — introduction\n".as_bytes()).unwrap_err();
        assert_eq!(error.code(), "not-media");
    }

    #[test]
    fn empty_and_random_bytes_are_not_media() {
        assert_eq!(sniff_bytes(b"").unwrap_err().code(), "not-media");
        let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let error = sniff_bytes(&noise);
        // Noise may score as some demuxer by chance, but never as an accepted one.
        if let Ok(sniffed) = error {
            assert!(!crate::probe::policy::container_allowed(&sniffed.names), "noise passed as {}", sniffed.names);
        }
    }

    #[test]
    fn mp4_signature_is_recognised() {
        let mut ftyp = Vec::new();
        ftyp.extend_from_slice(&[0, 0, 0, 24]);
        ftyp.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
        ftyp.extend_from_slice(&[0, 0, 0, 8]);
        ftyp.extend_from_slice(b"free");
        let sniffed = sniff_bytes(&ftyp).unwrap();
        assert!(sniffed.names.starts_with("mov,mp4"), "{}", sniffed.names);
    }
}
