//! `lms-testing` holds what several crates' tests share, so that no test suite keeps its own copy: fresh
//! databases for now. A dev-dependency only; nothing shipped links it.
//!
//! A SQLite database is a file in a temporary folder; a PostgreSQL database is a new database on the server
//! `scripts/setup` runs on loopback (`LMS_MEDIA_TEST_DATABASE_URL` overrides where). The PostgreSQL side
//! fails, not skips, when the server is missing: `scripts/test` starts it. `scripts/test` drops the
//! databases earlier runs left (their names start with `lms_media_t_`).

#![deny(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Connection;

/// The server and database tests connect to first, to create their own.
pub fn postgres_admin_url() -> String {
    std::env::var("LMS_MEDIA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://lms_media:lms_media@127.0.0.1:5432/lms_media_test".into())
}

/// A database that lives as long as the value.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    /// `sqlite` or `postgres`, for messages.
    pub kind: &'static str,
    _folder: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new SQLite file.
    pub fn sqlite() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", folder.path().join("lms.db").display());
        Self { url, kind: "sqlite", _folder: Some(folder) }
    }

    /// A new PostgreSQL database.
    pub async fn postgres() -> Self {
        let admin = postgres_admin_url();
        let name = format!("lms_media_t_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|error| panic!("PostgreSQL at {admin} is not reachable ({error}): run scripts/setup"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.unwrap();
        let base = admin.rsplit_once('/').map(|(base, _)| base.to_owned()).unwrap();
        Self { url: format!("{base}/{name}"), kind: "postgres", _folder: None }
    }

    /// Both kinds, for tests that must pass on each.
    pub async fn both() -> Vec<Self> {
        vec![Self::sqlite(), Self::postgres().await]
    }
}
