//! `Idempotency-Key` on POST and the per-token rate limit, as clients meet them.

use axum::http::{Method, StatusCode};

use crate::app::TestApp;

#[tokio::test]
async fn a_retried_post_with_the_same_key_acts_once() {
    for app in TestApp::both().await {
        let post = |key: &'static str, body: &'static str| {
            let app = &app;
            async move {
                let request = axum::http::Request::builder()
                    .method(Method::POST)
                    .uri("/api/v1/accounts/self/courses")
                    .header("host", crate::app::HOST)
                    .header("authorization", format!("Bearer {}", app.admin()))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("idempotency-key", key)
                    .body(axum::body::Body::from(body))
                    .unwrap();
                app.send(request).await
            }
        };
        let first = post("create-bio-1", "course[name]=Biology").await;
        assert_eq!(first.status, StatusCode::OK, "{} {:?}", app.kind, first.json);
        let again = post("create-bio-1", "course[name]=Biology").await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json["id"], first.json["id"], "the same answer, not a second course");
        assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
        let courses = app.get("/api/v1/accounts/self/courses", Some(app.admin())).await;
        assert_eq!(courses.json.as_array().unwrap().len(), 1);
        // The same key for another request is refused; another key is another course.
        let other = post("create-bio-1", "course[name]=Chemistry").await;
        assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", other.json);
        assert_eq!(post("create-chem-1", "course[name]=Chemistry").await.status, StatusCode::OK);
        // A refused request keeps its answer too: a retry is refused the same way, without running again.
        let refused = post("bad-1", "course[end_at]=soon&course[name]=X").await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            post("bad-1", "course[end_at]=soon&course[name]=X").await.header("idempotent-replayed").as_deref(),
            Some("true")
        );
        // Another user's identical key is its own.
        let south = app.another_account("South High", "admin@south.example").await;
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/accounts/self/courses")
            .header("host", crate::app::HOST)
            .header("authorization", format!("Bearer {}", south.token))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", "create-bio-1")
            .body(axum::body::Body::from("course[name]=Biology"))
            .unwrap();
        let theirs = app.send(request).await;
        assert_eq!(theirs.status, StatusCode::OK);
        assert!(theirs.header("idempotent-replayed").is_none());
        assert_ne!(theirs.json["id"], first.json["id"]);
    }
}

#[tokio::test]
async fn a_token_over_its_limit_gets_429_with_the_remaining_count() {
    let limit = lms_api::limits::RateLimit { per_minute: 1, burst: 3 };
    let app = TestApp::with_rate_limit(lms_testing::TestDatabase::sqlite(), Some(limit)).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = app.get("/api/v1/users/self", Some(app.admin())).await;
        assert_eq!(response.status, StatusCode::OK);
        remaining.push(response.header("x-rate-limit-remaining").unwrap());
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let over = app.get("/api/v1/users/self", Some(app.admin())).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.header("x-rate-limit-remaining").as_deref(), Some("0"));
    assert!(over.header("retry-after").is_some());
    assert_eq!(over.json["errors"][0]["code"], "rate-limited");
    // Another token has its own allowance.
    let south = app.another_account("South High", "admin@south.example").await;
    assert_eq!(app.get("/api/v1/users/self", Some(&south.token)).await.status, StatusCode::OK);
}
