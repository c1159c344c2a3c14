//! What an object is served as: its MIME type and how long a CDN and a player may cache it; and what a
//! backend reports back about a stored object.

/// The headers an object is stored with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMeta {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
}

/// Media never changes under its name (every attempt has a fresh prefix): cache it for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Playlists are cached briefly, so a corrected ladder reaches learners within a minute.
const SHORT_LIVED: &str = "public, max-age=60";

impl ObjectMeta {
    /// The headers for a file of a ladder, from its name.
    pub fn for_ladder_file(relative: &str) -> ObjectMeta {
        let extension = relative.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
        let (content_type, cache_control) = match extension.as_str() {
            "m3u8" => ("application/vnd.apple.mpegurl", SHORT_LIVED),
            "m4s" => ("video/iso.segment", IMMUTABLE),
            "mp4" => ("video/mp4", IMMUTABLE),
            "vtt" => ("text/vtt", IMMUTABLE),
            _ => ("application/octet-stream", SHORT_LIVED),
        };
        ObjectMeta { content_type, cache_control }
    }

    /// The headers for an uploaded source: private, never cached.
    pub fn for_source() -> ObjectMeta {
        ObjectMeta { content_type: "application/octet-stream", cache_control: "private, no-store" }
    }
}

/// What a backend knows of a stored object (`Storage::head`): S3 reports the headers the object was stored with;
/// a local folder stores none, so it reports the ones its key's name implies (see [`ObjectMeta`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHeaders {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hls_files_get_their_types_and_lifetimes() {
        assert_eq!(ObjectMeta::for_ladder_file("master.m3u8").content_type, "application/vnd.apple.mpegurl");
        assert_eq!(ObjectMeta::for_ladder_file("720p/index.m3u8").cache_control, SHORT_LIVED);
        assert_eq!(ObjectMeta::for_ladder_file("720p/seg_00001.m4s").content_type, "video/iso.segment");
        assert_eq!(ObjectMeta::for_ladder_file("720p/init.mp4").cache_control, IMMUTABLE);
        assert_eq!(ObjectMeta::for_ladder_file("subtitles/en/seg_00000.vtt").content_type, "text/vtt");
    }
}
