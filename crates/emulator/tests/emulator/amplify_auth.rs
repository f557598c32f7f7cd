//! Amplify's front-door refusals: signature, credentials, session tokens, region, clock and
//! permissions (`specs/amplify.md §1.5`, §2.1).

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sitedrop_emulator::util::time::now_ms;

use super::amplify::{call, signed_at, Creds, DEFAULT};
use crate::common::*;

#[tokio::test]
async fn signature_credentials_region_and_clock_refusals() {
    let e = start().await;
    let expect = |r: (StatusCode, String, Value), status: u16, kind: &str| {
        assert_eq!((r.0.as_u16(), r.1.as_str()), (status, kind), "{}", r.2);
        r.2
    };
    let v = expect(
        call(
            &e,
            &Creds {
                region: "eu-west-1",
                ..DEFAULT
            },
            "GET",
            "/apps",
            "",
        )
        .await,
        403,
        "InvalidSignatureException",
    );
    assert!(v["message"]
        .as_str()
        .expect("m")
        .contains("Credential should be scoped to a valid region"));
    expect(
        call(
            &e,
            &Creds {
                secret: "wrong",
                ..DEFAULT
            },
            "GET",
            "/apps",
            "",
        )
        .await,
        403,
        "InvalidSignatureException",
    );
    expect(
        call(
            &e,
            &Creds {
                key: "AKIDUNKNOWN",
                ..DEFAULT
            },
            "GET",
            "/apps",
            "",
        )
        .await,
        403,
        "UnrecognizedClientException",
    );
    let r = e.req(Method::GET, "/apps").send().await.expect("send");
    assert_eq!(
        r.headers()["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
    let old = signed_at(&e, &DEFAULT, "GET", "/apps", "", now_ms() - 3_600_000)
        .send()
        .await
        .expect("send");
    let (s, v) = json(old).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(v["message"]
        .as_str()
        .expect("m")
        .starts_with("Signature expired"));
    let temp = Creds {
        key: "ASIASITEDROPTEMP",
        secret: "sitedrop-temp-secret",
        token: Some("sitedrop-session-token"),
        region: "us-east-1",
    };
    expect(call(&e, &temp, "GET", "/apps", "").await, 200, "");
    expect(
        call(
            &e,
            &Creds {
                token: None,
                ..temp
            },
            "GET",
            "/apps",
            "",
        )
        .await,
        403,
        "UnrecognizedClientException",
    );
    let temp = Creds {
        key: "ASIASITEDROPTEMP",
        secret: "sitedrop-temp-secret",
        token: Some(EXPIRED),
        region: "us-east-1",
    };
    expect(
        call(&e, &temp, "GET", "/apps", "").await,
        403,
        "ExpiredTokenException",
    );
    let ro = Creds {
        key: "AKIDSITEDROPREADONLY",
        ..DEFAULT
    };
    expect(call(&e, &ro, "GET", "/apps", "").await, 200, "");
    let v = expect(
        call(&e, &ro, "POST", "/apps", r#"{"name":"x","platform":"WEB"}"#).await,
        403,
        "AccessDeniedException",
    );
    assert!(v["message"]
        .as_str()
        .expect("m")
        .contains("amplify:CreateApp"));
    expect(
        call(&e, &DEFAULT, "GET", "/apps/dnothere", "").await,
        404,
        "NotFoundException",
    );
}
