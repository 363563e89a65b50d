//! `--baseline BIN`: this build against another build of the server, in the same run on
//! the same machine (issue 15). Both servers run at once, each with its own temporary
//! data directory and its own keys; every table row is measured on each in turn, several
//! rounds, the order swapped every round (baseline first, then this build first), so that
//! load from elsewhere on the machine falls on both alike. The figures of a side are its
//! rounds merged: requests over measured seconds, CPU over requests, percentiles over
//! every latency.

use std::fmt::Write as _;
use std::path::Path;

use crate::client::{self, Client, Endpoint, PhaseResult};
use crate::server::{self, RssSampler, Server};
use crate::{raw, Args, Labelled, Settings, MAIN_REGION, REPLICA_REGION};

/// One server under test.
struct Side {
    name: &'static str,
    server: Server,
    endpoint: Endpoint,
    workloads: Vec<Labelled>,
    /// Max VmRSS during Encrypt 64 B at 16 connections, KiB.
    rss_under_load: Option<u64>,
    /// Where the server's CPU went during Encrypt 64 B at 16 connections (--perf-record).
    profile: Option<Result<Vec<(String, f64)>, String>>,
}

/// The merged figures of one row on both sides.
struct Row {
    label: &'static str,
    connections: usize,
    base: Result<PhaseResult, String>,
    this: Result<PhaseResult, String>,
}

/// Merges the rounds of one side.
fn merge(rounds: &[PhaseResult]) -> PhaseResult {
    let mut latencies: Vec<u32> = rounds
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let sum_opt = |f: &dyn Fn(&PhaseResult) -> Option<f64>| -> Option<f64> {
        rounds.iter().map(f).sum::<Option<f64>>()
    };
    PhaseResult {
        connections: rounds.first().map_or(0, |r| r.connections),
        measured_secs: rounds.iter().map(|r| r.measured_secs).sum(),
        ok: rounds.iter().map(|r| r.ok).sum(),
        errors: rounds.iter().map(|r| r.errors).sum(),
        first_error: rounds.iter().find_map(|r| r.first_error.clone()),
        latencies_us: latencies,
        bench_cpu_secs: rounds.iter().map(|r| r.bench_cpu_secs).sum(),
        server_cpu_secs: sum_opt(&|r| r.server_cpu_secs),
        server_context_switches: rounds
            .iter()
            .map(|r| r.server_context_switches)
            .sum::<Option<u64>>(),
    }
}

async fn start(args: &Args, bin: &Path, dir: &Path, name: &'static str) -> Result<Side, String> {
    progress!("starting {name}: {}", bin.display());
    let server = crate::start_server(bin, dir, name, &format!("{MAIN_REGION},{REPLICA_REGION}"))
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    progress!("{name}: pid {} listening on {}", server.pid(), server.addr);
    let endpoint = Endpoint::new(server.addr);
    let mut client = Client::new(endpoint.clone());
    let workloads = crate::workloads(&mut client)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let workloads = workloads
        .into_iter()
        .filter(|(label, _)| {
            args.ops.is_empty() || args.ops.iter().any(|o| label.contains(o.as_str()))
        })
        .collect();
    Ok(Side {
        name,
        server,
        endpoint,
        workloads,
        rss_under_load: None,
        profile: None,
    })
}

/// Runs the comparison and returns its Markdown report.
pub async fn run(
    args: &Args,
    settings: &Settings,
    dir: &Path,
    baseline: &Path,
    raw: &Result<raw::RawRates, String>,
) -> Result<String, String> {
    let mut sides = [
        start(args, baseline, dir, "baseline").await?,
        start(args, &args.server, dir, "this build").await?,
    ];
    let labels: Vec<&'static str> = sides[1].workloads.iter().map(|(l, _)| *l).collect();
    let mut rows = Vec::new();
    for label in labels {
        for &conns in &args.connections {
            let mut rounds: [Vec<PhaseResult>; 2] = [Vec::new(), Vec::new()];
            let mut missing: [Option<String>; 2] = [None, None];
            for round in 0..args.rounds.max(1) {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    let side = &mut sides[i];
                    let workload = match side.workloads.iter().find(|(l, _)| *l == label) {
                        Some((_, Ok(w))) => w.clone(),
                        Some((_, Err(e))) => {
                            missing[i] = Some(e.clone());
                            continue;
                        }
                        None => {
                            missing[i] = Some("not measured".into());
                            continue;
                        }
                    };
                    let sampler: Option<RssSampler> =
                        (label == "Encrypt 64 B" && conns == 16).then(|| side.server.sample_rss());
                    let profiler = match &args.perf_record {
                        Some(dir) if label == "Encrypt 64 B" && conns == 16 && round == 0 => {
                            let out = dir.join(format!("{}.data", side.name.replace(' ', "-")));
                            perf_record(side.server.pid(), &out, settings.warmup + settings.measure)
                                .map(|child| (child, out))
                        }
                        _ => None,
                    };
                    let phase = client::run_phase(
                        &side.endpoint,
                        &workload,
                        conns,
                        settings.warmup,
                        settings.measure,
                        Some(side.server.pid()),
                    )
                    .await;
                    if let Some(s) = sampler {
                        let max = s.stop();
                        side.rss_under_load = Some(side.rss_under_load.unwrap_or(0).max(max));
                    }
                    if let Some((mut child, out)) = profiler {
                        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
                        side.profile = Some(perf_breakdown(&out));
                    }
                    progress!(
                        "{label} @ {conns:>2} conns, round {}, {:<10}: {:>8.0} req/s  p99 {:.2} ms  \
                         server {:.1} µs CPU, {:.2} context switches per request  errors {}",
                        round + 1,
                        side.name,
                        phase.rate(),
                        phase.percentile_ms(99.0),
                        phase.server_cpu_us_per_request().unwrap_or(f64::NAN),
                        phase.server_switches_per_request().unwrap_or(f64::NAN),
                        phase.errors
                    );
                    if phase.errors > 0 {
                        progress!(
                            "⚠ {} errors on {}; last lines of its log ({}):\n{}",
                            phase.errors,
                            side.name,
                            side.server.log_path.display(),
                            server::tail(&side.server.log_path, 10)
                        );
                    }
                    rounds[i].push(phase);
                }
            }
            let [base_rounds, this_rounds] = rounds;
            let [base_missing, this_missing] = missing;
            let side = |rounds: Vec<PhaseResult>, missing: Option<String>| match missing {
                Some(e) if rounds.is_empty() => Err(e),
                _ => Ok(merge(&rounds)),
            };
            rows.push(Row {
                label,
                connections: conns,
                base: side(base_rounds, base_missing),
                this: side(this_rounds, this_missing),
            });
        }
    }
    let [mut base, mut this] = sides;
    let rss = (base.rss_under_load, this.rss_under_load);
    let profiles = (base.profile.take(), this.profile.take());
    for side in [base, this] {
        let name = side.name;
        let stopped = tokio::task::spawn_blocking(move || {
            side.server.terminate(std::time::Duration::from_secs(30))
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Err(e) = stopped {
            progress!("stopping {name}: {e}");
        }
    }
    let mut out = report(args, settings, baseline, &rows, raw, rss);
    if let (Some(b), Some(t)) = profiles {
        out.push_str(&profile_table(&b, &t));
    }
    Ok(out)
}

/// Starts `perf record --call-graph dwarf` on `pid` for `duration` (None when perf cannot start).
fn perf_record(pid: u32, out: &Path, duration: std::time::Duration) -> Option<std::process::Child> {
    if let Some(dir) = out.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            progress!("perf record: cannot create {}: {e}", dir.display());
            return None;
        }
    }
    // DWARF call graphs: SoftHSM2 and OpenSSL are built without frame pointers, so only
    // unwinding by DWARF attributes their time to the PKCS#11 call that spent it.
    std::process::Command::new("perf")
        .args([
            "record",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(out)
        .args(["--", "sleep", &format!("{:.2}", duration.as_secs_f64())])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| progress!("perf record could not start: {e}"))
        .ok()
}

/// The share of samples per group of shared objects, from `perf report --sort dso`.
fn perf_breakdown(data: &Path) -> Result<Vec<(String, f64)>, String> {
    let output = std::process::Command::new("perf")
        .args([
            "report",
            "--no-children",
            "--sort",
            "dso",
            "-g",
            "none",
            "--stdio",
            "-i",
        ])
        .arg(data)
        .output()
        .map_err(|e| format!("perf report: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut groups: Vec<(String, f64)> = PROFILE_GROUPS
        .iter()
        .map(|(name, _)| (name.to_string(), 0.0))
        .collect();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split_whitespace();
        let (Some(share), Some(dso)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(share) = share.trim_end_matches('%').parse::<f64>() else {
            continue;
        };
        let group = PROFILE_GROUPS
            .iter()
            .position(|(_, matches)| matches(dso))
            .unwrap_or(PROFILE_GROUPS.len() - 1);
        groups[group].1 += share;
    }
    if groups.iter().all(|(_, share)| *share == 0.0) {
        return Err(format!("no samples in {}", data.display()));
    }
    groups.push((TOKEN_CALLS.to_string(), token_calls_share(data)?));
    Ok(groups)
}

/// The last row of the profile: time inside the token's PKCS#11 functions, whatever
/// object it was spent in (SoftHSM2, OpenSSL, libc, the kernel). Not a group: it overlaps
/// the rows above.
const TOKEN_CALLS: &str =
    "of all the above: inside PKCS#11 calls (C_EncryptInit + C_Encrypt, SoftHSM2's own work, its OpenSSL, malloc, locks, system calls)";

/// The share of samples whose call stack is inside a `C_*` function of the PKCS#11
/// module, from `perf report --children` (PKCS#11 calls do not nest, so their inclusive
/// shares add up).
fn token_calls_share(data: &Path) -> Result<f64, String> {
    let output = std::process::Command::new("perf")
        .args([
            "report",
            "--children",
            "--sort",
            "dso,sym",
            "-g",
            "none",
            "--stdio",
            "-i",
        ])
        .arg(data)
        .output()
        .map_err(|e| format!("perf report: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut share = 0.0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        // "    31.11%     0.06%  libsofthsm2.so  [.] C_EncryptInit"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [children, _own, dso, "[.]", symbol] = fields.as_slice() else {
            continue;
        };
        if !(dso.starts_with("libsofthsm2") && symbol.starts_with("C_")) {
            continue;
        }
        if let Ok(children) = children.trim_end_matches('%').parse::<f64>() {
            share += children;
        }
    }
    Ok(share)
}

/// A group of shared objects in the profile, and which objects it takes.
type ProfileGroup = (&'static str, fn(&str) -> bool);

/// How the profile's shared objects are grouped (the first that matches; the last group
/// takes the rest).
const PROFILE_GROUPS: &[ProfileGroup] = &[
    ("kernel (network stack, scheduler, system calls)", |d| {
        d.starts_with("[kernel")
    }),
    (
        "libc (malloc/free of SoftHSM2 and OpenSSL, their locks, memcpy)",
        |d| d.starts_with("libc.so"),
    ),
    ("SoftHSM2 + OpenSSL + libstdc++ (the token)", |d| {
        d.starts_with("libsofthsm2") || d.starts_with("libcrypto") || d.starts_with("libstdc++")
    }),
    (
        "hsm-kms binary (our code, hyper, tokio, serde, its allocator)",
        |d| d.starts_with("hsm-kms"),
    ),
    ("other", |_| true),
];

fn profile_table(
    base: &Result<Vec<(String, f64)>, String>,
    this: &Result<Vec<(String, f64)>, String>,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "Where the server's CPU went during Encrypt 64 B at 16 connections (perf record \
         --call-graph dwarf, first round of each side, share of samples by shared object; \
         the last row by call stack):"
    );
    let _ = writeln!(w);
    match (base, this) {
        (Ok(b), Ok(t)) => {
            let _ = writeln!(w, "| Where | baseline | this build |");
            let _ = writeln!(w, "|---|---:|---:|");
            for ((name, bs), (_, ts)) in b.iter().zip(t) {
                let _ = writeln!(w, "| {name} | {bs:.1}% | {ts:.1}% |");
            }
        }
        (b, t) => {
            let _ = writeln!(
                w,
                "- n/a: baseline {}, this build {}",
                b.as_ref().err().map_or("ok", String::as_str),
                t.as_ref().err().map_or("ok", String::as_str)
            );
        }
    }
    let _ = writeln!(w);
    out
}

fn report(
    args: &Args,
    settings: &Settings,
    baseline: &Path,
    rows: &[Row],
    raw: &Result<raw::RawRates, String>,
    rss: (Option<u64>, Option<u64>),
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w);
    let _ = writeln!(w, "## hsm-kms: this build against a baseline, same run");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "{} · {} · baseline {} · {} round(s) per row and side, order swapped every round, \
         each {} s warm-up + {} s measured · load generator: {} thread(s), every request \
         SigV4-signed, keep-alive HTTP/1.1",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        crate::machine(),
        baseline.display(),
        args.rounds.max(1),
        settings.warmup.as_secs_f64(),
        settings.measure.as_secs_f64(),
        args.client_threads
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "| Operation | Conns | req/s baseline | req/s this | × | CPU µs/req baseline | CPU µs/req this | p99 ms baseline | p99 ms this | ctx switches/req baseline → this | Errors |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut errors = 0;
    for row in rows {
        match (&row.base, &row.this) {
            (Ok(b), Ok(t)) => {
                errors += b.errors + t.errors;
                let _ = writeln!(
                    w,
                    "| {} | {} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} → {:.2} | {} |",
                    row.label,
                    row.connections,
                    b.rate(),
                    t.rate(),
                    t.rate() / b.rate(),
                    b.server_cpu_us_per_request().unwrap_or(f64::NAN),
                    t.server_cpu_us_per_request().unwrap_or(f64::NAN),
                    b.percentile_ms(99.0),
                    t.percentile_ms(99.0),
                    b.server_switches_per_request().unwrap_or(f64::NAN),
                    t.server_switches_per_request().unwrap_or(f64::NAN),
                    b.errors + t.errors
                );
            }
            (b, t) => {
                let why = |r: &Result<PhaseResult, String>| match r {
                    Ok(p) => format!("{:.0}", p.rate()),
                    Err(e) => format!("n/a: {}", e.replace('|', "\\|")),
                };
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | | | | | | | |",
                    row.label,
                    row.connections,
                    why(b),
                    why(t)
                );
            }
        }
    }
    let _ = writeln!(w);
    let enc16 = rows
        .iter()
        .find(|r| r.label == "Encrypt 64 B" && r.connections == 16);
    if let Ok(r) = raw {
        let _ = writeln!(
            w,
            "- Raw PKCS#11 AES-GCM (C_Encrypt, 64 B, one thread, in-process SoftHSM2, same \
             run): {:.0}/s with a token-object key, {:.0}/s with a session-object copy",
            r.token_object, r.session_object
        );
        if let Some(row) = enc16 {
            for (name, p) in [("baseline", &row.base), ("this build", &row.this)] {
                if let Ok(p) = p {
                    let _ = writeln!(
                        w,
                        "- Encrypt 64 B at 16 connections, {name}: {:.0}% of the session-object \
                         C_Encrypt rate",
                        100.0 * p.rate() / r.session_object
                    );
                }
            }
        }
    }
    let fmt = |v: Option<u64>| {
        v.map(|k| format!("{:.1} MiB", crate::mib(k)))
            .unwrap_or_else(|| "n/a".into())
    };
    let _ = writeln!(
        w,
        "- Server RSS, max during Encrypt 64 B at 16 connections: baseline {}, this build {}",
        fmt(rss.0),
        fmt(rss.1)
    );
    if errors > 0 {
        let _ = writeln!(
            w,
            "\n**⚠ {errors} requests failed during measured load: do not trust these figures.**"
        );
    }
    let _ = writeln!(w);
    out
}
