//! The `sitedrop` binary deploying to "this computer": output contract, bad input, history.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};

use sitedrop_e2e::{fetch, is_root, Sandbox};

/// `sitedrop serve` in the background for the sandbox's port, stopped on drop.
struct Serving(Child);

impl Serving {
    fn start(sb: &Sandbox) -> Serving {
        let child = sb
            .cli()
            .args(["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let serving = Serving(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", sb.local_port)).is_ok() {
                return serving;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("sitedrop serve did not start");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn history(sb: &Sandbox) -> Vec<serde_json::Value> {
    let run = sb.run(&["history", "--json"]);
    run.expect_code(0);
    serde_json::from_str::<serde_json::Value>(run.stdout().trim())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

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
fn missing_folder_exits_2_with_a_sentence() {
    let sb = Sandbox::new();
    let run = sb.run(&[
        "deploy",
        sb.root.path().join("nowhere").to_str().unwrap(),
        "--to",
        "local",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("does not exist. Check the path"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_file_instead_of_a_folder_exits_2() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x")]);
    let run = sb.run(&[
        "deploy",
        site.join("index.html").to_str().unwrap(),
        "--to",
        "local",
        "--json",
    ]);
    run.expect_code(2);
    assert_eq!(run.last_event()["kind"], "not_a_folder");
}

#[test]
fn empty_folder_exits_2_and_is_recorded_as_failed() {
    let sb = Sandbox::new();
    let site = sb.folder("empty", &[]);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "local"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("has nothing to publish"),
        "{}",
        run.stderr()
    );
    let rows = history(&sb);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_kind"].as_str()),
        (Some("failed"), Some("empty_folder"))
    );
}

/// Runs the CLI as an unprivileged user when the tests run as root (root reads any file).
fn run_unprivileged(sb: &Sandbox, args: &[&str]) -> sitedrop_e2e::Run {
    let mut cmd = sb.cli();
    cmd.args(args);
    if is_root() {
        std::fs::set_permissions(sb.root.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        wrapped.env("HOME", sb.root.path());
        cmd = wrapped;
    }
    sitedrop_e2e::Run(cmd.output().expect("run"))
}

#[test]
fn an_unreadable_file_is_refused_before_anything_is_stored() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x"), ("private.html", b"y")]);
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        site.join("index.html"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        site.join("private.html"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let run = run_unprivileged(&sb, &["deploy", site.to_str().unwrap(), "--to", "local"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("cannot read private.html: permission denied"),
        "{}",
        run.stderr()
    );
    assert!(
        !sb.data.join("local/blobs").exists(),
        "nothing may be stored"
    );
}

#[test]
fn an_unreadable_subfolder_is_refused() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x"), ("locked/a.html", b"y")]);
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        site.join("index.html"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(site.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let run = run_unprivileged(&sb, &["deploy", site.to_str().unwrap(), "--to", "local"]);
    std::fs::set_permissions(site.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("cannot read locked: permission denied"),
        "{}",
        run.stderr()
    );
}

#[test]
fn symlink_loops_and_escapes_are_skipped_with_warnings() {
    let sb = Sandbox::new();
    let outside = sb.folder("outside", &[("secret.txt", b"private")]);
    let site = sb.folder("s", &[("index.html", b"x"), ("sub/page.html", b"p")]);
    std::os::unix::fs::symlink("..", site.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), site.join("leak.txt")).unwrap();
    let _serve = Serving::start(&sb);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "local"]);
    run.expect_code(0);
    assert!(
        run.stderr()
            .contains("Skipped leak.txt: it is a link to something outside the folder"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("Skipped sub/loop: it is a link that loops back"),
        "{}",
        run.stderr()
    );
    let host = format!("s.localhost:{}", sb.local_port);
    assert_eq!(fetch(sb.local_port, &host, "/leak.txt").0, 404);
    assert_eq!(fetch(sb.local_port, &host, "/sub/page.html").2, b"p");
}

#[test]
fn env_and_ssh_keys_are_held_back_and_named_unless_allowed() {
    let sb = Sandbox::new();
    let site = sb.folder(
        "s",
        &[
            ("index.html", b"x"),
            (".env", b"TOKEN=1"),
            ("id_rsa", b"-----BEGIN"),
        ],
    );
    let _serve = Serving::start(&sb);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "local", "--json"]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(done["held_back"], serde_json::json!([".env", "id_rsa"]));
    assert_eq!(done["files"], 1);
    let warning = run
        .events()
        .into_iter()
        .find(|e| e["event"] == "warning")
        .expect("a warning names them");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains(".env (environment file"),
        "{warning}"
    );
    let host = format!("s.localhost:{}", sb.local_port);
    assert_eq!(fetch(sb.local_port, &host, "/.env").0, 404);
    assert_eq!(fetch(sb.local_port, &host, "/id_rsa").0, 404);

    let allowed = sb.run(&[
        "deploy",
        site.to_str().unwrap(),
        "--to",
        "local",
        "--json",
        "--allow-secret",
        "id_rsa",
    ]);
    allowed.expect_code(0);
    assert_eq!(allowed.last_event()["files"], 2);
    assert_eq!(fetch(sb.local_port, &host, "/id_rsa").2, b"-----BEGIN");
}

#[test]
fn rollback_of_an_unknown_deploy_exits_2() {
    let sb = Sandbox::new();
    let run = sb.run(&["rollback", "999"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("There is no deploy #999"),
        "{}",
        run.stderr()
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
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rows = history(&sb);
    assert_eq!(rows[0]["trigger"], "watch");
}
