//! The one error type of `lms-db`.

/// What went wrong with the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// A statement or connection failed.
    #[error("database: {operation}")]
    Query {
        /// What was being done (`connect`, `insert user`, …).
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The migrations could not be applied.
    #[error("database: applying migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The database URL names no database we support.
    #[error("database URL {url:?}: only postgres:// and sqlite: URLs are supported")]
    UnsupportedUrl {
        /// The URL, without its password.
        url: String,
    },
    /// Connecting this way would let the server bypass row-level security.
    #[error(
        "database role {role:?} bypasses row-level security (superuser or BYPASSRLS) and the unprivileged role \
         {app_role:?} is not available to it: create it (docs/DEPLOY.md) or connect as an ordinary owner"
    )]
    BypassesRowSecurity {
        /// The role the URL connects as.
        role: String,
        /// The role the server would switch to.
        app_role: String,
    },
    /// A stored value is not what the code expects.
    #[error("database: {what}")]
    Corrupt {
        /// What was wrong.
        what: String,
    },
}

impl DbError {
    /// Whether trying again later may succeed (the server is down or busy), as opposed to a bad statement.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Query { source, .. } => matches!(
                source,
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }

    /// Whether a unique constraint refused the write (a duplicate login, say).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Query { source: sqlx::Error::Database(error), .. } => error.is_unique_violation(),
            _ => false,
        }
    }
}

/// Maps a driver error to [`DbError::Query`] naming `operation`.
pub fn query_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query { operation, source }
}
