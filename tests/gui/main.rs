//! The desktop app end to end: the built `sitedrop-app` under Xvfb, driven through WebDriver
//! (tauri-driver + WebKitWebDriver), with a real Secret Service and, for Netlify, the emulator.
//!
//! Run with `make test-gui` (it provides the display, a private D-Bus with an unlocked GNOME
//! Keyring and tauri-driver). The tests are `#[ignore]`d so that a plain `cargo test` without a
//! display skips them. Screenshots of every screen land in `target/gui-screenshots/`.

mod driver;

use std::path::Path;

use driver::Gui;
use serde_json::json;
use sitedrop_e2e::{fetch, EmulatorProcess, Sandbox};

/// What a site folder holds: three files to publish and a `.env` that must be held back.
const FILES: &[(&str, &[u8])] = &[
    (
        "index.html",
        b"<!doctype html><h1>Hello from Sitedrop</h1>\n",
    ),
    ("css/site.css", b"h1 { color: teal; }\n"),
    ("notes/a b&c.txt", b"a file with an awkward name\n"),
    (".env", b"SECRET=do-not-publish\n"),
];

/// The app's environment for one sandbox: its own data folder and local-sites port.
fn app_env(sb: &Sandbox, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "SITEDROP_DATA_DIR".to_string(),
            sb.data.display().to_string(),
        ),
        ("SITEDROP_LOCAL_PORT".to_string(), sb.local_port.to_string()),
    ];
    env.extend_from_slice(extra);
    env
}

/// Records, from inside the page, whether the progress panel was shown and which phases it
/// named, however briefly (a local deploy of three files takes milliseconds).
const WATCH_PROGRESS: &str = r#"
  window.__seen = { progress: false, phases: [] };
  new MutationObserver(() => {
    const panel = document.getElementById('deploy-progress');
    if (panel) window.__seen.progress = true;
    const phase = document.getElementById('deploy-phase');
    if (phase && phase.textContent && !window.__seen.phases.includes(phase.textContent)) window.__seen.phases.push(phase.textContent);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
"#;

/// The live URL's host and path, for fetching it from a server on 127.0.0.1.
fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

/// GETs each published file through `port` as `host` and compares the bytes with the folder.
fn assert_served(port: u16, host: &str, folder: &Path) {
    for (rel, body) in FILES.iter().filter(|(rel, _)| !rel.starts_with('.')) {
        let path = format!("/{}", rel.replace(' ', "%20").replace('&', "%26"));
        let (status, _, got) = fetch(port, host, &path);
        assert_eq!(status, 200, "GET {host}{path}");
        assert_eq!(
            got,
            *body,
            "GET {host}{path} served other bytes than {}",
            folder.join(rel).display()
        );
    }
    let (status, _, got) = fetch(port, host, "/");
    assert_eq!((status, got.as_slice()), (200, FILES[0].1), "GET {host}/");
    let (status, _, _) = fetch(port, host, "/.env");
    assert_ne!(status, 200, ".env must not be published");
}

#[test]
#[ignore = "needs a display, D-Bus and tauri-driver: run `make test-gui`"]
fn this_computer_from_empty_state_to_live_url_history_and_restart() {
    let sb = Sandbox::new();
    let folder = sb.folder("blog", FILES);
    let env = app_env(&sb, &[]);

    // First launch: nothing remembered, the empty state invites a drop.
    let gui = Gui::launch(&env, "this-computer");
    eprintln!(
        "first launch: session to first paint in {:?}",
        gui.started_in
    );
    gui.wait("#empty-state");
    gui.wait_text("#empty-state", "Drop a folder here");
    gui.wait("#site-list .empty");
    // The native drop listener is registered (the capability allows it).
    gui.wait("body[data-drop-ready='true']");
    gui.shot("01-empty-state");

    // A file dropped instead of a folder gets a sentence and a way out.
    gui.drop_paths(&[&folder.join("index.html")]);
    gui.wait("#deploy-error[data-kind='not_a_folder']");
    gui.wait_text("#deploy-error", "is a file, not a folder");
    gui.shot("02-dropped-a-file");
    gui.click("#deploy-error [data-action='useParent']");

    // The folder (reached through the same path a drop takes) is looked at before anything is sent.
    gui.wait_text("#report-files", "3 files");
    gui.wait_text("#folder-report", ".env");
    gui.wait_text("#deploy-why", "Choose where the site should go");
    gui.shot("03-folder-report");
    gui.run_js(
        "document.getElementById('folder-report').scrollIntoView();",
        vec![],
    );
    gui.shot("04-held-back");

    // A platform with accounts asks for one first, with where to make the token.
    gui.click("[data-platform='netlify']");
    gui.wait("#account-section form.connect[data-platform='netlify'] input[type='password']");
    gui.wait_text("#account-section", "Open Netlify’s access tokens page");
    gui.wait_text("#deploy-why", "Connect Netlify above first");
    assert!(gui.exists("#deploy-button[disabled]"));
    gui.run_js(
        "document.getElementById('account-section').scrollIntoView();",
        vec![],
    );
    gui.shot("05-connect-netlify");

    // "This computer" needs no account.
    gui.click("[data-platform='local']");
    assert!(
        !gui.exists("#account-section:not([hidden]) form"),
        "no account form for this computer"
    );
    gui.run_js(WATCH_PROGRESS, vec![]);
    gui.click_enabled("#deploy-button");
    if gui.wait_any(&["#deploy-result", "#deploy-error"]) == 1 {
        panic!("the deploy failed: {}", gui.text("#deploy-error"));
    }
    let seen = gui.run_js("return window.__seen;", vec![]);
    assert_eq!(
        seen["progress"],
        json!(true),
        "the progress panel was never shown: {seen}"
    );
    gui.wait_text("#deploy-result", "Your site is live");
    gui.wait_text("#deploy-summary", "3 files published");
    let url = gui.attr("#live-url", "data-url").expect("live url");
    assert_eq!(url, format!("http://blog.localhost:{}/", sb.local_port));
    assert_served(sb.local_port, &host_of(&url), &folder);
    gui.wait(".history-row[data-status='live']");
    assert_eq!(gui.count(".history-row"), 1);
    gui.shot("06-live-url");
    gui.click("#show-qr");
    gui.wait("#qr-box img[src^='data:image/svg+xml']");
    gui.shot("07-qr-code");
    gui.close();

    // After a restart the site and its history are still there; publishing again sends nothing.
    let gui = Gui::launch(&env, "this-computer");
    eprintln!(
        "second launch: session to first paint in {:?}",
        gui.started_in
    );
    gui.wait_text("#site-list", "blog");
    gui.wait_text("#site-list", "This computer");
    gui.wait(".history-row[data-status='live']");
    gui.wait_text("#live-url", "blog.localhost");
    gui.shot("08-after-restart");
    gui.click_enabled("#redeploy");
    gui.wait_text("#deploy-summary", "nothing new to upload");
    assert_eq!(gui.count(".history-row[data-status='live']"), 2);
    assert_served(sb.local_port, "blog.localhost", &folder);

    // Rolling back to the first deploy is one click, recorded as a deploy of its own.
    gui.click_enabled(".history-row button[data-focus^='rollback-']");
    gui.wait_text("#done-heading", "The earlier version is live again");
    gui.wait(".history-row .tag");
    assert_eq!(gui.count(".history-row"), 3);
    gui.shot("09-rolled-back");

    // No account was needed for any of it.
    gui.click("#nav-accounts");
    gui.wait("#no-accounts");
    gui.shot("10-accounts-empty");
    gui.close();
}

#[test]
#[ignore = "needs a display, D-Bus and tauri-driver: run `make test-gui`"]
fn cancel_stops_a_deploy_and_nothing_is_published() {
    let sb = Sandbox::new();
    let folder = sb.folder("big", &[("index.html", b"<h1>big</h1>")]);
    // 400 different files of 128 KiB: enough work that the deploy is still running when
    // Cancel arrives.
    for i in 0..400u32 {
        let body: Vec<u8> = (0..128 * 1024u32)
            .map(|b| (b.wrapping_mul(i + 7) >> 3) as u8)
            .collect();
        sitedrop_e2e::write(&folder, &format!("assets/{}/file-{i}.bin", i % 20), &body);
    }
    let gui = Gui::launch(&app_env(&sb, &[]), "cancel");
    gui.drop_paths(&[&folder]);
    gui.wait_text("#report-files", "401 files");
    gui.click("[data-platform='local']");
    // Press Cancel the moment it appears, from inside the page, so the deploy cannot finish first.
    gui.run_js(
        "new MutationObserver((_, obs) => { const b = document.getElementById('cancel-deploy'); if (b) { obs.disconnect(); b.click(); } })
           .observe(document.body, { subtree: true, childList: true });",
        vec![],
    );
    gui.click_enabled("#deploy-button");
    gui.wait("#deploy-error[data-kind='cancelled']");
    gui.wait_text("#deploy-error", "Nothing was published");
    gui.wait("#deploy-error [data-action='retry']");
    gui.shot("01-cancelled");
    let (status, _, _) = fetch(sb.local_port, "big.localhost", "/");
    assert_ne!(status, 200, "a cancelled deploy must not be served");
    gui.close();
}

/// True when this build deploys to Netlify (the provider lands from its own branch).
/// The keychain items Sitedrop stored, as `secret-tool` prints them (secrets included).
fn keychain_dump() -> String {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "--unlock", "service", "sitedrop"])
        .output()
        .expect("secret-tool (libsecret-tools)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Amplify takes every file again with each deployment: publishing an unchanged folder says
/// nothing changed and sends nothing, and "Publish anyway" makes a new deployment.
#[test]
#[ignore = "needs a display, D-Bus and tauri-driver: run `make test-gui`"]
fn amplify_unchanged_folder_is_not_sent_again_unless_asked() {
    let sb = Sandbox::new();
    let folder = sb.folder("gallery", FILES);
    let emu = EmulatorProcess::start(&[]);
    let env = app_env(&sb, &emu.env());
    let uploads = || {
        emu.control("GET", "requests", None)
            .as_array()
            .map_or(0, |rs| {
                rs.iter()
                    .filter(|r| {
                        r["path"]
                            .as_str()
                            .is_some_and(|p| p.contains("/_amplify-upload/"))
                    })
                    .count()
            })
    };

    let gui = Gui::launch(&env, "amplify");
    gui.drop_paths(&[&folder]);
    gui.wait_text("#report-files", "3 files");
    gui.click("[data-platform='amplify']");
    gui.wait("#account-section form.connect[data-platform='amplify']");
    gui.type_into(
        "#account-section input[name='access-key-id']",
        "AKIDSITEDROPTEST",
    );
    gui.type_into(
        "#account-section input[name='secret-access-key']",
        "sitedrop-test-secret",
    );
    gui.click("#account-section button[type='submit']");
    gui.wait_text("#account-line", "Publishing as");
    gui.click_enabled("#deploy-button");
    if gui.wait_any(&["#deploy-result", "#deploy-error"]) == 1 {
        panic!("the deploy failed: {}", gui.text("#deploy-error"));
    }
    gui.wait_text("#done-heading", "Your site is live");
    assert_eq!(uploads(), 1, "the first publish sends the site");

    // The same folder again: nothing is sent, and the page says so.
    gui.click_enabled("#redeploy");
    gui.wait("#deploy-result[data-status='unchanged']");
    gui.wait_text("#done-heading", "Nothing changed");
    gui.wait_text("#deploy-summary", "no new deployment was made");
    gui.wait_text(".history-row[data-status='unchanged']", "No change");
    assert_eq!(uploads(), 1, "an unchanged folder is not sent again");
    gui.shot("01-nothing-changed");

    // Asked for anyway: a new deployment, the whole site sent once more.
    gui.click("#publish-anyway");
    gui.wait_text("#done-heading", "Your site is live");
    gui.wait_text(
        "#deploy-summary",
        "Nothing had changed since the last publish",
    );
    assert_eq!(uploads(), 2, "Publish anyway sends the site");
    assert_eq!(gui.count(".history-row[data-status='live']"), 2);
    gui.shot("02-published-anyway");
    gui.close();
}

#[test]
#[ignore = "needs a display, D-Bus and tauri-driver: run `make test-gui`"]
fn netlify_token_in_keychain_deploy_with_progress_and_restart() {
    let sb = Sandbox::new();
    let folder = sb.folder("blog", FILES);
    let emu = EmulatorProcess::start(&[]);
    let env = app_env(&sb, &emu.env());

    let gui = Gui::launch(&env, "netlify");
    gui.wait("#empty-state");
    gui.drop_paths(&[&folder]);
    gui.wait_text("#report-files", "3 files");
    gui.click("[data-platform='netlify']");
    gui.wait("#account-section form.connect[data-platform='netlify']");
    gui.shot("01-connect-netlify");

    // A wrong token: the platform's refusal, as a sentence with what to do.
    gui.type_into("#account-section input[name='token']", "not_a_real_token");
    gui.click("#account-section button[type='submit']");
    gui.wait_text(
        "#account-section .field-error",
        "Netlify did not accept the token",
    );
    gui.shot("02-bad-token");
    assert!(
        !keychain_dump().contains("not_a_real_token"),
        "a refused token must not be stored"
    );

    // The right one: checked, stored in the keychain, shown only as the account's name.
    gui.type_into(
        "#account-section input[name='token']",
        "sitedrop_test_token",
    );
    gui.click("#account-section button[type='submit']");
    gui.wait_text("#account-line", "Publishing as");
    assert!(
        keychain_dump().contains("sitedrop_test_token"),
        "the token is in the keychain:\n{}",
        keychain_dump()
    );
    assert!(
        !gui.text("body").contains("sitedrop_test_token"),
        "the token is never shown again"
    );
    gui.shot("03-connected");

    // Slow uploads a little so the progress is there to see, and Cancel has time to act.
    emu.control("POST", "faults", Some(json!({ "platform": "netlify", "method": "PUT", "path": "/files/", "latency_ms": 1500 })));
    gui.click_enabled("#deploy-button");
    gui.wait("#deploy-progress");
    gui.wait_text("#deploy-phase", "Uploading");
    gui.wait_text("#deploy-counts", "of 3 files");
    gui.shot("04-progress");
    gui.click("#cancel-deploy");
    gui.wait("#deploy-error[data-kind='cancelled']");
    gui.shot("05-cancelled");
    gui.click("#deploy-error [data-action='retry']");
    if gui.wait_any(&["#deploy-result", "#deploy-error"]) == 1 {
        panic!("the deploy failed: {}", gui.text("#deploy-error"));
    }
    let url = gui.attr("#live-url", "data-url").expect("live url");
    assert!(url.contains(".netlify.app"), "{url}");
    assert_served(emu.port, &host_of(&url), &folder);
    gui.wait(".history-row[data-status='live']");
    gui.shot("06-live");
    gui.close();

    // After a restart: the account, the site and its history, with nothing typed again.
    emu.control("DELETE", "faults", None);
    let gui = Gui::launch(&env, "netlify");
    gui.wait_text("#site-list", "Netlify");
    gui.wait(".history-row[data-status='live']");
    gui.click("#nav-accounts");
    gui.wait_text("#account-list", "Netlify");
    gui.shot("07-account-after-restart");
    gui.click("#site-list .site-link");
    gui.click_enabled("#redeploy");
    gui.wait_text("#deploy-summary", "nothing new to upload");
    assert_eq!(gui.count(".history-row[data-status='live']"), 2);
    gui.close();
}

/// The desktop notifications the app sends, as `dbus-monitor` sees its `Notify` calls on the
/// session bus (the test session has no notification daemon, but the calls still go out).
struct NotifyMonitor {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl NotifyMonitor {
    fn start(sb: &Sandbox) -> NotifyMonitor {
        let log = sb.root.path().join("notifications.log");
        let out = std::fs::File::create(&log).expect("notifications log");
        let child = std::process::Command::new("dbus-monitor")
            .args([
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dbus-monitor (package dbus-bin)");
        let monitor = NotifyMonitor { child, log };
        // It prints its own name first, once it is monitoring.
        wait_until("dbus-monitor to start", || !monitor.text().is_empty());
        monitor
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a notification whose title or body contains `needle`.
    fn wait_for(&self, needle: &str) {
        wait_until(&format!("a notification saying {needle:?}"), || {
            self.text().contains(needle)
        });
    }
}

impl Drop for NotifyMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `done` for up to a minute (an automatic publish waits for the folder to settle first).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Records, from inside the page, every watch status line shown and whether an automatic
/// publish's progress panel appeared, however briefly.
const WATCH_WATCH: &str = r#"
  window.__watch = { status: [], autoProgress: false };
  new MutationObserver(() => {
    const line = document.getElementById('watch-status');
    const text = line && line.textContent;
    if (text && window.__watch.status[window.__watch.status.length - 1] !== text) window.__watch.status.push(text);
    if (document.getElementById('deploy-auto-note')) window.__watch.autoProgress = true;
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
"#;

#[test]
#[ignore = "needs a display, D-Bus and tauri-driver: run `make test-gui`"]
fn watched_site_publishes_edits_catches_up_after_restart_and_pauses_when_the_folder_goes() {
    let sb = Sandbox::new();
    let folder = sb.folder("journal", FILES);
    let env = app_env(&sb, &[]);
    let notifications = NotifyMonitor::start(&sb);
    let host = "journal.localhost";

    // Publish once to this computer.
    let gui = Gui::launch(&env, "watch");
    gui.drop_paths(&[&folder]);
    gui.wait_text("#report-files", "3 files");
    gui.click("[data-platform='local']");
    gui.click_enabled("#deploy-button");
    if gui.wait_any(&["#deploy-result", "#deploy-error"]) == 1 {
        panic!("the deploy failed: {}", gui.text("#deploy-error"));
    }
    assert_served(sb.local_port, host, &folder);

    // The switch is off until turned on; turning it on publishes nothing by itself (nothing
    // changed since the deploy).
    gui.wait("#watch-toggle[role='switch']:not(:checked):not([disabled])");
    gui.wait_text(
        "label[for='watch-toggle']",
        "Keep this site up to date: publish again when files change",
    );
    gui.shot("01-not-watched");
    gui.run_js(WATCH_WATCH, vec![]);
    gui.click("#notify-success");
    gui.wait("#notify-success:checked");
    gui.click("#watch-toggle");
    gui.wait("#watch-section[data-state='watching']");
    gui.wait_text("#watch-status", "Watching");
    gui.wait_text("#site-list", "watching");
    gui.shot("02-watching");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        gui.count(".history-row"),
        1,
        "turning watching on published"
    );

    // One edit: an automatic publish, in the history as such, and the new bytes are served.
    let v2: &[u8] = b"<!doctype html><h1>Edited while watched</h1>\n";
    std::fs::write(folder.join("index.html"), v2).expect("edit");
    gui.wait(".history-row[data-trigger='watch'][data-status='live']");
    gui.wait_text(".history-row[data-trigger='watch']", "automatic");
    assert_eq!(gui.count(".history-row"), 2);
    gui.wait_text("#done-heading", "published automatically");
    let (status, _, body) = fetch(sb.local_port, host, "/");
    assert_eq!((status, body.as_slice()), (200, v2), "the edit is live");
    let seen = gui.run_js("return window.__watch;", vec![]);
    let said = seen["status"].to_string();
    assert!(
        said.contains("Changes seen, publishing soon"),
        "the settle wait was not shown: {seen}"
    );
    assert!(
        said.contains("Publishing your changes"),
        "the publish was not shown: {seen}"
    );
    assert_eq!(
        seen["autoProgress"],
        json!(true),
        "no progress panel for the automatic publish: {seen}"
    );
    gui.wait_text("#watch-status", "Watching");
    // Asked for: a notification on success too.
    notifications.wait_for("journal is up to date");
    gui.shot("03-published-automatically");
    // Then it rests: the publish's own reads of the folder are not changes, so for 10 idle
    // seconds the status stays "Watching" and nothing is published again.
    gui.run_js("window.__watch.status = [];", vec![]);
    std::thread::sleep(std::time::Duration::from_secs(10));
    let idle = gui.run_js("return window.__watch.status;", vec![]);
    assert!(
        idle.as_array().is_some_and(|lines| lines
            .iter()
            .all(|l| l.as_str().is_some_and(|l| l.starts_with("Watching")))),
        "an idle watch showed {idle}"
    );
    assert!(gui.exists("#watch-section[data-state='watching']"));
    assert_eq!(
        gui.count(".history-row"),
        2,
        "an idle watch published again"
    );
    gui.shot("03b-idle-after-publish");
    gui.close();

    // An edit while the app is closed is published when it starts again.
    let css: &[u8] = b"h1 { color: purple; }\n";
    std::fs::write(folder.join("css/site.css"), css).expect("edit while closed");
    let gui = Gui::launch(&env, "watch");
    gui.wait("#watch-toggle:checked");
    gui.wait("#notify-success:checked");
    wait_until("the catch-up publish", || {
        gui.count(".history-row[data-trigger='watch'][data-status='live']") == 2
    });
    let (status, _, body) = fetch(sb.local_port, host, "/css/site.css");
    assert_eq!((status, body.as_slice()), (200, css), "caught up");
    gui.wait("#watch-section[data-state='watching']");
    gui.shot("04-caught-up-after-restart");

    // The folder goes away: watching pauses, says why and what to do, and notifies.
    std::fs::remove_dir_all(&folder).expect("delete the folder");
    gui.wait("#watch-section[data-state='paused']");
    gui.wait_text("#watch-paused", "moved or deleted");
    gui.wait_text("#watch-paused", "It resumes if the folder comes back");
    assert!(
        !gui.exists("#watch-resume"),
        "Resume would only fail while the folder is gone"
    );
    gui.wait_text("#site-list", "watching paused");
    notifications.wait_for("Watching journal is paused");
    gui.shot("05-paused-folder-gone");

    // It comes back: watching resumes by itself, and publishes what the folder holds now.
    let folder = sb.folder("journal", FILES);
    gui.wait("#watch-section[data-state='watching']");
    wait_until("the publish of the restored folder", || {
        fetch(sb.local_port, host, "/css/site.css").2 == FILES[1].1
            && fetch(sb.local_port, host, "/").2 == FILES[0].1
    });
    assert_served(sb.local_port, host, &folder);
    // Turned off, it stays off after a restart.
    gui.click("#watch-toggle");
    gui.wait("#watch-section[data-state='off']");
    gui.close();
    let gui = Gui::launch(&env, "watch");
    gui.wait("#watch-toggle:not(:checked)");
    gui.wait(".history-row");
    let rows = gui.count(".history-row");
    std::fs::write(folder.join("index.html"), b"<h1>not watched</h1>").expect("edit");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        gui.count(".history-row"),
        rows,
        "a site no longer watched published by itself"
    );
    assert_served(sb.local_port, host, &folder); // still the last publish, not the edit

    // Watched again, then the window is closed: Sitedrop stays (in the tray) and keeps
    // publishing edits.
    gui.click("#watch-toggle");
    gui.wait("#watch-section[data-state='watching']");
    gui.wait_text("#site-list", "watching");
    wait_until("the catch-up of the edit made while unwatched", || {
        fetch(sb.local_port, host, "/").2 == b"<h1>not watched</h1>"
    });
    let automatic = ".history-row[data-trigger='watch'][data-status='live']";
    let newest = ".history-row:first-child[data-trigger='watch'][data-status='live']";
    wait_until("the history to show that catch-up", || gui.exists(newest));
    let before = gui.count(automatic);
    assert!(gui.window_shown());
    gui.request_close();
    wait_until("the window to hide", || !gui.window_shown());
    assert!(gui.app_running(), "closing the window quit a watching app");
    let hidden: &[u8] = b"<h1>edited with the window closed</h1>";
    std::fs::write(folder.join("index.html"), hidden).expect("edit");
    wait_until("a publish with the window closed", || {
        fetch(sb.local_port, host, "/").2 == hidden
    });
    // The hidden page follows along, so the window shows it all when it comes back.
    wait_until("the hidden page's history to show it", || {
        gui.count(automatic) == before + 1 && gui.exists(newest)
    });
    gui.close();

    // A folder missing when the app starts: watching cannot start, says so, and resumes at a
    // press of Resume once the folder is back.
    std::fs::remove_dir_all(&folder).expect("delete the folder");
    let gui = Gui::launch(&env, "watch");
    gui.wait("#watch-section[data-state='paused']");
    gui.wait_text("#watch-paused", "does not exist");
    gui.shot("06-paused-at-start");
    let folder = sb.folder("journal", FILES);
    gui.click("#watch-resume");
    gui.wait("#watch-section[data-state='watching']");
    wait_until("the publish after Resume", || {
        fetch(sb.local_port, host, "/").2 == FILES[0].1
    });
    assert_served(sb.local_port, host, &folder);
    gui.close();
}
