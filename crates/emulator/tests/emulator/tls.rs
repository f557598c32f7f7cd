//! `--tls`: HTTPS and HTTP/2 by ALPN with a CA made at start-up, named on stdout's second line;
//! plain HTTP on the same port reaches sites and the control API but not the platform APIs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sitedrop_emulator::{Config, Emulator};

fn trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("pem"))
        .build()
        .expect("client")
}

#[tokio::test]
async fn binary_with_tls_names_its_ca_on_the_second_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitedrop-emulator"))
        .args(["--port", "0", "--tls"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).expect("first line");
    out.read_line(&mut second).expect("second line");
    let url = first.trim().strip_prefix("listening on ").expect("prefix");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = second
        .trim()
        .strip_prefix("ca certificate ")
        .expect("second line names the CA file");
    let pem = std::fs::read_to_string(ca).expect("the CA file exists");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let r = trusting(&pem)
        .get(format!("{url}/client/v4/user/tokens/verify"))
        .bearer_auth("sitedrop_test_token")
        .send()
        .await
        .expect("HTTPS with the named CA");
    assert_eq!(
        (r.status().as_u16(), r.version()),
        (200, reqwest::Version::HTTP_2)
    );
    child.kill().expect("kill");
    let _ = child.wait();
}

#[tokio::test]
async fn tls_serves_http2_and_http1_and_logs_which() {
    let emu = Emulator::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .expect("start");
    let pem = emu.ca_pem().expect("a CA").to_string();
    let verify = format!("{}/client/v4/user/tokens/verify", emu.url());
    let h2 = trusting(&pem)
        .get(&verify)
        .bearer_auth("sitedrop_test_token")
        .send()
        .await
        .expect("h2");
    assert_eq!(h2.version(), reqwest::Version::HTTP_2);
    // A client that offers only HTTP/1.1 by ALPN gets HTTP/1.1.
    let h1 = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"))
        .http1_only()
        .build()
        .expect("client")
        .get(&verify)
        .bearer_auth("sitedrop_test_token")
        .send()
        .await
        .expect("h1");
    assert_eq!(
        (h1.status().as_u16(), h1.version()),
        (200, reqwest::Version::HTTP_11)
    );
    let log: serde_json::Value = reqwest::get(format!("{}/_emulator/requests", emu.plain_url()))
        .await
        .expect("log over plain HTTP")
        .json()
        .await
        .expect("json");
    let seen: Vec<(String, bool)> = log
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap_or("").to_string(),
                r["tls"] == true,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("HTTP/2.0".to_string(), true),
            ("HTTP/1.1".to_string(), true)
        ]
    );
}

#[tokio::test]
async fn an_untrusting_client_is_refused_and_plain_http_reaches_no_api() {
    let emu = Emulator::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .expect("start");
    let err = reqwest::get(format!("{}/api/v1/sites", emu.url()))
        .await
        .expect_err("the emulator's CA is not among the bundled roots");
    assert!(err.is_connect(), "{err:?}");
    let plain = reqwest::Client::new()
        .get(format!("{}/api/v1/sites", emu.plain_url()))
        .bearer_auth("sitedrop_test_token")
        .send()
        .await
        .expect("plain HTTP is answered");
    assert_eq!(plain.status().as_u16(), 400);
    assert!(plain
        .text()
        .await
        .expect("body")
        .contains("The plain HTTP request was sent to HTTPS port"));
    let health = reqwest::get(format!("{}/_emulator/health", emu.plain_url()))
        .await
        .expect("control over plain HTTP");
    assert_eq!(health.status().as_u16(), 200);
}
