//! What a finished ladder offers, read back from its own playlists: its length and its rungs. The catalog
//! shows this beside a lecture (a media object's duration and renditions), so it is read from the files that
//! are published rather than from the encoder's intentions.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{PackagerError, Result};
use crate::playlist::{parse_master, parse_media};

/// A ladder's length and rungs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderSummary {
    /// The programme's length in seconds: the sum of the first rung's segment durations.
    pub duration_seconds: f64,
    /// The video rungs, as the master lists them (highest first in our ladders).
    pub rungs: Vec<RungSummary>,
}

/// One rung of a ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RungSummary {
    /// Picture width.
    pub width: u64,
    /// Picture height.
    pub height: u64,
    /// The measured peak bit rate the master declares (BANDWIDTH), in bits per second.
    pub bandwidth: u64,
}

/// Reads the summary of the ladder in `dir` (its `master.m3u8` and the media playlist of its first rung).
pub fn summarize(dir: &Path) -> Result<LadderSummary> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| PackagerError::Io { path, source })
    };
    let master = parse_master(&read("master.m3u8")?, "master.m3u8")?;
    let variants: Vec<_> = master.variants.iter().filter(|variant| !variant.is_i_frame).collect();
    let first = variants
        .first()
        .ok_or_else(|| PackagerError::InvalidLadder { reason: "the master lists no video rung".into() })?;
    // Our masters name media playlists relative to themselves, inside the ladder's folder.
    if first.uri.contains("..") || first.uri.starts_with('/') || first.uri.contains("://") {
        return Err(PackagerError::InvalidLadder { reason: format!("rung URI {:?} leaves the ladder", first.uri) });
    }
    let media = parse_media(&read(&first.uri)?, &first.uri)?;
    let duration_seconds = media.segments.iter().map(|segment| f64::from(segment.duration)).sum::<f64>();
    let rungs = variants
        .iter()
        .map(|variant| RungSummary {
            width: variant.resolution.map_or(0, |resolution| resolution.width),
            height: variant.resolution.map_or(0, |resolution| resolution.height),
            bandwidth: variant.bandwidth,
        })
        .collect();
    Ok(LadderSummary { duration_seconds: (duration_seconds * 1000.0).round() / 1000.0, rungs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ladder_is_summarized_from_its_playlists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("master.m3u8"),
            "#EXTM3U\n#EXT-X-VERSION:6\n\
             #EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1920x1080,CODECS=\"avc1.640028\"\n1080p/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=854x480,CODECS=\"avc1.64001e\"\n480p/index.m3u8\n\
             #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,RESOLUTION=854x480,URI=\"480p/iframes.m3u8\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("1080p")).unwrap();
        std::fs::write(
            dir.path().join("1080p/index.m3u8"),
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\"\n\
             #EXTINF:4.0,\nseg0.m4s\n#EXTINF:4.0,\nseg1.m4s\n#EXTINF:2.5,\nseg2.m4s\n#EXT-X-ENDLIST\n",
        )
        .unwrap();
        let summary = summarize(dir.path()).unwrap();
        assert_eq!(summary.duration_seconds, 10.5);
        assert_eq!(
            summary.rungs,
            vec![
                RungSummary { width: 1920, height: 1080, bandwidth: 3_000_000 },
                RungSummary { width: 854, height: 480, bandwidth: 800_000 },
            ]
        );
    }

    #[test]
    fn a_master_without_rungs_or_pointing_outside_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("master.m3u8"), "#EXTM3U\n").unwrap();
        assert!(summarize(dir.path()).is_err());
        std::fs::write(
            dir.path().join("master.m3u8"),
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=2x2\n../../etc/index.m3u8\n",
        )
        .unwrap();
        assert!(summarize(dir.path()).is_err());
    }
}
