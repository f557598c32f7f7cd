//! Publishing safety (issue 10): what looks like a secret is held back and named on every
//! target, including Cloudflare Workers, which (unlike wrangler) gets the guard although the
//! platform has no default ignores; links that leave the folder are never followed, so their
//! targets' bytes never reach a platform; the preview server applies the same rules.

use std::path::Path;

use serde_json::json;
use sitedrop_e2e::{fetch, free_port, EmulatorProcess, Sandbox};

const TOKEN: &str = "sitedrop_test_token";

fn cloud(emu: &EmulatorProcess) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    for (k, v) in [
        ("CLOUDFLARE_API_TOKEN", TOKEN),
        ("CLOUDFLARE_ACCOUNT_ID", "0123456789abcdef0123456789abcdef"),
        ("NETLIFY_AUTH_TOKEN", TOKEN),
    ] {
        sb.env.push((k.into(), v.into()));
    }
    sb
}

/// Every name the guard knows, with contents no test site otherwise has.
const SECRETS: [(&str, &[u8]); 12] = [
    (".env", b"SECRET-1"),
    (".env.production", b"SECRET-2"),
    ("config/.env.local", b"SECRET-3"),
    ("id_ed25519", b"SECRET-4"),
    ("certs/server.pem", b"SECRET-5"),
    ("tls.key", b"SECRET-6"),
    (".npmrc", b"SECRET-7"),
    (".htpasswd", b"SECRET-8"),
    ("credentials.json", b"SECRET-9"),
    (".git/config", b"SECRET-10"),
    (".ssh/id_rsa", b"SECRET-11"),
    (".aws/credentials", b"SECRET-12"),
];

/// True when `needle` occurs in any file under `dir` (the emulator's stored uploads).
fn stored_anywhere(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            stored_anywhere(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        }
    })
}

fn state_dir(emu: &EmulatorProcess) -> std::path::PathBuf {
    emu.control("GET", "state", None)["state_dir"]
        .as_str()
        .expect("state_dir")
        .into()
}

#[test]
fn secrets_are_held_back_and_named_on_cloudflare_workers_and_published_only_when_allowed() {
    let emu = EmulatorProcess::start(&[]);
    let sb = cloud(&emu);
    let mut files: Vec<(&str, &[u8])> = vec![("index.html", b"<h1>public</h1>")];
    files.extend(SECRETS);
    let dir = sb.folder("guarded", &files);
    let run = sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-workers",
        "--json",
    ]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(done["files"], 1, "only the page: {done}");
    let held: Vec<String> = done["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for name in [
        ".env",
        ".env.production",
        "config/.env.local",
        "id_ed25519",
        "certs/server.pem",
        "tls.key",
        ".npmrc",
        ".htpasswd",
        "credentials.json",
        ".git",
        ".ssh",
        ".aws",
    ] {
        assert!(held.iter().any(|h| h == name), "{name} not named: {held:?}");
    }
    let warning = run
        .events()
        .into_iter()
        .find(|e| e["event"] == "warning")
        .expect("a warning");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("may be secret"),
        "{warning}"
    );
    for (i, _) in SECRETS.iter().enumerate() {
        let content = format!("SECRET-{}", i + 1);
        assert!(
            !stored_anywhere(&state_dir(&emu), content.as_bytes()),
            "{content} reached the platform"
        );
    }
    let host = "guarded.sitedrop.workers.dev";
    // (A missing file may be answered with the home page; never with the secret.)
    assert_eq!(fetch(emu.port, host, "/.env").2, b"<h1>public</h1>");

    // An explicit choice publishes that file, and only it.
    let allowed = sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-workers",
        "--allow-secret",
        "certs/server.pem",
        "--json",
    ]);
    allowed.expect_code(0);
    assert_eq!(fetch(emu.port, host, "/certs/server.pem").2, b"SECRET-5");
    assert!(!stored_anywhere(&state_dir(&emu), b"SECRET-1"));
}

#[test]
fn links_leaving_the_folder_are_never_followed_so_their_bytes_never_leave() {
    let emu = EmulatorProcess::start(&[]);
    emu.control(
        "POST",
        "config",
        Some(json!({"netlify_rate_limit_per_minute": 0})),
    );
    let sb = cloud(&emu);
    let outside = sb.folder("outside", &[("secret.txt", b"OUTSIDE-SECRET-BYTES")]);
    let dir = sb.folder(
        "linked",
        &[
            ("index.html", b"<h1>links</h1>"),
            ("inner/ok.txt", b"inside"),
        ],
    );
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    link(&outside.join("secret.txt"), "absolute.txt");
    link(Path::new("../outside/secret.txt"), "relative.txt");
    link(&outside, "outside-dir");
    link(Path::new("/etc/hostname"), "system.txt");
    link(Path::new("inner/ok.txt"), "inside-link.txt");
    let run = sb.run(&["deploy", dir.to_str().unwrap(), "--to", "netlify", "--json"]);
    run.expect_code(0);
    let warnings: Vec<String> = run
        .events()
        .iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    for name in ["absolute.txt", "relative.txt", "outside-dir", "system.txt"] {
        assert!(
            warnings.iter().any(|w| w.contains(&format!(
                "Skipped {name}: it is a link to something outside the folder"
            ))),
            "{name}: {warnings:?}"
        );
    }
    assert!(!stored_anywhere(&state_dir(&emu), b"OUTSIDE-SECRET-BYTES"));
    let host = "linked.netlify.app";
    for path in [
        "/absolute.txt",
        "/relative.txt",
        "/outside-dir/secret.txt",
        "/system.txt",
    ] {
        assert_eq!(fetch(emu.port, host, path).0, 404, "{path}");
    }
    assert_eq!(
        fetch(emu.port, host, "/inside-link.txt").2,
        b"inside",
        "a link inside the folder is followed"
    );
}

#[test]
fn the_preview_server_applies_the_same_guard() {
    let sb = Sandbox::new();
    let outside = sb.folder("outside", &[("secret.txt", b"OUTSIDE")]);
    let dir = sb.folder(
        "previewed",
        &[
            ("index.html", b"<h1>preview</h1>"),
            (".env", b"SECRET"),
            (".git/config", b"[core]"),
        ],
    );
    std::os::unix::fs::symlink(outside.join("secret.txt"), dir.join("leak.txt")).unwrap();
    let port = free_port();
    let mut child = sb
        .cli()
        .args([
            "preview",
            dir.to_str().unwrap(),
            "--port",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let host = format!("127.0.0.1:{port}");
    let results: Vec<(String, u16)> = ["/", "/.env", "/.git/config", "/leak.txt"]
        .iter()
        .map(|p| (p.to_string(), if up { fetch(port, &host, p).0 } else { 0 }))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the preview did not start");
    assert_eq!(
        results,
        [
            ("/".to_string(), 200),
            ("/.env".to_string(), 404),
            ("/.git/config".to_string(), 404),
            ("/leak.txt".to_string(), 404)
        ]
    );
}
