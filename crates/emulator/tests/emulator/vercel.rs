//! Vercel deployments with `missing_files`, `/v2/files`, readiness, aliases, promote and
//! rollback, quota and limits (`specs/vercel.md`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

fn entries(files: &[(&str, &[u8])]) -> Value {
    Value::Array(
        files
            .iter()
            .map(|(p, b)| json!({"file": p, "sha": sha1_hex(b), "size": b.len(), "mode": 33188}))
            .collect(),
    )
}

async fn upload(e: &Emu, b: &[u8], header: &str) -> (StatusCode, Value) {
    json(
        e.authed(Method::POST, "/v2/files")
            .header("content-type", "application/octet-stream")
            .header(header, sha1_hex(b))
            .header("x-now-size", b.len().to_string())
            .body(b.to_vec())
            .send()
            .await
            .expect("send"),
    )
    .await
}

/// The CLI's flow: POST, upload what is missing, POST the identical body again.
async fn deploy(e: &Emu, body: &Value, files: &[(&str, &[u8])], query: &str) -> Value {
    let path = format!("/v13/deployments{query}");
    let (s, v) = json(
        e.authed(Method::POST, &path)
            .json(body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    let v = if s == StatusCode::BAD_REQUEST {
        assert_eq!(v["error"]["code"], "missing_files", "{v}");
        let missing: Vec<String> =
            serde_json::from_value(v["error"]["missing"].clone()).expect("missing");
        for sha in &missing {
            let (_, b) = files
                .iter()
                .find(|(_, b)| &sha1_hex(b) == sha)
                .expect("known");
            let (s, r) = upload(e, b, "x-now-digest").await;
            assert_eq!(s, StatusCode::OK, "{r}");
        }
        let (s, v) = json(
            e.authed(Method::POST, &path)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    } else {
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    };
    assert_eq!(v["readyState"], "QUEUED");
    v
}

async fn wait_ready(e: &Emu, id: &str, query: &str) -> Value {
    for _ in 0..50 {
        let (_, v) = json(
            e.authed(Method::GET, &format!("/v13/deployments/{id}{query}"))
                .send()
                .await
                .expect("send"),
        )
        .await;
        if v["readyState"] == "READY" && !v["aliasAssigned"].is_null() {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("deployment {id} never became READY");
}

#[tokio::test]
async fn user_teams_and_project_lookup() {
    let e = start().await;
    let (s, v) = json(
        e.authed(Method::GET, "/v2/user")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["user"]["username"].as_str()),
        (StatusCode::OK, Some("sitedrop"))
    );
    let (_, v) = json(
        e.authed(Method::GET, "/v1/teams")
            .send()
            .await
            .expect("send"),
    )
    .await;
    let team = v["teams"][0]["id"].as_str().expect("team").to_string();
    let (s, v) = json(
        e.authed(Method::GET, "/v9/projects/site-v")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, p) = json(
        e.authed(Method::POST, "/v1/projects")
            .json(&json!({"name": "site-v", "framework": null}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (s, v) = json(
        e.authed(
            Method::GET,
            &format!("/v9/projects/{}", p["id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!((s, &v["name"]), (StatusCode::OK, &json!("site-v")));
    let (s, _) = json(
        e.authed(Method::POST, "/v10/projects")
            .json(&json!({"name": "site-v"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = json(
        e.authed(Method::POST, "/v10/projects")
            .json(&json!({"name": "Bad Name"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Team scope is separate from the personal one.
    let (s, _) = json(
        e.authed(Method::GET, &format!("/v9/projects/site-v?teamId={team}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = json(
        e.authed(Method::GET, "/v9/projects/site-v?teamId=team_someoneelse")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = json(
        e.req(Method::GET, "/v2/user")
            .bearer_auth("bad")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, &v["error"]["invalidToken"]),
        (StatusCode::FORBIDDEN, &json!(true))
    );
    let (s, v) = json(e.req(Method::GET, "/v2/user").send().await.expect("send")).await;
    assert_eq!(
        (s, &v["error"]["missingToken"]),
        (StatusCode::FORBIDDEN, &json!(true))
    );
    let (s, _) = json(
        e.req(Method::GET, "/v2/user")
            .bearer_auth(EXPIRED)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn production_deploy_gets_alias_and_serves_bytes() {
    let e = start().await;
    let files: Vec<(&str, &[u8])> = vec![
        ("index.html", b"<h1>v</h1>"),
        ("css/a.css", b"a{}"),
        ("dup.html", b"<h1>v</h1>"),
    ];
    let body = json!({"name": "site-v", "files": entries(&files), "target": "production", "projectSettings": {"framework": null}, "version": 2});
    let d = deploy(&e, &body, &files, "?skipAutoDetectionConfirmation=1").await;
    let id = d["id"].as_str().expect("id").to_string();
    let r = wait_ready(&e, &id, "").await;
    assert_eq!(r["alias"], json!(["site-v.vercel.app"]));
    let (s, h, b) = e.site("site-v.vercel.app", "/css/a.css").await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, b"a{}".as_slice()));
    assert!(h["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/css"));
    assert_eq!(
        e.site(r["url"].as_str().expect("url"), "/").await.2,
        b"<h1>v</h1>"
    );
    // The repeated identical create succeeds straight away once everything is uploaded.
    let (s, _) = json(
        e.authed(Method::POST, "/v13/deployments")
            .json(&body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = json(
        e.authed(Method::GET, "/v13/deployments/dpl_nothing")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn preview_promote_and_rollback() {
    let e = start().await;
    let mk = |c: &'static [u8], prod: bool| {
        let files: Vec<(&str, &[u8])> = vec![("index.html", c)];
        let mut b = json!({"name": "flow", "files": entries(&files)});
        if prod {
            b["target"] = json!("production");
        }
        (b, files)
    };
    let (b1, f1) = mk(b"one", true);
    let d1 = deploy(&e, &b1, &f1, "").await;
    wait_ready(&e, d1["id"].as_str().expect("id"), "").await;
    let (b2, f2) = mk(b"two", true);
    let d2 = deploy(&e, &b2, &f2, "").await;
    wait_ready(&e, d2["id"].as_str().expect("id"), "").await;
    let (b3, f3) = mk(b"preview", false);
    let d3 = deploy(&e, &b3, &f3, "").await;
    let r3 = wait_ready(&e, d3["id"].as_str().expect("id"), "").await;
    assert_eq!(r3["alias"], json!([]));
    assert_eq!(e.site("flow.vercel.app", "/").await.2, b"two");
    let pid = d1["projectId"].as_str().expect("pid");
    let r = e
        .authed(
            Method::POST,
            &format!(
                "/v9/projects/{pid}/rollback/{}",
                d1["id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(e.site("flow.vercel.app", "/").await.2, b"one");
    let r = e
        .authed(
            Method::POST,
            &format!(
                "/v10/projects/{pid}/promote/{}",
                d3["id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(e.site("flow.vercel.app", "/").await.2, b"preview");
}

#[tokio::test]
async fn digests_sizes_and_the_daily_quota_are_enforced() {
    let e = start().await;
    let (s, _) = upload(&e, b"hello", "x-vercel-digest").await;
    assert_eq!(s, StatusCode::OK);
    let r = e
        .authed(Method::POST, "/v2/files")
        .header("x-now-digest", sha1_hex(b"other"))
        .body("hello")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = e
        .authed(Method::POST, "/v2/files")
        .header("x-now-digest", sha1_hex(b"hello"))
        .header("x-now-size", "4")
        .body("hello")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = e
        .authed(Method::POST, "/v2/files")
        .body("hello")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = e
        .req(Method::POST, "/v2/files")
        .bearer_auth(READONLY)
        .header("x-now-digest", sha1_hex(b"x"))
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"vercel_daily_upload_quota": 2})),
    )
    .await;
    let (s, _) = upload(&e, b"second", "x-now-digest").await;
    assert_eq!(s, StatusCode::OK);
    let r = e
        .authed(Method::POST, "/v2/files")
        .header("x-now-digest", sha1_hex(b"third"))
        .body("third")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let (_, v) = json(r).await;
    assert_eq!(v["error"]["code"], "rate_limited");
    assert_eq!(v["error"]["name"], "api-upload-free");
    assert!(v["error"]["limit"]["reset"].as_u64().is_some());
    assert!(v["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("api-upload-free"));
}

#[tokio::test]
async fn file_count_cap_and_building_state() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"vercel_max_files": 2, "vercel_processing_ms": 300})),
    )
    .await;
    let files: Vec<(&str, &[u8])> = vec![("a", b"a"), ("b", b"b"), ("c", b"c")];
    let (s, v) = json(
        e.authed(Method::POST, "/v13/deployments")
            .json(&json!({"name": "cap", "files": entries(&files)}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"]["message"],
        "Invalid request: `files` should NOT have more than 2 items, received 3."
    );
    let one: Vec<(&str, &[u8])> = vec![("index.html", b"slow")];
    let d = deploy(
        &e,
        &json!({"name": "cap", "files": entries(&one)}),
        &one,
        "",
    )
    .await;
    let (_, v) = json(
        e.authed(
            Method::GET,
            &format!("/v13/deployments/{}", d["id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(
        (v["readyState"].as_str(), v["aliasAssigned"].is_null()),
        (Some("BUILDING"), true)
    );
    wait_ready(&e, d["id"].as_str().expect("id"), "").await;
}

#[tokio::test]
async fn inline_files_public_output_and_taken_names() {
    let e = start_with(sitedrop_emulator::Config {
        taken_names: vec![("vercel".into(), "popular".into())],
        ..Default::default()
    })
    .await;
    let (_, v) = json(
        e.authed(Method::GET, "/v1/teams")
            .send()
            .await
            .expect("send"),
    )
    .await;
    let team = v["teams"][0]["id"].as_str().expect("team").to_string();
    let body = json!({"name": "popular", "target": "production", "files": [
        {"file": "public/index.html", "data": "PGgxPmlubGluZTwvaDE+", "encoding": "base64"},
        {"file": "README.md", "data": "readme", "encoding": "utf-8"},
    ]});
    let (s, d) = json(
        e.authed(Method::POST, &format!("/v13/deployments?teamId={team}"))
            .json(&body)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let r = wait_ready(
        &e,
        d["id"].as_str().expect("id"),
        &format!("?teamId={team}"),
    )
    .await;
    let alias = r["alias"][0].as_str().expect("alias").to_string();
    assert_ne!(alias, "popular.vercel.app");
    assert!(alias.starts_with("popular-"), "{alias}");
    assert_eq!(
        e.site(&alias, "/").await.2,
        b"<h1>inline</h1>",
        "the Other preset serves public/"
    );
}

#[tokio::test]
async fn the_daily_quota_holds_for_parallel_uploads() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"vercel_daily_upload_quota": 3})),
    )
    .await;
    let bodies: Vec<Vec<u8>> = (0..8).map(|i| format!("file {i}").into_bytes()).collect();
    let statuses = futures_util::future::join_all(
        bodies
            .iter()
            .map(|b| async { upload(&e, b, "x-now-digest").await.0 }),
    )
    .await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, refused), (3, 5), "{statuses:?}");
}
