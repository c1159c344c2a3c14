//! Direct uploads: the browser sends the lecture straight to S3, and the API only signs and checks.
//!
//! `POST /api/v1/uploads/presigned` with `{"filename", "size", "content_type"}` answers a presigned `PUT`
//! (its URL, the headers to send, its expiry) for exactly that size and type, under a fresh upload id.
//! `POST /api/v1/uploads/{id}/complete` then copies what arrived to the job's own source key (so bytes put
//! to the still-valid URL later change nothing), checks the copy (size within the limit, first bytes a
//! video) and creates the job, with the upload id as the job id, and its outbox message. Completing twice
//! answers the same job. A refused upload is deleted. Uploads never completed are
//! left to the bucket's lifecycle rule (docs/DEPLOY.md).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lms_pipeline::jobs::NewJob;
use lms_pipeline::storage::{ObjectMeta, StorageKey};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::canvas::Params;
use crate::policy::{Action, authorized_tenant};
use crate::routes::uploads::{SNIFF_BYTES, video_extension};
use crate::views::jobs::JobView;
use crate::{ApiError, AppState};

/// How long a presigned URL works: long enough to start a large upload on a slow link.
const PRESIGNED_LIFETIME: Duration = Duration::from_secs(3600);
/// The object name of a direct upload; its container is decided from its bytes at completion.
const UPLOAD_NAME: &str = "lecture.upload";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresignRequest {
    /// The uploader's file name, for display.
    filename: String,
    /// The file's size in bytes.
    #[schema(minimum = 1)]
    size: u64,
    /// The file's MIME type, `video/...`.
    #[schema(pattern = "^video/")]
    content_type: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PresignResponse {
    upload_id: String,
    method: &'static str,
    url: String,
    headers: std::collections::BTreeMap<String, String>,
    expires_at_unix: u64,
    complete_url: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteRequest {
    /// The uploader's file name, for display.
    filename: Option<String>,
}

fn upload_key(tenant: &str, id: &str) -> Result<StorageKey, ApiError> {
    uuid::Uuid::parse_str(id).map_err(|_| ApiError::NotFound { what: format!("upload {}", crate::error::echo(id)) })?;
    Ok(StorageKey::source(tenant, id, UPLOAD_NAME)?)
}

#[utoipa::path(
    post,
    path = "/api/v1/uploads/presigned",
    tag = "jobs",
    request_body(content = PresignRequest, content_type = "application/json"),
    responses((status = 201, description = "Where to PUT the file, and how to finish", body = PresignResponse)),
)]
pub(crate) async fn presign(
    State(state): State<AppState>,
    principal: Principal,
    Params(request): Params<PresignRequest>,
) -> Result<(StatusCode, Json<PresignResponse>), ApiError> {
    let tenant = authorized_tenant(&principal, Action::Upload)?;
    if request.size == 0 {
        return Err(ApiError::BadRequest { code: "empty-upload", message: "`size` is 0".into() });
    }
    if request.size > state.config.max_upload_bytes {
        return Err(ApiError::TooLarge { limit: state.config.max_upload_bytes });
    }
    if !request.content_type.starts_with("video/") {
        return Err(ApiError::UnsupportedType {
            message: format!("`content_type` {:?} is not a video type", request.content_type),
        });
    }
    let id = uuid::Uuid::new_v4().to_string();
    let key = upload_key(&tenant, &id)?;
    let signed = state.storage.presign_put(&key, &request.content_type, request.size, PRESIGNED_LIFETIME).await?;
    tracing::info!(upload_id = %id, size = request.size, filename = %request.filename, "direct upload signed");
    Ok((
        StatusCode::CREATED,
        Json(PresignResponse {
            complete_url: format!("/api/v1/uploads/{id}/complete"),
            upload_id: id,
            method: signed.method,
            url: signed.url,
            headers: signed.headers.into_iter().collect(),
            expires_at_unix: signed.expires_at_unix,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/uploads/{id}/complete",
    tag = "jobs",
    params(("id" = String, Path, description = "The upload id from the presigned answer")),
    request_body(content = CompleteRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The job, queued", body = JobView),
        (status = 200, description = "The job, queued already by an earlier completion", body = JobView)
    ),
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(request): Params<CompleteRequest>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let tenant = authorized_tenant(&principal, Action::Upload)?;
    let key = upload_key(&tenant, &id)?;
    if let Some(existing) = state.store.get(&tenant, &id).await? {
        return Ok((StatusCode::OK, Json(JobView::new(&existing, &state.config.public_base_url))));
    }
    if state.storage.head(&key).await?.is_none() {
        return Err(ApiError::BadRequest {
            code: "nothing-uploaded",
            message: format!("upload {id} has no file yet: PUT it to the presigned URL first"),
        });
    }
    // The job encodes a copy, taken before any check: the presigned URL works for an hour, and bytes
    // swapped in after the check must not be what gets encoded.
    // Its container is known from its bytes only; the worker's probe decides from the bytes too.
    let checked = StorageKey::source(&tenant, &id, "lecture.source")?;
    state.storage.copy(&key, &checked, &ObjectMeta::for_source()).await?;
    state.storage.delete(&key).await?;
    let size = state.storage.head(&checked).await?.and_then(|stored| stored.size).unwrap_or(0);
    let verdict = if size > state.config.max_upload_bytes {
        Err(ApiError::TooLarge { limit: state.config.max_upload_bytes })
    } else {
        video_extension(&state.storage.read_prefix(&checked, SNIFF_BYTES).await?.unwrap_or_default())
    };
    if let Err(refusal) = verdict {
        state.storage.delete(&checked).await?;
        return Err(refusal);
    }
    let filename = request.filename.unwrap_or_else(|| UPLOAD_NAME.into()).chars().take(200).collect();
    let job = NewJob {
        id: id.clone(),
        tenant_id: tenant.clone(),
        source_key: checked.path(),
        source_name: filename,
        subtitles: Vec::new(),
    };
    let record = match state.store.create(&job).await {
        Ok(record) => record,
        // Completed twice at once: the other call created it.
        Err(error) => state.store.get(&tenant, &id).await?.ok_or(error)?,
    };
    tracing::info!(job_id = %record.id, size, "direct upload complete; job created");
    Ok((StatusCode::CREATED, Json(JobView::new(&record, &state.config.public_base_url))))
}
