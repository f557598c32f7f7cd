//! Watching a folder: real inotify events, real deploys, real HTTP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sitedrop_core::config::Env;
use sitedrop_core::history::Trigger;
use sitedrop_core::progress::no_progress;
use sitedrop_core::secrets::MemoryKeychain;
use sitedrop_core::watch::{WatchEvent, WatchOptions};
use sitedrop_core::{DeployRequest, Engine, EngineConfig, Platform};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct World {
    _data: tempfile::TempDir,
    _parent: tempfile::TempDir,
    folder: PathBuf,
    engine: Engine,
    port: u16,
    events: Arc<Mutex<Vec<WatchEvent>>>,
}

fn write(root: &Path, rel: &str, body: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn world() -> World {
    let data = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("watched");
    write(&folder, "index.html", b"<h1>v1</h1>");
    write(&folder, "css/site.css", b"p{}");
    let port = free_port();
    let engine = Engine::open(EngineConfig {
        env: Env::from_pairs([("SITEDROP_LOCAL_PORT", port.to_string())]),
        data_dir: Some(data.path().to_path_buf()),
        secrets: Arc::new(MemoryKeychain::default()),
        retry: Default::default(),
    })
    .unwrap();
    World {
        _data: data,
        _parent: parent,
        folder,
        engine,
        port,
        events: Arc::default(),
    }
}

impl World {
    fn options() -> WatchOptions {
        WatchOptions {
            settle: Duration::from_millis(400),
            ..Default::default()
        }
    }

    fn start(&self) -> sitedrop_core::watch::WatchHandle {
        let events = self.events.clone();
        self.engine
            .watch(
                DeployRequest::new(&self.folder, Platform::Local),
                World::options(),
                Arc::new(move |e| events.lock().unwrap_or_else(|p| p.into_inner()).push(e)),
                no_progress(),
            )
            .unwrap()
    }

    fn count(&self, pred: impl Fn(&WatchEvent) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| pred(e))
            .count()
    }

    fn deployed(&self) -> usize {
        self.count(|e| matches!(e, WatchEvent::Deployed { .. }))
    }

    /// Waits until `pred` holds, up to `secs` seconds.
    async fn until(&self, secs: u64, pred: impl Fn(&World) -> bool) -> bool {
        for _ in 0..secs * 20 {
            if pred(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        pred(self)
    }

    async fn get(&self, path: &str) -> Vec<u8> {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}{path}", self.port))
            .header("host", format!("watched.localhost:{}", self.port))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }

    /// Asserts that `secs` idle seconds bring no watch event at all: no change seen, no folder
    /// check (each check reports `Unchanged` or `Deploying`), no deploy.
    async fn assert_idle_for(&self, secs: u64) {
        assert_idle_for(&self.events, secs).await;
    }

    /// Asserts deploys never overlapped: every `Deploying` is followed by its result before the
    /// next `Deploying`.
    fn assert_single_flight(&self) {
        let mut running = false;
        for e in self.events.lock().unwrap().iter() {
            match e {
                WatchEvent::Deploying => {
                    assert!(!running, "two deploys at once: {:?}", self.events.lock());
                    running = true;
                }
                WatchEvent::Deployed { .. } | WatchEvent::Failed { .. } => running = false,
                _ => {}
            }
        }
    }
}

/// Once an edit is live, the watch rests: the deploy's own reads of the folder (scan, hash,
/// copy) are not changes.
async fn assert_idle_for(events: &Mutex<Vec<WatchEvent>>, secs: u64) {
    let before = events.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let events = events.lock().unwrap();
    assert_eq!(
        events.len(),
        before,
        "an idle watch reported {:?} in {secs} s",
        &events[before..]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_watch_catches_up_then_one_edit_uploads_one_file() {
    let w = world();
    let handle = w.start();
    assert!(
        w.until(20, |w| w.deployed() == 1).await,
        "the catch-up deploy: {:?}",
        w.events.lock()
    );
    assert_eq!(w.get("/").await, b"<h1>v1</h1>");

    write(&w.folder, "index.html", b"<h1>v2</h1>");
    assert!(
        w.until(20, |w| w.deployed() == 2).await,
        "{:?}",
        w.events.lock()
    );
    let events = w.events.lock().unwrap().clone();
    let WatchEvent::Deployed { outcome } = events
        .iter()
        .rev()
        .find(|e| matches!(e, WatchEvent::Deployed { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(
        (outcome.uploaded, outcome.bytes_uploaded),
        (1, 11),
        "exactly the edited file"
    );
    assert_eq!(w.get("/").await, b"<h1>v2</h1>");
    let rows = w.engine.history().deployments(None, 5).unwrap();
    assert_eq!(rows[0].trigger, "watch");
    assert_eq!(rows[0].id, outcome.id);
    w.assert_idle_for(10).await;
    assert_eq!(w.deployed(), 2);
    handle.stop().await;
    assert!(matches!(
        w.events.lock().unwrap().last(),
        Some(WatchEvent::Stopped)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_files_makes_one_or_two_deploys_never_two_at_once() {
    let w = world();
    w.engine
        .deploy(
            DeployRequest::new(&w.folder, Platform::Local),
            no_progress(),
            Default::default(),
        )
        .await
        .unwrap();
    let handle = w.start();
    assert!(
        w.until(10, |w| w
            .count(|e| matches!(e, WatchEvent::Watching { .. }))
            == 1)
            .await
    );
    for i in 0..500 {
        write(
            &w.folder,
            &format!("posts/{}/post-{i}.html", i % 10),
            format!("<p>{i}</p>").as_bytes(),
        );
    }
    assert!(
        w.until(30, |w| w.deployed() >= 1).await,
        "{:?}",
        w.events.lock()
    );
    // Give a possible follow-up time to happen, then check.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deploys = w.deployed();
    assert!(
        (1..=2).contains(&deploys),
        "{deploys} deploys for one burst"
    );
    w.assert_single_flight();
    assert_eq!(w.get("/posts/9/post-499.html").await, b"<p>499</p>");
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touching_only_ignored_files_deploys_nothing() {
    let w = world();
    write(&w.folder, ".sitedropignore", b"drafts/\n");
    w.engine
        .deploy(
            DeployRequest::new(&w.folder, Platform::Local),
            no_progress(),
            Default::default(),
        )
        .await
        .unwrap();
    let handle = w.start();
    assert!(
        w.until(10, |w| w
            .count(|e| matches!(e, WatchEvent::Watching { .. }))
            == 1)
            .await
    );
    write(&w.folder, ".git/index", b"x");
    write(&w.folder, "node_modules/pkg/index.js", b"x");
    write(&w.folder, ".index.html.swp", b"x");
    write(&w.folder, "index.html~", b"x");
    write(&w.folder, "drafts/next.html", b"ignored by .sitedropignore");
    write(&w.folder, ".env", b"SECRET=1");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        w.count(|e| matches!(e, WatchEvent::Deploying)),
        0,
        "{:?}",
        w.events.lock()
    );
    handle.stop().await;
    assert_eq!(w.engine.history().deployments(None, 10).unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_folder_pauses_with_a_message_and_it_resumes_when_it_returns() {
    let w = world();
    w.engine
        .deploy(
            DeployRequest::new(&w.folder, Platform::Local),
            no_progress(),
            Default::default(),
        )
        .await
        .unwrap();
    let handle = w.start();
    assert!(
        w.until(10, |w| w
            .count(|e| matches!(e, WatchEvent::Watching { .. }))
            == 1)
            .await
    );
    std::fs::remove_dir_all(&w.folder).unwrap();
    assert!(
        w.until(10, |w| w.count(|e| matches!(e, WatchEvent::Paused { .. }))
            == 1)
            .await,
        "{:?}",
        w.events.lock()
    );
    let reason = w
        .events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match e {
            WatchEvent::Paused { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("was moved or deleted"), "{reason}");
    assert_eq!(
        w.count(|e| matches!(e, WatchEvent::Deploying)),
        0,
        "a vanished folder is never deployed"
    );

    // It comes back: watching resumes and the new content goes live.
    write(&w.folder, "index.html", b"<h1>back</h1>");
    assert!(
        w.until(20, |w| w.deployed() == 1).await,
        "{:?}",
        w.events.lock()
    );
    assert_eq!(w.get("/").await, b"<h1>back</h1>");
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_deploys_are_recorded_with_the_watch_trigger() {
    let w = world();
    let handle = w.start();
    assert!(w.until(20, |w| w.deployed() == 1).await);
    handle.stop().await;
    let rows = w.engine.history().deployments(None, 5).unwrap();
    assert!(rows.iter().all(|r| r.trigger == Trigger::Watch.id()));
}

/// The OS watch limit (ENOSPC) pauses watching with the sysctl hint. The limit is lowered for
/// this test only: it re-runs itself inside a new user namespace whose
/// `/proc/sys/user/max_inotify_watches` is set to 3 (Linux ≥ 5.11 counts watches per user
/// namespace), so nothing else on the machine is affected.
#[test]
fn reaching_the_watch_limit_pauses_with_the_sysctl_hint() {
    if std::env::var_os("SITEDROP_INNER_WATCH_LIMIT").is_some() {
        return watch_limit_inner();
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg("echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" --exact reaching_the_watch_limit_pauses_with_the_sysctl_hint --nocapture")
        .arg(&exe)
        .env("SITEDROP_INNER_WATCH_LIMIT", "1")
        .output()
        .expect("run unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "inner run failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the inner test did not run:\n{stdout}\n{stderr}"
    );
}

fn watch_limit_inner() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let w = world();
        for i in 0..10 {
            write(&w.folder, &format!("dir{i}/page.html"), b"x");
        }
        let handle = w.start();
        assert!(
            w.until(10, |w| w.count(|e| matches!(e, WatchEvent::Paused { .. }))
                == 1)
                .await,
            "{:?}",
            w.events.lock()
        );
        let events = w.events.lock().unwrap().clone();
        let reason = events.iter().find_map(|e| match e {
            WatchEvent::Paused { reason } => Some(reason.clone()),
            _ => None,
        });
        let reason = reason.unwrap();
        assert!(
            reason.contains("limit on watched folders") && reason.contains("max_user_watches"),
            "{reason}"
        );
        assert_eq!(w.count(|e| matches!(e, WatchEvent::Deploying)), 0);
        handle.wait().await;
    });
}

/// The same edit, watched and deployed to Netlify through the emulator: a new deployment goes
/// live serving the new bytes, and exactly one file is uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_goes_live_on_netlify_uploading_exactly_one_file() {
    let emu = sitedrop_emulator::Emulator::start(sitedrop_emulator::Config::default())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("watched-netlify");
    write(&folder, "index.html", b"<h1>v1</h1>");
    write(&folder, "css/site.css", b"p{}");
    // A dotfile Netlify never publishes: the watch's change check must agree with the deploy
    // about it, or it would redeploy on start and after every edit.
    write(&folder, ".editorconfig", b"root = true");
    let engine = Engine::open(EngineConfig {
        env: Env::from_pairs([
            ("NETLIFY_API_URL", format!("{}/api/v1", emu.url())),
            ("NETLIFY_AUTH_TOKEN", "sitedrop_test_token".into()),
            ("SITEDROP_SITE_RESOLVE", format!("127.0.0.1:{}", emu.port())),
        ]),
        data_dir: Some(data.path().to_path_buf()),
        secrets: Arc::new(MemoryKeychain::default()),
        retry: Default::default(),
    })
    .unwrap();
    let request = DeployRequest::new(&folder, Platform::Netlify);
    let first = engine
        .deploy(request.clone(), no_progress(), Default::default())
        .await
        .unwrap();
    let events: Arc<Mutex<Vec<WatchEvent>>> = Arc::default();
    let sink = events.clone();
    let handle = engine
        .watch(
            request,
            World::options(),
            Arc::new(move |e| sink.lock().unwrap().push(e)),
            no_progress(),
        )
        .unwrap();
    let watching = || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, WatchEvent::Watching { .. }))
    };
    for _ in 0..200 {
        if watching() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(watching());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, WatchEvent::Deploying)),
        "nothing changed since the last deploy, so starting to watch deploys nothing: {:?}",
        events.lock().unwrap()
    );
    write(&folder, "css/site.css", b"p{color:red}");
    let deployed = || {
        events.lock().unwrap().iter().find_map(|e| match e {
            WatchEvent::Deployed { outcome } => Some(outcome.clone()),
            _ => None,
        })
    };
    for _ in 0..400 {
        if deployed().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = deployed().unwrap_or_else(|| panic!("no redeploy: {:?}", events.lock().unwrap()));
    assert_idle_for(&events, 10).await;
    handle.stop().await;
    assert_eq!((outcome.uploaded, outcome.bytes_uploaded), (1, 12));
    assert_ne!(outcome.url, first.url, "a new deployment");
    let production = outcome.production_url.clone().unwrap();
    let host = url::Url::parse(&production)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let body = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/css/site.css", emu.port()))
        .header("host", host)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), b"p{color:red}");
    let uploads: usize = reqwest::get(format!("{}/_emulator/requests", emu.url()))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["method"] == "PUT" && r["path"].as_str().is_some_and(|p| p.contains("/files/"))
        })
        .count();
    assert_eq!(
        uploads,
        2 + 1,
        "two files first, then exactly the edited one"
    );
}
