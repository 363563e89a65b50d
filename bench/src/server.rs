//! Starting, watching and stopping the hsm-kms server process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Spawning the server and waiting for its listening line, shared with the integration
/// tests' launcher.
#[path = "../../tests/common/launch.rs"]
mod launch;

/// A running `hsm-kms serve`.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// When the process was spawned.
    pub spawned: Instant,
    /// From spawn to the `listening` line.
    pub listening_after: Duration,
    pub log_path: PathBuf,
}

impl Server {
    /// Spawns `bin serve --data-dir <data_dir> --listen 127.0.0.1:0 --regions <regions>`
    /// and `extra` arguments (stderr appended to `log_path`) and waits for its `listening`
    /// line.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        regions: &str,
        extra: &[String],
        log_path: &Path,
        timeout: Duration,
    ) -> Result<Server, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let mut cmd = Command::new(bin);
        // The bench's own in-process SoftHSM2 configuration (SOFTHSM2_CONF) and the
        // caller's HSM_KMS_* settings must not leak into the server.
        launch::clear_inherited_settings(&mut cmd);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--regions", regions])
            .args(extra)
            .stderr(Stdio::from(log));
        let spawned = Instant::now();
        let fail = |why: String| -> String {
            format!(
                "{why} (scripts/bench builds {} with cargo build --release)\n\
                 --- last lines of {} ---\n{}",
                bin.display(),
                log_path.display(),
                tail(log_path, 20)
            )
        };
        let (mut child, url) = launch::spawn_listening(&mut cmd, timeout).map_err(fail)?;
        let listening_after = spawned.elapsed();
        let addr: SocketAddr = match url.trim_start_matches("http://").parse() {
            Ok(a) => a,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("bad listen address {url:?}: {e}")));
            }
        };
        Ok(Server {
            child,
            addr,
            spawned,
            listening_after,
            log_path: log_path.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// VmRSS of the server process in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// Watches VmRSS every 20 ms until the returned sampler is stopped.
    pub fn sample_rss(&self) -> RssSampler {
        let pid = self.pid();
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::spawn(move || {
            let mut max = 0u64;
            while flag.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    max = max.max(kib);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            max
        });
        RssSampler { running, thread }
    }

    /// SIGTERM, then waits for the exit (SIGKILL after `timeout`). Returns how long the
    /// graceful stop took.
    pub fn terminate(mut self, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        // Safe: sending a signal to our own child, whose pid we hold.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        if rc != 0 {
            return Err(format!(
                "kill(SIGTERM): {}",
                std::io::Error::last_os_error()
            ));
        }
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        return Err(format!("the server exited with {status} after SIGTERM"));
                    }
                    return Ok(started.elapsed());
                }
                Ok(None) if started.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!(
                        "the server did not stop within {timeout:?} of SIGTERM"
                    ));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub struct RssSampler {
    running: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl RssSampler {
    /// Stops sampling; the maximum VmRSS seen, in KiB.
    pub fn stop(self) -> u64 {
        self.running.store(false, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
