//! Users and their access tokens: `GET /api/v1/users/{id}` (`self` for the caller),
//! `GET|POST /api/v1/users/{id}/tokens`, `GET|DELETE /api/v1/users/{id}/tokens/{token_id}`.

use axum::Json;
use axum::extract::{Path, State};
use lms_db::{Scope, TokenId, UserId};
use serde::Deserialize;

use crate::accounts::{User, store};
use crate::auth::Principal;
use crate::canvas::{Params, lenient};
use crate::error::{echo, not_found, unprocessable};
use crate::policy::{Action, may};
use crate::views::parse_time;
use crate::views::users::{TokenView, UserView};
use crate::{ApiError, AppState};

/// `GET /api/v1/users/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(crate::openapi::UserPath),
    responses((status = 200, description = "The user", body = UserView)),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = visible_user(&state, &principal, &id, Action::ReadUser).await?;
    Ok(Json(UserView::from(&user)))
}

/// `GET /api/v1/users/{id}/tokens`: the user's tokens, without their secrets.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/tokens",
    tag = "users",
    params(crate::openapi::UserPath),
    responses((status = 200, description = "The user's tokens, without their secrets", body = Vec<TokenView>)),
)]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let user = visible_user(&state, &principal, &id, Action::ManageTokensOf).await?;
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let tokens = store::tokens_of(&mut tx, user.account_id, user.id).await?;
    lms_db::commit(tx).await?;
    Ok(Json(tokens.iter().map(|token| TokenView::new(token, None)).collect()))
}

/// Body of `POST /api/v1/users/{id}/tokens`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateToken {
    #[serde(default)]
    token: TokenFields,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct TokenFields {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    purpose: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    expires_at: Option<String>,
}

/// `POST /api/v1/users/{id}/tokens` (`token[purpose]`, `token[expires_at]`): a new token, its secret shown in
/// this answer only. A user makes its own; an admin may make one for a user of its account.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/tokens",
    tag = "users",
    params(crate::openapi::UserPath),
    request_body(content = CreateToken, content_type = "application/json"),
    responses((status = 200, description = "The new token; its secret is shown this once", body = TokenView)),
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(body): Params<CreateToken>,
) -> Result<Json<TokenView>, ApiError> {
    let user = visible_user(&state, &principal, &id, Action::ManageTokensOf).await?;
    let purpose = body.token.purpose.unwrap_or_default().trim().to_owned();
    if purpose.chars().count() > 255 {
        return Err(unprocessable("token[purpose]", "at most 255 characters"));
    }
    let expires_at_ms =
        match body.token.expires_at.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(parse_time(text).ok_or_else(|| {
                unprocessable("token[expires_at]", format!("{:?} is not an ISO 8601 time", echo(text)))
            })?),
        };
    if expires_at_ms.is_some_and(|at| at <= store::now_ms()) {
        return Err(unprocessable("token[expires_at]", "the time has passed"));
    }
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (token, secret) = store::create_token(&mut tx, &user, &purpose, expires_at_ms).await?;
    lms_db::commit(tx).await?;
    Ok(Json(TokenView::new(&token, Some(secret))))
}

/// `GET /api/v1/users/{id}/tokens/{token_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/tokens/{token_id}",
    tag = "users",
    params(crate::openapi::UserPath, ("token_id" = i64, Path, description = "The token")),
    responses((status = 200, description = "The token", body = TokenView)),
)]
pub(crate) async fn show_token(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<Json<TokenView>, ApiError> {
    let user = visible_user(&state, &principal, &id, Action::ManageTokensOf).await?;
    let token_id = parse_token_id(&token_id)?;
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let token = store::token(&mut tx, user.account_id, user.id, token_id).await?;
    lms_db::commit(tx).await?;
    let token = token.ok_or_else(|| not_found(format!("token {token_id}")))?;
    Ok(Json(TokenView::new(&token, None)))
}

/// `DELETE /api/v1/users/{id}/tokens/{token_id}`: the token stops working at once; the answer is the
/// deleted token.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/tokens/{token_id}",
    tag = "users",
    params(crate::openapi::UserPath, ("token_id" = i64, Path, description = "The token")),
    responses((status = 200, description = "The token, now revoked", body = TokenView)),
)]
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<Json<TokenView>, ApiError> {
    let user = visible_user(&state, &principal, &id, Action::ManageTokensOf).await?;
    let token_id = parse_token_id(&token_id)?;
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let token = store::token(&mut tx, user.account_id, user.id, token_id).await?;
    let Some(token) = token else { return Err(not_found(format!("token {token_id}"))) };
    store::delete_token(&mut tx, user.account_id, user.id, token_id).await?;
    lms_db::commit(tx).await?;
    Ok(Json(TokenView::new(&token, None)))
}

fn parse_token_id(text: &str) -> Result<TokenId, ApiError> {
    text.parse().map_err(|_| not_found(format!("token {}", echo(text))))
}

/// The user a path names (`self`, or an id in the caller's account) when the caller may do `action` to it;
/// not found otherwise, whether or not the user exists.
async fn visible_user(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: fn(UserId) -> Action<'static>,
) -> Result<User, ApiError> {
    let user_id = if id == "self" {
        principal.user_id
    } else {
        id.parse::<UserId>().map_err(|_| not_found(format!("user {}", echo(id))))?
    };
    if !may(principal, action(user_id)) {
        return Err(not_found(format!("user {}", echo(id))));
    }
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let user = store::user(&mut tx, principal.account_id, user_id).await?;
    lms_db::commit(tx).await?;
    user.ok_or_else(|| not_found(format!("user {}", echo(id))))
}
