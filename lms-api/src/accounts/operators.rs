//! What operators do from the command line, against the same database as `serve`: create an account with
//! its first admin, and make a token for an existing user. System-scoped: no tenant exists yet, or the
//! operator names the user by login across accounts.

use lms_db::{AccountId, Db, Scope};
use serde::Serialize;

use super::{NewUser, is_valid_login, store};
use crate::ApiError;

/// What `lms-media accounts create` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedAccount {
    /// The new account.
    pub account_id: AccountId,
    /// Its first admin.
    pub user_id: lms_db::UserId,
    /// An access token for that admin, shown this once.
    pub token: String,
}

/// Creates an account named `name` whose first admin signs in as `admin_email`, and a token for that admin,
/// in one transaction.
pub async fn create_account(
    db: &Db,
    name: &str,
    admin_email: &str,
    admin_name: Option<&str>,
    admin_password: Option<&str>,
) -> Result<CreatedAccount, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(crate::error::unprocessable("--name", "from 1 to 255 characters"));
    }
    if !is_valid_login(admin_email.trim()) {
        return Err(crate::error::unprocessable("--admin-email", "an email address is required"));
    }
    let admin_name = admin_name
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| admin_email.trim().split('@').next().unwrap_or("admin"));
    let mut tx = db.begin(Scope::System).await?;
    let account = store::create_account(&mut tx, name).await?;
    let new_user = NewUser {
        name: admin_name.to_owned(),
        login_id: admin_email.to_owned(),
        password: admin_password.map(str::to_owned),
        account_admin: true,
    };
    let admin = store::create_user(&mut tx, account.id, &new_user).await?;
    let (_, token) = store::create_token(&mut tx, &admin, "created by lms-media accounts create", None).await?;
    lms_db::commit(tx).await?;
    Ok(CreatedAccount { account_id: account.id, user_id: admin.id, token })
}

/// What `lms-media tokens create` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedToken {
    /// The user's account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: lms_db::UserId,
    /// The token, shown this once.
    pub token: String,
}

/// Makes a token for the user who signs in as `login` (in `account`, when the login exists in several).
pub async fn create_token(
    db: &Db,
    login: &str,
    account: Option<AccountId>,
    purpose: &str,
) -> Result<CreatedToken, ApiError> {
    let mut tx = db.begin(Scope::System).await?;
    let mut users = store::users_by_login(&mut tx, login).await?;
    if let Some(account) = account {
        users.retain(|user| user.account_id == account);
    }
    let user = match users.len() {
        0 => return Err(crate::error::not_found(format!("user {}", crate::error::echo(login)))),
        1 => users.remove(0),
        _ => {
            let accounts: Vec<String> = users.iter().map(|user| user.account_id.to_string()).collect();
            return Err(ApiError::Conflict {
                code: "ambiguous-login",
                message: format!(
                    "{} signs in to accounts {}: name one with --account",
                    crate::error::echo(login),
                    accounts.join(", ")
                ),
            });
        }
    };
    let (_, token) = store::create_token(&mut tx, &user, purpose, None).await?;
    lms_db::commit(tx).await?;
    Ok(CreatedToken { account_id: user.account_id, user_id: user.id, token })
}
