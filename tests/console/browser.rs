//! A real headless Chromium driven through chromedriver (WebDriver, via fantoccini), started
//! per test with a fresh profile and stopped at the end. A failing test leaves a screenshot
//! and the page's HTML in `target/console-artifacts/`.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::Server;

/// How long a page element may take to appear on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Where failure screenshots and page sources go.
pub fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("console-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// At most two browsers at once: the machine has two cores.
fn permits() -> &'static tokio::sync::Semaphore {
    static P: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    P.get_or_init(|| tokio::sync::Semaphore::new(2))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn find_binary(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .unwrap_or_else(|| {
            panic!("none of {candidates:?} exists: run scripts/setup --test (installs chromium and chromium-driver)")
        })
}

struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session on the console of `base`.
#[derive(Clone)]
pub struct Browser {
    pub c: Client,
    pub base: String,
}

async fn start_browser(base: &str) -> (Browser, Driver, tempfile::TempDir) {
    let driver_bin = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let chromium = find_binary(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
    let port = free_port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child };
    let profile = tempfile::Builder::new()
        .prefix("hsm-kms-chromium-")
        .tempdir()
        .expect("profile dir");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + WAIT;
    let client = loop {
        match ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("cannot start a Chromium session through chromedriver: {e}"),
        }
    };
    (
        Browser {
            c: client,
            base: base.to_string(),
        },
        driver,
        profile,
    )
}

/// Runs `body` against a fresh server (with `server_args`) and a fresh browser; on failure
/// keeps a screenshot and the page source named after `name`, then fails the test.
pub async fn run<F, Fut>(name: &str, server_args: &[&str], body: F)
where
    F: FnOnce(Browser, std::sync::Arc<Server>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_on(name, || Server::start_with(server_args), body).await
}

/// [`run`] against a strict-mode server with `principals` (a principals file's text).
pub async fn run_strict<F, Fut>(name: &str, principals: &str, server_args: &[&str], body: F)
where
    F: FnOnce(Browser, std::sync::Arc<Server>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_on(name, || Server::start_strict(principals, server_args), body).await
}

async fn run_on<F, Fut>(name: &str, start: impl FnOnce() -> Server, body: F)
where
    F: FnOnce(Browser, std::sync::Arc<Server>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _permit = permits().acquire().await.expect("semaphore");
    let server = std::sync::Arc::new(start());
    let (browser, driver, profile) = start_browser(&server.url).await;
    let outcome = tokio::spawn(body(browser.clone(), server.clone())).await;
    if let Err(e) = &outcome {
        let dir = artifacts();
        if let Ok(png) = browser.c.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}-failure.png")), png);
        }
        if let Ok(html) = browser.c.source().await {
            let _ = std::fs::write(dir.join(format!("{name}-failure.html")), html);
        }
        if let Ok(u) = browser.c.current_url().await {
            eprintln!("{name} failed on {u}: {e}");
        }
        let log = server.log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        eprintln!("server log (last lines):\n{}", tail.join("\n"));
    }
    let _ = browser.c.clone().close().await;
    drop(driver);
    drop(profile);
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("{name}: {e}");
    }
}

/// Errors a page in the middle of navigating can give; the command is tried again.
fn transient(e: &fantoccini::error::CmdError) -> bool {
    let t = e.to_string();
    t.contains("stale") || t.contains("navigation") || t.contains("execution context")
}

impl Browser {
    pub async fn go(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Runs a command on the element `css` (waiting for it to appear), again if the page
    /// was navigating or replaced the element under it.
    async fn on<T, F, Fut>(&self, css: &str, what: &str, f: F) -> T
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .c
                .wait()
                .at_most(WAIT)
                .for_element(Locator::Css(css))
                .await;
            let result = match found {
                Ok(el) => f(el).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(v) => return v,
                Err(e) if transient(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{what} {css}: {e}"),
            }
        }
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.on(css, "find", |el| async move { Ok(el) }).await
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .c
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
            .is_empty()
    }

    pub async fn click(&self, css: &str) {
        self.on(css, "click", |el| async move { el.click().await })
            .await
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.on(css, "type into", |el| async move {
            el.clear().await?;
            el.send_keys(text).await
        })
        .await
    }

    /// Chooses a file in the file input `css`.
    pub async fn attach(&self, css: &str, path: &std::path::Path) {
        let path = path.display().to_string();
        self.on(css, "attach to", |el| {
            let path = path.clone();
            async move { el.send_keys(&path).await }
        })
        .await
    }

    /// Sets a field's value with script (long JSON policies, where typing is slow).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.find(css).await;
        self.c
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    pub async fn value(&self, css: &str) -> String {
        self.on(css, "value of", |el| async move { el.prop("value").await })
            .await
            .unwrap_or_default()
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.on(css, "select", |el| async move {
            el.select_by_value(value).await
        })
        .await
    }

    pub async fn text(&self, css: &str) -> String {
        self.on(css, "text of", |el| async move { el.text().await })
            .await
    }

    /// Waits until the text of `css` contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let els = self.c.find_all(Locator::Css(css)).await.unwrap_or_default();
            let mut seen = String::new();
            for el in els {
                if let Ok(t) = el.text().await {
                    seen = t;
                }
            }
            if seen.contains(needle) {
                return seen;
            }
            if Instant::now() > deadline {
                panic!("{css} never showed {needle:?}; it shows {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn is_enabled(&self, css: &str) -> bool {
        self.on(css, "state of", |el| async move { el.is_enabled().await })
            .await
    }

    /// The form controls on the page that have no accessible name (no `<label for>`, no
    /// wrapping label, no aria-label): empty when every control is labelled.
    pub async fn unlabelled(&self) -> Vec<String> {
        let script = r#"
            var out = [];
            document.querySelectorAll("input, select, textarea, button").forEach(function (el) {
                if (el.type === "hidden") { return; }
                var named = el.getAttribute("aria-label") || el.closest("label") ||
                    (el.id && document.querySelector("label[for='" + el.id + "']")) ||
                    (el.tagName === "BUTTON" && el.textContent.trim());
                if (!named) { out.push(el.outerHTML.slice(0, 120)); }
            });
            return out;"#;
        let v = self.c.execute(script, vec![]).await.expect("label check");
        serde_json::from_value(v).unwrap_or_default()
    }

    /// Asserts every control on the page has a label.
    pub async fn assert_labelled(&self, page: &str) {
        let missing = self.unlabelled().await;
        assert!(
            missing.is_empty(),
            "{page}: controls without a label: {missing:?}"
        );
    }

    /// Signs in (open mode: as the account root) and lands on the key table.
    pub async fn sign_in(&self) {
        self.go("/console/").await;
        self.click("#sign-in").await;
        self.find("#keys-table").await;
    }

    /// Signs in to a strict-mode server with an access key and its secret.
    pub async fn sign_in_as(&self, access_key_id: &str, secret: &str) {
        self.go("/console/").await;
        self.fill("#access-key-id", access_key_id).await;
        self.fill("#secret-access-key", secret).await;
        self.click("#sign-in").await;
    }

    /// Saves a screenshot of the page into `path`.
    pub async fn shot(&self, path: &std::path::Path) {
        let png = self.c.screenshot().await.expect("screenshot");
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Saves a screenshot as a test artifact, and into `docs/screenshots/` when
    /// HSM_KMS_UPDATE_SCREENSHOTS=1 (how the README's pictures are made).
    pub async fn doc_shot(&self, name: &str) {
        self.shot(&artifacts().join(name)).await;
        if std::env::var("HSM_KMS_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join("screenshots")
                .join(name);
            self.shot(&docs).await;
        }
    }
}
