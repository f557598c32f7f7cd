//! Cloudflare Workers static assets against the emulator (`specs/cloudflare.md` §4).

use sitedrop_core::Platform;

use crate::fixture::PlatformSpec;

pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::CloudflareWorkers,
    upload_path: "/workers/assets/upload",
    emulator_platform: "cloudflare",
    token_var: "CLOUDFLARE_API_TOKEN",
    max_file_size: Some(25 * 1024 * 1024),
    incremental: true,
    rollback: true,
    tls: false,
};

crate::conformance!(SPEC, network);

use serde_json::json;
use sitedrop_core::{DeployRequest, Environment};
use sitedrop_emulator::Config;

use crate::cloudflare_pages::{calls, head};
use crate::fixture::{site, write, Fixture};
use crate::suite::sample_files;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_worker_is_put_and_an_existing_one_gets_a_version_and_a_deployment() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("workers-flow", &sample_files());
    let first = fx.deploy(&dir).await.unwrap();
    assert_eq!(first.url, "https://workers-flow.sitedrop.workers.dev");
    assert_eq!(first.production_url.as_deref(), Some(first.url.as_str()));
    assert_eq!(
        calls(&fx, "/workers/scripts/workers-flow")
            .await
            .into_iter()
            .filter(|(m, _)| m != "GET")
            .collect::<Vec<_>>(),
        [
            ("POST".to_string(), 200), // assets-upload-session
            ("PUT".to_string(), 200),  // the new script
            ("POST".to_string(), 200), // workers.dev on
        ]
    );
    fx.clear_requests().await;
    write(&dir, "index.html", b"<h1>v2</h1>");
    let second = fx.deploy(&dir).await.unwrap();
    let writes: Vec<String> = fx
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    let base = "/client/v4/accounts/0123456789abcdef0123456789abcdef/workers";
    assert_eq!(
        writes,
        [
            format!("POST {base}/scripts/workers-flow/assets-upload-session"),
            format!("POST {base}/assets/upload"),
            format!("POST {base}/scripts/workers-flow/versions"),
            format!("POST {base}/scripts/workers-flow/deployments"),
            format!("POST {base}/scripts/workers-flow/subdomain"),
        ]
    );
    assert_ne!(first.id, second.id);
    assert_eq!(fx.fetch(&second.url, "/").await.2, b"<h1>v2</h1>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assetsignore_is_honoured_and_types_follow_the_workers_rules() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "workers-types",
        &[
            ("index.html", b"<p>home</p>"),
            ("notes.txt", b"plain words"),
            ("README", b"no extension"),
            ("drafts/secret-plan.html", b"not for the public"),
            (".assetsignore", b"drafts/\n"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap();
    assert_eq!(out.files, 3, ".assetsignore and what it lists stay home");
    let (_, ctype, body) = fx.fetch(&out.url, "/notes.txt").await;
    assert_eq!(
        (ctype.as_str(), body.as_slice()),
        ("text/plain; charset=utf-8", &b"plain words"[..])
    );
    let (_, ctype, body) = fx.fetch(&out.url, "/README").await;
    assert_eq!(
        (ctype.as_str(), body.as_slice()),
        ("", &b"no extension"[..]),
        "application/null: no type"
    );
    let (status, _, body) = fx.fetch(&out.url, "/drafts/secret-plan.html").await;
    assert_ne!(body, b"not for the public", "status {status}");
    // No 404.html: a missing page falls back to the home page, as on Pages.
    assert_eq!(fx.fetch(&out.url, "/no/such/page").await.2, b"<p>home</p>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_redirects_travel_in_the_worker_config() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "workers-rules",
        &[
            ("index.html", b"home"),
            ("new.html", b"new"),
            ("404.html", b"lost"),
            ("_headers", b"/*\n  X-Sitedrop-Test: applied\n"),
            ("_redirects", b"/old /new.html 301\n"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap();
    assert_eq!(out.files, 3);
    let (_, headers) = head(&fx, &out.url, "/").await;
    assert_eq!(headers["x-sitedrop-test"], "applied");
    let (status, headers) = head(&fx, &out.url, "/old").await;
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (301, "/new.html")
    );
    let (status, _, body) = fx.fetch(&out.url, "/missing").await;
    assert_eq!((status, body.as_slice()), (404, &b"lost"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_is_refused_with_a_sentence_before_anything_is_sent() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("workers-preview", &sample_files());
    let mut request = DeployRequest::new(&dir, SPEC.platform);
    request.environment = Environment::Preview;
    let err = fx.deploy_request(request).await.unwrap_err();
    assert_eq!(err.kind(), "unsupported", "{err}");
    assert!(
        err.to_string().contains("Cloudflare Pages for previews"),
        "{err}"
    );
    assert!(fx.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_token_names_the_workers_permission() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("CLOUDFLARE_API_TOKEN", "sitedrop_readonly_token");
    let (_keep, dir) = site("workers-readonly", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "permission_missing", "{err}");
    assert!(
        err.to_string().contains("Account · Workers Scripts · Edit"),
        "{err}"
    );
    assert_eq!(fx.uploads().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_used_by_another_worker_gets_a_suffix() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep1, first) = site("shop", &[("index.html", b"first shop")]);
    let (_keep2, second) = site("shop", &[("index.html", b"second shop")]);
    let a = fx.deploy(&first).await.unwrap();
    let b = fx.deploy(&second).await.unwrap();
    assert_eq!(a.project, "shop");
    assert!(b.project.starts_with("shop-"), "{}", b.project);
    assert_eq!(fx.fetch(&a.url, "/").await.2, b"first shop");
    assert_eq!(fx.fetch(&b.url, "/").await.2, b"second shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_a_workers_dev_subdomain_is_told_before_uploading() {
    let config = Config {
        cloudflare_workers_subdomain: None,
        ..Config::default()
    };
    let mut fx = Fixture::with_config(SPEC, config).await;
    let (_keep, dir) = site("workers-nosub", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert!(
        err.to_string().contains("no workers.dev subdomain"),
        "{err}"
    );
    assert_eq!(fx.uploads().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pages_worker_script_is_not_published_without_assetsignore() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "workers-guard",
        &[
            ("index.html", b"home"),
            ("_worker.js", b"export default {}"),
        ],
    );
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "bad_file_name", "{err}");
    assert!(err.to_string().contains("_worker.js"), "{err}");
    assert!(fx.requests().await.is_empty());
    write(&dir, ".assetsignore", b"_worker.js\n");
    let out = fx.deploy(&dir).await.unwrap();
    assert_eq!(out.files, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_session_that_expires_says_to_deploy_again() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"cloudflare_workers_jwt_ttl_secs": 1}))
        .await;
    fx.fault(json!({"platform": "cloudflare", "path": "/workers/assets/upload", "latency_ms": 2100, "count": 1}))
        .await;
    let (_keep, dir) = site("workers-slow", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "deploy_failed", "{err}");
    assert!(err.to_string().contains("Deploy again"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_site_deletes_the_worker() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("workers-remove", &[("index.html", b"bye")]);
    let out = fx.deploy(&dir).await.unwrap();
    fx.engine().remove_site(out.site_id, true).await.unwrap();
    assert!(calls(&fx, "/workers/scripts/workers-remove")
        .await
        .contains(&("DELETE".into(), 200)));
    assert_ne!(fx.fetch(&out.url, "/").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_timeouts_are_retried() {
    let mut fx = Fixture::new(SPEC).await;
    fx.fault(
        json!({"platform": "cloudflare", "path": SPEC.upload_path, "status": 524, "count": 2}),
    )
    .await;
    let (_keep, dir) = site("workers-524", &sample_files());
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
    assert_eq!(statuses, [524, 524, 201]);
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
