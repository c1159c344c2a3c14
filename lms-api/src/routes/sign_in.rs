//! `POST /login/oauth2/token` with `grant_type=password`: a user signs in with login and password and gets
//! an access token, the OAuth 2 resource-owner grant (RFC 6749, section 4.3) at Canvas's token path and in
//! the shape of Canvas's token answer (`access_token`, `token_type`, `user`, `expires_in`).
//!
//! Failures answer as OAuth 2 does (`{"error": "invalid_grant", "error_description": ...}`), the same for an
//! unknown login and a wrong password, and take as long: a dummy hash is checked when no user matches. Each
//! login may try a few times a minute (argon2id costs CPU on purpose, so unbounded guessing would also be a
//! way to load the server).

use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use lms_db::Scope;
use serde::{Deserialize, Serialize};

use crate::accounts::{User, secrets, store};
use crate::canvas::{Params, lenient};
use crate::views::users::UserView;
use crate::{ApiError, AppState};

/// How long a token from a password sign-in works: a working day; a script that runs longer makes a
/// long-lived token with `POST /api/v1/users/self/tokens`.
const SIGN_IN_TOKEN_LIFETIME_MS: i64 = 8 * 3600 * 1000;
/// Sign-in attempts per login: a burst of 5, then one every 12 seconds.
const ATTEMPTS_PER_MINUTE: u32 = 5;

/// Attempts per login, across the process.
#[derive(Clone)]
pub(crate) struct SignInLimiter(Arc<DefaultKeyedRateLimiter<String>>);

impl SignInLimiter {
    pub(crate) fn new() -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(ATTEMPTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN));
        SignInLimiter(Arc::new(RateLimiter::keyed(quota)))
    }
}

/// The token request (form-encoded, as OAuth 2 clients send it, or JSON).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct TokenRequest {
    /// `password`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(required = true, pattern = "^password$")]
    grant_type: Option<String>,
    /// The login (an email address).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(required = true)]
    username: Option<String>,
    /// The password.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(required = true)]
    password: Option<String>,
    /// The account, when the same login exists in several.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    account_id: Option<i64>,
}

/// Canvas's token answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TokenAnswer {
    /// The bearer token.
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until it stops working.
    expires_in: i64,
    /// Who signed in.
    user: UserView,
}

/// OAuth 2's error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OAuthError {
    /// `invalid_request`, `invalid_grant`, `unsupported_grant_type` or `slow_down`.
    error: &'static str,
    /// In words.
    error_description: String,
}

fn refuse(status: StatusCode, error: &'static str, description: impl Into<String>) -> Response {
    (status, Json(OAuthError { error, error_description: description.into() })).into_response()
}

/// A valid argon2id hash of no one's password, checked when no user matches so that an unknown login
/// takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| secrets::hash_password("no user has this password").unwrap_or_default());

#[utoipa::path(
    post,
    path = "/login/oauth2/token",
    tag = "users",
    security(()),
    request_body(content = TokenRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A new access token", body = TokenAnswer),
        (status = 400, description = "A missing field, an unknown grant type, or a wrong login or password", body = OAuthError),
        (status = 429, description = "Too many attempts for this login: wait", body = OAuthError),
    ),
)]
/// Signs a user in with login and password.
pub(crate) async fn token(
    State(state): State<AppState>,
    Extension(limiter): Extension<SignInLimiter>,
    request: Result<Params<TokenRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let Ok(Params(request)) = request else {
        return Ok(refuse(StatusCode::BAD_REQUEST, "invalid_request", "the parameters could not be read"));
    };
    match request.grant_type.as_deref().map(str::trim) {
        Some("password") => {}
        Some(other) => {
            return Ok(refuse(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("{:?} is not supported; use `password`", crate::error::echo(other)),
            ));
        }
        None => return Ok(refuse(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required")),
    }
    let (Some(login), Some(password)) = (request.username, request.password) else {
        return Ok(refuse(StatusCode::BAD_REQUEST, "invalid_request", "username and password are required"));
    };
    let login = login.trim().to_lowercase();
    if limiter.0.check_key(&login).is_err() {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "too many attempts for this login: wait a minute",
        ));
    }
    let mut tx = state.db.read(Scope::System).await?;
    let candidates = store::credentials_by_login(&mut tx, &login).await?;
    lms_db::commit(tx).await?;
    let candidates: Vec<(User, Option<String>)> = candidates
        .into_iter()
        .filter(|(user, _)| request.account_id.is_none_or(|account| user.account_id.0 == account))
        .collect();
    let user = tokio::task::spawn_blocking(move || matching_user(candidates, &password))
        .await
        .map_err(|_| ApiError::Internal { what: "checking the password" })?;
    let Some(user) = user else {
        return Ok(refuse(StatusCode::BAD_REQUEST, "invalid_grant", "the login or the password is wrong"));
    };
    let mut tx = state.db.begin(Scope::Tenant(&user.account_id.tenant_key())).await?;
    let expires_at_ms = lms_db::now_ms() + SIGN_IN_TOKEN_LIFETIME_MS;
    let (_, secret) = store::create_token(&mut tx, &user, "password sign-in", Some(expires_at_ms)).await?;
    lms_db::commit(tx).await?;
    Ok(Json(TokenAnswer {
        access_token: secret,
        token_type: "Bearer",
        expires_in: SIGN_IN_TOKEN_LIFETIME_MS / 1000,
        user: UserView::from(&user),
    })
    .into_response())
}

/// The one user among `candidates` whose password is `password`; none when no one's is, or when it is
/// several users' (the same login and password in two accounts: the caller must name the account).
fn matching_user(candidates: Vec<(User, Option<String>)>, password: &str) -> Option<User> {
    if candidates.iter().all(|(_, hash)| hash.is_none()) {
        // As long as a real check, so that timing does not tell which logins exist.
        secrets::verify_password(password, &DUMMY_HASH);
        return None;
    }
    let mut matching = candidates
        .into_iter()
        .filter(|(_, hash)| hash.as_deref().is_some_and(|hash| secrets::verify_password(password, hash)));
    match (matching.next(), matching.next()) {
        (Some((user, _)), None) => Some(user),
        _ => None,
    }
}
