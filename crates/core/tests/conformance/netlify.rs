//! Netlify with an account: the shared suite, then what only Netlify does (`specs/netlify.md`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sitedrop_core::progress::Progress;
use sitedrop_core::secrets::Credentials;
use sitedrop_core::{CancellationToken, DeployRequest, Environment, Platform};

use crate::fixture::{recorder, site, write, Fixture, PlatformSpec};
use crate::suite::sample_files;

pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Netlify,
    upload_path: "/files/",
    emulator_platform: "netlify",
    token_var: "NETLIFY_AUTH_TOKEN",
    max_file_size: None,
    incremental: true,
    rollback: true,
    tls: false,
};

crate::conformance!(SPEC, network);

/// GETs `path` from a deployed address with the emulator, keeping the response headers.
pub async fn get(fx: &Fixture, url: &str, path: &str) -> reqwest::Response {
    let host = url::Url::parse(url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let port = fx.emulator.as_ref().unwrap().port();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", host)
        .send()
        .await
        .unwrap()
}

fn paths(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_and_question_mark_are_refused_before_upload() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "netlify-badnames",
        &[
            ("index.html", b"hi"),
            ("notes#1.html", b"x"),
            ("what?.txt", b"y"),
        ],
    );
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "bad_file_name", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("notes#1.html") && msg.contains("what?.txt"),
        "{msg}"
    );
    assert!(msg.contains("# or ?"), "{msg}");
    assert!(fx.requests().await.is_empty(), "nothing may reach Netlify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dotfiles_are_left_out_but_well_known_and_netlify_config_files_are_kept() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "netlify-dotfiles",
        &[
            ("index.html", b"<h1>home</h1>"),
            (".hidden", b"secret-ish"),
            ("sub/.cache/x.js", b"cache"),
            (".well-known/security.txt", b"Contact: mailto:a@b.c\n"),
            ("_headers", b"/*\n  X-Test: 1\n"),
            ("_redirects", b"/old /index.html 301\n"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.files, 4, "index, .well-known, _headers, _redirects");
    assert_eq!(
        fx.fetch(&out.url, "/.well-known/security.txt").await.2,
        b"Contact: mailto:a@b.c\n"
    );
    assert_eq!(fx.fetch(&out.url, "/.hidden").await.0, 404);
    let home = get(&fx, &out.url, "/").await;
    assert_eq!(home.headers()["x-test"], "1", "_headers applied");
    let old = get(&fx, &out.url, "/old").await;
    assert_eq!(old.status(), 301, "_redirects applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_sites_use_an_async_diff_polled_until_prepared() {
    let mut fx = Fixture::new(SPEC).await;
    let bodies: Vec<(String, Vec<u8>)> = (0..150)
        .map(|i| {
            (
                format!("pages/p{i:03}.html"),
                format!("<p>{i}</p>").into_bytes(),
            )
        })
        .collect();
    let mut files: Vec<(&str, &[u8])> = bodies
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    files.push(("index.html", b"<h1>big</h1>"));
    let (_keep, dir) = site("netlify-async", &files);
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((out.files, out.uploaded), (151, 151));
    assert_eq!(
        fx.fetch(&out.url, "/pages/p149.html").await.2,
        b"<p>149</p>"
    );
    let log = paths(&fx.requests().await);
    let create = log
        .iter()
        .position(|p| p.starts_with("POST ") && p.ends_with("/deploys"))
        .expect("the deploy was created");
    let first_upload = log.iter().position(|p| p.contains("/files/")).unwrap();
    assert!(
        log[create..first_upload]
            .iter()
            .any(|p| p.starts_with("GET ") && p.contains("/deploys/")),
        "the diff was polled before uploading: {log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_ratelimit_reset_is_waited_out_on_api_calls_and_uploads() {
    let mut fx = Fixture::new(SPEC).await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    for (method, path) in [("POST", "/deploys"), ("PUT", "/files/")] {
        fx.fault(json!({"platform": "netlify", "method": method, "path": path, "status": 429,
            "body": "{\"code\":429,\"message\":\"API Request rate limit surpassed for application\"}",
            "headers": {"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.to_string()},
            "count": 1}))
        .await;
    }
    let (_keep, dir) = site("netlify-ratelimit", &sample_files());
    let started = Instant::now();
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the reset time was honoured ({:?})",
        started.elapsed()
    );
    let limited = fx
        .requests()
        .await
        .iter()
        .filter(|r| r["status"] == 429)
        .count();
    assert_eq!(limited, 2);
    assert_eq!(fx.fetch(&out.url, "/").await.2, sample_files()[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_deploys_leave_production_alone() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("netlify-preview", &[("index.html", b"live")]);
    let live = fx.deploy(&dir).await.unwrap();
    let production = live.production_url.clone().unwrap();
    assert!(
        production.ends_with("netlify-preview.netlify.app"),
        "{production}"
    );
    assert_ne!(live.url, production, "the deploy has its own address");
    write(&dir, "index.html", b"draft");
    let mut request = DeployRequest::new(&dir, Platform::Netlify);
    request.environment = Environment::Preview;
    let preview = fx.deploy_request(request).await.unwrap();
    assert_eq!(preview.production_url, None);
    assert_eq!(fx.fetch(&preview.url, "/").await.2, b"draft");
    assert_eq!(fx.fetch(&production, "/").await.2, b"live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_files_are_uploaded_once_per_path() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "netlify-dupes",
        &[
            ("index.html", b"same"),
            ("copy/index.html", b"same"),
            ("other.txt", b"x"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    // specs/netlify.md §5.2: every path whose SHA-1 is required is PUT.
    assert_eq!(out.uploaded, 3);
    assert_eq!(fx.fetch(&out.url, "/copy/index.html").await.2, b"same");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_lacks_permission() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("NETLIFY_AUTH_TOKEN", "sitedrop_readonly_token");
    let (_keep, dir) = site("netlify-readonly", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "permission_missing", "{err}");
    assert!(err.to_string().contains("Netlify"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_called_expired() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("NETLIFY_AUTH_TOKEN", "sitedrop_expired_token");
    let (_keep, dir) = site("netlify-expired", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "token_expired", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_by_someone_else_gets_a_suffix() {
    let mut fx = Fixture::new(SPEC).await;
    let emu = fx.emulator.as_ref().unwrap().url();
    reqwest::Client::new()
        .post(format!("{emu}/_emulator/taken"))
        .json(&json!({"platform": "netlify", "name": "netlify-taken"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let (_keep, dir) = site("netlify-taken", &[("index.html", b"mine")]);
    let (sink, events) = recorder();
    let out = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Netlify),
            sink,
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.project.starts_with("netlify-taken-")
            && out.project.len() == "netlify-taken-".len() + 5,
        "{}",
        out.project
    );
    assert!(events.lock().unwrap().iter().any(|e| matches!(e,
        Progress::Warning { message } if message.contains("\"netlify-taken\" is already used"))));
    // The next deploy of the folder goes to the same site.
    write(&dir, "index.html", b"mine, again");
    let again = fx.deploy(&dir).await.unwrap();
    assert_eq!(again.project, out.project);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_names_the_account_and_refuses_an_unknown_team() {
    let mut fx = Fixture::new(SPEC).await;
    let engine = fx.engine();
    let token = || Credentials::Token(sitedrop_core::secrets::Secret::new("sitedrop_test_token"));
    let account = engine
        .connect_account(Platform::Netlify, token(), None)
        .await
        .unwrap();
    assert_eq!(account.label, "tester@sitedrop.test");
    assert_eq!(account.account_ref.as_deref(), Some("sitedrop"));
    let err = engine
        .connect_account(
            Platform::Netlify,
            token(),
            Some("someone-elses-team".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "account_not_found", "{err}");
    assert!(err.to_string().contains("someone-elses-team"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_site_takes_it_down() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("netlify-remove", &[("index.html", b"bye")]);
    let out = fx.deploy(&dir).await.unwrap();
    let production = out.production_url.clone().unwrap();
    assert_eq!(fx.fetch(&production, "/").await.0, 200);
    fx.engine().remove_site(out.site_id, true).await.unwrap();
    assert_eq!(fx.fetch(&production, "/").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_is_reported_until_the_deploy_is_ready() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"netlify_processing_ms": 1500})).await;
    let (_keep, dir) = site("netlify-processing", &[("index.html", b"slow")]);
    let (sink, events) = recorder();
    let out = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Netlify),
            sink,
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(events.lock().unwrap().iter().any(|e| matches!(e,
        Progress::Processing { detail } if detail == "processing")));
    assert_eq!(fx.fetch(&out.url, "/").await.2, b"slow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_name_never_takes_over_an_existing_site() {
    crate::suite::a_derived_name_never_takes_over_an_existing_site(SPEC).await
}

/// §7 / §14 step 6: a deploy that fails after it was created is cancelled, not left sitting
/// half-uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_that_fails_after_creation_is_cancelled() {
    let mut fx = Fixture::new(SPEC).await;
    fx.fault(
        serde_json::json!({"platform": "netlify", "path": "/files/", "status": 400,
        "body": "{\"code\":400,\"message\":\"Bad Request\"}"}),
    )
    .await;
    let (_keep, dir) = site("netlify-aborted", &[("index.html", b"x")]);
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "rejected", "{err}");
    let state = fx.state().await;
    let deploys: Vec<_> = state["netlify"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["deploys"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(deploys.len(), 1, "{state}");
    assert_eq!(
        deploys[0]["state"], "error",
        "the half-made deploy was cancelled: {state}"
    );
}

/// Cancelling while the platform is already publishing cannot promise that nothing goes live,
/// and says so; the history records the deploy as cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_publishing_says_the_site_may_still_go_live() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(serde_json::json!({"netlify_processing_ms": 3000}))
        .await;
    let (_keep, dir) = site("netlify-late-cancel", &[("index.html", b"x")]);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let sink: sitedrop_core::ProgressSink = std::sync::Arc::new(move |p| {
        if matches!(p, Progress::Processing { .. }) {
            c.cancel();
        }
    });
    let err = fx
        .engine()
        .deploy(DeployRequest::new(&dir, Platform::Netlify), sink, cancel)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "cancelled");
    assert!(err.to_string().contains("may still go live"), "{err}");
    let rows = fx.engine().history().deployments(None, 1).unwrap();
    assert_eq!(
        rows[0].status,
        sitedrop_core::history::DeployStatus::Cancelled
    );
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
