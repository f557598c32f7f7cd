//! The whole pipeline against "this computer": real files, real SQLite, real HTTP on 127.0.0.1.

use std::path::Path;
use std::sync::{Arc, Mutex};

use sitedrop_core::config::Env;
use sitedrop_core::history::DeployStatus;
use sitedrop_core::progress::{no_progress, Phase, Progress};
use sitedrop_core::secrets::MemoryKeychain;
use sitedrop_core::{CancellationToken, DeployRequest, Engine, EngineConfig, Platform};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn engine(data: &Path, port: u16) -> Engine {
    Engine::open(EngineConfig {
        env: Env::from_pairs([("SITEDROP_LOCAL_PORT", port.to_string())]),
        data_dir: Some(data.to_path_buf()),
        secrets: Arc::new(MemoryKeychain::default()),
        retry: Default::default(),
    })
    .unwrap()
}

fn write(root: &Path, rel: &str, body: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// Fetches a page of a local site the way a browser would (Host header, 127.0.0.1).
async fn get(port: u16, host: &str, path: &str) -> (u16, String, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", format!("{host}:{port}"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, resp.bytes().await.unwrap().to_vec())
}

fn site_folder() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("blog").tempdir().unwrap();
    write(dir.path(), "index.html", b"<h1>Hello</h1>\n");
    write(dir.path(), "css/site.css", b"body { color: teal }\n");
    write(
        dir.path(),
        "img/logo.png",
        &[0x89, b'P', b'N', b'G', 0, 1, 2, 3, 255],
    );
    write(dir.path(), "docs/a b+c.txt", b"spaces and plus\n");
    write(dir.path(), ".env", b"SECRET=1\n");
    dir
}

#[tokio::test]
async fn fresh_deploy_serves_exact_bytes_and_redeploys_send_only_changes() {
    let data = tempfile::tempdir().unwrap();
    let site = site_folder();
    let port = free_port();
    let engine = engine(data.path(), port);

    let events = Arc::new(Mutex::new(Vec::new()));
    let sink: sitedrop_core::ProgressSink = {
        let events = events.clone();
        Arc::new(move |p| events.lock().unwrap().push(p))
    };
    let first = engine
        .deploy(
            DeployRequest::new(site.path(), Platform::Local),
            sink,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(first.status, DeployStatus::Live);
    assert_eq!((first.files, first.uploaded), (4, 4));
    assert_eq!(first.held_back, [".env"]);
    assert!(
        first.url.starts_with("http://") && first.url.contains(".localhost:"),
        "{}",
        first.url
    );

    // Every phase was announced, in order.
    let phases: Vec<Phase> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Phase { phase, .. } => Some(*phase),
            _ => None,
        })
        .collect();
    use Phase::*;
    assert_eq!(
        phases,
        [Scan, Limits, Hash, Prepare, Upload, Finish, Verify, Done]
    );

    // The live site serves the folder's exact bytes with the right content types.
    let host = url::Url::parse(&first.url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let (status, ctype, body) = get(port, &host, "/").await;
    assert_eq!(
        (status, ctype.as_str(), body.as_slice()),
        (200, "text/html; charset=utf-8", &b"<h1>Hello</h1>\n"[..])
    );
    let (_, ctype, body) = get(port, &host, "/css/site.css").await;
    assert_eq!(
        (ctype.as_str(), body.as_slice()),
        ("text/css; charset=utf-8", &b"body { color: teal }\n"[..])
    );
    let (_, ctype, body) = get(port, &host, "/img/logo.png").await;
    assert_eq!(
        (ctype.as_str(), body.as_slice()),
        ("image/png", &[0x89, b'P', b'N', b'G', 0, 1, 2, 3, 255][..])
    );
    let (_, _, body) = get(port, &host, "/docs/a%20b+c.txt").await;
    assert_eq!(body, b"spaces and plus\n");
    let (status, _, _) = get(port, &host, "/.env").await;
    assert_eq!(status, 404, "held-back secrets are never served");

    // Unchanged redeploy uploads nothing.
    let second = engine
        .deploy(
            DeployRequest::new(site.path(), Platform::Local),
            no_progress(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!((second.uploaded, second.bytes_uploaded), (0, 0));

    // One changed file uploads one.
    write(site.path(), "css/site.css", b"body { color: navy }\n");
    let third = engine
        .deploy(
            DeployRequest::new(site.path(), Platform::Local),
            no_progress(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!((third.uploaded, third.bytes_uploaded), (1, 21));
    let (_, _, body) = get(port, &host, "/css/site.css").await;
    assert_eq!(body, b"body { color: navy }\n");

    // Rollback to the first deploy brings the old bytes back and is recorded.
    let back = engine
        .rollback(first.id, no_progress(), CancellationToken::new())
        .await
        .unwrap();
    let (_, _, body) = get(port, &host, "/css/site.css").await;
    assert_eq!(body, b"body { color: teal }\n");

    let rows = engine.history().deployments(None, 10).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].id, back.id);
    assert_eq!(rows[0].trigger.id(), "rollback");
    assert_eq!(rows[0].rollback_of, Some(first.id));
    assert!(rows.iter().all(|r| r.status == DeployStatus::Live));
    assert_eq!(rows[1].files_uploaded, 1);
    assert!(rows[3].timings.hash_ms.is_some() && rows[3].timings.upload_ms.is_some());
}

#[tokio::test]
async fn bad_folders_are_refused_and_recorded_honestly() {
    let data = tempfile::tempdir().unwrap();
    let engine = engine(data.path(), free_port());
    let missing = data.path().join("nope");
    let err = engine
        .deploy(
            DeployRequest::new(&missing, Platform::Local),
            no_progress(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "folder_missing");

    let empty = tempfile::tempdir().unwrap();
    write(empty.path(), ".env", b"A=1");
    write(empty.path(), "id_rsa", b"key");
    let err = engine
        .deploy(
            DeployRequest::new(empty.path(), Platform::Local),
            no_progress(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "empty_folder");
    assert!(
        err.to_string().contains("2 held back as possible secrets"),
        "{err}"
    );

    // The failed deploy is in the history with its sentence; nothing was stored.
    let rows = engine.history().deployments(None, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, DeployStatus::Failed);
    assert_eq!(rows[0].error_kind.map(|k| k.as_str()), Some("empty_folder"));
    assert!(!data.path().join("local/blobs").exists());
}

#[tokio::test]
async fn a_cancelled_deploy_publishes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let site = site_folder();
    let engine = engine(data.path(), free_port());
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    // Cancel as soon as hashing starts.
    let sink: sitedrop_core::ProgressSink = Arc::new(move |p| {
        if matches!(
            p,
            Progress::Phase {
                phase: Phase::Hash,
                ..
            }
        ) {
            c.cancel();
        }
    });
    let err = engine
        .deploy(
            DeployRequest::new(site.path(), Platform::Local),
            sink,
            cancel,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "cancelled");
    let rows = engine.history().deployments(None, 10).unwrap();
    assert_eq!(rows[0].status, DeployStatus::Cancelled);
    assert!(
        !data.path().join("local/sites").exists()
            || std::fs::read_dir(data.path().join("local/sites"))
                .unwrap()
                .all(|e| !e.unwrap().path().join("current").exists())
    );
}

#[tokio::test]
async fn two_deploys_of_one_site_at_once_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let site = site_folder();
    let engine = engine(data.path(), free_port());
    let folder = site.path().canonicalize().unwrap();
    let site_row = engine.history().site_for(&folder, Platform::Local).unwrap();
    let _held = sitedrop_core::history::lock::SiteLock::try_acquire(data.path(), site_row.id)
        .unwrap()
        .unwrap();
    let err = engine
        .deploy(
            DeployRequest::new(site.path(), Platform::Local),
            no_progress(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "deploy_in_progress");
    assert!(err.to_string().contains("already running"), "{err}");
}

#[tokio::test]
async fn preview_serves_the_folder_without_its_secrets() {
    let site = site_folder();
    let server =
        sitedrop_core::serve::LocalServer::preview(site.path(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let port = server.addr().port();
    let (status, ctype, body) = get(port, "anything.localhost", "/").await;
    assert_eq!(
        (status, ctype.as_str(), body.as_slice()),
        (200, "text/html; charset=utf-8", &b"<h1>Hello</h1>\n"[..])
    );
    assert_eq!(get(port, "anything.localhost", "/.env").await.0, 404);
    // Edits show on reload.
    write(site.path(), "index.html", b"<h1>Edited</h1>\n");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        get(port, "anything.localhost", "/").await.2,
        b"<h1>Edited</h1>\n"
    );
    server.stop().await;
}
