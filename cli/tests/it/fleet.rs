//! The pipeline end to end, as users and operators drive it: `lms-media serve` (and `worker` processes)
//! started as real processes, uploads through `curl`, jobs followed over HTTP, faults made by killing
//! processes. Embedded runs use SQLite, a local folder and the in-process queue; distributed runs use the
//! PostgreSQL, RabbitMQ and Garage servers `scripts/test` starts on loopback.

// Helpers shared by the tests, which clippy does not see as test code.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{committed_fixture, fixture, lms_media, run_with_limit};

mod faults;

/// Settings of the servers on loopback, as `scripts/setup` and `scripts/garage` leave them.
fn distributed_env(test: &str) -> Vec<(String, String)> {
    let garage = std::env::var_os("LMS_MEDIA_GARAGE_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lms-media/garage/env"));
    let text = std::fs::read_to_string(&garage)
        .unwrap_or_else(|error| panic!("no Garage settings at {} ({error}): run scripts/garage", garage.display()));
    let vars: HashMap<&str, &str> = text.lines().filter_map(|line| line.split_once('=')).collect();
    let database = create_database();
    vec![
        ("DATABASE_URL".into(), database),
        ("LMS_MEDIA_AMQP_URL".into(), "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=5".into()),
        ("LMS_MEDIA_AMQP_QUEUE".into(), format!("lms.it.{test}.{}", std::process::id())),
        ("LMS_MEDIA_S3_BUCKET".into(), vars["LMS_MEDIA_S3_BUCKET"].into()),
        ("LMS_MEDIA_S3_ENDPOINT".into(), vars["LMS_MEDIA_S3_ENDPOINT"].into()),
        ("AWS_REGION".into(), vars["AWS_REGION"].into()),
        ("AWS_ACCESS_KEY_ID".into(), vars["AWS_ACCESS_KEY_ID"].into()),
        ("AWS_SECRET_ACCESS_KEY".into(), vars["AWS_SECRET_ACCESS_KEY"].into()),
    ]
}

/// The value of `name` in a test's environment list.
fn env_value(env: &[(String, String)], name: &str) -> String {
    env.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap()
}

/// A fresh PostgreSQL database, made with `psql` so this test binary needs no database driver.
pub(crate) fn create_database() -> String {
    let admin = std::env::var("LMS_MEDIA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://lms_media:lms_media@127.0.0.1:5432/lms_media_test".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("lms_media_t_it_{}_{nanos}", std::process::id());
    let output =
        Command::new("psql").arg(&admin).args(["-qtAX", "-c", &format!("CREATE DATABASE {name}")]).output().unwrap();
    assert!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

/// A running `lms-media serve` or `worker`, killed when dropped.
pub(crate) struct Process {
    child: Child,
    address: Option<String>,
    log: PathBuf,
    /// For `serve`: the test account's admin token and account id.
    account: Option<(String, i64)>,
}

impl Process {
    fn start(args: &[&str], data: &Path, env: &[(String, String)], log_name: &str) -> Process {
        Self::start_limited(args, data, env, log_name, None)
    }

    /// The same, with the child's open-descriptor limit set to `descriptors` (as a service manager sets it).
    fn start_limited(
        args: &[&str],
        data: &Path,
        env: &[(String, String)],
        log_name: &str,
        descriptors: Option<u64>,
    ) -> Process {
        let log = data.join(format!("{log_name}.log"));
        let mut command = lms_media();
        if let Some(limit) = descriptors {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        command
            .arg(args[0])
            .arg("--data-dir")
            .arg(data)
            // The test's defaults first: a test's own flags come after them, and the last of a flag wins.
            .args(["--lease-seconds", "3", "--retry-backoff-seconds", "0", "--shutdown-grace-seconds", "5"])
            .args(&args[1..])
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = command.spawn().unwrap();
        let mut address = None;
        if args[0] == "serve" || args.contains(&"--listen") {
            let stdout = child.stdout.take().unwrap();
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            let found = line.trim().strip_prefix("listening on ").map(str::to_owned);
            assert!(
                found.is_some(),
                "serve did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            address = found;
        }
        Process { child, address, log, account: None }
    }

    /// The test account's admin token.
    pub(crate) fn token(&self) -> &str {
        &self.account.as_ref().unwrap().0
    }

    /// The test account's tenant key: its id, which names its storage folders.
    pub(crate) fn tenant(&self) -> String {
        self.account.as_ref().unwrap().1.to_string()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address.as_deref().unwrap())
    }

    pub(crate) fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// The operators' token the tests' servers ask for on `/metrics`.
const OPS_TOKEN: &str = "test-ops-token";

/// `serve` whose process may open at most `descriptors` files and sockets.
pub(crate) fn serve_with_descriptor_limit(data: &Path, descriptors: u64, extra: &[&str]) -> Process {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--ops-token", OPS_TOKEN];
    args.extend_from_slice(extra);
    let mut process = Process::start_limited(&args, data, &[], "serve", Some(descriptors));
    process.account = Some(account(data, &[], "admin@school.example"));
    process
}

pub(crate) fn serve(data: &Path, env: &[(String, String)], extra: &[&str]) -> Process {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--ops-token", OPS_TOKEN];
    args.extend_from_slice(extra);
    let mut process = Process::start(&args, data, env, "serve");
    process.account = Some(account(data, env, "admin@school.example"));
    process
}

/// The token and id of the account whose admin signs in as `admin`, made with `lms-media accounts create`
/// against the server's database the first time, remembered in the data folder after that (a restarted
/// server keeps its accounts).
fn account(data: &Path, env: &[(String, String)], admin: &str) -> (String, i64) {
    account_named(data, env, "Test School", admin)
}

/// The same, for an account named `name`.
pub(crate) fn account_named(data: &Path, env: &[(String, String)], name: &str, admin: &str) -> (String, i64) {
    let remembered = data.join(format!("account-{admin}.json"));
    let text = match std::fs::read_to_string(&remembered) {
        Ok(text) => text,
        Err(_) => {
            let output = lms_media()
                .args(["accounts", "create", "--name", name, "--admin-email", admin, "--data-dir"])
                .arg(data)
                .envs(env.iter().map(|(name, value)| (name, value)))
                .output()
                .unwrap();
            assert!(output.status.success(), "accounts create: {}", String::from_utf8_lossy(&output.stderr));
            let text = String::from_utf8(output.stdout).unwrap();
            std::fs::write(&remembered, &text).unwrap();
            text
        }
    };
    let created: Value = serde_json::from_str(&text).unwrap();
    (created["token"].as_str().unwrap().to_owned(), created["account_id"].as_i64().unwrap())
}

/// `curl` with the test account's token, for the API.
pub(crate) fn api(server: &Process, args: &[&str]) -> (u16, String) {
    let authorization = format!("Authorization: Bearer {}", server.token());
    let mut all = vec!["-H", &authorization];
    all.extend_from_slice(args);
    curl(&all)
}

pub(crate) fn curl(args: &[&str]) -> (u16, String) {
    let output = run_with_limit(
        Command::new("curl").args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"]).args(args),
        Duration::from_secs(70),
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_owned())
}

fn upload(server: &Process, video: &Path, subtitles: &[(&str, PathBuf)]) -> (u16, Value) {
    let mut args = vec!["-F".to_owned(), format!("file=@{}", video.display())];
    for (language, path) in subtitles {
        args.push("-F".into());
        args.push(format!("subtitle.{language}=@{}", path.display()));
    }
    args.push(server.url("/api/v1/uploads"));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, body) = api(server, &refs);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn job(server: &Process, id: &str) -> Value {
    let (status, body) = api(server, &[&server.url(&format!("/api/v1/jobs/{id}"))]);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls the job until `done` says so, failing with the server's log after `limit`.
fn wait_for(server: &Process, id: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let current = job(server, id);
        if done(&current) {
            return current;
        }
        assert!(started.elapsed() < limit, "job {id} stuck at {current}\n--- log ---\n{}", server.log());
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every file under `root`, recursively (none when it does not exist).
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                folders.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files
}

fn is_final(job: &Value) -> bool {
    matches!(job["state"].as_str(), Some("published" | "dead" | "rejected"))
}

/// Response headers of a GET, lower-cased names.
fn headers(url: &str, origin: &str) -> (u16, HashMap<String, String>) {
    let (status, body) = curl(&["-D", "-", "-o", "/dev/null", "-H", &format!("Origin: {origin}"), url]);
    let map = body
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, map)
}

#[test]
fn embedded_serve_turns_an_upload_into_a_published_ladder() {
    upload_becomes_a_published_ladder(&[]);
}

/// The same, with the jobs in PostgreSQL: the API's behaviour does not depend on the database.
#[test]
fn serve_on_postgres_turns_an_upload_into_a_published_ladder() {
    upload_becomes_a_published_ladder(&[("DATABASE_URL".into(), create_database())]);
}

/// Upload, follow, validate and fetch a ladder through `serve` with local storage and in-process workers.
fn upload_becomes_a_published_ladder(env: &[(String, String)]) {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), env, &[]);
    let events_log = data.path().join("events.txt");
    let (status, created) =
        upload(&server, &fixture("small-360p.mp4"), &[("en", committed_fixture("subtitles/lecture.en.srt"))]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "queued");
    assert_eq!(created["subtitles"], serde_json::json!(["en"]));
    // A UI follows the job over server-sent events until it ends.
    let events = Command::new("curl")
        .args(["-sS", "-N", "--max-time", "120", "-H", &format!("Authorization: Bearer {}", server.token()), "-o"])
        .arg(&events_log)
        .arg(server.url(&format!("/api/v1/jobs/{id}/events")))
        .spawn()
        .unwrap();

    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", server.log());
    assert_eq!(done["attempts"], 1);
    let master_url = done["ladder"]["master_url"].as_str().unwrap();
    let prefix = done["ladder"]["prefix"].as_str().unwrap();
    assert_eq!(prefix, format!("ladders/{}/{id}/1", server.tenant()));

    // The ladder is valid as stored, and served with CDN-ready headers.
    let ladder = data.path().join("storage").join(prefix);
    let validate = run_with_limit(lms_media().args(["hls", "validate"]).arg(&ladder), Duration::from_secs(60));
    assert!(validate.status.success(), "{}", String::from_utf8_lossy(&validate.stdout));
    let (status, master) = headers(master_url, "https://learn.example");
    assert_eq!(status, 200);
    assert_eq!(master["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(master["cache-control"], "public, max-age=60");
    assert_eq!(master["access-control-allow-origin"], "*");
    let segment = std::fs::read_dir(ladder.join("360p"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().into_string().unwrap())
        .find(|name| name.ends_with(".m4s"))
        .unwrap();
    let (status, segment_headers) =
        headers(&master_url.replace("master.m3u8", &format!("360p/{segment}")), "https://learn.example");
    assert_eq!(status, 200);
    assert_eq!(segment_headers["content-type"], "video/iso.segment");
    assert_eq!(segment_headers["cache-control"], "public, max-age=31536000, immutable");
    // Sources are never served.
    let (status, _) = curl(&[&server.url(&format!("/media/sources/{}/{id}/lecture.mp4", server.tenant()))]);
    assert_eq!(status, 404);

    let mut events = events;
    let started = Instant::now();
    while events.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = events.kill();
    let stream = std::fs::read_to_string(&events_log).unwrap_or_default();
    assert!(stream.contains("event: job"), "{stream}");
    assert!(stream.contains("\"state\":\"published\""), "the event stream did not end with the ladder: {stream}");

    // /metrics is for operators: not served to the public, or to a user's token.
    assert_eq!(curl(&[&server.url("/metrics")]).0, 404);
    assert_eq!(api(&server, &[&server.url("/metrics")]).0, 404);
    let (status, metrics) = curl(&["-H", &format!("Authorization: Bearer {OPS_TOKEN}"), &server.url("/metrics")]);
    assert_eq!(status, 200);
    assert!(metrics.contains("lms_media_jobs{state=\"published\"} 1"), "{metrics}");
    assert!(metrics.contains("lms_media_encode_seconds_count 1"), "{metrics}");
    assert_eq!(curl(&[&server.url("/readyz")]).0, 200);
    assert_eq!(curl(&[&server.url("/healthz")]).0, 200);
}

#[test]
fn uploads_are_checked_and_bad_sources_end_with_their_reason() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &[], &["--max-upload-mb", "1"]);
    // Not a video, whatever its name says: refused at once, no job.
    let fake = data.path().join("lecture.mp4");
    std::fs::write(&fake, "Week 1 notes: not a video at all\n").unwrap();
    let (status, body) = upload(&server, &fake, &[]);
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["errors"][0]["code"], "unsupported-type");
    // Over the size limit.
    let (status, body) = upload(&server, &fixture("camera-1080p30.mp4"), &[]);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["errors"][0]["code"], "too-large");
    // A good video with a bad subtitle: refused as a whole, and nothing of it stays in storage.
    let notes = data.path().join("notes.srt");
    std::fs::write(&notes, "these are not subtitles\n").unwrap();
    let (status, body) = upload(&server, &fixture("small-360p.mp4"), &[("en", notes.clone())]);
    assert_eq!(status, 415, "{body}");
    let (status, body) = upload(&server, &fixture("small-360p.mp4"), &[("en-", notes)]);
    assert_eq!((status, body["errors"][0]["code"].as_str()), (400, Some("invalid-language")), "{body}");
    let sources = data.path().join("storage/sources");
    let left: Vec<_> = walk(&sources);
    assert!(left.is_empty(), "refused uploads left files behind: {left:?}");
    // A part whose headers never end is cut off, not buffered.
    let endless = data.path().join("endless.bin");
    std::fs::write(
        &endless,
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Pad: {}", "p".repeat(200_000)),
    )
    .unwrap();
    let (status, body) = api(
        &server,
        &[
            "-H",
            "content-type: multipart/form-data; boundary=XyZ",
            "--data-binary",
            &format!("@{}", endless.display()),
            &server.url("/api/v1/uploads"),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("headers are longer"), "{body}");

    // Without a token, nothing: not even an upload's bytes are read.
    let (status, body) =
        curl(&["-F", &format!("file=@{}", fixture("small-360p.mp4").display()), &server.url("/api/v1/uploads")]);
    assert_eq!(status, 401, "{body}");
    // An unknown job, and another account's job, are not found.
    assert_eq!(api(&server, &[&server.url("/api/v1/jobs/nope")]).0, 404);

    // A video the probe refuses (a 16384x16384 picture): the job is rejected with the reason, never retried.
    let (status, created) = upload(&server, &fixture("huge-16384x16384.mp4"), &[]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (other_token, _) = account(data.path(), &[], "admin@other-school.example");
    let other_tenant =
        curl(&["-H", &format!("Authorization: Bearer {other_token}"), &server.url(&format!("/api/v1/jobs/{id}"))]);
    assert_eq!(other_tenant.0, 404, "accounts see only their own jobs");
    let done = wait_for(&server, id, Duration::from_secs(120), is_final);
    assert_eq!(done["state"], "rejected", "{done}");
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["error"]["code"], "input-rejected");
    assert!(done["error"]["message"].as_str().unwrap().contains("16384"), "{done}");

    // Legal H.264 whose pixels are 100:1 (a 32000×240 rung) is rejected at once too, not retried into `dead`.
    let (status, created) = upload(&server, &fixture("sar-100-to-1.mp4"), &[]);
    assert_eq!(status, 201, "{created}");
    let done = wait_for(&server, created["id"].as_str().unwrap(), Duration::from_secs(120), is_final);
    assert_eq!((done["state"].as_str(), done["attempts"].as_u64()), (Some("rejected"), Some(1)), "{done}");
    assert!(done["error"]["message"].as_str().unwrap().contains("100:1"), "{done}");
}

#[test]
fn a_job_that_crashes_the_encoder_every_time_is_dead_after_its_attempts_and_can_be_replayed() {
    let data = tempfile::tempdir().unwrap();
    let crash = vec![("LMS_MEDIA_CHILD_FAULT".to_owned(), "abort-while-encoding".to_owned())];
    let server = serve(data.path(), &crash, &["--max-attempts", "2"]);
    let (status, created) = upload(&server, &fixture("small-360p.mp4"), &[]);
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let done = wait_for(&server, &id, Duration::from_secs(120), is_final);
    assert_eq!(done["state"], "dead", "{done}");
    assert_eq!(done["attempts"], 2);
    assert!(
        done["error"]["message"].as_str().unwrap().contains("crash")
            || done["error"]["code"].as_str().unwrap().contains("crash"),
        "{done}"
    );
    assert!(done["ladder"].is_null());
    drop(server);

    // Fixed (here: the fault is gone), an operator replays it.
    let server = serve(data.path(), &[], &[]);
    let (status, replayed) = api(&server, &["-X", "POST", &server.url(&format!("/api/v1/jobs/{id}/replay"))]);
    assert_eq!(status, 200, "{replayed}");
    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", server.log());
    assert_eq!(done["attempts"], 3);
}

/// The bucket the distributed fleet uses, through the fleet's own storage client.
fn fleet_storage(env: &[(String, String)]) -> lms_pipeline::storage::Storage {
    let get = |name: &str| env_value(env, name);
    lms_pipeline::storage::StorageConfig::S3 {
        endpoint: Some(get("LMS_MEDIA_S3_ENDPOINT")),
        region: get("AWS_REGION"),
        bucket: get("LMS_MEDIA_S3_BUCKET"),
        access_key_id: get("AWS_ACCESS_KEY_ID"),
        secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
    }
    .build()
    .unwrap()
}

/// Lists an S3 prefix with the fleet's own storage client.
fn s3_listing(env: &[(String, String)], prefix: &str) -> Vec<String> {
    let storage = fleet_storage(env);
    let key = lms_pipeline::StorageKey::from_path(prefix).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(storage.list(&key)).unwrap()
}

/// Every URI the playlists under `prefix` name is in `files`.
fn assert_no_broken_uri(env: &[(String, String)], prefix: &str, files: &[String]) {
    let storage = fleet_storage(env);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for playlist in files.iter().filter(|name| name.ends_with(".m3u8")) {
        let key = lms_pipeline::StorageKey::from_path(&format!("{prefix}/{playlist}")).unwrap();
        let text = String::from_utf8(runtime.block_on(storage.get_bytes(&key)).unwrap().unwrap()).unwrap();
        let folder = playlist.rsplit_once('/').map(|(folder, _)| format!("{folder}/")).unwrap_or_default();
        for line in text.lines() {
            let mut uris: Vec<&str> = line.split("URI=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
            if !line.starts_with('#') && !line.trim().is_empty() {
                uris.push(line.trim());
            }
            for uri in uris {
                let target = format!("{folder}{uri}");
                let normal = normalise(&target);
                assert!(files.contains(&normal), "{playlist} names {uri}, which is not published");
            }
        }
    }
}

fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[test]
fn a_worker_killed_mid_encode_is_replaced_and_exactly_one_ladder_is_published() {
    let env = distributed_env("kill");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "0"]);
    let worker_a_data = data.path().join("worker-a");
    std::fs::create_dir_all(&worker_a_data).unwrap();
    let mut worker_a = Process::start(&["worker"], &worker_a_data, &env, "worker");

    let (status, created) = upload(
        &server,
        &fixture("lecture-slides-1080p30.mp4"),
        &[("en", committed_fixture("subtitles/lecture.en.srt"))],
    );
    assert_eq!(status, 201, "{created}\n{}", server.log());
    let id = created["id"].as_str().unwrap().to_owned();
    // Killed once the encode is under way and well before it ends (progress comes with each lease renewal).
    wait_for(&server, &id, Duration::from_secs(60), |job| {
        job["state"] == "running" && job["progress"].as_f64().is_some_and(|done| done > 0.0 && done < 0.9)
    });
    worker_a.kill_hard();

    let worker_b_data = data.path().join("worker-b");
    std::fs::create_dir_all(&worker_b_data).unwrap();
    let worker_b = Process::start(&["worker"], &worker_b_data, &env, "worker");
    let done = wait_for(&server, &id, Duration::from_secs(300), is_final);
    assert_eq!(done["state"], "published", "{done}\n--- worker b ---\n{}", worker_b.log());
    assert_eq!(done["attempts"], 2, "the killed attempt counts: {done}");
    // Only the finishing attempt's prefix holds a ladder, and nothing it names is missing.
    let job_prefix = format!("ladders/{}/{id}", server.tenant());
    let attempt_one = s3_listing(&env, &format!("{job_prefix}/1"));
    assert!(!attempt_one.contains(&"master.m3u8".to_owned()), "the killed attempt published a master");
    let published = s3_listing(&env, &format!("{job_prefix}/2"));
    assert!(published.contains(&"master.m3u8".to_owned()), "{published:?}");
    assert!(published.iter().any(|name| name.starts_with("subtitles/")), "{published:?}");
    assert_no_broken_uri(&env, &format!("{job_prefix}/2"), &published);
}

#[test]
fn a_job_committed_before_the_api_died_is_published_after_restart() {
    let env = distributed_env("relay");
    let data = tempfile::tempdir().unwrap();
    let mut delayed = env.clone();
    delayed.push(("LMS_MEDIA_FAULT_RELAY_DELAY_MS".into(), "600000".into()));
    let mut server = serve(data.path(), &delayed, &["--workers", "0"]);
    let (status, created) = upload(&server, &fixture("small-360p.mp4"), &[]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // Committed, not yet published: the API dies.
    server.kill_hard();

    let server = serve(data.path(), &env, &["--workers", "1"]);
    // The restarted relay publishes the message at once, so its worker may already hold the job.
    let state = job(&server, &id)["state"].as_str().unwrap_or_default().to_owned();
    assert!(matches!(state.as_str(), "queued" | "running" | "published"), "{state}");
    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", server.log());
    assert_eq!(done["attempts"], 1);
}

fn post_json(server: &Process, path: &str, body: &str) -> (u16, String) {
    api(server, &["-X", "POST", "-H", "content-type: application/json", "-d", body, &server.url(path)])
}

/// Asks for a presigned upload of `file` and PUTs it there as a browser would; returns the upload id.
fn direct_upload(server: &Process, file: &Path, content_type: &str) -> String {
    let size = std::fs::metadata(file).unwrap().len();
    let request = serde_json::json!({ "filename": "lecture.mp4", "size": size, "content_type": content_type });
    let (status, body) = post_json(server, "/api/v1/uploads/presigned", &request.to_string());
    assert_eq!(status, 201, "{body}");
    let signed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(signed["method"], "PUT");
    let mut put = vec!["-X".to_owned(), "PUT".to_owned(), "-T".to_owned(), file.display().to_string()];
    for (name, value) in signed["headers"].as_object().unwrap() {
        if name != "content-length" {
            put.push("-H".into());
            put.push(format!("{name}: {}", value.as_str().unwrap()));
        }
    }
    put.push(signed["url"].as_str().unwrap().to_owned());
    let refs: Vec<&str> = put.iter().map(String::as_str).collect();
    let (status, body) = curl(&refs);
    assert_eq!(status, 200, "the presigned PUT failed: {body}");
    signed["upload_id"].as_str().unwrap().to_owned()
}

fn complete(server: &Process, id: &str) -> (u16, Value) {
    let (status, body) = api(server, &["-X", "POST", &server.url(&format!("/api/v1/uploads/{id}/complete"))]);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn browsers_upload_straight_to_s3_and_the_api_checks_what_arrived() {
    let env = distributed_env("direct");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "1"]);

    let id = direct_upload(&server, &fixture("small-360p.mp4"), "video/mp4");
    let (status, created) = complete(&server, &id);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], id.as_str());
    let (status, again) = complete(&server, &id);
    assert_eq!((status, &again["id"]), (200, &created["id"]), "completing twice is one job");
    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", server.log());

    // A text file declared as video: refused at completion, deleted, no job.
    let fake = data.path().join("notes.mp4");
    std::fs::write(&fake, "Week 1 notes, not a video\n".repeat(20)).unwrap();
    let id = direct_upload(&server, &fake, "video/mp4");
    let (status, refused) = complete(&server, &id);
    assert_eq!(status, 415, "{refused}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for name in ["lecture.upload", "lecture.source"] {
        let key = lms_pipeline::StorageKey::source(&server.tenant(), &id, name).unwrap();
        assert_eq!(runtime.block_on(fleet_storage(&env).head(&key)).unwrap(), None, "the refused upload was kept");
    }
    assert_eq!(api(&server, &[&server.url(&format!("/api/v1/jobs/{id}"))]).0, 404);

    // Completing an upload that never arrived says so.
    let (status, body) = complete(&server, "0b6f2e5c-3d1a-4c8e-9f7a-2b4d6e8f0a1c");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["code"], "nothing-uploaded");
}

#[test]
fn direct_uploads_need_s3() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &[], &[]);
    let request = r#"{"filename":"a.mp4","size":1000,"content_type":"video/mp4"}"#;
    let (status, body) = post_json(&server, "/api/v1/uploads/presigned", request);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("presigned uploads need S3"), "{body}");
}
