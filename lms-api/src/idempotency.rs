//! `Idempotency-Key` on every POST: a client that retries after a lost answer gets the first answer again,
//! not a second effect.
//!
//! The key is the caller's (a user's keys never meet another user's) and lives a day. The first request
//! with a key claims it (a row in `pending`), runs, and stores its answer (status, content type, body) unless
//! the server failed (5xx), in which case the claim is dropped so the client may retry. A later request with
//! the same key and the same request (method, path, query, content type and body; for a multipart upload,
//! its length) gets the stored answer with `Idempotent-Replayed: true`; with a different
//! request, 422; while the first is still running, 409.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lms_db::{Scope, query_error};
use sha2::{Digest, Sha256};

use crate::accounts::store::now_ms;
use crate::auth::Principal;
use crate::{ApiError, AppState};

/// How long a key is remembered.
const KEY_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;
/// Answers up to this size are stored.
const BUFFERED_BYTES: usize = 1024 * 1024;
/// The largest body that is not an upload (a CSV import): such bodies are read whole into the fingerprint.
const MAX_PLAIN_BODY: usize = 32 * 1024 * 1024;
/// The longest key.
const MAX_KEY_CHARS: usize = 255;

/// Middleware for every route; it acts only on POST requests that carry the header.
pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key("idempotency-key") {
        return next.run(request).await;
    }
    match run(&state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run(state: &AppState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_CHARS && key.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::BadRequest {
                code: "invalid-idempotency-key",
                message: format!("Idempotency-Key: 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            }
            .into_response()
        })?;
    let (mut parts, body) = request.into_parts();
    let principal = Principal::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
    let content_type =
        parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let mut fingerprint = Sha256::new();
    for piece in [parts.method.as_str(), parts.uri.path(), parts.uri.query().unwrap_or(""), &content_type] {
        fingerprint.update(piece.as_bytes());
        fingerprint.update([0]);
    }
    // An upload (gigabytes) is fingerprinted by its length; any other body by its bytes.
    let body = if content_type.starts_with("multipart/") {
        fingerprint.update(format!("length {length:?}").as_bytes());
        body
    } else {
        let bytes = axum::body::to_bytes(body, MAX_PLAIN_BODY).await.map_err(|error| {
            ApiError::BadRequest { code: "invalid-body", message: format!("reading the request body: {error}") }
                .into_response()
        })?;
        fingerprint.update(&bytes);
        Body::from(bytes)
    };
    let fingerprint = hex::encode(fingerprint.finalize());
    let tenant = principal.tenant();
    match claim(state, &principal, &tenant, &key, &fingerprint).await.map_err(IntoResponse::into_response)? {
        Claimed::Mine => {}
        Claimed::Done { status, content_type, body } => return Ok(replay(status, content_type, body)),
        Claimed::Pending => {
            return Err(ApiError::Conflict {
                code: "idempotency-key-in-use",
                message: "a request with this Idempotency-Key is still running: retry when it has answered".into(),
            }
            .into_response());
        }
        Claimed::Mismatch => {
            return Err(
                crate::error::unprocessable("Idempotency-Key", "already used for a different request").into_response()
            );
        }
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    let (response_parts, response_body) = response.into_parts();
    let status = response_parts.status;
    // The request has had its effect: its answer goes back whatever happens to the copy kept.
    let bytes = match axum::body::to_bytes(response_body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            forget(state, &principal, &tenant, &key).await;
            return Err(ApiError::BadRequest {
                code: "invalid-body",
                message: format!("the answer could not be read: {error}"),
            }
            .into_response());
        }
    };
    if status.is_server_error() || bytes.len() > BUFFERED_BYTES {
        // A failure may succeed when retried; an answer too large to keep runs again when retried.
        forget(state, &principal, &tenant, &key).await;
    } else {
        let content_type =
            response_parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
        if let Err(error) = store(state, &principal, &tenant, &key, status, content_type, &bytes).await {
            tracing::warn!(%error, "could not keep an answer for its Idempotency-Key");
            forget(state, &principal, &tenant, &key).await;
        }
    }
    Ok(Response::from_parts(response_parts, Body::from(bytes)))
}

enum Claimed {
    Mine,
    Done { status: u16, content_type: Option<String>, body: String },
    Pending,
    Mismatch,
}

async fn claim(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Claimed, ApiError> {
    let now = now_ms();
    let mut tx = state.db.begin(Scope::Tenant(tenant)).await?;
    sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND user_id = $2 AND key = $3 AND created_at < $4")
        .bind(principal.account_id.0)
        .bind(principal.user_id.0)
        .bind(key)
        .bind(now - KEY_LIFETIME_MS)
        .execute(&mut *tx)
        .await
        .map_err(query_error("expire idempotency key"))?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (account_id, user_id, key, fingerprint, state, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (user_id, key) DO NOTHING",
    )
    .bind(principal.account_id.0)
    .bind(principal.user_id.0)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(query_error("claim idempotency key"))?
    .rows_affected();
    let claimed = if inserted == 1 {
        Claimed::Mine
    } else {
        let row: (String, String, Option<i64>, Option<String>, Option<String>) = sqlx::query_as(
            "SELECT fingerprint, state, status, content_type, body FROM idempotency_keys \
             WHERE account_id = $1 AND user_id = $2 AND key = $3",
        )
        .bind(principal.account_id.0)
        .bind(principal.user_id.0)
        .bind(key)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_error("read idempotency key"))?;
        match row {
            (stored, _, _, _, _) if stored != fingerprint => Claimed::Mismatch,
            (_, state, Some(status), content_type, Some(body)) if state == "done" => {
                Claimed::Done { status: u16::try_from(status).unwrap_or(200), content_type, body }
            }
            _ => Claimed::Pending,
        }
    };
    lms_db::commit(tx).await?;
    Ok(claimed)
}

async fn store(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    key: &str,
    status: StatusCode,
    content_type: Option<String>,
    body: &Bytes,
) -> Result<(), ApiError> {
    let mut tx = state.db.begin(Scope::Tenant(tenant)).await?;
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status = $1, content_type = $2, body = $3 \
         WHERE account_id = $4 AND user_id = $5 AND key = $6",
    )
    .bind(i64::from(status.as_u16()))
    .bind(content_type)
    .bind(String::from_utf8_lossy(body).into_owned())
    .bind(principal.account_id.0)
    .bind(principal.user_id.0)
    .bind(key)
    .execute(&mut *tx)
    .await
    .map_err(query_error("store idempotent answer"))?;
    lms_db::commit(tx).await?;
    Ok(())
}

/// Drops a claim, so that the client's retry runs again.
async fn forget(state: &AppState, principal: &Principal, tenant: &str, key: &str) {
    let forgotten = async {
        let mut tx = state.db.begin(Scope::Tenant(tenant)).await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND user_id = $2 AND key = $3")
            .bind(principal.account_id.0)
            .bind(principal.user_id.0)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(query_error("drop idempotency key"))?;
        lms_db::commit(tx).await
    };
    if let Err(error) = forgotten.await {
        tracing::warn!(%error, "could not drop an idempotency key");
    }
}

fn replay(status: u16, content_type: Option<String>, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Some(value) = content_type.and_then(|value| HeaderValue::from_str(&value).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
