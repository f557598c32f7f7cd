//! Crashes and cancellation: SIGKILL mid-upload leaves an honest, intact history and the next
//! deploy sends only what is missing; Ctrl-C cancels and publishes nothing; two deploys of one
//! site at once are refused, never interleaved. On this computer, and on cloud platforms
//! through the emulator (whose latency faults make an upload slow enough to interrupt at a
//! known point).

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use sitedrop_e2e::{fetch, history, EmulatorProcess, Sandbox};

/// A folder big enough that uploading it takes a moment: `n` files of random bytes.
fn big_site(sb: &Sandbox, name: &str, n: usize, size: usize) -> std::path::PathBuf {
    let dir = sb.folder(name, &[("index.html", b"<h1>big</h1>")]);
    // One buffer of noise, made distinct per file by its first bytes (distinct digests).
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut buf = vec![0u8; size];
    for chunk in buf.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    for i in 0..n {
        buf[..8].copy_from_slice(&(i as u64).to_le_bytes());
        std::fs::write(dir.join(format!("media-{i:03}.bin")), &buf).unwrap();
    }
    dir
}

/// Spawns `sitedrop deploy --json` to this computer and streams its JSON events.
fn spawn_deploy(
    sb: &Sandbox,
    folder: &std::path::Path,
) -> (Child, mpsc::Receiver<serde_json::Value>) {
    spawn_deploy_to(sb, folder, "local")
}

/// Spawns `sitedrop deploy --json` to `platform` and streams its JSON events.
fn spawn_deploy_to(
    sb: &Sandbox,
    folder: &std::path::Path,
    platform: &str,
) -> (Child, mpsc::Receiver<serde_json::Value>) {
    let mut child = sb
        .cli()
        .args([
            "deploy",
            folder.to_str().unwrap(),
            "--to",
            platform,
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    (child, rx)
}

/// Waits for upload progress showing at least `files` files stored but not all bytes sent.
fn wait_mid_upload(rx: &mpsc::Receiver<serde_json::Value>, files: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("upload progress in time");
        if v["event"] == "uploading"
            && v["files_done"].as_u64() >= Some(files)
            && v["bytes_done"].as_u64() > Some(0)
            && v["bytes_done"].as_u64() < v["bytes_total"].as_u64()
        {
            return v;
        }
        assert_ne!(
            v["event"], "done",
            "the deploy finished before it could be interrupted"
        );
    }
}

#[test]
fn sigkill_mid_upload_leaves_an_intact_honest_history_and_resume_sends_only_the_rest() {
    let sb = Sandbox::new();
    let folder = big_site(&sb, "crashy", 120, 4 * 1024 * 1024);
    let (mut child, rx) = spawn_deploy(&sb, &folder);
    let seen = wait_mid_upload(&rx, 5);
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    // The database is intact and the row tells the truth on the next start.
    let db = rusqlite_check(&sb.data.join("sitedrop.db"));
    assert_eq!(db, "ok");
    let rows = history(&sb);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "interrupted", "{}", rows[0]);
    assert_eq!(rows[0]["phase"], "upload");

    // The next deploy sends only what the killed one had not finished.
    let again = sb.run(&[
        "deploy",
        folder.to_str().unwrap(),
        "--to",
        "local",
        "--json",
    ]);
    again.expect_code(0);
    let done = again.last_event();
    let total = done["files"].as_u64().unwrap();
    let uploaded = done["uploaded"].as_u64().unwrap();
    assert!(
        uploaded < total,
        "resumed upload sent {uploaded} of {total} files (killed at {seen})"
    );
    assert!(
        uploaded > 0,
        "the kill happened mid-upload, so something was left to send"
    );
}

#[test]
fn ctrl_c_mid_upload_cancels_and_publishes_nothing() {
    let sb = Sandbox::new();
    let folder = big_site(&sb, "cancelled", 120, 4 * 1024 * 1024);
    let (mut child, rx) = spawn_deploy(&sb, &folder);
    wait_mid_upload(&rx, 0);
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a cancelled deploy did not go live");
    let error = rx
        .try_iter()
        .find(|v| v["event"] == "error")
        .expect("an error event");
    assert_eq!(error["kind"], "cancelled");
    let rows = history(&sb);
    assert_eq!(rows[0]["status"], "cancelled");
    // Nothing is served: no deploy of this site was ever made current.
    assert!(!sb.data.join("local/sites/cancelled/current").exists());
}

/// Runs `PRAGMA integrity_check` with the sqlite3 the e2e crate links.
fn rusqlite_check(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

// ---- cloud platforms -----------------------------------------------------------------------

/// A sandbox pointed at `emu` with every platform's test credentials.
fn cloud_sandbox(emu: &EmulatorProcess) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    for (k, v) in [
        ("CLOUDFLARE_API_TOKEN", "sitedrop_test_token"),
        ("CLOUDFLARE_ACCOUNT_ID", "0123456789abcdef0123456789abcdef"),
        ("NETLIFY_AUTH_TOKEN", "sitedrop_test_token"),
        ("VERCEL_TOKEN", "sitedrop_test_token"),
    ] {
        sb.env.push((k.into(), v.into()));
    }
    emu.control(
        "POST",
        "config",
        Some(json!({"netlify_rate_limit_per_minute": 0})),
    );
    sb
}

/// The emulator's state entry for a project (`list` is e.g. `vercel.projects`).
fn project_state(
    emu: &EmulatorProcess,
    platform: &str,
    list: &str,
    name: &str,
) -> serde_json::Value {
    let state = emu.control("GET", "state", None);
    state[platform][list]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == name).cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// Vercel, uploads held a second each (50 in flight): killed once the first wave is stored.
/// The database is intact, the row says `interrupted`, nothing reached production, and the
/// next deploy uploads only the files the platform does not have yet.
#[test]
fn sigkill_mid_upload_to_vercel_then_resume_sends_only_the_rest() {
    let emu = EmulatorProcess::start(&[]);
    let sb = cloud_sandbox(&emu);
    let folder = big_site(&sb, "killed", 150, 4096);
    emu.control(
        "POST",
        "faults",
        Some(json!({"platform": "vercel", "path": "/v2/files", "latency_ms": 1000})),
    );
    let (mut child, rx) = spawn_deploy_to(&sb, &folder, "vercel");
    let seen = wait_mid_upload(&rx, 1);
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    assert_eq!(rusqlite_check(&sb.data.join("sitedrop.db")), "ok");
    let rows = history(&sb);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["phase"].as_str()),
        (Some("interrupted"), Some("upload")),
        "{}",
        rows[0]
    );
    let project = project_state(&emu, "vercel", "projects", "killed");
    assert!(
        project["production"].is_null()
            && project["deployments"].as_array().is_none_or(Vec::is_empty),
        "nothing was published: {project}"
    );

    emu.control("DELETE", "faults", None);
    let again = sb.run(&[
        "deploy",
        folder.to_str().unwrap(),
        "--to",
        "vercel",
        "--json",
    ]);
    again.expect_code(0);
    let done = again.last_event();
    let (total, uploaded) = (
        done["files"].as_u64().unwrap(),
        done["uploaded"].as_u64().unwrap(),
    );
    assert!(
        uploaded > 0 && uploaded < total,
        "resumed upload sent {uploaded} of {total} files (killed at {seen})"
    );
    let host = done["production_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("https://")
        .to_string();
    assert_eq!(fetch(emu.port, &host, "/index.html").2, b"<h1>big</h1>");
    let rows = history(&sb);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[1]["status"].as_str()),
        (Some("live"), Some("interrupted"))
    );
}

/// Netlify, uploads held half a second each (5 in flight): Ctrl-C mid-upload cancels, the row
/// says `cancelled`, and the site has no published deploy.
#[test]
fn ctrl_c_mid_upload_to_netlify_cancels_and_publishes_nothing() {
    let emu = EmulatorProcess::start(&[]);
    let sb = cloud_sandbox(&emu);
    let folder = big_site(&sb, "stopped", 40, 4096);
    emu.control(
        "POST",
        "faults",
        Some(json!({"platform": "netlify", "path": "/files/", "latency_ms": 500})),
    );
    let (mut child, rx) = spawn_deploy_to(&sb, &folder, "netlify");
    wait_mid_upload(&rx, 1);
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a cancelled deploy did not go live");
    let error = rx
        .try_iter()
        .find(|v| v["event"] == "error")
        .expect("an error event");
    assert_eq!(error["kind"], "cancelled");
    assert_eq!(
        error["message"],
        "The deploy was cancelled. Nothing was published."
    );
    assert_eq!(history(&sb)[0]["status"], "cancelled");
    let site = project_state(&emu, "netlify", "sites", "stopped");
    assert!(
        site["published_deploy"].is_null(),
        "nothing was published: {site}"
    );
    assert_eq!(fetch(emu.port, "stopped.netlify.app", "/").0, 404);
}

/// Cloudflare Pages: two deploys of the same folder at once. The second is refused at once
/// with a sentence; the first goes live; the platform saw exactly one deployment.
#[test]
fn a_second_deploy_of_the_same_site_is_refused_while_the_first_runs() {
    let emu = EmulatorProcess::start(&[]);
    let sb = cloud_sandbox(&emu);
    let folder = big_site(&sb, "twice", 10, 4096);
    emu.control(
        "POST",
        "faults",
        Some(json!({"platform": "cloudflare", "path": "/pages/assets/upload", "latency_ms": 2000})),
    );
    let (first, rx) = spawn_deploy_to(&sb, &folder, "cloudflare-pages");
    let deadline = Instant::now() + Duration::from_secs(60);
    while rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .expect("the first deploy starts uploading")["event"]
        != "uploading"
    {}
    let started = Instant::now();
    let second = sb.run(&[
        "deploy",
        folder.to_str().unwrap(),
        "--to",
        "cloudflare-pages",
        "--json",
    ]);
    second.expect_code(1);
    let refused = second.last_event();
    assert_eq!(refused["kind"], "deploy_in_progress", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("is already running. Wait for it to finish, then try again."),
        "{refused}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not queued behind"
    );

    let output = first.wait_with_output().unwrap();
    assert!(output.status.success(), "the first deploy went live");
    let done = rx.iter().find(|v| v["event"] == "done").expect("done");
    let rows = history(&sb);
    assert_eq!(
        rows.len(),
        1,
        "the refused deploy started nothing: {rows:?}"
    );
    assert_eq!(
        (rows[0]["status"].as_str(), &rows[0]["id"]),
        (Some("live"), &done["id"])
    );
    let project = project_state(&emu, "cloudflare", "pages_projects", "twice");
    assert_eq!(
        project["deployments"].as_array().map(Vec::len),
        Some(1),
        "one deployment, never two interleaved: {project}"
    );
}

/// Two deploys of a folder never deployed before, started in the same instant (both create
/// the site's record): exactly one goes live, the other is refused, the platform saw one.
#[test]
fn two_deploys_started_together_one_goes_live_and_the_other_is_refused() {
    let emu = EmulatorProcess::start(&[]);
    let sb = cloud_sandbox(&emu);
    let folder = big_site(&sb, "together", 10, 4096);
    emu.control(
        "POST",
        "faults",
        Some(json!({"platform": "cloudflare", "path": "/pages/assets/upload", "latency_ms": 1500})),
    );
    let spawn = || {
        sb.cli()
            .args([
                "deploy",
                folder.to_str().unwrap(),
                "--to",
                "cloudflare-pages",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut codes: Vec<i32> = outputs
        .iter()
        .map(|o| o.status.code().unwrap_or(-1))
        .collect();
    codes.sort();
    let all = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(codes, [0, 1], "{}\n{}", all(&outputs[0]), all(&outputs[1]));
    let refused = outputs.iter().find(|o| o.status.code() == Some(1)).unwrap();
    assert!(
        all(refused).contains("\"kind\":\"deploy_in_progress\""),
        "{}",
        all(refused)
    );
    let rows = history(&sb);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "live");
    let project = project_state(&emu, "cloudflare", "pages_projects", "together");
    assert_eq!(
        project["deployments"].as_array().map(Vec::len),
        Some(1),
        "{project}"
    );
}
