//! `lms-db` owns the database: the one connection pool that job rows, outbox rows and LMS rows share (so they
//! can change in one transaction), the versioned migrations of each dialect, typed ids, and the
//! tenant-scoped transaction that every request's work runs in.
//!
//! - PostgreSQL is the reference; SQLite serves the embedded mode (`lms-media serve` with no configuration).
//!   Both run the same query text through sqlx's `Any` driver, so each store is written once. The column
//!   types are those both read alike: `TEXT`, `BIGINT` and `DOUBLE PRECISION`, and booleans read as
//!   [`Flag`] (`BOOLEAN` on PostgreSQL, `INTEGER` on SQLite, which `Any` cannot read as `BOOLEAN`); times
//!   are Unix milliseconds.
//! - Migrations live in `migrations/postgres/` and `migrations/sqlite/`, numbered, embedded in the binary by
//!   `sqlx::migrate!` and applied at every connect (PostgreSQL takes an advisory lock, so processes that
//!   start together apply them once). `lms-media migrate` applies them alone.
//! - On PostgreSQL every tenant-owned table has row-level security enabled and forced. The server switches
//!   to the role `lms_media_app`, which owns nothing, and [`Db::begin`] names the tenant of each transaction
//!   ([`Scope::Tenant`]) or marks it as the system's ([`Scope::System`]: workers, the relay, token look-up).
//!   A transaction that names neither sees no row. SQLite has no such layer: there, as everywhere, every
//!   query names its tenant.

#![deny(missing_docs)]

mod error;
mod flag;
pub mod ids;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection, Row};

pub use error::{DbError, query_error};
pub use flag::Flag;
pub use ids::{AccountId, CourseId, EnrollmentId, MediaObjectId, ModuleId, ModuleItemId, TokenId, UserId};

/// A transaction on either database.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// This process's clock in Unix milliseconds, for the times rows record (creation, last change). Leases
/// and deadlines use the database's clock instead ([`Dialect::now_ms_sql`]).
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Commits `transaction`, naming the failure as the others are named.
pub async fn commit(transaction: Tx) -> Result<(), DbError> {
    transaction.commit().await.map_err(query_error("commit"))
}

/// The role the server works as on PostgreSQL: it owns nothing, so row-level security applies to it.
pub const APP_ROLE: &str = "lms_media_app";

/// Which SQL the database speaks, where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, in a file (the embedded mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL.
    pub fn of_url(url: &str) -> Result<Dialect, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(DbError::UnsupportedUrl { url: without_password(url) })
        }
    }

    /// The database's clock in Unix milliseconds, as an SQL expression. Leases and deadlines are set and
    /// checked on this one clock: machines that run workers may disagree about the time.
    pub fn now_ms_sql(self) -> &'static str {
        match self {
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            // `julianday('now')` has millisecond resolution.
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }
}

/// Whose rows a transaction may see and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One tenant's: the key its rows carry (an account id in decimal, see [`AccountId::tenant_key`]).
    Tenant(&'a str),
    /// Every tenant's, for work done on behalf of the system: workers, the relay, authentication.
    System,
}

/// The database: a pool of connections and the dialect they speak.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
}

/// A migration that was applied, for `lms-media migrate`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedMigration {
    /// Its number.
    pub version: i64,
    /// Its file name's description.
    pub description: String,
}

fn migrator(dialect: Dialect) -> sqlx::migrate::Migrator {
    match dialect {
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
    }
}

fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Db {
    /// Connects to `url` (`sqlite:///path/lms.db?mode=rwc` or `postgres://…`), applies the migrations that
    /// are missing and, on PostgreSQL, switches every connection to [`APP_ROLE`].
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        let use_app_role = migrate_and_grant(url, dialect).await?;
        let pool = AnyPoolOptions::new()
            // SQLite takes one writer at a time; a small pool avoids "database is locked" storms.
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 10 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    match dialect {
                        Dialect::Sqlite => {
                            // Readers never wait for the writer; writers wait for each other instead of failing.
                            sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *connection).await?;
                            sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *connection).await?;
                            sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *connection).await?;
                        }
                        Dialect::Postgres if use_app_role => {
                            sqlx::query(&format!("SET ROLE {APP_ROLE}")).execute(&mut *connection).await?;
                        }
                        Dialect::Postgres => {}
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(query_error("connect"))?;
        Ok(Db { pool, dialect })
    }

    /// Applies the missing migrations of `url`'s database and lists every applied one.
    pub async fn migrate(url: &str) -> Result<Vec<AppliedMigration>, DbError> {
        let db = Db::connect(url).await?;
        let mut transaction = db.read(Scope::System).await?;
        let rows = sqlx::query("SELECT version, description FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *transaction)
            .await
            .map_err(query_error("list migrations"))?;
        rows.iter()
            .map(|row| {
                Ok(AppliedMigration {
                    version: row.try_get("version").map_err(query_error("read migration"))?,
                    description: row.try_get("description").map_err(query_error("read migration"))?,
                })
            })
            .collect()
    }

    /// The dialect, for the few statements that differ.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Starts a transaction that may write, and sees and writes only the rows `scope` allows (enforced by
    /// row-level security on PostgreSQL; on SQLite the queries' own tenant conditions do it alone).
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a
    /// transaction that read first and wrote later would otherwise fail at its first write whenever another
    /// connection committed in between.
    pub async fn begin(&self, scope: Scope<'_>) -> Result<Tx, DbError> {
        let transaction = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        };
        self.scoped(transaction.map_err(query_error("begin"))?, scope).await
    }

    /// Starts a transaction that only reads, scoped like [`Db::begin`]; on SQLite it does not wait for
    /// writers.
    pub async fn read(&self, scope: Scope<'_>) -> Result<Tx, DbError> {
        let transaction = self.pool.begin().await.map_err(query_error("begin"))?;
        self.scoped(transaction, scope).await
    }

    async fn scoped(&self, mut transaction: Tx, scope: Scope<'_>) -> Result<Tx, DbError> {
        if self.dialect == Dialect::Postgres {
            // `set_config(…, true)` lasts until the transaction ends, so a pooled connection keeps nothing.
            let (tenant, system) = match scope {
                Scope::Tenant(tenant) => (tenant, "off"),
                Scope::System => ("", "on"),
            };
            sqlx::query("SELECT set_config('lms.tenant_id', $1, true), set_config('lms.system', $2, true)")
                .bind(tenant)
                .bind(system)
                .execute(&mut *transaction)
                .await
                .map_err(query_error("set the transaction's tenant"))?;
        }
        Ok(transaction)
    }

    /// Checks the database answers, for readiness probes.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(query_error("ping"))?;
        Ok(())
    }
}

/// Applies the migrations on a connection of its own (as the URL's role, which owns the tables), then grants
/// [`APP_ROLE`] the rows' privileges. Returns whether the pool should switch to that role.
async fn migrate_and_grant(url: &str, dialect: Dialect) -> Result<bool, DbError> {
    let mut connection = sqlx::AnyConnection::connect(url).await.map_err(query_error("connect"))?;
    migrator(dialect).run(&mut connection).await.map_err(DbError::Migrate)?;
    if dialect == Dialect::Sqlite {
        connection.close().await.map_err(query_error("close"))?;
        return Ok(false);
    }
    let row = sqlx::query(
        "SELECT current_user::text AS role, \
         (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) AS bypasses, \
         EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) \
            AND pg_has_role(current_user, $1, 'MEMBER') AS may_use_app_role",
    )
    .bind(APP_ROLE)
    .fetch_one(&mut connection)
    .await
    .map_err(query_error("read the connecting role"))?;
    let role: String = row.try_get("role").map_err(query_error("read the connecting role"))?;
    let bypasses: bool = row.try_get("bypasses").map_err(query_error("read the connecting role"))?;
    let may_use_app_role: bool = row.try_get("may_use_app_role").map_err(query_error("read the connecting role"))?;
    if may_use_app_role {
        // Idempotent: tables a later migration adds are covered at the next start.
        for statement in [
            format!("GRANT USAGE ON SCHEMA public TO {APP_ROLE}"),
            format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"),
            format!("REVOKE ALL ON _sqlx_migrations FROM {APP_ROLE}"),
        ] {
            sqlx::query(&statement).execute(&mut connection).await.map_err(query_error("grant the app role"))?;
        }
    } else if bypasses {
        return Err(DbError::BypassesRowSecurity { role, app_role: APP_ROLE.into() });
    } else {
        tracing::warn!(
            %role,
            "the role {APP_ROLE} is not available: working as the tables' owner (row-level security is forced, so it still applies)"
        );
    }
    connection.close().await.map_err(query_error("close"))?;
    Ok(may_use_app_role)
}
