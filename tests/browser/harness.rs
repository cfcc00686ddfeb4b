//! The pieces a browser test needs: a generated data set served by `tamsa serve`, chromedriver
//! with headless Chromium, a direct HTTP client for the API, and waits on the page's
//! `data-testid` states.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tempfile::TempDir;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a wait on the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(15);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(25);

/// Whether Chromium and chromedriver are installed. When not, says so on standard error
/// (past the test harness's capture) or, under `TAMSA_REQUIRE_BROWSER=1`, fails.
pub fn browser_available() -> bool {
    let Some(missing) = [CHROMIUM, CHROMEDRIVER].into_iter().find(|p| !Path::new(p).exists()) else {
        return true;
    };
    let message = format!(
        "browser tests not run: {missing} not found (apt-get install chromium chromium-driver fonts-nanum)"
    );
    if std::env::var("TAMSA_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("{message}; TAMSA_REQUIRE_BROWSER=1 requires them");
    }
    let _ = writeln!(std::io::stderr(), "{message}");
    false
}

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server, chromedriver and their files, for one test.
pub struct Env {
    // Fields drop in order: the processes end before their directory is removed.
    _driver: Guard,
    _server: Guard,
    /// Data, index, logs, the browser profile and downloads.
    pub dir: TempDir,
    /// `http://127.0.0.1:PORT` of `tamsa serve`.
    pub base: String,
    /// An API token for the export.
    pub token: String,
    /// Where Chromium saves downloads.
    pub downloads: PathBuf,
    /// chromedriver's port.
    driver_port: u16,
    http: reqwest::Client,
}

fn tamsa(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tamsa")).args(args).output().expect("run tamsa");
    assert!(
        output.status.success(),
        "tamsa {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl Env {
    /// Generates 3,000 customers, indexes them, creates a token, and starts the server and
    /// chromedriver.
    pub fn start() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name).to_str().expect("utf-8 path").to_owned();
        let (input, index, data) = (path("input"), path("index"), path("data"));
        tamsa(&["generate", "--out", &input, "--customers", "3000", "--seed", "1"]);
        tamsa(&["reindex", "--input", &input, "--index", &index]);
        let token = tamsa(&["token", "create", "browser-test", "--data", &data]).trim().to_owned();
        assert!(!token.is_empty(), "token create printed no token");

        let server_log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut server = Command::new(env!("CARGO_BIN_EXE_tamsa"))
            .args(["serve", "--index", &index, "--data", &data, "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(server_log)
            .spawn()
            .expect("start tamsa serve");
        let stdout = server.stdout.take().expect("stdout");
        let server = Guard(server);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading, so that the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            panic!(
                "tamsa serve printed no `listening on` line: {}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
            )
        });
        let base = base.trim_end_matches('/').to_owned();

        let driver_port = free_port();
        let driver_log = std::fs::File::create(dir.path().join("chromedriver.log")).expect("log file");
        let driver = Guard(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(driver_log)
                .spawn()
                .expect("start chromedriver"),
        );
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not listen on port {driver_port}");
            std::thread::sleep(POLL);
        }
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads dir");
        Env {
            base,
            token,
            downloads,
            driver_port,
            http: reqwest::Client::new(),
            _server: server,
            _driver: driver,
            dir,
        }
    }

    /// The server's and chromedriver's logs, for a failure message.
    pub fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let tail = |text: String| {
            text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
        };
        format!(
            "--- server log (tail) ---\n{}\n--- chromedriver log (tail) ---\n{}",
            tail(read("server.log")),
            tail(read("chromedriver.log"))
        )
    }

    /// `GET` an API path; the JSON answer and status.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// `POST` JSON to an API path.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body)).await
    }

    /// The error message the API answers for a request, which must fail.
    pub async fn error_of(&self, request: reqwest::RequestBuilder) -> Result<String> {
        let response = request.send().await?;
        if response.status().is_success() {
            bail!("expected an error answer, got {}", response.status());
        }
        let body: Value = response.json().await?;
        body["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no error message in {body}"))
    }

    /// A request builder for anything else.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value> {
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.context("a JSON answer")?;
        if !status.is_success() {
            bail!("API answered {status}: {body}");
        }
        Ok(body)
    }
}

/// The page in headless Chromium.
pub struct Page {
    pub client: Client,
}

impl Page {
    /// Starts a browser session and opens the UI.
    pub async fn open(env: &Env) -> Page {
        let profile = env.dir.path().join("chromium-profile");
        let options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=ko-KR",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": env.downloads.to_str().expect("utf-8 path"),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            },
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", env.driver_port))
            .await
            .unwrap_or_else(|e| panic!("start a Chromium session: {e}\n{}", env.logs()));
        client.goto(&env.base).await.expect("open the UI");
        // Collect script errors, which the flow checks for at its end.
        client
            .execute(
                "window.__errors = []; \
                 addEventListener('error', (e) => __errors.push(String(e.message))); \
                 addEventListener('unhandledrejection', (e) => __errors.push(String(e.reason)));",
                vec![],
            )
            .await
            .expect("install an error listener");
        Page { client }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Runs a script (a function body with `arguments`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client.execute(script, args).await.with_context(|| format!("run script {script}"))
    }

    /// Waits until a script returns something other than null, false or undefined.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Result<Value> {
        let started = Instant::now();
        loop {
            let value = self.js(script, args.clone()).await?;
            if !matches!(value, Value::Null | Value::Bool(false)) {
                return Ok(value);
            }
            if started.elapsed() > WAIT {
                bail!("timed out waiting for {what}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element a CSS selector names, once it is there.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("find {css}"))
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        self.retry(css, |element| async move { element.click().await })
            .await
            .with_context(|| format!("click {css}"))
    }

    /// Replaces an input's text, as typing would.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        self.retry(css, |element| async move {
            element.clear().await?;
            element.send_keys(text).await
        })
        .await
        .with_context(|| format!("type into {css}"))
    }

    /// Acts on the element a selector names, finding it again when the page re-rendered it
    /// in between (a list refreshed, an editor redrawn).
    async fn retry<F, Fut>(&self, css: &str, act: F) -> Result<()>
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), CmdError>>,
    {
        let started = Instant::now();
        loop {
            match act(self.find(css).await?).await {
                Err(e)
                    if (e.is_stale_element_reference() || e.is_element_not_interactable())
                        && started.elapsed() < WAIT =>
                {
                    tokio::time::sleep(POLL).await;
                }
                other => return Ok(other?),
            }
        }
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    pub async fn attr(&self, css: &str, name: &str) -> Result<String> {
        self.find(css).await?.attr(name).await?.ok_or_else(|| anyhow!("{css} has no attribute {name}"))
    }

    /// Waits until an element's text is `want`.
    pub async fn wait_text(&self, css: &str, want: &str) -> Result<()> {
        let script = "const e = document.querySelector(arguments[0]); return e && e.textContent.trim() === arguments[1];";
        self.wait_js(&format!("{css} to read {want:?}"), script, vec![json!(css), json!(want)])
            .await
            .map(drop)
    }

    /// Waits until `count` elements match a selector.
    pub async fn wait_count(&self, css: &str, count: usize) -> Result<()> {
        let script = "return document.querySelectorAll(arguments[0]).length === arguments[1];";
        self.wait_js(&format!("{count} × {css}"), script, vec![json!(css), json!(count)]).await.map(drop)
    }

    /// Waits until the answer panel is in `state` (ready or error) for exactly `query`.
    pub async fn wait_answer(&self, query: &Value, state: &str) -> Result<()> {
        let script = r#"
            const a = document.querySelector('[data-testid="answer"]');
            return a && a.dataset.state === arguments[0] && a.dataset.query ? a.dataset.query : null;"#;
        let started = Instant::now();
        loop {
            let shown =
                self.wait_js(&format!("an answer in state {state}"), script, vec![json!(state)]).await?;
            let shown: Value = serde_json::from_str(shown.as_str().unwrap_or("null"))?;
            if &shown == query {
                return Ok(());
            }
            if started.elapsed() > WAIT {
                bail!("the answer shows query {shown}, not {query}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(path, png)?;
        Ok(())
    }
}

/// 1,234: digits grouped by thousands, as the page shows counts.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
