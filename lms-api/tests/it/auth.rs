//! Who is asking: tokens in, 401s out, and the operators' endpoints kept off the public API.

use axum::http::{Method, StatusCode};
use lms_db::Scope;

use crate::app::TestApp;

#[tokio::test]
async fn requests_without_a_valid_token_get_canvas_401s() {
    for app in TestApp::both().await {
        let valid = app.admin().to_owned();
        for token in [None, Some("nonsense"), Some(""), Some(&valid[..valid.len() - 1])] {
            let response = app.get("/api/v1/users/self", token).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{} {token:?}", app.kind);
            assert_eq!(response.header("www-authenticate").as_deref(), Some("Bearer realm=\"canvas-lms\""));
            assert_eq!(response.error_message(), "Invalid access token.");
        }
        // Another scheme is not a bearer token.
        let response = app.request(Method::GET, "/api/v1/users/self", None, None, Vec::new()).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        let me = app.get("/api/v1/users/self", Some(&valid)).await;
        assert_eq!(me.status, StatusCode::OK, "{:?}", me.json);
        assert_eq!(me.json["name"], "Ada Admin");
        assert_eq!(me.json["login_id"], "admin@north.example");
        assert_eq!(me.json["account_admin"], true);
    }
}

#[tokio::test]
async fn an_expired_token_stops_working() {
    for app in TestApp::both().await {
        let token = app.token_for("admin@north.example").await;
        assert_eq!(app.get("/api/v1/users/self", Some(&token)).await.status, StatusCode::OK);
        let mut tx = app.db.begin(Scope::System).await.unwrap();
        let hash = lms_api::accounts::secrets::token_hash(&token);
        sqlx::query("UPDATE access_tokens SET expires_at = 1 WHERE token_hash = $1")
            .bind(hash)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(app.get("/api/v1/users/self", Some(&token)).await.status, StatusCode::UNAUTHORIZED, "{}", app.kind);
        // The account's other token still works.
        assert_eq!(app.get("/api/v1/users/self", Some(app.admin())).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn metrics_need_the_operators_token_and_health_needs_none() {
    let app = TestApp::on(lms_testing::TestDatabase::sqlite()).await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    // Not even a user's token opens /metrics, and its existence is not told.
    assert_eq!(app.get("/metrics", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/metrics", Some(app.admin())).await.status, StatusCode::NOT_FOUND);
    let scraped = app.get("/metrics", Some("ops-secret")).await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert!(scraped.json.as_str().unwrap_or_default().contains("lms_media_jobs"), "{:?}", scraped.json);
}
