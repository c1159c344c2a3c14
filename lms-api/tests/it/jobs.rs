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
