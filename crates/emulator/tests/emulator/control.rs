//! The `/_emulator/` control API: faults, request log, state, reset, knobs, taken names.

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn status_fault_with_retry_after_fires_count_times_then_handles_normally() {
    let e = start().await;
    let f = e.control(Method::POST, "/_emulator/faults", Some(json!({"platform": "netlify", "method": "GET", "path": "/api/v1/user", "status": 503, "body": "{\"code\":503,\"message\":\"busy\"}", "headers": {"Retry-After": "2"}, "count": 2}))).await;
    assert!(f["id"].as_u64().is_some());
    for _ in 0..2 {
        let r = e
            .authed(Method::GET, "/api/v1/user")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["content-type"], "application/json");
    }
    assert_eq!(
        e.authed(Method::GET, "/api/v1/user")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    // Another platform is untouched.
    assert_eq!(
        e.authed(Method::GET, "/v2/user")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn reset_fault_drops_the_connection_and_latency_only_delays() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"path": "/v2/files", "reset": true, "count": 1})),
    )
    .await;
    let r = e.authed(Method::POST, "/v2/files").body("x").send().await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the connection must break mid-response");
    e.control(Method::DELETE, "/_emulator/faults", None).await;
    e.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"platform": "vercel", "latency_ms": 150})),
    )
    .await;
    let t = Instant::now();
    let r = e
        .authed(Method::GET, "/v2/user")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(t.elapsed().as_millis() >= 150);
}

#[tokio::test]
async fn lose_answer_does_the_work_but_the_client_never_hears() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"platform": "netlify", "method": "POST", "path": "/api/v1/sites", "lose_answer": true, "count": 1})),
    )
    .await;
    let r = e
        .authed(Method::POST, "/api/v1/sites")
        .json(&json!({"name": "lost-answer"}))
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the answer must not arrive");
    // The site exists all the same, and a second create finds the name taken.
    let (status, sites) = json(
        e.authed(Method::GET, "/api/v1/sites?name=lost-answer")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sites.as_array().map(Vec::len), Some(1), "{sites}");
    let again = e
        .authed(Method::POST, "/api/v1/sites")
        .json(&json!({"name": "lost-answer"}))
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn duration_window_ends_a_fault_and_rate_zero_never_fires() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"platform": "cloudflare", "status": 500, "duration_ms": 150})),
    )
    .await;
    e.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"platform": "vercel", "status": 500, "rate": 0.0})),
    )
    .await;
    assert_eq!(
        e.authed(Method::GET, "/client/v4/user")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        e.authed(Method::GET, "/v2/user")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        e.authed(Method::GET, "/client/v4/user")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let r = e
        .req(Method::POST, "/_emulator/faults")
        .json(&json!({"bogus": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn request_log_state_reset_and_knobs() {
    let e = start().await;
    e.authed(Method::POST, "/api/v1/sitedrop/sites")
        .json(&json!({"name": "logged"}))
        .send()
        .await
        .expect("send");
    e.authed(Method::GET, "/api/v1/sites/logged")
        .send()
        .await
        .expect("send");
    let log = e.control(Method::GET, "/_emulator/requests", None).await;
    let entries = log.as_array().expect("log");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["platform"], "netlify");
    assert_eq!(entries[0]["status"], 201);
    assert!(entries[0]["body_size"].as_u64().expect("size") > 0);
    let since = entries[0]["seq"].as_u64().expect("seq");
    let later = e
        .control(
            Method::GET,
            &format!("/_emulator/requests?since={since}"),
            None,
        )
        .await;
    assert_eq!(later.as_array().map(Vec::len), Some(1));
    let state = e.control(Method::GET, "/_emulator/state", None).await;
    assert_eq!(state["netlify"]["sites"][0]["name"], "logged");
    e.control(Method::POST, "/_emulator/reset", None).await;
    let state = e.control(Method::GET, "/_emulator/state", None).await;
    assert_eq!(state["netlify"]["sites"], json!([]));
    assert_eq!(
        e.control(Method::GET, "/_emulator/requests", None).await,
        json!([])
    );
    let k = e
        .control(
            Method::POST,
            "/_emulator/config",
            Some(json!({"vercel_daily_upload_quota": 7})),
        )
        .await;
    assert_eq!(k["vercel_daily_upload_quota"], 7);
    let r = e
        .req(Method::POST, "/_emulator/config")
        .json(&json!({"no_such_knob": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    e.control(
        Method::POST,
        "/_emulator/taken",
        Some(json!({"platform": "netlify", "name": "mine"})),
    )
    .await;
    let r = e
        .authed(Method::POST, "/api/v1/sites")
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn unknown_hosts_and_paths() {
    let e = start().await;
    assert_eq!(
        e.site("nothing.netlify.app", "/").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        e.site("nothing.vercel.app", "/").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        e.req(Method::GET, "/nowhere")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn thousands_of_small_requests_per_second() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"netlify_rate_limit_per_minute": 0})),
    )
    .await;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = e.client.clone();
        let url = e.url("/api/v1/user");
        tasks.push(tokio::spawn(async move {
            for _ in 0..250 {
                let r = c.get(&url).bearer_auth(TOKEN).send().await.expect("send");
                assert_eq!(r.status(), StatusCode::OK);
                r.bytes().await.expect("body");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = t.elapsed().as_secs_f64();
    assert!(
        2000.0 / secs > 1000.0,
        "only {:.0} requests/s",
        2000.0 / secs
    );
}

#[tokio::test]
async fn dropping_the_emulator_stops_the_server() {
    let e = start().await;
    let url = e.url("/_emulator/health");
    assert_eq!(
        e.client.get(&url).send().await.expect("send").status(),
        StatusCode::OK
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    drop(e);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(client.get(&url).send().await.is_err());
}

#[tokio::test]
async fn the_sink_reads_a_streamed_body_and_keeps_nothing() {
    let e = start().await;
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..8)
        .map(|_| Ok(bytes::Bytes::from(vec![7u8; 100_000])))
        .collect();
    let r = e
        .client
        .post(e.url("/_emulator/sink"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v, json!({"bytes": 800_000}));
    let state = e.control(Method::GET, "/_emulator/state", None).await;
    assert_eq!(state["blobs"], json!({}));
}
