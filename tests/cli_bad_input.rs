//! The bad-input catalogue (issue 10): one test each. Every case ends in a sentence that names
//! the problem and the next step, exit code 2 (input) or 1 (the deploy failed), nothing lost,
//! and a history that tells the truth. These use "this computer"; the platform-specific cases
//! (tokens, limits, names, quotas) are in `cli_bad_platform_input.rs`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sitedrop_e2e::{fetch, history, run_unprivileged, Sandbox, Serving};

fn deploy(sb: &Sandbox, folder: &Path, extra: &[&str]) -> sitedrop_e2e::Run {
    let mut args = vec!["deploy", folder.to_str().unwrap(), "--to", "local"];
    args.extend_from_slice(extra);
    sb.run(&args)
}

// ---- paths -------------------------------------------------------------------------------

#[test]
fn missing_folder() {
    let sb = Sandbox::new();
    let run = deploy(&sb, &sb.root.path().join("nowhere"), &[]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("does not exist. Check the path"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_file_instead_of_a_folder() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x")]);
    let run = deploy(&sb, &site.join("index.html"), &["--json"]);
    run.expect_code(2);
    // The last line is the result, as for a deploy that went live.
    assert_eq!(run.last_event()["event"], "done");
    assert_eq!(run.last_event()["status"], "failed");
    assert_eq!(run.last_event()["kind"], "not_a_folder");
    assert!(run.last_event()["message"]
        .as_str()
        .unwrap()
        .contains("is a file, not a folder"));
}

#[test]
fn empty_folder() {
    let sb = Sandbox::new();
    let run = deploy(&sb, &sb.folder("empty", &[]), &[]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("has nothing to publish"),
        "{}",
        run.stderr()
    );
    let rows = history(&sb);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_kind"].as_str()),
        (Some("failed"), Some("empty_folder"))
    );
}

#[test]
fn folder_holding_only_secrets_and_ignored_files() {
    let sb = Sandbox::new();
    let site = sb.folder(
        "s",
        &[
            (".env", b"A=1"),
            ("id_rsa", b"key"),
            ("node_modules/x.js", b"x"),
        ],
    );
    let run = deploy(&sb, &site, &[]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("(2 held back as possible secrets, 1 ignored)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn unreadable_file() {
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
            .contains("cannot read private.html: permission denied. Make it readable"),
        "{}",
        run.stderr()
    );
    assert!(
        !sb.data.join("local/blobs").exists(),
        "nothing may be stored"
    );
}

#[test]
fn unreadable_subfolder() {
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
fn symlink_loop() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x"), ("sub/page.html", b"p")]);
    std::os::unix::fs::symlink("..", site.join("sub/loop")).unwrap();
    let _serve = Serving::start(&sb);
    let run = deploy(&sb, &site, &[]);
    run.expect_code(0);
    assert!(
        run.stderr()
            .contains("Skipped sub/loop: it is a link that loops back"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        fetch(
            sb.local_port,
            &format!("s.localhost:{}", sb.local_port),
            "/sub/page.html"
        )
        .2,
        b"p"
    );
}

#[test]
fn symlink_out_of_the_folder() {
    let sb = Sandbox::new();
    let outside = sb.folder("outside", &[("secret.txt", b"private")]);
    let site = sb.folder("s", &[("index.html", b"x")]);
    std::os::unix::fs::symlink(outside.join("secret.txt"), site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, site.join("leakdir")).unwrap();
    let _serve = Serving::start(&sb);
    let run = deploy(&sb, &site, &["--json"]);
    run.expect_code(0);
    let warnings: Vec<String> = run
        .events()
        .iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Skipped leak.txt: it is a link to something outside the folder")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("Skipped leakdir")),
        "{warnings:?}"
    );
    let host = format!("s.localhost:{}", sb.local_port);
    assert_eq!(fetch(sb.local_port, &host, "/leak.txt").0, 404);
    assert_eq!(fetch(sb.local_port, &host, "/leakdir/secret.txt").0, 404);
}

#[test]
fn names_with_spaces_hash_question_percent_plus_ampersand_and_unicode() {
    let sb = Sandbox::new();
    let names: [(&str, &str); 7] = [
        ("a b.txt", "/a%20b.txt"),
        ("hash#tag.txt", "/hash%23tag.txt"),
        ("what?.txt", "/what%3F.txt"),
        ("100%.txt", "/100%25.txt"),
        ("a+b.txt", "/a%2Bb.txt"),
        ("this&that.txt", "/this%26that.txt"),
        ("caf\u{e9} \u{2603}.txt", "/caf%C3%A9%20%E2%98%83.txt"),
    ];
    let mut files: Vec<(&str, &[u8])> = vec![("index.html", b"home")];
    files.extend(names.iter().map(|(n, _)| (*n, n.as_bytes())));
    let site = sb.folder("s", &files);
    let _serve = Serving::start(&sb);
    deploy(&sb, &site, &[]).expect_code(0);
    let host = format!("s.localhost:{}", sb.local_port);
    for (name, url) in names {
        assert_eq!(
            fetch(sb.local_port, &host, url),
            (
                200,
                "text/plain; charset=utf-8".into(),
                name.as_bytes().to_vec()
            ),
            "{url}"
        );
    }
}

#[test]
fn a_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x")]);
    std::fs::write(
        site.join(std::ffi::OsStr::from_bytes(b"caf\xe9.html")),
        b"latin-1",
    )
    .unwrap();
    let run = deploy(&sb, &site, &[]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("cannot publish caf\u{fffd}.html: its name is not valid text (UTF-8)"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("Rename it"), "{}", run.stderr());
}

#[test]
fn a_hundred_folders_deep() {
    let sb = Sandbox::new();
    let deep: String = (0..100).map(|i| format!("d{i}/")).collect::<String>() + "leaf.txt";
    let site = sb.folder("s", &[("index.html", b"x"), (deep.as_str(), b"deep leaf")]);
    let _serve = Serving::start(&sb);
    deploy(&sb, &site, &[]).expect_code(0);
    assert_eq!(
        fetch(
            sb.local_port,
            &format!("s.localhost:{}", sb.local_port),
            &format!("/{deep}")
        )
        .2,
        b"deep leaf"
    );
}

#[test]
fn zero_byte_files() {
    let sb = Sandbox::new();
    let site = sb.folder(
        "s",
        &[
            ("index.html", b"x"),
            ("empty.css", b""),
            ("also/empty.js", b""),
        ],
    );
    let _serve = Serving::start(&sb);
    let run = deploy(&sb, &site, &["--json"]);
    run.expect_code(0);
    assert_eq!(run.last_event()["files"], 3);
    let got = fetch(
        sb.local_port,
        &format!("s.localhost:{}", sb.local_port),
        "/empty.css",
    );
    assert_eq!((got.0, got.2.len()), (200, 0));
}

#[test]
fn env_and_private_keys_are_held_back_named_and_published_only_when_allowed() {
    let sb = Sandbox::new();
    let site = sb.folder(
        "s",
        &[
            ("index.html", b"x"),
            (".env", b"TOKEN=1"),
            ("id_rsa", b"-----BEGIN"),
            (".git/config", b"[core]"),
        ],
    );
    let _serve = Serving::start(&sb);
    let run = deploy(&sb, &site, &["--json"]);
    run.expect_code(0);
    assert_eq!(
        run.last_event()["held_back"],
        serde_json::json!([".env", ".git", "id_rsa"])
    );
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
    for path in ["/.env", "/id_rsa", "/.git/config"] {
        assert_eq!(fetch(sb.local_port, &host, path).0, 404, "{path}");
    }
    deploy(&sb, &site, &["--allow-secret", "id_rsa"]).expect_code(0);
    assert_eq!(fetch(sb.local_port, &host, "/id_rsa").2, b"-----BEGIN");
    assert_eq!(
        fetch(sb.local_port, &host, "/.env").0,
        404,
        "only the allowed file"
    );
}

// ---- usage and history ---------------------------------------------------------------------

#[test]
fn an_unknown_platform() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x")]);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "geocities"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("is not a platform Sitedrop knows. Choose one of"),
        "{}",
        run.stderr()
    );
}

#[test]
fn rollback_to_an_unknown_deploy() {
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
fn rollback_to_a_deploy_that_never_went_live() {
    let sb = Sandbox::new();
    deploy(&sb, &sb.folder("empty", &[]), &[]).expect_code(2);
    let id = history(&sb)[0]["id"].as_i64().unwrap().to_string();
    let run = sb.run(&["rollback", &id]);
    run.expect_code(2);
    assert!(run.stderr().contains("never went live"), "{}", run.stderr());
}

#[test]
fn a_listing_piped_into_a_reader_that_stops_ends_quietly() {
    // `sitedrop history | head -1`: the reader goes away; a listing ends as Unix tools do,
    // without a panic message and backtrace.
    let sb = Sandbox::new();
    deploy(&sb, &sb.folder("empty", &[]), &[]).expect_code(2);
    for args in [&["history"][..], &["accounts"][..]] {
        let mut child = sb
            .cli()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the first line
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// ---- this computer ---------------------------------------------------------------------------

#[test]
fn a_read_only_data_folder() {
    let sb = Sandbox::new();
    let site = sb.folder("s", &[("index.html", b"x")]);
    std::fs::create_dir_all(&sb.data).unwrap();
    std::fs::set_permissions(&sb.data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let run = run_unprivileged(&sb, &["deploy", site.to_str().unwrap(), "--to", "local"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("could not use its data folder"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("writable"), "{}", run.stderr());
}

/// A full disk while the history is written: a tiny tmpfs, mounted in a private mount
/// namespace (no privileges needed, nothing else affected), holds the data folder.
#[test]
fn the_disk_fills_up_while_writing_history() {
    if std::env::var_os("SITEDROP_INNER_DISK_FULL").is_some() {
        return disk_full_inner();
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg("exec \"$0\" --exact the_disk_fills_up_while_writing_history --nocapture")
        .arg(&exe)
        .env("SITEDROP_INNER_DISK_FULL", "1")
        .output()
        .expect("run unshare (util-linux)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "inner run failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the inner test did not run:\n{stdout}\n{stderr}"
    );
}

fn disk_full_inner() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&sb.data)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs");
    let small = sb.folder("small", &[("index.html", b"fits")]);
    deploy(&sb, &small, &[]).expect_code(0);

    let big = vec![7u8; 2 * 1024 * 1024];
    let large = sb.folder(
        "large",
        &[("index.html", b"too big"), ("video.bin", big.as_slice())],
    );
    let run = deploy(&sb, &large, &[]);
    assert_eq!(
        run.code(),
        2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout(),
        run.stderr()
    );
    assert!(
        run.stderr().contains("Check that the disk has free space"),
        "the sentence names the full disk: {}",
        run.stderr()
    );
    // Nothing lost: the database is intact and the earlier deploy is still recorded live.
    let conn = rusqlite::Connection::open(sb.data.join("sitedrop.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let rows = history(&sb);
    assert!(
        rows.iter()
            .any(|r| r["status"] == "live" && r["project"] == "small"),
        "{rows:?}"
    );
    let _ = Command::new("umount").arg(&sb.data).status();
}
