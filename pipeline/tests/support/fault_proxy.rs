//! A loopback TCP proxy that injects faults between an HTTP/1.1 client and its server, for tests of what a
//! client does about them: a connection reset, a `503 Slow Down`, a body damaged on the way there or back.
//! Everything it does not fault it passes on byte for byte, both ways.
//!
//! It finds the requests in the client's stream (a request head, then `Content-Length` bytes of body) so it
//! can fault the n-th request even on a kept-alive connection, which a pooling client reuses for everything.
//! It relies on the client not pipelining (no HTTP/1.1 client of ours does): when a request arrives, the answer
//! to the previous one has been passed on in full. A request with a chunked body is passed on as it is, and
//! so is everything after it on that connection.
//!
//! Only tokio (`net`, `io-util`, `sync`, `rt`) and std, so any test crate can include it:
//! `#[path = "../../pipeline/tests/support/fault_proxy.rs"] mod fault_proxy;`.

// An including test uses a part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// What happens to a faulted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection is reset (RST) once the request head has been read; nothing is answered.
    Reset,
    /// The request is read and answered `503 Slow Down` with S3's XML error body and `Connection: close`.
    SlowDown,
    /// The request goes on with one byte of its body flipped (requests without a body go on unchanged).
    CorruptRequestBody,
    /// The request goes on, and the first byte of the answer's body is flipped on the way back.
    CorruptResponseBody,
}

/// Which requests count towards [`FaultPlan::every`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every request.
    Requests,
    /// The first request of each new connection.
    NewConnections,
    /// Requests whose `Content-Length` is at least this many bytes.
    BodiesOfAtLeast(u64),
}

/// Which requests to fault, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// What to do to a faulted request.
    pub fault: Fault,
    /// Which requests are counted.
    pub target: Target,
    /// Fault every `every`-th counted request: 1 faults all of them, 3 the third, sixth, ...; 0 none.
    pub every: u64,
}

impl FaultPlan {
    /// A proxy that only passes bytes on.
    pub fn none() -> Self {
        Self { fault: Fault::Reset, target: Target::Requests, every: 0 }
    }

    /// Faults every `n`-th request.
    pub fn every_nth_request(n: u64, fault: Fault) -> Self {
        Self { fault, target: Target::Requests, every: n }
    }

    /// Faults the first request of every `n`-th new connection.
    pub fn every_nth_connection(n: u64, fault: Fault) -> Self {
        Self { fault, target: Target::NewConnections, every: n }
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    requests: AtomicU64,
    counted: AtomicU64,
    faults: AtomicU64,
}

/// A running proxy; it stops accepting connections when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    counters: Arc<Counters>,
    accept: JoinHandle<()>,
}

/// The longest request head read before a connection is given up.
const MAX_HEAD: usize = 64 * 1024;
/// Where in a body [`Fault::CorruptRequestBody`] flips a byte: early, so it lands in the data of the first
/// chunk of an `aws-chunked` body rather than in its framing.
const CORRUPT_AT: u64 = 64;

impl FaultProxy {
    /// Listens on a free loopback port and proxies each connection to `upstream` under `plan`. Must be called
    /// inside a tokio runtime.
    pub fn start(upstream: SocketAddr, plan: FaultPlan) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let listener = TcpListener::from_std(listener).expect("inside a tokio runtime");
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(client, upstream, plan, Arc::clone(&shared)));
            }
        });
        FaultProxy { addr, counters, accept }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's address as an `http://` URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults injected so far.
    pub fn faults(&self) -> u64 {
        self.counters.faults.load(Ordering::Relaxed)
    }

    /// Requests seen so far, faulted or not.
    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// How long a request's body is.
enum Body {
    Length(u64),
    Chunked,
}

/// How a client connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client stopped sending (or the server went away): answers still under way are let through.
    ClientDone,
    /// The proxy answered and closed it.
    Closed,
    /// The proxy resets it.
    Reset,
}

/// The connection to the server, opened at the first request passed on.
struct Upstream {
    write: OwnedWriteHalf,
    pump: JoinHandle<()>,
    corrupt_response: Arc<AtomicBool>,
}

async fn serve(client: TcpStream, upstream_addr: SocketAddr, plan: FaultPlan, counters: Arc<Counters>) {
    let (mut client_read, client_write) = client.into_split();
    let client_write = Arc::new(Mutex::new(client_write));
    let mut upstream: Option<Upstream> = None;
    let mut pending = Vec::new();
    let mut first = true;
    let mut end = End::ClientDone;
    while let Some(head) = read_head(&mut client_read, &mut pending).await {
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let body = body_of(&head);
        let counted = match plan.target {
            Target::Requests => true,
            Target::NewConnections => first,
            Target::BodiesOfAtLeast(least) => matches!(body, Body::Length(length) if length >= least),
        };
        first = false;
        let fault =
            counted && plan.every > 0 && (counters.counted.fetch_add(1, Ordering::Relaxed) + 1) % plan.every == 0;
        let fault = fault.then_some(plan.fault);
        if fault.is_some() {
            counters.faults.fetch_add(1, Ordering::Relaxed);
        }
        match fault {
            Some(Fault::Reset) => {
                end = End::Reset;
                break;
            }
            Some(Fault::SlowDown) => {
                // Read the body first: closing on unread bytes would reset the connection under the answer.
                if let Body::Length(length) = body {
                    let _ = forward_body(&mut client_read, &mut pending, length, None, &mut tokio::io::sink()).await;
                }
                let mut write = client_write.lock().await;
                let _ = write.write_all(slow_down().as_bytes()).await;
                let _ = write.shutdown().await;
                end = End::Closed;
                break;
            }
            _ => {}
        }
        if upstream.is_none() {
            let Ok(server) = TcpStream::connect(upstream_addr).await else { break };
            let (read, write) = server.into_split();
            let corrupt_response = Arc::new(AtomicBool::new(false));
            let pump = tokio::spawn(pump(read, Arc::clone(&client_write), Arc::clone(&corrupt_response)));
            upstream = Some(Upstream { write, pump, corrupt_response });
        }
        let Some(server) = upstream.as_mut() else { break };
        if fault == Some(Fault::CorruptResponseBody) {
            server.corrupt_response.store(true, Ordering::SeqCst);
        }
        if server.write.write_all(&head).await.is_err() {
            break;
        }
        match body {
            Body::Length(length) => {
                let corrupt_at =
                    (fault == Some(Fault::CorruptRequestBody) && length > 0).then(|| CORRUPT_AT.min(length / 2));
                if forward_body(&mut client_read, &mut pending, length, corrupt_at, &mut server.write).await.is_err() {
                    break;
                }
            }
            Body::Chunked => {
                // No more requests are looked for on this connection: pass everything on as it comes.
                let _ = server.write.write_all(&std::mem::take(&mut pending)).await;
                let _ = tokio::io::copy(&mut client_read, &mut server.write).await;
                break;
            }
        }
    }
    match upstream {
        Some(Upstream { mut write, pump, .. }) if end == End::ClientDone => {
            // The client is done sending; let the server's last answer through.
            let _ = write.shutdown().await;
            let _ = pump.await;
        }
        Some(Upstream { pump, .. }) => {
            pump.abort();
            let _ = pump.await;
        }
        None => {}
    }
    if end == End::Reset {
        // SO_LINGER 0 turns the close into a reset, whatever was read or not.
        if let Ok(write) = Arc::try_unwrap(client_write) {
            if let Ok(stream) = client_read.reunite(write.into_inner()) {
                let _ = stream.set_zero_linger();
            }
        }
    }
}

/// Reads up to the end of the next request head (`\r\n\r\n`), keeping what follows it in `pending`; `None`
/// when the client is done, or sends something that is no request head.
async fn read_head(read: &mut OwnedReadHalf, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut searched = 0;
    loop {
        if let Some(at) = pending[searched..].windows(4).position(|window| window == b"\r\n\r\n") {
            let rest = pending.split_off(searched + at + 4);
            return Some(std::mem::replace(pending, rest));
        }
        searched = pending.len().saturating_sub(3);
        if pending.len() > MAX_HEAD {
            return None;
        }
        let mut buffer = [0u8; 16 * 1024];
        match read.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => pending.extend_from_slice(&buffer[..read]),
        }
    }
}

/// The body a request head announces.
fn body_of(head: &[u8]) -> Body {
    let text = String::from_utf8_lossy(head);
    let mut length = 0;
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            return Body::Chunked;
        }
        if name == "content-length" {
            length = value.parse().unwrap_or(0);
        }
    }
    Body::Length(length)
}

/// Passes `length` body bytes from the client (first those already read) to `to`, flipping the byte at
/// `corrupt_at` when asked to.
async fn forward_body(
    read: &mut OwnedReadHalf,
    pending: &mut Vec<u8>,
    length: u64,
    corrupt_at: Option<u64>,
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
) -> std::io::Result<()> {
    let mut sent: u64 = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    while sent < length {
        let want = usize::try_from(length - sent).unwrap_or(usize::MAX);
        let mut chunk = if pending.is_empty() {
            let read = read.read(&mut buffer[..want.min(64 * 1024)]).await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buffer[..read].to_vec()
        } else {
            let take = want.min(pending.len());
            pending.drain(..take).collect()
        };
        if let Some(at) = corrupt_at {
            if (sent..sent + chunk.len() as u64).contains(&at) {
                chunk[(at - sent) as usize] ^= 0x55;
            }
        }
        to.write_all(&chunk).await?;
        sent += chunk.len() as u64;
    }
    Ok(())
}

/// Passes the server's answers on to the client, flipping the first body byte of the next answer when
/// `corrupt` is set.
async fn pump(mut upstream: OwnedReadHalf, client: Arc<Mutex<OwnedWriteHalf>>, corrupt: Arc<AtomicBool>) {
    let mut buffer = vec![0u8; 64 * 1024];
    // How much of "\r\n\r\n", the end of the answer's head, has been seen.
    let mut matched = 0;
    loop {
        let read = match upstream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if corrupt.load(Ordering::SeqCst) {
            for byte in &mut buffer[..read] {
                if matched == 4 {
                    *byte ^= 0x55;
                    matched = 0;
                    corrupt.store(false, Ordering::SeqCst);
                    break;
                }
                matched = match (*byte, matched) {
                    (b'\r', 0 | 2) | (b'\n', 1 | 3) => matched + 1,
                    (b'\r', _) => 1,
                    _ => 0,
                };
            }
        }
        if client.lock().await.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = client.lock().await.shutdown().await;
}

/// S3's answer to a client that should slow down.
fn slow_down() -> String {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                <Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>";
    format!(
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
