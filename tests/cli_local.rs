//! The `sitedrop` binary deploying to "this computer": output contract, bad input, history.

use std::process::Stdio;

use sitedrop_e2e::{fetch, history, Sandbox, Serving};

#[test]
fn json_deploy_prints_events_then_done_and_the_site_serves_exact_bytes() {
    let sb = Sandbox::new();
    let site = sb.folder(
        "blog",
        &[
            ("index.html", b"<h1>Blog</h1>\n"),
            ("css/site.css", b"p{}\n"),
            ("a b&c+d%.txt", b"odd name\n"),
        ],
    );
    let _serve = Serving::start(&sb);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "local", "--json"]);
    run.expect_code(0);
    let events = run.events();
    assert_eq!(events[0]["event"], "phase");
    assert_eq!(events[0]["phase"], "scan");
    let done = run.last_event();
    assert_eq!(done["event"], "done");
    for key in [
        "id",
        "platform",
        "project",
        "status",
        "url",
        "files",
        "uploaded",
        "bytes_uploaded",
        "duration_ms",
    ] {
        assert!(!done[key].is_null(), "done event lacks {key}: {done}");
    }
    assert_eq!(
        (
            done["platform"].as_str(),
            done["project"].as_str(),
            done["status"].as_str()
        ),
        (Some("local"), Some("blog"), Some("live"))
    );
    assert_eq!(
        (done["files"].as_u64(), done["uploaded"].as_u64()),
        (Some(3), Some(3))
    );

    let host = format!("blog.localhost:{}", sb.local_port);
    assert_eq!(
        fetch(sb.local_port, &host, "/"),
        (
            200,
            "text/html; charset=utf-8".into(),
            b"<h1>Blog</h1>\n".to_vec()
        )
    );
    assert_eq!(
        fetch(sb.local_port, &host, "/css/site.css").1,
        "text/css; charset=utf-8"
    );
    assert_eq!(
        fetch(sb.local_port, &host, "/a%20b%26c%2Bd%25.txt").2,
        b"odd name\n"
    );

    // Redeploying the unchanged folder sends nothing.
    let again = sb.run(&["deploy", site.to_str().unwrap(), "--to", "local", "--json"]);
    again.expect_code(0);
    assert_eq!(again.last_event()["uploaded"], 0);
}

#[test]
fn human_output_is_a_sentence_with_the_address() {
    let sb = Sandbox::new();
    let site = sb.folder("portfolio", &[("index.html", b"hi")]);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "local"]);
    run.expect_code(0);
    assert!(
        run.stdout().starts_with(&format!(
            "Live: http://portfolio.localhost:{}/",
            sb.local_port
        )),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("1 files, 1 uploaded"),
        "{}",
        run.stdout()
    );
}

#[test]
fn deploy_watch_redeploys_an_edit_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let sb = Sandbox::new();
    let site = sb.folder("watched", &[("index.html", b"v1"), ("a.css", b"a{}")]);
    let mut child = sb
        .cli()
        .args([
            "deploy",
            site.to_str().unwrap(),
            "--to",
            "local",
            "--watch",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let wait_for = |pred: &dyn Fn(&serde_json::Value) -> bool| -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let v = rx.recv_timeout(left).expect("event in time");
            if pred(&v) {
                return v;
            }
        }
    };
    let first = wait_for(&|v| v["event"] == "done");
    assert_eq!(first["uploaded"], 2);
    wait_for(&|v| v["event"] == "watch" && v["watch"]["event"] == "watching");
    std::fs::write(site.join("index.html"), b"v2").unwrap();
    let redeploy = wait_for(&|v| v["event"] == "watch" && v["watch"]["event"] == "deployed");
    assert_eq!(redeploy["watch"]["outcome"]["uploaded"], 1);
    let host = format!("watched.localhost:{}", sb.local_port);
    assert_eq!(fetch(sb.local_port, &host, "/").2, b"v2");
    // Then the watch rests: its own reads of the folder (the scan, the copy) are not changes,
    // so 10 idle seconds print nothing — no change seen, no folder check, no progress.
    let idle: Vec<serde_json::Value> =
        std::iter::from_fn(|| rx.recv_timeout(std::time::Duration::from_secs(10)).ok()).collect();
    assert!(idle.is_empty(), "an idle watch printed {idle:?}");
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rows = history(&sb);
    assert_eq!(rows[0]["trigger"], "watch");
}
