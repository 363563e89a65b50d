//! The one server launcher of the integration tests: the real `hsm-kms` binary on a fresh
//! data directory and a free port, AWS SDK clients pointed at it, and the server clock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use serde_json::Value;

use super::launch;

/// Regions served by `Server::start()`.
pub const DEFAULT_REGIONS: &str = "us-east-1,us-west-2,eu-west-1,cn-north-1";
/// Account id the server uses by default.
pub const ACCOUNT: &str = "111122223333";

/// How long a server may take to start (a fresh start generates RSA keys in SoftHSM2).
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `hsm-kms serve` process with its own data directory.
pub struct Server {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:41234` (changes on restart).
    pub url: String,
    args: Vec<String>,
    /// Extra environment variables of the server process.
    env: Vec<(String, String)>,
    log_path: PathBuf,
    /// Byte offset in the log file where the current process's output starts.
    log_start: u64,
    // Dropped last: the data directory outlives the child (see Drop).
    data_dir: tempfile::TempDir,
}

/// Region tokens made once per test process by `hsm-kms init` (one per Region list) and
/// copied into each test's data directory, with the `pins` file `init` generated for
/// them: first start with transport setup costs seconds (RSA-3072 generation in
/// SoftHSM), a copy costs milliseconds. The copies are real tokens; every server still
/// opens, logs in to and reconciles them itself. Returns the template's data directory.
fn token_template(regions: &str) -> PathBuf {
    static TEMPLATES: std::sync::Mutex<Vec<(String, tempfile::TempDir)>> =
        std::sync::Mutex::new(Vec::new());
    let mut templates = TEMPLATES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, dir)) = templates.iter().find(|(r, _)| r == regions) {
        return dir.path().to_path_buf();
    }
    if templates.is_empty() {
        remove_templates_of_ended_processes();
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("{TEMPLATE_PREFIX}{}-", std::process::id()))
        .tempdir()
        .expect("create template dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    launch::clear_inherited_settings(&mut cmd);
    let out = cmd
        .arg("init")
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--regions")
        .arg(regions)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run hsm-kms init");
    assert!(
        out.status.success(),
        "hsm-kms init failed for {regions}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = dir.path().to_path_buf();
    templates.push((regions.to_string(), dir));
    data
}

/// Templates are named `hsm-kms-template-<pid>-…` after the test process that made them.
const TEMPLATE_PREFIX: &str = "hsm-kms-template-";

/// A static is never dropped, so a test process leaves its templates behind when it
/// exits: the next one removes those of every process that is no longer running (test
/// binaries run one after another, so a whole run leaves only its last binary's).
fn remove_templates_of_ended_processes() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMPLATE_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
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

/// The value of `--regions` in `args` (either `--regions X` or `--regions=X`).
fn regions_arg(args: &[String]) -> Option<String> {
    args.iter()
        .position(|a| a == "--regions")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--regions=").map(str::to_string))
        })
}

impl Server {
    /// Start a server serving the default Regions
    /// (us-east-1, us-west-2, eu-west-1, cn-north-1).
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Start a server with extra `serve` arguments appended after
    /// `serve --data-dir DIR --listen 127.0.0.1:0`. If `args` has no `--regions`,
    /// the default Regions are added. The tokens are copies of a per-process template.
    pub fn start_with(args: &[&str]) -> Server {
        Server::launch(args, true)
    }

    /// Like [`Server::start_with`], with extra environment variables for the server
    /// process (test hooks; settings belong in `args`).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut server = Server::prepare(args, true, None);
        server.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        server.spawn();
        server
    }

    /// Like [`Server::start_with`], but the server creates its tokens itself, as on a
    /// user's first `scripts/run` (slower: RSA key generation in every token).
    pub fn start_fresh(args: &[&str]) -> Server {
        Server::launch(args, false)
    }

    /// Start a server in strict mode (`--mode strict`) with `principals` (the text of a
    /// principals file, written next to the data directory) and extra `serve` arguments
    /// as for [`Server::start_with`]. [`Server::client_as`] signs as one of its principals.
    pub fn start_strict(principals: &str, args: &[&str]) -> Server {
        let mut server = Server::prepare(args, true, Some(principals));
        server.spawn();
        server
    }

    /// Where [`Server::start_strict`] wrote the principals file.
    pub fn principals_path(&self) -> PathBuf {
        self.data_dir.path().join("principals.toml")
    }

    fn launch(args: &[&str], from_template: bool) -> Server {
        let mut server = Server::prepare(args, from_template, None);
        server.spawn();
        server
    }

    /// A server with its data directory ready (and, for strict mode, its principals file
    /// written), not started.
    fn prepare(args: &[&str], from_template: bool, principals: Option<&str>) -> Server {
        let data_dir = tempfile::Builder::new()
            .prefix("hsm-kms-test-")
            .tempdir()
            .expect("create temp data dir");
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if let Some(text) = principals {
            let path = data_dir.path().join("principals.toml");
            std::fs::write(&path, text).expect("write the principals file");
            args.extend([
                "--mode".to_string(),
                "strict".to_string(),
                "--principals-file".to_string(),
                path.display().to_string(),
            ]);
        }
        let regions = regions_arg(&args).unwrap_or_else(|| {
            args.push("--regions".into());
            args.push(DEFAULT_REGIONS.into());
            DEFAULT_REGIONS.to_string()
        });
        // Log lives next to (not inside) the server's data dir, so the server owns DIR.
        let log_path = data_dir.path().join("server-stderr.log");
        let server_dir = data_dir.path().join("data");
        std::fs::create_dir_all(&server_dir).expect("create data dir");
        if from_template {
            let template = token_template(&regions);
            copy_dir(&template.join("tokens"), &server_dir.join("tokens"));
            // std::fs::copy keeps the mode (0600).
            std::fs::copy(template.join("pins"), server_dir.join("pins"))
                .expect("copy the template's pins file");
        }
        Server {
            child: None,
            url: String::new(),
            args,
            env: Vec::new(),
            log_path,
            log_start: 0,
            data_dir,
        }
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
        launch::clear_inherited_settings(&mut cmd);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1") // plain text in the log file
            .stderr(Stdio::from(log));
        match launch::spawn_listening(&mut cmd, START_TIMEOUT) {
            Ok((child, url)) => {
                assert!(
                    url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
                    "unexpected listening URL {url:?}"
                );
                self.url = url;
                self.child = Some(child);
            }
            Err(why) => panic!(
                "hsm-kms failed to start: {why}\n--- server stderr ---\n{}",
                self.current_log()
            ),
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
        aws_sdk_kms::Client::new(&self.sdk_config(region).await)
    }

    /// An AWS SDK KMS client for `region` signing with the given credentials (a principal
    /// of a strict-mode server, or a role session's temporary credentials).
    pub async fn client_as(
        &self,
        region: &str,
        access_key_id: &str,
        secret: &str,
        session_token: Option<&str>,
    ) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(
            &self
                .sdk_config_as(region, access_key_id, secret, session_token)
                .await,
        )
    }

    /// The AWS SDK configuration of a client of this server in `region`: test
    /// credentials, retries off, a generous operation timeout. Clients of other services
    /// served on the port (CloudFormation, STS, CloudTrail) are built from it.
    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        self.sdk_config_as(region, "AKIDEXAMPLE", "secret", None)
            .await
    }

    /// [`Server::sdk_config`] signing with the given credentials.
    pub async fn sdk_config_as(
        &self,
        region: &str,
        access_key_id: &str,
        secret: &str,
        session_token: Option<&str>,
    ) -> aws_config::SdkConfig {
        assert!(!self.url.is_empty(), "server not started");
        aws_config::defaults(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                access_key_id,
                secret,
                session_token.map(str::to_string),
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
            .await
    }

    /// Moves the server clock forward by `seconds` (`POST /admin/clock`; the server must
    /// run with `--admin-api`). Jobs that became due have run when it returns. Returns the
    /// server's time afterwards, in epoch seconds.
    pub async fn advance_clock(&self, seconds: f64) -> f64 {
        let resp = reqwest::Client::new()
            .post(format!("{}/admin/clock", self.url))
            .bearer_auth(self.admin_token())
            .json(&serde_json::json!({ "advance_seconds": seconds }))
            .send()
            .await
            .expect("POST /admin/clock");
        clock_now(resp, "POST").await
    }

    /// The server's time, in epoch seconds (`GET /admin/clock`; needs `--admin-api`).
    pub async fn clock_now(&self) -> f64 {
        let resp = reqwest::Client::new()
            .get(format!("{}/admin/clock", self.url))
            .bearer_auth(self.admin_token())
            .send()
            .await
            .expect("GET /admin/clock");
        clock_now(resp, "GET").await
    }

    /// The admin API's token, as the server keeps it in `DATA_DIR/admin-token` (the
    /// server must run with `--admin-api`).
    pub fn admin_token(&self) -> String {
        let path = self.data_dir().join("admin-token");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e} (is --admin-api on?)", path.display()))
            .trim()
            .to_string()
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

/// The `now` of an `/admin/clock` answer.
async fn clock_now(resp: reqwest::Response, method: &str) -> f64 {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "{method} /admin/clock: {status} {body}"
    );
    let clock: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("clock answer {body:?}: {e}"));
    clock["now"]
        .as_f64()
        .unwrap_or_else(|| panic!("clock answer without a numeric \"now\": {clock}"))
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
