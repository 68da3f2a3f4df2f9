//! A real browser for tests of the pages people open: headless Chromium driven over WebDriver (the
//! W3C protocol is JSON over HTTP, so the test's HTTP client speaks it). Needs Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them and sets `LINERNOTES_REQUIRE_TOOLS=1`, which turns
//! their absence into a failure. Elsewhere a missing browser skips the test with a notice.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};

/// The WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session; the browser and its driver end when this is dropped.
pub struct Browser {
    driver: Child,
    endpoint: String,
    http: reqwest::Client,
    profile: std::path::PathBuf,
}

impl Browser {
    /// Starts one, or `None` (with a notice) when Chromium or its driver is not installed and the run
    /// does not require them.
    pub async fn start() -> Option<Self> {
        let installed = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .iter()
            .all(|p| std::path::Path::new(p).exists());
        if !installed {
            assert!(
                std::env::var_os("LINERNOTES_REQUIRE_TOOLS").is_none(),
                "LINERNOTES_REQUIRE_TOOLS is set but chromium and chromium-driver are not installed"
            );
            eprintln!("browser tests skipped: install chromium and chromium-driver (see .ci/run)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let output = driver.stdout.take().expect("driver output");
        // The driver says when it listens; read its output until then.
        tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            std::io::BufReader::new(output)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.contains("started successfully"))
        })
        .await
        .expect("reading the driver's output")
        .then_some(())
        .expect("chromedriver started");
        let profile =
            std::env::temp_dir().join(format!("linernotes-chromium-{}", uuid::Uuid::new_v4()));
        let mut browser = Self {
            driver,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            profile,
        };
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run",
                         format!("--user-data-dir={}", browser.profile.display())]
            }
        }}});
        let session = browser.call("POST", "/session", Some(capabilities)).await;
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {session}"))
            .to_owned();
        browser.endpoint = format!("{}/session/{id}", browser.endpoint);
        Some(browser)
    }

    /// One WebDriver command; its `value`.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.endpoint));
        request = request.json(&body.unwrap_or_else(|| json!({})));
        let answer: Value = request
            .send()
            .await
            .expect("WebDriver answers")
            .json()
            .await
            .expect("WebDriver JSON");
        answer["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    /// The element matching `css`, or the WebDriver's answer when there is none.
    async fn find(&self, css: &str) -> Result<String, Value> {
        let found = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        match found[ELEMENT].as_str() {
            Some(element) => Ok(element.to_owned()),
            None => Err(found),
        }
    }

    async fn element(&self, css: &str) -> String {
        self.find(css)
            .await
            .unwrap_or_else(|found| panic!("no element {css}: {found}"))
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Clicks the element matching `css` (a submit button then loads the next page).
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.call("POST", &format!("/element/{element}/click"), None)
            .await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        self.call("GET", &format!("/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The visible text of the element matching `css` once it reads `expected`, or what it read last
    /// when half a minute passed first. A click on a submit button returns before the next page has
    /// loaded, so the page read right after it may still be the old one (or none, mid-navigation).
    pub async fn text_once_it_reads(&self, css: &str, expected: &str) -> String {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(element) = self.find(css).await {
                let text = self
                    .call("GET", &format!("/element/{element}/text"), None)
                    .await;
                last = text.as_str().unwrap_or_default().to_owned();
                if last == expected {
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        last
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; the driver is then stopped.
        let endpoint = self.endpoint.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(async {
                    let _ = reqwest::Client::new().delete(&endpoint).send().await;
                });
            }
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
