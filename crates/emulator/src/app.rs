//! The shared state of a running emulator.

use std::sync::RwLock;

use crate::blobs::BlobStore;
use crate::config::{Config, Knobs};
use crate::control::faults::Faults;
use crate::control::reqlog::RequestLog;
use crate::util::ids::IdGen;
use crate::{amplify, cloudflare, netlify, vercel};

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct App {
    /// Startup configuration.
    pub config: Config,
    /// Run-time knobs.
    pub knobs: RwLock<Knobs>,
    /// Port the server listens on.
    pub port: u16,
    /// Id generator.
    pub ids: IdGen,
    /// Blob store.
    pub blobs: BlobStore,
    /// Active faults.
    pub faults: Faults,
    /// Request log.
    pub log: RequestLog,
    /// Cloudflare state.
    pub cf: cloudflare::State,
    /// Netlify state.
    pub netlify: netlify::State,
    /// Vercel state.
    pub vercel: vercel::State,
    /// Amplify state.
    pub amplify: amplify::State,
    /// The state directory (blobs, unpacked sites, `ca.pem` with `--tls`).
    pub root: std::path::PathBuf,
    _tempdir: Option<tempfile::TempDir>,
}

impl App {
    /// Builds the state, creating the state directory.
    pub fn new(config: Config, port: u16) -> anyhow::Result<App> {
        let (root, tempdir) = match &config.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("sitedrop-emulator-")
                    .tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let blobs = BlobStore::new(&root)?;
        Ok(App {
            knobs: RwLock::new(config.knobs.clone()),
            port,
            ids: IdGen::new(config.seed),
            blobs,
            faults: Faults::default(),
            log: RequestLog::default(),
            cf: cloudflare::State::new(&config),
            netlify: netlify::State::new(&config),
            vercel: vercel::State::new(&config),
            amplify: amplify::State::new(&config),
            config,
            root,
            _tempdir: tempdir,
        })
    }

    /// A copy of the current knobs.
    pub fn knobs(&self) -> Knobs {
        self.knobs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `http://127.0.0.1:PORT`, or `https://…` with [`Config::tls`].
    pub fn base_url(&self) -> String {
        let scheme = if self.config.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Forgets all state (projects, sites, deployments, jobs, blobs, log, faults).
    pub fn reset(&self) {
        self.cf.reset(&self.config);
        self.netlify.reset(&self.config);
        self.vercel.reset(&self.config);
        self.amplify.reset(&self.config);
        self.blobs.clear();
        self.faults.clear();
        self.log.clear();
        *self.knobs.write().unwrap_or_else(|e| e.into_inner()) = self.config.knobs.clone();
    }
}
