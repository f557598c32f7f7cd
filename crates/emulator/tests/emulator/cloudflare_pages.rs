//! Cloudflare accounts and Pages direct upload (`specs/cloudflare.md §3`, §5–§7).

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn pages(path: &str) -> String {
    format!("/client/v4/accounts/{ACCOUNT}/pages/projects{path}")
}

async fn create_project(e: &Emu, name: &str) -> Value {
    let (s, v) = json(
        e.authed(Method::POST, &pages(""))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(json!({"name": name, "production_branch": "main"}).to_string())
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    v["result"].clone()
}

async fn upload_token(e: &Emu, name: &str) -> String {
    let (_, v) = json(
        e.authed(Method::GET, &pages(&format!("/{name}/upload-token")))
            .send()
            .await
            .expect("send"),
    )
    .await;
    v["result"]["jwt"].as_str().expect("jwt").to_string()
}

/// Uploads files as wrangler does: check-missing, upload of the missing ones, upsert.
async fn upload_files(e: &Emu, jwt: &str, files: &[(&str, &[u8])]) -> Vec<String> {
    let hashes: Vec<String> = files
        .iter()
        .map(|(p, b)| {
            cf_hash(
                b,
                std::path::Path::new(p)
                    .extension()
                    .and_then(|x| x.to_str())
                    .unwrap_or(""),
            )
        })
        .collect();
    let (s, v) = json(
        e.req(Method::POST, "/client/v4/pages/assets/check-missing")
            .bearer_auth(jwt)
            .json(&json!({"hashes": hashes}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let missing: Vec<String> = serde_json::from_value(v["result"].clone()).expect("list");
    let items: Vec<Value> = files
        .iter()
        .zip(&hashes)
        .filter(|(_, h)| missing.contains(h))
        .map(|((p, b), h)| {
            let ct = mime_guess::from_path(p).first_or_octet_stream().to_string();
            json!({"key": h, "value": B64.encode(b), "metadata": {"contentType": ct}, "base64": true})
        })
        .collect();
    if !items.is_empty() {
        let (s, v) = json(
            e.req(Method::POST, "/client/v4/pages/assets/upload")
                .bearer_auth(jwt)
                .json(&items)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!((s, &v["success"]), (StatusCode::OK, &json!(true)), "{v}");
    }
    let (s, _) = json(
        e.req(Method::POST, "/client/v4/pages/assets/upsert-hashes")
            .bearer_auth(jwt)
            .json(&json!({"hashes": hashes}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    missing
}

async fn deploy(
    e: &Emu,
    name: &str,
    manifest: Value,
    branch: Option<&str>,
    headers: Option<&str>,
) -> (StatusCode, Value) {
    let mut parts: Vec<Part> = vec![("manifest", None, None, manifest.to_string().into_bytes())];
    if let Some(b) = branch {
        parts.push(("branch", None, None, b.as_bytes().to_vec()));
    }
    parts.push(("commit_message", None, None, b"hello".to_vec()));
    if let Some(h) = headers {
        parts.push((
            "_headers",
            Some("_headers"),
            Some("application/octet-stream"),
            h.as_bytes().to_vec(),
        ));
    }
    let (ct, body) = multipart(&parts);
    json(
        e.authed(Method::POST, &pages(&format!("/{name}/deployments")))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("send"),
    )
    .await
}

fn site_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("/index.html", b"<h1>hi</h1>\n"),
        ("/css/style.css", b"body{color:red}"),
        ("/docs/index.html", b"<p>docs</p>"),
        ("/IMG.JPG", b"\xff\xd8\xff fake jpeg"),
    ]
}

fn manifest_of(files: &[(&str, &[u8])]) -> Value {
    let m: serde_json::Map<String, Value> = files
        .iter()
        .map(|(p, b)| {
            let ext = std::path::Path::new(p)
                .extension()
                .and_then(|x| x.to_str())
                .unwrap_or("");
            (p.to_string(), json!(cf_hash(b, ext)))
        })
        .collect();
    Value::Object(m)
}

#[tokio::test]
async fn pages_deploy_is_served_by_deployment_branch_and_project_hosts() {
    let e = start().await;
    let project = create_project(&e, "demo").await;
    assert_eq!(project["subdomain"], "demo.pages.dev");
    let jwt = upload_token(&e, "demo").await;
    let claims = jwt_payload(&jwt);
    assert_eq!(claims["max_file_count_allowed"], 20000);
    assert!(claims["exp"].as_u64().is_some());
    let files = site_files();
    let missing = upload_files(&e, &jwt, &files).await;
    assert_eq!(missing.len(), 4);
    let (s, d) = deploy(
        &e,
        "demo",
        manifest_of(&files),
        Some("main"),
        Some("/* \n  X-Test: 1\n"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let id = d["result"]["id"].as_str().expect("id").to_string();
    let url = d["result"]["url"].as_str().expect("url").to_string();
    assert!(
        url.starts_with("https://") && url.ends_with(".demo.pages.dev"),
        "{url}"
    );
    assert_eq!(d["result"]["environment"], "production");

    let (_, g) = json(
        e.authed(Method::GET, &pages(&format!("/demo/deployments/{id}")))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        g["result"]["latest_stage"],
        json!({"name": "deploy", "status": "success", "started_on": g["result"]["latest_stage"]["started_on"], "ended_on": g["result"]["latest_stage"]["ended_on"]})
    );
    assert_eq!(g["result"]["aliases"][0], "https://main.demo.pages.dev");
    assert_eq!(
        g["result"]["deployment_trigger"]["metadata"]["commit_message"],
        "hello"
    );

    for host in [
        host_of(&url),
        "main.demo.pages.dev".to_string(),
        "demo.pages.dev".to_string(),
    ] {
        let (s, h, body) = e.site(&host, "/").await;
        assert_eq!(
            (s, body.as_slice()),
            (StatusCode::OK, b"<h1>hi</h1>\n".as_slice()),
            "{host}"
        );
        assert_eq!(h["x-test"], "1");
        assert!(h["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html"));
    }
    let (s, h, body) = e.site(&host_of(&url), "/css/style.css").await;
    assert_eq!(
        (s, body.as_slice()),
        (StatusCode::OK, b"body{color:red}".as_slice())
    );
    assert!(h["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/css"));
    let (_, _, body) = e.site("demo.pages.dev", "/docs/").await;
    assert_eq!(body, b"<p>docs</p>");
    let (_, _, body) = e.site("demo.pages.dev", "/IMG.JPG").await;
    assert_eq!(body, b"\xff\xd8\xff fake jpeg");

    // An unchanged redeploy needs no upload.
    let jwt = upload_token(&e, "demo").await;
    assert!(upload_files(&e, &jwt, &files).await.is_empty());
    let (_, list) = json(
        e.authed(Method::GET, &pages("/demo/deployments"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(list["result"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn preview_branches_do_not_move_production_and_rollback_does() {
    let e = start().await;
    create_project(&e, "roll").await;
    let jwt = upload_token(&e, "roll").await;
    let v1: Vec<(&str, &[u8])> = vec![("/index.html", b"v1")];
    let v2: Vec<(&str, &[u8])> = vec![("/index.html", b"v2")];
    let v3: Vec<(&str, &[u8])> = vec![("/index.html", b"preview")];
    for f in [&v1, &v2, &v3] {
        upload_files(&e, &jwt, f).await;
    }
    let (_, d1) = deploy(&e, "roll", manifest_of(&v1), None, None).await;
    let (_, _d2) = deploy(&e, "roll", manifest_of(&v2), Some("main"), None).await;
    let (_, d3) = deploy(&e, "roll", manifest_of(&v3), Some("feature/x"), None).await;
    assert_eq!(d3["result"]["environment"], "preview");
    assert_eq!(e.site("roll.pages.dev", "/").await.2, b"v2");
    assert_eq!(e.site("feature-x.roll.pages.dev", "/").await.2, b"preview");
    let id1 = d1["result"]["id"].as_str().expect("id");
    let (s, r) = json(
        e.authed(
            Method::POST,
            &pages(&format!("/roll/deployments/{id1}/rollback")),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(e.site("roll.pages.dev", "/").await.2, b"v1");
    let id3 = d3["result"]["id"].as_str().expect("id");
    let (s, _) = json(
        e.authed(
            Method::POST,
            &pages(&format!("/roll/deployments/{id3}/rollback")),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn project_lookup_duplicates_taken_names_and_readonly_tokens() {
    let e = start_with(sitedrop_emulator::Config {
        taken_names: vec![("cloudflare".into(), "blog".into())],
        ..Default::default()
    })
    .await;
    let (s, v) = json(
        e.authed(Method::GET, &pages("/nothere"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(8000007))
    );
    let p = create_project(&e, "blog").await;
    let sub = p["subdomain"].as_str().expect("subdomain");
    assert!(
        sub.starts_with("blog-") && sub.ends_with(".pages.dev") && sub != "blog.pages.dev",
        "{sub}"
    );
    let (s, v) = json(
        e.authed(Method::POST, &pages(""))
            .json(&json!({"name": "blog"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::CONFLICT, Some(8000002))
    );
    let (s, _) = json(
        e.authed(Method::POST, &pages(""))
            .json(&json!({"name": "Bad_Name"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = json(
        e.req(Method::POST, &pages(""))
            .bearer_auth(READONLY)
            .json(&json!({"name": "ro"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(10000))
    );
    let (s, v) = json(
        e.req(Method::GET, &pages("/blog/upload-token"))
            .bearer_auth(READONLY)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(10000))
    );
    let (s, _) = json(
        e.req(Method::GET, &pages("/blog"))
            .bearer_auth(READONLY)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = json(
        e.req(Method::GET, &pages("/blog"))
            .bearer_auth("wrong")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(9106))
    );
    let (s, v) = json(
        e.req(Method::GET, &pages("/blog"))
            .bearer_auth(EXPIRED)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["success"].as_bool()),
        (StatusCode::FORBIDDEN, Some(false))
    );
    let (s, v) = json(
        e.authed(
            Method::GET,
            "/client/v4/accounts/ffffffffffffffffffffffffffffffff/pages/projects",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(9109))
    );
    let (s, v) = json(
        e.authed(Method::GET, "/client/v4/zones/nothing")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(7003))
    );
    assert!(v["errors"][0]["message"]
        .as_str()
        .expect("msg")
        .starts_with("Could not route to /client/v4/zones/nothing"));
}

#[tokio::test]
async fn manifest_refusals_missing_hash_and_hash_mismatch() {
    let e = start().await;
    create_project(&e, "strict").await;
    let jwt = upload_token(&e, "strict").await;
    let (s, v) = deploy(
        &e,
        "strict",
        json!({"/a.html": cf_hash(b"never", "html")}),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000099)),
        "{v}"
    );
    // Contents stored under the key they have as a .txt, then claimed by a .html path.
    upload_files(&e, &jwt, &[("/a.txt", b"same bytes")]).await;
    let (s, v) = deploy(
        &e,
        "strict",
        json!({"/a.html": cf_hash(b"same bytes", "txt")}),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000100)),
        "{v}"
    );
    // A key whose bytes are not what the client claims.
    let bogus = cf_hash(b"claimed", "css");
    let item = json!([{"key": bogus, "value": B64.encode(b"actual"), "metadata": {"contentType": "text/css"}, "base64": true}]);
    e.req(Method::POST, "/client/v4/pages/assets/upload")
        .bearer_auth(&jwt)
        .json(&item)
        .send()
        .await
        .expect("send");
    let (s, v) = deploy(&e, "strict", json!({"/x.css": bogus}), None, None).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000100)),
        "{v}"
    );
}

#[tokio::test]
async fn upload_jwt_expiry_size_and_count_limits() {
    let e = start().await;
    create_project(&e, "limits").await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"cloudflare_upload_jwt_ttl_secs": 0})),
    )
    .await;
    let jwt = upload_token(&e, "limits").await;
    let r = e
        .req(Method::POST, "/client/v4/pages/assets/check-missing")
        .bearer_auth(&jwt)
        .json(&json!({"hashes": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.text().await.expect("text"), "Expired JWT");
    let r = e
        .req(Method::POST, "/client/v4/pages/assets/check-missing")
        .bearer_auth("a.b.c")
        .json(&json!({"hashes": []}))
        .send()
        .await
        .expect("send");
    let (s, v) = json(r).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(8000013))
    );

    e.control(Method::POST, "/_emulator/config", Some(json!({"cloudflare_upload_jwt_ttl_secs": 600, "cloudflare_max_file_size": 10, "cloudflare_pages_max_file_count": 2}))).await;
    let jwt = upload_token(&e, "limits").await;
    assert_eq!(jwt_payload(&jwt)["max_file_count_allowed"], 2);
    let big = b"01234567890";
    let item = json!([{"key": cf_hash(big, "txt"), "value": B64.encode(big), "metadata": {"contentType": "text/plain"}, "base64": true}]);
    let (s, v) = json(
        e.req(Method::POST, "/client/v4/pages/assets/upload")
            .bearer_auth(&jwt)
            .json(&item)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000097)),
        "{v}"
    );
    let three = json!({"hashes": [cf_hash(b"1", ""), cf_hash(b"2", ""), cf_hash(b"3", "")]});
    let (s, v) = json(
        e.req(Method::POST, "/client/v4/pages/assets/check-missing")
            .bearer_auth(&jwt)
            .json(&three)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000098))
    );
    let files: Vec<(&str, &[u8])> = vec![("/1", b"1"), ("/2", b"2"), ("/3", b"3")];
    let (s, v) = deploy(&e, "limits", manifest_of(&files), None, None).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8000098))
    );
}

#[tokio::test]
async fn processing_delay_shows_build_stage_then_success() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"cloudflare_processing_ms": 400})),
    )
    .await;
    create_project(&e, "slow").await;
    let jwt = upload_token(&e, "slow").await;
    let files: Vec<(&str, &[u8])> = vec![("/index.html", b"slow")];
    upload_files(&e, &jwt, &files).await;
    let (_, d) = deploy(&e, "slow", manifest_of(&files), None, None).await;
    let id = d["result"]["id"].as_str().expect("id").to_string();
    let (_, g) = json(
        e.authed(Method::GET, &pages(&format!("/slow/deployments/{id}")))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(g["result"]["latest_stage"]["name"], "build");
    assert_eq!(g["result"]["latest_stage"]["status"], "active");
    assert_eq!(e.site("slow.pages.dev", "/").await.0, StatusCode::NOT_FOUND);
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let (_, g) = json(
        e.authed(Method::GET, &pages(&format!("/slow/deployments/{id}")))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(g["result"]["latest_stage"]["status"], "success");
    assert_eq!(e.site("slow.pages.dev", "/").await.2, b"slow");
}
