//! Netlify digest deploys, path encoding, states, restore/rollback, rate limits and Drop
//! (`specs/netlify.md`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

async fn create_site(e: &Emu, name: &str) -> Value {
    let (s, v) = json(
        e.authed(Method::POST, "/api/v1/sitedrop/sites")
            .json(&json!({"name": name}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Uploads every path whose SHA-1 is required, with `encodeURI` paths (§6).
pub async fn upload_required(
    e: &Emu,
    deploy: &Value,
    files: &[(&str, &[u8])],
    token: &str,
    leading_slash: bool,
) {
    let required: Vec<String> =
        serde_json::from_value(deploy["required"].clone()).expect("required");
    for (p, b) in files {
        if !required.contains(&sha1_hex(b)) {
            continue;
        }
        let enc = encode_uri(p);
        let slash = if leading_slash { "/" } else { "" };
        let url = format!(
            "/api/v1/deploys/{}/files/{slash}{enc}",
            deploy["id"].as_str().expect("id")
        );
        let r = e
            .req(Method::PUT, &url)
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(b.to_vec())
            .send()
            .await
            .expect("send");
        let (s, v) = json(r).await;
        assert_eq!(s, StatusCode::OK, "{p}: {v}");
        assert_eq!(v["sha"], sha1_hex(b));
    }
}

/// JavaScript's `encodeURI`.
fn encode_uri(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b";,/?:@&=+$-_.!~*'()#".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn files_map(files: &[(&str, &[u8])]) -> Value {
    Value::Object(
        files
            .iter()
            .map(|(p, b)| (p.to_string(), json!(sha1_hex(b))))
            .collect(),
    )
}

async fn get_deploy(e: &Emu, site: &str, id: &str) -> Value {
    json(
        e.authed(Method::GET, &format!("/api/v1/sites/{site}/deploys/{id}"))
            .send()
            .await
            .expect("send"),
    )
    .await
    .1
}

#[tokio::test]
async fn digest_deploy_with_awkward_paths_goes_live_and_is_served() {
    let e = start().await;
    let site = create_site(&e, "awkward").await;
    let site_id = site["id"].as_str().expect("id").to_string();
    assert_eq!(site["ssl_url"], "https://awkward.netlify.app");
    let (_, accounts) = json(
        e.authed(Method::GET, "/api/v1/accounts?minimal=true")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(accounts[0]["slug"], "sitedrop");
    let files: Vec<(&str, &[u8])> = vec![
        ("index.html", b"<h1>hi</h1>\n"),
        ("sub/dup.html", b"<h1>hi</h1>\n"),
        ("my file.txt", b"space"),
        ("a+b&c=d.txt", b"plus"),
        ("100%.txt", b"percent"),
        ("caf\u{e9}.html", b"cafe"),
        (".well-known/security.txt", b"sec"),
    ];
    // CLI order: create, then PUT the manifest.
    let (_, d) = json(
        e.authed(
            Method::POST,
            &format!("/api/v1/sites/{site_id}/deploys?title=hello"),
        )
        .json(&json!({"draft": false, "deploy_source": "cli"}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(d["state"], "new");
    let id = d["id"].as_str().expect("id").to_string();
    let r = e
        .authed(
            Method::PUT,
            &format!("/api/v1/sites/{site_id}/deploys/{id}"),
        )
        .json(&json!({"files": files_map(&files), "async": false, "draft": false}))
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("x-ratelimit-limit"));
    let (_, d) = json(r).await;
    assert_eq!(d["state"], "prepared");
    assert_eq!(
        d["required"].as_array().map(Vec::len),
        Some(6),
        "duplicate content is required once"
    );
    upload_required(&e, &d, &files, TOKEN, false).await;
    let d = get_deploy(&e, &site_id, &id).await;
    assert_eq!(d["state"], "ready");
    assert_eq!(d["title"], "hello");
    for (p, b) in &files {
        let (s, _, body) = e
            .site("awkward.netlify.app", &format!("/{}", encode_uri(p)))
            .await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, *b), "{p}");
    }
    let deploy_host = host_of(d["deploy_ssl_url"].as_str().expect("url"));
    assert_eq!(deploy_host, format!("{id}--awkward.netlify.app"));
    assert_eq!(e.site(&deploy_host, "/").await.2, b"<h1>hi</h1>\n");
    let (_, site) = json(
        e.authed(
            Method::GET,
            "/api/v1/sites/awkward.netlify.app?feature_flags=cli",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(site["published_deploy"]["id"], id.as_str());
    let (_, list) = json(
        e.authed(Method::GET, "/api/v1/sites?name=awkward&filter=all")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(list[0]["name"], "awkward");
}

#[tokio::test]
async fn async_manifest_is_preparing_then_prepared_and_uploads_are_verified() {
    let e = start().await;
    let site = create_site(&e, "asyncsite").await;
    let sid = site["id"].as_str().expect("id").to_string();
    let files: Vec<(&str, &[u8])> = vec![("index.html", b"one"), ("two.html", b"two")];
    let (_, d) = json(
        e.authed(Method::POST, &format!("/api/v1/sites/{sid}/deploys"))
            .json(&json!({"files": files_map(&files), "async": true}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(d["state"], "preparing");
    let id = d["id"].as_str().expect("id").to_string();
    let d = get_deploy(&e, &sid, &id).await;
    assert_eq!(d["state"], "prepared");
    assert_eq!(d["required"].as_array().map(Vec::len), Some(2));
    // Wrong bytes: 422, never retried by the CLI.
    let r = e
        .authed(
            Method::PUT,
            &format!("/api/v1/deploys/{id}/files/index.html"),
        )
        .body("not one")
        .send()
        .await
        .expect("send");
    let (s, v) = json(r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["message"],
        "Uploaded file index.html did not match deploy"
    );
    upload_required(&e, &d, &files[..1], TOKEN, true).await;
    assert_eq!(get_deploy(&e, &sid, &id).await["state"], "uploading");
    upload_required(&e, &d, &files[1..], TOKEN, false).await;
    assert_eq!(get_deploy(&e, &sid, &id).await["state"], "ready");
    // Unchanged redeploy: nothing required, ready without uploads.
    let (_, d2) = json(
        e.authed(Method::POST, &format!("/api/v1/sites/{sid}/deploys"))
            .json(&json!({"files": files_map(&files)}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(d2["required"], json!([]));
    assert_eq!(
        get_deploy(&e, &sid, d2["id"].as_str().expect("id")).await["state"],
        "ready"
    );
}

#[tokio::test]
async fn drafts_restore_and_rollback_move_the_published_deploy() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"netlify_processing_ms": 0})),
    )
    .await;
    let site = create_site(&e, "history").await;
    let sid = site["id"].as_str().expect("id").to_string();
    let mut ids = Vec::new();
    for (content, draft) in [(b"v1".as_slice(), false), (b"v2", false), (b"draft", true)] {
        let files: Vec<(&str, &[u8])> = vec![("index.html", content)];
        let (_, d) = json(
            e.authed(Method::POST, &format!("/api/v1/sites/{sid}/deploys"))
                .json(&json!({"files": files_map(&files), "draft": draft}))
                .send()
                .await
                .expect("send"),
        )
        .await;
        upload_required(&e, &d, &files, TOKEN, false).await;
        assert_eq!(
            get_deploy(&e, &sid, d["id"].as_str().expect("id")).await["state"],
            "ready"
        );
        ids.push(d["id"].as_str().expect("id").to_string());
    }
    assert_eq!(
        e.site("history.netlify.app", "/").await.2,
        b"v2",
        "drafts are not published"
    );
    assert_eq!(
        e.site(&format!("{}--history.netlify.app", ids[2]), "/")
            .await
            .2,
        b"draft"
    );
    let r = e
        .authed(Method::PUT, &format!("/api/v1/sites/{sid}/rollback"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(e.site("history.netlify.app", "/").await.2, b"v1");
    let (s, v) = json(
        e.authed(
            Method::POST,
            &format!("/api/v1/sites/{sid}/deploys/{}/restore", ids[2]),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(e.site("history.netlify.app", "/").await.2, b"draft");
    let (_, list) = json(
        e.authed(Method::GET, &format!("/api/v1/sites/{sid}/deploys"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(list.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn names_tokens_and_unknown_sites_are_refused() {
    let e = start_with(sitedrop_emulator::Config {
        taken_names: vec![("netlify".into(), "taken".into())],
        ..Default::default()
    })
    .await;
    let (s, v) = json(
        e.authed(Method::POST, "/api/v1/sitedrop/sites")
            .json(&json!({"name": "taken"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, &v["errors"]["subdomain"][0]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("must be unique"))
    );
    let (s, _) = json(
        e.authed(Method::POST, "/api/v1/sites")
            .json(&json!({"name": "Not Valid!"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = json(
        e.authed(Method::POST, "/api/v1/sites")
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(v["name"].as_str().expect("name").split('-').count() >= 3);
    let (s, v) = json(
        e.authed(Method::GET, "/api/v1/sites/nosuchsite")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((s, v["code"].as_u64()), (StatusCode::NOT_FOUND, Some(404)));
    let (s, _) = json(
        e.req(Method::GET, "/api/v1/user")
            .bearer_auth("bad")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json(
        e.req(Method::GET, "/api/v1/user")
            .bearer_auth(EXPIRED)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json(
        e.req(Method::GET, "/api/v1/user")
            .bearer_auth(READONLY)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = json(
        e.req(Method::POST, "/api/v1/sites")
            .bearer_auth(READONLY)
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = json(
        e.authed(Method::GET, "/api/v1/nothing/here")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rate_limit_headers_and_429_with_unix_reset() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"netlify_rate_limit_per_minute": 3})),
    )
    .await;
    let mut last = None;
    for i in 0..4 {
        let r = e
            .authed(Method::GET, "/api/v1/user")
            .send()
            .await
            .expect("send");
        let h = r.headers().clone();
        assert_eq!(h["x-ratelimit-limit"], "3");
        let reset: u64 = h["x-ratelimit-reset"]
            .to_str()
            .expect("s")
            .parse()
            .expect("unix seconds");
        assert!(reset > 1_700_000_000);
        if i < 3 {
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(
                h["x-ratelimit-remaining"].to_str().expect("s"),
                (2 - i).to_string()
            );
        }
        last = Some(r.status());
    }
    assert_eq!(last, Some(StatusCode::TOO_MANY_REQUESTS));
}

#[tokio::test]
async fn zip_deploy_publishes_without_file_uploads() {
    use std::io::Write;
    let e = start().await;
    let site = create_site(&e, "zipped").await;
    let sid = site["id"].as_str().expect("id").to_string();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in [("index.html", b"zip!".as_slice()), ("css/a.css", b"a{}")] {
        w.start_file(name, opts).expect("start");
        w.write_all(data).expect("write");
    }
    let body = w.finish().expect("finish").into_inner();
    let (s, d) = json(
        e.authed(Method::POST, &format!("/api/v1/sites/{sid}/deploys"))
            .header("content-type", "application/zip")
            .body(body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["required"], json!([]));
    assert_eq!(
        get_deploy(&e, &sid, d["id"].as_str().expect("id")).await["state"],
        "ready"
    );
    assert_eq!(e.site("zipped.netlify.app", "/css/a.css").await.2, b"a{}");
    let (s, _) = json(
        e.authed(Method::POST, &format!("/api/v1/sites/{sid}/deploys"))
            .header("content-type", "application/zip")
            .body("nope")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn large_files_stream_through_upload_and_hosting() {
    let e = start().await;
    let site = create_site(&e, "big").await;
    let sid = site["id"].as_str().expect("id").to_string();
    let big: Vec<u8> = (0..30_000_000u32).map(|i| (i % 251) as u8).collect();
    let files: Vec<(&str, &[u8])> = vec![("big.bin", &big), ("index.html", b"i")];
    let (_, d) = json(
        e.authed(Method::POST, &format!("/api/v1/sites/{sid}/deploys"))
            .json(&json!({"files": files_map(&files)}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    upload_required(&e, &d, &files, TOKEN, false).await;
    let (s, h, body) = e.site("big.netlify.app", "/big.bin").await;
    assert_eq!(
        (s, h["content-length"].to_str().expect("len")),
        (StatusCode::OK, "30000000")
    );
    assert!(body == big);
}

#[tokio::test]
async fn every_path_of_a_required_sha1_is_accepted_even_after_the_deploy_completed() {
    // §5.2: netlify-cli uploads every path carrying a required SHA-1, one after another when
    // they are few; the first completes the deploy, the others must still be accepted.
    let e = start().await;
    let site = create_site(&e, "dupes").await;
    let site_id = site["id"].as_str().expect("id").to_string();
    let files: [(&str, &[u8]); 2] = [("index.html", b"same"), ("sub/dup.html", b"same")];
    let (s, deploy) = json(
        e.authed(Method::POST, &format!("/api/v1/sites/{site_id}/deploys"))
            .json(&json!({"files": files_map(&files)}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{deploy}");
    assert_eq!(deploy["required"], json!([sha1_hex(b"same")]));
    upload_required(&e, &deploy, &files, TOKEN, false).await;
    let id = deploy["id"].as_str().expect("id");
    assert_eq!(get_deploy(&e, &site_id, id).await["state"], "ready");
    // Content that does not match the manifest is still refused.
    let r = e
        .req(
            Method::PUT,
            &format!("/api/v1/deploys/{id}/files/sub/dup.html"),
        )
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body("other")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
