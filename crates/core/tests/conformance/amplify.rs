//! AWS Amplify Hosting through the emulator, which verifies every SigV4 signature
//! (`specs/amplify.md`): the shared suite, then what is Amplify's own — stuck jobs, AWS key
//! kinds and their refusals, previews on their own branch, removal.

use serde_json::{json, Value};
use sitedrop_core::history::DeployStatus;
use sitedrop_core::secrets::{AwsCredentials, Credentials, Secret};
use sitedrop_core::{CancellationToken, DeployRequest, Environment, Platform, Progress};

use crate::fixture::{quiet, recorder, site, Fixture, PlatformSpec};
use crate::suite::sample_files;

const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Amplify,
    upload_path: "/_amplify-upload/",
    emulator_platform: "amplify",
    // A wrong secret: the request reaches AWS and its signature does not match.
    token_var: "AWS_SECRET_ACCESS_KEY",
    max_file_size: None,
    incremental: false,
    rollback: false,
    tls: false,
};

crate::conformance!(SPEC, network);

/// The emulator's state dump for Amplify.
async fn apps(fx: &Fixture) -> Vec<Value> {
    let url = format!("{}/_emulator/state", fx.emulator.as_ref().unwrap().url());
    let state: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    state["amplify"]["apps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The app id in a `https://main.<appId>.amplifyapp.com/` address.
fn app_id(url: &str) -> String {
    url.split('.').nth(1).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_land_on_the_main_branch_of_a_manual_app() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("amplify-first", &sample_files());
    let out = fx.deploy(&dir).await.unwrap();
    let id = app_id(&out.url);
    assert_eq!(out.url, format!("https://main.{id}.amplifyapp.com/"));
    assert_eq!(out.production_url.as_deref(), Some(out.url.as_str()));
    let apps = apps(&fx).await;
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["name"], "amplify-first");
    // A second deploy reuses the app and the branch.
    let again = fx.deploy(&dir).await.unwrap();
    assert_eq!(again.url, out.url);
    assert_eq!(
        fx.engine().history().sites().unwrap()[0]
            .remote_id
            .as_deref(),
        Some(id.as_str())
    );
    let requests = fx.requests().await;
    let creates = requests
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/apps")
        .count();
    assert_eq!(creates, 1, "one CreateApp for two deploys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_pending_job_is_stopped_first() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("amplify-stuck", &[("index.html", b"one")]);
    let out = fx.deploy(&dir).await.unwrap();
    let id = app_id(&out.url);
    let control = format!(
        "{}/_emulator/amplify/stuck-job",
        fx.emulator.as_ref().unwrap().url()
    );
    let resp = reqwest::Client::new()
        .post(control)
        .json(&json!({"app_id": id, "branch": "main"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    fx.clear_requests().await;

    std::fs::write(dir.join("index.html"), b"two").unwrap();
    let (sink, events) = recorder();
    let again = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Amplify),
            sink,
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(fx.fetch(&again.url, "/").await.2, b"two");
    let log = fx.requests().await;
    let position = |pred: &dyn Fn(&Value) -> bool| log.iter().position(pred);
    let stop = position(&|r| {
        r["method"] == "DELETE" && r["path"].as_str().unwrap().ends_with("/jobs/2/stop")
    })
    .expect("StopJob for the stuck job");
    let create = position(&|r| {
        r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/deployments")
    })
    .expect("CreateDeployment");
    assert!(
        stop < create,
        "the stuck job is stopped before the deployment is created"
    );
    assert!(events.lock().unwrap().iter().any(|e| matches!(e,
        Progress::Warning { message } if message.contains("job 2"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_asks_to_check_the_secret_and_the_clock() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("AWS_SECRET_ACCESS_KEY", "wrong-secret");
    let (_keep, dir) = site("amplify-secret", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "token_invalid");
    let text = err.to_string();
    assert!(
        text.contains("secret access key") && text.contains("clock"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_access_key_is_named_by_its_last_characters() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("AWS_ACCESS_KEY_ID", "AKIDNOBODYKNOWS1234");
    let (_keep, dir) = site("amplify-key", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "token_invalid");
    assert!(err.to_string().contains("ending in 1234"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_region_gets_a_sentence_about_the_region() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("AWS_REGION", "eu-west-3");
    let (_keep, dir) = site("amplify-region", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("region \"eu-west-3\""), "{text}");
    assert!(text.contains("Choose a region"), "{text}");
    assert!(err.is_input_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_credentials_with_a_session_token_deploy() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("AWS_ACCESS_KEY_ID", "ASIASITEDROPTEMP");
    fx.set_env("AWS_SECRET_ACCESS_KEY", "sitedrop-temp-secret");
    fx.set_env("AWS_SESSION_TOKEN", "sitedrop-session-token");
    let (_keep, dir) = site("amplify-temp", &sample_files());
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(
        fx.fetch(&out.url, "/js/app.js").await.2,
        b"console.log('hi');\n"
    );

    fx.set_env("AWS_SESSION_TOKEN", "sitedrop_expired_token");
    // A change, so the deploy has something to send (an unchanged folder asks nothing of AWS).
    crate::fixture::write(&dir, "js/app.js", b"console.log('again');\n");
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "token_expired", "{err}");

    // The same temporary keys without their token.
    let env = fx.env.clone();
    fx.env = sitedrop_core::config::Env::from_pairs(
        sitedrop_core::config::VARS
            .iter()
            .filter(|v| **v != "AWS_SESSION_TOKEN")
            .filter_map(|v| Some((*v, env.get(v)?.to_string()))),
    );
    let err = fx
        .fresh_engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Amplify),
            quiet(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        "token_invalid",
        "temporary keys without their token: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_key_is_missing_a_named_permission() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("AWS_ACCESS_KEY_ID", "AKIDSITEDROPREADONLY");
    let (_keep, dir) = site("amplify-readonly", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "permission_missing", "{err}");
    assert!(err.to_string().contains("amplify:CreateApp"), "{err}");
    assert_eq!(fx.uploads().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_checked_with_one_signed_call_and_labelled() {
    let mut fx = Fixture::new(SPEC).await;
    let keys = |secret: &str| {
        Credentials::Aws(AwsCredentials {
            access_key_id: "AKIDSITEDROPTEST".into(),
            secret_access_key: Secret::new(secret),
            session_token: None,
            region: "us-east-1".into(),
        })
    };
    let engine = fx.engine();
    let account = engine
        .connect_account(
            Platform::Amplify,
            keys("sitedrop-test-secret"),
            Some("us-east-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(account.label, "AWS key …TEST in us-east-1");
    let log = fx.requests().await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["method"].as_str(), log[0]["path"].as_str()),
        (Some("GET"), Some("/apps"))
    );
    let err = engine
        .connect_account(Platform::Amplify, keys("nope"), Some("us-east-1".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "token_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_go_to_their_own_branch_and_leave_production_alone() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("amplify-preview", &[("index.html", b"live")]);
    let live = fx.deploy(&dir).await.unwrap();
    std::fs::write(dir.join("index.html"), b"draft").unwrap();
    let mut request = DeployRequest::new(&dir, Platform::Amplify);
    request.environment = Environment::Preview;
    let preview = fx.deploy_request(request).await.unwrap();
    assert_eq!(
        preview.url,
        format!("https://preview.{}.amplifyapp.com/", app_id(&live.url))
    );
    assert_eq!(preview.production_url, None);
    assert_eq!(fx.fetch(&preview.url, "/").await.2, b"draft");
    assert_eq!(fx.fetch(&live.url, "/").await.2, b"live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_jobs_are_polled_with_their_status_shown() {
    let mut fx = Fixture::new(SPEC).await;
    fx.configure(json!({"amplify_pending_ms": 300, "amplify_running_ms": 1500}))
        .await;
    let (_keep, dir) = site("amplify-slow", &sample_files());
    let (sink, events) = recorder();
    let out = fx
        .engine()
        .deploy(
            DeployRequest::new(&dir, Platform::Amplify),
            sink,
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(out.status, DeployStatus::Live);
    let details: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Processing { detail } => Some(detail.clone()),
            _ => None,
        })
        .collect();
    assert!(
        details.contains(&"the deploy is queued".to_string()),
        "{details:?}"
    );
    assert!(
        details.contains(&"deploying the zip".to_string()),
        "{details:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_says_why() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("amplify-noindex", &[("about.html", b"no home page")]);
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "deploy_failed", "{err}");
    assert!(err.to_string().contains("no index.html"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_site_deletes_its_branches() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("amplify-remove", &[("index.html", b"bye")]);
    let out = fx.deploy(&dir).await.unwrap();
    let engine = fx.engine();
    engine.remove_site(out.site_id, true).await.unwrap();
    let apps = apps(&fx).await;
    assert_eq!(apps[0]["branches"].as_array().unwrap().len(), 0, "{apps:?}");
    let (status, _, body) = fx.fetch(&out.url, "/").await;
    assert!(
        status >= 400 && body != b"bye",
        "the site is gone: {status}"
    );
    assert!(engine.history().sites().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_name_never_takes_over_an_existing_site() {
    crate::suite::a_derived_name_never_takes_over_an_existing_site(SPEC).await
}

/// A deploy that fails after CreateDeployment stops its job at once, so the next deploy finds
/// the branch free (§4.2 pitfall 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_stops_its_job_at_once() {
    let mut fx = Fixture::new(SPEC).await;
    fx.fault(
        serde_json::json!({"platform": "amplify", "path": "/_amplify-upload", "status": 403,
        "body": "<Error><Code>AccessDenied</Code></Error>", "content_type": "application/xml"}),
    )
    .await;
    let (_keep, dir) = site("amplify-aborted", &[("index.html", b"x")]);
    fx.deploy(&dir).await.unwrap_err();
    let state = fx.state().await;
    let jobs: Vec<_> = state["amplify"]["apps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["branches"].as_array().cloned().unwrap_or_default())
        .flat_map(|b| b["jobs"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(jobs.len(), 1, "{state}");
    assert_eq!(jobs[0]["status"], "CANCELLED", "{state}");
    fx.clear_faults().await;
    let (sink, events) = crate::fixture::recorder();
    fx.engine()
        .deploy(
            sitedrop_core::DeployRequest::new(&dir, SPEC.platform),
            sink,
            sitedrop_core::CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(
        !events.lock().unwrap().iter().any(
            |e| matches!(e, sitedrop_core::Progress::Warning { message } if message.contains("job"))
        ),
        "nothing was left to stop"
    );
}

/// CreateApp's answer lost after Amplify made the app: the retry finds that app instead of
/// making a second one of the same name (names are not unique, §1.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_does_not_make_a_second_app() {
    let mut fx = Fixture::new(SPEC).await;
    fx.fault(json!({"platform": "amplify", "method": "POST", "path": "/apps", "lose_answer": true, "count": 1}))
        .await;
    let (_keep, dir) = site("amplify-lost-answer", &sample_files());
    let out = fx.deploy(&dir).await.unwrap();
    let apps = apps(&fx).await;
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0]["appId"].as_str(), Some(app_id(&out.url).as_str()));
    let creates = fx
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/apps")
        .count();
    assert_eq!(creates, 1, "the lost CreateApp is not repeated");
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
