//! Cloudflare Pages direct upload against the emulator (`specs/cloudflare.md` §3).

use sitedrop_core::Platform;

use crate::fixture::PlatformSpec;

pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::CloudflarePages,
    upload_path: "/pages/assets/upload",
    emulator_platform: "cloudflare",
    token_var: "CLOUDFLARE_API_TOKEN",
    max_file_size: Some(25 * 1024 * 1024),
    incremental: true,
    rollback: true,
    tls: false,
};

crate::conformance!(SPEC, network);

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sitedrop_core::history::DeployStatus;
use sitedrop_core::retry::RetryPolicy;
use sitedrop_core::secrets::{Credentials, MemoryKeychain, Secret};
use sitedrop_core::{
    CancellationToken, DeployRequest, Engine, EngineConfig, Environment, Progress,
};
use sitedrop_emulator::Config;

use crate::fixture::{quiet, recorder, site, write, Fixture};
use crate::suite::sample_files;

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const OTHER_ACCOUNT: &str = "fedcba9876543210fedcba9876543210";

/// An engine on the fixture's data folder that never retries: whatever succeeds did so
/// without using a retry.
pub fn engine_without_retries(fx: &Fixture) -> Engine {
    Engine::open(EngineConfig {
        env: fx.env.clone(),
        data_dir: Some(fx.data.path().to_path_buf()),
        secrets: Arc::new(MemoryKeychain::default()),
        retry: RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
    })
    .unwrap()
}

/// Requests in the emulator's log whose path contains `part`, as (method, status).
pub async fn calls(fx: &Fixture, part: &str) -> Vec<(String, u64)> {
    fx.requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(part)))
        .map(|r| {
            (
                r["method"].as_str().unwrap_or("").to_string(),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// GETs `path` from a published address and returns the status and headers.
pub async fn head(fx: &Fixture, url: &str, path: &str) -> (u16, reqwest::header::HeaderMap) {
    let host = url::Url::parse(url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!(
            "http://127.0.0.1:{}{path}",
            fx.emulator.as_ref().unwrap().port()
        ))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_upload_token_is_refreshed_mid_upload_without_using_a_retry() {
    let fx = Fixture::new(SPEC).await;
    fx.configure(json!({"cloudflare_upload_jwt_ttl_secs": 2}))
        .await;
    // The first upload is held until its token has expired on arrival.
    fx.fault(json!({"platform": "cloudflare", "path": "/pages/assets/upload", "latency_ms": 2500, "count": 1}))
        .await;
    let (_keep, dir) = site("pages-jwt-expiry", &sample_files());
    let out = engine_without_retries(&fx)
        .deploy(
            DeployRequest::new(&dir, SPEC.platform),
            quiet(),
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    // The expired token was refused, renewed, and the bucket sent again. (A machine stalled
    // for a second could see one more expiry; the engine still never retried.)
    let statuses: Vec<u64> = calls(&fx, "/pages/assets/upload")
        .await
        .into_iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(
        (statuses.first(), statuses.last()),
        (Some(&403), Some(&200)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 403 || *s == 200),
        "{statuses:?}"
    );
    assert!(calls(&fx, "/upload-token").await.len() >= 2);
    assert_eq!((out.uploaded, out.files), (7, 7));
    assert_eq!(
        fx.fetch(&out.url, "/css/site.css").await.2,
        b"body { margin: 0 }\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_token_refused_with_8000013_is_renewed() {
    let fx = Fixture::new(SPEC).await;
    let refused = json!({"success": false, "errors": [{"code": 8000013, "message": "Authorization failed"}], "messages": [], "result": null});
    fx.fault(json!({"platform": "cloudflare", "path": "/pages/assets/check-missing", "status": 401, "body": refused.to_string(), "count": 1}))
        .await;
    fx.fault(json!({"platform": "cloudflare", "path": "/pages/assets/upload", "status": 401, "body": refused.to_string(), "count": 1}))
        .await;
    let (_keep, dir) = site("pages-8000013", &sample_files());
    let out = engine_without_retries(&fx)
        .deploy(
            DeployRequest::new(&dir, SPEC.platform),
            quiet(),
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(calls(&fx, "/upload-token").await.len(), 3, "renewed twice");
    assert_eq!(fx.fetch(&out.url, "/").await.2, sample_files()[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_files_for_the_upload_token_is_refused_before_upload() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"cloudflare_pages_max_file_count": 5}))
        .await;
    let (_keep, dir) = site("pages-too-many", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "too_many_files", "{err}");
    assert!(
        err.to_string().contains(
            "Cloudflare Pages accepts at most 5 files in one deploy, and this folder has 7"
        ),
        "{err}"
    );
    assert!(
        calls(&fx, "/pages/assets/").await.is_empty(),
        "nothing was checked or sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_token_names_the_permission_to_add() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("CLOUDFLARE_API_TOKEN", "sitedrop_readonly_token");
    let (_keep, dir) = site("pages-readonly", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "permission_missing", "{err}");
    assert!(
        err.to_string()
            .contains("Account · Cloudflare Pages · Edit"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("sitedrop_readonly_token"),
        "{err}"
    );
    assert_eq!(fx.uploads().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_api_token_says_it_expired() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("CLOUDFLARE_API_TOKEN", "sitedrop_expired_token");
    let (_keep, dir) = site("pages-expired", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "token_expired", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_accounts_need_a_choice_and_one_is_found_alone() {
    let config = Config {
        cloudflare_extra_accounts: vec![OTHER_ACCOUNT.into()],
        ..Config::default()
    };
    let mut fx = Fixture::with_config(SPEC, config).await;
    fx.set_env("CLOUDFLARE_ACCOUNT_ID", "");
    let (_keep, dir) = site("pages-accounts", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "account_choice_needed", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("Sitedrop Test [{ACCOUNT}]"))
            && msg.contains(&format!("Sitedrop Test fedcba [{OTHER_ACCOUNT}]")),
        "{msg}"
    );
    // Choosing one (as `--account` does) deploys there.
    fx.set_env("CLOUDFLARE_ACCOUNT_ID", OTHER_ACCOUNT);
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fx.fetch(&out.url, "/").await.2, sample_files()[0].1);
    let created = calls(&fx, &format!("/accounts/{OTHER_ACCOUNT}/pages/projects")).await;
    assert!(created.contains(&("POST".into(), 200)), "{created:?}");

    // With one account, no id is needed.
    let mut alone = Fixture::new(SPEC).await;
    alone.set_env("CLOUDFLARE_ACCOUNT_ID", "");
    let out = alone.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, DeployStatus::Live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_the_token_cannot_reach_is_named() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("CLOUDFLARE_ACCOUNT_ID", OTHER_ACCOUNT);
    let (_keep, dir) = site("pages-no-account", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "account_not_found", "{err}");
    assert!(err.to_string().contains(OTHER_ACCOUNT), "{err}");
    fx.set_env("CLOUDFLARE_ACCOUNT_ID", "not-an-account");
    assert_eq!(
        fx.deploy(&dir).await.unwrap_err().kind(),
        "account_not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_an_account_finds_its_name_and_id() {
    let config = Config {
        cloudflare_extra_accounts: vec![OTHER_ACCOUNT.into()],
        ..Config::default()
    };
    let mut fx = Fixture::with_config(SPEC, config).await;
    let engine = fx.engine();
    let token = || Credentials::Token(Secret::new("sitedrop_test_token"));
    let err = engine
        .connect_account(SPEC.platform, token(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "account_choice_needed", "{err}");
    let account = engine
        .connect_account(SPEC.platform, token(), Some(OTHER_ACCOUNT.into()))
        .await
        .unwrap();
    assert_eq!(
        (account.label.as_str(), account.account_ref.as_deref()),
        ("Sitedrop Test fedcba", Some(OTHER_ACCOUNT))
    );
    let err = engine
        .connect_account(
            SPEC.platform,
            Credentials::Token(Secret::new("wrong_token")),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "token_invalid", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_used_by_another_site_gets_a_suffix() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep1, first) = site("blog", &[("index.html", b"first blog")]);
    let (_keep2, second) = site("blog", &[("index.html", b"second blog")]);
    let a = fx.deploy(&first).await.unwrap();
    let b = fx.deploy(&second).await.unwrap();
    assert_eq!(a.project, "blog");
    assert!(
        b.project.starts_with("blog-") && b.project.len() == "blog-".len() + 5,
        "{}",
        b.project
    );
    let (pa, pb) = (a.production_url.unwrap(), b.production_url.unwrap());
    assert_eq!(pa, "https://blog.pages.dev");
    assert_eq!(fx.fetch(&pa, "/").await.2, b"first blog");
    assert_eq!(fx.fetch(&pb, "/").await.2, b"second blog");
    // Each folder keeps its own project.
    write(&first, "index.html", b"first blog, again");
    let again = fx.deploy(&first).await.unwrap();
    assert_eq!(again.project, "blog");
    assert_eq!(fx.fetch(&pa, "/").await.2, b"first blog, again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pages_dev_name_held_elsewhere_is_served_at_the_suffixed_address() {
    let config = Config {
        taken_names: vec![("cloudflare".into(), "famous".into())],
        ..Config::default()
    };
    let mut fx = Fixture::with_config(SPEC, config).await;
    let (_keep, dir) = site("famous", &[("index.html", b"mine")]);
    let out = fx.deploy(&dir).await.unwrap();
    assert_eq!(out.project, "famous");
    let prod = out.production_url.unwrap();
    assert!(
        prod.starts_with("https://famous-") && prod.ends_with(".pages.dev"),
        "{prod}"
    );
    assert_eq!(fx.fetch(&prod, "/").await.2, b"mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_redirects_files_are_applied() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "pages-rules",
        &[
            ("index.html", b"home"),
            ("new.html", b"new page"),
            ("_headers", b"/*\n  X-Sitedrop-Test: applied\n"),
            ("_redirects", b"/old /new.html 301\n"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap();
    assert_eq!(
        out.files, 2,
        "_headers and _redirects are configuration, not files"
    );
    let (_, headers) = head(&fx, &out.url, "/").await;
    assert_eq!(headers["x-sitedrop-test"], "applied");
    let (status, headers) = head(&fx, &out.url, "/old").await;
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (301, "/new.html")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_deploys_leave_production_alone() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("pages-preview", &[("index.html", b"live")]);
    let live = fx.deploy(&dir).await.unwrap();
    write(&dir, "index.html", b"trying something");
    let mut request = DeployRequest::new(&dir, SPEC.platform);
    request.environment = Environment::Preview;
    let preview = fx.deploy_request(request).await.unwrap();
    assert_eq!(preview.production_url, None);
    assert_ne!(preview.url, live.url);
    assert_eq!(fx.fetch(&preview.url, "/").await.2, b"trying something");
    assert_eq!(
        fx.fetch(&live.production_url.unwrap(), "/").await.2,
        b"live"
    );
    assert_eq!(
        fx.fetch(
            &format!("https://preview.{}.pages.dev", preview.project),
            "/"
        )
        .await
        .2,
        b"trying something",
        "the preview branch alias"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_stage_shows_its_log_line() {
    let mut fx = Fixture::new(SPEC).await;
    // The deployment stays in "build" long enough for the poll to see the failure below.
    fx.configure(json!({"cloudflare_processing_ms": 60000}))
        .await;
    let logs = json!({"success": true, "errors": [], "messages": [], "result": {"total": 2, "data": [
        {"line": "Initializing build environment...", "ts": "2026-01-01T00:00:00Z"},
        {"line": "Error: Asset \"big.bin\" is over the 25 MiB limit.", "ts": "2026-01-01T00:00:01Z"}]}});
    let failed = json!({"success": true, "errors": [], "messages": [], "result": {
        "id": "d0000000-0000-0000-0000-000000000000", "url": "https://d0000000.pages-fail.pages.dev",
        "latest_stage": {"name": "deploy", "status": "failure"}}});
    fx.fault(json!({"platform": "cloudflare", "method": "GET", "path": "/history/logs", "status": 200, "body": logs.to_string()}))
        .await;
    fx.fault(json!({"platform": "cloudflare", "method": "GET", "path": "/pages/projects/pages-fail/deployments/", "status": 200, "body": failed.to_string()}))
        .await;
    let (_keep, dir) = site("pages-fail", &[("index.html", b"x")]);
    let (progress, events) = recorder();
    let err = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, SPEC.platform),
            progress,
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "deploy_failed", "{err}");
    assert!(
        err.to_string().contains(
            "the deploy stage failed: Error: Asset \"big.bin\" is over the 25 MiB limit."
        ),
        "{err}"
    );
    let stages: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Processing { detail } => Some(detail.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        stages,
        [
            "Cloudflare Pages: build active",
            "Cloudflare Pages: deploy failure"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_survive_rate_limits_and_server_errors() {
    let mut fx = Fixture::new(SPEC).await;
    let limited = json!({"success": false, "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed"}], "messages": [], "result": null});
    fx.fault(json!({"platform": "cloudflare", "path": "/upload-token", "status": 429, "body": limited.to_string(), "headers": {"Retry-After": "1"}, "count": 1}))
        .await;
    fx.fault(json!({"platform": "cloudflare", "path": "/pages/assets/check-missing", "status": 502, "body": "<html>Bad gateway</html>", "count": 1}))
        .await;
    fx.fault(json!({"platform": "cloudflare", "method": "POST", "path": "/pages-api-faults/deployments", "status": 524, "count": 1}))
        .await;
    fx.fault(json!({"platform": "cloudflare", "path": "/pages/assets/upsert-hashes", "reset": true, "status": 200, "count": 1}))
        .await;
    let (_keep, dir) = site("pages-api-faults", &sample_files());
    let started = std::time::Instant::now();
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was honoured"
    );
    assert_eq!(
        fx.fetch(&out.url, "/js/app.js").await.2,
        b"console.log('hi');\n"
    );
    let faults: Value = reqwest::get(format!(
        "{}/_emulator/faults",
        fx.emulator.as_ref().unwrap().url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        faults.as_array().unwrap().iter().all(|f| f["fired"] == 1),
        "{faults}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_site_deletes_the_project() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("pages-remove", &[("index.html", b"bye")]);
    let out = fx.deploy(&dir).await.unwrap();
    let engine = fx.engine();
    engine.remove_site(out.site_id, true).await.unwrap();
    assert!(calls(&fx, "/pages/projects/pages-remove")
        .await
        .contains(&("DELETE".into(), 200)));
    let (status, _, _) = fx.fetch(&out.production_url.unwrap(), "/").await;
    assert_ne!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_timeouts_are_retried() {
    let mut fx = Fixture::new(SPEC).await;
    fx.fault(json!({"platform": "cloudflare", "path": SPEC.upload_path, "status": 524,
                    "body": "<html>A timeout occurred</html>", "content_type": "text/html", "count": 2}))
        .await;
    let (_keep, dir) = site("pages-524", &sample_files());
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(
        fx.fetch(&out.url, "/data/info.json").await.2,
        b"{\"ok\":true}\n"
    );
    let statuses: Vec<u64> = calls(&fx, SPEC.upload_path)
        .await
        .into_iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(statuses, [524, 524, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_name_never_takes_over_an_existing_site() {
    crate::suite::a_derived_name_never_takes_over_an_existing_site(SPEC).await
}

/// The shared suite again with the emulator on HTTPS and HTTP/2 (`--tls`), the engine trusting
/// its CA through `SSL_CERT_FILE`; every API request is checked to have used both.
mod tls {
    const SPEC: crate::fixture::PlatformSpec = crate::fixture::PlatformSpec {
        tls: true,
        ..super::SPEC
    };
    crate::conformance!(SPEC);
    crate::conformance!(@tests SPEC; dropped_connections_are_survived,
        large_parallel_uploads_share_few_connections);
}
