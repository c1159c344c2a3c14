//! The OpenAPI document: served without a token, version 3.1, and complete (schemathesis, run by
//! cli/tests/it/schemathesis.rs against a real server, checks the answers against it).

use axum::http::StatusCode;

use crate::app::TestApp;

#[tokio::test]
async fn the_openapi_document_describes_every_route_with_its_errors() {
    let app = TestApp::on(lms_testing::TestDatabase::sqlite()).await;
    let response = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = &response.json;
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true), "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    // A few routes of each resource, by their Canvas paths.
    for path in [
        "/api/v1/accounts/{id}/users",
        "/api/v1/users/{id}/tokens/{token_id}",
        "/api/v1/courses/{id}",
        "/api/v1/courses/{id}/enrollments/{enrollment_id}",
        "/api/v1/courses/{id}/modules/{module_id}/items/{item_id}/done",
        "/api/v1/courses/{id}/media_objects/{media_id}/versions",
        "/api/v1/uploads/presigned",
        "/api/v1/jobs/{id}/events",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let operations: usize = paths.values().map(|item| item.as_object().map_or(0, |item| item.len())).sum();
    assert!(operations >= 45, "{operations} operations documented");
    // Every operation documents Canvas's error body for the statuses any route may answer.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for status in ["401", "404", "422"] {
                let schema = &operation["responses"][status]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorsBody", "{method} {path} {status}");
            }
        }
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["CourseView"]["properties"]["course_code"].is_object());
}
