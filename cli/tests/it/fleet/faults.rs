//! Faults the distributed fleet must survive, made for real: a worker killed in the middle of an upload, the
//! broker restarted while jobs flow, S3 resetting connections and answering 503 under a worker, and a worker
//! told to stop while it encodes.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{Process, distributed_env, is_final, job, serve, upload, wait_for};
use crate::util::{committed_fixture, fixture};

#[path = "../../../../pipeline/tests/support/fault_proxy.rs"]
#[allow(clippy::expect_used)]
mod fault_proxy;

fn worker(data: &std::path::Path, name: &str, env: &[(String, String)], extra: &[&str]) -> Process {
    let folder = data.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let mut args = vec!["worker"];
    args.extend_from_slice(extra);
    Process::start(&args, &folder, env, "worker")
}

/// Waits until `process`'s log contains `needle`.
fn wait_for_log(process: &Process, needle: &str, limit: Duration) {
    let started = Instant::now();
    while !process.log().contains(needle) {
        assert!(started.elapsed() < limit, "no {needle:?} in the log:\n{}", process.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_killed_mid_upload_leaves_no_master_and_another_publishes() {
    let env = distributed_env("upload");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "0"]);
    let mut slow = env.clone();
    slow.push(("LMS_MEDIA_FAULT_UPLOAD_PAUSE_MS".into(), "400".into()));
    let mut worker_a = worker(data.path(), "a", &slow, &[]);

    let (status, created) = upload(&server, &fixture("source-720p.mp4"), &[]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    wait_for_log(&worker_a, "uploading the ladder", Duration::from_secs(120));
    // Killed as soon as the first files of the attempt are in the bucket, with more still to come.
    let attempt_one = format!("ladders/{}/{id}/1", server.tenant());
    let started = Instant::now();
    while super::s3_listing(&env, &attempt_one).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "nothing was uploaded:\n{}", worker_a.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    worker_a.kill_hard();

    let worker_b = worker(data.path(), "b", &env, &[]);
    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", worker_b.log());
    assert_eq!(done["attempts"], 2);
    let job_prefix = format!("ladders/{}/{id}", server.tenant());
    let killed = super::s3_listing(&env, &format!("{job_prefix}/1"));
    assert!(!killed.is_empty(), "the worker was killed before it uploaded anything: not mid-upload");
    assert!(!killed.contains(&"master.m3u8".to_owned()), "the killed attempt published its master: {killed:?}");
    let published = super::s3_listing(&env, &format!("{job_prefix}/2"));
    super::assert_no_broken_uri(&env, &format!("{job_prefix}/2"), &published);
}

fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl").args(args).output().expect("rabbitmqctl runs");
    assert!(output.status.success(), "rabbitmqctl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Starts the broker's application again even when the test fails half-way.
struct RestartGuard;

impl Drop for RestartGuard {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl").arg("start_app").output();
    }
}

#[test]
fn jobs_flowing_through_a_broker_restart_are_all_published() {
    let env = distributed_env("restart");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "0"]);
    let worker = worker(data.path(), "w", &env, &[]);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, created) = upload(&server, &fixture("small-360p.mp4"), &[]);
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    wait_for(&server, &ids[0], Duration::from_secs(60), |job| job["state"] != "queued");

    let guard = RestartGuard;
    rabbitmqctl(&["stop_app"]);
    // Uploads go on while the broker is down: the jobs wait in the outbox.
    for _ in 0..2 {
        let (status, created) = upload(&server, &fixture("small-360p.mp4"), &[]);
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    std::thread::sleep(Duration::from_secs(2));
    rabbitmqctl(&["start_app"]);
    drop(guard);

    for id in &ids {
        let done = wait_for(&server, id, Duration::from_secs(240), is_final);
        assert_eq!(
            done["state"],
            "published",
            "{done}\n--- serve ---\n{}\n--- worker ---\n{}",
            server.log(),
            worker.log()
        );
    }
}

#[test]
fn a_worker_whose_s3_resets_and_answers_503_still_publishes() {
    let env = distributed_env("s3faults");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "0"]);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let endpoint = super::env_value(&env, "LMS_MEDIA_S3_ENDPOINT");
    let upstream = endpoint.trim_start_matches("http://").parse().unwrap();
    let resets = fault_proxy::FaultProxy::start(
        upstream,
        fault_proxy::FaultPlan::every_nth_request(3, fault_proxy::Fault::Reset),
    );
    let slow_downs = fault_proxy::FaultProxy::start(
        resets.addr(),
        fault_proxy::FaultPlan::every_nth_request(4, fault_proxy::Fault::SlowDown),
    );
    let mut faulty = env.clone();
    faulty.retain(|(name, _)| name != "LMS_MEDIA_S3_ENDPOINT");
    faulty.push(("LMS_MEDIA_S3_ENDPOINT".into(), slow_downs.url()));
    let worker = worker(data.path(), "w", &faulty, &["--listen", "127.0.0.1:0"]);

    let (status, created) =
        upload(&server, &fixture("small-360p.mp4"), &[("en", committed_fixture("subtitles/lecture.en.srt"))]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let done = wait_for(&server, &id, Duration::from_secs(240), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", worker.log());
    assert!(resets.faults() > 0 && slow_downs.faults() > 0, "no fault was injected");
    let prefix = done["ladder"]["prefix"].as_str().unwrap();
    let published = super::s3_listing(&env, prefix);
    super::assert_no_broken_uri(&env, prefix, &published);
    // The worker counts its own work.
    let (status, metrics) = super::curl(&[&worker.url("/metrics")]);
    assert_eq!(status, 200);
    assert!(metrics.contains("lms_media_attempts_total{outcome=\"published\"} 1"), "{metrics}");
    assert!(metrics.contains("lms_media_encode_seconds_count 1"), "{metrics}");
    assert!(!metrics.contains("lms_media_upload_bytes_total 0\n"), "{metrics}");
}

fn terminate(process: &Process) {
    let status = Command::new("kill").args(["-TERM", &process.child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_stopping_worker_finishes_its_job_within_the_grace_period_or_hands_it_back() {
    let env = distributed_env("drain");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "0"]);

    // A generous grace period: the job in hand is finished, then the worker exits cleanly.
    let mut patient = worker(data.path(), "patient", &env, &["--shutdown-grace-seconds", "120"]);
    let (_, created) = upload(&server, &fixture("source-720p.mp4"), &[]);
    let id = created["id"].as_str().unwrap().to_owned();
    wait_for(&server, &id, Duration::from_secs(60), |job| job["state"] == "running");
    terminate(&patient);
    let exit = patient.child.wait().unwrap();
    assert!(exit.success(), "{exit}\n{}", patient.log());
    let done = job(&server, &id);
    assert_eq!(done["state"], "published", "{done}\n{}", patient.log());
    assert_eq!(done["attempts"], 1);

    // No grace: the job is handed back at once, without using up an attempt, and the next worker takes it.
    let mut hasty = worker(data.path(), "hasty", &env, &["--shutdown-grace-seconds", "0"]);
    let (_, created) = upload(&server, &fixture("source-720p.mp4"), &[]);
    let id = created["id"].as_str().unwrap().to_owned();
    wait_for(&server, &id, Duration::from_secs(60), |job| job["state"] == "running");
    terminate(&hasty);
    let exit = hasty.child.wait().unwrap();
    assert!(exit.success(), "{exit}\n{}", hasty.log());
    let handed_back = job(&server, &id);
    assert_eq!(handed_back["state"], "queued", "{handed_back}\n{}", hasty.log());
    assert_eq!(handed_back["max_attempts"], 4, "the handed-back attempt does not count: {handed_back}");
    let next = worker(data.path(), "next", &env, &[]);
    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}\n{}", next.log());
}

#[test]
fn a_message_delivered_twice_to_two_workers_has_one_effect() {
    let env = distributed_env("duplicate");
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &env, &["--workers", "0"]);
    let (status, created) = upload(&server, &fixture("small-360p.mp4"), &[]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // The same message once more on the queue, as a relay that crashed after publishing would send it.
    let get = |name: &str| super::env_value(&env, name);
    let message = lms_pipeline::TranscodeJob {
        kind: lms_pipeline::job::TRANSCODE_JOB_KIND.into(),
        job_id: id.clone(),
        tenant_id: server.tenant(),
        attempt: 1,
        source: format!("sources/{}/{id}/lecture.mp4", server.tenant()),
        subtitles: Vec::new(),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let settings = lms_pipeline::queue::RabbitSettings {
            queue: get("LMS_MEDIA_AMQP_QUEUE"),
            ..lms_pipeline::queue::RabbitSettings::new(&get("LMS_MEDIA_AMQP_URL"))
        };
        let queue = lms_pipeline::queue::RabbitQueue::connect(settings).await.unwrap();
        lms_pipeline::Queue::Rabbit(queue).publish(&message.to_json()).await.unwrap();
    });

    let first = worker(data.path(), "one", &env, &[]);
    let second = worker(data.path(), "two", &env, &[]);
    let done = wait_for(&server, &id, Duration::from_secs(180), is_final);
    assert_eq!(done["state"], "published", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    // Both messages were taken: one made the ladder, the other was dropped.
    let started = Instant::now();
    while !(first.log() + &second.log()).contains("message dropped") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the duplicate was never seen:\n{}\n{}",
            first.log(),
            second.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        super::s3_listing(&env, &format!("ladders/{}/{id}/1", server.tenant())).contains(&"master.m3u8".to_owned())
    );
    let second_attempt = super::s3_listing(&env, &format!("ladders/{}/{id}/2", server.tenant()));
    assert!(second_attempt.is_empty(), "a second attempt ran: {second_attempt:?}");
}
