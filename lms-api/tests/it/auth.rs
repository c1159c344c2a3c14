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

#[tokio::test]
async fn a_user_signs_in_with_login_and_password_and_gets_a_working_token() {
    for app in TestApp::both().await {
        let created = app
            .form(
                Method::POST,
                "/api/v1/accounts/self/users",
                Some(app.admin()),
                "user[name]=Pat&pseudonym[unique_id]=pat%40north.example&pseudonym[password]=correct-horse-battery",
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{:?}", created.json);
        let sign_in = |form: &'static str| app.form(Method::POST, "/login/oauth2/token", None, form);
        let signed_in =
            sign_in("grant_type=password&username=Pat%40North.example&password=correct-horse-battery").await;
        assert_eq!(signed_in.status, StatusCode::OK, "{} {:?}", app.kind, signed_in.json);
        assert_eq!(signed_in.json["token_type"], "Bearer");
        assert_eq!(signed_in.json["expires_in"], 8 * 3600);
        assert_eq!(signed_in.json["user"]["name"], "Pat");
        let token = signed_in.json["access_token"].as_str().unwrap().to_owned();
        let me = app.get("/api/v1/users/self", Some(&token)).await;
        assert_eq!(me.json["login_id"], "pat@north.example");
        // The token is listed with the user's others, and expires.
        let tokens = app.get("/api/v1/users/self/tokens", Some(&token)).await;
        assert_eq!(tokens.json[0]["purpose"], "password sign-in", "{:?}", tokens.json);
        assert!(tokens.json[0]["expires_at"].is_string());

        // A wrong password and an unknown login get the same answer; other grants are not offered.
        let wrong = sign_in("grant_type=password&username=pat%40north.example&password=wrong-password").await;
        let unknown = sign_in("grant_type=password&username=nobody%40north.example&password=wrong-password").await;
        for refused in [&wrong, &unknown] {
            assert_eq!(refused.status, StatusCode::BAD_REQUEST);
            assert_eq!(refused.json["error"], "invalid_grant");
            assert_eq!(refused.json["error_description"], "the login or the password is wrong");
        }
        let grant = sign_in("grant_type=client_credentials&username=pat%40north.example&password=x").await;
        assert_eq!(grant.json["error"], "unsupported_grant_type");
        // The admin made by the CLI has no password: it cannot sign in with one.
        let admin = sign_in("grant_type=password&username=admin%40north.example&password=").await;
        assert_eq!(admin.json["error"], "invalid_grant");

        // Guessing is slowed: a few attempts per login, then 429 for that login only.
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(sign_in("grant_type=password&username=pat%40north.example&password=guess").await.status);
        }
        assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        let other = sign_in("grant_type=password&username=nobody%40north.example&password=guess").await;
        assert_eq!(other.status, StatusCode::BAD_REQUEST);
    }
}
