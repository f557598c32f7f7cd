//! The binary prints `listening on http://127.0.0.1:PORT` first and serves there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_url_first_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitedrop-emulator"))
        .args([
            "--port",
            "0",
            "--taken",
            "netlify:owned",
            "--knobs",
            r#"{"vercel_daily_upload_quota": 9}"#,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("prefix")
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let knobs: serde_json::Value = reqwest::get(format!("{url}/_emulator/config"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(knobs["vercel_daily_upload_quota"], 9);
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/sites"))
        .bearer_auth("sitedrop_test_token")
        .json(&serde_json::json!({"name": "owned"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 422);
    child.kill().expect("kill");
    let _ = child.wait();
}
