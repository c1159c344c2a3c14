//! Clients that hold on to the server: connections that stay idle, headers sent a few bytes and then
//! nothing (slowloris), uploads that stop arriving. `serve` must keep answering everyone else, never run out
//! of descriptors, and free what a stalled upload held.

// Helpers shared by the tests, which clippy does not see as test code.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::fleet::{Process, serve_with_descriptor_limit};

/// Lets this test process open more sockets than the server it attacks may.
fn raise_own_descriptor_limit(wanted: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write only the struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
}

/// A connection, or a failed test after 5 seconds (a server out of descriptors never accepts).
fn connect(address: &str) -> TcpStream {
    let socket: std::net::SocketAddr = address.parse().unwrap();
    TcpStream::connect_timeout(&socket, Duration::from_secs(5)).unwrap()
}

fn address(server: &Process) -> String {
    server.url("").trim_start_matches("http://").to_owned()
}

/// One request on a fresh connection; the status code and how long the answer took.
fn get(address: &str, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = connect(address);
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let status = String::from_utf8_lossy(&answer).split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, started.elapsed())
}

/// Whether the server closes `stream` within `limit` (a read ends or fails).
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) => {
                return !matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
            }
        }
    }
}

#[test]
fn idle_and_slowloris_connections_do_not_lock_out_other_clients() {
    raise_own_descriptor_limit(4096);
    let data = tempfile::tempdir().unwrap();
    // A service manager's usual limit of 1,024 descriptors; the connection cap derives from it.
    let server = serve_with_descriptor_limit(data.path(), 1024, &["--header-timeout-secs", "3"]);
    let address = address(&server);

    // 1,100 connections that send nothing, and 100 that send part of a request's headers and stop.
    let mut held = Vec::new();
    for _ in 0..1100 {
        held.push(connect(&address));
    }
    for _ in 0..100 {
        let mut stream = connect(&address);
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1").unwrap();
        held.push(stream);
    }
    // Everyone else is still answered, at once.
    for _ in 0..10 {
        let (status, took) = get(&address, "/healthz");
        assert_eq!(status, 200, "{}", server.log());
        assert!(took < Duration::from_secs(1), "/healthz took {took:?} with 1,200 connections held");
    }
    let (status, _) = get(&address, "/api/v1/openapi.json");
    assert_eq!(status, 200);
    // A slowloris still held is closed once its time for headers is up.
    let mut slow = held.pop().unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(6)), "a half-sent header kept its connection");
    let log = server.log();
    assert!(!log.contains("Too many open files"), "{log}");
    drop(held);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let data = tempfile::tempdir().unwrap();
    let server = serve_with_descriptor_limit(data.path(), 1024, &["--idle-timeout-secs", "2"]);
    let address = address(&server);
    let mut stream = connect(&address);
    write!(stream, "GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(8)), "an idle connection was kept");
    assert!(started.elapsed() >= Duration::from_secs(1), "closed before its idle time: {:?}", started.elapsed());
}

/// Starts an upload of a `declared`-byte lecture: the request line, headers and the start of the multipart
/// body, with the token of `server`'s admin.
fn start_upload(server: &Process, declared: usize) -> TcpStream {
    let address = address(server);
    let mut stream = connect(&address);
    let preamble = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lecture.mp4\"\r\n\r\n";
    write!(
        stream,
        "POST /api/v1/uploads HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n{preamble}",
        server.token(),
        preamble.len() + declared + "\r\n--XyZ--\r\n".len(),
    )
    .unwrap();
    stream
}

fn answer_status(stream: &mut TcpStream, limit: Duration) -> (u16, String) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(read) = stream.read(&mut buffer) {
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
        if answer.windows(4).any(|window| window == b"\r\n\r\n") && answer.ends_with(b"}") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    (text.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0), text)
}

#[test]
fn an_upload_that_stops_arriving_fails_with_408_and_leaves_nothing_but_a_slow_one_goes_on() {
    let data = tempfile::tempdir().unwrap();
    let server = serve_with_descriptor_limit(data.path(), 1024, &["--body-stall-timeout-secs", "2"]);

    // 1 MiB of a declared 50 MB, then nothing.
    let mut stalled = start_upload(&server, 50_000_000);
    stalled.write_all(&vec![7u8; 1024 * 1024]).unwrap();
    let started = Instant::now();
    let (status, answer) = answer_status(&mut stalled, Duration::from_secs(10));
    assert_eq!(status, 408, "{answer}\n{}", server.log());
    assert!(answer.contains("body-stalled"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(6), "the stall was noticed after {:?}", started.elapsed());
    let spool = data.path().join("spool");
    let left: Vec<_> = std::fs::read_dir(&spool).map(|entries| entries.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "the stalled upload left {left:?} in the spool");

    // An upload slower than the stall limit in total, but never silent for that long, is read to its end
    // (and then refused for what it is: not a video).
    let chunks = 5;
    let mut slow = start_upload(&server, chunks * 1000);
    for _ in 0..chunks {
        slow.write_all(&[7u8; 1000]).unwrap();
        std::thread::sleep(Duration::from_millis(900));
    }
    slow.write_all(b"\r\n--XyZ--\r\n").unwrap();
    let (status, answer) = answer_status(&mut slow, Duration::from_secs(10));
    assert_eq!(status, 415, "{answer}");
}

#[test]
fn a_half_received_upload_of_a_killed_server_is_swept_when_it_starts_again() {
    let data = tempfile::tempdir().unwrap();
    let flags = ["--body-stall-timeout-secs", "1"];
    let mut server = serve_with_descriptor_limit(data.path(), 1024, &flags);
    let mut upload = start_upload(&server, 50_000_000);
    upload.write_all(&vec![7u8; 4 * 1024 * 1024]).unwrap();
    let spool = data.path().join("spool");
    let spooled = || std::fs::read_dir(&spool).map(|entries| entries.flatten().count()).unwrap_or(0);
    let started = Instant::now();
    while spooled() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the upload never reached the spool");
        std::thread::sleep(Duration::from_millis(50));
    }
    // kill -9 mid-upload: the spool file stays behind.
    server.kill_hard();
    drop(upload);
    assert_eq!(spooled(), 1);
    // Older than twice the stall time, it cannot belong to a live upload: the restarted server removes it.
    std::thread::sleep(Duration::from_millis(2500));
    let restarted = serve_with_descriptor_limit(data.path(), 1024, &flags);
    let started = Instant::now();
    while spooled() > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the spool was not swept:\n{}", restarted.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(restarted.log().contains("half-received uploads removed from the spool"), "{}", restarted.log());
}
