//! Netlify without an account (Netlify Drop, `specs/netlify.md §10.2`): the suite's behaviours
//! that apply to a temporary site, then what is particular to it. There is no token, so the
//! bad-token test does not apply; a temporary site cannot be changed, so rollback is replaced
//! by a test that says so.

use std::time::Duration;

use serde_json::json;
use sitedrop_core::history::DeployStatus;
use sitedrop_core::progress::Progress;
use sitedrop_core::{CancellationToken, DeployRequest, Platform};

use crate::fixture::{quiet, recorder, site, write, Fixture, PlatformSpec};
use crate::suite::sample_files;

/// No `token_var`: the fixture leaves `NETLIFY_AUTH_TOKEN` out of the environment.
pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Netlify,
    upload_path: "/files/",
    emulator_platform: "netlify",
    token_var: "",
    max_file_size: None,
    incremental: true,
    rollback: true,
    tls: false,
};

crate::conformance!(@tests SPEC; fresh_deploy_serves_exact_bytes, unchanged_redeploy_uploads_nothing,
    one_changed_file_uploads_one, awkward_paths_round_trip, server_errors_are_survived,
    rate_limit_is_waited_out, dropped_connections_are_survived);

fn warnings(events: &[Progress]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Progress::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn says_plainly_it_is_deployed_without_an_account_and_gives_the_claim_link() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("drop-first", &sample_files());
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
    let events = events.lock().unwrap().clone();
    let said = warnings(&events);
    assert!(
        said.iter().any(|w| w.starts_with("No Netlify account is connected, so this is deployed without one: the site is temporary until you claim it")),
        "{said:?}"
    );
    // Said before anything was uploaded.
    let warned = events
        .iter()
        .position(|e| matches!(e, Progress::Warning { .. }))
        .unwrap();
    let uploading = events
        .iter()
        .position(|e| matches!(e, Progress::Uploading { .. }))
        .unwrap();
    assert!(warned < uploading);

    let claim = out.claim_url.clone().expect("a claim link");
    assert!(
        claim.starts_with("https://app.netlify.com/drop/") && claim.contains("#drop_token="),
        "{claim}"
    );
    let note = out.note.clone().expect("a note on how long the site lives");
    assert!(
        note.contains("temporary") && note.contains("(in 60 minutes)"),
        "{note}"
    );
    assert!(
        note.contains("deploying this folder again makes a new temporary site"),
        "{note}"
    );
    assert!(out.url.ends_with(".netlify.app"), "{}", out.url);
    assert_eq!(out.production_url.as_deref(), Some(out.url.as_str()));

    // Sitedrop names itself in `created_via`, so the site is open, not behind Drop's password.
    let (status, _, body) = fx.fetch(&out.url, "/").await;
    assert_eq!((status, body.as_slice()), (200, sample_files()[0].1));

    // The history remembers the temporary site.
    let row = &fx.engine().history().deployments(None, 1).unwrap()[0];
    assert_eq!(row.status, DeployStatus::Live);
    let site = fx.engine().history().site(row.site_id).unwrap().unwrap();
    assert_eq!(site.url.as_deref(), Some(out.url.as_str()));
    assert!(out.url.contains(site.project.as_deref().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_is_gone_when_its_time_is_up() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"netlify_drop_ttl_secs": 4})).await;
    let (_keep, dir) = site("drop-ttl", &[("index.html", b"brief")]);
    let out = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    let note = out.note.unwrap();
    assert!(note.contains("deletes it in "), "{note}");
    assert!(note.contains(" seconds unless you claim it"), "{note}");
    assert_eq!(fx.fetch(&out.url, "/").await.0, 200);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        fx.fetch(&out.url, "/").await.0,
        404,
        "unclaimed, it expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_makes_a_new_temporary_site_and_says_so() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("drop-again", &[("index.html", b"one")]);
    let first = fx.deploy(&dir).await.unwrap();
    write(&dir, "index.html", b"two");
    let (sink, events) = recorder();
    let second = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Netlify),
            sink,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_ne!(first.url, second.url);
    let first_host = url::Url::parse(&first.url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let said = warnings(&events.lock().unwrap());
    assert!(
        said.iter()
            .any(|w| w.contains("makes a new temporary site") && w.contains(&first_host)),
        "{said:?}"
    );
    assert_eq!(fx.fetch(&first.url, "/").await.2, b"one");
    assert_eq!(fx.fetch(&second.url, "/").await.2, b"two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_limit_says_to_connect_an_account() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"netlify_drop_daily_limit": 1})).await;
    let (_keep, dir) = site("drop-limit", &[("index.html", b"x")]);
    fx.deploy(&dir).await.unwrap();
    let started = std::time::Instant::now();
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "quota_exhausted", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("without an account") && msg.contains("sitedrop login netlify"),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_without_an_account_is_explained() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("drop-rollback", &[("index.html", b"one")]);
    let first = fx.deploy(&dir).await.unwrap();
    write(&dir, "index.html", b"two");
    fx.deploy(&dir).await.unwrap();
    let err = fx
        .engine()
        .rollback(first.id, quiet(), CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "unsupported", "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("No Netlify account is connected")
            && msg.contains("sitedrop login netlify"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_claimed_and_an_account_connected_the_site_is_updated() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("drop-claim", &[("index.html", b"anonymous")]);
    let first = fx.deploy(&dir).await.unwrap();
    let claim = first.claim_url.clone().unwrap();
    let token = claim.split("#drop_token=").nth(1).unwrap();
    let site_id = {
        let site = fx.engine().history().site(first.site_id).unwrap().unwrap();
        site.remote_id.unwrap()
    };
    // What the claim page does once the person has signed up (netlify-cli `claimDropSite`).
    let api = format!("{}/api/v1", fx.emulator.as_ref().unwrap().url());
    reqwest::Client::new()
        .post(format!("{api}/drop/claim"))
        .bearer_auth("sitedrop_test_token")
        .json(&json!({"site": site_id, "token": token}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    fx.set_env("NETLIFY_AUTH_TOKEN", "sitedrop_test_token");
    write(&dir, "index.html", b"with an account");
    let second = fx.deploy(&dir).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        second.project, first.project,
        "the claimed site was updated"
    );
    assert_eq!(second.claim_url, None);
    assert_eq!(fx.fetch(&first.url, "/").await.2, b"with an account");
}
