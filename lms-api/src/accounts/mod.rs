//! Accounts, users and access tokens: who may call the API, and for which tenant.
//!
//! An account is a tenant (a school); every user belongs to one account and signs in with a login (an email
//! address, unique in the account). Account admins manage the account's users and may make tokens for them.
//! Access tokens are random, shown once, stored hashed, and may expire; each use records when it happened.
//! Operators make the first account and its admin with `lms-media accounts create`.

pub mod operators;
pub mod secrets;
pub mod store;

use lms_db::{AccountId, TokenId, UserId};

/// An account (a tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its name.
    pub name: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A user of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// Full name.
    pub name: String,
    /// Name for sorting (`Lee, Ann`).
    pub sortable_name: String,
    /// Name for display in tight places.
    pub short_name: String,
    /// Login: an email address, lower-cased.
    pub login_id: String,
    /// Whether the user administers its account.
    pub account_admin: bool,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Full name.
    pub name: String,
    /// Login (an email address; stored lower-cased).
    pub login_id: String,
    /// A password to sign in with, if any (hashed before it is stored).
    pub password: Option<String>,
    /// Whether the user administers its account.
    pub account_admin: bool,
}

/// An access token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Its id.
    pub id: TokenId,
    /// The account of its user.
    pub account_id: AccountId,
    /// The user it acts as.
    pub user_id: UserId,
    /// The secret's last four characters.
    pub hint: String,
    /// What the user said it is for.
    pub purpose: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// When it stops working, if ever.
    pub expires_at_ms: Option<i64>,
    /// Its last use.
    pub last_used_at_ms: Option<i64>,
}

/// Canvas's `sortable_name` for a full name: `Ann Lee` → `Lee, Ann`.
pub fn sortable_name(name: &str) -> String {
    let name = name.trim();
    match name.rsplit_once(' ') {
        Some((given, family)) if !given.trim().is_empty() => format!("{family}, {}", given.trim()),
        _ => name.to_owned(),
    }
}

/// Whether `login` looks like an email address: one `@` with text on both sides, no spaces, at most 254
/// characters. Deliverability is not our business here.
pub fn is_valid_login(login: &str) -> bool {
    login.len() <= 254
        && !login.chars().any(|c| c.is_whitespace() || c.is_control())
        && login.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && domain.contains('.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_logins() {
        assert_eq!(sortable_name("Ann Lee"), "Lee, Ann");
        assert_eq!(sortable_name("Mary Ann van Dyke"), "Dyke, Mary Ann van");
        assert_eq!(sortable_name("Plato"), "Plato");
        assert!(is_valid_login("ann@school.example"));
        for bad in ["ann", "ann@", "@school.example", "a b@school.example", "ann@school", "a@b@c.d"] {
            assert!(!is_valid_login(bad), "{bad}");
        }
    }
}
