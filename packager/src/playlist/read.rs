//! Reading playlists for the validator.
//!
//! m3u8-rs does the parsing; this module checks the `#EXTM3U` signature first (m3u8-rs accepts some text
//! without it), tells master and media playlists apart, and turns parser failures into our error type with
//! the playlist's name.

use m3u8_rs::{MasterPlaylist, MediaPlaylist, Playlist};

use crate::error::{PackagerError, Result};

fn parse(text: &str, name: &str) -> Result<Playlist> {
    let fail = |reason: String| PackagerError::PlaylistParse { path: name.to_owned(), reason };
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !body.starts_with("#EXTM3U") {
        return Err(fail("the first line is not #EXTM3U".into()));
    }
    m3u8_rs::parse_playlist_res(body.as_bytes()).map_err(|error| {
        // nom's error holds the remaining input; keep the message short and about the first bad line.
        let message = match error {
            nom::Err::Error(inner) | nom::Err::Failure(inner) => {
                let rest = String::from_utf8_lossy(inner.input);
                let line = rest.lines().next().unwrap_or("").chars().take(80).collect::<String>();
                let line_number = body
                    .len()
                    .checked_sub(inner.input.len())
                    .map(|consumed| body[..consumed].matches('\n').count() + 1);
                match line_number {
                    Some(number) => format!("line {number}: cannot parse `{line}`"),
                    None => format!("cannot parse `{line}`"),
                }
            }
            nom::Err::Incomplete(_) => "the playlist ends early".to_owned(),
        };
        fail(message)
    })
}

/// Parses a master playlist; a media playlist is an error.
pub fn parse_master(text: &str, name: &str) -> Result<MasterPlaylist> {
    match parse(text, name)? {
        Playlist::MasterPlaylist(master) => Ok(master),
        Playlist::MediaPlaylist(_) => Err(PackagerError::PlaylistParse {
            path: name.to_owned(),
            reason: "expected a master playlist, found a media playlist".into(),
        }),
    }
}

/// Parses a media playlist; a master playlist is an error.
pub fn parse_media(text: &str, name: &str) -> Result<MediaPlaylist> {
    match parse(text, name)? {
        Playlist::MediaPlaylist(media) => Ok(media),
        Playlist::MasterPlaylist(_) => Err(PackagerError::PlaylistParse {
            path: name.to_owned(),
            reason: "expected a media playlist, found a master playlist".into(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rejects_text_without_the_signature() {
        assert!(parse_media("hello", "x.m3u8").is_err());
        assert!(parse_master("", "x.m3u8").is_err());
    }

    #[test]
    fn tells_master_from_media() {
        let media = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.m4s\n#EXT-X-ENDLIST\n";
        assert!(parse_media(media, "m").is_ok());
        assert!(parse_master(media, "m").is_err());
        let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nv.m3u8\n";
        assert!(parse_master(master, "m").is_ok());
        assert!(parse_media(master, "m").is_err());
    }
}
