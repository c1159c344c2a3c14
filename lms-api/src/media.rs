//! `/media/…`: ladders from local storage, with the headers a CDN origin would send.
//!
//! Segments are immutable for a year, playlists short-lived, every file with its HLS MIME type, and CORS open
//! to any origin for GET so browser players on another site can load them. With S3 the objects carry the
//! same headers themselves (see `lms_pipeline::storage::ObjectMeta`) and a CDN serves them instead.

use std::path::PathBuf;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use lms_pipeline::storage::ObjectMeta;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;

use crate::AppState;

pub(crate) fn routes(root: PathBuf) -> Router<AppState> {
    // Sources stay private: only the ladders folder is served.
    let ladders = ServeDir::new(root.join("ladders"));
    Router::new()
        .nest_service("/media/ladders", ladders)
        .layer(axum::middleware::from_fn(hls_headers))
        .layer(CorsLayer::new().allow_origin(Any).allow_methods([Method::GET, Method::HEAD]))
}

async fn hls_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let meta = ObjectMeta::for_ladder_file(&path);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(meta.content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(meta.cache_control));
    }
    response
}
