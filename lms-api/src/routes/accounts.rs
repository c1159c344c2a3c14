//! Accounts and their users: `GET /api/v1/accounts`, `GET /api/v1/accounts/{id}`,
//! `GET|POST /api/v1/accounts/{id}/users`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use lms_db::{AccountId, Scope};
use serde::Deserialize;

use crate::accounts::{NewUser, is_valid_login, store};
use crate::auth::Principal;
use crate::canvas::{Pagination, Params, lenient};
use crate::error::{not_found, unprocessable};
use crate::policy::{Action, may};
use crate::views::users::{AccountView, UserView};
use crate::{ApiError, AppState};

/// The shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 8;

/// `GET /api/v1/accounts`: the accounts the caller administers (its own, for an admin).
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    params(crate::openapi::PageQuery),
    responses((status = 200, description = "The accounts the caller administers", body = Vec<AccountView>)),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    pagination: Pagination,
) -> Result<Response, ApiError> {
    let mut accounts = Vec::new();
    if may(&principal, Action::ReadAccount(principal.account_id)) && pagination.page == 1 {
        let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
        if let Some(account) = store::account(&mut tx, principal.account_id).await? {
            accounts.push(AccountView::from(&account));
        }
        lms_db::commit(tx).await?;
    }
    Ok(pagination.respond(accounts))
}

/// `GET /api/v1/accounts/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    params(crate::openapi::AccountPath),
    responses((status = 200, description = "The account", body = AccountView)),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let account = account_id(&principal, &id)?;
    if !may(&principal, Action::ReadAccount(account)) {
        return Err(not_found(format!("account {}", crate::error::echo(&id))));
    }
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let found = store::account(&mut tx, account).await?;
    lms_db::commit(tx).await?;
    let account = found.ok_or_else(|| not_found(format!("account {}", crate::error::echo(&id))))?;
    Ok(Json(AccountView::from(&account)))
}

/// Query of `GET /api/v1/accounts/{id}/users`.
#[derive(Debug, Deserialize)]
pub(crate) struct UserSearch {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    search_term: Option<String>,
}

/// `GET /api/v1/accounts/{id}/users`: the account's users, by sortable name.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/users",
    tag = "accounts",
    params(crate::openapi::AccountPath, crate::openapi::PageQuery, ("search_term" = Option<String>, Query, description = "Part of a name or login (2 characters or more)")),
    responses((status = 200, description = "The account's users", body = Vec<UserView>)),
)]
pub(crate) async fn users(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
    Params(search): Params<UserSearch>,
) -> Result<Response, ApiError> {
    let account = managed_account(&principal, &id)?;
    let term = search.search_term.filter(|term| !term.trim().is_empty());
    if term.as_ref().is_some_and(|term| term.trim().chars().count() < 2) {
        return Err(unprocessable("search_term", "at least 2 characters"));
    }
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let users = store::list_users(
        &mut tx,
        account,
        term.as_deref().map(str::trim),
        pagination.offset(),
        pagination.fetch_limit(),
    )
    .await?;
    lms_db::commit(tx).await?;
    Ok(pagination.respond(users.iter().map(UserView::from).collect()))
}

/// Body of `POST /api/v1/accounts/{id}/users`, as Canvas takes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateUser {
    #[serde(default)]
    user: UserFields,
    #[serde(default)]
    #[schema(required = true)]
    pseudonym: PseudonymFields,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct UserFields {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct PseudonymFields {
    /// The login: an email address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(required = true, format = Email)]
    unique_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    password: Option<String>,
}

/// `POST /api/v1/accounts/{id}/users`: an admin adds a user (`user[name]`, `pseudonym[unique_id]`,
/// `pseudonym[password]`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/users",
    tag = "accounts",
    params(crate::openapi::AccountPath),
    request_body(content = CreateUser, content_type = "application/json"),
    responses((status = 200, description = "The new user", body = UserView)),
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(body): Params<CreateUser>,
) -> Result<Json<UserView>, ApiError> {
    let account = managed_account(&principal, &id)?;
    let login = body.pseudonym.unique_id.map(|login| login.trim().to_owned()).unwrap_or_default();
    if !is_valid_login(&login) {
        return Err(unprocessable("pseudonym[unique_id]", "an email address is required"));
    }
    let name = body
        .user
        .name
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| login.split('@').next().unwrap_or_default().to_owned());
    if name.chars().count() > 255 {
        return Err(unprocessable("user[name]", "at most 255 characters"));
    }
    if let Some(password) = &body.pseudonym.password {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(unprocessable("pseudonym[password]", format!("at least {MIN_PASSWORD_CHARS} characters")));
        }
    }
    let new_user = NewUser { name, login_id: login, password: body.pseudonym.password, account_admin: false };
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let user = store::create_user(&mut tx, account, &new_user).await?;
    lms_db::commit(tx).await?;
    Ok(Json(UserView::from(&user)))
}

/// The account named in a path (`self` is the caller's); another account is not found.
fn account_id(principal: &Principal, id: &str) -> Result<AccountId, ApiError> {
    if id == "self" {
        return Ok(principal.account_id);
    }
    id.parse::<AccountId>().map_err(|_| not_found(format!("account {}", crate::error::echo(id))))
}

/// The account named in a path, which the caller must administer; otherwise not found.
fn managed_account(principal: &Principal, id: &str) -> Result<AccountId, ApiError> {
    let account = account_id(principal, id)?;
    if may(principal, Action::ManageUsers(account)) {
        Ok(account)
    } else if account == principal.account_id {
        Err(crate::error::forbidden("only the account's admins manage its users"))
    } else {
        Err(not_found(format!("account {}", crate::error::echo(id))))
    }
}
