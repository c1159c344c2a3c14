//! Subtitle files arrive in whatever encoding the author's tool saved: UTF-8 (with or without a byte-order
//! mark), UTF-16 with a mark, or a legacy 8-bit code page (Windows-1252 from Subtitle Edit on a Western
//! Windows, and so on). Reading them all as UTF-8 turns "Café crème" into "Caf� cr�me" without a word.
//!
//! The order: a byte-order mark decides; else text that is valid UTF-8 is UTF-8; else chardetng (the
//! detector Firefox uses) guesses the legacy encoding from the bytes, and the guess is reported so the
//! person who uploaded the file can check it. Text that does not decode cleanly in the encoding found is
//! refused, naming that encoding.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// Subtitle text, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The text.
    pub text: Cow<'a, str>,
    /// The encoding read (`UTF-8`, `UTF-16LE`, `windows-1252`, ...).
    pub encoding: &'static str,
    /// Whether the encoding was guessed (no byte-order mark, not UTF-8).
    pub guessed: bool,
}

/// The file's bytes could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the file is not readable text in {encoding}: some bytes do not decode")]
pub struct Undecodable {
    /// The encoding tried.
    pub encoding: &'static str,
}

/// Decodes a subtitle file's bytes as described in the module documentation.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, Undecodable> {
    if let Some((encoding, bom_length)) = Encoding::for_bom(bytes) {
        return decode_as(encoding, &bytes[bom_length..], false);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Decoded { text: Cow::Borrowed(text), encoding: "UTF-8", guessed: false });
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    decode_as(detector.guess(None, true), bytes, true)
}

/// The start of a file as text, for sniffing its format: decoded by its byte-order mark (UTF-16 too), else
/// as UTF-8, with anything that does not decode (a character cut at the end) replaced.
pub fn decode_head(bytes: &[u8]) -> Cow<'_, str> {
    match Encoding::for_bom(bytes) {
        Some((encoding, bom_length)) => encoding.decode_without_bom_handling(&bytes[bom_length..]).0,
        None => String::from_utf8_lossy(bytes),
    }
}

fn decode_as<'a>(encoding: &'static Encoding, bytes: &'a [u8], guessed: bool) -> Result<Decoded<'a>, Undecodable> {
    match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(Decoded { text, encoding: encoding.name(), guessed }),
        None => Err(Undecodable { encoding: encoding.name() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRT: &str = "1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé crème, déjà vu\r\n";

    #[test]
    fn utf8_with_and_without_a_mark_is_read_as_is() {
        let plain = decode(SRT.as_bytes()).unwrap();
        assert_eq!((plain.text.as_ref(), plain.encoding, plain.guessed), (SRT, "UTF-8", false));
        let marked = [b"\xEF\xBB\xBF".as_slice(), SRT.as_bytes()].concat();
        assert_eq!(decode(&marked).unwrap().text, SRT);
    }

    #[test]
    fn utf16_with_a_mark_is_read() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(SRT.encode_utf16().flat_map(u16::to_le_bytes));
        let decoded = decode(&bytes).unwrap();
        assert_eq!((decoded.text.as_ref(), decoded.encoding), (SRT, "UTF-16LE"));
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(SRT.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&bytes).unwrap().text, SRT);
    }

    #[test]
    fn windows_1252_is_recognised_and_said_to_be_a_guess() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(SRT);
        assert!(std::str::from_utf8(&bytes).is_err());
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.text, SRT);
        assert_eq!((decoded.encoding, decoded.guessed), ("windows-1252", true));
    }

    #[test]
    fn a_marked_file_that_does_not_decode_is_refused_naming_its_encoding() {
        // A UTF-8 mark followed by bytes that are not UTF-8.
        let error = decode(b"\xEF\xBB\xBF1\n\xFF\xFE\xFD").unwrap_err();
        assert_eq!(error.encoding, "UTF-8");
        assert!(error.to_string().contains("UTF-8"));
    }
}
