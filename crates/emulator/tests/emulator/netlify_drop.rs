//! Netlify's anonymous Drop flow (`specs/netlify.md §10.2`).

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::netlify::{files_map, upload_required};
use crate::common::*;

#[tokio::test]
async fn anonymous_drop_deploy_is_temporary_password_protected_and_claimable() {
    let e = start().await;
    let (s, t) = json(
        e.req(Method::POST, "/api/v1/drop/token")
            .header("referer", "https://app.netlify.com")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let token = t["token"].as_str().expect("token").to_string();
    let files: Vec<(&str, &[u8])> = vec![("index.html", b"dropped")];
    let (s, d) = json(
        e.req(Method::POST, "/api/v1/drop")
            .json(&json!({"files": files_map(&files), "token": token}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let site_id = d["id"].as_str().expect("id").to_string();
    let name = d["subdomain"].as_str().expect("subdomain").to_string();
    assert_eq!(
        d["claim_url"],
        format!("https://app.netlify.com/drop/{name}#drop_token={token}")
    );
    let deploy = json!({"id": d["deploy_id"], "required": d["required"]});
    upload_required(&e, &deploy, &files, &token, true).await;
    // Polled without any Authorization header.
    let (s, st) = json(
        e.req(
            Method::GET,
            &format!(
                "/api/v1/sites/{site_id}/deploys/{}",
                d["deploy_id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!((s, &st["state"]), (StatusCode::OK, &json!("ready")));
    let host = format!("{name}.netlify.app");
    assert_eq!(e.site(&host, "/").await.0, StatusCode::UNAUTHORIZED);
    let ok = e
        .client
        .get(e.url("/"))
        .header("host", &host)
        .basic_auth("", Some("My-Drop-Site"))
        .send()
        .await
        .expect("send");
    assert_eq!(ok.bytes().await.expect("b").as_ref(), b"dropped");
    let (s, _) = json(
        e.authed(Method::POST, "/api/v1/drop/claim")
            .json(&json!({"site": site_id, "token": token}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e.site(&host, "/").await.2, b"dropped");

    // Unclaimed sites expire.
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"netlify_drop_ttl_secs": 0, "netlify_drop_daily_limit": 0})),
    )
    .await;
    let (_, t) = json(
        e.req(Method::POST, "/api/v1/drop/token")
            .send()
            .await
            .expect("send"),
    )
    .await;
    let (s, _) = json(
        e.req(Method::POST, "/api/v1/drop")
            .json(&json!({"files": files_map(&files), "token": t["token"]}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "an expired drop token is refused"
    );
}

#[tokio::test]
async fn drop_daily_limit_answers_429() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"netlify_drop_daily_limit": 1})),
    )
    .await;
    let files = json!({"index.html": sha1_hex(b"x")});
    let (_, t) = json(
        e.req(Method::POST, "/api/v1/drop/token")
            .send()
            .await
            .expect("send"),
    )
    .await;
    let (s, _) = json(
        e.req(Method::POST, "/api/v1/drop")
            .json(&json!({"files": files, "token": t["token"]}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = json(
        e.req(Method::POST, "/api/v1/drop/token")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn unclaimed_drop_sites_disappear_after_their_ttl() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"netlify_drop_ttl_secs": 1})),
    )
    .await;
    let (_, t) = json(
        e.req(Method::POST, "/api/v1/drop/token")
            .send()
            .await
            .expect("send"),
    )
    .await;
    let files = json!({"index.html": sha1_hex(b"")});
    let (_, d) = json(
        e.req(Method::POST, "/api/v1/drop")
            .json(&json!({"files": files, "token": t["token"], "created_via": "sitedrop"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    let host = format!("{}.netlify.app", d["subdomain"].as_str().expect("name"));
    if !d["required"].as_array().expect("required").is_empty() {
        let url = format!(
            "/api/v1/deploys/{}/files/index.html",
            d["deploy_id"].as_str().expect("id")
        );
        e.req(Method::PUT, &url)
            .bearer_auth(t["token"].as_str().expect("t"))
            .body(Vec::new())
            .send()
            .await
            .expect("send");
    }
    assert_eq!(
        e.site(&host, "/").await.0,
        StatusCode::OK,
        "created_via other than drop: no password"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(e.site(&host, "/").await.0, StatusCode::NOT_FOUND);
}
