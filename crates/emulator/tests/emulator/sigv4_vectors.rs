//! The SigV4 implementation against the official AWS signing test suite (the CRT
//! `aws-signing-test-suite/v4` shipped inside the `aws-sigv4` crate package, read from the
//! cargo registry, `specs/amplify.md §2.2`) and the Amplify golden vectors (§2.4); then the
//! HTTP verifier end to end with golden-vector requests.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{json, Value};
use sitedrop_emulator::amplify::sigv4::{self, Request};
use sitedrop_emulator::{AwsCredential, Config, Knobs};

use crate::common::*;

fn suite_dir() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .expect("cargo registry sources")
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("aws-sigv4-"))
        })
        .map(|p| p.join("aws-signing-test-suite/v4"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop().expect(
        "aws-sigv4's packaged aws-signing-test-suite (a dev-dependency) in the cargo registry",
    )
}

struct Raw {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Parses the suite's `request.txt` format: request line, `Name:value` lines (continuation
/// lines start with whitespace), blank line, body.
fn parse_request(text: &str) -> Raw {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let first = lines.next().expect("request line");
    let method = first.split(' ').next().expect("method").to_string();
    let end = first.rfind(" HTTP/").unwrap_or(first.len());
    let target = first[method.len() + 1..end].to_string();
    let (path, query) = target
        .split_once('?')
        .map_or((target.clone(), String::new()), |(p, q)| {
            (p.to_string(), q.to_string())
        });
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in lines {
        if l.starts_with(' ') || l.starts_with('\t') {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(l.trim());
            }
        } else if let Some((k, v)) = l.split_once(':') {
            headers.push((k.to_string(), v.to_string()));
        }
    }
    Raw {
        method,
        path,
        query,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn read(dir: &Path, f: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(f)).ok()
}

#[test]
fn official_crt_suite_header_and_query_signatures() {
    let root = suite_dir();
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&root)
        .expect("suite")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for dir in entries {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let Some(ctx) = read(&dir, "context.json") else {
            // Legacy cases without context: only the canonical URI is checked.
            let raw = parse_request(&read(&dir, "request.txt").expect("request"));
            let creq = read(&dir, "header-canonical-request.txt").expect("creq");
            assert_eq!(
                sigv4::canonical_uri(&raw.path, true),
                creq.lines().nth(1).expect("uri line"),
                "{name}"
            );
            continue;
        };
        let ctx: Value = serde_json::from_str(&ctx).expect("context json");
        let normalize = ctx["normalize"].as_bool().unwrap_or(true);
        let secret = ctx["credentials"]["secret_access_key"]
            .as_str()
            .expect("secret");
        let (region, service) = (
            ctx["region"].as_str().expect("region"),
            ctx["service"].as_str().expect("service"),
        );

        // Header signing.
        let signed =
            parse_request(&read(&dir, "header-signed-request.txt").expect("signed request"));
        let auth = signed
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .expect("authorization")
            .1
            .clone();
        let a = sigv4::parse_authorization(&auth).expect("parse authorization");
        let date = signed
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-date"))
            .expect("date")
            .1
            .clone();
        let payload = signed
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-content-sha256"))
            .map(|h| h.1.clone())
            .unwrap_or_else(|| sigv4::sha256_hex(&signed.body));
        let req = Request {
            method: &signed.method,
            path: &signed.path,
            query: &signed.query,
            headers: &signed.headers,
            payload_hash: &payload,
        };
        let creq = sigv4::canonical_request(&req, &a.signed_headers, normalize, None)
            .expect("canonical request");
        assert_eq!(
            creq,
            read(&dir, "header-canonical-request.txt").expect("creq"),
            "{name}: canonical request"
        );
        let scope = format!("{}/{region}/{service}/aws4_request", &date[..8]);
        let sts = sigv4::string_to_sign(&date, &scope, &creq);
        assert_eq!(
            sts,
            read(&dir, "header-string-to-sign.txt").expect("sts"),
            "{name}: string to sign"
        );
        let key = sigv4::signing_key(secret, &date[..8], region, service);
        assert_eq!(
            sigv4::signature(&key, &sts),
            read(&dir, "header-signature.txt").expect("sig").trim(),
            "{name}: signature"
        );
        assert_eq!(
            a.signature,
            read(&dir, "header-signature.txt").expect("sig").trim(),
            "{name}: header carries it"
        );

        // Query (presigned) signing.
        if let Some(q) = read(&dir, "query-signed-request.txt") {
            let mut qr = parse_request(&q);
            if ctx["omit_session_token"] == true {
                // The token was added after signing, so it is not part of the signature.
                qr.query = qr
                    .query
                    .split('&')
                    .filter(|p| !p.starts_with("X-Amz-Security-Token="))
                    .collect::<Vec<_>>()
                    .join("&");
            }
            let params: Vec<(String, String)> =
                sitedrop_emulator::util::req::query_pairs(&qr.query);
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|p| p.1.clone())
                    .expect("param")
            };
            let signed_headers: Vec<String> = get("X-Amz-SignedHeaders")
                .split(';')
                .map(String::from)
                .collect();
            let payload = qr
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-content-sha256"))
                .map(|h| h.1.clone())
                .unwrap_or_else(|| sigv4::sha256_hex(&qr.body));
            let req = Request {
                method: &qr.method,
                path: &qr.path,
                query: &qr.query,
                headers: &qr.headers,
                payload_hash: &payload,
            };
            let creq =
                sigv4::canonical_request(&req, &signed_headers, normalize, Some("X-Amz-Signature"))
                    .expect("creq");
            assert_eq!(
                creq,
                read(&dir, "query-canonical-request.txt").expect("qcreq"),
                "{name}: query canonical request"
            );
            let date = get("X-Amz-Date");
            let sts = sigv4::string_to_sign(
                &date,
                &format!("{}/{region}/{service}/aws4_request", &date[..8]),
                &creq,
            );
            assert_eq!(
                sts,
                read(&dir, "query-string-to-sign.txt").expect("qsts"),
                "{name}: query string to sign"
            );
            let key = sigv4::signing_key(secret, &date[..8], region, service);
            assert_eq!(
                sigv4::signature(&key, &sts),
                get("X-Amz-Signature"),
                "{name}: query signature"
            );
        }
        checked += 1;
    }
    assert!(checked >= 38, "only {checked} suite cases found");
}

const AK: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN_EX: &str = "SESSIONTOKENEXAMPLE";
const HOST: &str = "amplify.eu-west-1.amazonaws.com";
const DATE: &str = "20150830T123600Z";

/// `specs/amplify.md §2.4`: (method, path?query, body, signature, signature with token).
const GOLDEN: [(&str, &str, &str, &str, &str); 10] = [
    (
        "POST",
        "/apps",
        r#"{"name": "my-site", "platform": "WEB"}"#,
        "51f8f314ed2d081fd3e16c7318137f7a7011d1f035ac5b2d03b2ce44492f9251",
        "d2c9cd52472e33cbbe3f13ac260d88596832f4640156f64b33bd8af551d5dd98",
    ),
    (
        "GET",
        "/apps/d1a2b3c4d5e6f7",
        "",
        "4674b31ab024d47a6b7f23c9aeacff6d51a565f9418a5f3790d4aed5bf8413f2",
        "ef3154ee3d5d7f8f2f03b8b9cc6f1d0cc39fa4429cf75d77889e4332eb154f1d",
    ),
    (
        "POST",
        "/apps/d1a2b3c4d5e6f7/branches",
        r#"{"branchName": "main", "stage": "PRODUCTION"}"#,
        "dce5db18a54367ef207ccb9fb0179dd78c9c7f1b7cff578e6d394e7bea766301",
        "b9272ff2493e2ba9d0005a06df134d3939c01576b25a9d09852bdbabc81c2115",
    ),
    (
        "GET",
        "/apps/d1a2b3c4d5e6f7/branches/feature%2Fx%20y",
        "",
        "3c747db8486506706c2afc771cf74a4166a536990d9156bf7e26cfb7ae347b8a",
        "bd88b94cf287cac945bd9e222ae868c18572d74172acb61621a2667b9938af36",
    ),
    (
        "POST",
        "/apps/d1a2b3c4d5e6f7/branches/main/deployments",
        "{}",
        "f5ec91b8de1b77f426427d0e1e5ba6df981600e5d34d235d576661bb3826d946",
        "f62370635e58b9590ee1df7399bea7901d750aad0173dd79a87e422f9a53abbd",
    ),
    (
        "POST",
        "/apps/d1a2b3c4d5e6f7/branches/main/deployments",
        r#"{"fileMap": {"index.html": "d41d8cd98f00b204e9800998ecf8427e"}}"#,
        "fe23b133ebe09cea64d2c9796e0567ddbd6a7a09c56d998e193d9a28abfc7f1b",
        "990ce43a78ddc641bafce96c51534521e65a028e6cbda313ec1e34b456192f55",
    ),
    (
        "POST",
        "/apps/d1a2b3c4d5e6f7/branches/main/deployments/start",
        r#"{"jobId": "1"}"#,
        "f71b2a723bb1ea0c7769d00eba4f15ccd16c5bbb172f4cc90e13e170693b0b9e",
        "ed33c1997b718d780492a12bcea6a2a18fd21743b5a2162ca9d4f9f48a6c0a6a",
    ),
    (
        "GET",
        "/apps/d1a2b3c4d5e6f7/branches/main/jobs/1",
        "",
        "777c0aff8e45e7e13252271b44f5e0519adfd919cf59ad1914fafdd37c3de759",
        "539140b08e89189f0f92f64189282f3b1a700ef1674eed5804d4bf1c1161161f",
    ),
    (
        "GET",
        "/apps/d1a2b3c4d5e6f7/branches/main/jobs?maxResults=1",
        "",
        "62b2777caf2c493f1168318f2342e857e608d8f6503663faa7cb876160ade5c6",
        "4b8a2f298cc36128dcda9f16a8ce9bccc01b9568245fa3d6a6f6fc6cacf73c62",
    ),
    (
        "DELETE",
        "/apps/d1a2b3c4d5e6f7/branches/main",
        "",
        "4d3e866f0f6439bcd267162b1ffa67c602ed68660aa1d4773362a3fc67b77f07",
        "32d26c6464ec42a4d45e2732fcbb5cfe14664f2551974522df054a63f0afd9b3",
    ),
];

fn golden_headers(body: &str, token: bool) -> Vec<(String, String)> {
    let mut h = vec![("host".to_string(), HOST.to_string())];
    if !body.is_empty() {
        h.push(("content-type".into(), "application/json".into()));
    }
    h.push(("x-amz-date".into(), DATE.into()));
    if token {
        h.push(("x-amz-security-token".into(), TOKEN_EX.into()));
    }
    h
}

fn golden_signature(method: &str, target: &str, body: &str, token: bool) -> (String, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = golden_headers(body, token);
    let names: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let payload = sigv4::sha256_hex(body.as_bytes());
    let req = Request {
        method,
        path,
        query,
        headers: &headers,
        payload_hash: &payload,
    };
    let creq = sigv4::canonical_request(&req, &names, true, None).expect("creq");
    let sts = sigv4::string_to_sign(DATE, "20150830/eu-west-1/amplify/aws4_request", &creq);
    let key = sigv4::signing_key(SECRET, "20150830", "eu-west-1", "amplify");
    (creq, sigv4::signature(&key, &sts))
}

#[test]
fn amplify_golden_vectors() {
    for (method, target, body, plain, with_token) in GOLDEN {
        assert_eq!(
            golden_signature(method, target, body, false).1,
            plain,
            "{method} {target}"
        );
        assert_eq!(
            golden_signature(method, target, body, true).1,
            with_token,
            "{method} {target} + token"
        );
    }
    let (creq, _) = golden_signature(
        "GET",
        "/apps/d1a2b3c4d5e6f7/branches/feature%2Fx%20y",
        "",
        true,
    );
    assert_eq!(creq, "GET\n/apps/d1a2b3c4d5e6f7/branches/feature%252Fx%2520y\n\nhost:amplify.eu-west-1.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:SESSIONTOKENEXAMPLE\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/// An emulator that serves eu-west-1 with the example credentials and a clock window wide
/// enough for 2015 timestamps.
async fn golden_emulator() -> Emu {
    start_with(Config {
        aws_region: "eu-west-1".into(),
        aws_credentials: vec![
            AwsCredential {
                access_key_id: AK.into(),
                secret_access_key: SECRET.into(),
                session_token: None,
            },
            AwsCredential {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: SECRET.into(),
                session_token: Some(TOKEN_EX.into()),
            },
        ],
        knobs: Knobs {
            amplify_clock_skew_secs: 2_000_000_000,
            ..Knobs::default()
        },
        ..Config::default()
    })
    .await
}

async fn send_golden(
    e: &Emu,
    method: &str,
    target: &str,
    body: &str,
    signature: &str,
) -> (reqwest::StatusCode, String, Value) {
    let mut r = e.req(
        Method::from_bytes(method.as_bytes()).expect("method"),
        target,
    );
    for (k, v) in golden_headers(body, false) {
        r = r.header(k, v);
    }
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20150830/eu-west-1/amplify/aws4_request, SignedHeaders={}, Signature={signature}",
        if body.is_empty() { "host;x-amz-date" } else { "content-type;host;x-amz-date" }
    );
    let resp = r
        .header("authorization", auth)
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let kind = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (s, v) = json(resp).await;
    (s, kind, v)
}

#[tokio::test]
async fn verifier_accepts_golden_requests_and_refuses_altered_ones() {
    let e = golden_emulator().await;
    // Accepted: the operation runs (the app does not exist, so NotFound, not a signature error).
    let (s, kind, _) = send_golden(&e, "GET", "/apps/d1a2b3c4d5e6f7", "", GOLDEN[1].3).await;
    assert_eq!((s.as_u16(), kind.as_str()), (404, "NotFoundException"));
    let (s, kind, v) = send_golden(&e, "POST", "/apps", GOLDEN[0].2, GOLDEN[0].3).await;
    assert_eq!((s.as_u16(), kind.as_str()), (200, ""), "{v}");
    assert_eq!(v["app"]["platform"], "WEB");
    // One changed body byte.
    let (s, kind, v) = send_golden(
        &e,
        "POST",
        "/apps",
        r#"{"name": "my-site", "platform": "WEB" }"#,
        GOLDEN[0].3,
    )
    .await;
    assert_eq!(
        (s.as_u16(), kind.as_str()),
        (403, "InvalidSignatureException")
    );
    assert!(v["message"]
        .as_str()
        .expect("msg")
        .contains("The Canonical String for this request should have been"));
    // Wrong secret.
    let (s, kind, _) = send_golden(&e, "GET", "/apps/d1a2b3c4d5e6f7", "", GOLDEN[3].3).await;
    assert_eq!(
        (s.as_u16(), kind.as_str()),
        (403, "InvalidSignatureException")
    );
    let _ = json!(null);
}
