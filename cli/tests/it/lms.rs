//! The LMS end to end, as a school uses it: an operator bootstraps an account with the CLI, an instructor
//! builds a course and uploads a lecture into it, the fleet publishes its ladder, the operator enrolls a
//! learner from a CSV file, and the learner sees a playable Video item; a stranger sees nothing.

// Helpers shared by the tests, which clippy does not see as test code.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fleet::{api, create_database, curl, serve};
use crate::util::{fixture, lms_media, run_with_limit};

fn json(response: (u16, String)) -> (u16, Value) {
    (response.0, serde_json::from_str(&response.1).unwrap_or(Value::Null))
}

fn as_user(token: &str, args: &[&str]) -> (u16, Value) {
    let authorization = format!("Authorization: Bearer {token}");
    let mut all = vec!["-H", authorization.as_str()];
    all.extend_from_slice(args);
    json(curl(&all))
}

fn lecture_becomes_a_video_item_for_enrolled_learners(env: &[(String, String)]) {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), env, &[]);
    let (status, course) = json(api(
        &server,
        &["-d", "course[name]=Biology&offer=true&enroll_me=true", &server.url("/api/v1/accounts/self/courses")],
    ));
    assert_eq!(status, 200, "{course}");
    let course_id = course["id"].as_i64().unwrap();
    let base = format!("/api/v1/courses/{course_id}");

    // The instructor uploads a lecture into the course, with subtitles.
    let (status, media) = json(api(
        &server,
        &[
            "-F",
            &format!("file=@{}", fixture("small-360p.mp4").display()),
            "-F",
            &format!("subtitle.en=@{}", crate::util::committed_fixture("subtitles/lecture.en.srt").display()),
            "-F",
            "title=Cells, part 1",
            &server.url(&format!("{base}/media_objects")),
        ],
    ));
    assert_eq!(status, 201, "{media}");
    let media_id = media["id"].as_i64().unwrap();
    let (status, module) =
        json(api(&server, &["-d", "module[name]=Lectures", &server.url(&format!("{base}/modules"))]));
    assert_eq!(status, 200, "{module}");
    let module_id = module["id"].as_i64().unwrap();
    let form = format!(
        "module_item[type]=Video&module_item[content_id]={media_id}&module_item[completion_requirement][type]=must_view"
    );
    let (status, item) = json(api(&server, &["-d", &form, &server.url(&format!("{base}/modules/{module_id}/items"))]));
    assert_eq!(status, 200, "{item}");

    // The operator enrolls a learner from the SIS export, twice: the second run changes nothing.
    let csv = data.path().join("fall.csv");
    std::fs::write(&csv, format!("email,course_id,type,name\nann@school.example,{course_id},student,Ann Lee\n"))
        .unwrap();
    for expected_created in [1, 0] {
        let mut import = lms_media();
        import
            .args(["enrollments", "import"])
            .arg(&csv)
            .args(["--account", &server.tenant(), "--data-dir"])
            .arg(data.path());
        import.envs(env.iter().map(|(name, value)| (name, value)));
        let output = run_with_limit(&mut import, Duration::from_secs(60));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["enrollments_created"], expected_created, "{report}");
    }
    let mut token = lms_media();
    token.args(["tokens", "create", "--user", "ann@school.example", "--data-dir"]).arg(data.path());
    token.envs(env.iter().map(|(name, value)| (name, value)));
    let output = run_with_limit(&mut token, Duration::from_secs(60));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let ann = serde_json::from_slice::<Value>(&output.stdout).unwrap()["token"].as_str().unwrap().to_owned();

    // The learner sees the item once the fleet published the ladder, and the ladder is served.
    let items_url = server.url(&format!("{base}/modules/{module_id}/items"));
    let started = Instant::now();
    let master = loop {
        let (status, items) = as_user(&ann, &[&items_url]);
        assert_eq!(status, 200, "{items}");
        let media = &items[0]["media_object"];
        if media["state"] == "ready" {
            break media["media_sources"][0]["url"].as_str().unwrap().to_owned();
        }
        assert_ne!(media["state"], "failed", "{items}\n{}", server.log());
        assert!(started.elapsed() < Duration::from_secs(180), "never published: {items}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(curl(&[&master]).0, 200, "{master}");
    let (_, items) = as_user(&ann, &[&items_url]);
    assert_eq!(items[0]["media_object"]["media_tracks"][0]["locale"], "en");
    // Its length and rungs, as the worker read them back from the published playlists.
    let media = &items[0]["media_object"];
    let duration = media["duration"].as_f64().unwrap_or(0.0);
    assert!((duration - 6.0).abs() < 0.5, "the 6-second fixture lasts {duration} s: {media}");
    let rungs = media["media_sources"][0]["rungs"].as_array().cloned().unwrap_or_default();
    let heights: Vec<i64> = rungs.iter().filter_map(|rung| rung["height"].as_i64()).collect();
    // A 360p source is not scaled up: one rung, at its own size.
    assert_eq!(heights, [360], "{media}");
    assert!(rungs.iter().all(|rung| rung["bitrate"].as_i64().unwrap_or(0) > 0), "{media}");
    assert_eq!(items[0]["completion_requirement"]["completed"], false);

    // A stranger from another school sees nothing of the course, its items or its media.
    let (stranger, _) = crate::fleet::account_named(data.path(), env, "Other School", "admin@other.example");
    for path in [format!("{base}/modules/{module_id}/items"), format!("{base}/media_objects/{media_id}"), base.clone()]
    {
        let (status, body) = as_user(&stranger, &[&server.url(&path)]);
        assert_eq!(status, 404, "{path}: {body}");
    }
}

#[test]
fn an_uploaded_lecture_becomes_a_video_item_for_enrolled_learners_on_sqlite() {
    lecture_becomes_a_video_item_for_enrolled_learners(&[]);
}

#[test]
fn an_uploaded_lecture_becomes_a_video_item_for_enrolled_learners_on_postgres() {
    lecture_becomes_a_video_item_for_enrolled_learners(&[("DATABASE_URL".to_owned(), create_database())]);
}
