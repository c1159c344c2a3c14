//! Access tokens: shown once, stored hashed, listed without secrets, deleted for good; an admin may make
//! one for a user of its account, nobody for a user of another.

use axum::http::{Method, StatusCode};

use crate::app::TestApp;

#[tokio::test]
async fn a_user_makes_lists_uses_and_deletes_its_tokens() {
    for app in TestApp::both().await {
        let made = app
            .form(
                Method::POST,
                "/api/v1/users/self/tokens",
                Some(app.admin()),
                "token[purpose]=nightly+sync&token[expires_at]=2099-01-01T00:00:00",
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{} {:?}", app.kind, made.json);
        let secret = made.json["visible_token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("lmsm_"));
        assert_eq!(made.json["expires_at"], "2099-01-01T00:00:00Z");
        assert_eq!(made.json["purpose"], "nightly sync");

        let listed = app.get("/api/v1/users/self/tokens", Some(&secret)).await;
        let tokens = listed.json.as_array().unwrap();
        assert_eq!(tokens.len(), 2, "the bootstrap token and the new one");
        assert!(tokens.iter().all(|token| token.get("visible_token").is_none()), "secrets are shown once");
        assert_eq!(tokens[0]["token_hint"], secret[secret.len() - 4..]);
        assert!(tokens[0]["last_used_at"].is_string(), "its use is recorded: {:?}", tokens[0]);

        let id = made.json["id"].as_i64().unwrap();
        let deleted = app
            .request(Method::DELETE, &format!("/api/v1/users/self/tokens/{id}"), Some(app.admin()), None, Vec::new())
            .await;
        assert_eq!(deleted.status, StatusCode::OK);
        assert_eq!(deleted.json["id"], id, "a JSON body, never an empty 204");
        assert_eq!(app.get("/api/v1/users/self", Some(&secret)).await.status, StatusCode::UNAUTHORIZED);
        let again = app
            .request(Method::DELETE, &format!("/api/v1/users/self/tokens/{id}"), Some(app.admin()), None, Vec::new())
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);

        for (form, field) in [
            ("token[expires_at]=2001-01-01T00:00:00Z", "token[expires_at]"),
            ("token[expires_at]=soon", "token[expires_at]"),
        ] {
            let refused = app.form(Method::POST, "/api/v1/users/self/tokens", Some(app.admin()), form).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
            assert!(refused.error_message().starts_with(field));
        }
    }
}

#[tokio::test]
async fn admins_make_tokens_for_their_users_and_nobody_crosses_accounts() {
    for app in TestApp::both().await {
        let account = app.school.account_id.0;
        let ann = app
            .form(
                Method::POST,
                &format!("/api/v1/accounts/{account}/users"),
                Some(app.admin()),
                "user[name]=Ann+Lee&pseudonym[unique_id]=ann%40north.example",
            )
            .await;
        let ann_id = ann.json["id"].as_i64().unwrap();
        let admin_id = app.school.user_id.0;

        let for_ann = app.form(Method::POST, &format!("/api/v1/users/{ann_id}/tokens"), Some(app.admin()), "").await;
        assert_eq!(for_ann.status, StatusCode::OK, "{:?}", for_ann.json);
        let ann_token = for_ann.json["visible_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/api/v1/users/self", Some(&ann_token)).await.json["id"], ann_id);

        // Ann may not make, list or read tokens of her admin, nor read her admin: not found.
        for path in [format!("/api/v1/users/{admin_id}/tokens"), format!("/api/v1/users/{admin_id}")] {
            assert_eq!(app.get(&path, Some(&ann_token)).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        let refused = app.form(Method::POST, &format!("/api/v1/users/{admin_id}/tokens"), Some(&ann_token), "").await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);

        // Another account's admin cannot reach Ann at all.
        let south = app.another_account("South High", "admin@south.example").await;
        for path in [format!("/api/v1/users/{ann_id}"), format!("/api/v1/users/{ann_id}/tokens")] {
            assert_eq!(app.get(&path, Some(&south.token)).await.status, StatusCode::NOT_FOUND, "{} {path}", app.kind);
        }
        let stolen = app.form(Method::POST, &format!("/api/v1/users/{ann_id}/tokens"), Some(&south.token), "").await;
        assert_eq!(stolen.status, StatusCode::NOT_FOUND);
    }
}
