//! The `sitedrop` binary deploying to Cloudflare Pages and Workers, against the emulator binary,
//! configured only through the environment variables of DESIGN.md ("Credentials and endpoints").

use std::path::Path;
use std::process::Command;

use sitedrop_e2e::{bin, fetch, write, EmulatorProcess, Sandbox};

const TOKEN: &str = "sitedrop_test_token";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// A sandbox pointed at `emu` with the Cloudflare token and account in the environment.
fn sandbox(emu: &EmulatorProcess) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    sb.env.push(("CLOUDFLARE_API_TOKEN".into(), TOKEN.into()));
    sb.env
        .push(("CLOUDFLARE_ACCOUNT_ID".into(), ACCOUNT.into()));
    sb
}

fn host(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

fn site(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    sb.folder(
        name,
        &[
            ("index.html", b"<h1>Hello from the CLI</h1>\n"),
            ("css/site.css", b"h1 { color: teal }\n"),
            ("img/pixel.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ],
    )
}

#[test]
fn deploy_to_cloudflare_pages_then_redeploy_and_roll_back() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu);
    let dir = site(&sb, "cli-pages");
    let run = sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-pages",
        "--json",
    ]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["platform"], "cloudflare-pages");
    assert_eq!(done["project"], "cli-pages");
    assert_eq!(
        (done["files"].as_u64(), done["uploaded"].as_u64()),
        (Some(3), Some(3))
    );
    let url = done["url"].as_str().unwrap().to_string();
    assert!(url.ends_with(".cli-pages.pages.dev"), "{url}");
    let (status, ctype, body) = fetch(emu.port, &host(&url), "/css/site.css");
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"h1 { color: teal }\n"[..])
    );
    assert!(ctype.starts_with("text/css"), "{ctype}");
    let first_id = done["id"].as_i64().unwrap();

    // Unchanged: nothing to upload. Changed: the new page is live in production.
    let again = sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-pages",
        "--json",
    ]);
    again.expect_code(0);
    assert_eq!(again.last_event()["uploaded"], 0);
    write(&dir, "index.html", b"<h1>Second</h1>\n");
    sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-pages",
        "--json",
    ])
    .expect_code(0);
    assert_eq!(
        fetch(emu.port, "cli-pages.pages.dev", "/").2,
        b"<h1>Second</h1>\n"
    );

    let back = sb.run(&["rollback", &first_id.to_string(), "--json"]);
    back.expect_code(0);
    assert_eq!(
        fetch(emu.port, "cli-pages.pages.dev", "/").2,
        b"<h1>Hello from the CLI</h1>\n",
        "production serves the first deploy again"
    );
}

#[test]
fn deploy_to_cloudflare_workers_with_a_plain_sentence() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu);
    let dir = site(&sb, "cli-worker");
    let run = sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-workers",
    ]);
    run.expect_code(0);
    let url = "https://cli-worker.sitedrop.workers.dev";
    assert!(run.stdout().contains(url), "stdout:\n{}", run.stdout());
    let (status, _, body) = fetch(emu.port, &host(url), "/img/pixel.gif");
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"[..])
    );

    let preview = sb.run(&[
        "deploy",
        dir.to_str().unwrap(),
        "--to",
        "cloudflare-workers",
        "--preview",
    ]);
    preview.expect_code(1);
    assert!(
        preview.stderr().contains("no preview deploys"),
        "{}",
        preview.stderr()
    );
}

#[test]
fn a_wrong_token_exits_2_with_a_sentence_and_never_echoes_the_token() {
    let emu = EmulatorProcess::start(&[]);
    let mut sb = sandbox(&emu);
    sb.env.retain(|(k, _)| k != "CLOUDFLARE_API_TOKEN");
    sb.env
        .push(("CLOUDFLARE_API_TOKEN".into(), "cf_wrong_secret_123".into()));
    let dir = site(&sb, "cli-badtoken");
    let run = sb.run(&["deploy", dir.to_str().unwrap(), "--to", "cloudflare-pages"]);
    run.expect_code(2);
    let stderr = run.stderr();
    assert!(
        stderr.contains("Cloudflare Pages did not accept the token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sitedrop login cloudflare-pages"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cf_wrong_secret_123") && !run.stdout().contains("cf_wrong_secret_123")
    );
}

/// Whether a private D-Bus session with GNOME Keyring can be started here.
fn keyring_available() -> bool {
    ["dbus-run-session", "gnome-keyring-daemon", "dbus-send"]
        .iter()
        .all(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// `sitedrop login cloudflare-pages` reads the token from stdin, checks it, finds the only
/// account, and keeps the token in a real Secret Service (a private GNOME Keyring); the
/// deploy then uses it with no token in the environment.
#[test]
fn login_reads_the_token_from_stdin_and_deploys_with_the_keychain() {
    if !keyring_available() {
        eprintln!("skipped: no dbus-run-session / gnome-keyring-daemon on this machine");
        return;
    }
    let emu = EmulatorProcess::start(&[]);
    let sb = Sandbox::new();
    let dir = site(&sb, "cli-login");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/with-keyring.sh");
    let steps = r#"set -e
printf %s "$CF_TOKEN_FOR_STDIN" | "$SITEDROP" login cloudflare-pages
unset CF_TOKEN_FOR_STDIN
"$SITEDROP" accounts --json
"$SITEDROP" deploy "$SITE" --to cloudflare-pages --json"#;
    let mut cmd = Command::new(script);
    cmd.args(["bash", "-c", steps]);
    for var in [
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "DBUS_SESSION_BUS_ADDRESS",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(emu.env())
        .env("SITEDROP", bin("sitedrop"))
        .env("SITE", &dir)
        .env("CF_TOKEN_FOR_STDIN", TOKEN)
        .env("SITEDROP_DATA_DIR", &sb.data)
        .env("SITEDROP_LOCAL_PORT", sb.local_port.to_string());
    let out = cmd.output().expect("run with-keyring.sh");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("Connected Cloudflare Pages as Sitedrop Test"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\"account_ref\":\"{ACCOUNT}\"")),
        "{stdout}"
    );
    let done: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .next_back()
        .unwrap();
    assert_eq!(done["event"], "done", "{stdout}");
    assert_eq!(
        fetch(emu.port, "cli-login.pages.dev", "/").2,
        b"<h1>Hello from the CLI</h1>\n"
    );
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token never shows"
    );
    let db = std::fs::read(sb.data.join("sitedrop.db")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&db).contains(TOKEN),
        "the token is not in the database"
    );
}
