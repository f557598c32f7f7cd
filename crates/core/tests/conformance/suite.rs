//! The provider conformance suite (`DESIGN.md`, "Tests" §2): one set of behaviours, checked
//! against every provider through the emulator. Each platform module instantiates it with
//! [`conformance!`](crate::conformance) and adds its own platform-specific tests beside it.
// The offline local target skips the network behaviours.
#![allow(dead_code)]

use serde_json::json;
use sitedrop_core::history::DeployStatus;
use sitedrop_core::{CancellationToken, DeployRequest};

use crate::fixture::{quiet, site, write, Fixture, PlatformSpec};

/// The files every suite deploy publishes: the kinds a static site has.
pub fn sample_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("index.html", b"<!doctype html><h1>Conformance</h1>\n"),
        ("about.html", b"<p>About</p>\n"),
        ("css/site.css", b"body { margin: 0 }\n"),
        ("js/app.js", b"console.log('hi');\n"),
        (
            "img/dot.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
        ),
        ("data/info.json", b"{\"ok\":true}\n"),
        ("fonts/empty.txt", b""),
    ]
}

/// The size of [`sample_files`] in bytes.
pub fn sample_bytes() -> u64 {
    sample_files().iter().map(|(_, b)| b.len() as u64).sum()
}

/// A fresh deploy goes live and serves the folder's exact bytes with the right types.
pub async fn fresh_deploy_serves_exact_bytes(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    let (_keep, dir) = site("conformance-fresh", &sample_files());
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(out.status, DeployStatus::Live);
    assert_eq!(out.files, sample_files().len() as u64);
    assert_eq!(out.uploaded, out.files, "a fresh deploy uploads every file");
    for (path, body) in sample_files() {
        let (status, _, got) = fx.fetch(&out.url, &format!("/{path}")).await;
        assert_eq!(
            (status, got.as_slice()),
            (200, body),
            "/{path} on {}",
            out.url
        );
    }
    let (_, html, got) = fx.fetch(&out.url, "/").await;
    assert_eq!(got, sample_files()[0].1, "/ serves index.html");
    assert!(html.starts_with("text/html"), "{html}");
    for (path, want) in [
        ("/css/site.css", "text/css"),
        ("/js/app.js", "javascript"),
        ("/img/dot.png", "image/png"),
        ("/data/info.json", "application/json"),
    ] {
        let (_, ctype, _) = fx.fetch(&out.url, path).await;
        assert!(
            ctype.contains(want),
            "{path} served as {ctype:?}, wanted {want}"
        );
    }
    let rows = fx.engine().history().deployments(None, 5).unwrap();
    assert_eq!(
        (rows[0].status, rows[0].files_total),
        (DeployStatus::Live, out.files as i64)
    );
    assert_eq!(rows[0].url.as_deref(), Some(out.url.as_str()));
}

/// Redeploying an unchanged folder sends no file contents, and the outcome says nothing
/// changed. A zip platform (Amplify) would send the whole site again, so it makes no new
/// deployment at all unless asked (`force`): then one archive of the whole site.
pub async fn unchanged_redeploy_uploads_nothing(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    let (_keep, dir) = site("conformance-same", &sample_files());
    let first = fx.deploy(&dir).await.unwrap();
    assert!(!first.unchanged, "a first deploy changes everything");
    fx.clear_requests().await;
    let again = fx.deploy(&dir).await.unwrap();
    assert!(again.unchanged, "the outcome says nothing changed");
    assert_eq!((again.uploaded, again.bytes_uploaded), (0, 0));
    assert_eq!(fx.uploads().await, 0, "no upload request may be sent");
    let row = fx.engine().history().deployment(again.id).unwrap().unwrap();
    if spec.incremental {
        assert_eq!(
            (again.status, row.status),
            (DeployStatus::Live, DeployStatus::Live)
        );
    } else {
        assert_eq!(
            (again.status, row.status),
            (DeployStatus::Unchanged, DeployStatus::Unchanged)
        );
        assert_eq!(again.url, first.url, "the live deployment is the first one");
        assert_eq!(
            row.remote_id,
            fx.engine()
                .history()
                .deployment(first.id)
                .unwrap()
                .unwrap()
                .remote_id
        );
        let writes: Vec<_> = fx
            .requests()
            .await
            .into_iter()
            .filter(|r| r["method"] != "GET")
            .collect();
        assert!(writes.is_empty(), "no deployment may be made: {writes:?}");
        fx.clear_requests().await;
        let forced = fx
            .deploy_request(DeployRequest {
                force: true,
                ..DeployRequest::new(&dir, spec.platform)
            })
            .await
            .unwrap();
        assert_eq!(forced.status, DeployStatus::Live);
        assert!(forced.unchanged, "forced, but still nothing changed");
        assert_eq!(
            (forced.uploaded, forced.bytes_uploaded),
            (forced.files, sample_bytes())
        );
        assert_eq!(fx.uploads().await, 1, "one archive of the whole site");
    }
    assert_eq!(
        fx.fetch(&again.url, "/css/site.css").await.2,
        b"body { margin: 0 }\n"
    );
}

/// Changing one file uploads that file only (a zip platform: the whole site, one archive).
pub async fn one_changed_file_uploads_one(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    let (_keep, dir) = site("conformance-one", &sample_files());
    fx.deploy(&dir).await.unwrap();
    fx.clear_requests().await;
    write(&dir, "css/site.css", b"body { margin: 2em }\n");
    let again = fx.deploy(&dir).await.unwrap();
    if spec.incremental {
        assert_eq!((again.uploaded, again.bytes_uploaded), (1, 21));
    } else {
        assert_eq!(
            (again.uploaded, again.bytes_uploaded),
            (again.files, sample_bytes() + 2)
        );
        assert_eq!(fx.uploads().await, 1, "one archive of the whole site");
    }
    assert_eq!(
        fx.fetch(&again.url, "/css/site.css").await.2,
        b"body { margin: 2em }\n"
    );
    let prod = again.production_url.clone().unwrap_or(again.url.clone());
    assert_eq!(
        fx.fetch(&prod, "/css/site.css").await.2,
        b"body { margin: 2em }\n",
        "production moved"
    );
}

/// Names with spaces, `+`, `&`, `%`, accents and deep nesting arrive intact.
pub async fn awkward_paths_round_trip(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    let deep = "deep/1/2/3/4/5/6/7/8/9/10/11/12/leaf.txt";
    let files: Vec<(&str, &[u8])> = vec![
        ("index.html", b"home"),
        ("a b.txt", b"space"),
        ("plus+sign.txt", b"plus"),
        ("this&that.txt", b"amp"),
        ("100%.txt", b"percent"),
        ("caf\u{e9}/na\u{ef}ve \u{2603}.txt", b"unicode"),
        (deep, b"leaf"),
    ];
    let (_keep, dir) = site("conformance-paths", &files);
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    for (path, body) in &files[1..] {
        let url_path = format!("/{}", sitedrop_core::verify::encode_path(path));
        let (status, _, got) = fx.fetch(&out.url, &url_path).await;
        assert_eq!((status, got.as_slice()), (200, *body), "{url_path}");
    }
}

/// Rolling back makes an earlier deploy the production one again.
pub async fn rollback_moves_production(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    let (_keep, dir) = site("conformance-rollback", &[("index.html", b"version one")]);
    let first = fx.deploy(&dir).await.unwrap();
    write(&dir, "index.html", b"version two");
    let second = fx.deploy(&dir).await.unwrap();
    let prod = second
        .production_url
        .clone()
        .expect("a production deploy has a production address");
    assert_eq!(fx.fetch(&prod, "/").await.2, b"version two");
    let engine = fx.engine();
    if !spec.rollback {
        let err = engine
            .rollback(first.id, quiet(), CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "unsupported", "{err}");
        assert_eq!(
            fx.fetch(&prod, "/").await.2,
            b"version two",
            "production untouched"
        );
        let row = &engine.history().deployments(None, 1).unwrap()[0];
        assert_eq!(
            (row.status, row.error_kind.map(|k| k.as_str())),
            (DeployStatus::Failed, Some("unsupported"))
        );
        return;
    }
    let back = engine
        .rollback(first.id, quiet(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        fx.fetch(&prod, "/").await.2,
        b"version one",
        "production serves the first deploy again"
    );
    let row = engine.history().deployment(back.id).unwrap().unwrap();
    assert_eq!(
        (row.status, row.trigger.id(), row.rollback_of),
        (DeployStatus::Live, "rollback", Some(first.id))
    );
}

/// A bad credential is refused with a sentence naming the platform, and the history says so.
pub async fn bad_token_is_refused_with_a_sentence(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    fx.set_env(spec.token_var, "not-the-right-token");
    let (_keep, dir) = site("conformance-token", &sample_files());
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "token_invalid", "{err}");
    assert!(err.to_string().contains(spec.platform.name()), "{err}");
    assert!(err.is_input_error());
    assert_eq!(fx.uploads().await, 0);
    let rows = fx.engine().history().deployments(None, 1).unwrap();
    assert_eq!(
        (rows[0].status, rows[0].error_kind.map(|k| k.as_str())),
        (DeployStatus::Failed, Some("token_invalid"))
    );
}

/// A file over the platform's limit is refused, named, before anything is sent.
pub async fn oversize_file_is_refused_before_upload(spec: PlatformSpec) {
    let Some(limit) = spec.max_file_size else {
        return;
    };
    let mut fx = Fixture::new(spec).await;
    let (_keep, dir) = site("conformance-big", &[("index.html", b"x")]);
    // A sparse file: the limit check reads sizes, not contents.
    std::fs::File::create(dir.join("video.mp4"))
        .unwrap()
        .set_len(limit + 1)
        .unwrap();
    let err = fx.deploy(&dir).await.unwrap_err();
    assert_eq!(err.kind(), "file_too_large", "{err}");
    assert!(err.to_string().contains("video.mp4"), "{err}");
    assert!(
        fx.requests().await.is_empty(),
        "nothing may reach the platform"
    );
}

/// Server errors on uploads are retried until the deploy goes live with the right bytes.
pub async fn server_errors_are_survived(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    fx.fault(json!({"platform": spec.emulator_platform, "path": spec.upload_path, "status": 500, "count": 2})).await;
    fx.fault(json!({"platform": spec.emulator_platform, "path": spec.upload_path, "status": 503,
                    "body": "<html><body>Service Unavailable</body></html>", "content_type": "text/html", "count": 1})).await;
    let (_keep, dir) = site("conformance-5xx", &sample_files());
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    for (path, body) in sample_files() {
        assert_eq!(
            fx.fetch(&out.url, &format!("/{path}")).await.2,
            body,
            "/{path}"
        );
    }
    let failed = fx
        .requests()
        .await
        .iter()
        .filter(|r| r["status"].as_u64().is_some_and(|s| s >= 500))
        .count();
    assert_eq!(failed, 3, "the faults fired and were retried");
}

/// A 429 with `Retry-After` is waited out.
pub async fn rate_limit_is_waited_out(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    fx.fault(
        json!({"platform": spec.emulator_platform, "path": spec.upload_path, "status": 429,
                    "headers": {"Retry-After": "1"}, "count": 1}),
    )
    .await;
    let (_keep, dir) = site("conformance-429", &sample_files());
    let started = std::time::Instant::now();
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    let elapsed = started.elapsed();
    if elapsed < std::time::Duration::from_millis(900) {
        let log: Vec<String> = fx
            .requests()
            .await
            .iter()
            .map(|r| format!("{} {} {}", r["method"], r["path"], r["status"]))
            .collect();
        panic!("Retry-After was not honoured: the deploy took {elapsed:?}; requests: {log:#?}");
    }
    assert_eq!(fx.fetch(&out.url, "/").await.2, sample_files()[0].1);
}

/// A connection dropped halfway through an answer is retried.
pub async fn dropped_connections_are_survived(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    fx.fault(json!({"platform": spec.emulator_platform, "path": spec.upload_path, "status": 200, "reset": true, "count": 1})).await;
    let (_keep, dir) = site("conformance-reset", &sample_files());
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    for (path, body) in sample_files() {
        assert_eq!(
            fx.fetch(&out.url, &format!("/{path}")).await.2,
            body,
            "/{path}"
        );
    }
}

/// The platform drops every connection for longer than the retry budget (one second here, a
/// minute by default): the deploy fails with a sentence about the connection, the history says
/// so, production keeps serving the last good deploy, and the next deploy goes live.
pub async fn an_outage_longer_than_the_retry_budget_fails_and_leaves_production_alone(
    spec: PlatformSpec,
) {
    let mut fx = Fixture::new(spec).await;
    let (_keep, dir) = site("conformance-outage", &[("index.html", b"before")]);
    let first = fx.deploy(&dir).await.unwrap();
    let production = first.production_url.clone().unwrap_or(first.url.clone());

    let impatient = sitedrop_core::Engine::open(sitedrop_core::EngineConfig {
        env: fx.env.clone(),
        data_dir: Some(fx.data.path().to_path_buf()),
        secrets: std::sync::Arc::new(sitedrop_core::secrets::MemoryKeychain::default()),
        retry: sitedrop_core::retry::RetryPolicy {
            base: std::time::Duration::from_millis(50),
            max_elapsed: std::time::Duration::from_secs(1),
            ..Default::default()
        },
    })
    .unwrap();
    write(&dir, "index.html", b"after");
    fx.fault(json!({"platform": spec.emulator_platform, "status": 200, "reset": true}))
        .await;
    let err = impatient
        .deploy(
            sitedrop_core::DeployRequest::new(&dir, spec.platform),
            quiet(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "network", "{err}");
    assert!(
        err.to_string().contains(spec.platform.name())
            && err.to_string().contains("Check your internet connection"),
        "{err}"
    );
    assert!(!err.is_input_error());
    let row = &impatient.history().deployments(None, 1).unwrap()[0];
    assert_eq!(
        (row.status, row.error_kind.map(|k| k.as_str())),
        (DeployStatus::Failed, Some("network"))
    );
    fx.clear_faults().await;
    assert_eq!(fx.fetch(&production, "/").await.2, b"before");
    let again = fx.deploy(&dir).await.unwrap();
    assert_eq!(fx.fetch(&production, "/").await.2, b"after");
    assert_eq!(again.status, DeployStatus::Live);
}

/// Over TLS: a site of many large files (well past HTTP/2's 64 KiB initial window, one past a
/// megabyte-sized connection window) uploads in parallel as streams of one or two
/// connections, and every byte arrives. Deterministic contents, distinct per file, so that
/// digest-keyed platforms must upload each.
pub async fn large_parallel_uploads_share_few_connections(spec: PlatformSpec) {
    assert!(spec.tls, "a TLS behaviour");
    let mut fx = Fixture::new(spec).await;
    let mut files: Vec<(String, Vec<u8>)> = (0..48)
        .map(|i| {
            (
                format!("media/part-{i:02}.bin"),
                pseudo_random(i, 200 * 1024),
            )
        })
        .collect();
    files.push(("media/big.bin".into(), pseudo_random(99, 6 * 1024 * 1024)));
    files.push((
        "index.html".into(),
        b"<!doctype html><h1>Big</h1>\n".to_vec(),
    ));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let (_keep, dir) = site("conformance-tls-big", &refs);
    let out = fx
        .deploy(&dir)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e}"));
    assert_eq!(out.uploaded, files.len() as u64);
    for (path, body) in &files {
        let (status, _, got) = fx.fetch(&out.url, &format!("/{path}")).await;
        assert!(
            status == 200 && &got == body,
            "/{path}: HTTP {status}, {} bytes",
            got.len()
        );
    }
    let api: Vec<serde_json::Value> = fx
        .requests()
        .await
        .into_iter()
        .filter(|r| r["site"] == json!(false))
        .collect();
    let mut conns: Vec<u64> = api.iter().filter_map(|r| r["conn"].as_u64()).collect();
    conns.sort_unstable();
    conns.dedup();
    assert!(
        !conns.is_empty() && conns.len() <= 2,
        "{} API requests came on connections {conns:?}; HTTP/2 multiplexes them",
        api.len()
    );
}

/// `len` bytes from a small xorshift generator seeded with `seed`.
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Instantiates the suite's behaviours for one platform. `network` adds the fault tests
/// (which need the emulator in between).
#[macro_export]
macro_rules! conformance {
    ($spec:expr) => {
        $crate::conformance!(@tests $spec; fresh_deploy_serves_exact_bytes, unchanged_redeploy_uploads_nothing,
            one_changed_file_uploads_one, awkward_paths_round_trip, rollback_moves_production);
    };
    ($spec:expr, network) => {
        $crate::conformance!($spec);
        $crate::conformance!(@tests $spec; bad_token_is_refused_with_a_sentence, oversize_file_is_refused_before_upload,
            server_errors_are_survived, rate_limit_is_waited_out, dropped_connections_are_survived,
            an_outage_longer_than_the_retry_budget_fails_and_leaves_production_alone);
    };
    (@tests $spec:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::suite::$name($spec).await
            }
        )+
    };
}

/// A second folder that happens to have the same name as a site already deployed gets its own
/// new project: a name derived from a folder never takes over an existing site. Choosing the
/// name explicitly does update that site.
pub async fn a_derived_name_never_takes_over_an_existing_site(spec: PlatformSpec) {
    let mut fx = Fixture::new(spec).await;
    let (_a, first) = site("same-name", &[("index.html", b"first site")]);
    let original = fx.deploy(&first).await.unwrap();
    let original_prod = original
        .production_url
        .clone()
        .unwrap_or(original.url.clone());

    // Another folder called "same-name" (another project, or the same one on another machine).
    let (_b, second) = site("same-name", &[("index.html", b"second site")]);
    let other = fx.deploy(&second).await.unwrap();
    let other_prod = other.production_url.clone().unwrap_or(other.url.clone());
    // (Amplify app names need not be unique, so compare where each site lives.)
    assert_ne!(
        other_prod, original_prod,
        "a new project, not the existing one"
    );
    assert_eq!(
        fx.fetch(&original_prod, "/").await.2,
        b"first site",
        "the first site is untouched"
    );

    // Naming the existing project explicitly updates it. (Amplify app names are not unique:
    // there, the app id is how one is named.)
    let (_c, third) = site("same-name", &[("index.html", b"chosen on purpose")]);
    let mut request = sitedrop_core::DeployRequest::new(&third, spec.platform);
    request.project = Some(if spec.platform == sitedrop_core::Platform::Amplify {
        let folder = first.canonicalize().unwrap();
        let row = fx
            .engine()
            .history()
            .site_for(&folder, spec.platform)
            .unwrap();
        row.remote_id.expect("the app id is remembered")
    } else {
        original.project.clone()
    });
    let chosen = fx.deploy_request(request).await.unwrap();
    assert_eq!(chosen.project, original.project);
    assert_eq!(fx.fetch(&original_prod, "/").await.2, b"chosen on purpose");
    // Amplify: the name alone is now ambiguous, and says so.
    if spec.platform == sitedrop_core::Platform::Amplify {
        let (_d, fourth) = site("elsewhere", &[("index.html", b"x")]);
        let mut request = sitedrop_core::DeployRequest::new(&fourth, spec.platform);
        request.project = Some("same-name".into());
        let err = fx.deploy_request(request).await.unwrap_err();
        assert_eq!(err.kind(), "project_choice_needed", "{err}");
        assert!(
            err.to_string()
                .contains("Several AWS Amplify apps are called \"same-name\""),
            "{err}"
        );
    }
}
