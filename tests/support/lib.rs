//! Helpers shared by the end-to-end tests: find the built binaries, give each test its own data
//! folder and ports, run the CLI and read its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A binary built by `cargo build` in this workspace (`target/<profile>/<name>`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One test's world: a data folder, a local-sites port and environment for the CLI.
pub struct Sandbox {
    pub root: tempfile::TempDir,
    pub data: PathBuf,
    pub local_port: u16,
    pub env: Vec<(String, String)>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        let data = root.path().join("data");
        let local_port = free_port();
        Sandbox {
            data,
            local_port,
            env: Vec::new(),
            root,
        }
    }

    /// A new folder under the sandbox with the given files.
    pub fn folder(&self, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let dir = self.root.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (rel, body) in files {
            write(&dir, rel, body);
        }
        dir
    }

    /// The `sitedrop` command with this sandbox's environment (and nothing inherited that
    /// could point it at a real account).
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(bin("sitedrop"));
        for var in [
            "CLOUDFLARE_API_TOKEN",
            "CLOUDFLARE_ACCOUNT_ID",
            "NETLIFY_AUTH_TOKEN",
            "VERCEL_TOKEN",
            "VERCEL_ORG_ID",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("SITEDROP_DATA_DIR", &self.data)
            .env("SITEDROP_LOCAL_PORT", self.local_port.to_string());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the CLI with arguments and returns its output.
    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.cli().args(args).output().expect("run sitedrop"))
    }
}

/// A finished CLI run.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// The JSON lines on stdout.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
    /// The last JSON line: the `done` or `error` event.
    pub fn last_event(&self) -> serde_json::Value {
        self.events().pop().unwrap_or(serde_json::Value::Null)
    }
    /// Panics with both streams when the exit code is not `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

pub fn write(root: &Path, rel: &str, body: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, body).expect("write");
}

/// GETs `path` from a server on 127.0.0.1:`port` as the site `host` (the Host header keeps the
/// name, as a browser resolving `*.localhost` or the platform's domain would send it).
pub fn fetch(port: u16, host: &str, path: &str) -> (u16, String, Vec<u8>) {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", host)
        .send()
        .expect("GET");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ctype, resp.bytes().expect("body").to_vec())
}

/// True when the tests run as root, where file permissions do not stop reads.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
