//! Cloudflare tokens, accounts and the global rate limit (`specs/cloudflare.md §5`, §7).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn token_verify_distinguishes_valid_expired_invalid_and_missing() {
    let e = start().await;
    let verify = |t: Option<&'static str>| {
        let mut r = e.req(Method::GET, "/client/v4/user/tokens/verify");
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        async move { json(r.send().await.expect("send")).await }
    };
    let (s, v) = verify(Some(TOKEN)).await;
    assert_eq!(
        (s, v["result"]["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let (_, v) = verify(Some(EXPIRED)).await;
    assert_eq!(v["result"]["status"], "expired");
    let (s, v) = verify(Some("nope")).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(1000))
    );
    let (s, v) = verify(None).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(9106))
    );
    let (s, v) = json(
        e.req(Method::GET, "/client/v4/user")
            .header("authorization", "Bearer a b")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(6003))
    );
    assert_eq!(v["errors"][0]["error_chain"][0]["code"], 6111);
}

#[tokio::test]
async fn accounts_and_memberships_show_every_account_of_the_token() {
    let extra = "fedcba9876543210fedcba9876543210".to_string();
    let e = start_with(sitedrop_emulator::Config {
        cloudflare_extra_accounts: vec![extra.clone()],
        ..Default::default()
    })
    .await;
    let (_, v) = json(
        e.authed(Method::GET, "/client/v4/accounts?page=1")
            .send()
            .await
            .expect("send"),
    )
    .await;
    let ids: Vec<&str> = v["result"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, vec![ACCOUNT, extra.as_str()]);
    assert_eq!(v["result_info"]["total_count"], 2);
    let (_, v) = json(
        e.authed(Method::GET, "/client/v4/memberships?page=1")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["result"][1]["account"]["id"], extra);
    let (_, v) = json(
        e.authed(Method::GET, "/client/v4/user")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert!(v["result"]["email"].is_string());
}

#[tokio::test]
async fn global_rate_limit_answers_971_with_retry_after() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"cloudflare_rate_limit_per_5min": 2})),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            e.authed(Method::GET, "/client/v4/user")
                .send()
                .await
                .expect("send")
                .status(),
            StatusCode::OK
        );
    }
    let r = e
        .authed(Method::GET, "/client/v4/user")
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("retry-after"));
    let (s, v) = json(r).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some(971))
    );
}
