//! Crashes and cancellation: SIGKILL mid-upload leaves an honest, intact history and the next
//! deploy sends only what is missing; Ctrl-C cancels and publishes nothing.

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sitedrop_e2e::{history, Sandbox};

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

/// Spawns `sitedrop deploy --json` and streams its JSON events.
fn spawn_deploy(
    sb: &Sandbox,
    folder: &std::path::Path,
) -> (Child, mpsc::Receiver<serde_json::Value>) {
    let mut child = sb
        .cli()
        .args([
            "deploy",
            folder.to_str().unwrap(),
            "--to",
            "local",
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
