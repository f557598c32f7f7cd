//! The bad-input catalogue, part two (issue 10): credentials, the keychain, the platforms and
//! their limits, through the real `sitedrop` binary against the emulator. (Paths, names and
//! this computer are in `cli_bad_input.rs`.) Every case ends in a sentence that names the
//! problem and the next step, exit code 2 (the input is wrong) or 1 (the deploy failed), the
//! secret never echoed, nothing lost, and a history that tells the truth.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use sitedrop_e2e::{bin, fetch, history, EmulatorProcess, Run, Sandbox};

const TOKEN: &str = "sitedrop_test_token";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// A sandbox pointed at `emu`, with `creds` as the only credentials in its environment.
fn sandbox(emu: &EmulatorProcess, creds: &[(&str, &str)]) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    sb.env
        .extend(creds.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    sb
}

fn cloudflare(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CLOUDFLARE_API_TOKEN", token.to_string()),
        ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT.to_string()),
    ]
}

fn aws(key: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", key.to_string()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ]
}

fn with(emu: &EmulatorProcess, creds: Vec<(&'static str, String)>) -> Sandbox {
    let pairs: Vec<(&str, &str)> = creds.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sandbox(emu, &pairs)
}

fn site(sb: &Sandbox, name: &str) -> PathBuf {
    sb.folder(
        name,
        &[
            ("index.html", b"<h1>catalogue</h1>\n"),
            ("css/site.css", b"body{}\n"),
        ],
    )
}

fn deploy(sb: &Sandbox, dir: &Path, platform: &str, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", dir.to_str().unwrap(), "--to", platform, "--json"];
    args.extend_from_slice(extra);
    sb.run(&args)
}

/// The run ended with `code` and a `done` result of status `failed` and `kind` (after the
/// `error` event) whose sentence contains every one of `words`, and the newest history row
/// records that failure. `secret` never shows.
fn assert_refused(sb: &Sandbox, run: &Run, code: i32, kind: &str, words: &[&str], secret: &str) {
    run.expect_code(code);
    let error = run.last_event();
    assert_eq!(
        (
            error["event"].as_str(),
            error["status"].as_str(),
            error["kind"].as_str()
        ),
        (Some("done"), Some("failed"), Some(kind)),
        "{}",
        run.stdout()
    );
    assert!(
        run.events()
            .iter()
            .any(|e| e["event"] == "error" && e["kind"] == kind),
        "the error event precedes the result: {}",
        run.stdout()
    );
    let message = error["message"].as_str().unwrap();
    for word in words {
        assert!(message.contains(word), "missing {word:?} in: {message}");
    }
    assert!(message.ends_with('.'), "a whole sentence: {message}");
    if !secret.is_empty() {
        assert!(
            !run.stdout().contains(secret) && !run.stderr().contains(secret),
            "the secret was echoed"
        );
    }
    let row = &history(sb)[0];
    assert_eq!(
        (
            row["status"].as_str(),
            row["error_kind"].as_str(),
            row["error_message"].as_str()
        ),
        (Some("failed"), Some(kind), Some(message)),
        "{row}"
    );
}

/// Requests that reached the platform's API (not the emulator's control routes).
fn api_requests(emu: &EmulatorProcess) -> usize {
    emu.control("GET", "requests", None)
        .as_array()
        .map_or(0, Vec::len)
}

// ---- credentials -----------------------------------------------------------------------------

#[test]
fn an_empty_token_at_login_is_refused_before_anything_is_sent() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, &[]);
    let out = sb
        .cli()
        .args(["login", "netlify"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            drop(child.stdin.take()); // an empty paste: end of input at once
            child.wait_with_output()
        })
        .unwrap();
    let run = Run(out);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("Netlify did not accept the token: the token is empty."),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("sitedrop login netlify"));
    assert_eq!(api_requests(&emu), 0, "nothing was sent");
    assert!(!sb.run(&["accounts"]).stdout().contains("netlify"));
}

#[test]
fn a_token_pasted_with_a_line_break_is_refused_before_anything_is_sent() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, &[("VERCEL_TOKEN", "sitedrop_test\n_token_tail")]);
    let run = deploy(&sb, &site(&sb, "linebreak"), "vercel", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "token_invalid",
        &["Vercel", "spaces or line breaks", "copied whole"],
        "_token_tail",
    );
    assert_eq!(api_requests(&emu), 0, "nothing was sent");
}

#[test]
fn a_revoked_token_is_refused_and_not_echoed() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, &[("NETLIFY_AUTH_TOKEN", "nfp_revoked_4f9a2c")]);
    let run = deploy(&sb, &site(&sb, "revoked"), "netlify", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "token_invalid",
        &["Netlify did not accept the token", "create a new one"],
        "nfp_revoked_4f9a2c",
    );
}

#[test]
fn an_expired_token_is_called_expired() {
    let emu = EmulatorProcess::start(&[]);
    let sb = with(&emu, cloudflare("sitedrop_expired_token"));
    let run = deploy(&sb, &site(&sb, "expired"), "cloudflare-pages", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "token_expired",
        &["Cloudflare Pages", "expired", "Create a new token"],
        "sitedrop_expired_token",
    );
}

#[test]
fn expired_temporary_aws_credentials_are_called_expired() {
    let emu = EmulatorProcess::start(&[]);
    let mut creds = aws("ASIASITEDROPTEMP", "sitedrop-temp-secret");
    creds.push(("AWS_SESSION_TOKEN", "sitedrop_expired_token".into()));
    let sb = with(&emu, creds);
    let run = deploy(&sb, &site(&sb, "expired-aws"), "amplify", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "token_expired",
        &["AWS Amplify", "expired"],
        "sitedrop-temp-secret",
    );
}

#[test]
fn a_wrong_cloudflare_account_id_is_named() {
    let emu = EmulatorProcess::start(&[]);
    let mut sb = with(&emu, cloudflare(TOKEN));
    sb.env.retain(|(k, _)| k != "CLOUDFLARE_ACCOUNT_ID");
    sb.env.push((
        "CLOUDFLARE_ACCOUNT_ID".into(),
        "fedcba9876543210fedcba9876543210".into(),
    ));
    let run = deploy(&sb, &site(&sb, "account"), "cloudflare-workers", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "account_not_found",
        &["fedcba9876543210fedcba9876543210", "Check the account id"],
        TOKEN,
    );
}

#[test]
fn a_wrong_aws_region_is_named_with_the_region_to_choose() {
    let emu = EmulatorProcess::start(&[]);
    let mut creds = aws("AKIDSITEDROPTEST", "sitedrop-test-secret");
    creds.retain(|(k, _)| *k != "AWS_REGION");
    creds.push(("AWS_REGION", "eu-west-1".into()));
    let sb = with(&emu, creds);
    let run = deploy(&sb, &site(&sb, "region"), "amplify", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "invalid",
        &["\"eu-west-1\"", "Choose a region where Amplify runs"],
        "sitedrop-test-secret",
    );
}

#[test]
fn a_token_without_the_deploy_permission_names_the_permission() {
    let emu = EmulatorProcess::start(&[]);
    let sb = with(&emu, cloudflare("sitedrop_readonly_token"));
    let run = deploy(&sb, &site(&sb, "readonly"), "cloudflare-workers", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "permission_missing",
        &["Workers Scripts · Edit", "Edit the token to add it"],
        "sitedrop_readonly_token",
    );
}

#[test]
fn an_aws_key_without_amplify_permissions_names_them() {
    let emu = EmulatorProcess::start(&[]);
    let sb = with(&emu, aws("AKIDSITEDROPREADONLY", "sitedrop-test-secret"));
    let run = deploy(&sb, &site(&sb, "readonly-aws"), "amplify", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "permission_missing",
        &["amplify:CreateApp", "IAM policy"],
        "sitedrop-test-secret",
    );
}

// ---- the keychain ------------------------------------------------------------------------------

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

/// A keyring home that outlives one D-Bus session, so a keyring made unlocked in one session
/// is found, locked, by the next.
struct KeyringHome(tempfile::TempDir);

impl KeyringHome {
    fn new() -> KeyringHome {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        KeyringHome(dir)
    }

    /// `sh -c SCRIPT` in a new D-Bus session on this home. `unlocked`: GNOME Keyring is started
    /// with a password first (a desktop session after log-in); otherwise D-Bus activation
    /// starts it on first use and it stays locked (no one is there to type the password).
    fn session(&self, sb: &Sandbox, unlocked: bool, script: &str) -> Run {
        let run_dir = self.0.path().join(format!("run-{}", unlocked));
        std::fs::create_dir_all(&run_dir).unwrap();
        let mut cmd = Command::new("dbus-run-session");
        let start = if unlocked {
            "printf pw | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
             kp=$!
             for _ in $(seq 1 100); do
               dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                 org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
                 | grep -q 'boolean true' && break
               sleep 0.05
             done
             trap 'kill $kp' EXIT"
        } else {
            ""
        };
        cmd.args(["--", "bash", "-c", &format!("{start}\n{script}")]);
        let template = sb.cli();
        for (k, v) in template.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("XDG_DATA_HOME", self.0.path().join("data"))
            .env("XDG_RUNTIME_DIR", &run_dir)
            .env("SITEDROP", bin("sitedrop"));
        Run(cmd.output().expect("dbus-run-session"))
    }
}

#[test]
fn a_locked_keychain_at_login_and_at_deploy_says_to_unlock_it() {
    if !keyring_available() {
        eprintln!("skipped: no dbus-run-session / gnome-keyring-daemon on this machine");
        return;
    }
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, &[]);
    let dir = site(&sb, "locked");
    let home = KeyringHome::new();
    // Connected while the keyring was open (an earlier desktop session)...
    let login = format!("printf %s {TOKEN} | \"$SITEDROP\" login netlify");
    home.session(&sb, true, &login).expect_code(0);
    // ...then used while it is locked.
    let run = home.session(
        &sb,
        false,
        &format!(
            "\"$SITEDROP\" deploy '{}' --to netlify --json",
            dir.display()
        ),
    );
    assert_refused(
        &sb,
        &run,
        2,
        "keychain_locked",
        &["keychain is locked", "Unlock it"],
        TOKEN,
    );
    let login_locked = home.session(&sb, false, &login);
    login_locked.expect_code(2);
    assert!(
        login_locked
            .stderr()
            .contains("The system keychain is locked. Unlock it"),
        "{}",
        login_locked.stderr()
    );
    let accounts = sb.run(&["accounts", "--json"]).stdout();
    assert_eq!(
        accounts.matches("\"platform\":\"netlify\"").count(),
        1,
        "the refused login added no account: {accounts}"
    );
}

#[test]
fn no_keychain_at_all_says_how_to_give_the_token_instead() {
    let emu = EmulatorProcess::start(&[]);
    let mut sb = sandbox(&emu, &[]);
    sb.env
        .push(("XDG_RUNTIME_DIR".into(), "/nonexistent".into()));
    let absent = |sb: &Sandbox, args: &[&str], stdin: &str| {
        let mut cmd = sb.cli();
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS").args(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run(child.wait_with_output().unwrap())
    };
    let login = absent(&sb, &["login", "netlify"], TOKEN);
    login.expect_code(2);
    assert!(
        login
            .stderr()
            .contains("The system keychain is not available")
            && login
                .stderr()
                .contains("give the token in an environment variable"),
        "{}",
        login.stderr()
    );
    assert!(!login.stderr().contains(TOKEN));
    // The way out it names: the token in the environment deploys without any keychain.
    sb.env.push(("NETLIFY_AUTH_TOKEN".into(), TOKEN.into()));
    let dir = site(&sb, "nokeychain");
    let run = absent(
        &sb,
        &["deploy", dir.to_str().unwrap(), "--to", "netlify", "--json"],
        "",
    );
    run.expect_code(0);
}

// ---- the platform --------------------------------------------------------------------------

#[test]
fn an_invalid_project_name_is_refused_before_anything_is_created() {
    let emu = EmulatorProcess::start(&[]);
    let sb = with(&emu, cloudflare(TOKEN));
    let run = deploy(
        &sb,
        &site(&sb, "invalid"),
        "cloudflare-pages",
        &["--project", "My Site!"],
    );
    assert_refused(
        &sb,
        &run,
        2,
        "project_name_invalid",
        &[
            "\"My Site!\"",
            "lowercase letters, digits and hyphens",
            "Choose another name",
        ],
        "",
    );
    let projects = emu.control("GET", "state", None)["cloudflare"]["pages_projects"].clone();
    assert_eq!(projects, json!([]), "nothing was created");
    let human = sb.run(&[
        "deploy",
        site(&sb, "invalid").to_str().unwrap(),
        "--to",
        "cloudflare-pages",
        "--project",
        "My Site!",
    ]);
    assert!(
        human.stderr().contains("--project NAME"),
        "{}",
        human.stderr()
    );
}

#[test]
fn a_chosen_name_taken_by_someone_else_is_refused() {
    let emu = EmulatorProcess::start(&["--taken", "netlify:shop"]);
    let sb = sandbox(&emu, &[("NETLIFY_AUTH_TOKEN", TOKEN)]);
    let run = deploy(&sb, &site(&sb, "mine"), "netlify", &["--project", "shop"]);
    assert_refused(
        &sb,
        &run,
        2,
        "project_name_taken",
        &[
            "\"shop\" is already taken on Netlify",
            "Choose another name",
        ],
        TOKEN,
    );
    let sites = emu.control("GET", "state", None)["netlify"]["sites"].clone();
    assert_eq!(sites, json!([]), "no site was made under another name");
}

#[test]
fn rolling_back_a_site_deleted_on_the_platform_says_to_deploy_again() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, &[("NETLIFY_AUTH_TOKEN", TOKEN)]);
    let dir = site(&sb, "gone");
    let first = deploy(&sb, &dir, "netlify", &[]);
    first.expect_code(0);
    sitedrop_e2e::write(&dir, "index.html", b"<h1>two</h1>\n");
    deploy(&sb, &dir, "netlify", &[]).expect_code(0);
    let site_id = emu.control("GET", "state", None)["netlify"]["sites"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = reqwest::blocking::Client::new()
        .delete(format!("{}/api/v1/sites/{site_id}", emu.url()))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert!(deleted.status().is_success());

    let id = first.last_event()["id"].as_i64().unwrap().to_string();
    let run = sb.run(&["rollback", &id, "--json"]);
    assert_refused(
        &sb,
        &run,
        1,
        "not_found",
        &[
            "Netlify has no",
            "may have been deleted; deploy again to create it",
        ],
        TOKEN,
    );
    let rows = history(&sb);
    assert_eq!(
        rows.iter().filter(|r| r["status"] == "live").count(),
        2,
        "earlier deploys are still on record"
    );
    // The next step it names works.
    let again = deploy(&sb, &dir, "netlify", &[]);
    again.expect_code(0);
    assert_eq!(
        fetch(emu.port, "gone.netlify.app", "/").2,
        b"<h1>two</h1>\n"
    );
}

#[test]
fn vercel_daily_upload_quota_used_up_says_when_it_resets() {
    let emu = EmulatorProcess::start(&[]);
    emu.control(
        "POST",
        "config",
        Some(json!({"vercel_daily_upload_quota": 1})),
    );
    let sb = sandbox(&emu, &[("VERCEL_TOKEN", TOKEN)]);
    let run = deploy(&sb, &site(&sb, "quota"), "vercel", &[]);
    assert_refused(
        &sb,
        &run,
        1,
        "quota_exhausted",
        &[
            "daily file-upload quota",
            "It resets at",
            "deploy again then",
        ],
        TOKEN,
    );
    let project = &emu.control("GET", "state", None)["vercel"]["projects"][0];
    assert!(
        project["production"].is_null(),
        "nothing went live: {project}"
    );
}

#[test]
fn amplify_app_quota_used_up_says_what_to_do() {
    let emu = EmulatorProcess::start(&[]);
    emu.control("POST", "config", Some(json!({"amplify_max_apps": 0})));
    let sb = with(&emu, aws("AKIDSITEDROPTEST", "sitedrop-test-secret"));
    let run = deploy(&sb, &site(&sb, "apps"), "amplify", &[]);
    assert_refused(
        &sb,
        &run,
        1,
        "limit_exceeded",
        &[
            "AWS Amplify",
            "delete an app you no longer need",
            "another region",
        ],
        "sitedrop-test-secret",
    );
}

// ---- files and platform limits ----------------------------------------------------------

#[test]
fn a_file_over_the_platform_limit_is_named_before_anything_is_sent() {
    let emu = EmulatorProcess::start(&[]);
    let sb = with(&emu, cloudflare(TOKEN));
    let dir = site(&sb, "oversize");
    std::fs::File::create(dir.join("intro.mp4"))
        .unwrap()
        .set_len(30 * 1024 * 1024)
        .unwrap();
    let run = deploy(&sb, &dir, "cloudflare-pages", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "file_too_large",
        &["up to 25 MiB", "intro.mp4 (30 MiB)", ".sitedropignore"],
        TOKEN,
    );
    assert_eq!(api_requests(&emu), 0, "nothing was sent");
}

#[test]
fn more_files_than_the_platform_allows_is_refused_before_upload() {
    let emu = EmulatorProcess::start(&[]);
    emu.control(
        "POST",
        "config",
        Some(json!({"cloudflare_pages_max_file_count": 5})),
    );
    let sb = with(&emu, cloudflare(TOKEN));
    let dir = site(&sb, "crowded");
    for i in 0..6 {
        sitedrop_e2e::write(&dir, &format!("p/{i}.txt"), b"x");
    }
    let run = deploy(&sb, &dir, "cloudflare-pages", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "too_many_files",
        &["at most 5 files", "this folder has 8", "built site"],
        TOKEN,
    );
    let log = emu.control("GET", "requests", None);
    assert!(
        !log.to_string().contains("/pages/assets/upload"),
        "nothing was uploaded"
    );
}

/// A 2 GiB file (sparse: no disk used) where the platform takes 25 MiB: refused at once,
/// named with its size, without a byte read or sent.
#[test]
fn a_2_gib_file_is_refused_at_once_where_it_is_too_large() {
    let emu = EmulatorProcess::start(&[]);
    let sb = with(&emu, cloudflare(TOKEN));
    let dir = site(&sb, "huge");
    std::fs::File::create(dir.join("video.mp4"))
        .unwrap()
        .set_len(2 * 1024 * 1024 * 1024)
        .unwrap();
    let started = Instant::now();
    let run = deploy(&sb, &dir, "cloudflare-workers", &[]);
    assert_refused(
        &sb,
        &run,
        2,
        "file_too_large",
        &["video.mp4 (2 GiB)"],
        TOKEN,
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the file was not read"
    );
    assert_eq!(api_requests(&emu), 0);
}

/// A 2 GiB file where the platform takes it (Netlify): it goes live, and the CLI never holds
/// it in memory (streamed from disk while hashing and uploading).
#[test]
fn a_2_gib_file_goes_live_where_it_fits_without_being_held_in_memory() {
    let emu = EmulatorProcess::start(&[]);
    emu.control(
        "POST",
        "config",
        Some(json!({"netlify_rate_limit_per_minute": 0})),
    );
    let sb = sandbox(&emu, &[("NETLIFY_AUTH_TOKEN", TOKEN)]);
    let dir = site(&sb, "video-site");
    let size: u64 = 2 * 1024 * 1024 * 1024;
    std::fs::File::create(dir.join("video.bin"))
        .unwrap()
        .set_len(size)
        .unwrap();
    let child = sb
        .cli()
        .args(["deploy", dir.to_str().unwrap(), "--to", "netlify", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (output, peak_kib) = wait_with_peak_memory(child);
    let run = Run(output);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(done["bytes_uploaded"].as_u64(), Some(size + 26), "{done}");
    assert!(
        peak_kib < 256 * 1024,
        "the CLI peaked at {} MiB for a 2 GiB file",
        peak_kib / 1024
    );
    let head = reqwest::blocking::Client::new()
        .head(format!("{}/video.bin", emu.url()))
        .header("host", "video-site.netlify.app")
        .send()
        .unwrap();
    assert_eq!(
        head.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(size.to_string().as_str())
    );
}

/// Waits for `child` and returns its output and its peak resident memory in KiB (from the
/// kernel's accounting of that one process, `wait4`).
fn wait_with_peak_memory(mut child: std::process::Child) -> (std::process::Output, u64) {
    use std::io::Read;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, which std has not reaped (we never call wait on it).
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let output = std::process::Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(if code >= 0 {
            code << 8
        } else {
            status
        }),
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    (output, usage.ru_maxrss as u64)
}
