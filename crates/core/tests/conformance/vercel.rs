//! Vercel: the shared suite, then what only Vercel does (`specs/vercel.md`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sitedrop_core::{DeployRequest, Environment, Platform};

use crate::fixture::{site, write, Fixture, PlatformSpec};
use crate::suite::sample_files;

pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Vercel,
    upload_path: "/v2/files",
    emulator_platform: "vercel",
    token_var: "VERCEL_TOKEN",
    max_file_size: None,
    incremental: true,
    rollback: true,
    tls: false,
};

crate::conformance!(SPEC, network);

async fn state(fx: &Fixture) -> Value {
    reqwest::get(format!(
        "{}/_emulator/state",
        fx.emulator.as_ref().unwrap().url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_files_are_uploaded_then_the_identical_request_repeated() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "vercel-flow",
        &[
            ("index.html", b"same"),
            ("copy.html", b"same"),
            ("a.css", b"p{}"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    // §3.3: each distinct content is uploaded once, every path is still listed.
    assert_eq!((out.files, out.uploaded), (3, 2));
    assert_eq!(fx.fetch(&out.url, "/copy.html").await.2, b"same");
    let log: Vec<(String, u64)> = fx
        .requests()
        .await
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/v13/deployments") || p == "/v2/files")
        })
        .filter(|r| r["method"] == "POST")
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = vec![
        ("/v13/deployments".into(), 400),
        ("/v2/files".into(), 200),
        ("/v2/files".into(), 200),
        ("/v13/deployments".into(), 200),
    ];
    assert_eq!(log, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_upload_quota_stops_the_deploy_and_says_when_it_resets() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"vercel_daily_upload_quota": 3})).await;
    let (_keep, dir) = site("vercel-quota", &sample_files());
    let started = Instant::now();
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "quota_exhausted", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("Vercel's daily file-upload quota (api-upload-free"),
        "{msg}"
    );
    assert!(
        msg.contains("It resets at ") && msg.contains("(in 24 hours)"),
        "{msg}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a quota is not retried"
    );
    let refused = fx
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/v2/files" && r["status"] == 429)
        .count();
    assert!(
        refused <= sample_files().len() - 3,
        "no upload was retried ({refused})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_lacks_permission() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("VERCEL_TOKEN", "sitedrop_readonly_token");
    let (_keep, dir) = site("vercel-readonly", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "permission_missing", "{err}");
    assert!(err.to_string().contains("Vercel"), "{err}");
    assert_eq!(fx.uploads().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vercel_org_id_deploys_into_the_team() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("VERCEL_ORG_ID", "team_sitedrop000000000000");
    let (_keep, dir) = site("vercel-team", &[("index.html", b"team site")]);
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fx.fetch(&out.url, "/").await.2, b"team site");
    let projects = state(&fx).await["vercel"]["projects"].clone();
    let project = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "vercel-team")
        .unwrap_or_else(|| panic!("{projects}"));
    assert_eq!(project["scope"], "team_sitedrop000000000000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_team_is_named() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("VERCEL_ORG_ID", "team_someoneelse");
    let (_keep, dir) = site("vercel-noteam", &[("index.html", b"x")]);
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "account_not_found", "{err}");
    assert!(err.to_string().contains("team_someoneelse"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_with_a_public_subfolder_is_served_as_it_is() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site(
        "vercel-public",
        &[
            ("index.html", b"the root"),
            ("public/index.html", b"a subfolder"),
            ("package.json", b"{\"scripts\":{\"build\":\"exit 1\"}}"),
        ],
    );
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fx.fetch(&out.url, "/").await.2, b"the root");
    assert_eq!(
        fx.fetch(&out.url, "/public/index.html").await.2,
        b"a subfolder"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_deploys_leave_production_alone() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("vercel-preview", &[("index.html", b"live")]);
    let live = fx.deploy(&dir).await.unwrap();
    let production = live.production_url.clone().unwrap();
    assert_eq!(production, "https://vercel-preview.vercel.app");
    write(&dir, "index.html", b"draft");
    let mut request = DeployRequest::new(&dir, Platform::Vercel);
    request.environment = Environment::Preview;
    let preview = fx.deploy_request(request).await.unwrap();
    assert_eq!(preview.production_url, None);
    assert!(preview.url.ends_with(".vercel.app") && preview.url != production);
    assert_eq!(fx.fetch(&preview.url, "/").await.2, b"draft");
    assert_eq!(fx.fetch(&production, "/").await.2, b"live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_15000_files_are_refused_before_upload() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("vercel-many", &[("index.html", b"x")]);
    for i in 0..15_000 {
        let sub = dir.join(format!("d{}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(sub.join(format!("{i}.txt")), b"").unwrap();
    }
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "too_many_files", "{err}");
    assert!(err.to_string().contains("15000"), "{err}");
    assert!(fx.requests().await.is_empty(), "nothing may reach Vercel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_follows_a_rollback_made_in_the_dashboard() {
    // After Vercel's "instant rollback", new production deployments do not take the domain
    // until one is promoted; a production deploy from Sitedrop promotes itself.
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("vercel-dashboard", &[("index.html", b"one")]);
    let first = fx.deploy(&dir).await.unwrap();
    write(&dir, "index.html", b"two");
    fx.deploy(&dir).await.unwrap();
    let project = fx
        .engine()
        .history()
        .site(first.site_id)
        .unwrap()
        .unwrap()
        .remote_id
        .unwrap();
    let first_remote = fx
        .engine()
        .history()
        .deployment(first.id)
        .unwrap()
        .unwrap()
        .remote_id
        .unwrap();
    let emu = fx.emulator.as_ref().unwrap().url();
    reqwest::Client::new()
        .post(format!(
            "{emu}/v9/projects/{project}/rollback/{first_remote}"
        ))
        .bearer_auth("sitedrop_test_token")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let production = first.production_url.clone().unwrap();
    assert_eq!(fx.fetch(&production, "/").await.2, b"one");
    write(&dir, "index.html", b"three");
    let third = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third.production_url.as_deref(), Some(production.as_str()));
    assert_eq!(fx.fetch(&production, "/").await.2, b"three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_is_reported_until_the_deployment_is_ready() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"vercel_processing_ms": 1500})).await;
    let (_keep, dir) = site("vercel-building", &[("index.html", b"slow")]);
    let (sink, events) = crate::fixture::recorder();
    let out = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Vercel),
            sink,
            sitedrop_core::CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(events.lock().unwrap().iter().any(|e| matches!(e,
        sitedrop_core::Progress::Processing { detail } if detail == "building")));
    assert_eq!(fx.fetch(&out.url, "/").await.2, b"slow");
    assert_eq!(
        fx.fetch(out.production_url.as_deref().unwrap(), "/")
            .await
            .2,
        b"slow"
    );
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
