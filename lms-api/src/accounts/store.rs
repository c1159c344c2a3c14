//! The SQL of accounts, users and tokens. Every function takes the caller's transaction, scoped to the
//! account it names (or to the system, where it says so), and names the account in every query as well.

use lms_db::{AccountId, DbError, TokenId, Tx, UserId, query_error};

use super::{AccessToken, Account, NewUser, User, secrets, sortable_name};
use crate::ApiError;

pub(crate) use lms_db::now_ms;

const USER_COLUMNS: &str = "id, account_id, name, sortable_name, short_name, login_id, account_admin, created_at";
const TOKEN_COLUMNS: &str = "id, account_id, user_id, token_hint, purpose, created_at, expires_at, last_used_at";

/// Creates an account (system scope: it has no tenant yet).
pub async fn create_account(tx: &mut Tx, name: &str) -> Result<Account, DbError> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar("INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(query_error("insert account"))?;
    Ok(Account { id: AccountId(id), name: name.to_owned(), created_at_ms: now })
}

/// The account `id`, if the transaction may see it.
pub async fn account(tx: &mut Tx, id: AccountId) -> Result<Option<Account>, DbError> {
    let row: Option<(i64, String, i64)> = sqlx::query_as("SELECT id, name, created_at FROM accounts WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_error("select account"))?;
    Ok(row.map(|(id, name, created_at_ms)| Account { id: AccountId(id), name, created_at_ms }))
}

/// Creates a user in `account`. A login already taken in the account is a conflict.
pub async fn create_user(tx: &mut Tx, account: AccountId, user: &NewUser) -> Result<User, ApiError> {
    let password_hash = match &user.password {
        Some(password) => Some(secrets::hash_password(password).map_err(|error| ApiError::BadRequest {
            code: "invalid-password",
            message: format!("the password cannot be hashed: {error}"),
        })?),
        None => None,
    };
    let login = user.login_id.trim().to_lowercase();
    let name = user.name.trim();
    let inserted: Result<i64, DbError> = sqlx::query_scalar(
        "INSERT INTO users (account_id, name, sortable_name, short_name, login_id, password_hash, account_admin, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(account.0)
    .bind(name)
    .bind(sortable_name(name))
    .bind(name)
    .bind(&login)
    .bind(password_hash)
    .bind(user.account_admin)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("insert user"));
    let id = match inserted {
        Ok(id) => UserId(id),
        Err(error) if error.is_unique_violation() => {
            return Err(ApiError::Conflict {
                code: "login-taken",
                message: format!("the login {} is already taken in this account", crate::error::echo(&login)),
            });
        }
        Err(error) => return Err(error.into()),
    };
    Ok(self::user(tx, account, id).await?.ok_or_else(|| DbError::Corrupt { what: "a new user vanished".into() })?)
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    account_id: i64,
    name: String,
    sortable_name: String,
    short_name: String,
    login_id: String,
    account_admin: lms_db::Flag,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            account_id: AccountId(row.account_id),
            name: row.name,
            sortable_name: row.sortable_name,
            short_name: row.short_name,
            login_id: row.login_id,
            account_admin: row.account_admin.into(),
            created_at_ms: row.created_at,
        }
    }
}

/// The user `id` of `account`.
pub async fn user(tx: &mut Tx, account: AccountId, id: UserId) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2"))
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_error("select user"))?;
    Ok(row.map(User::from))
}

/// The users of `account` with the given ids, in one query.
pub async fn users_by_ids(tx: &mut Tx, account: AccountId, ids: &[UserId]) -> Result<Vec<User>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers, so a literal list is safe; one statement whatever the count.
    let list: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND id IN ({})",
        list.join(",")
    ))
    .bind(account.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("select users"))?;
    Ok(rows.into_iter().map(User::from).collect())
}

/// Every user with the login `login`, in any account (system scope: for operators' commands).
pub async fn users_by_login(tx: &mut Tx, login: &str) -> Result<Vec<User>, DbError> {
    let rows: Vec<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE login_id = $1 ORDER BY account_id"))
            .bind(login.trim().to_lowercase())
            .fetch_all(&mut **tx)
            .await
            .map_err(query_error("select users by login"))?;
    Ok(rows.into_iter().map(User::from).collect())
}

/// Every user with the login `login`, in any account, with its password hash (system scope: signing in
/// happens before the tenant is known).
pub async fn credentials_by_login(tx: &mut Tx, login: &str) -> Result<Vec<(User, Option<String>)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct CredentialRow {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: Option<String>,
    }
    let rows: Vec<CredentialRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE login_id = $1 ORDER BY account_id"
    ))
    .bind(login.trim().to_lowercase())
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("select credentials"))?;
    Ok(rows.into_iter().map(|row| (User::from(row.user), row.password_hash)).collect())
}

/// A page of `account`'s users, by sortable name, optionally those whose name or login contains `search`.
pub async fn list_users(
    tx: &mut Tx,
    account: AccountId,
    search: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<User>, DbError> {
    let pattern = search.map(|term| format!("%{}%", term.to_lowercase().replace(['%', '_', '\\'], "")));
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 \
         AND ($2 IS NULL OR LOWER(name) LIKE $2 OR login_id LIKE $2) \
         ORDER BY sortable_name, id LIMIT $3 OFFSET $4"
    ))
    .bind(account.0)
    .bind(pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("list users"))?;
    Ok(rows.into_iter().map(User::from).collect())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    account_id: i64,
    user_id: i64,
    token_hint: String,
    purpose: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl From<TokenRow> for AccessToken {
    fn from(row: TokenRow) -> Self {
        AccessToken {
            id: TokenId(row.id),
            account_id: AccountId(row.account_id),
            user_id: UserId(row.user_id),
            hint: row.token_hint,
            purpose: row.purpose,
            created_at_ms: row.created_at,
            expires_at_ms: row.expires_at,
            last_used_at_ms: row.last_used_at,
        }
    }
}

/// Makes a token for `user`; returns it with its secret, which is not stored.
pub async fn create_token(
    tx: &mut Tx,
    user: &User,
    purpose: &str,
    expires_at_ms: Option<i64>,
) -> Result<(AccessToken, String), DbError> {
    let secret = secrets::new_token();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_tokens (account_id, user_id, token_hash, token_hint, purpose, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(user.account_id.0)
    .bind(user.id.0)
    .bind(&secret.hash)
    .bind(&secret.hint)
    .bind(purpose)
    .bind(now_ms())
    .bind(expires_at_ms)
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("insert token"))?;
    let token = self::token(tx, user.account_id, user.id, TokenId(id))
        .await?
        .ok_or_else(|| DbError::Corrupt { what: "a new token vanished".into() })?;
    Ok((token, secret.token))
}

/// The tokens of `user`, newest first.
pub async fn tokens_of(tx: &mut Tx, account: AccountId, user: UserId) -> Result<Vec<AccessToken>, DbError> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE account_id = $1 AND user_id = $2 ORDER BY id DESC"
    ))
    .bind(account.0)
    .bind(user.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("list tokens"))?;
    Ok(rows.into_iter().map(AccessToken::from).collect())
}

/// The token `id` of `user`.
pub async fn token(tx: &mut Tx, account: AccountId, user: UserId, id: TokenId) -> Result<Option<AccessToken>, DbError> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE id = $1 AND account_id = $2 AND user_id = $3"
    ))
    .bind(id.0)
    .bind(account.0)
    .bind(user.0)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select token"))?;
    Ok(row.map(AccessToken::from))
}

/// Deletes the token `id` of `user`; false when there was none.
pub async fn delete_token(tx: &mut Tx, account: AccountId, user: UserId, id: TokenId) -> Result<bool, DbError> {
    let deleted = sqlx::query("DELETE FROM access_tokens WHERE id = $1 AND account_id = $2 AND user_id = $3")
        .bind(id.0)
        .bind(account.0)
        .bind(user.0)
        .execute(&mut **tx)
        .await
        .map_err(query_error("delete token"))?;
    Ok(deleted.rows_affected() == 1)
}

/// The live token whose secret hashes to `hash`, and its user (system scope: the tenant is what this finds
/// out). An expired token is not returned.
pub async fn authenticate(tx: &mut Tx, hash: &str) -> Result<Option<(AccessToken, User)>, DbError> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
    ))
    .bind(hash)
    .bind(now_ms())
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("look up token"))?;
    let Some(token) = row.map(AccessToken::from) else { return Ok(None) };
    let user = user(tx, token.account_id, token.user_id).await?;
    Ok(user.map(|user| (token, user)))
}

/// Records that `token` was used now, at most once a minute so that a busy client does not write on every
/// request (system scope).
pub async fn record_use(tx: &mut Tx, token: &AccessToken) -> Result<(), DbError> {
    let now = now_ms();
    sqlx::query(
        "UPDATE access_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(token.id.0)
    .bind(now - 60_000)
    .execute(&mut **tx)
    .await
    .map_err(query_error("record token use"))?;
    Ok(())
}

/// Whether `token`'s last recorded use is old enough to record again.
pub fn use_is_stale(token: &AccessToken) -> bool {
    token.last_used_at_ms.is_none_or(|last| last < now_ms() - 60_000)
}
