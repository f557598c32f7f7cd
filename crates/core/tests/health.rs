//! Health checks through the emulator: real deploys, real HTTP, faults on one served site.
//! `cargo test -p sitedrop-core --test health`

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use sitedrop_core::config::Env;
use sitedrop_core::health::{DownReason, HealthConfig, HealthState};
use sitedrop_core::progress::no_progress;
use sitedrop_core::secrets::MemoryKeychain;
use sitedrop_core::{
    CancellationToken, DeployOutcome, DeployRequest, Engine, EngineConfig, Platform,
};
use sitedrop_emulator::{Config, Emulator};

const TOKEN: &str = "sitedrop_test_token";

struct World {
    emulator: Emulator,
    engine: Engine,
    _data: tempfile::TempDir,
    folders: tempfile::TempDir,
}

async fn world() -> World {
    let emulator = Emulator::start(Config::default())
        .await
        .expect("emulator starts");
    let base = emulator.url();
    let env = Env::from_pairs([
        (
            "SITEDROP_SITE_RESOLVE".to_string(),
            format!("127.0.0.1:{}", emulator.port()),
        ),
        ("NETLIFY_API_URL".to_string(), format!("{base}/api/v1")),
        ("NETLIFY_AUTH_TOKEN".to_string(), TOKEN.to_string()),
        ("VERCEL_API_URL".to_string(), base.clone()),
        ("VERCEL_TOKEN".to_string(), TOKEN.to_string()),
    ]);
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig {
        env,
        data_dir: Some(data.path().to_path_buf()),
        secrets: Arc::new(MemoryKeychain::default()),
        retry: Default::default(),
    })
    .unwrap();
    let w = World {
        emulator,
        engine,
        _data: data,
        folders: tempfile::tempdir().unwrap(),
    };
    // The suite's many small deploys would meet Netlify's real request rate limit.
    w.control("config", json!({"netlify_rate_limit_per_minute": 0}))
        .await;
    w
}

fn write(root: &Path, rel: &str, body: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

impl World {
    /// Writes a small site into folder `name` (version `v` of its content) and deploys it.
    async fn deploy(&self, name: &str, platform: Platform, v: u32) -> DeployOutcome {
        let folder = self.folders.path().join(name);
        write(&folder, "index.html", &format!("<h1>{name} v{v}</h1>"));
        write(&folder, "css/site.css", &format!("h1{{color:#{v:03}}}"));
        write(&folder, "js/app.js", "console.log('hi')");
        let mut request = DeployRequest::new(&folder, platform);
        request.project = Some(name.to_string());
        self.engine
            .deploy(request, no_progress(), CancellationToken::new())
            .await
            .expect("deploy goes live")
    }

    async fn control(&self, path: &str, body: Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/_emulator/{path}", self.emulator.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    }

    /// Adds an emulator fault for the one site served at `host`.
    async fn fault(&self, host: &str, fault: Value) {
        let mut fault = fault;
        fault["host"] = host.into();
        self.control("faults", fault).await;
    }

    async fn clear_faults(&self) {
        reqwest::Client::new()
            .delete(format!("{}/_emulator/faults", self.emulator.url()))
            .send()
            .await
            .unwrap();
    }

    async fn check(&self, site_id: i64) -> sitedrop_core::health::CheckOutcome {
        self.engine.check_site(site_id).await.expect("a check runs")
    }
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_freshly_published_site_is_up_and_serves_its_deploy() {
    let w = world().await;
    let live = w.deploy("blog", Platform::Netlify, 1).await;
    let outcome = w.check(live.site_id).await;
    let c = &outcome.check;
    assert_eq!(c.state, HealthState::Up, "{}", c.detail);
    assert_eq!(
        (c.http_status, c.matches_deploy, c.reason),
        (Some(200), Some(true), None)
    );
    assert_eq!(c.deployment_id, Some(live.id));
    assert_eq!(c.url, live.production_url.clone().unwrap());
    assert!(c.response_ms.is_some());
    assert_eq!(
        c.cert_expires_at, None,
        "plain HTTP through SITEDROP_SITE_RESOLVE has no certificate"
    );
    assert_eq!(
        (outcome.announced, outcome.notice),
        (Some(HealthState::Up), None)
    );
    assert_eq!(w.engine.last_check(live.site_id).unwrap(), Some(c.clone()));
}

#[tokio::test]
async fn a_site_answering_503_is_down_once_confirmed_and_back_up_once_recovered() {
    let w = world().await;
    let blog = w.deploy("blog", Platform::Netlify, 1).await;
    let shop = w.deploy("shop", Platform::Netlify, 1).await;
    let blog_host = host_of(blog.production_url.as_deref().unwrap());
    w.check(blog.site_id).await;
    w.fault(&blog_host, json!({"status": 503, "body": "upstream down"}))
        .await;

    let first = w.check(blog.site_id).await;
    assert_eq!(
        (
            first.check.state,
            first.check.reason,
            first.check.http_status
        ),
        (HealthState::Down, Some(DownReason::Http5xx), Some(503))
    );
    assert_eq!(first.notice, None, "one failed check is a blip");
    let all = w.engine.check_all().await.unwrap();
    let by_site = |id| all.iter().find(|o| o.site_id == id).unwrap();
    assert_eq!(
        by_site(shop.site_id).check.state,
        HealthState::Up,
        "the fault is the blog's only"
    );
    let confirmed = by_site(blog.site_id);
    let notice = confirmed
        .notice
        .as_ref()
        .expect("the second failure is announced");
    assert_eq!(
        (notice.from, notice.to),
        (Some(HealthState::Up), HealthState::Down)
    );
    assert_eq!(notice.title, "blog is down");
    assert_eq!(w.check(blog.site_id).await.notice, None, "announced once");

    w.clear_faults().await;
    let back = w.check(blog.site_id).await;
    assert_eq!(
        (back.check.state, back.notice.clone()),
        (HealthState::Up, None)
    );
    let notice = w
        .check(blog.site_id)
        .await
        .notice
        .expect("recovery is announced");
    assert_eq!(
        (notice.from, notice.to, notice.title.as_str()),
        (Some(HealthState::Down), HealthState::Up, "blog is back up")
    );
}

#[tokio::test]
async fn missing_home_page_and_dropped_connections_are_down_with_their_reason() {
    let w = world().await;
    let blog = w.deploy("blog", Platform::Netlify, 1).await;
    let host = host_of(blog.production_url.as_deref().unwrap());
    w.fault(&host, json!({"status": 404, "body": "Not Found"}))
        .await;
    let c = w.check(blog.site_id).await.check;
    assert_eq!(
        (c.state, c.reason, c.http_status),
        (HealthState::Down, Some(DownReason::Http404), Some(404))
    );
    w.clear_faults().await;
    w.fault(&host, json!({"status": 200, "reset": true})).await;
    let c = w.check(blog.site_id).await.check;
    assert_eq!(
        (c.state, c.reason),
        (HealthState::Down, Some(DownReason::ConnectionDropped))
    );
}

#[tokio::test]
async fn a_site_far_slower_than_usual_is_slow() {
    let w = world().await;
    let blog = w.deploy("blog", Platform::Netlify, 1).await;
    for _ in 0..3 {
        assert_eq!(w.check(blog.site_id).await.check.state, HealthState::Up);
    }
    let host = host_of(blog.production_url.as_deref().unwrap());
    // Latency only: the request is then served normally, after 1.5 s (over the 1 s floor and,
    // on a machine answering locally in milliseconds, far over 3 x the usual).
    w.fault(&host, json!({"latency_ms": 1500})).await;
    let slow = w.check(blog.site_id).await;
    assert_eq!(slow.check.state, HealthState::Slow, "{}", slow.check.detail);
    assert_eq!(slow.check.matches_deploy, Some(true));
    assert!(slow.check.response_ms.unwrap() >= 1500);
    assert_eq!(
        w.check(blog.site_id).await.notice,
        None,
        "slowness is shown, not announced"
    );
}

#[tokio::test]
async fn a_site_restored_to_an_older_deploy_in_the_dashboard_has_changed() {
    let w = world().await;
    let v1 = w.deploy("blog", Platform::Netlify, 1).await;
    let v2 = w.deploy("blog", Platform::Netlify, 2).await;
    assert_eq!(w.check(v2.site_id).await.check.state, HealthState::Up);

    // What a person does in Netlify's dashboard: publish the previous deploy again.
    let remote = w
        .engine
        .history()
        .site(v2.site_id)
        .unwrap()
        .unwrap()
        .remote_id
        .unwrap();
    let resp = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/sites/{remote}/rollback",
            w.emulator.url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);

    let changed = w.check(v2.site_id).await;
    let c = &changed.check;
    assert_eq!(
        (c.state, c.matches_deploy, c.http_status),
        (HealthState::Changed, Some(false), Some(200))
    );
    assert!(
        c.detail.contains(&format!("deploy #{}", v2.id)),
        "{}",
        c.detail
    );
    let notice = w
        .check(v2.site_id)
        .await
        .notice
        .expect("a change is announced");
    assert_eq!(notice.title, "blog has changed");

    // Sitedrop's own rollback to v1 makes v1 the deploy to compare with: no longer changed.
    let back = w
        .engine
        .rollback(v1.id, no_progress(), CancellationToken::new())
        .await
        .unwrap();
    let c = w.check(v2.site_id).await.check;
    assert_eq!(
        (c.state, c.matches_deploy, c.deployment_id),
        (HealthState::Up, Some(true), Some(back.id))
    );
}

#[tokio::test]
async fn a_flapping_site_notifies_once_per_real_change() {
    let w = world().await;
    let blog = w.deploy("blog", Platform::Netlify, 1).await;
    let host = host_of(blog.production_url.as_deref().unwrap());
    let mut notices = Vec::new();
    let mut states = Vec::new();
    // up, down, up, down, up, down (flapping), then down, down (a real outage), up, up.
    for down in [
        false, true, false, true, false, true, true, true, false, false,
    ] {
        w.clear_faults().await;
        if down {
            w.fault(&host, json!({"status": 502})).await;
        }
        let o = w.check(blog.site_id).await;
        states.push(o.check.state);
        notices.extend(o.notice.map(|n| (n.from, n.to)));
    }
    assert_eq!(
        states.iter().filter(|s| **s == HealthState::Down).count(),
        5,
        "{states:?}"
    );
    assert_eq!(
        notices,
        [
            (Some(HealthState::Up), HealthState::Down),
            (Some(HealthState::Down), HealthState::Up)
        ],
        "flapping alone announces nothing; the outage is announced once, and its end once"
    );
}

#[tokio::test]
async fn sites_with_checks_off_or_never_published_are_not_checked() {
    let w = world().await;
    let blog = w.deploy("blog", Platform::Netlify, 1).await;
    let shop = w.deploy("shop", Platform::Vercel, 1).await;
    let never = w
        .engine
        .history()
        .site_for(&w.folders.path().join("draft"), Platform::Netlify)
        .unwrap();
    w.engine.set_site_checks(shop.site_id, false).unwrap();
    assert!(!w.engine.site_checks_on(shop.site_id).unwrap());
    let all = w
        .engine
        .check_all_with(&HealthConfig::default())
        .await
        .unwrap();
    let checked: Vec<i64> = all.iter().map(|o| o.site_id).collect();
    assert_eq!(checked, [blog.site_id]);
    let err = w.engine.check_site(never.id).await.unwrap_err();
    assert_eq!(err.kind(), "invalid");
    assert!(err.to_string().contains("not been published"), "{err}");
    // Asked for by name, a site whose periodic checks are off is still checked.
    let o = w.check(shop.site_id).await;
    assert_eq!(
        (o.platform, o.check.state),
        (Platform::Vercel, HealthState::Up)
    );

    let week = w.engine.health_summary(blog.site_id, 7).unwrap();
    assert_eq!(
        (week.checks, week.up_checks, week.uptime_percent),
        (1, 1, Some(100.0))
    );
}
