//! Workers static assets (`specs/cloudflare.md §4`): session, server-chosen buckets,
//! multipart base64 upload, completion JWT, script PUT, versions + deployments, subdomains.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn w(path: &str) -> String {
    format!("/client/v4/accounts/{ACCOUNT}/workers{path}")
}

fn ext(p: &str) -> &str {
    std::path::Path::new(p)
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
}

fn manifest(files: &[(&str, &[u8])]) -> Value {
    let m: serde_json::Map<String, Value> = files
        .iter()
        .map(|(p, b)| {
            (
                p.to_string(),
                json!({"hash": cf_hash(b, ext(p)), "size": b.len()}),
            )
        })
        .collect();
    Value::Object(m)
}

async fn session(e: &Emu, name: &str, files: &[(&str, &[u8])]) -> (StatusCode, Value) {
    json(
        e.authed(
            Method::POST,
            &w(&format!("/scripts/{name}/assets-upload-session")),
        )
        .json(&json!({"manifest": manifest(files)}))
        .send()
        .await
        .expect("send"),
    )
    .await
}

/// Uploads every bucket the server asked for; returns the completion JWT.
async fn upload_buckets(
    e: &Emu,
    jwt: &str,
    buckets: &Value,
    files: &[(&str, &[u8])],
) -> (Vec<StatusCode>, Option<String>) {
    let mut statuses = Vec::new();
    let mut completion = None;
    for bucket in buckets.as_array().expect("buckets") {
        let parts: Vec<Part> = bucket
            .as_array()
            .expect("bucket")
            .iter()
            .map(|h| {
                let h = h.as_str().expect("hash");
                let (p, b) = files
                    .iter()
                    .find(|(p, b)| cf_hash(b, ext(p)) == h)
                    .expect("known hash");
                let ct = if ext(p) == "html" {
                    "text/html; charset=utf-8"
                } else if ext(p).is_empty() {
                    "application/null"
                } else {
                    "text/css; charset=utf-8"
                };
                (h, Some(h), Some(ct), B64.encode(b).into_bytes())
            })
            .collect();
        let (ct, body) = multipart(&parts);
        let (s, v) = json(
            e.req(Method::POST, &w("/assets/upload?base64=true"))
                .bearer_auth(jwt)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .expect("send"),
        )
        .await;
        statuses.push(s);
        if let Some(j) = v["result"]["jwt"].as_str() {
            completion = Some(j.to_string());
        }
    }
    (statuses, completion)
}

async fn put_script(e: &Emu, name: &str, completion: &str) -> (StatusCode, Value) {
    let meta = json!({"assets": {"jwt": completion, "config": {"html_handling": "auto-trailing-slash", "_redirects": "/old /new 301\n"}}, "compatibility_date": "2026-01-01", "compatibility_flags": []});
    let (ct, body) = multipart(&[("metadata", None, None, meta.to_string().into_bytes())]);
    json(
        e.authed(
            Method::PUT,
            &w(&format!(
                "/scripts/{name}?excludeScript=true&bindings_inherit=strict"
            )),
        )
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("send"),
    )
    .await
}

#[tokio::test]
async fn first_deploy_uploads_buckets_and_serves_on_workers_dev() {
    let e = start().await;
    let (s, v) = json(
        e.authed(Method::GET, &w("/services/site"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10007))
    );
    let (_, v) = json(
        e.authed(Method::GET, &w("/scripts/site/deployments"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["errors"][0]["code"], 10007);
    let (_, v) = json(
        e.authed(Method::GET, &w("/subdomain"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["result"]["subdomain"], "sitedrop");

    let files: Vec<(&str, &[u8])> = vec![
        ("/index.html", b"<h1>w</h1>"),
        ("/a.css", b"a{}"),
        ("/README", b"readme"),
        ("/new.html", b"new"),
    ];
    let (s, v) = session(&e, "site", &files).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let jwt = v["result"]["jwt"].as_str().expect("jwt").to_string();
    let n: usize = v["result"]["buckets"]
        .as_array()
        .expect("b")
        .iter()
        .map(|b| b.as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(n, 4);
    let (statuses, completion) = upload_buckets(&e, &jwt, &v["result"]["buckets"], &files).await;
    assert_eq!(statuses.last(), Some(&StatusCode::CREATED));
    let completion = completion.expect("completion jwt");
    let (s, v) = put_script(&e, "site", &completion).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["result"]["deployment_id"].is_string());

    let (_, v) = json(
        e.authed(Method::GET, &w("/workers/site"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["result"]["subdomain"]["enabled"], false);
    assert_eq!(
        e.site("site.sitedrop.workers.dev", "/").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, v) = json(
        e.authed(Method::POST, &w("/scripts/site/subdomain"))
            .json(&json!({"enabled": true}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        v["result"],
        json!({"enabled": true, "previews_enabled": false})
    );
    let (s, h, body) = e.site("site.sitedrop.workers.dev", "/").await;
    assert_eq!(
        (s, body.as_slice()),
        (StatusCode::OK, b"<h1>w</h1>".as_slice())
    );
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let (_, h, body) = e.site("site.sitedrop.workers.dev", "/README").await;
    assert_eq!(body, b"readme");
    assert!(
        h.get("content-type").is_none(),
        "application/null means no Content-Type"
    );
    let (s, h, _) = e.site("site.sitedrop.workers.dev", "/old").await;
    assert_eq!(
        (s, h["location"].to_str().expect("loc")),
        (StatusCode::MOVED_PERMANENTLY, "/new")
    );
    let (s, v) = json(
        e.authed(Method::GET, &w("/services/site"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (
            s,
            &v["result"]["default_environment"]["script"]["last_deployed_from"]
        ),
        (StatusCode::OK, &json!("wrangler"))
    );
}

#[tokio::test]
async fn redeploy_with_nothing_missing_gets_completion_token_then_versions_and_deployments() {
    let e = start().await;
    let files: Vec<(&str, &[u8])> = vec![("/index.html", b"v1")];
    let (_, v) = session(&e, "app", &files).await;
    let (_, completion) = upload_buckets(
        &e,
        v["result"]["jwt"].as_str().expect("jwt"),
        &v["result"]["buckets"],
        &files,
    )
    .await;
    put_script(&e, "app", &completion.expect("jwt")).await;
    json(
        e.authed(Method::POST, &w("/scripts/app/subdomain"))
            .json(&json!({"enabled": true}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    let first_version = {
        let (_, v) = json(
            e.authed(Method::GET, &w("/scripts/app/deployments"))
                .send()
                .await
                .expect("send"),
        )
        .await;
        v["result"]["deployments"][0]["versions"][0]["version_id"]
            .as_str()
            .expect("vid")
            .to_string()
    };

    let (_, v) = session(&e, "app", &files).await;
    assert_eq!(v["result"]["buckets"], json!([]));
    let completion = v["result"]["jwt"].as_str().expect("jwt").to_string();

    let files2: Vec<(&str, &[u8])> = vec![("/index.html", b"v2")];
    let (_, v) = session(&e, "app", &files2).await;
    let (_, c2) = upload_buckets(
        &e,
        v["result"]["jwt"].as_str().expect("jwt"),
        &v["result"]["buckets"],
        &files2,
    )
    .await;
    let meta = json!({"assets": {"jwt": c2.expect("jwt")}});
    let (ct, body) = multipart(&[("metadata", None, None, meta.to_string().into_bytes())]);
    let (s, ver) = json(
        e.authed(
            Method::POST,
            &w("/scripts/app/versions?bindings_inherit=strict"),
        )
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ver}");
    assert!(ver["result"]["resources"]["script"]["etag"].is_string());
    assert_eq!(
        e.site("app.sitedrop.workers.dev", "/").await.2,
        b"v1",
        "a version alone is not live"
    );
    let vid = ver["result"]["id"].as_str().expect("id");
    let body = json!({"strategy": "percentage", "versions": [{"version_id": vid, "percentage": 100}], "annotations": {}});
    let (s, _) = json(
        e.authed(Method::POST, &w("/scripts/app/deployments"))
            .json(&body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e.site("app.sitedrop.workers.dev", "/").await.2, b"v2");
    // Rolling back = deploying the earlier version again.
    let body = json!({"strategy": "percentage", "versions": [{"version_id": first_version, "percentage": 100}]});
    json(
        e.authed(Method::POST, &w("/scripts/app/deployments"))
            .json(&body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(e.site("app.sitedrop.workers.dev", "/").await.2, b"v1");
    let (_, v) = json(
        e.authed(Method::PATCH, &w("/scripts/app/script-settings"))
            .json(&json!({"observability": {"enabled": false}, "tags": []}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["result"]["tags"], json!([]));
    assert!(!completion.is_empty());
}

#[tokio::test]
async fn uploads_are_checked_against_the_manifest() {
    let e = start().await;
    let files: Vec<(&str, &[u8])> = vec![("/index.html", b"real")];
    let (_, v) = session(&e, "chk", &files).await;
    let jwt = v["result"]["jwt"].as_str().expect("jwt").to_string();
    let h = cf_hash(b"real", "html");
    // Wrong bytes under the right hash.
    let (ct, body) = multipart(&[(
        h.as_str(),
        Some(h.as_str()),
        Some("text/html"),
        B64.encode(b"fake").into_bytes(),
    )]);
    let (s, v) = json(
        e.req(Method::POST, &w("/assets/upload?base64=true"))
            .bearer_auth(&jwt)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // A hash that is not in the manifest.
    let other = cf_hash(b"other", "html");
    let (ct, body) = multipart(&[(
        other.as_str(),
        Some(other.as_str()),
        Some("text/html"),
        B64.encode(b"other").into_bytes(),
    )]);
    let (s, _) = json(
        e.req(Method::POST, &w("/assets/upload?base64=true"))
            .bearer_auth(&jwt)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The API token is not an upload token.
    let (s, _) = json(
        e.authed(Method::POST, &w("/assets/upload?base64=true"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A script PUT without a completed session is refused.
    let (s, v) = put_script(&e, "chk", &jwt).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(10021))
    );
    // Too many files and too-large files.
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"cloudflare_workers_max_file_count": 1, "cloudflare_max_file_size": 3})),
    )
    .await;
    let (s, v) = session(&e, "chk", &[("/a", b"1"), ("/b", b"2")]).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000098))
    );
    let (s, v) = session(&e, "chk", &[("/a", b"1234")]).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000097))
    );
}

#[tokio::test]
async fn account_without_subdomain_answers_10007() {
    let e = start_with(sitedrop_emulator::Config {
        cloudflare_workers_subdomain: None,
        ..Default::default()
    })
    .await;
    let (s, v) = json(
        e.authed(Method::GET, &w("/subdomain"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(10007))
    );
    let (_, v) = json(
        e.authed(Method::PUT, &w("/subdomain"))
            .json(&json!({"subdomain": "mine"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["result"]["subdomain"], "mine");
}
