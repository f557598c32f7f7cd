//! Driving the built app through WebDriver: `tauri-driver` (which starts `WebKitWebDriver`,
//! which starts the app) and a synchronous wrapper around a `fantoccini` session, so the tests
//! read as steps and can call blocking helpers (HTTP fetches, `secret-tool`) between them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use sitedrop_e2e::free_port;

/// How long a step may take before the test fails (the slowest is a cold WebKit start).
const STEP: Duration = Duration::from_secs(30);

/// `tauri-driver`, started for one app launch with the app's environment.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts `tauri-driver` on free ports; `env` reaches the app (WebKitWebDriver passes its
    /// environment on).
    pub fn start(env: &[(String, String)]) -> Driver {
        let port = free_port();
        let native_port = free_port();
        let mut cmd = Command::new(tauri_driver());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        for var in [
            "CLOUDFLARE_API_TOKEN",
            "NETLIFY_AUTH_TOKEN",
            "VERCEL_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        // Its own process group, so that stopping it also stops the WebKitWebDriver it starts.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("start tauri-driver");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) with the group id of a child we started; no memory is involved.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// `$TAURI_DRIVER`, else `.tools/bin/tauri-driver` (where `make test-gui` installs it).
fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return path.into();
    }
    let path = workspace().join(".tools/bin/tauri-driver");
    assert!(path.exists(), "tauri-driver is missing: run `make test-gui`, or `cargo install tauri-driver --locked --root .tools`");
    path
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// One running app, driven through WebDriver.
pub struct Gui {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    shots: PathBuf,
    driver: Option<Driver>,
    /// Milliseconds from asking for a session until the page said it was ready.
    pub started_in: Duration,
}

impl Gui {
    /// Launches the app and waits until its first screen is drawn.
    pub fn launch(env: &[(String, String)], shots: &str) -> Gui {
        let driver = Driver::start(env);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let app = sitedrop_e2e::bin("sitedrop-app");
        let started = Instant::now();
        // tauri-driver answers before the WebKitWebDriver behind it does: retry briefly.
        let deadline = Instant::now() + Duration::from_secs(15);
        let client = loop {
            let attempt = rt.block_on(async {
                let mut caps = serde_json::Map::new();
                caps.insert("tauri:options".into(), json!({ "application": app }));
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{}", driver.port))
                    .await
            });
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("WebDriver not ready yet ({e}); retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("WebDriver session: {e}"),
            }
        };
        let shots = workspace().join("target/gui-screenshots").join(shots);
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        let mut gui = Gui {
            rt,
            client: Some(client),
            shots,
            driver: Some(driver),
            started_in: Duration::ZERO,
        };
        gui.wait("body[data-ready]");
        gui.started_in = started.elapsed();
        gui
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    /// Waits for an element matching `css`.
    /// Any error is retried until the deadline: an element the page redraws while it is
    /// being found comes back "stale", which only means "look again" (automatic publishes
    /// redraw the site page by themselves).
    pub fn wait(&self, css: &str) -> Element {
        let deadline = Instant::now() + STEP;
        loop {
            match self.rt.block_on(self.client().find(Locator::Css(css))) {
                Ok(el) => return el,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    self.shot(&format!("failed-waiting-for-{}", sanitize(css)));
                    panic!(
                        "no element {css} after {STEP:?}: {e}\npage text:\n{}",
                        self.text("body")
                    );
                }
            }
        }
    }

    /// Waits until the element matching `css` contains `needle` in its text.
    pub fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let text = self.try_text(css).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                self.shot(&format!("failed-text-{}", sanitize(css)));
                panic!(
                    "{css} never contained {needle:?}; it says {text:?}\npage text:\n{}",
                    self.text("body")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until one of `css_list` is present and returns its index (e.g. success or error).
    pub fn wait_any(&self, css_list: &[&str]) -> usize {
        let deadline = Instant::now() + STEP * 2;
        loop {
            for (i, css) in css_list.iter().enumerate() {
                if self.exists(css) {
                    return i;
                }
            }
            if Instant::now() > deadline {
                self.shot("failed-wait-any");
                panic!(
                    "none of {css_list:?} appeared\npage text:\n{}",
                    self.text("body")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn exists(&self, css: &str) -> bool {
        self.rt
            .block_on(self.client().find(Locator::Css(css)))
            .is_ok()
    }

    pub fn count(&self, css: &str) -> usize {
        self.rt
            .block_on(self.client().find_all(Locator::Css(css)))
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// The element's text as the page has it (`textContent`, spaces collapsed): WebKit's
    /// WebDriver "element text" can lag behind the DOM until the next paint.
    fn try_text(&self, css: &str) -> Option<String> {
        let script = "const el = document.querySelector(arguments[0]); return el ? el.textContent.replace(/\\s+/g, ' ').trim() : null;";
        let value = self
            .rt
            .block_on(self.client().execute(script, vec![json!(css)]))
            .ok()?;
        value.as_str().map(str::to_string)
    }

    pub fn text(&self, css: &str) -> String {
        self.try_text(css).unwrap_or_default()
    }

    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.wait(css);
        self.rt.block_on(el.attr(name)).ok().flatten()
    }

    /// Clicks the element matching `css`, finding it again if the page redrew it meanwhile.
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let el = self.wait(css);
            match self.rt.block_on(el.click()) {
                Ok(()) => return,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Waits until the element is enabled, then clicks it.
    pub fn click_enabled(&self, css: &str) {
        self.wait(&format!("{css}:not([disabled])"));
        self.click(css);
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.wait(css);
        self.rt
            .block_on(async {
                el.clear().await?;
                el.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Runs JavaScript in the page; `args` are `arguments[0..]`.
    pub fn run_js(&self, script: &str, args: Vec<Value>) -> Value {
        self.rt
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Drops folders on the window the way the native drop handler does.
    pub fn drop_paths(&self, paths: &[&Path]) {
        let paths: Vec<Value> = paths.iter().map(|p| json!(p)).collect();
        self.run_js(
            "window.dispatchEvent(new CustomEvent('sitedrop:paths', { detail: arguments[0] }));",
            vec![json!(paths)],
        );
    }

    /// Asks the app's window to close the way a window manager does when its close button is
    /// pressed (an X11 `WM_DELETE_WINDOW` message), so the app decides: quit, or stay in the
    /// tray. (WebDriver's own "close window" destroys the web view and ends the session.)
    pub fn request_close(&self) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{
            AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState,
        };
        let (conn, screen) = x11rb::connect(None).expect("connect to the X display");
        let root = conn.setup().roots[screen].root;
        let atom = |name: &str| {
            conn.intern_atom(false, name.as_bytes())
                .expect("intern_atom")
                .reply()
                .expect("intern_atom reply")
                .atom
        };
        let (protocols, delete, net_wm_pid) = (
            atom("WM_PROTOCOLS"),
            atom("WM_DELETE_WINDOW"),
            atom("_NET_WM_PID"),
        );
        let pids = app_pids(&sitedrop_e2e::bin("sitedrop-app"));
        let children = conn
            .query_tree(root)
            .expect("query_tree")
            .reply()
            .expect("query_tree reply")
            .children;
        let mut sent = 0;
        for window in children {
            let pid = conn
                .get_property(false, window, net_wm_pid, AtomEnum::CARDINAL, 0, 1)
                .ok()
                .and_then(|c| c.reply().ok())
                .and_then(|r| r.value32().and_then(|mut v| v.next()));
            let viewable = conn
                .get_window_attributes(window)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| a.map_state == MapState::VIEWABLE);
            if !viewable || !pid.is_some_and(|p| pids.contains(&(p as i32))) {
                continue;
            }
            let message = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
            conn.send_event(false, window, EventMask::NO_EVENT, message)
                .expect("send WM_DELETE_WINDOW");
            sent += 1;
        }
        conn.flush().expect("flush");
        assert!(sent > 0, "no window of the app found on the display");
    }

    /// True while the app's window is shown on the display (false once it is gone).
    pub fn window_shown(&self) -> bool {
        let script = "return document.visibilityState === 'visible';";
        self.rt
            .block_on(self.client().execute(script, vec![]))
            .is_ok_and(|v| v == json!(true))
    }

    /// True while this workspace's app runs.
    pub fn app_running(&self) -> bool {
        app_pids(&sitedrop_e2e::bin("sitedrop-app"))
            .iter()
            .any(|pid| alive(*pid))
    }

    /// Saves a PNG of the window as `<n>.png` under `target/gui-screenshots/<test>/`.
    pub fn shot(&self, name: &str) {
        // Let WebKit paint what the DOM already holds.
        let paint = "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(true), 50)));";
        let _ = self.rt.block_on(self.client().execute_async(paint, vec![]));
        if let Ok(png) = self.rt.block_on(self.client().screenshot()) {
            let _ = std::fs::write(self.shots.join(format!("{name}.png")), png);
        }
        // What the screenshot shows, as text, for `scripts/check-no-secrets.sh`: the page's
        // text and every field's value that is drawn in clear (password fields are masked).
        let visible = "return document.body.innerText + '\\n' + [...document.querySelectorAll('input, textarea')].filter((f) => f.type !== 'password').map((f) => f.value).join('\\n');";
        if let Ok(text) = self.rt.block_on(self.client().execute(visible, vec![])) {
            let text = text.as_str().unwrap_or_default().to_string();
            let _ = std::fs::write(self.shots.join(format!("{name}.txt")), text);
        }
    }

    /// Ends the session and waits until the app has quit, so the next launch starts afresh
    /// (single-instance would otherwise hand it to the one still closing).
    pub fn close(mut self) {
        self.end();
    }

    fn end(&mut self) {
        // Noted while they still run: an exiting process loses its /proc/PID/exe link before it
        // lets go of its D-Bus name.
        let app = app_pids(&sitedrop_e2e::bin("sitedrop-app"));
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(client.close());
        }
        // Stopping tauri-driver's process group stops WebKitWebDriver and the app with it.
        drop(self.driver.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while app.iter().any(|pid| alive(*pid)) {
            if Instant::now() > deadline {
                for pid in &app {
                    // SAFETY: kill(2) on the app this test launched; no memory is involved.
                    unsafe { libc::kill(*pid, libc::SIGKILL) };
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let the bus daemon process the disconnection before the next launch asks for the name.
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// True while `pid` runs (a zombie has already closed its files and sockets).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

impl Drop for Gui {
    fn drop(&mut self) {
        self.end();
    }
}

/// Processes running this workspace's app binary.
fn app_pids(app: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app))
        .collect()
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
