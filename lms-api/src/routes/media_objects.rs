//! Media objects: `POST|GET /api/v1/courses/{id}/media_objects` (upload a lecture into a course; list),
//! `GET /api/v1/courses/{id}/media_objects/{media_id}`, and `POST …/media_objects/{media_id}/versions`
//! (replace its video: the object keeps showing the old ladder until the new one is published).

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use lms_db::{MediaObjectId, Scope};

use crate::auth::Principal;
use crate::canvas::Pagination;
use crate::catalog::media;
use crate::catalog::modules::ItemKind;
use crate::error::{echo, not_found};
use crate::routes::courses::readable_course;
use crate::routes::modules::{CourseTree, editable_course};
use crate::routes::uploads::receive;
use crate::views::media::MediaObjectView;
use crate::{ApiError, AppState};

/// `POST /api/v1/courses/{id}/media_objects`: a lecture (multipart `file`, `subtitle.<language>`, `title`)
/// becomes a media object of the course, with its transcode job, in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/media_objects",
    tag = "media",
    params(crate::openapi::CoursePath),
    request_body(content = crate::openapi::LectureUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The lecture, its job queued", body = MediaObjectView)),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<MediaObjectView>), ApiError> {
    // The course and the caller's right to build it are checked before a byte of the upload is stored.
    let course = {
        let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
        let (course, _) = editable_course(&mut tx, &principal, &id).await?;
        lms_db::commit(tx).await?;
        course
    };
    let received = receive(&state, &principal.tenant(), request).await?;
    let title = received.title.clone().unwrap_or_else(|| received.job.source_name.clone());
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let job = state.store.create_in(&mut tx, &received.job).await?;
    let object = media::create(&mut tx, principal.account_id, course.id, &title, principal.user_id, &job.id).await?;
    lms_db::commit(tx).await?;
    tracing::info!(media_object = %object.id, job_id = %job.id, "lecture uploaded into a course");
    Ok((StatusCode::CREATED, Json(MediaObjectView::new(&object, &state.config.public_base_url))))
}

/// `POST /api/v1/courses/{id}/media_objects/{media_id}/versions`: a new upload of the same lecture.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/media_objects/{media_id}/versions",
    tag = "media",
    params(crate::openapi::CoursePath, ("media_id" = i64, Path, description = "The media object")),
    request_body(content = crate::openapi::LectureUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The lecture, the new version's job queued", body = MediaObjectView)),
)]
pub(crate) async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, media_id)): Path<(String, String)>,
    request: Request,
) -> Result<(StatusCode, Json<MediaObjectView>), ApiError> {
    let missing = || not_found(format!("media object {}", echo(&media_id)));
    let media_id: MediaObjectId = media_id.parse().map_err(|_| missing())?;
    let course = {
        let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
        let (course, _) = editable_course(&mut tx, &principal, &id).await?;
        media::find(&mut tx, principal.account_id, course.id, media_id).await?.ok_or_else(missing)?;
        lms_db::commit(tx).await?;
        course
    };
    let received = receive(&state, &principal.tenant(), request).await?;
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let job = state.store.create_in(&mut tx, &received.job).await?;
    media::add_version(&mut tx, principal.account_id, media_id, &job.id).await?;
    let object = media::find(&mut tx, principal.account_id, course.id, media_id).await?.ok_or_else(missing)?;
    lms_db::commit(tx).await?;
    Ok((StatusCode::CREATED, Json(MediaObjectView::new(&object, &state.config.public_base_url))))
}

/// `GET /api/v1/courses/{id}/media_objects`.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/media_objects",
    tag = "media",
    params(crate::openapi::CoursePath, crate::openapi::PageQuery),
    responses((status = 200, description = "The course's lectures", body = Vec<MediaObjectView>)),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
) -> Result<Response, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let found =
        media::list(&mut tx, principal.account_id, course.id, pagination.offset(), pagination.fetch_limit()).await?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, None).await?;
    lms_db::commit(tx).await?;
    Ok(pagination.respond(found.iter().map(|object| view(&tree, object, &state)).collect()))
}

/// `GET /api/v1/courses/{id}/media_objects/{media_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/media_objects/{media_id}",
    tag = "media",
    params(crate::openapi::CoursePath, ("media_id" = i64, Path, description = "The media object")),
    responses((status = 200, description = "The lecture", body = MediaObjectView)),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, media_id)): Path<(String, String)>,
) -> Result<Json<MediaObjectView>, ApiError> {
    let missing = || not_found(format!("media object {}", echo(&media_id)));
    let media_id: MediaObjectId = media_id.parse().map_err(|_| missing())?;
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let object = media::find(&mut tx, principal.account_id, course.id, media_id).await?.ok_or_else(missing)?;
    let tree = CourseTree::load(&mut tx, &principal, &course, &access, None).await?;
    lms_db::commit(tx).await?;
    Ok(Json(view(&tree, &object, &state)))
}

/// The view of `object` for the caller whose course structure is `tree`: without its ladder while every
/// Video item leading to it is locked for them.
fn view(tree: &CourseTree, object: &media::MediaObject, state: &AppState) -> MediaObjectView {
    let view = MediaObjectView::new(object, &state.config.public_base_url);
    let id = Some(object.id.0);
    if tree.locks(|item| item.kind == ItemKind::Video && item.content_id == id) { view.locked() } else { view }
}
