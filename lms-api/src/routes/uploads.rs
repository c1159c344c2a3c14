//! `POST /api/v1/uploads`: a lecture, and optionally its subtitles, as `multipart/form-data`.
//!
//! Fields: `file` (the video, required) and `subtitle.<language>` (SRT or WebVTT, any number). Each part is
//! streamed to a spool file with the size limit enforced as the bytes arrive, its type is decided from its
//! first bytes (never from its name or the declared content type), then it is copied to storage under the
//! job's source prefix. Only then are the job and its outbox message written, in one transaction: a failed
//! upload leaves no job, and a job always has its source.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::http::header;
use futures_util::StreamExt;
use lms_packager::subtitles::language::is_language_tag;
use lms_pipeline::job::SubtitleRef;
use lms_pipeline::jobs::NewJob;
use lms_pipeline::storage::{ObjectMeta, StorageKey};
use tokio::io::AsyncWriteExt;

use crate::auth::Principal;
use crate::error::with_causes;
use crate::policy::{Action, authorized_tenant};
use crate::routes::header_limit;
use crate::views::jobs::JobView;
use crate::{ApiConfig, ApiError, AppState};

/// Subtitle files are small; anything larger is not a subtitle file.
const MAX_SUBTITLE_BYTES: u64 = 5 * 1024 * 1024;
/// Subtitle languages one lecture may have.
const MAX_SUBTITLES: usize = 32;
/// Bytes kept from the start of a part to decide its type.
pub(crate) const SNIFF_BYTES: usize = 8192;

/// The body limit of an upload: the largest file, plus the multipart framing around it.
pub(crate) fn body_limit(config: &ApiConfig) -> usize {
    usize::try_from(config.max_upload_bytes.saturating_add(1024 * 1024)).unwrap_or(usize::MAX)
}

/// A spool file, removed when dropped.
struct Spooled {
    path: PathBuf,
    size: u64,
    head: Vec<u8>,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if crate::server::stalled(&error) {
        return ApiError::BodyStalled { message: with_causes(&error) };
    }
    // The parser's own message is generic; what went wrong is in its causes.
    ApiError::BadRequest {
        code: "invalid-multipart",
        message: format!("reading the multipart body: {}", with_causes(&error)),
    }
}

/// Removes the spool files (`upload-…`) in `dir` last written at least `older_than` ago: uploads a crashed
/// server was receiving. A live upload writes its file as the bytes arrive, and one that stops arriving
/// fails after the body-stall timeout, so an age well beyond that touches only leftovers. Returns how many.
pub async fn sweep_spool(dir: &Path, older_than: std::time::Duration) -> std::io::Result<usize> {
    let cutoff = std::time::SystemTime::now().checked_sub(older_than).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await? {
        if !entry.file_name().to_string_lossy().starts_with("upload-") {
            continue;
        }
        let written = entry.metadata().await.and_then(|metadata| metadata.modified());
        if written.is_ok_and(|written| written <= cutoff) {
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(removed)
}

async fn spool(field: &mut axum::extract::multipart::Field<'_>, dir: &Path, limit: u64) -> Result<Spooled, ApiError> {
    tokio::fs::create_dir_all(dir).await.map_err(ApiError::Spool)?;
    let mut spooled =
        Spooled { path: dir.join(format!("upload-{}", uuid::Uuid::new_v4().simple())), size: 0, head: Vec::new() };
    let mut file = tokio::fs::File::create(&spooled.path).await.map_err(ApiError::Spool)?;
    while let Some(chunk) = field.chunk().await.map_err(|error| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit }
        } else {
            multipart_error(error)
        }
    })? {
        spooled.size += chunk.len() as u64;
        if spooled.size > limit {
            return Err(ApiError::TooLarge { limit });
        }
        if spooled.head.len() < SNIFF_BYTES {
            let wanted = (SNIFF_BYTES - spooled.head.len()).min(chunk.len());
            spooled.head.extend_from_slice(&chunk[..wanted]);
        }
        file.write_all(&chunk).await.map_err(ApiError::Spool)?;
    }
    file.flush().await.map_err(ApiError::Spool)?;
    file.sync_all().await.map_err(ApiError::Spool)?;
    Ok(spooled)
}

/// The container of a video, from its first bytes: its file extension.
pub(crate) fn video_extension(head: &[u8]) -> Result<&'static str, ApiError> {
    match infer::get(head) {
        Some(kind) if kind.matcher_type() == infer::MatcherType::Video => Ok(kind.extension()),
        Some(kind) => Err(ApiError::UnsupportedType {
            message: format!("the file is {} ({}), not a video", kind.mime_type(), kind.extension()),
        }),
        None if head.is_empty() => {
            Err(ApiError::BadRequest { code: "empty-upload", message: "the file is empty".into() })
        }
        None => Err(ApiError::UnsupportedType {
            message: "the file is not a video container we recognise (MP4, MOV, MKV, WebM, AVI, FLV, MPEG)".into(),
        }),
    }
}

/// Whether a subtitle part is WebVTT or SRT, from its first bytes.
fn subtitle_extension(language: &str, head: &[u8]) -> Result<&'static str, ApiError> {
    // The same reading the packager gives the whole file: a UTF-16 file with its mark is text too.
    let text = lms_packager::subtitles::encoding::decode_head(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("WEBVTT") {
        return Ok("vtt");
    }
    let mut lines = text.lines();
    let numbered = lines.next().is_some_and(|line| line.trim().parse::<u32>().is_ok());
    if numbered && lines.next().is_some_and(|line| line.contains("-->")) {
        return Ok("srt");
    }
    Err(ApiError::UnsupportedType { message: format!("subtitle.{language} is neither WebVTT nor SRT") })
}

#[utoipa::path(
    post,
    path = "/api/v1/uploads",
    tag = "jobs",
    request_body(content = crate::openapi::LectureUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The job, queued", body = JobView)),
)]
pub(crate) async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    request: Request,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let tenant = authorized_tenant(&principal, Action::Upload)?;
    let received = receive(&state, &tenant, request).await?;
    let record = state.store.create(&received.job).await?;
    tracing::info!(job_id = %record.id, "upload stored; job created");
    Ok((StatusCode::CREATED, Json(JobView::new(&record, &state.config.public_base_url))))
}

/// A lecture that arrived and was stored, with the job that will encode it (not yet created).
#[derive(Debug)]
pub(crate) struct Received {
    /// The job to create.
    pub job: NewJob,
    /// The `title` part, if the upload had one.
    pub title: Option<String>,
}

/// Streams a multipart upload of `tenant` to storage and checks it; nothing of a refused upload is kept.
pub(crate) async fn receive(state: &AppState, tenant: &str, request: Request) -> Result<Received, ApiError> {
    let multipart = guarded_multipart(request, state).await?;
    let job_id = uuid::Uuid::new_v4().to_string();
    let mut stored = Vec::new();
    let result = store_parts(state, tenant, &job_id, multipart, &mut stored).await;
    match result {
        Ok(parts) => Ok(Received {
            job: NewJob {
                id: job_id,
                tenant_id: tenant.to_owned(),
                source_key: parts.source.path(),
                source_name: parts.original,
                subtitles: parts.subtitles,
            },
            title: parts.title,
        }),
        Err(error) => {
            for key in &stored {
                if let Err(cleanup) = state.storage.delete(key).await {
                    tracing::warn!(%cleanup, key = %key.path(), "could not remove a part of a refused upload");
                }
            }
            Err(error)
        }
    }
}

/// The parts of an upload, stored.
struct StoredParts {
    source: StorageKey,
    original: String,
    subtitles: Vec<SubtitleRef>,
    title: Option<String>,
}

/// The longest `title` part.
const MAX_TITLE_CHARS: usize = 255;

/// The request's multipart body, failed by [`header_limit`] when a part's headers run on.
async fn guarded_multipart(request: Request, state: &AppState) -> Result<Multipart, ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let boundary = header_limit::boundary_of(content_type).ok_or_else(|| ApiError::BadRequest {
        code: "invalid-multipart",
        message: "the upload must be multipart/form-data with a boundary".into(),
    })?;
    let mut limit = header_limit::HeaderLimit::new(&boundary);
    let guarded = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        limit.feed(&chunk).map_err(|_| {
            std::io::Error::other(format!(
                "a part's headers are longer than {} bytes",
                header_limit::MAX_PART_HEADER_BYTES
            ))
        })?;
        Ok::<_, std::io::Error>(chunk)
    });
    let request = Request::from_parts(parts, Body::from_stream(guarded));
    Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ApiError::BadRequest { code: "invalid-multipart", message: rejection.body_text() })
}

/// Spools and stores every part, recording each stored key in `stored` as it goes.
async fn store_parts(
    state: &AppState,
    tenant: &str,
    job_id: &str,
    mut multipart: Multipart,
    stored: &mut Vec<StorageKey>,
) -> Result<StoredParts, ApiError> {
    let spool_dir = &state.config.spool_dir;
    let mut video: Option<(StorageKey, String)> = None;
    let mut subtitles = Vec::new();
    let mut title = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "title" {
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                text.extend_from_slice(&chunk);
                if text.len() > MAX_TITLE_CHARS * 4 {
                    return Err(crate::error::unprocessable("title", format!("at most {MAX_TITLE_CHARS} characters")));
                }
            }
            let text = String::from_utf8(text).map_err(|_| crate::error::unprocessable("title", "not UTF-8 text"))?;
            if text.chars().count() > MAX_TITLE_CHARS {
                return Err(crate::error::unprocessable("title", format!("at most {MAX_TITLE_CHARS} characters")));
            }
            if text.contains('\0') {
                return Err(crate::error::unprocessable("title", "contains a NUL character"));
            }
            title = Some(text.trim().to_owned()).filter(|text| !text.is_empty());
        } else if name == "file" {
            if video.is_some() {
                return Err(ApiError::BadRequest {
                    code: "duplicate-file",
                    message: "more than one `file` part".into(),
                });
            }
            let original = field.file_name().unwrap_or("lecture").chars().take(200).collect::<String>();
            let spooled = spool(&mut field, spool_dir, state.config.max_upload_bytes).await?;
            let extension = video_extension(&spooled.head)?;
            let key = StorageKey::source(tenant, job_id, &format!("lecture.{extension}"))?;
            stored.push(key.clone());
            state.storage.put_file(&key, &spooled.path, &ObjectMeta::for_source()).await?;
            state.metrics.upload_bytes.inc_by(spooled.size);
            video = Some((key, original));
        } else if let Some(language) = name.strip_prefix("subtitle.") {
            if !is_language_tag(language) {
                return Err(ApiError::BadRequest {
                    code: "invalid-language",
                    message: format!("part {name:?}: the language must be a tag like `en` or `pt-BR`"),
                });
            }
            if subtitles.iter().any(|known: &SubtitleRef| known.language == language) {
                return Err(ApiError::BadRequest {
                    code: "duplicate-language",
                    message: format!("part {name:?}: a subtitle for {language} was sent already"),
                });
            }
            if subtitles.len() >= MAX_SUBTITLES {
                return Err(ApiError::BadRequest {
                    code: "too-many-subtitles",
                    message: format!("more than {MAX_SUBTITLES} subtitle parts"),
                });
            }
            let spooled = spool(&mut field, spool_dir, MAX_SUBTITLE_BYTES).await?;
            let extension = subtitle_extension(language, &spooled.head)?;
            let key = StorageKey::source(tenant, job_id, &format!("subtitles.{language}.{extension}"))?;
            stored.push(key.clone());
            state.storage.put_file(&key, &spooled.path, &ObjectMeta::for_source()).await?;
            subtitles.push(SubtitleRef { language: language.to_owned(), source: key.path() });
        } else {
            return Err(ApiError::BadRequest {
                code: "unknown-part",
                message: format!("unknown part {name:?}: send `file`, `subtitle.<language>` and `title` parts"),
            });
        }
    }
    let Some((source, original)) = video else {
        return Err(ApiError::BadRequest { code: "missing-file", message: "the upload has no `file` part".into() });
    };
    Ok(StoredParts { source, original, subtitles, title })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2avc1mp41");
        assert_eq!(video_extension(&mp4).unwrap(), "mp4");
        // Matroska: the EBML magic, then the `matroska` doctype within the first 256 bytes.
        let mut mkv = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
        mkv.extend_from_slice(b"\x42\x82\x88matroska");
        mkv.resize(512, 0);
        assert_eq!(video_extension(&mkv).unwrap(), "mkv");
        assert!(matches!(video_extension(b"%PDF-1.7\n"), Err(ApiError::UnsupportedType { .. })));
        assert!(matches!(
            video_extension(b"#EXTM3U\n#EXTINF:4,\nhttp://x/a.ts\n"),
            Err(ApiError::UnsupportedType { .. })
        ));
        assert_eq!(subtitle_extension("en", b"\xEF\xBB\xBFWEBVTT\n\n00:00.000 --> 00:01.000\nHi\n").unwrap(), "vtt");
        assert_eq!(subtitle_extension("en", b"1\n00:00:00,000 --> 00:00:01,000\nHi\n").unwrap(), "srt");
        assert!(subtitle_extension("en", b"not subtitles").is_err());
    }
}
