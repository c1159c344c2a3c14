//! Canvas's pagination: `page` and `per_page` (at most 100) in, a JSON list and an absolute `Link` header out.
//!
//! `canvasapi` follows only `rel="next"`, uses its URL verbatim and requires it to start with the very
//! origin it was given, so links are built from the request's own `Host` (and `X-Forwarded-Proto` behind a
//! proxy) and carry every parameter of the request. The last page has no `next`.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ApiError;

/// Items per page when the client names no size.
pub const DEFAULT_PER_PAGE: u32 = 10;
/// The most items one page holds.
pub const MAX_PER_PAGE: u32 = 100;

/// Which page a list request asks for, and how to link to the others.
#[derive(Debug, Clone)]
pub struct Pagination {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
    /// `scheme://host/path` of the request.
    base: String,
    /// The request's other parameters, in their order.
    others: Vec<(String, String)>,
}

impl Pagination {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// Rows to fetch: one more than a page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.per_page) + 1
    }

    /// The page of `rows` (fetched with [`Self::fetch_limit`]) as a response.
    pub fn respond<T: Serialize>(&self, mut rows: Vec<T>) -> Response {
        let has_next = rows.len() > self.per_page as usize;
        rows.truncate(self.per_page as usize);
        let mut links = vec![format!("<{}>; rel=\"current\"", self.url(self.page))];
        if has_next {
            links.push(format!("<{}>; rel=\"next\"", self.url(self.page + 1)));
        }
        if self.page > 1 {
            links.push(format!("<{}>; rel=\"prev\"", self.url(self.page - 1)));
        }
        links.push(format!("<{}>; rel=\"first\"", self.url(1)));
        let mut response = Json(rows).into_response();
        if let Ok(value) = HeaderValue::from_str(&links.join(",")) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }

    fn url(&self, page: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.others {
            query.append_pair(key, value);
        }
        query.append_pair("page", &page.to_string());
        query.append_pair("per_page", &self.per_page.to_string());
        format!("{}?{}", self.base, query.finish())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut page = 1;
        let mut per_page = DEFAULT_PER_PAGE;
        let mut others = Vec::new();
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            match key.as_ref() {
                // The last value wins: canvasapi sends `per_page=N&per_page=100`.
                "page" => page = parse_positive("page", &value)?,
                "per_page" => per_page = parse_positive("per_page", &value)?.min(MAX_PER_PAGE),
                _ => others.push((key.into_owned(), value.into_owned())),
            }
        }
        let base = format!("{}{}", origin_of(parts), parts.uri.path());
        Ok(Pagination { page, per_page, base, others })
    }
}

/// `scheme://host[:port]` of a request, as its client named it: the `Host` header, and `https` when a proxy
/// says so with `X-Forwarded-Proto`.
pub fn origin_of(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()))
        .unwrap_or("localhost");
    let scheme = match parts.headers.get("x-forwarded-proto").and_then(|value| value.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The origin of a request, for absolute URLs in bodies.
#[derive(Debug, Clone)]
pub struct Origin(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Origin(origin_of(parts)))
    }
}

fn parse_positive(name: &str, value: &str) -> Result<u32, ApiError> {
    match value.trim().parse::<u32>() {
        Ok(number) if (1..=100_000).contains(&number) => Ok(number),
        _ => Err(ApiError::BadRequest {
            code: "invalid-parameter",
            message: format!("parameter {name}: {:?} is not a page number from 1", crate::error::echo(value)),
        }),
    }
}
