//! One deploy by the release `sitedrop` binary, as a person would run it: timed from spawn to
//! exit, its peak resident memory read from the kernel (`wait4`'s `ru_maxrss`), and the
//! moments its `--json` progress names each phase.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What one deploy measured.
#[derive(Debug, Clone, Default)]
pub struct DeployRun {
    pub wall: Duration,
    /// Peak resident set of the deploying process, in bytes.
    pub max_rss: u64,
    /// CPU time (user + system) of the deploying process, and of the emulator meanwhile.
    pub cpu: Duration,
    pub server_cpu: Duration,
    /// When each phase began, from spawn (`scan`, `hash`, `prepare`, `upload`, `finish`,
    /// `verify`, `done`).
    pub phases: Vec<(String, Duration)>,
    /// Files and bytes the deploy uploaded (its `done` event).
    pub uploaded: u64,
    pub bytes_uploaded: u64,
    pub files: u64,
    pub error: Option<String>,
}

impl DeployRun {
    pub fn phase_at(&self, name: &str) -> Option<Duration> {
        self.phases.iter().find(|(p, _)| p == name).map(|(_, t)| *t)
    }

    /// From one phase's start to the next's.
    pub fn phase_span(&self, from: &str, to: &str) -> Option<Duration> {
        Some(self.phase_at(to)?.saturating_sub(self.phase_at(from)?))
    }
}

/// Runs `sitedrop deploy <folder> --to <platform> --project <project> --json`.
pub fn deploy(
    sitedrop: &Path,
    folder: &Path,
    platform: &str,
    project: &str,
    data_dir: &Path,
    env: &[(String, String)],
) -> DeployRun {
    let started = Instant::now();
    let mut command = Command::new(sitedrop);
    command
        .args(["deploy"])
        .arg(folder)
        .args(["--to", platform, "--project", project, "--json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", data_dir)
        .env("SITEDROP_DATA_DIR", data_dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return DeployRun {
                error: Some(format!("could not run {}: {e}", sitedrop.display())),
                ..Default::default()
            }
        }
    };
    let pid = child.id() as libc::pid_t;
    let stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
        }
        text
    });
    let mut run = DeployRun::default();
    let mut last_error = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let at = started.elapsed();
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            match event["event"].as_str() {
                Some("phase") => {
                    if let Some(p) = event["phase"].as_str() {
                        run.phases.push((p.to_string(), at));
                    }
                }
                Some("done") => {
                    run.files = event["files"].as_u64().unwrap_or(0);
                    run.uploaded = event["uploaded"].as_u64().unwrap_or(0);
                    run.bytes_uploaded = event["bytes_uploaded"].as_u64().unwrap_or(0);
                }
                Some("error") => last_error = Some(line.clone()),
                _ => {}
            }
        }
    }
    let (status, rusage) = wait4(pid);
    run.wall = started.elapsed();
    run.max_rss = rusage.ru_maxrss.max(0) as u64 * 1024;
    let tv =
        |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, t.tv_usec.max(0) as u32 * 1000);
    run.cpu = tv(rusage.ru_utime) + tv(rusage.ru_stime);
    let stderr = err_reader.join().unwrap_or_default();
    if status != 0 {
        run.error = Some(
            last_error
                .unwrap_or_else(|| format!("exit status {status}: {}", stderr.trim()))
                .chars()
                .take(400)
                .collect(),
        );
    }
    // The child was reaped by wait4; make sure std does not try again.
    std::mem::forget(child);
    run
}

/// Waits for `pid` and returns its exit status and resource usage.
fn wait4(pid: libc::pid_t) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: `rusage` is plain data the kernel fills in; `pid` is our own child, not yet
    // reaped (std only reaps in `wait`, which is never called for it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return (-1, usage);
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, usage)
}
