//! A presigned upload: a URL a browser uploads a source to directly, without the API in the path of the bytes
//! and without credentials of its own.

/// An upload a client may make once, until it expires, with exactly the signed type and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    /// The URL, its signature in the query.
    pub url: String,
    /// The HTTP method: `PUT`.
    pub method: &'static str,
    /// Headers the client must send as they are, since they are signed (`content-type`, `content-length`).
    /// A browser sets `content-length` itself from the body, which then has to be of that size.
    pub headers: Vec<(String, String)>,
    /// When the URL stops working, in seconds since the Unix epoch.
    pub expires_at_unix: u64,
}
