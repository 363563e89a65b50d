//! Test harness shared by every integration test: starts the real `hsm-kms` binary on
//! a fresh data directory and a free port, builds real AWS SDK clients pointed at it,
//! and offers small helpers to inspect AWS errors.
//!
//! Every test starts its own server (tests run in parallel: own temp dir, own port).
#![allow(dead_code)]

pub mod wrapping;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Regions served by `Server::start()`.
pub const DEFAULT_REGIONS: &str = "us-east-1,us-west-2,eu-west-1,cn-north-1";
/// Account id the server uses by default.
pub const ACCOUNT: &str = "111122223333";

const READY_PREFIX: &str = "hsm-kms listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `hsm-kms serve` process with its own data directory.
pub struct Server {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:41234` (changes on restart).
    pub url: String,
    args: Vec<String>,
    log_path: PathBuf,
    /// Byte offset in the log file where the current process's output starts.
    log_start: u64,
    // Dropped last: the data directory outlives the child (see Drop).
    data_dir: tempfile::TempDir,
}

/// Region tokens made once per test process by `hsm-kms init` (one per Region list) and
/// copied into each test's data directory: first start with transport setup costs
/// seconds (RSA-3072 generation in SoftHSM), a copy costs milliseconds. The copies are
/// real tokens; every server still opens, logs in to and reconciles them itself.
fn token_template(regions: &str) -> PathBuf {
    static TEMPLATES: std::sync::Mutex<Vec<(String, tempfile::TempDir)>> =
        std::sync::Mutex::new(Vec::new());
    let mut templates = TEMPLATES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, dir)) = templates.iter().find(|(r, _)| r == regions) {
        return dir.path().join("tokens");
    }
    let dir = tempfile::Builder::new()
        .prefix("hsm-kms-template-")
        .tempdir()
        .expect("create template dir");
    let status = Command::new(env!("CARGO_BIN_EXE_hsm-kms"))
        .arg("init")
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--regions")
        .arg(regions)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run hsm-kms init");
    assert!(status.success(), "hsm-kms init failed for {regions}");
    let tokens = dir.path().join("tokens");
    templates.push((regions.to_string(), dir));
    tokens
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create token dir");
    for entry in std::fs::read_dir(from).expect("read template") {
        let entry = entry.expect("template entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy token file");
        }
    }
}

impl Server {
    /// Start a server serving the default Regions
    /// (us-east-1, us-west-2, eu-west-1, cn-north-1).
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Start a server with extra `serve` arguments appended after
    /// `serve --data-dir DIR --listen 127.0.0.1:0`. If `args` has no `--regions`,
    /// the default Regions are added.
    pub fn start_with(args: &[&str]) -> Server {
        let data_dir = tempfile::Builder::new()
            .prefix("hsm-kms-test-")
            .tempdir()
            .expect("create temp data dir");
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if !args
            .iter()
            .any(|a| a == "--regions" || a.starts_with("--regions="))
        {
            args.push("--regions".into());
            args.push(DEFAULT_REGIONS.into());
        }
        // Log lives next to (not inside) the server's data dir, so the server owns DIR.
        let log_path = data_dir.path().join("server-stderr.log");
        let server_dir = data_dir.path().join("data");
        std::fs::create_dir_all(&server_dir).expect("create data dir");
        let regions = args
            .iter()
            .position(|a| a == "--regions")
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| {
                args.iter()
                    .find_map(|a| a.strip_prefix("--regions=").map(str::to_string))
            })
            .unwrap_or_else(|| DEFAULT_REGIONS.to_string());
        copy_dir(&token_template(&regions), &server_dir.join("tokens"));
        let mut server = Server {
            child: None,
            url: String::new(),
            args,
            log_path,
            log_start: 0,
            data_dir,
        };
        server.spawn();
        server
    }

    /// The directory passed as `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    /// The child's process id, if running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open server log");
        self.log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let data_dir = self.data_dir();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        cmd.env("NO_COLOR", "1"); // plain text in the log file
        let mut child = cmd.spawn().expect("spawn hsm-kms binary");
        let stdout = child.stdout.take().expect("child stdout");

        // Read stdout on a thread: report the listening line, then keep draining so the
        // child never blocks on a full pipe.
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut sent = false;
            let mut seen = String::new();
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        if !sent {
                            let _ = tx.send(Err(format!(
                                "stdout closed before the listening line; stdout was: {seen:?}"
                            )));
                        }
                        return;
                    }
                    Ok(_) => {
                        if !sent {
                            let trimmed = line.trim();
                            if let Some(url) = trimmed.strip_prefix(READY_PREFIX) {
                                let _ = tx.send(Ok(url.trim().to_string()));
                                sent = true;
                            } else {
                                seen.push_str(&line);
                            }
                        }
                    }
                }
            }
        });

        let deadline = Instant::now() + START_TIMEOUT;
        let result = loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(r) => break r,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err("stdout reader ended".to_string())
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        // Give the reader a moment to deliver a line printed just before exit.
                        if let Ok(r) = rx.recv_timeout(Duration::from_millis(500)) {
                            break r;
                        }
                        break Err(format!("server exited before it was ready: {status}"));
                    }
                    if Instant::now() > deadline {
                        break Err(format!(
                            "server not ready after {}s",
                            START_TIMEOUT.as_secs()
                        ));
                    }
                }
            }
        };
        match result {
            Ok(url) => {
                assert!(
                    url.starts_with("http://127.0.0.1:"),
                    "unexpected listening URL {url:?}"
                );
                self.url = url;
                self.child = Some(child);
            }
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hsm-kms failed to start: {why}\n--- server stderr ---\n{}",
                    self.current_log()
                );
            }
        }
    }

    /// Everything the server wrote to stderr, over all its runs.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// What the current (or last) process wrote to stderr.
    pub fn current_log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let _ = f.seek(SeekFrom::Start(self.log_start));
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// SIGKILL the server (no chance to clean up). `restart()` brings it back.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL hsm-kms");
            child.wait().expect("reap hsm-kms");
        }
    }

    /// Graceful stop: SIGTERM, then wait for the process to exit (panics after 30 s).
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is not running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM failed: {status}");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(st) = child.try_wait().expect("wait for hsm-kms") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hsm-kms did not exit within {}s of SIGTERM\n--- server stderr ---\n{}",
                    STOP_TIMEOUT.as_secs(),
                    self.current_log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Start the server again on the same data directory (the port may change).
    /// Stops it gracefully first if it is still running.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        self.spawn();
    }

    /// An AWS SDK KMS client for `region`, pointed at this server, retries off.
    pub async fn client(&self, region: &str) -> aws_sdk_kms::Client {
        assert!(!self.url.is_empty(), "server not started");
        let config = aws_config::defaults(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .region(Region::new(region.to_string()))
            .endpoint_url(self.url.clone())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .load()
            .await;
        aws_sdk_kms::Client::new(&config)
    }

    /// Key ARN of `key_id` in `region` (partition chosen by Region).
    pub fn key_arn(region: &str, key_id: &str) -> String {
        format!(
            "arn:{}:kms:{region}:{ACCOUNT}:key/{key_id}",
            partition(region)
        )
    }

    /// Alias ARN of `alias_name` (which starts with "alias/") in `region`.
    pub fn alias_arn(region: &str, alias_name: &str) -> String {
        format!(
            "arn:{}:kms:{region}:{ACCOUNT}:{alias_name}",
            partition(region)
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            let tail_start = log.len().saturating_sub(20_000);
            let tail_start = (tail_start..log.len())
                .find(|i| log.is_char_boundary(*i))
                .unwrap_or(log.len());
            eprintln!(
                "--- hsm-kms stderr (last {} bytes, {}) ---\n{}\n--- end of hsm-kms stderr ---",
                log.len() - tail_start,
                self.log_path.display(),
                &log[tail_start..]
            );
        }
    }
}

/// The ARN partition of a Region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The AWS error code (`__type`) of a service error, or a description of what else it was.
pub fn err_code<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => {
            se.err().code().map(str::to_string).unwrap_or_else(|| {
                format!("<service error without code: {}>", DisplayErrorContext(e))
            })
        }
        other => format!("<not a service error: {}>", DisplayErrorContext(other)),
    }
}

/// The AWS error message of a service error ("" if it has none).
pub fn err_message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => se.err().message().unwrap_or("").to_string(),
        other => format!("<not a service error: {}>", DisplayErrorContext(other)),
    }
}

/// Unwrap the error of a call that must fail; panics with the response if it succeeded.
pub fn must_fail<T: std::fmt::Debug, E>(r: Result<T, E>, what: &str) -> E {
    match r {
        Ok(v) => panic!("{what}: expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Assert `e` is the service error `code` and its message contains every piece of `words`.
#[track_caller]
pub fn assert_err<E, R>(e: &SdkError<E, R>, code: &str, words: &[&str])
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let got_code = err_code(e);
    let got_msg = err_message(e);
    assert_eq!(got_code, code, "error code (message: {got_msg:?})");
    for w in words {
        assert!(
            got_msg.contains(w),
            "{code} message {got_msg:?} should contain {w:?}"
        );
    }
}

/// A fake SigV4 Authorization header whose credential scope names `region`
/// (the server takes the Region from the scope; the signature itself is not checked).
pub fn fake_sigv4_authorization(region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/{region}/kms/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00"
    )
}
