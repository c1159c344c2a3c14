//! Accounts and their users, in Canvas's paths and shapes: form-encoded and JSON bodies, 409 and 422 naming
//! the field, pages linked absolutely, and nothing of another account visible.

use axum::http::{Method, StatusCode};

use crate::app::{HOST, TestApp};

const ANN: &str = "user[name]=Ann+Lee&user[terms_of_use]=true&pseudonym[unique_id]=ann%40north.example\
                   &pseudonym[password]=correct-horse&pseudonym[send_confirmation]=false\
                   &communication_channel[skip_confirmation]=true";

#[tokio::test]
async fn an_admin_adds_users_as_canvas_clients_send_them() {
    for app in TestApp::both().await {
        let account = app.school.account_id.0;
        let path = format!("/api/v1/accounts/{account}/users");
        let ann = app.form(Method::POST, &path, Some(app.admin()), ANN).await;
        assert_eq!(ann.status, StatusCode::OK, "{} {:?}", app.kind, ann.json);
        assert_eq!(ann.json["name"], "Ann Lee");
        assert_eq!(ann.json["sortable_name"], "Lee, Ann");
        assert_eq!(ann.json["login_id"], "ann@north.example");
        assert!(ann.json["id"].is_i64());
        assert!(ann.json.get("password").is_none() && ann.json.get("password_hash").is_none());

        // The same in JSON.
        let body = serde_json::json!({"user": {"name": "Bo Chen"}, "pseudonym": {"unique_id": "BO@north.example"}});
        let bo = app.json(Method::POST, &path, Some(app.admin()), body).await;
        assert_eq!(bo.status, StatusCode::OK, "{:?}", bo.json);
        assert_eq!(bo.json["login_id"], "bo@north.example", "logins are lower-cased");

        // A login is taken once per account, whatever its case.
        let again = app.form(Method::POST, &path, Some(app.admin()), &ANN.replace("ann%40", "ANN%40")).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.json);
        assert!(again.error_message().contains("ann@north.example"));

        let no_email = app.form(Method::POST, &path, Some(app.admin()), "user[name]=X&pseudonym[unique_id]=x").await;
        assert_eq!(no_email.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_email.error_message().starts_with("pseudonym[unique_id]"), "{}", no_email.error_message());
        let short = app
            .form(
                Method::POST,
                &path,
                Some(app.admin()),
                "pseudonym[unique_id]=c%40north.example&pseudonym[password]=abc",
            )
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(short.error_message().starts_with("pseudonym[password]"));
        let clash = app.form(Method::POST, &path, Some(app.admin()), "user=1&user[name]=2").await;
        assert_eq!(clash.status, StatusCode::BAD_REQUEST);
        assert!(clash.error_message().contains("user[name]"), "{}", clash.error_message());

        // Nothing half-written: the refused requests added nobody.
        let listed = app.get(&format!("{path}?per_page=100"), Some(app.admin())).await;
        assert_eq!(listed.json.as_array().unwrap().len(), 3, "{:?}", listed.json);
    }
}

#[tokio::test]
async fn members_and_other_accounts_are_kept_out() {
    for app in TestApp::both().await {
        let account = app.school.account_id.0;
        let path = format!("/api/v1/accounts/{account}/users");
        assert_eq!(app.form(Method::POST, &path, Some(app.admin()), ANN).await.status, StatusCode::OK);
        let ann = app.token_for("ann@north.example").await;
        // A member may not manage the account's users: told so, since it knows its own account exists.
        assert_eq!(app.get(&path, Some(&ann)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.form(Method::POST, &path, Some(&ann), ANN).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/api/v1/accounts/{account}"), Some(&ann)).await.status, StatusCode::NOT_FOUND);

        // Another school's admin sees none of it: the same 404 as an account that does not exist.
        let south = app.another_account("South High", "admin@south.example").await;
        for probe in [format!("/api/v1/accounts/{account}"), path.clone(), "/api/v1/accounts/999999".into()] {
            let response = app.get(&probe, Some(&south.token)).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{} {probe}", app.kind);
        }
        let own = app.get("/api/v1/accounts", Some(&south.token)).await;
        assert_eq!(own.json.as_array().unwrap().len(), 1);
        assert_eq!(own.json[0]["name"], "South High");
        assert_eq!(app.get("/api/v1/accounts/self", Some(&south.token)).await.json["name"], "South High");
    }
}

#[tokio::test]
async fn user_lists_page_with_absolute_links_that_keep_every_parameter() {
    for app in TestApp::both().await {
        let account = app.school.account_id.0;
        let path = format!("/api/v1/accounts/{account}/users");
        for number in 0..24 {
            let form = format!("user[name]=Student+{number:02}&pseudonym[unique_id]=s{number}%40north.example");
            assert_eq!(app.form(Method::POST, &path, Some(app.admin()), &form).await.status, StatusCode::OK);
        }
        let mut next = Some(format!("http://{HOST}{path}?search_term=student&per_page=10"));
        let mut names = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            let relative = url.strip_prefix(&format!("http://{HOST}")).expect("the link keeps the client's origin");
            let page = app.get(relative, Some(app.admin())).await;
            assert_eq!(page.status, StatusCode::OK, "{:?}", page.json);
            pages += 1;
            names.extend(page.json.as_array().unwrap().iter().map(|user| user["name"].as_str().unwrap().to_owned()));
            let link = page.header("link").unwrap();
            next = link
                .split(',')
                .find(|part| part.contains("rel=\"next\""))
                .map(|part| part.trim().trim_start_matches('<').split('>').next().unwrap().to_owned());
            if let Some(next) = &next {
                assert!(next.contains("search_term=student"), "{next}");
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(names.len(), 24, "the admin does not match the search");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "by sortable name, no duplicates across pages");
        sorted.dedup();
        assert_eq!(sorted.len(), 24);

        // canvasapi sends its own per_page and then 100: the last wins, capped at 100.
        let all = app.get(&format!("{path}?per_page=1&per_page=100"), Some(app.admin())).await;
        assert_eq!(all.json.as_array().unwrap().len(), 25);
        assert!(!all.header("link").unwrap().contains("rel=\"next\""));
        let capped = app.get(&format!("{path}?per_page=1000"), Some(app.admin())).await;
        assert_eq!(capped.json.as_array().unwrap().len(), 25);
        assert!(capped.header("link").unwrap().contains("per_page=100"));
        let bad = app.get(&format!("{path}?page=0"), Some(app.admin())).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
}
