//! Accounts, users and access tokens, in Canvas's shapes.

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::{AccessToken, Account, User};
use crate::views::iso_time;

/// Canvas's Account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Always `active` for now.
    pub workflow_state: &'static str,
    /// Accounts are roots here: null.
    pub parent_account_id: Option<i64>,
    /// Accounts are roots here: null.
    pub root_account_id: Option<i64>,
    /// Creation time.
    pub created_at: Option<String>,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        AccountView {
            id: account.id.0,
            name: account.name.clone(),
            workflow_state: "active",
            parent_account_id: None,
            root_account_id: None,
            created_at: iso_time(account.created_at_ms),
        }
    }
}

/// Canvas's User.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Its id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// `Lee, Ann`.
    pub sortable_name: String,
    /// Short display name.
    pub short_name: String,
    /// The login (an email address); only for the user, the course's staff and the account's admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    /// The same address, as Canvas shows it to those who may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Our addition: the account the user belongs to.
    pub account_id: i64,
    /// Our addition: whether the user administers that account.
    pub account_admin: bool,
}

impl UserView {
    /// The view a fellow participant gets: no email address.
    pub fn without_contact(user: &User) -> Self {
        UserView { login_id: None, email: None, ..UserView::from(user) }
    }
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id.0,
            name: user.name.clone(),
            sortable_name: user.sortable_name.clone(),
            short_name: user.short_name.clone(),
            login_id: Some(user.login_id.clone()),
            email: Some(user.login_id.clone()),
            created_at: iso_time(user.created_at_ms),
            account_id: user.account_id.0,
            account_admin: user.account_admin,
        }
    }
}

/// Canvas's access token: the secret (`visible_token`) only in the answer that created it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: i64,
    /// The user it acts as.
    pub user_id: i64,
    /// What it is for.
    pub purpose: String,
    /// The secret's last four characters.
    pub token_hint: String,
    /// The secret itself, once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_token: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// When it stops working (null: never).
    pub expires_at: Option<String>,
    /// Its last use (null: never used).
    pub last_used_at: Option<String>,
}

impl TokenView {
    /// The view of `token`, with its secret when it was just made.
    pub fn new(token: &AccessToken, secret: Option<String>) -> Self {
        TokenView {
            id: token.id.0,
            user_id: token.user_id.0,
            purpose: token.purpose.clone(),
            token_hint: token.hint.clone(),
            visible_token: secret,
            created_at: iso_time(token.created_at_ms),
            expires_at: token.expires_at_ms.and_then(iso_time),
            last_used_at: token.last_used_at_ms.and_then(iso_time),
        }
    }
}
