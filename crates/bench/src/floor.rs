//! The floor: what moving a site's bytes fundamentally costs on this machine, measured in the
//! same run as the deploys. Reading the bytes (one thread), hashing them (`sha1sum`, one
//! core), and sending the same number of bytes to the emulator in one HTTP stream, where the
//! server reads them and keeps nothing.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Reads every file once, one thread.
pub fn read_all(paths: &[PathBuf]) {
    let mut buf = vec![0u8; 256 * 1024];
    for p in paths {
        let mut f = std::fs::File::open(p).expect("open");
        while f.read(&mut buf).expect("read") > 0 {}
    }
}

/// `sha1sum` over every file, fed the list on stdin (too many for one command line).
pub fn sha1sum(paths: &[PathBuf]) -> Duration {
    let started = Instant::now();
    let mut child = Command::new("xargs")
        .args(["-0", "sha1sum"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run sha1sum (coreutils)");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for p in paths {
            stdin
                .write_all(p.as_os_str().as_encoded_bytes())
                .expect("write");
            stdin.write_all(b"\0").expect("write");
        }
    }
    child.wait().expect("sha1sum");
    started.elapsed()
}

/// Sends `total` bytes to the emulator's sink in one streamed request on a fresh connection,
/// from memory (so nothing but the transfer is measured).
pub async fn transfer(port: u16, total: u64) -> Duration {
    const CHUNK: usize = 256 * 1024;
    let chunk = Bytes::from(vec![0x5au8; CHUNK]);
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let chunks = total.div_ceil(CHUNK as u64);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let left = total - i * CHUNK as u64;
        Ok::<_, std::io::Error>(chunk.slice(..(left.min(CHUNK as u64) as usize)))
    }));
    let started = Instant::now();
    let response = client
        .post(format!("http://127.0.0.1:{port}/_emulator/sink"))
        .header(reqwest::header::CONTENT_LENGTH, total)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send to the sink");
    let answer: serde_json::Value = response.json().await.expect("sink answer");
    let elapsed = started.elapsed();
    assert_eq!(answer["bytes"].as_u64(), Some(total), "the sink got it all");
    elapsed
}
