//! A cap on the header block of each part of a multipart body.
//!
//! The multipart parser (multer, under axum's `Multipart`) buffers a part's headers until the blank line
//! that ends them, bounded only by the whole body's limit, which for lecture uploads is gigabytes. A client
//! that never ends a header block would make the server hold, and rescan, everything it sends. This guard
//! watches the raw body as it streams in and fails it when the bytes from a part delimiter to the end of
//! that part's headers (or, at the start, the preamble and the first headers) exceed the cap. Part bodies
//! are not limited here: their size is checked as they are spooled.

/// The most bytes a part's header block (with its delimiter line) may take.
pub(crate) const MAX_PART_HEADER_BYTES: usize = 16 * 1024;

const HEADER_END: &[u8] = b"\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between a delimiter (or the start) and the blank line ending the headers, with bytes counted so far.
    Headers { seen: usize },
    /// In a part's body, looking for the next delimiter.
    Body,
}

/// The watcher of one body.
#[derive(Debug)]
pub(crate) struct HeaderLimit {
    delimiter: Vec<u8>,
    state: State,
    /// The last bytes of the previous chunk, so a delimiter or blank line cut in two is still found.
    carry: Vec<u8>,
}

/// The body broke the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderTooLong;

impl HeaderLimit {
    /// A watcher for a body whose parts are delimited by `boundary` (from its `Content-Type`).
    pub(crate) fn new(boundary: &str) -> Self {
        Self { delimiter: format!("--{boundary}").into_bytes(), state: State::Headers { seen: 0 }, carry: Vec::new() }
    }

    /// Looks at the next chunk of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), HeaderTooLong> {
        let mut data = std::mem::take(&mut self.carry);
        // Bytes before `fresh` were counted with the previous chunk.
        let fresh = data.len();
        data.extend_from_slice(chunk);
        let mut at = 0;
        loop {
            match self.state {
                State::Headers { seen } => {
                    let counted_from = at.max(fresh);
                    match memchr::memmem::find(&data[at..], HEADER_END) {
                        Some(found) => {
                            let end = at + found + HEADER_END.len();
                            if seen + end.saturating_sub(counted_from) > MAX_PART_HEADER_BYTES {
                                return Err(HeaderTooLong);
                            }
                            self.state = State::Body;
                            at = end;
                        }
                        None => {
                            let seen = seen + data.len().saturating_sub(counted_from);
                            if seen > MAX_PART_HEADER_BYTES {
                                return Err(HeaderTooLong);
                            }
                            self.state = State::Headers { seen };
                            break;
                        }
                    }
                }
                State::Body => match memchr::memmem::find(&data[at..], &self.delimiter) {
                    Some(found) => {
                        self.state = State::Headers { seen: 0 };
                        at += found + self.delimiter.len();
                    }
                    None => break,
                },
            }
        }
        let keep = self.delimiter.len().max(HEADER_END.len()) - 1;
        let start = data.len().saturating_sub(keep).max(at);
        self.carry = data[start..].to_vec();
        Ok(())
    }
}

/// The boundary named by a `multipart/form-data` content type.
pub(crate) fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(header_padding: usize, chunk: usize) -> Result<(), HeaderTooLong> {
        let mut body = Vec::new();
        body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n");
        body.extend_from_slice(format!("X-Pad: {}\r\n\r\n", "p".repeat(header_padding)).as_bytes());
        body.extend_from_slice(&vec![b'v'; 100_000]);
        body.extend_from_slice(
            b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"subtitle.en\"\r\n\r\nWEBVTT\r\n--XyZ--\r\n",
        );
        let mut limit = HeaderLimit::new("XyZ");
        body.chunks(chunk).try_for_each(|piece| limit.feed(piece))
    }

    #[test]
    fn ordinary_bodies_pass_whatever_their_chunking() {
        for chunk in [1, 3, 7, 64, 4096, 1 << 20] {
            assert_eq!(body(100, chunk), Ok(()), "chunks of {chunk}");
        }
    }

    #[test]
    fn a_header_block_that_never_ends_is_stopped() {
        for chunk in [1, 5, 4096] {
            assert_eq!(body(MAX_PART_HEADER_BYTES + 10, chunk), Err(HeaderTooLong), "chunks of {chunk}");
        }
        let mut limit = HeaderLimit::new("b");
        let endless = vec![b'h'; 1024];
        let stopped = (0..100).try_for_each(|_| limit.feed(&endless));
        assert_eq!(stopped, Err(HeaderTooLong));
    }

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(boundary_of("multipart/form-data; boundary=abc").as_deref(), Some("abc"));
        assert_eq!(boundary_of("multipart/form-data; charset=utf-8; BOUNDARY=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(boundary_of("multipart/form-data"), None);
    }
}
