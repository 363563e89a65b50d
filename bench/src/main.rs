//! `hsm-kms-bench`: the load generator and figures of issue 7.
//!
//! Starts the release server binary with a temporary data directory, drives it with
//! SigV4-signed AWS JSON 1.1 requests over keep-alive HTTP/1.1 connections, and prints a
//! Markdown report: the operation × connections table, the raw PKCS#11 ceiling, server
//! RSS under load, ReplicateKey → Enabled latency, the 10,000-key figures, and the issue's
//! targets marked ✓/✗. Figures, not assertions: the exit status is 0 whenever the run
//! completed, whether or not targets were met.

mod client;
mod raw;
mod selftest;
mod server;
mod sigv4;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use clap::Parser;
use serde_json::{json, Value};

use client::{Client, Endpoint, PhaseResult, Workload};
use server::Server;

const MAIN_REGION: &str = "us-east-1";
const REPLICA_REGION: &str = "eu-west-1";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Parser, Debug)]
#[command(
    name = "hsm-kms-bench",
    about = "Throughput, latency, memory and scale figures for hsm-kms (issue 7)",
    args_override_self = true
)]
struct Args {
    /// The server binary (built by scripts/bench with cargo build --release).
    #[arg(long, default_value = "target/release/hsm-kms")]
    server: PathBuf,
    /// The PKCS#11 module for the raw in-process ceiling.
    #[arg(long, default_value = "/usr/lib/softhsm/libsofthsm2.so")]
    pkcs11_module: PathBuf,
    /// A short run: 0.5 s warm-up, 1.5 s measured, 1,000 keys, 5 replicas, 0.5 s raw loop
    /// (each can still be set with its own flag).
    #[arg(long)]
    quick: bool,
    /// Warm-up seconds per phase [default: 1].
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Measured seconds per phase [default: 4].
    #[arg(long)]
    measure_secs: Option<f64>,
    /// Connection counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    connections: Vec<usize>,
    /// Seconds of the raw PKCS#11 loop, per key kind [default: 2].
    #[arg(long)]
    raw_secs: Option<f64>,
    /// Replicas for the ReplicateKey → Enabled latency [default: 20].
    #[arg(long)]
    replicas: Option<usize>,
    /// Keys for the scale test [default: 10000].
    #[arg(long)]
    scale_keys: Option<usize>,
    /// Skip the scale test (10,000 keys, restart).
    #[arg(long)]
    skip_scale: bool,
    /// Worker threads of the load generator (1 = everything on one core).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Only the table rows whose operation contains one of these (comma-separated, e.g.
    /// "Encrypt 64,Decrypt"); default: every row.
    #[arg(long, value_delimiter = ',')]
    ops: Vec<String>,
    /// Keep the temporary data directories (their paths are printed).
    #[arg(long)]
    keep_data: bool,
    /// Compare with another build of the server (issue 15): both run at once and every
    /// table row is measured on each in turn (see --rounds), in this one run. Only the
    /// comparison is reported (no scale test, no replication latency).
    #[arg(long, value_name = "SERVER_BINARY")]
    baseline: Option<PathBuf>,
    /// Rounds per row and side with --baseline (the order is swapped every round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// With --baseline: `perf record --call-graph dwarf` each server during the first round of Encrypt
    /// 64 B at 16 connections, into this directory (baseline.data, this-build.data), and
    /// report where its CPU went.
    #[arg(long, value_name = "DIR")]
    perf_record: Option<PathBuf>,
    /// Only measure the load generator itself, against a trivial in-process HTTP server
    /// (no hsm-kms, no PKCS#11).
    #[arg(long)]
    self_test: bool,
}

struct Settings {
    warmup: Duration,
    measure: Duration,
    raw: Duration,
    replicas: usize,
    scale_keys: usize,
}

impl Args {
    fn settings(&self) -> Settings {
        let (w, m, r, n, k) = if self.quick {
            (0.5, 1.5, 0.5, 5, 1_000)
        } else {
            (1.0, 4.0, 2.0, 20, 10_000)
        };
        Settings {
            warmup: Duration::from_secs_f64(self.warmup_secs.unwrap_or(w)),
            measure: Duration::from_secs_f64(self.measure_secs.unwrap_or(m)),
            raw: Duration::from_secs_f64(self.raw_secs.unwrap_or(r)),
            replicas: self.replicas.unwrap_or(n),
            scale_keys: self.scale_keys.unwrap_or(k),
        }
    }
}

/// Progress goes to stderr; the report to stdout.
macro_rules! progress {
    ($($t:tt)*) => { eprintln!("bench: {}", format!($($t)*)) };
}

mod compare;

fn main() -> ExitCode {
    let args = Args::parse();
    let settings = args.settings();
    if args.self_test {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        return match runtime.block_on(selftest::run(
            &args.connections,
            settings.warmup,
            settings.measure,
        )) {
            Ok(report) => {
                print!("{report}");
                println!(
                    "\n(Bench CPU includes the trivial server's thread, which runs in the same \
                     process.)"
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hsm-kms-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let workdir = match tempfile::Builder::new().prefix("hsm-kms-bench-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hsm-kms-bench: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The raw ceiling runs first, before any other thread exists (it sets SOFTHSM2_CONF)
    // and before the server runs, so it has the machine to itself.
    let raw_dir = workdir.path().join("raw-token");
    let raw = raw::prepare_environment(&raw_dir).and_then(|()| {
        progress!(
            "raw PKCS#11 AES-GCM, 64 B, one thread, {:?} per key kind",
            settings.raw
        );
        raw::measure(
            &args.pkcs11_module,
            64,
            settings.raw,
            if args.skip_scale || args.baseline.is_some() {
                0
            } else {
                settings.scale_keys
            },
        )
    });
    match &raw {
        Ok(r) => progress!(
            "raw: token object {:.0}/s, session object {:.0}/s, random over {} session \
             objects {:.0}/s",
            r.token_object,
            r.session_object,
            r.many_keys,
            r.many_keys_random
        ),
        Err(e) => progress!("raw PKCS#11 measurement failed: {e}"),
    }
    let runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hsm-kms-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match &args.baseline {
        Some(baseline) => runtime.block_on(compare::run(
            &args,
            &settings,
            workdir.path(),
            baseline,
            &raw,
        )),
        None => runtime.block_on(run(&args, &settings, workdir.path(), raw)),
    };
    if args.keep_data {
        let kept = workdir.keep();
        progress!("data kept in {}", kept.display());
    }
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hsm-kms-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One row group of the table: an operation at every connection count, or why it could
/// not run.
struct OpRow {
    label: &'static str,
    outcome: Result<Vec<PhaseResult>, String>,
}

struct Replication {
    latencies_ms: Vec<f64>,
    failures: usize,
    first_error: Option<String>,
}

struct Scale {
    keys: usize,
    create_secs: f64,
    create_errors: usize,
    few: PhaseResult,
    all: PhaseResult,
    /// The same phase over all keys once more: every key has been used at least once.
    all_again: PhaseResult,
    stop: Result<Duration, String>,
    restart_listening: Option<Duration>,
    restart_ready: Result<Duration, String>,
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn body(v: Value) -> Bytes {
    Bytes::from(v.to_string())
}

async fn start_server(
    bin: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    regions: &str,
) -> Result<Server, String> {
    start_server_with(bin, dir, name, regions, Vec::new()).await
}

async fn start_server_with(
    bin: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    regions: &str,
    extra: Vec<String>,
) -> Result<Server, String> {
    let data = dir.join(name);
    let log = dir.join(format!("{name}.log"));
    let bin = bin.to_path_buf();
    let regions = regions.to_string();
    tokio::task::spawn_blocking(move || {
        Server::start(&bin, &data, &regions, &extra, &log, STARTUP_TIMEOUT)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The principals file of the strict-mode server: one IAM user whose identity policy
/// allows every KMS action, using keys with the default key policy (the account
/// statement lets IAM decide) — the common path through the decision.
const BENCH_PRINCIPALS: &str = r#"
[accounts.111122223333]
[users.bench]
account = "111122223333"
[[users.bench.access_keys]]
id = "AKIAHSMKMSBENCH00001"
secret = "hsm-kms-bench-strict-secret"
[[users.bench.policies]]
name = "kms"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}}'
[[users.bench.policies]]
name = "create"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}}'
"#;

/// Strict mode against open mode in the same run: Encrypt 64 B at `connections` on a
/// strict-mode server and on the open-mode main server, alternately, twice each.
struct StrictComparison {
    connections: usize,
    open: Vec<PhaseResult>,
    strict: Vec<PhaseResult>,
}

impl StrictComparison {
    fn mean_rate(phases: &[PhaseResult]) -> f64 {
        phases.iter().map(PhaseResult::rate).sum::<f64>() / phases.len().max(1) as f64
    }

    /// Strict mode's rate relative to open mode's (1.0 = the same).
    fn ratio(&self) -> f64 {
        Self::mean_rate(&self.strict) / Self::mean_rate(&self.open)
    }
}

async fn strict_comparison(
    args: &Args,
    settings: &Settings,
    dir: &std::path::Path,
    open: &Endpoint,
    open_workload: &Workload,
    open_pid: u32,
) -> Result<StrictComparison, String> {
    let connections = 16;
    let principals = dir.join("principals.toml");
    std::fs::write(&principals, BENCH_PRINCIPALS)
        .map_err(|e| format!("cannot write {}: {e}", principals.display()))?;
    progress!("starting a strict-mode server ({MAIN_REGION})");
    let server = start_server_with(
        &args.server,
        dir,
        "strict",
        MAIN_REGION,
        vec![
            "--mode".into(),
            "strict".into(),
            "--principals-file".into(),
            principals.display().to_string(),
        ],
    )
    .await?;
    let endpoint = Endpoint::with_credentials(
        server.addr,
        "AKIAHSMKMSBENCH00001",
        "hsm-kms-bench-strict-secret",
    );
    let mut client = Client::new(endpoint.clone());
    let key = create_key(&mut client, MAIN_REGION, json!({"Description": "strict"}))
        .await
        .map_err(|e| format!("CreateKey on the strict-mode server failed: {e}"))?;
    let workload = Workload {
        target: "TrentService.Encrypt".into(),
        region: MAIN_REGION.into(),
        bodies: Arc::new(vec![body(
            json!({"KeyId": key, "Plaintext": b64(&[0x5au8; 64])}),
        )]),
    };
    client
        .call(
            MAIN_REGION,
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(&[0x5au8; 64])}),
        )
        .await
        .map_err(|e| format!("Encrypt on the strict-mode server failed: {e}"))?;
    let mut out = StrictComparison {
        connections,
        open: Vec::new(),
        strict: Vec::new(),
    };
    for round in 1..=2 {
        let o = client::run_phase(
            open,
            open_workload,
            connections,
            settings.warmup,
            settings.measure,
            Some(open_pid),
        )
        .await;
        let s = client::run_phase(
            &endpoint,
            &workload,
            connections,
            settings.warmup,
            settings.measure,
            Some(server.pid()),
        )
        .await;
        progress!(
            "Encrypt 64 B @ {connections} conns, round {round}: open {:.0} req/s, strict {:.0} \
             req/s ({:+.1}%), strict errors {}{}",
            o.rate(),
            s.rate(),
            100.0 * (s.rate() / o.rate() - 1.0),
            s.errors,
            s.first_error
                .as_deref()
                .map(|e| format!("  (first: {e})"))
                .unwrap_or_default()
        );
        out.open.push(o);
        out.strict.push(s);
    }
    drop(client);
    let stopped = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(30)))
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = stopped {
        progress!("stopping the strict-mode server: {e}");
    }
    Ok(out)
}

async fn create_key(client: &mut Client, region: &str, input: Value) -> Result<String, String> {
    let out = client.call(region, "CreateKey", input).await?;
    out["KeyMetadata"]["KeyId"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("CreateKey answered without KeyMetadata.KeyId: {out}"))
}

/// The table's workloads: their keys created through `client`, one request body each.
/// A workload whose key could not be made is an `Err` (reported as n/a).
async fn workloads(client: &mut Client) -> Result<Vec<Labelled>, String> {
    // Keys for the table.
    let sym = create_key(
        client,
        MAIN_REGION,
        json!({"Description": "hsm-kms-bench symmetric"}),
    )
    .await
    .map_err(|e| format!("CreateKey (SYMMETRIC_DEFAULT) failed, nothing to measure: {e}"))?;
    let sign_key = create_key(
        client,
        MAIN_REGION,
        json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY",
               "Description": "hsm-kms-bench sign"}),
    )
    .await;
    let mac_key = create_key(
        client,
        MAIN_REGION,
        json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC",
               "Description": "hsm-kms-bench mac"}),
    )
    .await;
    let small = vec![0x5au8; 64];
    let large = vec![0xa5u8; 4096];
    let ciphertext = client
        .call(
            MAIN_REGION,
            "Encrypt",
            json!({"KeyId": sym, "Plaintext": b64(&small)}),
        )
        .await
        .and_then(|out| {
            out["CiphertextBlob"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("Encrypt answered without CiphertextBlob: {out}"))
        });

    let one = |operation: &str, input: Value| Workload {
        target: format!("TrentService.{operation}"),
        region: MAIN_REGION.to_string(),
        bodies: Arc::new(vec![body(input)]),
    };
    let message = b64(&[0x33u8; 64]);
    let workloads: Vec<Labelled> = vec![
        (
            "Encrypt 64 B",
            Ok(one(
                "Encrypt",
                json!({"KeyId": sym, "Plaintext": b64(&small)}),
            )),
        ),
        (
            "Encrypt 4 KiB",
            Ok(one(
                "Encrypt",
                json!({"KeyId": sym, "Plaintext": b64(&large)}),
            )),
        ),
        (
            "Decrypt 64 B",
            ciphertext
                .clone()
                .map(|ct| one("Decrypt", json!({"CiphertextBlob": ct}))),
        ),
        (
            "GenerateDataKey AES_256",
            Ok(one(
                "GenerateDataKey",
                json!({"KeyId": sym, "KeySpec": "AES_256"}),
            )),
        ),
        (
            "Sign ECC_NIST_P256",
            sign_key.map(|k| {
                one(
                    "Sign",
                    json!({"KeyId": k, "Message": message, "MessageType": "RAW",
                           "SigningAlgorithm": "ECDSA_SHA_256"}),
                )
            }),
        ),
        (
            "GenerateMac HMAC_256",
            mac_key.map(|k| {
                one(
                    "GenerateMac",
                    json!({"KeyId": k, "Message": message, "MacAlgorithm": "HMAC_SHA_256"}),
                )
            }),
        ),
    ];

    Ok(workloads)
}

/// A table row's label and its workload (or why there is none).
type Labelled = (&'static str, Result<Workload, String>);

async fn run(
    args: &Args,
    settings: &Settings,
    dir: &std::path::Path,
    raw: Result<raw::RawRates, String>,
) -> Result<String, String> {
    progress!(
        "starting {} ({MAIN_REGION},{REPLICA_REGION})",
        args.server.display()
    );
    let server = start_server(
        &args.server,
        dir,
        "main",
        &format!("{MAIN_REGION},{REPLICA_REGION}"),
    )
    .await?;
    progress!(
        "server pid {} listening on {} after {:.2} s",
        server.pid(),
        server.addr,
        server.listening_after.as_secs_f64()
    );
    let idle_rss = server.rss_kib();
    let endpoint = Endpoint::new(server.addr);
    let mut client = Client::new(endpoint.clone());

    let workloads = workloads(&mut client).await?;
    // Strict mode against open mode (below) runs the Encrypt 64 B workload.
    let encrypt_64 = workloads
        .iter()
        .find_map(|(label, w)| (*label == "Encrypt 64 B").then(|| w.clone()));

    let mut rows = Vec::new();
    let mut rss_under_load: Option<u64> = None;
    for (label, workload) in workloads {
        if !args.ops.is_empty() && !args.ops.iter().any(|o| label.contains(o.as_str())) {
            continue;
        }
        let workload = match workload {
            Ok(w) => w,
            Err(e) => {
                progress!("{label}: n/a: {e}");
                rows.push(OpRow {
                    label,
                    outcome: Err(e),
                });
                continue;
            }
        };
        // One probe request first: an operation the server cannot do yet is reported
        // as n/a with its error instead of a table of failures.
        let probe = workload.bodies[0].clone();
        let operation = workload
            .target
            .trim_start_matches("TrentService.")
            .to_string();
        let input: Value = serde_json::from_slice(&probe).expect("built from JSON");
        if let Err(e) = client.call(MAIN_REGION, &operation, input).await {
            progress!("{label}: n/a: {e}");
            rows.push(OpRow {
                label,
                outcome: Err(e),
            });
            continue;
        }
        let mut phases = Vec::new();
        for &conns in &args.connections {
            let sampler = (label == "Encrypt 64 B" && conns == 16).then(|| server.sample_rss());
            let phase = client::run_phase(
                &endpoint,
                &workload,
                conns,
                settings.warmup,
                settings.measure,
                Some(server.pid()),
            )
            .await;
            if let Some(s) = sampler {
                rss_under_load = Some(s.stop());
            }
            progress!(
                "{label} @ {conns:>2} conns: {:>8.0} req/s  p50 {:.2} ms  p99 {:.2} ms  \
                 CPU server {:.2} bench {:.2} cores  server {:.0} µs CPU, {:.1} context switches \
                 per request  errors {}{}",
                phase.rate(),
                phase.percentile_ms(50.0),
                phase.percentile_ms(99.0),
                phase.server_cores().unwrap_or(f64::NAN),
                phase.bench_cores(),
                phase.server_cpu_us_per_request().unwrap_or(f64::NAN),
                phase.server_switches_per_request().unwrap_or(f64::NAN),
                phase.errors,
                phase
                    .first_error
                    .as_deref()
                    .map(|e| format!("  (first: {e})"))
                    .unwrap_or_default()
            );
            if phase.errors > 0 {
                progress!(
                    "⚠ {} errors; last lines of the server log ({}):\n{}",
                    phase.errors,
                    server.log_path.display(),
                    server::tail(&server.log_path, 10)
                );
            }
            phases.push(phase);
        }
        rows.push(OpRow {
            label,
            outcome: Ok(phases),
        });
    }
    let rss_after = server.rss_kib();

    let strict = match encrypt_64 {
        Some(Ok(workload))
            if args.ops.is_empty()
                || args.ops.iter().any(|o| "Encrypt 64 B".contains(o.as_str())) =>
        {
            Some(strict_comparison(args, settings, dir, &endpoint, &workload, server.pid()).await)
        }
        _ => None,
    };

    let replication = replicate_latency(&mut client, settings.replicas).await;
    drop(client);
    let stopped = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(30)))
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = stopped {
        progress!("stopping the main server: {e}");
    }

    let scale = if args.skip_scale {
        None
    } else {
        Some(scale_test(args, settings, dir).await)
    };

    let server_info = ServerInfo {
        idle_rss,
        rss_under_load,
        rss_after,
    };
    Ok(report(
        args,
        settings,
        &rows,
        &raw,
        &server_info,
        &replication,
        scale.as_ref(),
        strict.as_ref(),
    ))
}

struct ServerInfo {
    idle_rss: Option<u64>,
    rss_under_load: Option<u64>,
    rss_after: Option<u64>,
}

/// Creates a multi-Region key in the main Region, replicates it into the replica Region
/// and polls DescribeKey there every 2 ms until the replica is Enabled; `n` times, a new
/// primary each time (a Region holds one replica of a key).
async fn replicate_latency(client: &mut Client, n: usize) -> Result<Replication, String> {
    progress!("ReplicateKey → Enabled, {n} replicas");
    let mut out = Replication {
        latencies_ms: Vec::new(),
        failures: 0,
        first_error: None,
    };
    for i in 0..n {
        // Once the first replica has failed, the rest would only repeat the failure.
        if i > 0 && out.latencies_ms.is_empty() && out.failures > 0 {
            return Err(out.first_error.unwrap_or_default());
        }
        let key = create_key(
            client,
            MAIN_REGION,
            json!({"MultiRegion": true, "Description": "hsm-kms-bench multi-Region"}),
        )
        .await
        .map_err(|e| format!("CreateKey (MultiRegion) failed: {e}"))?;
        let started = Instant::now();
        if let Err(e) = client
            .call(
                MAIN_REGION,
                "ReplicateKey",
                json!({"KeyId": key, "ReplicaRegion": REPLICA_REGION}),
            )
            .await
        {
            if i == 0 {
                return Err(format!("ReplicateKey failed: {e}"));
            }
            out.failures += 1;
            out.first_error.get_or_insert(e);
            continue;
        }
        let deadline = started + Duration::from_secs(30);
        loop {
            match client
                .call(REPLICA_REGION, "DescribeKey", json!({"KeyId": key}))
                .await
            {
                Ok(v) if v["KeyMetadata"]["KeyState"] == "Enabled" => {
                    out.latencies_ms
                        .push(started.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                Ok(v) if v["KeyMetadata"]["KeyState"] != "Creating" => {
                    out.failures += 1;
                    out.first_error.get_or_insert(format!(
                        "replica went to {} instead of Enabled",
                        v["KeyMetadata"]["KeyState"]
                    ));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    out.failures += 1;
                    out.first_error.get_or_insert(e);
                    break;
                }
            }
            if Instant::now() >= deadline {
                out.failures += 1;
                out.first_error
                    .get_or_insert("replica not Enabled within 30 s".to_string());
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    out.latencies_ms.sort_by(f64::total_cmp);
    progress!(
        "replicas: median {:.1} ms, p99 {:.1} ms, failures {}",
        percentile(&out.latencies_ms, 50.0),
        percentile(&out.latencies_ms, 99.0),
        out.failures
    );
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A fresh one-Region server with `settings.scale_keys` keys: Encrypt over 10 keys vs over
/// all of them, then SIGTERM and the time from process start to the first successful
/// request on restart.
async fn scale_test(
    args: &Args,
    settings: &Settings,
    dir: &std::path::Path,
) -> Result<Scale, String> {
    let n = settings.scale_keys;
    progress!("scale: fresh server ({MAIN_REGION}), creating {n} keys over 16 connections");
    let server = start_server(&args.server, dir, "scale", MAIN_REGION).await?;
    let endpoint = Endpoint::new(server.addr);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let count = n / 16 + usize::from(t < n % 16);
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(endpoint);
            let mut ids = Vec::with_capacity(count);
            let mut errors = Vec::new();
            for _ in 0..count {
                match create_key(&mut client, MAIN_REGION, json!({})).await {
                    Ok(id) => ids.push(id),
                    Err(e) => errors.push(e),
                }
            }
            (ids, errors)
        }));
    }
    let mut ids = Vec::with_capacity(n);
    let mut create_errors = Vec::new();
    for t in tasks {
        let (i, e) = t.await.map_err(|e| e.to_string())?;
        ids.extend(i);
        create_errors.extend(e);
    }
    let create_secs = started.elapsed().as_secs_f64();
    progress!(
        "scale: {} keys in {create_secs:.1} s ({:.0}/s), {} errors{}",
        ids.len(),
        ids.len() as f64 / create_secs,
        create_errors.len(),
        create_errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    if ids.len() < 10 {
        return Err(format!(
            "only {} keys were created: {}",
            ids.len(),
            create_errors.first().cloned().unwrap_or_default()
        ));
    }
    let plaintext = b64(&[0x5au8; 64]);
    let bodies = |keys: &[String]| Workload {
        target: "TrentService.Encrypt".to_string(),
        region: MAIN_REGION.to_string(),
        bodies: Arc::new(
            keys.iter()
                .map(|k| body(json!({"KeyId": k, "Plaintext": plaintext})))
                .collect(),
        ),
    };
    let few = client::run_phase(
        &endpoint,
        &bodies(&ids[..10]),
        16,
        settings.warmup,
        settings.measure,
        Some(server.pid()),
    )
    .await;
    progress!(
        "scale: Encrypt 64 B over 10 keys: {:.0} req/s, p99 {:.2} ms, errors {}",
        few.rate(),
        few.percentile_ms(99.0),
        few.errors
    );
    let all = client::run_phase(
        &endpoint,
        &bodies(&ids),
        16,
        settings.warmup,
        settings.measure,
        Some(server.pid()),
    )
    .await;
    progress!(
        "scale: Encrypt 64 B over {} keys: {:.0} req/s, p99 {:.2} ms, errors {}",
        ids.len(),
        all.rate(),
        all.percentile_ms(99.0),
        all.errors
    );
    let all_again = client::run_phase(
        &endpoint,
        &bodies(&ids),
        16,
        settings.warmup,
        settings.measure,
        Some(server.pid()),
    )
    .await;
    progress!(
        "scale: Encrypt 64 B over {} keys, second pass: {:.0} req/s, p99 {:.2} ms, errors {}",
        ids.len(),
        all_again.rate(),
        all_again.percentile_ms(99.0),
        all_again.errors
    );
    let stop = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(60)))
        .await
        .map_err(|e| e.to_string())?;
    progress!("scale: stopped ({stop:?}); restarting with the same data directory");
    let (restart_listening, restart_ready) =
        match start_server(&args.server, dir, "scale", MAIN_REGION).await {
            Ok(server) => {
                let mut client = Client::new(Endpoint::new(server.addr));
                let deadline = Instant::now() + STARTUP_TIMEOUT;
                let ready = loop {
                    match client
                        .call(MAIN_REGION, "ListKeys", json!({"Limit": 10}))
                        .await
                    {
                        Ok(_) => break Ok(server.spawned.elapsed()),
                        Err(e) if Instant::now() >= deadline => break Err(e),
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                };
                let listening = server.listening_after;
                drop(client);
                let _ =
                    tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(60)))
                        .await;
                (Some(listening), ready)
            }
            Err(e) => (None, Err(e)),
        };
    match &restart_ready {
        Ok(d) => progress!(
            "scale: restart to first successful request {:.2} s",
            d.as_secs_f64()
        ),
        Err(e) => progress!("scale: restart failed: {e}"),
    }
    Ok(Scale {
        keys: ids.len(),
        create_secs,
        create_errors: create_errors.len(),
        few,
        all,
        all_again,
        stop,
        restart_listening,
        restart_ready,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("{cores} cores, {model}")
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &Args,
    settings: &Settings,
    rows: &[OpRow],
    raw: &Result<raw::RawRates, String>,
    info: &ServerInfo,
    replication: &Result<Replication, String>,
    scale: Option<&Result<Scale, String>>,
    strict: Option<&Result<StrictComparison, String>>,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w);
    let _ = writeln!(w, "## hsm-kms benchmark");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "{} · {} · {} s warm-up + {} s measured per phase · load generator: {} thread(s), \
         every request SigV4-signed, keep-alive HTTP/1.1",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        settings.warmup.as_secs_f64(),
        settings.measure.as_secs_f64(),
        args.client_threads
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "| Operation | Connections | req/s | p50 ms | p99 ms | Errors | Server CPU | Bench CPU |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut total_errors = 0u64;
    let mut error_notes = Vec::new();
    for row in rows {
        match &row.outcome {
            Ok(phases) => {
                for p in phases {
                    total_errors += p.errors;
                    if let Some(e) = &p.first_error {
                        error_notes.push(format!(
                            "{} @ {} connections: {} errors, first: {e}",
                            row.label, p.connections, p.errors
                        ));
                    }
                    let _ = writeln!(
                        w,
                        "| {} | {} | {:.0} | {:.2} | {:.2} | {}{} | {:.2} | {:.2} |",
                        row.label,
                        p.connections,
                        p.rate(),
                        p.percentile_ms(50.0),
                        p.percentile_ms(99.0),
                        p.errors,
                        if p.errors > 0 { " ⚠" } else { "" },
                        p.server_cores().unwrap_or(f64::NAN),
                        p.bench_cores()
                    );
                }
            }
            Err(e) => {
                let e = e.replace('|', "\\|");
                let _ = writeln!(w, "| {} | – | n/a: {e} | | | | | |", row.label);
            }
        }
    }
    if let Some(Ok(c)) = strict {
        for (mode, phases) in [("open", &c.open), ("strict", &c.strict)] {
            for (i, p) in phases.iter().enumerate() {
                let _ = writeln!(
                    w,
                    "| Encrypt 64 B, {mode} mode (round {}) | {} | {:.0} | {:.2} | {:.2} | {}{} | {:.2} | {:.2} |",
                    i + 1,
                    p.connections,
                    p.rate(),
                    p.percentile_ms(50.0),
                    p.percentile_ms(99.0),
                    p.errors,
                    if p.errors > 0 { " ⚠" } else { "" },
                    p.server_cores().unwrap_or(f64::NAN),
                    p.bench_cores()
                );
            }
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Server CPU and Bench CPU: cores used on average over the measured window (user + \
         system time; the machine has {} cores in all).",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let _ = writeln!(w);

    // Figures.
    let phase = |label: &str, conns: usize| -> Option<&PhaseResult> {
        rows.iter()
            .find(|r| r.label == label)
            .and_then(|r| r.outcome.as_ref().ok())
            .and_then(|ps| ps.iter().find(|p| p.connections == conns))
    };
    let enc16 = phase("Encrypt 64 B", 16);
    let _ = writeln!(w, "Other figures:");
    let _ = writeln!(w);
    match raw {
        Ok(r) => {
            let _ = writeln!(
                w,
                "- Raw PKCS#11 AES-GCM (C_Encrypt, 64 B, one thread, in-process SoftHSM2): \
                 {:.0}/s with a token-object key, {:.0}/s with a session-object copy",
                r.token_object, r.session_object
            );
            if r.many_keys > 0 {
                let _ = writeln!(
                    w,
                    "- Raw PKCS#11 AES-GCM with {} session-object keys in the token, a random \
                     one per call (the ceiling of the scale test, without hsm-kms): {:.0}/s \
                     ({:+.1}% vs one session-object key)",
                    r.many_keys,
                    r.many_keys_random,
                    100.0 * (r.many_keys_random / r.session_object - 1.0)
                );
            }
            if let Some(p) = enc16 {
                let _ = writeln!(
                    w,
                    "- HTTP Encrypt 64 B at 16 connections = {:.0}% of the token-object raw \
                     rate ({:.0}% of the session-object rate)",
                    100.0 * p.rate() / r.token_object,
                    100.0 * p.rate() / r.session_object
                );
            }
        }
        Err(e) => {
            let _ = writeln!(w, "- Raw PKCS#11 AES-GCM: n/a: {e}");
        }
    }
    if let Some(p) = enc16 {
        let raw_us = raw
            .as_ref()
            .map(|r| {
                format!(
                    " (one raw C_Encrypt with a token-object key: {:.0} µs)",
                    1e6 / r.token_object
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            w,
            "- Server cost of Encrypt 64 B at 16 connections: {:.0} µs CPU and {:.1} context \
             switches per request{raw_us}",
            p.server_cpu_us_per_request().unwrap_or(f64::NAN),
            p.server_switches_per_request().unwrap_or(f64::NAN)
        );
    }
    let fmt_rss = |v: Option<u64>| {
        v.map(|k| format!("{:.1} MiB", mib(k)))
            .unwrap_or("n/a".into())
    };
    let _ = writeln!(
        w,
        "- Server RSS: {} idle after start, max {} during Encrypt 64 B at 16 connections, \
         {} after the table",
        fmt_rss(info.idle_rss),
        fmt_rss(info.rss_under_load),
        fmt_rss(info.rss_after)
    );
    match replication {
        Ok(r) if r.latencies_ms.is_empty() && r.failures == 0 => {
            let _ = writeln!(w, "- ReplicateKey → Enabled: skipped (--replicas 0)");
        }
        Ok(r) => {
            let _ = writeln!(
                w,
                "- ReplicateKey → Enabled ({MAIN_REGION} → {REPLICA_REGION}, DescribeKey polled \
                 every 2 ms, no extra delay): median {:.1} ms, p99 {:.1} ms over {} replicas{}",
                percentile(&r.latencies_ms, 50.0),
                percentile(&r.latencies_ms, 99.0),
                r.latencies_ms.len(),
                if r.failures > 0 {
                    format!(
                        " — ⚠ {} FAILED: {}",
                        r.failures,
                        r.first_error.as_deref().unwrap_or("")
                    )
                } else {
                    String::new()
                }
            );
        }
        Err(e) => {
            let _ = writeln!(w, "- ReplicateKey → Enabled: n/a: {e}");
        }
    }
    match scale {
        None => {
            let _ = writeln!(w, "- Scale test: skipped (--skip-scale)");
        }
        Some(Err(e)) => {
            let _ = writeln!(w, "- Scale test: n/a: {e}");
        }
        Some(Ok(s)) => {
            total_errors +=
                s.few.errors + s.all.errors + s.all_again.errors + s.create_errors as u64;
            let _ = writeln!(
                w,
                "- {} keys created in one Region over 16 connections in {:.1} s ({:.0} keys/s){}",
                s.keys,
                s.create_secs,
                s.keys as f64 / s.create_secs,
                if s.create_errors > 0 {
                    format!(" — ⚠ {} CreateKey errors", s.create_errors)
                } else {
                    String::new()
                }
            );
            let _ = writeln!(
                w,
                "- Encrypt 64 B at 16 connections with {} keys in the Region: {:.0} req/s \
                 (p99 {:.2} ms) over 10 keys, {:.0} req/s (p99 {:.2} ms) over all {} keys \
                 ({:+.1}%), errors {} / {}",
                s.keys,
                s.few.rate(),
                s.few.percentile_ms(99.0),
                s.all.rate(),
                s.all.percentile_ms(99.0),
                s.keys,
                100.0 * (s.all.rate() / s.few.rate() - 1.0),
                s.few.errors,
                s.all.errors
            );
            let _ = writeln!(
                w,
                "- … and over all {} keys once more, when every key has been used before: \
                 {:.0} req/s (p99 {:.2} ms, {:+.1}% vs 10 keys), errors {}",
                s.keys,
                s.all_again.rate(),
                s.all_again.percentile_ms(99.0),
                100.0 * (s.all_again.rate() / s.few.rate() - 1.0),
                s.all_again.errors
            );
            for (what, p) in [
                ("10 keys", &s.few),
                ("all keys", &s.all),
                ("all keys, second pass", &s.all_again),
            ] {
                if let Some(e) = &p.first_error {
                    error_notes.push(format!(
                        "scale Encrypt over {what}: {} errors, first: {e}",
                        p.errors
                    ));
                }
            }
            let stop = match &s.stop {
                Ok(d) => format!("stopped {:.2} s after SIGTERM", d.as_secs_f64()),
                Err(e) => format!("⚠ stop: {e}"),
            };
            let restart = match &s.restart_ready {
                Ok(d) => format!(
                    "restart: process start → first successful ListKeys {:.2} s (listening \
                     after {:.2} s)",
                    d.as_secs_f64(),
                    s.restart_listening
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(f64::NAN)
                ),
                Err(e) => format!("restart: n/a: {e}"),
            };
            let _ = writeln!(w, "- {stop}; {restart}");
        }
    }
    let _ = writeln!(w);

    match strict {
        Some(Ok(c)) => {
            let _ = writeln!(
                w,
                "- Strict mode (SigV4 verified, default key policy + one IAM policy evaluated per \
                 request) against open mode, Encrypt 64 B at {} connections, alternating, two \
                 rounds each: {:.0} req/s strict, {:.0} req/s open = {:.1}%",
                c.connections,
                StrictComparison::mean_rate(&c.strict),
                StrictComparison::mean_rate(&c.open),
                100.0 * c.ratio()
            );
            let _ = writeln!(w);
        }
        Some(Err(e)) => {
            let _ = writeln!(w, "- Strict mode: n/a: {e}");
            let _ = writeln!(w);
        }
        None => {}
    }

    // Targets.
    if let Some(Ok(c)) = strict {
        let _ = writeln!(
            w,
            "Target (issue 11): {} strict-mode Encrypt 64 B at {} connections within 15% of \
             open mode in the same run: {:.1}%",
            mark(c.ratio() >= 0.85),
            c.connections,
            100.0 * c.ratio()
        );
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "Targets (issue 7):");
    let _ = writeln!(w);
    let mut target = |ok: Option<bool>, text: String| {
        let m = match ok {
            Some(ok) => mark(ok),
            None => "?",
        };
        let _ = writeln!(w, "- {m} {text}");
    };
    match enc16 {
        Some(p) => {
            target(
                Some(p.rate() >= 15_000.0),
                format!(
                    "Encrypt 64 B at 16 connections ≥ 15,000 req/s: {:.0}",
                    p.rate()
                ),
            );
            target(
                Some(p.percentile_ms(99.0) <= 5.0),
                format!("… p99 ≤ 5 ms: {:.2} ms", p.percentile_ms(99.0)),
            );
            match raw {
                Ok(r) => target(
                    Some(p.rate() >= 0.4 * r.token_object),
                    format!(
                        "… ≥ 40% of the raw PKCS#11 rate: {:.0}%",
                        100.0 * p.rate() / r.token_object
                    ),
                ),
                Err(_) => target(None, "… ≥ 40% of the raw PKCS#11 rate: n/a".into()),
            }
            for label in ["Decrypt 64 B", "GenerateDataKey AES_256"] {
                match phase(label, 16) {
                    Some(q) => target(
                        Some(q.rate() >= 0.8 * p.rate()),
                        format!(
                            "{label} within 20% of Encrypt (16 connections): {:.0} req/s = {:.0}%",
                            q.rate(),
                            100.0 * q.rate() / p.rate()
                        ),
                    ),
                    None => target(None, format!("{label} within 20% of Encrypt: n/a")),
                }
            }
        }
        None => target(None, "Encrypt 64 B at 16 connections: not measured".into()),
    }
    match info.rss_under_load {
        Some(k) => target(
            Some(mib(k) <= 100.0),
            format!("RSS ≤ 100 MiB under that load: {:.1} MiB", mib(k)),
        ),
        None => target(None, "RSS ≤ 100 MiB under that load: not measured".into()),
    }
    match replication {
        Ok(r) if !r.latencies_ms.is_empty() => {
            let median = percentile(&r.latencies_ms, 50.0);
            target(
                Some(median <= 100.0 && r.failures == 0),
                format!("ReplicateKey → Enabled median ≤ 100 ms: {median:.1} ms"),
            )
        }
        Ok(_) if settings.replicas == 0 => target(
            None,
            "ReplicateKey → Enabled median ≤ 100 ms: skipped (--replicas 0)".into(),
        ),
        _ => target(
            Some(false),
            "ReplicateKey → Enabled median ≤ 100 ms: n/a".into(),
        ),
    }
    match scale {
        Some(Ok(s)) => {
            let ratio = s.all.rate() / s.few.rate();
            target(
                Some(ratio >= 0.9),
                format!(
                    "With {} keys, Encrypt within 10% of the 10-key rate: {:.0}% on the first \
                     pass over all keys ({:.0}% on the second)",
                    s.keys,
                    100.0 * ratio,
                    100.0 * s.all_again.rate() / s.few.rate()
                ),
            );
            match &s.restart_ready {
                Ok(d) => target(
                    Some(d.as_secs_f64() <= 10.0),
                    format!(
                        "With {} keys, restart to ready ≤ 10 s: {:.2} s",
                        s.keys,
                        d.as_secs_f64()
                    ),
                ),
                Err(_) => target(Some(false), "Restart to ready ≤ 10 s: n/a".into()),
            }
            if s.keys < 10_000 {
                target(
                    None,
                    format!(
                        "(scale figures are for {} keys, not 10,000: --quick or --scale-keys)",
                        s.keys
                    ),
                );
            }
        }
        Some(Err(_)) => target(Some(false), "10,000-key figures: n/a".into()),
        None => target(None, "10,000-key figures: skipped".into()),
    }
    let _ = writeln!(w);
    if total_errors > 0 {
        let _ = writeln!(
            w,
            "**⚠ ERRORS: {total_errors} requests failed (non-200 or transport errors) during \
             measured load. The figures above include failing phases; do not trust them.**"
        );
        for note in &error_notes {
            let _ = writeln!(w, "- {note}");
        }
        let _ = writeln!(w);
    }
    out
}
