//! Typed ids: an account id cannot be passed where a user id is expected.
//!
//! LMS rows have integer ids, as Canvas's API does; jobs keep their UUIDs. Each id is a newtype that
//! serializes as its bare value, so JSON views show `"id": 5`.

use std::fmt;

macro_rules! integer_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }
    };
}

integer_id!(
    /// An account: a school, the tenant that owns everything below it.
    AccountId
);
integer_id!(
    /// A user of one account.
    UserId
);
integer_id!(
    /// An access token (its row, not its secret).
    TokenId
);

impl AccountId {
    /// The tenant key this account's rows carry where a table keys by text (jobs, storage paths).
    pub fn tenant_key(self) -> String {
        self.0.to_string()
    }
}
integer_id!(
    /// A course.
    CourseId
);
integer_id!(
    /// A user's enrollment in a course.
    EnrollmentId
);
integer_id!(
    /// A module of a course.
    ModuleId
);
integer_id!(
    /// An item of a module.
    ModuleItemId
);
integer_id!(
    /// A media object (a lecture video of a course).
    MediaObjectId
);
