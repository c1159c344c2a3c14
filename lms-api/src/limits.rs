//! Per-token rate limits, as Canvas answers them: a request over the limit gets `429` with
//! `X-Rate-Limit-Remaining: 0`, and every answer says how many requests remain in the burst.
//!
//! The limiter is governor's GCRA, keyed by the SHA-256 of the bearer token (requests without one share
//! one key and get their 401 anyway). It lives in the process: behind a load balancer each `serve`
//! instance counts its own requests.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter};

use crate::accounts::secrets::token_hash;
use crate::auth::bearer_token;

/// How many requests a token may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

impl Default for RateLimit {
    /// Canvas's order of magnitude: a burst of 700, refilled at 10 a second.
    fn default() -> Self {
        RateLimit { per_minute: 600, burst: 700 }
    }
}

type Keyed = RateLimiter<
    String,
    governor::state::keyed::DefaultKeyedStateStore<String>,
    governor::clock::DefaultClock,
    StateInformationMiddleware,
>;

/// The limiter shared by every request of a process.
#[derive(Clone)]
pub struct Limiter(Arc<Keyed>);

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    /// A limiter for `limit`.
    pub fn new(limit: RateLimit) -> Limiter {
        let per_minute = NonZeroU32::new(limit.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Limiter(Arc::new(RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()))
    }
}

/// The key of a request: its token's hash, or one shared key for requests without a token.
fn key_of(request: &Request) -> String {
    bearer_token(request.headers()).map(token_hash).unwrap_or_else(|| "anonymous".into())
}

/// Middleware: answers 429 over the limit; otherwise passes the request on and adds
/// `X-Rate-Limit-Remaining` to the answer.
pub async fn limit(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    match limiter.0.check_key(&key_of(&request)) {
        Ok(snapshot) => {
            let mut response = next.run(request).await;
            if let Ok(value) = HeaderValue::from_str(&snapshot.remaining_burst_capacity().to_string()) {
                response.headers_mut().insert("x-rate-limit-remaining", value);
            }
            response
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            let body = serde_json::json!({ "errors": [{ "message": "rate limit exceeded: slow down", "code": "rate-limited" }] });
            let mut response = (axum::http::StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
            if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}
