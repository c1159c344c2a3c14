//! Who may do what: one function over (principal, action), backed by one table in the code. Handlers ask it
//! and never decide themselves. What a principal may not even see is answered as not found by the handler,
//! so a caller never learns that it exists.

use lms_db::{AccountId, UserId};

use crate::ApiError;
use crate::auth::Principal;

/// Something a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read an account's settings.
    ReadAccount(AccountId),
    /// List, create and manage the users of an account.
    ManageUsers(AccountId),
    /// Read a user's profile.
    ReadUser(UserId),
    /// List, create and delete a user's access tokens.
    ManageTokensOf(UserId),
    /// Upload a lecture (a new job).
    Upload,
    /// Read the caller's account's jobs and replay them.
    ManageJobs,
}

/// Whether `principal` may do `action`. Every target not listed is denied.
pub fn may(principal: &Principal, action: Action) -> bool {
    let admin = principal.account_admin;
    match action {
        Action::ReadAccount(account) | Action::ManageUsers(account) => admin && account == principal.account_id,
        // Rows of another account are out of reach already: their queries name the caller's account.
        Action::ReadUser(user) | Action::ManageTokensOf(user) => user == principal.user_id || admin,
        // Instructors upload; until courses give users their roles, an account's admins are its instructors.
        Action::Upload | Action::ManageJobs => admin,
    }
}

/// The caller's tenant key, when it may do `action` (one that acts on the caller's own account as a whole);
/// refused otherwise.
pub(crate) fn authorized_tenant(principal: &Principal, action: Action) -> Result<String, ApiError> {
    if may(principal, action) {
        Ok(principal.tenant())
    } else {
        Err(crate::error::forbidden(match action {
            Action::Upload => "only the account's instructors and admins upload lectures",
            Action::ManageJobs => "only the account's instructors and admins see its jobs",
            _ => "not allowed",
        }))
    }
}

#[cfg(test)]
mod tests {
    use lms_db::TokenId;

    use super::*;

    fn principal(user: i64, account: i64, admin: bool) -> Principal {
        Principal { user_id: UserId(user), account_id: AccountId(account), account_admin: admin, token_id: TokenId(1) }
    }

    #[test]
    fn the_table() {
        let admin = principal(1, 10, true);
        let member = principal(2, 10, false);
        assert!(may(&admin, Action::ManageUsers(AccountId(10))));
        assert!(!may(&admin, Action::ManageUsers(AccountId(11))), "another account");
        assert!(!may(&member, Action::ManageUsers(AccountId(10))));
        assert!(!may(&member, Action::ReadAccount(AccountId(10))));
        assert!(may(&member, Action::ManageTokensOf(UserId(2))));
        assert!(!may(&member, Action::ManageTokensOf(UserId(1))));
        assert!(may(&admin, Action::ManageTokensOf(UserId(2))));
        assert!(may(&admin, Action::Upload) && !may(&member, Action::Upload));
        assert!(may(&admin, Action::ManageJobs) && !may(&member, Action::ManageJobs));
    }
}
