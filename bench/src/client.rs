//! The HTTP side: keep-alive HTTP/1.1 connections (hyper 1.x client connections, one
//! task per connection issuing signed requests back to back), a small request/response
//! client for setup calls, and the fixed-duration load phase.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::sigv4::{Signer, CONTENT_TYPE};

/// Where the server is and how requests are signed.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub host: String,
    pub signer: Signer,
}

impl Endpoint {
    pub fn new(addr: SocketAddr) -> Endpoint {
        Endpoint::with_credentials(addr, "AKIDHSMKMSBENCH", "hsm-kms-bench-secret")
    }

    /// An endpoint whose requests are signed with these credentials (a principal of a
    /// strict-mode server).
    pub fn with_credentials(addr: SocketAddr, access_key: &str, secret_key: &str) -> Endpoint {
        Endpoint {
            addr,
            host: addr.to_string(),
            signer: Signer::new(access_key, secret_key),
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection { sender })
    }

    /// Sends one signed `POST /` and returns the status and the whole response body.
    pub async fn call_raw(
        &mut self,
        endpoint: &Endpoint,
        region: &str,
        target: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let signature = endpoint.signer.sign(region, &endpoint.host, target, &body);
        let request = hyper::Request::builder()
            .method(hyper::Method::POST)
            .uri("/")
            .header(hyper::header::HOST, endpoint.host.as_str())
            .header(hyper::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(hyper::header::CONTENT_LENGTH, body.len())
            .header("x-amz-target", target)
            .header("x-amz-date", signature.amz_date)
            .header(hyper::header::AUTHORIZATION, signature.authorization)
            .header(hyper::header::USER_AGENT, "hsm-kms-bench/0.1")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("response body: {e}"))?
            .to_bytes();
        Ok((status, body))
    }
}

/// A client for setup calls: one connection, reopened after a failure.
pub struct Client {
    pub endpoint: Endpoint,
    conn: Option<Connection>,
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Client {
        Client {
            endpoint,
            conn: None,
        }
    }

    /// Calls `operation` in `region`; a non-200 answer is an error that carries the AWS
    /// error type and message.
    pub async fn call(
        &mut self,
        region: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, String> {
        let target = format!("TrentService.{operation}");
        let body = Bytes::from(input.to_string());
        if self.conn.is_none() {
            self.conn = Some(Connection::open(self.endpoint.addr).await?);
        }
        let conn = self.conn.as_mut().expect("just opened");
        let result = conn.call_raw(&self.endpoint, region, &target, body).await;
        let (status, body) = match result {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                return Err(e);
            }
        };
        if status != 200 {
            return Err(describe_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{operation}: response is not JSON: {e}"))
    }
}

/// `HTTP 400 ValidationException: message` from an AWS JSON error body.
pub fn describe_error(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let kind = v["__type"].as_str().unwrap_or("?");
            let message = v["message"]
                .as_str()
                .or_else(|| v["Message"].as_str())
                .unwrap_or("");
            format!("HTTP {status} {kind}: {message}")
        }
        Err(_) => format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ),
    }
}

/// What a load phase sends: one operation in one Region, with a body picked at random
/// from `bodies` for every request (one body per key, built in advance; each request is
/// still signed on its own).
#[derive(Clone)]
pub struct Workload {
    pub target: String,
    pub region: String,
    pub bodies: Arc<Vec<Bytes>>,
}

/// The figures of one phase.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    pub connections: usize,
    pub measured_secs: f64,
    /// Successful (HTTP 200) requests that started and finished in the measured window.
    pub ok: u64,
    /// Non-200 answers and transport failures over the whole phase (warm-up included).
    pub errors: u64,
    pub first_error: Option<String>,
    /// Latency in microseconds of every counted request, sorted.
    pub latencies_us: Vec<u32>,
    /// CPU time (user + system) over the measured window, in seconds: this process and
    /// the server process.
    pub bench_cpu_secs: f64,
    pub server_cpu_secs: Option<f64>,
    /// Context switches (voluntary + involuntary, all threads) of the server over the
    /// measured window.
    pub server_context_switches: Option<u64>,
}

impl PhaseResult {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.measured_secs
    }

    /// Cores used on average by the load generator over the measured window.
    pub fn bench_cores(&self) -> f64 {
        self.bench_cpu_secs / self.measured_secs
    }

    /// Cores used on average by the server over the measured window.
    pub fn server_cores(&self) -> Option<f64> {
        self.server_cpu_secs.map(|s| s / self.measured_secs)
    }

    /// Server CPU time per successful request, in microseconds.
    pub fn server_cpu_us_per_request(&self) -> Option<f64> {
        self.server_cpu_secs
            .map(|s| 1e6 * s / self.ok.max(1) as f64)
    }

    /// Server context switches per successful request.
    pub fn server_switches_per_request(&self) -> Option<f64> {
        self.server_context_switches
            .map(|n| n as f64 / self.ok.max(1) as f64)
    }

    /// Nearest-rank percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile_us(&self.latencies_us, p) / 1000.0
    }
}

pub fn percentile_us(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

struct TaskResult {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
}

/// Runs `workload` over `connections` keep-alive connections for `warmup + measure`:
/// every connection's task sends requests back to back; requests that start after the
/// warm-up and finish before the end are counted.
pub async fn run_phase(
    endpoint: &Endpoint,
    workload: &Workload,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    server_pid: Option<u32>,
) -> PhaseResult {
    // Open every connection first, so connection setup is not part of the figures.
    let mut conns = Vec::with_capacity(connections);
    let mut open_errors = 0u64;
    let mut first_error = None;
    for _ in 0..connections {
        match Connection::open(endpoint.addr).await {
            Ok(c) => conns.push(Some(c)),
            Err(e) => {
                open_errors += 1;
                first_error.get_or_insert(e);
                conns.push(None);
            }
        }
    }
    let start = Instant::now();
    let measure_start = start + warmup;
    let end = measure_start + measure;
    // CPU and context switches over the measured window.
    let cpu = tokio::spawn(async move {
        let snapshot = || {
            (
                process_cpu_secs(None),
                server_pid.and_then(|p| process_cpu_secs(Some(p))),
                server_pid.and_then(context_switches),
            )
        };
        tokio::time::sleep_until(measure_start.into()).await;
        let before = snapshot();
        tokio::time::sleep_until(end.into()).await;
        let after = snapshot();
        let bench = match (before.0, after.0) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        let server = before.1.zip(after.1).map(|(a, b)| b - a);
        let switches = before.2.zip(after.2).map(|(a, b)| b.saturating_sub(a));
        (bench, server, switches)
    });
    let mut tasks = Vec::with_capacity(connections);
    for (i, conn) in conns.into_iter().enumerate() {
        let endpoint = endpoint.clone();
        let workload = workload.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(0x5eed_0000 + i as u64);
            let mut conn = conn;
            let mut out = TaskResult {
                ok: 0,
                errors: 0,
                first_error: None,
                latencies_us: Vec::with_capacity(1 << 16),
            };
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match Connection::open(endpoint.addr).await {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            out.errors += 1;
                            out.first_error.get_or_insert(e);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let body = if workload.bodies.len() == 1 {
                    workload.bodies[0].clone()
                } else {
                    workload.bodies[rng.usize(..workload.bodies.len())].clone()
                };
                let result = c
                    .call_raw(&endpoint, &workload.region, &workload.target, body)
                    .await;
                let t1 = Instant::now();
                match result {
                    Ok((200, _)) => {
                        if t0 >= measure_start && t1 <= end {
                            out.ok += 1;
                            let us = (t1 - t0).as_micros().min(u32::MAX as u128) as u32;
                            out.latencies_us.push(us);
                        }
                    }
                    Ok((status, body)) => {
                        out.errors += 1;
                        out.first_error
                            .get_or_insert_with(|| describe_error(status, &body));
                    }
                    Err(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert(e);
                        conn = None;
                    }
                }
            }
            out
        }));
    }
    let mut result = PhaseResult {
        connections,
        measured_secs: measure.as_secs_f64(),
        ok: 0,
        errors: open_errors,
        first_error,
        latencies_us: Vec::new(),
        bench_cpu_secs: f64::NAN,
        server_cpu_secs: None,
        server_context_switches: None,
    };
    if let Ok((bench, server, switches)) = cpu.await {
        result.bench_cpu_secs = bench;
        result.server_cpu_secs = server;
        result.server_context_switches = switches;
    }
    for task in tasks {
        match task.await {
            Ok(t) => {
                result.ok += t.ok;
                result.errors += t.errors;
                if result.first_error.is_none() {
                    result.first_error = t.first_error;
                }
                result.latencies_us.extend_from_slice(&t.latencies_us);
            }
            Err(e) => {
                result.errors += 1;
                result
                    .first_error
                    .get_or_insert_with(|| format!("load task failed: {e}"));
            }
        }
    }
    result.latencies_us.sort_unstable();
    result
}

/// User + system CPU seconds of this process (`None`) or of process `pid`, from
/// /proc/<pid>/stat.
pub fn process_cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Safe: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / ticks)
}

/// Voluntary + involuntary context switches summed over every thread of process `pid`.
pub fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Some(total)
}
