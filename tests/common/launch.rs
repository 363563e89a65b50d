//! Starting an `hsm-kms serve` process and waiting until it listens. Standard library
//! only: the integration tests (`tests/common/server.rs`) and the load generator
//! (`bench/src/server.rs`, which includes this file by path) share it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What `hsm-kms serve` prints on stdout once it accepts requests, followed by its URL.
pub const LISTENING_PREFIX: &str = "hsm-kms listening on ";

/// Removes from `cmd`'s environment what the caller's shell must not impose on a server
/// started for a test or a benchmark: every `HSM_KMS_*` setting but the log filter
/// (`HSM_KMS_LOG`, so a developer can still turn logging up) and `SOFTHSM2_CONF` (the
/// server writes and uses its own).
pub fn clear_inherited_settings(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if (name_text.starts_with("HSM_KMS_") && name_text != "HSM_KMS_LOG")
            || name_text == "SOFTHSM2_CONF"
        {
            cmd.env_remove(&name);
        }
    }
}

/// Spawns `cmd` with its stdout piped here and waits up to `timeout` for the listening
/// line. A thread keeps draining stdout for the life of the process, so the server never
/// blocks on a full pipe. Returns the child and its base URL (`http://127.0.0.1:PORT`, no
/// trailing slash). On failure the child is killed and the error says why (exit status,
/// or what it printed instead).
pub fn spawn_listening(cmd: &mut Command, timeout: Duration) -> Result<(Child, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the server's stdout is not piped".to_string());
    };
    let (tx, rx) = mpsc::channel::<Result<String, String>>();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut sent = false;
        let mut seen = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if sent => {}
                Ok(_) => match line.trim().strip_prefix(LISTENING_PREFIX) {
                    Some(url) => {
                        let _ = tx.send(Ok(url.trim().trim_end_matches('/').to_string()));
                        sent = true;
                    }
                    None => seen.push_str(&line),
                },
            }
        }
        if !sent {
            let _ = tx.send(Err(format!(
                "stdout closed before the listening line; stdout was: {seen:?}"
            )));
        }
    });

    let deadline = Instant::now() + timeout;
    let result = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err("the stdout reader ended".to_string())
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    // A line printed just before the exit may still be on its way.
                    if let Ok(r) = rx.recv_timeout(Duration::from_millis(500)) {
                        break r.and(Err(format!("the server exited ({status})")));
                    }
                    break Err(format!(
                        "the server exited before it was listening: {status}"
                    ));
                }
                if Instant::now() > deadline {
                    break Err(format!("no listening line within {timeout:?}"));
                }
            }
        }
    };
    match result {
        Ok(url)
            if (url.starts_with("http://") || url.starts_with("https://"))
                && !url.ends_with(":0") =>
        {
            Ok((child, url))
        }
        Ok(url) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "unexpected listening line: {LISTENING_PREFIX}{url}"
            ))
        }
        Err(why) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(why)
        }
    }
}
