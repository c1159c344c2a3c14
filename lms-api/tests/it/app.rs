//! `TestApp`: the whole router in process, on a fresh database, with local storage and the in-process queue,
//! an account with its admin, and requests sent without a network (`tower::ServiceExt::oneshot`). Hundreds
//! of endpoint and permission tests can each have their own without starting a server.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use lms_api::accounts::operators::{CreatedAccount, create_account, create_token};
use lms_api::{ApiConfig, AppState};
use lms_db::Db;
use lms_pipeline::Queue;
use lms_pipeline::jobs::{JobStore, RetryPolicy};
use lms_pipeline::metrics::Metrics;
use lms_pipeline::queue::MemoryQueue;
use lms_pipeline::storage::StorageConfig;
use lms_testing::TestDatabase;
use serde_json::Value;
use tower::ServiceExt;

/// The host requests name, as a client's base URL would.
pub const HOST: &str = "lms.test:8080";

/// An application on a fresh database.
pub struct TestApp {
    pub router: Router,
    pub db: Db,
    /// The local storage the application writes sources to and serves ladders from.
    pub storage: lms_pipeline::storage::Storage,
    pub kind: &'static str,
    /// The first account and its admin's token.
    pub school: CreatedAccount,
    _database: TestDatabase,
    _folder: tempfile::TempDir,
}

/// An answer, with its body read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl TestResponse {
    /// The first error message of a Canvas error body.
    pub fn error_message(&self) -> String {
        self.json["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
    }
}

impl TestApp {
    /// One application on SQLite and one on PostgreSQL, for tests that must pass on both.
    pub async fn both() -> Vec<TestApp> {
        vec![TestApp::on(TestDatabase::sqlite()).await, TestApp::on(TestDatabase::postgres().await).await]
    }

    pub async fn postgres() -> TestApp {
        TestApp::on(TestDatabase::postgres().await).await
    }

    pub async fn on(database: TestDatabase) -> TestApp {
        TestApp::with_rate_limit(database, None).await
    }

    /// An application whose tokens are limited to `limit`.
    pub async fn with_rate_limit(database: TestDatabase, limit: Option<lms_api::limits::RateLimit>) -> TestApp {
        let db = Db::connect(&database.url).await.unwrap();
        let folder = tempfile::tempdir().unwrap();
        let storage = StorageConfig::Local { root: folder.path().join("storage") }.build().unwrap();
        let state = AppState {
            db: db.clone(),
            store: JobStore::new(db.clone(), RetryPolicy::default()),
            storage: storage.clone(),
            queue: Queue::Memory(MemoryQueue::new()),
            metrics: Metrics::new(),
            config: ApiConfig {
                max_upload_bytes: 10 * 1024 * 1024,
                spool_dir: folder.path().join("spool"),
                public_base_url: format!("http://{HOST}/media"),
                media_root: Some(folder.path().join("storage")),
                ops_token: Some("ops-secret".into()),
                rate_limit: limit,
            },
        };
        let school = create_account(&db, "North High", "admin@north.example", Some("Ada Admin"), None).await.unwrap();
        TestApp {
            router: lms_api::router(state),
            db,
            storage,
            kind: database.kind,
            school,
            _database: database,
            _folder: folder,
        }
    }

    /// Another account, with its admin.
    pub async fn another_account(&self, name: &str, admin: &str) -> CreatedAccount {
        create_account(&self.db, name, admin, None, None).await.unwrap()
    }

    /// A token for an existing user, as `lms-media tokens create` makes it.
    pub async fn token_for(&self, login: &str) -> String {
        create_token(&self.db, login, None, "test").await.unwrap().token
    }

    /// The admin of the first account.
    pub fn admin(&self) -> &str {
        &self.school.token
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path).header(header::HOST, HOST);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = self.router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        TestResponse { status, headers, json }
    }

    /// Sends a request built by the test.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        TestResponse { status, headers, json }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::GET, path, token, None, Vec::new()).await
    }

    /// A form-encoded request, as canvasapi sends every POST, PUT and DELETE.
    pub async fn form(&self, method: Method, path: &str, token: Option<&str>, form: &str) -> TestResponse {
        let content_type = (!form.is_empty()).then_some("application/x-www-form-urlencoded");
        self.request(method, path, token, content_type, form.as_bytes().to_vec()).await
    }

    pub async fn json(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.request(method, path, token, Some("application/json"), body.to_string().into_bytes()).await
    }
}
