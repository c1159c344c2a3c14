//! Uploads and jobs under tokens: instructors (for now, admins) upload; the job belongs to the uploader's
//! account, and no other account learns that it exists.

use axum::http::{Method, StatusCode};

use crate::app::{TestApp, TestResponse};

/// The first bytes of an MP4 file: enough for the upload's type check, which reads the bytes, not the name.
fn tiny_mp4() -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0x20];
    bytes.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2avc1mp41");
    bytes.extend_from_slice(&[0u8; 64]);
    bytes
}

async fn upload(app: &TestApp, token: Option<&str>) -> TestResponse {
    let mut body = Vec::new();
    body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lecture.mp4\"\r\n");
    body.extend_from_slice(b"Content-Type: video/mp4\r\n\r\n");
    body.extend_from_slice(&tiny_mp4());
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    app.request(Method::POST, "/api/v1/uploads", token, Some("multipart/form-data; boundary=XyZ"), body).await
}

#[tokio::test]
async fn uploads_and_jobs_belong_to_the_uploaders_account() {
    for app in TestApp::both().await {
        assert_eq!(upload(&app, None).await.status, StatusCode::UNAUTHORIZED);
        let created = upload(&app, Some(app.admin())).await;
        assert_eq!(created.status, StatusCode::CREATED, "{} {:?}", app.kind, created.json);
        let id = created.json["id"].as_str().unwrap().to_owned();
        assert_eq!(created.json["state"], "queued");

        let shown = app.get(&format!("/api/v1/jobs/{id}"), Some(app.admin())).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert_eq!(shown.json["source_name"], "lecture.mp4");

        // A member of the account who is not an instructor may not upload or see jobs.
        let account = app.school.account_id.0;
        let member = app
            .form(
                Method::POST,
                &format!("/api/v1/accounts/{account}/users"),
                Some(app.admin()),
                "pseudonym[unique_id]=ann%40north.example",
            )
            .await;
        assert_eq!(member.status, StatusCode::OK);
        let ann = app.token_for("ann@north.example").await;
        assert_eq!(upload(&app, Some(&ann)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/api/v1/jobs/{id}"), Some(&ann)).await.status, StatusCode::FORBIDDEN);

        // Another account's admin: the job does not exist for it, to read, follow or replay.
        let south = app.another_account("South High", "admin@south.example").await;
        for (method, path) in [
            (Method::GET, format!("/api/v1/jobs/{id}")),
            (Method::GET, format!("/api/v1/jobs/{id}/events")),
            (Method::POST, format!("/api/v1/jobs/{id}/replay")),
        ] {
            let response = app.request(method, &path, Some(&south.token), None, Vec::new()).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{} {path}", app.kind);
        }
        // Its own upload is its own.
        let theirs = upload(&app, Some(&south.token)).await;
        let their_id = theirs.json["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/api/v1/jobs/{their_id}"), Some(app.admin())).await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn ids_and_tokens_are_never_echoed_whole_in_errors() {
    let app = TestApp::on(lms_testing::TestDatabase::sqlite()).await;
    let long = "a".repeat(5_000);
    for path in [
        format!("/api/v1/jobs/{long}"),
        format!("/api/v1/users/self/tokens/{long}"),
        format!("/api/v1/accounts/{long}"),
        format!("/api/v1/courses/{long}"),
    ] {
        let response = app.get(&path, Some(app.admin())).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        let message = response.error_message();
        assert!(message.chars().count() < 200, "{} characters: {}", message.chars().count(), &message[..80]);
        assert!(message.contains('…'), "{message}");
    }
    let response = app
        .request(Method::POST, &format!("/api/v1/uploads/{long}/complete"), Some(app.admin()), None, Vec::new())
        .await;
    assert!(response.error_message().chars().count() < 200, "{:?}", response.json);
}

#[tokio::test]
async fn the_spool_sweep_removes_old_upload_files_only() {
    let spool = tempfile::tempdir().unwrap();
    std::fs::write(spool.path().join("upload-0123"), b"half a lecture").unwrap();
    std::fs::write(spool.path().join("README"), b"not an upload").unwrap();
    let young = lms_api::sweep_spool(spool.path(), std::time::Duration::from_secs(3600)).await.unwrap();
    assert_eq!(young, 0, "a file younger than the age may belong to a live upload");
    assert_eq!(lms_api::sweep_spool(spool.path(), std::time::Duration::ZERO).await.unwrap(), 1);
    assert!(!spool.path().join("upload-0123").exists());
    assert!(spool.path().join("README").exists());
    assert_eq!(lms_api::sweep_spool(&spool.path().join("missing"), std::time::Duration::ZERO).await.unwrap(), 0);
}
