//! Amplify manual deploys over SigV4-signed rest-json (`specs/amplify.md`): apps, branches,
//! CreateDeployment → presigned PUT → StartDeployment → GetJob, blocking jobs, refusals.

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sitedrop_emulator::amplify::sigv4::{self, Request};
use sitedrop_emulator::util::time::{amz_date, now_ms};

use crate::common::*;

#[derive(Clone, Copy)]
pub struct Creds<'a> {
    pub key: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
    pub region: &'a str,
}

pub const DEFAULT: Creds = Creds {
    key: "AKIDSITEDROPTEST",
    secret: "sitedrop-test-secret",
    token: None,
    region: "us-east-1",
};

/// Signs a request the way botocore does (`specs/amplify.md §2.1`), at `time_ms`.
pub fn signed_at(
    e: &Emu,
    c: &Creds<'_>,
    method: &str,
    target: &str,
    body: &str,
    time_ms: u64,
) -> reqwest::RequestBuilder {
    let host = format!("127.0.0.1:{}", e.emu.port());
    let date = amz_date(time_ms);
    let mut headers = vec![("host".to_string(), host)];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    headers.push(("x-amz-date".into(), date.clone()));
    if let Some(t) = c.token {
        headers.push(("x-amz-security-token".into(), t.into()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
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
    let scope = format!("{}/{}/amplify/aws4_request", &date[..8], c.region);
    let sts = sigv4::string_to_sign(&date, &scope, &creq);
    let sig = sigv4::signature(
        &sigv4::signing_key(c.secret, &date[..8], c.region, "amplify"),
        &sts,
    );
    let mut r = e.req(
        Method::from_bytes(method.as_bytes()).expect("method"),
        target,
    );
    for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
        r = r.header(k, v);
    }
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={sig}",
        c.key,
        names.join(";")
    );
    r.header("authorization", auth).body(body.to_string())
}

pub async fn call(
    e: &Emu,
    c: &Creds<'_>,
    method: &str,
    target: &str,
    body: &str,
) -> (StatusCode, String, Value) {
    let r = signed_at(e, c, method, target, body, now_ms())
        .send()
        .await
        .expect("send");
    let kind = r
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (s, v) = json(r).await;
    (s, kind, v)
}

async fn ok(e: &Emu, method: &str, target: &str, body: Value) -> Value {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (s, kind, v) = call(e, &DEFAULT, method, target, &body).await;
    assert_eq!(s, StatusCode::OK, "{method} {target}: {kind} {v}");
    v
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in files {
        w.start_file(*name, opts).expect("start file");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

async fn setup(e: &Emu, branch: &str) -> String {
    let app = ok(
        e,
        "POST",
        "/apps",
        json!({"name": "my-site", "platform": "WEB"}),
    )
    .await;
    let id = app["app"]["appId"].as_str().expect("appId").to_string();
    assert_eq!(app["app"]["defaultDomain"], format!("{id}.amplifyapp.com"));
    ok(
        e,
        "POST",
        &format!("/apps/{id}/branches"),
        json!({"branchName": branch, "stage": "PRODUCTION"}),
    )
    .await;
    id
}

async fn put_zip(e: &Emu, url: &str, zip: Vec<u8>) -> reqwest::Response {
    assert!(url.starts_with(&e.emu.url()), "{url}");
    e.client.put(url).body(zip).send().await.expect("put")
}

async fn wait_job(e: &Emu, id: &str, branch_enc: &str, job: &str) -> Value {
    for _ in 0..100 {
        let v = ok(
            e,
            "GET",
            &format!("/apps/{id}/branches/{branch_enc}/jobs/{job}"),
            Value::Null,
        )
        .await;
        let st = v["job"]["summary"]["status"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if ["SUCCEED", "FAILED", "CANCELLED"].contains(&st.as_str()) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("job {job} never finished");
}

async fn deploy(e: &Emu, id: &str, branch_enc: &str, zip: Vec<u8>) -> (String, Value) {
    let d = ok(
        e,
        "POST",
        &format!("/apps/{id}/branches/{branch_enc}/deployments"),
        json!({}),
    )
    .await;
    assert_eq!(d["fileUploadUrls"], json!({}));
    let job = d["jobId"].as_str().expect("jobId").to_string();
    let r = put_zip(e, d["zipUploadUrl"].as_str().expect("url"), zip).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("etag"));
    let s = ok(
        e,
        "POST",
        &format!("/apps/{id}/branches/{branch_enc}/deployments/start"),
        json!({"jobId": job}),
    )
    .await;
    assert_eq!(s["jobSummary"]["status"], "PENDING");
    assert_eq!(s["jobSummary"]["jobType"], "MANUAL");
    let done = wait_job(e, id, branch_enc, &job).await;
    (job, done)
}

#[tokio::test]
async fn manual_deploy_goes_live_on_the_branch_host() {
    let e = start().await;
    let id = setup(&e, "main").await;
    let jobs = ok(
        &e,
        "GET",
        &format!("/apps/{id}/branches/main/jobs?maxResults=50"),
        Value::Null,
    )
    .await;
    assert_eq!(jobs["jobSummaries"], json!([]));
    let zip = zip_of(&[
        ("index.html", b"<h1>amp</h1>"),
        ("css/a.css", b"a{}"),
        ("docs/index.html", b"docs"),
    ]);
    let (job, done) = deploy(&e, &id, "main", zip).await;
    assert_eq!(done["job"]["summary"]["status"], "SUCCEED", "{done}");
    assert_eq!(done["job"]["steps"][0]["stepName"], "DEPLOY");
    let host = format!("main.{id}.amplifyapp.com");
    let (s, h, b) = e.site(&host, "/").await;
    assert_eq!(
        (s, b.as_slice()),
        (StatusCode::OK, b"<h1>amp</h1>".as_slice())
    );
    assert!(h["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/html"));
    assert_eq!(e.site(&host, "/css/a.css").await.2, b"a{}");
    assert_eq!(e.site(&host, "/docs/").await.2, b"docs");
    let (s, _, b) = e.site(&host, "/missing.png").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&b).contains("<Code>AccessDenied</Code>"));
    let br = ok(&e, "GET", &format!("/apps/{id}/branches/main"), Value::Null).await;
    assert_eq!(br["branch"]["activeJobId"], job.as_str());
    assert_eq!(br["branch"]["displayName"], "main");
    let list = ok(&e, "GET", "/apps", Value::Null).await;
    assert_eq!(list["apps"][0]["appId"], id.as_str());
    let del = ok(
        &e,
        "DELETE",
        &format!("/apps/{id}/branches/main"),
        Value::Null,
    )
    .await;
    assert_eq!(del["branch"]["branchName"], "main");
}

#[tokio::test]
async fn branch_names_with_slashes_and_spaces_round_trip() {
    let e = start().await;
    let id = setup(&e, "feature/x y").await;
    let br = ok(
        &e,
        "GET",
        &format!("/apps/{id}/branches/feature%2Fx%20y"),
        Value::Null,
    )
    .await;
    assert_eq!(br["branch"]["branchName"], "feature/x y");
    let display = br["branch"]["displayName"]
        .as_str()
        .expect("display")
        .to_string();
    let (_, done) = deploy(
        &e,
        &id,
        "feature%2Fx%20y",
        zip_of(&[("index.html", b"branch")]),
    )
    .await;
    assert_eq!(done["job"]["summary"]["status"], "SUCCEED");
    assert_eq!(
        e.site(&format!("{display}.{id}.amplifyapp.com"), "/")
            .await
            .2,
        b"branch"
    );
}

#[tokio::test]
async fn unfinished_jobs_block_new_deployments_until_stopped() {
    let e = start().await;
    let id = setup(&e, "main").await;
    let d = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({}),
    )
    .await;
    let job = d["jobId"].as_str().expect("job").to_string();
    let (s, kind, v) = call(
        &e,
        &DEFAULT,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        "{}",
    )
    .await;
    assert_eq!(
        (s, kind.as_str()),
        (StatusCode::BAD_REQUEST, "BadRequestException")
    );
    assert_eq!(v["message"], format!("The last job(deployment) {job} was not finished, please wait until it finish or use StopJob operation to cancel it before creating a new deployment."));
    let stop = ok(
        &e,
        "DELETE",
        &format!("/apps/{id}/branches/main/jobs/{job}/stop"),
        Value::Null,
    )
    .await;
    assert_eq!(stop["jobSummary"]["status"], "CANCELLED");
    // A stuck PENDING job made through the control API blocks the same way.
    let stuck = e
        .control(
            Method::POST,
            "/_emulator/amplify/stuck-job",
            Some(json!({"app_id": id, "branch": "main"})),
        )
        .await;
    let stuck_id = stuck["jobId"].as_str().expect("job").to_string();
    let (s, _, _) = call(
        &e,
        &DEFAULT,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        "{}",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let jobs = ok(
        &e,
        "GET",
        &format!("/apps/{id}/branches/main/jobs"),
        Value::Null,
    )
    .await;
    assert_eq!(jobs["jobSummaries"][0]["jobId"], stuck_id.as_str());
    assert_eq!(jobs["jobSummaries"][0]["status"], "PENDING");
    ok(
        &e,
        "DELETE",
        &format!("/apps/{id}/branches/main/jobs/{stuck_id}/stop"),
        Value::Null,
    )
    .await;
    ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({}),
    )
    .await;
    let (s, _, v) = call(
        &e,
        &DEFAULT,
        "POST",
        &format!("/apps/{id}/branches/main/deployments/start"),
        "{}",
    )
    .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Must specify jobId or sourceUrl for StartDeploymentRequest.")
        )
    );
}

#[tokio::test]
async fn job_moves_through_pending_and_running_with_durations() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"amplify_pending_ms": 200, "amplify_running_ms": 200})),
    )
    .await;
    let id = setup(&e, "main").await;
    let d = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({}),
    )
    .await;
    let job = d["jobId"].as_str().expect("job").to_string();
    put_zip(
        &e,
        d["zipUploadUrl"].as_str().expect("url"),
        zip_of(&[("index.html", b"t")]),
    )
    .await;
    ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments/start"),
        json!({"jobId": job}),
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..60 {
        let v = ok(
            &e,
            "GET",
            &format!("/apps/{id}/branches/main/jobs/{job}"),
            Value::Null,
        )
        .await;
        let st = v["job"]["summary"]["status"]
            .as_str()
            .expect("status")
            .to_string();
        if seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        if st == "SUCCEED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(seen, vec!["PENDING", "RUNNING", "SUCCEED"]);
}

#[tokio::test]
async fn upload_url_is_checked_and_bad_zips_fail_the_job() {
    let e = start().await;
    let id = setup(&e, "main").await;
    let d = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({}),
    )
    .await;
    let url = d["zipUploadUrl"].as_str().expect("url").to_string();
    assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires="));
    let r = e
        .client
        .put(&url)
        .header("authorization", "AWS4-HMAC-SHA256 x")
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .expect("t")
        .contains("<Code>InvalidArgument</Code>"));
    let chunked =
        reqwest::Body::wrap_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(b"x"),
        )]));
    let r = e.client.put(&url).body(chunked).send().await.expect("put");
    assert_eq!(
        r.status(),
        StatusCode::LENGTH_REQUIRED,
        "chunked uploads are refused"
    );
    assert!(r.text().await.expect("t").contains("MissingContentLength"));
    let tampered = url.replace("X-Amz-Expires=28800", "X-Amz-Expires=99999");
    let r = e.client.put(&tampered).body("x").send().await.expect("put");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.expect("t").contains("SignatureDoesNotMatch"));
    put_zip(&e, &url, zip_of(&[("site/index.html", b"nested")])).await;
    let job = d["jobId"].as_str().expect("job").to_string();
    ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments/start"),
        json!({"jobId": job}),
    )
    .await;
    let done = wait_job(&e, &id, "main", &job).await;
    assert_eq!(done["job"]["summary"]["status"], "FAILED");
    let d = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({}),
    )
    .await;
    put_zip(
        &e,
        d["zipUploadUrl"].as_str().expect("url"),
        b"not a zip".to_vec(),
    )
    .await;
    let job = d["jobId"].as_str().expect("job").to_string();
    ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments/start"),
        json!({"jobId": job}),
    )
    .await;
    assert_eq!(
        wait_job(&e, &id, "main", &job).await["job"]["summary"]["status"],
        "FAILED"
    );
}

#[tokio::test]
async fn file_map_flavour_checks_md5s() {
    let e = start().await;
    let id = setup(&e, "main").await;
    let md5 = |b: &[u8]| {
        use md5::Digest;
        hex::encode(md5::Md5::digest(b))
    };
    let d = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({"fileMap": {"index.html": md5(b"fm"), "a.css": md5(b"a{}")}}),
    )
    .await;
    assert!(d["zipUploadUrl"].is_string());
    for (k, b) in [("index.html", b"fm".as_slice()), ("a.css", b"a{}")] {
        let r = e
            .client
            .put(d["fileUploadUrls"][k].as_str().expect("url"))
            .body(b.to_vec())
            .send()
            .await
            .expect("put");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let job = d["jobId"].as_str().expect("job").to_string();
    ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments/start"),
        json!({"jobId": job}),
    )
    .await;
    assert_eq!(
        wait_job(&e, &id, "main", &job).await["job"]["summary"]["status"],
        "SUCCEED"
    );
    assert_eq!(
        e.site(&format!("main.{id}.amplifyapp.com"), "/a.css")
            .await
            .2,
        b"a{}"
    );
}

#[tokio::test]
async fn start_deployment_after_the_window_fails_the_job() {
    let e = start().await;
    e.control(
        Method::POST,
        "/_emulator/config",
        Some(json!({"amplify_start_window_secs": 0})),
    )
    .await;
    let id = setup(&e, "main").await;
    let d = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments"),
        json!({}),
    )
    .await;
    put_zip(
        &e,
        d["zipUploadUrl"].as_str().expect("url"),
        zip_of(&[("index.html", b"late")]),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let s = ok(
        &e,
        "POST",
        &format!("/apps/{id}/branches/main/deployments/start"),
        json!({"jobId": d["jobId"]}),
    )
    .await;
    assert_eq!(s["jobSummary"]["status"], "FAILED");
}
