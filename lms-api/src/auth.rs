//! Who is asking: the one extractor every protected route takes.
//!
//! [`Principal`] comes from an `Authorization: Bearer <token>` header, looked up by the token's hash in a
//! system-scoped transaction (the tenant is what the look-up finds out). Handlers receive the principal and
//! never parse headers; what it may do is [`crate::policy`]'s answer. The tenant of every request comes from
//! the token, never from a header the client sets.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use lms_db::{AccountId, Db, Scope, TokenId, UserId};

use crate::ApiError;
use crate::accounts::{secrets, store};

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user the token acts as.
    pub user_id: UserId,
    /// That user's account: the tenant of everything the request reads or writes.
    pub account_id: AccountId,
    /// Whether the user administers the account.
    pub account_admin: bool,
    /// The token used.
    pub token_id: TokenId,
}

impl Principal {
    /// The tenant key of the caller's rows (jobs, storage paths).
    pub fn tenant(&self) -> String {
        self.account_id.tenant_key()
    }
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Db: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // A middleware that needed the caller first (idempotency) left it here: no second look-up.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let token = bearer_token(&parts.headers).ok_or(ApiError::InvalidToken)?;
        let db = Db::from_ref(state);
        let mut transaction = db.read(Scope::System).await?;
        let found = store::authenticate(&mut transaction, &secrets::token_hash(token)).await?;
        lms_db::commit(transaction).await?;
        let (token, user) = found.ok_or(ApiError::InvalidToken)?;
        if store::use_is_stale(&token) {
            // Bookkeeping: a failure here does not fail the request.
            let recorded = async {
                let mut transaction = db.begin(Scope::System).await?;
                store::record_use(&mut transaction, &token).await?;
                lms_db::commit(transaction).await
            };
            if let Err(error) = recorded.await {
                tracing::warn!(%error, token_id = %token.id, "could not record a token's use");
            }
        }
        let principal = Principal {
            user_id: user.id,
            account_id: user.account_id,
            account_admin: user.account_admin,
            token_id: token.id,
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case), if the request has one.
/// The one reader of that header: authentication, the rate limit and the operators' endpoints use it.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
}
