//! Change-to-live latency while watching: edit one file of a large site, time until the live
//! address serves the new bytes. The settle window (debounce + quiet time) is part of the
//! figure by design; what matters is how far beyond it the site goes live.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sitedrop_core::config::Env;
use sitedrop_core::progress::no_progress;
use sitedrop_core::secrets::MemoryKeychain;
use sitedrop_core::watch::{WatchEvent, WatchOptions};
use sitedrop_core::{CancellationToken, DeployRequest, Engine, EngineConfig, Platform};
use tokio::sync::mpsc;

/// The result: every edit's latency, and the settle window it includes; then what the watch
/// cost while nothing changed.
pub struct Latency {
    pub samples: Vec<Duration>,
    pub settle: Duration,
    pub files: usize,
    /// How long the watch was left idle after the last edit went live.
    pub idle: Duration,
    /// The CPU time (user + system) this process used meanwhile: the watch, the idle local
    /// server and the runtime, nothing else runs in it.
    pub idle_cpu: Duration,
    /// Watch events seen meanwhile (none is right: no change was made).
    pub idle_events: usize,
}

/// Copies `site` to a scratch folder (edits must not touch the generated site), deploys it to
/// this computer, watches it, and times `edits` edits; then leaves it idle for `idle`.
pub async fn measure(site: &Path, edits: usize, idle: Duration) -> Latency {
    let scratch = std::env::temp_dir().join(format!("sitedrop-bench-watch-{}", std::process::id()));
    let folder = scratch.join("watched-docs");
    copy_tree(site, &folder).expect("copy the site");
    let files = crate::sites::walk(&folder).map(|f| f.len()).unwrap_or(0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let engine = Engine::open(EngineConfig {
        env: Env::from_pairs([("SITEDROP_LOCAL_PORT", port.to_string())]),
        data_dir: Some(scratch.join("data")),
        secrets: Arc::new(MemoryKeychain::default()),
        retry: Default::default(),
    })
    .expect("engine");
    let request = DeployRequest::new(&folder, Platform::Local);
    engine
        .deploy(request.clone(), no_progress(), CancellationToken::new())
        .await
        .expect("first deploy");

    let options = WatchOptions {
        catch_up: false,
        ..Default::default()
    };
    // The debouncer's per-path timeout (250 ms, see `watch.rs`) plus the quiet time.
    let settle = options.settle + Duration::from_millis(250);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = engine
        .watch(
            request,
            options,
            Arc::new(move |e| drop(tx.send(e))),
            no_progress(),
        )
        .expect("watch");
    while !matches!(rx.recv().await, Some(WatchEvent::Watching { .. })) {}

    let client = reqwest::Client::new();
    let target = folder.join("section-000/page-00000.html");
    let mut samples = Vec::new();
    for i in 0..edits {
        let body = format!("<p>edit {i}</p>");
        let started = Instant::now();
        std::fs::write(&target, &body).expect("edit");
        loop {
            let got = client
                .get(format!(
                    "http://127.0.0.1:{port}/section-000/page-00000.html"
                ))
                .header("host", format!("watched-docs.localhost:{port}"))
                .send()
                .await
                .ok();
            if let Some(resp) = got {
                if resp
                    .bytes()
                    .await
                    .map(|b| b == body.as_bytes())
                    .unwrap_or(false)
                {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        samples.push(started.elapsed());
        // Let the deploy finish and record before the next edit.
        while let Some(event) = rx.recv().await {
            if matches!(
                event,
                WatchEvent::Deployed { .. } | WatchEvent::Failed { .. }
            ) {
                break;
            }
        }
    }
    // Idle: the last publish's own reads of the folder must not wake the watch.
    let cpu_before = process_cpu();
    let mut idle_events = 0;
    let until = tokio::time::Instant::now() + idle;
    while let Ok(Some(_)) = tokio::time::timeout_at(until, rx.recv()).await {
        idle_events += 1;
    }
    let idle_cpu = process_cpu().saturating_sub(cpu_before);
    handle.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Latency {
        samples,
        settle,
        files,
        idle,
        idle_cpu,
        idle_events,
    }
}

/// User + system CPU time of this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv =
        |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for file in crate::sites::walk(from)? {
        let rel: PathBuf = file
            .strip_prefix(from)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&file, &dest)?;
    }
    Ok(())
}
