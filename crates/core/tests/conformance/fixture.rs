//! A platform under test: the engine, a data folder, and (for the five clouds) the emulator.
// Shared by every platform module; the offline local target uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sitedrop_core::config::Env;
use sitedrop_core::progress::Progress;
use sitedrop_core::secrets::MemoryKeychain;
use sitedrop_core::{
    CancellationToken, DeployOutcome, DeployRequest, Engine, EngineConfig, Platform, ProgressSink,
};
use sitedrop_emulator::{Config, Emulator};

/// How one platform plugs into the suite.
#[derive(Clone, Copy)]
pub struct PlatformSpec {
    pub platform: Platform,
    /// A substring of the path of the requests that carry file contents (to count and fault them).
    pub upload_path: &'static str,
    /// The emulator's name for the platform in faults and the request log.
    pub emulator_platform: &'static str,
    /// The environment variable holding the credential. Empty for a cloud platform means "no
    /// credentials at all": the fixture leaves the platform's token out of the environment
    /// (Netlify then deploys without an account).
    pub token_var: &'static str,
    /// The per-file size limit the platform enforces, if any.
    pub max_file_size: Option<u64>,
    /// Whether deploys send only what the platform lacks (digest-keyed uploads). `false`:
    /// every deploy sends the whole site in one archive (Amplify's zip).
    pub incremental: bool,
    /// Whether an earlier deploy can be made production again. `false`: rollback is refused
    /// with a sentence (`unsupported`) and production stays as it was.
    pub rollback: bool,
    /// Whether the emulator speaks HTTPS (HTTP/2 by ALPN) and the engine trusts its CA through
    /// `SSL_CERT_FILE`. Every API request of a TLS fixture's deploys is checked to have gone
    /// over TLS and HTTP/2 ([`Fixture::deploy_request`]).
    pub tls: bool,
}

/// One test's world.
pub struct Fixture {
    pub spec: PlatformSpec,
    pub emulator: Option<Emulator>,
    pub data: tempfile::TempDir,
    pub env: Env,
    engine: Option<Engine>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Fixture {
    pub async fn new(spec: PlatformSpec) -> Fixture {
        Fixture::with_config(spec, Config::default()).await
    }

    pub async fn with_config(spec: PlatformSpec, mut config: Config) -> Fixture {
        config.tls = spec.tls;
        let local_port = free_port();
        let mut pairs: Vec<(String, String)> =
            vec![("SITEDROP_LOCAL_PORT".into(), local_port.to_string())];
        let emulator = if spec.platform == Platform::Local {
            None
        } else {
            let emu = Emulator::start(config).await.expect("emulator starts");
            let base = emu.url();
            pairs.extend(
                [
                    ("SITEDROP_SITE_RESOLVE", format!("127.0.0.1:{}", emu.port())),
                    ("CLOUDFLARE_API_BASE_URL", format!("{base}/client/v4")),
                    ("CLOUDFLARE_API_TOKEN", "sitedrop_test_token".into()),
                    (
                        "CLOUDFLARE_ACCOUNT_ID",
                        "0123456789abcdef0123456789abcdef".into(),
                    ),
                    ("NETLIFY_API_URL", format!("{base}/api/v1")),
                    ("NETLIFY_AUTH_TOKEN", "sitedrop_test_token".into()),
                    ("VERCEL_API_URL", base.clone()),
                    ("VERCEL_TOKEN", "sitedrop_test_token".into()),
                    ("AWS_ENDPOINT_URL_AMPLIFY", base.clone()),
                    ("AWS_ACCESS_KEY_ID", "AKIDSITEDROPTEST".into()),
                    ("AWS_SECRET_ACCESS_KEY", "sitedrop-test-secret".into()),
                    ("AWS_REGION", "us-east-1".into()),
                ]
                .map(|(k, v)| (k.to_string(), v)),
            );
            if let Some(ca) = emu.ca_file() {
                pairs.push(("SSL_CERT_FILE".into(), ca.display().to_string()));
            }
            if spec.token_var.is_empty() {
                let unset = spec.platform.descriptor().secret_vars;
                pairs.retain(|(k, _)| k != unset);
            }
            Some(emu)
        };
        let fx = Fixture {
            spec,
            emulator,
            data: tempfile::tempdir().unwrap(),
            env: Env::from_pairs(pairs),
            engine: None,
        };
        // The real Netlify limit (500 requests a minute, uploads included) would throttle the
        // suite's many small deploys; the rate-limit behaviour has its own tests.
        fx.configure(json!({"netlify_rate_limit_per_minute": 0}))
            .await;
        fx
    }

    /// The engine, opened once with this fixture's environment and an in-memory keychain.
    pub fn engine(&mut self) -> Engine {
        if self.engine.is_none() {
            self.engine = Some(self.fresh_engine());
        }
        self.engine.clone().unwrap()
    }

    /// An engine with the current environment (after [`Fixture::set_env`]).
    pub fn fresh_engine(&self) -> Engine {
        let retry = sitedrop_core::retry::RetryPolicy {
            base: std::time::Duration::from_millis(50),
            ..Default::default()
        };
        Engine::open(EngineConfig {
            env: self.env.clone(),
            data_dir: Some(self.data.path().to_path_buf()),
            secrets: Arc::new(MemoryKeychain::default()),
            retry,
        })
        .unwrap()
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.set(name, value);
        self.engine = None;
    }

    pub async fn deploy(&mut self, folder: &Path) -> sitedrop_core::Result<DeployOutcome> {
        self.deploy_request(DeployRequest::new(folder, self.spec.platform))
            .await
    }

    pub async fn deploy_request(
        &mut self,
        request: DeployRequest,
    ) -> sitedrop_core::Result<DeployOutcome> {
        let outcome = self
            .engine()
            .deploy(request, quiet(), CancellationToken::new())
            .await;
        if self.spec.tls {
            self.assert_api_over_tls_and_h2().await;
        }
        outcome
    }

    /// Every API request logged since the last clear came over TLS as HTTP/2 (sites, fetched
    /// by the test over plain HTTP with their Host header, are not API requests).
    pub async fn assert_api_over_tls_and_h2(&self) {
        let api: Vec<Value> = self
            .requests()
            .await
            .into_iter()
            .filter(|r| r["site"] == json!(false))
            .collect();
        let wrong: Vec<String> = api
            .iter()
            .filter(|r| r["tls"] != json!(true) || r["version"] != json!("HTTP/2.0"))
            .map(|r| {
                format!(
                    "{} {} {} tls={}",
                    r["method"], r["path"], r["version"], r["tls"]
                )
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "API requests not over TLS + HTTP/2: {wrong:#?}"
        );
    }

    /// GETs `path` from a published address: through the emulator (Host header kept), or
    /// from this computer's local server.
    pub async fn fetch(&self, url: &str, path: &str) -> (u16, String, Vec<u8>) {
        let parsed = url::Url::parse(url).unwrap();
        let host = parsed.host_str().unwrap().to_string();
        let (port, host_header) = match &self.emulator {
            Some(emu) => (emu.port(), host),
            None => (
                parsed.port().unwrap(),
                format!("{host}:{}", parsed.port().unwrap()),
            ),
        };
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("http://127.0.0.1:{port}{path}"))
            .header("host", host_header)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ctype, resp.bytes().await.unwrap().to_vec())
    }

    fn control(&self, path: &str) -> Option<String> {
        self.emulator
            .as_ref()
            .map(|e| format!("{}/_emulator/{path}", e.plain_url()))
    }

    /// Adds an emulator fault (no-op for the local target).
    pub async fn fault(&self, fault: Value) {
        if let Some(url) = self.control("faults") {
            let resp = reqwest::Client::new()
                .post(url)
                .json(&fault)
                .send()
                .await
                .unwrap();
            assert!(
                resp.status().is_success(),
                "fault refused: {}",
                resp.text().await.unwrap()
            );
        }
    }

    pub async fn clear_faults(&self) {
        if let Some(url) = self.control("faults") {
            reqwest::Client::new().delete(url).send().await.unwrap();
        }
    }

    /// Patches the emulator's knobs.
    pub async fn configure(&self, knobs: Value) {
        if let Some(url) = self.control("config") {
            let resp = reqwest::Client::new()
                .post(url)
                .json(&knobs)
                .send()
                .await
                .unwrap();
            assert!(
                resp.status().is_success(),
                "config refused: {}",
                resp.text().await.unwrap()
            );
        }
    }

    /// The emulator's request log since the last [`Fixture::clear_requests`].
    pub async fn requests(&self) -> Vec<Value> {
        match self.control("requests") {
            Some(url) => reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
                .as_array()
                .cloned()
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// The emulator's state dump (`/_emulator/state`).
    pub async fn state(&self) -> Value {
        match self.control("state") {
            Some(url) => reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap(),
            None => Value::Null,
        }
    }

    pub async fn clear_requests(&self) {
        if let Some(url) = self.control("requests") {
            reqwest::Client::new().delete(url).send().await.unwrap();
        }
    }

    /// Requests that carried file contents and succeeded.
    pub async fn uploads(&self) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(self.spec.upload_path))
            })
            .filter(|r| r["status"].as_u64().is_some_and(|s| s < 300))
            .count()
    }
}

/// A progress sink that keeps nothing.
pub fn quiet() -> ProgressSink {
    Arc::new(|_| {})
}

/// A progress sink that records every event.
pub fn recorder() -> (ProgressSink, Arc<Mutex<Vec<Progress>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    (Arc::new(move |p| e.lock().unwrap().push(p)), events)
}

/// Writes files into a new temporary folder named `name` (the folder name becomes the project
/// name, so tests stay apart).
pub fn site(name: &str, files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (rel, body) in files {
        write(&dir, rel, body);
    }
    (parent, dir)
}

pub fn write(root: &Path, rel: &str, body: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}
