//! The emulator as a child process: started fresh for every cold deploy (so the platform
//! holds nothing yet), its request log read after each deploy, stopped and wiped afterwards.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running emulator.
pub struct Emulator {
    child: Child,
    pub port: u16,
    state_dir: PathBuf,
    client: reqwest::Client,
}

/// Knobs for big benchmarks: rate limits and quotas that would stop a 20,000-file deploy are
/// lifted, as a paid plan would lift them. The protocol checks all stay on.
pub const KNOBS: &str = r#"{
    "netlify_rate_limit_per_minute": 0,
    "vercel_plan": "pro",
    "vercel_daily_upload_quota": 1000000
}"#;

impl Emulator {
    /// Starts `binary` on a free port with its state under `state_dir` (created, and removed
    /// again by [`Emulator::stop`]).
    pub fn start(binary: &Path, state_dir: &Path) -> std::io::Result<Emulator> {
        std::fs::create_dir_all(state_dir)?;
        let mut child = Command::new(binary)
            .args(["--port", "0", "--knobs", KNOBS, "--state-dir"])
            .arg(state_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        let port = first
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("emulator said {first:?}")))?;
        // Keep reading, so the emulator never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Emulator {
            child,
            port,
            state_dir: state_dir.to_path_buf(),
            client: reqwest::Client::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Forgets the request log.
    pub async fn clear_log(&self) {
        let _ = self
            .client
            .delete(self.url("/_emulator/requests"))
            .send()
            .await;
    }

    /// What the log holds since it was last cleared.
    pub async fn requests(&self) -> Requests {
        let log: Vec<Value> = match self
            .client
            .get(self.url("/_emulator/requests"))
            .send()
            .await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut out = Requests::default();
        for e in &log {
            if e["site"].as_bool() == Some(true) {
                out.site += 1;
            } else {
                out.api += 1;
            }
            out.body_bytes += e["body_size"].as_u64().unwrap_or(0);
            if e["status"].as_u64() == Some(429) {
                out.throttled += 1;
            }
        }
        out
    }

    /// CPU time (user + system) the emulator has used so far, from `/proc/PID/stat`.
    pub fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at field 3.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<u64> = rest
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_nanos(ticks * 1_000_000_000 / per_sec)
    }

    /// Stops the process and removes its state.
    pub fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Requests one deploy sent, from the emulator's log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requests {
    /// API calls and uploads.
    pub api: u64,
    /// Requests to the live site (verification).
    pub site: u64,
    /// Bytes of request bodies received.
    pub body_bytes: u64,
    /// Answers that were 429.
    pub throttled: u64,
}

/// The environment that points a `sitedrop` process at the emulator.
pub fn client_env(port: u16) -> Vec<(String, String)> {
    let base = format!("http://127.0.0.1:{port}");
    [
        ("CLOUDFLARE_API_BASE_URL", format!("{base}/client/v4")),
        ("NETLIFY_API_URL", format!("{base}/api/v1")),
        ("VERCEL_API_URL", base.clone()),
        ("AWS_ENDPOINT_URL_AMPLIFY", base.clone()),
        ("SITEDROP_SITE_RESOLVE", format!("127.0.0.1:{port}")),
        ("CLOUDFLARE_API_TOKEN", "sitedrop_test_token".into()),
        (
            "CLOUDFLARE_ACCOUNT_ID",
            "0123456789abcdef0123456789abcdef".into(),
        ),
        ("NETLIFY_AUTH_TOKEN", "sitedrop_test_token".into()),
        ("VERCEL_TOKEN", "sitedrop_test_token".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDSITEDROPTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "sitedrop-test-secret".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
