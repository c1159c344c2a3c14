//! Media objects, in Canvas's media-object shape with our additions (the HLS ladder, the job).

use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::media::MediaObject;
use crate::views::iso_time;

/// Canvas's media object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaObjectView {
    /// Our addition: the integer id.
    pub id: i64,
    /// Canvas's string id.
    pub media_id: String,
    /// Title.
    pub title: String,
    /// Always `video`.
    pub media_type: &'static str,
    /// The course.
    pub course_id: i64,
    /// Our addition: `pending` (encoding), `ready` (a ladder is shown), `failed` (the newest upload failed and
    /// no earlier one is shown).
    pub state: &'static str,
    /// What a player loads: the HLS master playlist, once a version is published.
    pub media_sources: Vec<MediaSource>,
    /// Subtitle tracks.
    pub media_tracks: Vec<MediaTrack>,
    /// Our addition: whether the caller may not play it yet (the Video items leading to it are locked for
    /// them); `media_sources` is then empty.
    pub locked_for_user: bool,
    /// Our addition: the lecture's length in seconds, once a ladder is shown.
    pub duration: Option<f64>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Our addition: the newest upload's job (`GET /api/v1/jobs/{id}` follows it).
    pub job_id: String,
    /// Our addition: that job's state.
    pub job_state: &'static str,
}

/// A playable source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaSource {
    /// The master playlist's URL.
    pub url: String,
    /// Its MIME type.
    pub content_type: &'static str,
    /// Our addition: `hls`.
    pub stream_type: &'static str,
    /// Canvas's size of the source: the top rung's picture width.
    pub width: Option<u64>,
    /// The top rung's picture height.
    pub height: Option<u64>,
    /// Canvas's bitrate: the top rung's peak, in bits per second.
    pub bitrate: Option<u64>,
    /// Our addition: every rung the player switches between, highest first.
    pub rungs: Vec<RungView>,
}

/// One rung of a ladder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RungView {
    /// Picture width.
    pub width: u64,
    /// Picture height.
    pub height: u64,
    /// Peak bit rate (the master's BANDWIDTH), bits per second.
    pub bitrate: u64,
}

/// A subtitle track.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaTrack {
    /// Its language.
    pub locale: String,
    /// Always `subtitles`.
    pub kind: &'static str,
}

impl MediaObjectView {
    /// Hides what a locked learner may not play yet.
    pub fn locked(mut self) -> Self {
        self.media_sources.clear();
        self.locked_for_user = true;
        self
    }

    /// The view of `media`, with URLs under `public_base_url`.
    pub fn new(media: &MediaObject, public_base_url: &str) -> Self {
        let state = match (&media.ladder_prefix, media.latest_state) {
            (Some(_), _) => "ready",
            (None, lms_pipeline::JobState::Dead | lms_pipeline::JobState::Rejected) => "failed",
            (None, _) => "pending",
        };
        MediaObjectView {
            id: media.id.0,
            media_id: media.id.0.to_string(),
            title: media.title.clone(),
            media_type: "video",
            course_id: media.course_id.0,
            state,
            media_sources: media
                .ladder_prefix
                .iter()
                .map(|prefix| {
                    let rungs: Vec<RungView> = media
                        .ladder
                        .iter()
                        .flat_map(|ladder| &ladder.rungs)
                        .map(|rung| RungView { width: rung.width, height: rung.height, bitrate: rung.bandwidth })
                        .collect();
                    let top = rungs.iter().max_by_key(|rung| rung.height);
                    MediaSource {
                        url: format!("{public_base_url}/{prefix}/master.m3u8"),
                        content_type: "application/x-mpegURL",
                        stream_type: "hls",
                        width: top.map(|rung| rung.width),
                        height: top.map(|rung| rung.height),
                        bitrate: top.map(|rung| rung.bitrate),
                        rungs,
                    }
                })
                .collect(),
            media_tracks: media
                .subtitle_languages
                .iter()
                .map(|language| MediaTrack { locale: language.clone(), kind: "subtitles" })
                .collect(),
            duration: media.ladder_prefix.as_ref().and(media.ladder.as_ref()).map(|ladder| ladder.duration_seconds),
            locked_for_user: false,
            created_at: iso_time(media.created_at_ms),
            job_id: media.latest_job_id.clone(),
            job_state: media.latest_state.as_str(),
        }
    }
}
