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
        let run = Run(self.cli().args(args).output().expect("run sitedrop"));
        keep_output(&run);
        run
    }
}

/// With `SITEDROP_TEST_ARTIFACTS=DIR` (set by `make test`), every CLI output and every
/// sandbox's history database are kept under DIR, so `scripts/check-no-secrets.sh` can check
/// after the whole run that no credential reached them.
fn artifacts(kind: &str) -> Option<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let root = std::env::var_os("SITEDROP_TEST_ARTIFACTS")?;
    let dir = PathBuf::from(root).join(kind);
    std::fs::create_dir_all(&dir).ok()?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Some(dir.join(format!("{}-{n}", std::process::id())))
}

fn keep_output(run: &Run) {
    if let Some(base) = artifacts("outputs") {
        let _ = std::fs::write(base.with_extension("stdout"), &run.0.stdout);
        let _ = std::fs::write(base.with_extension("stderr"), &run.0.stderr);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let Some(dest) = artifacts("data") else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(&self.data) else {
            return;
        };
        let _ = std::fs::create_dir_all(&dest);
        for entry in entries.flatten() {
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text.starts_with("sitedrop.db") || text.ends_with(".log") {
                let _ = std::fs::copy(entry.path(), dest.join(&name));
            }
        }
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

/// The emulator binary, started on a free port; killed on drop.
pub struct EmulatorProcess {
    child: std::process::Child,
    pub port: u16,
    /// With `--tls`: the CA certificate it names on its second line.
    pub ca_file: Option<PathBuf>,
}

impl EmulatorProcess {
    /// Starts `sitedrop-emulator --port 0 ARGS…` and waits for its `listening on` line (and,
    /// with `--tls`, the `ca certificate PATH` line after it).
    pub fn start(args: &[&str]) -> EmulatorProcess {
        use std::io::BufRead;
        let mut child = Command::new(bin("sitedrop-emulator"))
            .args(["--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start the emulator");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("read the first line");
        let tls = args.contains(&"--tls");
        let prefix = if tls {
            "listening on https://127.0.0.1:"
        } else {
            "listening on http://127.0.0.1:"
        };
        let port = first
            .trim()
            .strip_prefix(prefix)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the emulator: {first:?}"));
        let ca_file = tls.then(|| {
            let mut second = String::new();
            stdout.read_line(&mut second).expect("read the second line");
            second
                .trim()
                .strip_prefix("ca certificate ")
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("unexpected second line from the emulator: {second:?}"))
        });
        EmulatorProcess {
            child,
            port,
            ca_file,
        }
    }

    /// The control API and live sites: plain HTTP, also with `--tls`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the CLI at this emulator with its default credentials
    /// (over HTTPS, trusting its CA through `SSL_CERT_FILE`, when it runs with `--tls`).
    pub fn env(&self) -> Vec<(String, String)> {
        let base = match self.ca_file {
            Some(_) => format!("https://127.0.0.1:{}", self.port),
            None => self.url(),
        };
        let mut env: Vec<(String, String)> = [
            ("SITEDROP_SITE_RESOLVE", format!("127.0.0.1:{}", self.port)),
            ("CLOUDFLARE_API_BASE_URL", format!("{base}/client/v4")),
            ("NETLIFY_API_URL", format!("{base}/api/v1")),
            ("VERCEL_API_URL", base.clone()),
            ("AWS_ENDPOINT_URL_AMPLIFY", base.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(ca) = &self.ca_file {
            env.push(("SSL_CERT_FILE".into(), ca.display().to_string()));
        }
        env
    }

    /// Sends a control request (`/_emulator/...`) with an optional JSON body.
    pub fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let client = reqwest::blocking::Client::new();
        let url = format!("{}/_emulator/{path}", self.url());
        let req = match method {
            "POST" => client.post(url),
            "DELETE" => client.delete(url),
            _ => client.get(url),
        };
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let resp = req.send().expect("control request");
        resp.json().unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for EmulatorProcess {
    /// Stops the emulator with SIGTERM, so it removes its state folder (uploaded blobs) as it
    /// exits; SIGKILL only if it has not gone within a few seconds. (Killing it outright left
    /// a `sitedrop-emulator-*` folder in the temp dir for every test.)
    fn drop(&mut self) {
        // SAFETY: signalling our own child process, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sitedrop serve` in the background for a sandbox's local-sites port; stopped on drop.
pub struct Serving(std::process::Child);

impl Serving {
    pub fn start(sb: &Sandbox) -> Serving {
        let child = sb
            .cli()
            .args(["serve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve");
        let serving = Serving(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", sb.local_port)).is_ok() {
                return serving;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("sitedrop serve did not start");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The history as `sitedrop history --json` prints it, newest first.
pub fn history(sb: &Sandbox) -> Vec<serde_json::Value> {
    let run = sb.run(&["history", "--json"]);
    run.expect_code(0);
    serde_json::from_str::<serde_json::Value>(run.stdout().trim())
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// Runs the CLI as an unprivileged user (`nobody`) when the tests run as root, where file
/// permissions would not stop reads; the sandbox is opened up so `nobody` can use it.
pub fn run_unprivileged(sb: &Sandbox, args: &[&str]) -> Run {
    use std::os::unix::fs::PermissionsExt;
    let mut cmd = sb.cli();
    cmd.args(args);
    if is_root() {
        std::fs::set_permissions(sb.root.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        wrapped.env("HOME", sb.root.path());
        cmd = wrapped;
    }
    let run = Run(cmd.output().expect("run"));
    keep_output(&run);
    run
}
