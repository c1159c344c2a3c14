//! Courses and enrollments as a school scripts them: admins create courses, teachers enroll people,
//! learners see what they are enrolled in and nothing else, self-enrollment stops at the seat cap, and a
//! CSV import run twice changes nothing the second time.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::app::TestApp;

/// Creates a user in the first account; returns its id and a token.
async fn person(app: &TestApp, name: &str, email: &str) -> (i64, String) {
    let account = app.school.account_id.0;
    let form = format!("user[name]={}&pseudonym[unique_id]={}", name.replace(' ', "+"), email.replace('@', "%40"));
    let created = app.form(Method::POST, &format!("/api/v1/accounts/{account}/users"), Some(app.admin()), &form).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json);
    (created.json["id"].as_i64().unwrap(), app.token_for(email).await)
}

async fn course(app: &TestApp, form: &str) -> Value {
    let account = app.school.account_id.0;
    let created = app.form(Method::POST, &format!("/api/v1/accounts/{account}/courses"), Some(app.admin()), form).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json);
    created.json
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|item| item["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn teachers_enroll_and_learners_see_only_their_published_courses() {
    for app in TestApp::both().await {
        let bio = course(&app, "course[name]=Biology+101&course[course_code]=BIO-101&offer=true&account_id=1").await;
        assert_eq!(bio["workflow_state"], "available");
        assert_eq!(bio["course_code"], "BIO-101");
        let draft = course(&app, "course[name]=Chemistry&course[start_at]=2027-01-10T09:00:00").await;
        assert_eq!(draft["workflow_state"], "unpublished");
        assert_eq!(draft["start_at"], "2027-01-10T09:00:00Z");
        let (bio_id, draft_id) = (bio["id"].as_i64().unwrap(), draft["id"].as_i64().unwrap());

        let (teacher_id, teacher) = person(&app, "Tess Teach", "tess@north.example").await;
        let (ann_id, ann) = person(&app, "Ann Lee", "ann@north.example").await;
        let (_, bo) = person(&app, "Bo Chen", "bo@north.example").await;
        for (course_id, user, kind) in
            [(bio_id, teacher_id, "TeacherEnrollment"), (draft_id, teacher_id, "TeacherEnrollment")]
        {
            let form =
                format!("enrollment[user_id]={user}&enrollment[type]={kind}&enrollment[enrollment_state]=active");
            let enrolled = app
                .form(Method::POST, &format!("/api/v1/courses/{course_id}/enrollments"), Some(app.admin()), &form)
                .await;
            assert_eq!(enrolled.status, StatusCode::OK, "{:?}", enrolled.json);
        }
        // The teacher enrolls Ann in both, as canvasapi sends it.
        for course_id in [bio_id, draft_id] {
            let form = format!(
                "enrollment[enrollment_state]=active&enrollment[notify]=false&enrollment[user_id]={ann_id}&enrollment[type]=StudentEnrollment"
            );
            let enrolled = app
                .form(Method::POST, &format!("/api/v1/courses/{course_id}/enrollments"), Some(&teacher), &form)
                .await;
            assert_eq!(enrolled.status, StatusCode::OK, "{} {:?}", app.kind, enrolled.json);
            assert_eq!(enrolled.json["course_id"], course_id, "canvasapi builds URLs from course_id");
            assert_eq!(enrolled.json["enrollment_state"], "active");
            // Enrolling again is the same enrollment.
            let again = app
                .form(Method::POST, &format!("/api/v1/courses/{course_id}/enrollments"), Some(&teacher), &form)
                .await;
            assert_eq!(again.json["id"], enrolled.json["id"]);
        }
        // Ann sees the published course only; Bo sees none; the teacher both.
        assert_eq!(ids(&app.get("/api/v1/courses", Some(&ann)).await.json), vec![bio_id]);
        assert!(ids(&app.get("/api/v1/courses", Some(&bo)).await.json).is_empty());
        assert_eq!(ids(&app.get("/api/v1/courses", Some(&teacher)).await.json), vec![bio_id, draft_id]);
        let mine = app.get("/api/v1/courses?include[]=total_students", Some(&ann)).await;
        assert_eq!(mine.json[0]["enrollments"][0]["type"], "student");
        assert_eq!(mine.json[0]["total_students"], 1);
        assert!(mine.json[0].get("self_enrollment_code").is_none());
        assert_eq!(app.get(&format!("/api/v1/courses/{draft_id}"), Some(&ann)).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/courses/{bio_id}"), Some(&bo)).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/courses/{bio_id}"), Some(&ann)).await.status, StatusCode::OK);

        // Fellow participants see names, not email addresses; staff see both.
        let people = app.get(&format!("/api/v1/courses/{bio_id}/search_users"), Some(&ann)).await;
        for person in people.json.as_array().unwrap() {
            assert_eq!(person.get("login_id").is_some(), person["id"] == ann_id, "{person}");
        }
        let people = app.get(&format!("/api/v1/courses/{bio_id}/search_users"), Some(&teacher)).await;
        assert!(people.json.as_array().unwrap().iter().all(|person| person["login_id"].is_string()));

        // A learner cannot enroll others, change the course, or read the roster beyond itself.
        let form = "enrollment[user_id]=1&enrollment[type]=TeacherEnrollment";
        assert_eq!(
            app.form(Method::POST, &format!("/api/v1/courses/{bio_id}/enrollments"), Some(&ann), form).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.form(Method::PUT, &format!("/api/v1/courses/{bio_id}"), Some(&ann), "course[name]=Mine").await.status,
            StatusCode::FORBIDDEN
        );
        let roster = app.get(&format!("/api/v1/courses/{bio_id}/enrollments"), Some(&ann)).await;
        assert_eq!(roster.json.as_array().unwrap().len(), 1, "{:?}", roster.json);
        let roster = app
            .get(
                &format!("/api/v1/courses/{bio_id}/enrollments?type[]=StudentEnrollment&state[]=active"),
                Some(&teacher),
            )
            .await;
        assert_eq!(roster.json.as_array().unwrap().len(), 1);
        assert_eq!(roster.json[0]["user"]["name"], "Ann Lee");

        // The teacher renames the course; the answer carries the name (canvasapi reads it).
        let renamed =
            app.form(Method::PUT, &format!("/api/v1/courses/{bio_id}"), Some(&teacher), "course[name]=Biology+I").await;
        assert_eq!(renamed.json["name"], "Biology I");

        // Concluding Ann's enrollment takes the course out of her active list; deleting the course hides it.
        let enrollment_id = roster.json[0]["id"].as_i64().unwrap();
        let concluded = app
            .form(
                Method::DELETE,
                &format!("/api/v1/courses/{bio_id}/enrollments/{enrollment_id}"),
                Some(&teacher),
                "task=conclude",
            )
            .await;
        assert_eq!(concluded.status, StatusCode::OK, "{:?}", concluded.json);
        assert_eq!(concluded.json["enrollment_state"], "completed");
        assert!(ids(&app.get("/api/v1/courses", Some(&ann)).await.json).is_empty());
        assert_eq!(ids(&app.get("/api/v1/courses?enrollment_state=completed", Some(&ann)).await.json), vec![bio_id]);
        let bad_task = app
            .form(
                Method::DELETE,
                &format!("/api/v1/courses/{bio_id}/enrollments/{enrollment_id}"),
                Some(&teacher),
                "task=obliterate",
            )
            .await;
        assert_eq!(bad_task.status, StatusCode::UNPROCESSABLE_ENTITY);
        let deleted = app
            .form(Method::PUT, &format!("/api/v1/courses/{bio_id}"), Some(app.admin()), "course[event]=delete")
            .await;
        assert_eq!(deleted.json["workflow_state"], "deleted");
        assert_eq!(app.get(&format!("/api/v1/courses/{bio_id}"), Some(&teacher)).await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn another_account_sees_none_of_our_courses() {
    for app in TestApp::both().await {
        let bio = course(&app, "course[name]=Biology&offer=true").await;
        let id = bio["id"].as_i64().unwrap();
        let south = app.another_account("South High", "admin@south.example").await;
        for path in [
            format!("/api/v1/courses/{id}"),
            format!("/api/v1/courses/{id}/enrollments"),
            format!("/api/v1/courses/{id}/search_users"),
            format!("/api/v1/accounts/{}/courses", app.school.account_id.0),
        ] {
            assert_eq!(app.get(&path, Some(&south.token)).await.status, StatusCode::NOT_FOUND, "{} {path}", app.kind);
        }
        let form = format!("enrollment[user_id]={}&enrollment[type]=TeacherEnrollment", south.user_id.0);
        let sneaked =
            app.form(Method::POST, &format!("/api/v1/courses/{id}/enrollments"), Some(&south.token), &form).await;
        assert_eq!(sneaked.status, StatusCode::NOT_FOUND);
        // Nor can our admin enroll their user: it is not in our account.
        let foreign =
            app.form(Method::POST, &format!("/api/v1/courses/{id}/enrollments"), Some(app.admin()), &form).await;
        assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(ids(&app.get("/api/v1/accounts/self/courses", Some(&south.token)).await.json).is_empty());
    }
}

#[tokio::test]
async fn self_enrollment_takes_a_code_and_stops_at_the_seat_cap() {
    for app in TestApp::both().await {
        let open =
            course(&app, "course[name]=Open+Course&course[self_enrollment]=true&course[seat_cap]=2&offer=true").await;
        let id = open["id"].as_i64().unwrap();
        let code = open["self_enrollment_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 8);
        let mut learners = Vec::new();
        for (name, email) in
            [("A One", "a1@north.example"), ("B Two", "b2@north.example"), ("C Three", "c3@north.example")]
        {
            learners.push(person(&app, name, email).await.1);
        }
        let path = format!("/api/v1/courses/{id}/enrollments");
        let wrong = app
            .form(
                Method::POST,
                &path,
                Some(&learners[0]),
                "enrollment[self_enrollment_code]=WRONGONE&enrollment[user_id]=self",
            )
            .await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND, "a wrong code does not reveal the course");
        let form = format!("enrollment[self_enrollment_code]={code}&enrollment[user_id]=self");
        for learner in &learners[..2] {
            let joined = app.form(Method::POST, &path, Some(learner), &form).await;
            assert_eq!(joined.status, StatusCode::OK, "{:?}", joined.json);
            assert_eq!(joined.json["type"], "StudentEnrollment");
        }
        let again = app.form(Method::POST, &path, Some(&learners[0]), &form).await;
        assert_eq!(again.status, StatusCode::OK, "joining twice is not a second seat");
        let full = app.form(Method::POST, &path, Some(&learners[2]), &form).await;
        assert_eq!(full.status, StatusCode::CONFLICT, "{} {:?}", app.kind, full.json);
        assert!(full.error_message().contains("full"));
        let shown = app.get(&format!("/api/v1/courses/{id}?include[]=total_students"), Some(app.admin())).await;
        assert_eq!(shown.json["total_students"], 2);
    }
}

#[tokio::test]
async fn a_csv_import_is_one_transaction_and_idempotent() {
    for app in TestApp::both().await {
        let bio = course(&app, "course[name]=Biology&offer=true").await["id"].as_i64().unwrap();
        let chem = course(&app, "course[name]=Chemistry&offer=true").await["id"].as_i64().unwrap();
        let file = format!(
            "email,course_id,type,name\n\
             ann@north.example,{bio},student,Ann Lee\n\
             ann@north.example,{chem},student,Ann Lee\n\
             TESS@north.example,{bio},teacher,Tess Teach\n\
             admin@north.example,{chem},TeacherEnrollment,\n"
        );
        let path = "/api/v1/accounts/self/enrollments/import";
        let first =
            app.request(Method::POST, path, Some(app.admin()), Some("text/csv"), file.clone().into_bytes()).await;
        assert_eq!(first.status, StatusCode::OK, "{} {:?}", app.kind, first.json);
        assert_eq!(first.json["rows"], 4);
        assert_eq!(first.json["users_created"], 2);
        assert_eq!(first.json["enrollments_created"], 4);
        let second = app.request(Method::POST, path, Some(app.admin()), Some("text/csv"), file.into_bytes()).await;
        assert_eq!(second.json["users_created"], 0);
        assert_eq!(second.json["enrollments_created"], 0);
        assert_eq!(second.json["enrollments_updated"], 0);
        assert_eq!(second.json["unchanged"], 4);

        // A bad row refuses the whole file, naming where, and writes nothing.
        let bad = format!("email,course_id\nnew@north.example,{bio}\nzed@north.example,999999\n");
        let refused = app.request(Method::POST, path, Some(app.admin()), Some("text/csv"), bad.into_bytes()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.error_message().starts_with("line 3, column course_id"), "{}", refused.error_message());
        let users = app.get("/api/v1/accounts/self/users?search_term=new%40north", Some(app.admin())).await;
        assert!(users.json.as_array().unwrap().is_empty(), "a refused file created a user: {:?}", users.json);

        // Another account cannot import into courses it does not have.
        let south = app.another_account("South High", "admin@south.example").await;
        let foreign = format!("email,course_id\nx@south.example,{bio}\n");
        let refused = app.request(Method::POST, path, Some(&south.token), Some("text/csv"), foreign.into_bytes()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
