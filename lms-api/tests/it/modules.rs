//! Modules, items, pages and progress as Canvas clients drive them; a lecture uploaded into a course
//! becomes a Video item that an enrolled learner sees (with its ladder once published) and a stranger
//! cannot; must_view on a video needs 90 % watched, not a seek to the end.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::TestApp;

/// A published course with a teacher (the admin) and an enrolled student; returns (course id, student token).
async fn course_with_student(app: &TestApp) -> (i64, String) {
    let course = app
        .form(
            Method::POST,
            "/api/v1/accounts/self/courses",
            Some(app.admin()),
            "course[name]=Bio&offer=true&enroll_me=true",
        )
        .await;
    let id = course.json["id"].as_i64().unwrap();
    let ann = app
        .form(
            Method::POST,
            "/api/v1/accounts/self/users",
            Some(app.admin()),
            "pseudonym[unique_id]=ann%40north.example",
        )
        .await;
    let form = format!(
        "enrollment[user_id]={}&enrollment[type]=StudentEnrollment&enrollment[enrollment_state]=active",
        ann.json["id"]
    );
    assert_eq!(
        app.form(Method::POST, &format!("/api/v1/courses/{id}/enrollments"), Some(app.admin()), &form).await.status,
        StatusCode::OK
    );
    (id, app.token_for("ann@north.example").await)
}

fn upload_body(title: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n").as_bytes(),
    );
    body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lecture.mp4\"\r\n\r\n");
    body.extend_from_slice(&[0, 0, 0, 0x20]);
    body.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2avc1mp41");
    body.extend_from_slice(&[0u8; 64]);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body
}

fn states(modules: &Value) -> Vec<String> {
    modules.as_array().unwrap().iter().map(|module| module["state"].as_str().unwrap_or("-").to_owned()).collect()
}

#[tokio::test]
async fn prerequisites_and_sequential_progress_unlock_as_the_learner_completes() {
    for app in TestApp::both().await {
        let (course, ann) = course_with_student(&app).await;
        let base = format!("/api/v1/courses/{course}");
        let intro = app
            .form(
                Method::POST,
                &format!("{base}/modules"),
                Some(app.admin()),
                "module[name]=Intro&module[require_sequential_progress]=true",
            )
            .await;
        assert_eq!(intro.status, StatusCode::OK, "{} {:?}", app.kind, intro.json);
        let intro_id = intro.json["id"].as_i64().unwrap();
        let form = format!("module[name]=Week+1&module[prerequisite_module_ids][]={intro_id}");
        let week = app.form(Method::POST, &format!("{base}/modules"), Some(app.admin()), &form).await;
        let week_id = week.json["id"].as_i64().unwrap();
        assert_eq!(week.json["prerequisite_module_ids"], json!([intro_id]));
        // A module cannot wait for itself or for a later one (no cycles, no module locked forever).
        for form in [format!("module[prerequisite_module_ids][]={week_id}")] {
            let path = format!("{base}/modules/{intro_id}");
            let refused = app.form(Method::PUT, &path, Some(app.admin()), &form).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {:?}", refused.json);
        }
        let refused = app
            .form(
                Method::PUT,
                &format!("{base}/modules/{week_id}"),
                Some(app.admin()),
                &format!("module[prerequisite_module_ids][]={week_id}"),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

        let page = app
            .form(Method::POST, &format!("{base}/pages"), Some(app.admin()), "wiki_page[title]=Welcome!&wiki_page[body]=<p>Hi<script>alert(1)</script><a href=\"javascript:x()\">x</a></p>")
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.json);
        assert_eq!(page.json["url"], "welcome");
        let body = page.json["body"].as_str().unwrap();
        assert!(!body.contains("script") && !body.contains("javascript"), "{body}");

        let items = format!("{base}/modules/{intro_id}/items");
        for form in [
            "module_item[type]=Page&module_item[page_url]=welcome&module_item[completion_requirement][type]=must_view".to_owned(),
            "module_item[type]=ExternalUrl&module_item[title]=Reading&module_item[external_url]=https://example.org/r&module_item[new_tab]=true&module_item[completion_requirement][type]=must_mark_done".to_owned(),
            "module_item[type]=SubHeader&module_item[title]=Done!".to_owned(),
        ] {
            let created = app.form(Method::POST, &items, Some(app.admin()), &form).await;
            assert_eq!(created.status, StatusCode::OK, "{form}: {:?}", created.json);
            assert_eq!(created.json["module_id"], intro_id, "canvasapi builds URLs from module_id");
        }
        let week_item = app
            .form(Method::POST, &format!("{base}/modules/{week_id}/items"), Some(app.admin()), "module_item[type]=ExternalUrl&module_item[title]=Lab&module_item[external_url]=https://example.org/lab&module_item[completion_requirement][type]=must_mark_done")
            .await;
        let week_item_id = week_item.json["id"].as_i64().unwrap();
        for (form, field) in [
            (
                "module_item[type]=ExternalUrl&module_item[title]=X&module_item[external_url]=javascript:alert(1)",
                "module_item[external_url]",
            ),
            ("module_item[type]=Page&module_item[page_url]=nope", "module_item[page_url]"),
            ("module_item[type]=Quiz&module_item[content_id]=1", "module_item[type]"),
            ("module_item[type]=Video&module_item[content_id]=999", "module_item[content_id]"),
        ] {
            let refused = app.form(Method::POST, &items, Some(app.admin()), form).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
            assert!(refused.error_message().starts_with(field), "{}", refused.error_message());
        }

        // The learner's view: Intro open, its second required item locked behind the first, Week 1 locked.
        let view = app.get(&format!("{base}/modules?include[]=items&include[]=content_details"), Some(&ann)).await;
        assert_eq!(view.status, StatusCode::OK, "{:?}", view.json);
        assert_eq!(states(&view.json), vec!["unlocked", "locked"]);
        let intro_items = view.json[0]["items"].as_array().unwrap();
        let locked: Vec<bool> =
            intro_items.iter().map(|item| item["content_details"]["locked_for_user"].as_bool().unwrap()).collect();
        assert_eq!(locked, vec![false, true, true]);
        let (page_item, link_item) = (intro_items[0]["id"].as_i64().unwrap(), intro_items[1]["id"].as_i64().unwrap());
        assert_eq!(intro_items[1]["completion_requirement"], json!({"type": "must_mark_done", "completed": false}));

        // Marking the locked item done is refused; opening the page unlocks it; marking it completes Intro.
        let done = |item: i64, module: i64| format!("{base}/modules/{module}/items/{item}/done");
        assert_eq!(
            app.request(Method::PUT, &done(link_item, intro_id), Some(&ann), None, Vec::new()).await.status,
            StatusCode::FORBIDDEN
        );
        let read = app
            .request(
                Method::POST,
                &format!("{base}/modules/{intro_id}/items/{page_item}/mark_read"),
                Some(&ann),
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "{:?}", read.json);
        let marked = app.request(Method::PUT, &done(link_item, intro_id), Some(&ann), None, Vec::new()).await;
        assert_eq!((marked.status, &marked.json), (StatusCode::OK, &json!({"message": "OK"})));
        let view = app.get(&format!("{base}/modules"), Some(&ann)).await;
        assert_eq!(states(&view.json), vec!["completed", "unlocked"]);
        // Week 1 is open now.
        assert_eq!(
            app.request(Method::PUT, &done(week_item_id, week_id), Some(&ann), None, Vec::new()).await.status,
            StatusCode::OK
        );
        assert_eq!(states(&app.get(&format!("{base}/modules"), Some(&ann)).await.json), vec!["completed", "completed"]);
        let progress = app.get(&format!("{base}?include[]=course_progress"), Some(&ann)).await;
        assert_eq!(progress.json["course_progress"]["requirement_count"], 3, "{:?}", progress.json);
        assert_eq!(progress.json["course_progress"]["requirement_completed_count"], 3);
        assert_eq!(progress.json["course_progress"]["percent"], 100.0);
        // Taking the mark back (a JSON body, never an empty 204) starts Intro over.
        let undone = app.request(Method::DELETE, &done(link_item, intro_id), Some(&ann), None, Vec::new()).await;
        assert_eq!(undone.json, json!({"message": "OK"}));
        assert_eq!(states(&app.get(&format!("{base}/modules"), Some(&ann)).await.json), vec!["started", "locked"]);

        // Staff see the student's state with student_id, and drafts; the student sees no draft.
        let ann_id = app.get("/api/v1/users/self", Some(&ann)).await.json["id"].as_i64().unwrap();
        let staff = app.get(&format!("{base}/modules?student_id={ann_id}"), Some(app.admin())).await;
        assert_eq!(states(&staff.json), vec!["started", "locked"]);
        app.form(
            Method::POST,
            &format!("{base}/modules"),
            Some(app.admin()),
            "module[name]=Draft&module[published]=false",
        )
        .await;
        assert_eq!(app.get(&format!("{base}/modules"), Some(app.admin())).await.json.as_array().unwrap().len(), 3);
        assert_eq!(app.get(&format!("{base}/modules"), Some(&ann)).await.json.as_array().unwrap().len(), 2);
        // The learner cannot build the course.
        assert_eq!(
            app.form(Method::POST, &format!("{base}/modules"), Some(&ann), "module[name]=Mine").await.status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn an_uploaded_lecture_is_a_video_item_for_enrolled_learners_only() {
    for app in TestApp::both().await {
        let (course, ann) = course_with_student(&app).await;
        let base = format!("/api/v1/courses/{course}");
        let uploaded = app
            .request(
                Method::POST,
                &format!("{base}/media_objects"),
                Some(app.admin()),
                Some("multipart/form-data; boundary=XyZ"),
                upload_body("Cells, part 1"),
            )
            .await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{} {:?}", app.kind, uploaded.json);
        assert_eq!(uploaded.json["title"], "Cells, part 1");
        assert_eq!(uploaded.json["state"], "pending");
        assert_eq!(uploaded.json["media_sources"], json!([]));
        let media_id = uploaded.json["id"].as_i64().unwrap();
        let job_id = uploaded.json["job_id"].as_str().unwrap().to_owned();
        // The job is an ordinary job of the account.
        assert_eq!(app.get(&format!("/api/v1/jobs/{job_id}"), Some(app.admin())).await.json["state"], "queued");

        let module =
            app.form(Method::POST, &format!("{base}/modules"), Some(app.admin()), "module[name]=Lectures").await;
        let module_id = module.json["id"].as_i64().unwrap();
        let form = format!(
            "module_item[type]=Video&module_item[content_id]={media_id}&module_item[completion_requirement][type]=must_view"
        );
        let item = app.form(Method::POST, &format!("{base}/modules/{module_id}/items"), Some(app.admin()), &form).await;
        assert_eq!(item.status, StatusCode::OK, "{:?}", item.json);
        assert_eq!(item.json["title"], "Cells, part 1");
        let item_id = item.json["id"].as_i64().unwrap();

        // The job is published as a worker would (the pipeline's own store calls).
        let store = lms_pipeline::jobs::JobStore::new(app.db.clone(), Default::default());
        let message = lms_pipeline::TranscodeJob::from_json(&store.due_outbox(10).await.unwrap()[0].payload).unwrap();
        assert!(matches!(
            store.claim(&message, "w", std::time::Duration::from_secs(30)).await.unwrap(),
            lms_pipeline::jobs::Claim::Granted(_)
        ));
        let prefix = format!("ladders/{}/{job_id}/1", app.school.account_id.0);
        let summary = r#"{"duration_seconds":612.5,"rungs":[{"width":1920,"height":1080,"bandwidth":3100000},{"width":854,"height":480,"bandwidth":900000}]}"#;
        assert!(store.mark_published(&job_id, 1, "w", &prefix, Some(summary)).await.unwrap());

        let items_path = format!("{base}/modules/{module_id}/items");
        let seen = app.get(&items_path, Some(&ann)).await;
        assert_eq!(seen.status, StatusCode::OK);
        let media = &seen.json[0]["media_object"];
        assert_eq!(media["state"], "ready", "{:?}", seen.json);
        let master = media["media_sources"][0]["url"].as_str().unwrap().to_owned();
        assert!(master.ends_with(&format!("{prefix}/master.m3u8")), "{master}");
        // Its length and rungs, as the worker read them back from the published playlists.
        assert_eq!(media["duration"], 612.5);
        assert_eq!(media["media_sources"][0]["height"], 1080);
        assert_eq!(media["media_sources"][0]["bitrate"], 3_100_000);
        assert_eq!(media["media_sources"][0]["rungs"][1], json!({"width": 854, "height": 480, "bitrate": 900_000}));

        // A stranger (another account) and a member who is not enrolled see nothing of it.
        let south = app.another_account("South High", "admin@south.example").await;
        assert_eq!(app.get(&items_path, Some(&south.token)).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.get(&format!("{base}/media_objects/{media_id}"), Some(&south.token)).await.status,
            StatusCode::NOT_FOUND
        );
        app.form(
            Method::POST,
            "/api/v1/accounts/self/users",
            Some(app.admin()),
            "pseudonym[unique_id]=bo%40north.example",
        )
        .await;
        let bo = app.token_for("bo@north.example").await;
        assert_eq!(app.get(&items_path, Some(&bo)).await.status, StatusCode::NOT_FOUND);

        // must_view on a video: a seek to the end is not watching; 90 % of the ranges is.
        let progress = format!("{base}/modules/{module_id}/items/{item_id}/progress");
        let seek =
            app.json(Method::POST, &progress, Some(&ann), json!({"ranges": [[590, 600]], "duration": 600})).await;
        assert_eq!(seek.status, StatusCode::OK, "{:?}", seek.json);
        assert_eq!(seek.json["completed"], false);
        let state = |json: &Value| json[0]["completion_requirement"]["completed"].clone();
        assert_eq!(state(&app.get(&items_path, Some(&ann)).await.json), json!(false));
        for _ in 0..3 {
            // The same minute reported again counts once.
            app.json(Method::POST, &progress, Some(&ann), json!({"ranges": [[0, 60]], "duration": 600})).await;
        }
        let watched = app
            .json(Method::POST, &progress, Some(&ann), json!({"ranges": [[60, 300], [300, 540]], "duration": 600}))
            .await;
        assert_eq!(watched.json["completed"], true, "{:?}", watched.json);
        assert_eq!(state(&app.get(&items_path, Some(&ann)).await.json), json!(true));
        // A report cannot claim past the video's end.
        let overreach =
            app.json(Method::POST, &progress, Some(&ann), json!({"ranges": [[0, 1e9]], "duration": 600})).await;
        assert_eq!(overreach.json["watched_fraction"], 1.0);
        let bad = app.json(Method::POST, &progress, Some(&ann), json!({"ranges": [[0, 1]], "duration": -5})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Replacing the video: the object keeps the published ladder until the new version is published.
        let replaced = app
            .request(
                Method::POST,
                &format!("{base}/media_objects/{media_id}/versions"),
                Some(app.admin()),
                Some("multipart/form-data; boundary=XyZ"),
                upload_body("ignored"),
            )
            .await;
        assert_eq!(replaced.status, StatusCode::CREATED, "{:?}", replaced.json);
        assert_ne!(replaced.json["job_id"], json!(job_id));
        assert_eq!(replaced.json["state"], "ready");
        assert_eq!(
            replaced.json["media_sources"][0]["url"].as_str().unwrap(),
            master,
            "the old ladder stays until the new one is up"
        );
        let listed = app.get(&format!("{base}/media_objects"), Some(&ann)).await;
        assert_eq!(listed.json.as_array().unwrap().len(), 1);

        // Once the new version is published the object flips to it; the old ladder stays for the grace
        // period (players may have it open), then goes from storage and from its job.
        let old_file =
            lms_pipeline::StorageKey::ladder_file(&app.school.account_id.0.to_string(), &job_id, 1, "master.m3u8")
                .unwrap();
        let meta = lms_pipeline::ObjectMeta::for_ladder_file("master.m3u8");
        app.storage.put_bytes(&old_file, b"#EXTM3U\n".to_vec(), &meta).await.unwrap();
        let new_job = replaced.json["job_id"].as_str().unwrap().to_owned();
        for due in store.due_outbox(10).await.unwrap() {
            let message = lms_pipeline::TranscodeJob::from_json(&due.payload).unwrap();
            if message.job_id == new_job {
                store.claim(&message, "w", std::time::Duration::from_secs(30)).await.unwrap();
            }
        }
        let new_prefix = format!("ladders/{}/{new_job}/1", app.school.account_id.0);
        assert!(store.mark_published(&new_job, 1, "w", &new_prefix, None).await.unwrap());
        let flipped = app.get(&format!("{base}/media_objects/{media_id}"), Some(&ann)).await;
        let new_master = flipped.json["media_sources"][0]["url"].as_str().unwrap().to_owned();
        assert!(new_master.ends_with(&format!("{new_prefix}/master.m3u8")), "{new_master}");
        let retire = |grace| lms_api::catalog::media::retire_superseded_ladders(&app.db, &app.storage, grace);
        assert_eq!(retire(std::time::Duration::from_secs(3600)).await.unwrap(), 0, "retired within its grace");
        assert!(app.storage.get_bytes(&old_file).await.unwrap().is_some());
        assert_eq!(retire(std::time::Duration::ZERO).await.unwrap(), 1);
        assert!(app.storage.get_bytes(&old_file).await.unwrap().is_none(), "the old ladder's files stay");
        let old_job = app.get(&format!("/api/v1/jobs/{job_id}"), Some(app.admin())).await;
        assert_eq!((old_job.json["state"].clone(), old_job.json["ladder"].clone()), (json!("published"), Value::Null));
        let after = app.get(&format!("{base}/media_objects/{media_id}"), Some(&ann)).await;
        assert_eq!(after.json["media_sources"][0]["url"], json!(new_master), "{}", app.kind);
        assert_eq!(retire(std::time::Duration::ZERO).await.unwrap(), 0, "{}", app.kind);

        // A teacher who is not an admin uploads into the course and follows the job; a learner may not.
        let tess = app
            .form(
                Method::POST,
                "/api/v1/accounts/self/users",
                Some(app.admin()),
                "pseudonym[unique_id]=tess%40north.example",
            )
            .await;
        let form = format!(
            "enrollment[user_id]={}&enrollment[type]=TeacherEnrollment&enrollment[enrollment_state]=active",
            tess.json["id"]
        );
        app.form(Method::POST, &format!("{base}/enrollments"), Some(app.admin()), &form).await;
        let tess = app.token_for("tess@north.example").await;
        let theirs = app
            .request(
                Method::POST,
                &format!("{base}/media_objects"),
                Some(&tess),
                Some("multipart/form-data; boundary=XyZ"),
                upload_body("Cells, part 2"),
            )
            .await;
        assert_eq!(theirs.status, StatusCode::CREATED, "{:?}", theirs.json);
        let their_job = theirs.json["job_id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/api/v1/jobs/{their_job}"), Some(&tess)).await.status, StatusCode::OK);
        assert_eq!(app.get(&format!("/api/v1/jobs/{their_job}"), Some(&ann)).await.status, StatusCode::FORBIDDEN);
        // The account-wide upload route stays the admins'.
        assert_eq!(
            app.get(&format!("/api/v1/jobs/{job_id}"), Some(&tess)).await.status,
            StatusCode::OK,
            "a job of her course"
        );
    }
}

#[tokio::test]
async fn a_nul_character_anywhere_in_a_request_is_refused_naming_where_and_nothing_is_written() {
    for app in TestApp::both().await {
        let (course, _) = course_with_student(&app).await;
        let modules = format!("/api/v1/courses/{course}/modules");
        // In a form body, a JSON body, a multipart title, a path segment and a query value.
        let form = app.form(Method::POST, &modules, Some(app.admin()), "module[name]=Week%001").await;
        assert_eq!(form.status, StatusCode::BAD_REQUEST, "{} {:?}", app.kind, form.json);
        assert_eq!(form.error_message(), "parameter module.name: contains a NUL character");
        let json = app.json(Method::POST, &modules, Some(app.admin()), json!({"module": {"name": "a\u{0}b"}})).await;
        assert_eq!(json.status, StatusCode::BAD_REQUEST, "{:?}", json.json);
        let page = app.get(&format!("/api/v1/courses/{course}/pages/wel%00come"), Some(app.admin())).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{:?}", page.json);
        assert!(page.error_message().contains("NUL"), "{:?}", page.json);
        let query = app.get(&format!("{modules}?include[]=it%00ems"), Some(app.admin())).await;
        assert_eq!(query.status, StatusCode::BAD_REQUEST, "{:?}", query.json);
        let upload = app
            .request(
                Method::POST,
                &format!("/api/v1/courses/{course}/media_objects"),
                Some(app.admin()),
                Some("multipart/form-data; boundary=XyZ"),
                upload_body("Lecture\u{0}1"),
            )
            .await;
        assert_eq!(upload.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", upload.json);
        // Nothing was stored by any of them.
        let listed = app.get(&modules, Some(app.admin())).await;
        assert_eq!(listed.json, json!([]), "{}", app.kind);
        let media = app.get(&format!("/api/v1/courses/{course}/media_objects"), Some(app.admin())).await;
        assert_eq!(media.json, json!([]), "{}", app.kind);
    }
}

#[tokio::test]
async fn a_page_or_lecture_in_a_locked_module_is_not_read_before_it_opens() {
    for app in TestApp::both().await {
        let (course, ann) = course_with_student(&app).await;
        let base = format!("/api/v1/courses/{course}");
        let app = &app;
        let post = |path: String, form: String| async move {
            let answer = app.form(Method::POST, &path, Some(app.admin()), &form).await;
            assert_eq!(answer.status, StatusCode::OK, "{path} {form}: {:?}", answer.json);
            answer.json
        };
        let intro = post(format!("{base}/modules"), "module[name]=Intro".into()).await["id"].as_i64().unwrap();
        let later =
            post(format!("{base}/modules"), format!("module[name]=Later&module[prerequisite_module_ids][]={intro}"))
                .await["id"]
                .as_i64()
                .unwrap();
        post(format!("{base}/pages"), "wiki_page[title]=Start&wiki_page[body]=<p>first</p>".into()).await;
        post(format!("{base}/pages"), "wiki_page[title]=Answers&wiki_page[body]=<p>the answers</p>".into()).await;
        let start = post(
            format!("{base}/modules/{intro}/items"),
            "module_item[type]=Page&module_item[page_url]=start&module_item[completion_requirement][type]=must_view"
                .into(),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        post(format!("{base}/modules/{later}/items"), "module_item[type]=Page&module_item[page_url]=answers".into())
            .await;
        // A lecture only a locked item leads to.
        let uploaded = app
            .request(
                Method::POST,
                &format!("{base}/media_objects"),
                Some(app.admin()),
                Some("multipart/form-data; boundary=XyZ"),
                upload_body("Solutions"),
            )
            .await;
        let media_id = uploaded.json["id"].as_i64().unwrap();
        post(
            format!("{base}/modules/{later}/items"),
            format!("module_item[type]=Video&module_item[content_id]={media_id}"),
        )
        .await;

        // Before Intro is done: the learner gets the page without its body, and the lecture without sources.
        let locked = app.get(&format!("{base}/pages/answers"), Some(&ann)).await;
        assert_eq!(locked.status, StatusCode::OK);
        assert_eq!((locked.json["locked_for_user"].clone(), locked.json["body"].clone()), (json!(true), json!("")));
        assert!(locked.json["lock_explanation"].is_string());
        let lecture = app.get(&format!("{base}/media_objects/{media_id}"), Some(&ann)).await;
        assert_eq!(lecture.json["locked_for_user"], true, "{}", app.kind);
        assert_eq!(lecture.json["media_sources"], json!([]));
        let listed = app.get(&format!("{base}/media_objects"), Some(&ann)).await;
        assert_eq!(listed.json[0]["locked_for_user"], true);
        // Staff read everything; a page no locked item leads to is open.
        let staff = app.get(&format!("{base}/pages/answers"), Some(app.admin())).await;
        assert_eq!(
            (staff.json["locked_for_user"].clone(), staff.json["body"].clone()),
            (json!(false), json!("<p>the answers</p>"))
        );
        assert_eq!(app.get(&format!("{base}/pages/start"), Some(&ann)).await.json["body"], "<p>first</p>");

        // Once Intro's requirement is met, Later opens and its page reads.
        let read =
            app.form(Method::POST, &format!("{base}/modules/{intro}/items/{start}/mark_read"), Some(&ann), "").await;
        assert_eq!(read.status, StatusCode::OK, "{:?}", read.json);
        let open = app.get(&format!("{base}/pages/answers"), Some(&ann)).await;
        assert_eq!(
            (open.json["locked_for_user"].clone(), open.json["body"].clone()),
            (json!(false), json!("<p>the answers</p>"))
        );
        assert_eq!(
            app.get(&format!("{base}/media_objects/{media_id}"), Some(&ann)).await.json["locked_for_user"],
            false
        );
    }
}

#[tokio::test]
async fn staff_edit_pages_and_delete_items_and_the_rest_move_up() {
    for app in TestApp::both().await {
        let (course, ann) = course_with_student(&app).await;
        let base = format!("/api/v1/courses/{course}");
        let admin = Some(app.admin());
        app.form(Method::POST, &format!("{base}/pages"), admin, "wiki_page[title]=Notes&wiki_page[body]=<p>v1</p>")
            .await;
        // A new body is cleaned as on creation; the slug stays when the title changes.
        let edited = app
            .form(
                Method::PUT,
                &format!("{base}/pages/notes"),
                admin,
                "wiki_page[title]=Lecture+notes&wiki_page[body]=<p>v2<script>x()</script></p>",
            )
            .await;
        assert_eq!(edited.status, StatusCode::OK, "{} {:?}", app.kind, edited.json);
        assert_eq!(
            (edited.json["url"].clone(), edited.json["title"].clone()),
            (json!("notes"), json!("Lecture notes"))
        );
        assert_eq!(edited.json["body"], "<p>v2</p>");
        let learner = app.form(Method::PUT, &format!("{base}/pages/notes"), Some(&ann), "wiki_page[body]=mine").await;
        assert_eq!(learner.status, StatusCode::FORBIDDEN);
        let missing = app.form(Method::PUT, &format!("{base}/pages/nope"), admin, "wiki_page[body]=x").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let empty = app.form(Method::PUT, &format!("{base}/pages/notes"), admin, "wiki_page[title]=").await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.get(&format!("{base}/pages/notes"), Some(&ann)).await.json["body"], "<p>v2</p>");

        // Three items; the middle one goes and the last moves up.
        let module =
            app.form(Method::POST, &format!("{base}/modules"), admin, "module[name]=Week").await.json["id"].clone();
        let items = format!("{base}/modules/{module}/items");
        let mut ids = Vec::new();
        for title in ["One", "Two", "Three"] {
            let form = format!("module_item[type]=SubHeader&module_item[title]={title}");
            ids.push(app.form(Method::POST, &items, admin, &form).await.json["id"].as_i64().unwrap());
        }
        let refused = app.request(Method::DELETE, &format!("{items}/{}", ids[1]), Some(&ann), None, Vec::new()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let deleted = app.request(Method::DELETE, &format!("{items}/{}", ids[1]), admin, None, Vec::new()).await;
        assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.json);
        assert_eq!(deleted.json["title"], "Two");
        let left = app.get(&items, admin).await.json;
        let positions: Vec<(String, i64)> = left
            .as_array()
            .unwrap()
            .iter()
            .map(|item| (item["title"].as_str().unwrap().to_owned(), item["position"].as_i64().unwrap()))
            .collect();
        assert_eq!(positions, vec![("One".to_owned(), 1), ("Three".to_owned(), 2)], "{}", app.kind);
        let again = app.request(Method::DELETE, &format!("{items}/{}", ids[1]), admin, None, Vec::new()).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn deleting_a_module_takes_its_items_and_frees_the_modules_that_waited_for_it() {
    for app in TestApp::both().await {
        let (course, ann) = course_with_student(&app).await;
        let base = format!("/api/v1/courses/{course}");
        let admin = Some(app.admin());
        let first =
            app.form(Method::POST, &format!("{base}/modules"), admin, "module[name]=First").await.json["id"].clone();
        let form = "module_item[type]=ExternalUrl&module_item[title]=Read&module_item[external_url]=https://example.org/&module_item[completion_requirement][type]=must_mark_done";
        app.form(Method::POST, &format!("{base}/modules/{first}/items"), admin, form).await;
        let form = format!("module[name]=Second&module[prerequisite_module_ids][]={first}");
        let second = app.form(Method::POST, &format!("{base}/modules"), admin, &form).await.json["id"].clone();
        assert_eq!(states(&app.get(&format!("{base}/modules"), Some(&ann)).await.json), vec!["unlocked", "locked"]);

        let refused =
            app.request(Method::DELETE, &format!("{base}/modules/{first}"), Some(&ann), None, Vec::new()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let deleted = app.request(Method::DELETE, &format!("{base}/modules/{first}"), admin, None, Vec::new()).await;
        assert_eq!(deleted.status, StatusCode::OK, "{} {:?}", app.kind, deleted.json);
        assert_eq!((deleted.json["name"].clone(), deleted.json["items_count"].clone()), (json!("First"), json!(1)));
        // Second no longer waits for a module that is gone, and moved up to the first place.
        let left = app.get(&format!("{base}/modules"), Some(&ann)).await.json;
        assert_eq!(left.as_array().unwrap().len(), 1);
        assert_eq!((left[0]["id"].clone(), left[0]["position"].clone()), (second.clone(), json!(1)));
        assert_eq!(left[0]["prerequisite_module_ids"], json!([]));
        // Open now; with no requirements of its own, open is complete.
        assert_eq!(states(&left), vec!["completed"], "{}", app.kind);
        let gone = app.get(&format!("{base}/modules/{first}/items"), admin).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }
}
