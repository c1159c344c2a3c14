//! Every route of the API, in one place: which path and method reach which handler, with the layers every
//! request goes through (request ids, tracing).

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::limits::{self, Limiter};
use crate::openapi::ApiDoc;
use crate::routes::sign_in::{self, SignInLimiter};
use crate::routes::{
    accounts, courses, direct_uploads, enrollments, jobs, media_objects, modules, ops, uploads, users,
};
use crate::{AppState, idempotency, media};

/// The largest CSV enrollment file (100,000 rows of about 80 bytes, with room to spare).
const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// `routes` with request bodies up to `bytes` (uploads and imports are larger than the default).
fn body_limit<S>((schemas, paths, method_router): UtoipaMethodRouter<S>, bytes: usize) -> UtoipaMethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    (schemas, paths, method_router.layer(DefaultBodyLimit::max(bytes)))
}

/// The handler of `/api/v1/openapi.json`: the document, serialized once.
fn document(openapi: &utoipa::openapi::OpenApi) -> impl Fn() -> std::future::Ready<Response> + Clone + use<> {
    let body = Bytes::from(openapi.to_json().unwrap_or_else(|error| {
        // Serializing a document built from types cannot fail; say so loudly if it ever does.
        tracing::error!(%error, "the OpenAPI document does not serialize");
        String::from("{}")
    }));
    move || std::future::ready(([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response())
}

/// Refuses a URL with a percent-encoded NUL (`%00`) in its path or query: path segments and query values are
/// looked up as text, and no stored text holds one (PostgreSQL refuses them).
async fn refuse_nul_in_url(request: Request<axum::body::Body>, next: middleware::Next) -> Response {
    let uri = request.uri();
    let has_nul = |text: &str| text.as_bytes().windows(3).any(|window| window.eq_ignore_ascii_case(b"%00"));
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return crate::ApiError::BadRequest {
            code: "invalid-parameter",
            message: "the URL holds a NUL character (%00)".into(),
        }
        .into_response();
    }
    next.run(request).await
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let ops = ops::Ops {
        store: state.store.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        token: state.config.ops_token.clone(),
    };
    let upload_limit = uploads::body_limit(&state.config);
    let (api, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        // Accounts, users and tokens (Canvas's paths).
        .routes(routes!(accounts::list))
        .routes(routes!(accounts::show))
        .routes(routes!(accounts::users, accounts::create_user))
        .routes(routes!(courses::list_in_account, courses::create))
        .routes(body_limit(routes!(enrollments::import), IMPORT_BODY_LIMIT))
        .routes(routes!(users::show))
        .routes(routes!(courses::list_of_user))
        .routes(routes!(enrollments::list_of_user))
        .routes(routes!(users::tokens, users::create_token))
        .routes(routes!(users::show_token, users::delete_token))
        // Courses and who takes part in them.
        .routes(routes!(courses::list_mine))
        .routes(routes!(courses::show, courses::update))
        .routes(routes!(enrollments::list_in_course, enrollments::create))
        .routes(routes!(enrollments::end))
        .routes(routes!(enrollments::accept))
        .routes(routes!(enrollments::search_users))
        .routes(routes!(enrollments::course_user))
        // Modules, items, pages and progress.
        .routes(routes!(modules::list, modules::create))
        .routes(routes!(modules::show, modules::update, modules::delete_module))
        .routes(routes!(modules::items, modules::create_item))
        .routes(routes!(modules::item, modules::delete_item))
        .routes(routes!(modules::mark_done, modules::unmark_done))
        .routes(routes!(modules::mark_read))
        .routes(routes!(modules::watch))
        .routes(routes!(modules::create_page))
        .routes(routes!(modules::page, modules::update_page))
        // Lectures of a course.
        .routes(body_limit(routes!(media_objects::list, media_objects::create), upload_limit))
        .routes(routes!(media_objects::show))
        .routes(body_limit(routes!(media_objects::replace), upload_limit))
        // Lectures in, jobs out.
        .routes(body_limit(routes!(uploads::upload), upload_limit))
        .routes(routes!(direct_uploads::presign))
        .routes(routes!(direct_uploads::complete))
        .routes(routes!(jobs::show))
        .routes(routes!(jobs::events))
        .routes(routes!(jobs::replay))
        // Signing in with a password (OAuth 2's password grant, at Canvas's token path).
        .routes(routes!(sign_in::token))
        .split_for_parts();
    crate::openapi::complete(&mut openapi);
    // Idempotency runs inside the rate limit: a replayed answer still counts as a request.
    let api = api.layer(middleware::from_fn(refuse_nul_in_url)).layer(Extension(SignInLimiter::new()));
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
        .route("/api/v1/openapi.json", get(document(&openapi)))
        .merge(ops::public_router(ops))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
