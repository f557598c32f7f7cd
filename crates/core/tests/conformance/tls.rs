//! How the engine trusts a TLS server: the bundled roots, plus `SSL_CERT_FILE` — and nothing
//! else (no switch turns verification off). The deploys over TLS + HTTP/2 themselves are each
//! platform's `tls` module.

use crate::fixture::{site, Fixture, PlatformSpec};
use crate::suite::sample_files;

const SPEC: PlatformSpec = PlatformSpec {
    tls: true,
    ..crate::netlify::SPEC
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_authority_is_not_trusted_is_refused() {
    let mut fx = Fixture::new(SPEC).await;
    fx.set_env("SSL_CERT_FILE", "");
    let (_keep, dir) = site("tls-untrusted", &sample_files());
    // A short retry budget: the refusal repeats on every attempt, for a minute by default.
    let engine = sitedrop_core::Engine::open(sitedrop_core::EngineConfig {
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
    let err = engine
        .deploy(
            sitedrop_core::DeployRequest::new(&dir, SPEC.platform),
            crate::fixture::quiet(),
            sitedrop_core::CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "network", "{err}");
    assert!(
        fx.requests().await.is_empty(),
        "no request may be sent over a connection that failed verification"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_ssl_cert_file_is_named() {
    let mut fx = Fixture::new(SPEC).await;
    let (_keep, dir) = site("tls-badfile", &sample_files());
    let not_pem = dir.join("index.html");
    for (path, says) in [
        ("/nonexistent/ca.pem".to_string(), "cannot be read"),
        (not_pem.display().to_string(), "holds no certificate"),
    ] {
        fx.set_env("SSL_CERT_FILE", &path);
        let err = sitedrop_core::Engine::open(sitedrop_core::EngineConfig {
            env: fx.env.clone(),
            data_dir: Some(fx.data.path().to_path_buf()),
            secrets: std::sync::Arc::new(sitedrop_core::secrets::MemoryKeychain::default()),
            retry: Default::default(),
        })
        .err()
        .expect("the engine refuses to start");
        assert_eq!(err.kind(), "invalid", "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("SSL_CERT_FILE") && msg.contains(&path) && msg.contains(says),
            "{msg}"
        );
    }
}
