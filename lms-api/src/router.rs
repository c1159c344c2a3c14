//! Every route of the API, in one place: which path and method reach which handler, with the layers every
//! request goes through (request ids, tracing).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware;
use axum::routing::{delete, get, post, put};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::limits::{self, Limiter};
use crate::routes::{
    accounts, courses, direct_uploads, enrollments, jobs, media_objects, modules, ops, uploads, users,
};
use crate::{AppState, idempotency, media};

/// The largest CSV enrollment file (100,000 rows of about 80 bytes, with room to spare).
const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let ops = ops::Ops {
        store: state.store.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        token: state.config.ops_token.clone(),
    };
    let api = Router::new()
        // Accounts, users and tokens (Canvas's paths).
        .route("/api/v1/accounts", get(accounts::list))
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route("/api/v1/accounts/{id}/users", get(accounts::users).post(accounts::create_user))
        .route("/api/v1/accounts/{id}/courses", get(courses::list_in_account).post(courses::create))
        .route(
            "/api/v1/accounts/{id}/enrollments/import",
            post(enrollments::import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .route("/api/v1/users/{id}", get(users::show))
        .route("/api/v1/users/{id}/courses", get(courses::list_of_user))
        .route("/api/v1/users/{id}/enrollments", get(enrollments::list_of_user))
        // Courses and who takes part in them.
        .route("/api/v1/courses", get(courses::list_mine))
        .route("/api/v1/courses/{id}", get(courses::show).put(courses::update))
        .route("/api/v1/courses/{id}/enrollments", get(enrollments::list_in_course).post(enrollments::create))
        .route("/api/v1/courses/{id}/enrollments/{enrollment_id}", delete(enrollments::end))
        .route("/api/v1/courses/{id}/enrollments/{enrollment_id}/accept", post(enrollments::accept))
        .route("/api/v1/courses/{id}/search_users", get(enrollments::search_users))
        .route("/api/v1/courses/{id}/users/{user_id}", get(enrollments::course_user))
        // Modules, items, pages and progress.
        .route("/api/v1/courses/{id}/modules", get(modules::list).post(modules::create))
        .route("/api/v1/courses/{id}/modules/{module_id}", get(modules::show).put(modules::update))
        .route("/api/v1/courses/{id}/modules/{module_id}/items", get(modules::items).post(modules::create_item))
        .route("/api/v1/courses/{id}/modules/{module_id}/items/{item_id}", get(modules::item))
        .route(
            "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/done",
            put(modules::mark_done).delete(modules::unmark_done),
        )
        .route("/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/mark_read", post(modules::mark_read))
        .route("/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/progress", post(modules::watch))
        .route("/api/v1/courses/{id}/pages", post(modules::create_page))
        .route("/api/v1/courses/{id}/pages/{url}", get(modules::page))
        // Lectures of a course.
        .route(
            "/api/v1/courses/{id}/media_objects",
            get(media_objects::list)
                .post(media_objects::create)
                .layer(DefaultBodyLimit::max(uploads::body_limit(&state.config))),
        )
        .route("/api/v1/courses/{id}/media_objects/{media_id}", get(media_objects::show))
        .route(
            "/api/v1/courses/{id}/media_objects/{media_id}/versions",
            post(media_objects::replace).layer(DefaultBodyLimit::max(uploads::body_limit(&state.config))),
        )
        .route("/api/v1/users/{id}/tokens", get(users::tokens).post(users::create_token))
        .route("/api/v1/users/{id}/tokens/{token_id}", get(users::show_token).delete(users::delete_token))
        // Lectures in, jobs out.
        .route(
            "/api/v1/uploads",
            post(uploads::upload).layer(DefaultBodyLimit::max(uploads::body_limit(&state.config))),
        )
        .route("/api/v1/uploads/presigned", post(direct_uploads::presign))
        .route("/api/v1/uploads/{id}/complete", post(direct_uploads::complete))
        .route("/api/v1/jobs/{id}", get(jobs::show))
        .route("/api/v1/jobs/{id}/events", get(jobs::events))
        .route("/api/v1/jobs/{id}/replay", post(jobs::replay));
    // Idempotency runs inside the rate limit: a replayed answer still counts as a request.
    let api = api.layer(middleware::from_fn_with_state(state.clone(), idempotency::idempotency));
    let api = match state.config.rate_limit {
        Some(limit) => api.layer(middleware::from_fn_with_state(Limiter::new(limit), limits::limit)),
        None => api,
    };
    let api = match &state.config.media_root {
        Some(root) => api.merge(media::routes(root.clone())),
        None => api,
    };
    api.with_state(state)
        .merge(ops::public_router(ops))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
