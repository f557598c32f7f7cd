//! `sitedrop-emulator`: a local twin of the servers of Cloudflare (Pages and Workers static
//! assets), Netlify, Vercel and AWS Amplify, built from `shared/specs/`.
//!
//! It speaks each platform's API under its real path prefix on one port, keeps real state on
//! disk, enforces what the real servers enforce, serves every live deployment by `Host`
//! header, and offers a control API under `/_emulator/` (faults, request log, state, knobs).
//! It shares no code with the Sitedrop client: it is the other side of the wire.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let emu = sitedrop_emulator::Emulator::start(sitedrop_emulator::Config::default()).await?;
//! println!("{}", emu.url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

// Handlers refuse early with a ready `Response` (`Result<_, Response>`); boxing those
// 128-byte errors would only add allocations on the refusal path of a test server.
#![allow(
    clippy::result_large_err,
    reason = "early-exit HTTP responses, see above"
)]

pub mod amplify;
mod app;
pub mod blobs;
pub mod cloudflare;
pub mod config;
pub mod control;
pub mod hosting;
pub mod netlify;
mod router;
pub mod tls;
pub mod util;
pub mod vercel;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app::App;
pub use config::{AwsCredential, Config, Knobs};

/// The four platforms (Cloudflare covers Pages and Workers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Cloudflare Pages and Workers.
    Cloudflare,
    /// Netlify.
    Netlify,
    /// Vercel.
    Vercel,
    /// AWS Amplify Hosting.
    Amplify,
}

impl Platform {
    /// The lowercase name used in the control API.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Cloudflare => "cloudflare",
            Platform::Netlify => "netlify",
            Platform::Vercel => "vercel",
            Platform::Amplify => "amplify",
        }
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    app: Arc<App>,
    authority: Option<tls::Authority>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds `127.0.0.1:config.port` (0 = a free port) and starts serving; with
    /// [`Config::tls`], over HTTPS with a certificate authority made now ([`tls`]).
    pub async fn start(config: Config) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let app = Arc::new(App::new(config, addr.port())?);
        let authority = if app.config.tls {
            Some(tls::Authority::create(&app.root)?)
        } else {
            None
        };
        let listener = tls::EmuListener::new(listener, authority.as_ref())?;
        let router =
            router::router(app.clone()).into_make_service_with_connect_info::<tls::ConnMeta>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("sitedrop-emulator: server error: {e}");
            }
        });
        Ok(Emulator {
            addr,
            app,
            authority,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The API base: `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with TLS.
    pub fn url(&self) -> String {
        self.app.base_url()
    }

    /// `http://127.0.0.1:PORT` even with TLS: live sites by Host header and `/_emulator/`
    /// answer plain HTTP on the same port.
    pub fn plain_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The CA certificate file clients must trust, with TLS.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.authority.as_ref().map(|a| a.ca_file.as_path())
    }

    /// The CA certificate (PEM), with TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.authority.as_ref().map(|a| a.ca_pem.as_str())
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The shared state (for in-process tests that want to look inside).
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting connections and waits (at most a second) for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Waits until the server task ends (used by the binary).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
