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

/// The result: every edit's latency, and the settle window it includes.
pub struct Latency {
    pub samples: Vec<Duration>,
    pub settle: Duration,
    pub files: usize,
}

/// Copies `site` to a scratch folder (edits must not touch the generated site), deploys it to
/// this computer, watches it, and times `edits` edits.
pub async fn measure(site: &Path, edits: usize) -> Latency {
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
    handle.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Latency {
        samples,
        settle,
        files,
    }
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
