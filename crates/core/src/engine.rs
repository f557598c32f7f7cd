//! The engine: one handle the faces hold, owning the history, the keychain and the HTTP client.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Env;
use crate::error::{Error, ErrorKind, Result};
use crate::history::{Account, History};
use crate::http::Http;
use crate::platform::Platform;
use crate::progress::{no_progress, ProgressSink};
use crate::provider::{self, AccountInfo, Cx};
use crate::retry::RetryPolicy;
use crate::scan::{self, HeldBack, ScanOptions, ScanWarning, SecretPolicy};
use crate::secrets::{
    self, CredentialKind, CredentialSource, Credentials, OsKeychain, ResolvedCredentials,
    SecretStore,
};

/// How to open the engine.
pub struct EngineConfig {
    pub env: Env,
    /// Overrides `SITEDROP_DATA_DIR` / the OS data folder (the desktop app passes its own).
    pub data_dir: Option<PathBuf>,
    pub secrets: Arc<dyn SecretStore>,
    pub retry: RetryPolicy,
}

impl EngineConfig {
    /// The environment of this process and the OS keychain.
    pub fn from_process() -> EngineConfig {
        EngineConfig {
            env: Env::from_process(),
            data_dir: None,
            secrets: Arc::new(OsKeychain::new()),
            retry: RetryPolicy::default(),
        }
    }
}

/// Sitedrop's engine. Cheap to clone; all clones share one history and one HTTP client.
#[derive(Clone)]
pub struct Engine(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub env: Env,
    pub data_dir: PathBuf,
    pub history: Mutex<History>,
    pub secrets: Arc<dyn SecretStore>,
    pub http: Http,
    pub retry: RetryPolicy,
    /// The server for local sites, when this process runs it.
    pub local_server: tokio::sync::Mutex<Option<crate::serve::LocalServer>>,
}

/// What a folder holds, as a deploy to a platform would see it, before anything is sent.
#[derive(Debug, Clone, Serialize)]
pub struct FolderReport {
    pub folder: PathBuf,
    pub files: u64,
    pub bytes: u64,
    pub ignored: Vec<String>,
    pub held_back: Vec<HeldBack>,
    pub warnings: Vec<String>,
    /// The platform limit the folder breaks, in words, if any.
    pub problem: Option<String>,
    pub problem_kind: Option<ErrorKind>,
}

impl Engine {
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let data_dir = config.data_dir.unwrap_or_else(|| config.env.data_dir());
        let history = History::open(&data_dir)?;
        let http = Http::new(&config.env)?;
        Ok(Engine(Arc::new(Inner {
            env: config.env,
            data_dir,
            history: Mutex::new(history),
            secrets: config.secrets,
            http,
            retry: config.retry,
            local_server: tokio::sync::Mutex::new(None),
        })))
    }

    pub fn env(&self) -> &Env {
        &self.0.env
    }

    pub fn data_dir(&self) -> &Path {
        &self.0.data_dir
    }

    pub fn http(&self) -> &Http {
        &self.0.http
    }

    /// The history, locked. Keep the guard briefly: deploys update it at every phase.
    pub fn history(&self) -> MutexGuard<'_, History> {
        self.0.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The context providers receive.
    pub(crate) fn cx(&self, progress: ProgressSink, cancel: CancellationToken) -> Cx {
        Cx {
            http: self.0.http.clone(),
            env: self.0.env.clone(),
            retry: self.0.retry.clone(),
            progress,
            cancel,
            data_dir: self.0.data_dir.clone(),
        }
    }

    /// Makes sure local sites are being served on the configured port: by this process (started
    /// here if the port is free) or by another Sitedrop using the same data folder. Returns
    /// true when this process serves them.
    pub async fn ensure_local_server(&self) -> Result<bool> {
        let mut slot = self.0.local_server.lock().await;
        if slot.is_some() {
            return Ok(true);
        }
        let port = self.0.env.local_port();
        match crate::serve::probe(port, &self.0.data_dir).await {
            crate::serve::PortUse::Free => {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                *slot = Some(crate::serve::LocalServer::sites(&self.0.data_dir, addr).await?);
                Ok(true)
            }
            crate::serve::PortUse::SitedropSameData => Ok(false),
            crate::serve::PortUse::SitedropOtherData => Err(Error::Invalid(format!(
                "Port {port} is used by another Sitedrop with a different data folder. Close it, or set SITEDROP_LOCAL_PORT to another port."
            ))),
            crate::serve::PortUse::Foreign => Err(Error::Invalid(format!(
                "Port {port} is in use by another program, so local sites cannot be served. Set SITEDROP_LOCAL_PORT to a free port."
            ))),
        }
    }

    /// True when this process serves local sites.
    pub async fn serves_local_sites(&self) -> bool {
        self.0.local_server.lock().await.is_some()
    }

    /// Scans a folder as a deploy to `platform` would and reports what it found, without
    /// reading any file.
    pub async fn inspect(
        &self,
        folder: &Path,
        platform: Platform,
        secrets: SecretPolicy,
    ) -> Result<FolderReport> {
        // The platform's static facts say all a scan needs to know: no provider, and so no
        // credentials, are needed to preview a folder.
        let descriptor = platform.descriptor();
        let rules = descriptor.scan_rules();
        let limits = descriptor.limits;
        let folder = folder.to_path_buf();
        let options = ScanOptions { rules, secrets };
        let set = tokio::task::spawn_blocking(move || {
            scan::scan(&folder, &options, &no_progress(), &CancellationToken::new())
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let problem = set
            .ensure_not_empty()
            .and_then(|_| set.ensure_names_publishable(platform))
            .and_then(|_| crate::limits::check(&set, limits, platform))
            .and_then(|_| (descriptor.check_files)(&set))
            .err();
        Ok(FolderReport {
            folder: set.root.clone(),
            files: set.files.len() as u64,
            bytes: set.total_bytes,
            ignored: set.ignored.iter().map(|p| p.to_string()).collect(),
            held_back: set.held_back.clone(),
            warnings: set.warnings.iter().map(ScanWarning::to_string).collect(),
            problem_kind: problem.as_ref().map(Error::kind),
            problem: problem.map(|e| e.to_string()),
        })
    }

    /// The credentials a deploy to `platform` would use: environment variables first, then
    /// the most recently used connected account. `Ok(None)` when there are none.
    pub async fn resolve_credentials(
        &self,
        platform: Platform,
    ) -> Result<Option<ResolvedCredentials>> {
        let descriptor = platform.descriptor();
        if descriptor.credentials == CredentialKind::None {
            return Ok(None);
        }
        if let Some(from_env) = descriptor.credentials_from_env(&self.0.env) {
            return Ok(Some(from_env));
        }
        let account = self.history().default_account(platform)?;
        let Some(account) = account else {
            return Ok(None);
        };
        let stored = secrets::get(&self.0.secrets, &account.secret_key)
            .await?
            .ok_or_else(|| descriptor.no_credentials())?;
        let credentials = Credentials::from_stored(
            descriptor.credentials,
            stored,
            account.account_ref.as_deref(),
        )?;
        Ok(Some(ResolvedCredentials {
            credentials,
            source: CredentialSource::Keychain {
                account_id: account.id,
            },
            account_ref: account.account_ref.clone(),
        }))
    }

    /// Checks credentials with the platform, stores the secret in the keychain and remembers
    /// the account (without the secret). The secret is never returned.
    pub async fn connect_account(
        &self,
        platform: Platform,
        credentials: Credentials,
        account_ref: Option<String>,
    ) -> Result<Account> {
        let platform = platform.account_platform();
        credentials.check_shape(platform)?;
        let resolved = ResolvedCredentials {
            credentials: credentials.clone(),
            source: CredentialSource::Entered,
            account_ref: account_ref.clone(),
        };
        let provider = provider::build(platform, Some(resolved), &self.0.env)?;
        let AccountInfo {
            label,
            account_ref: found_ref,
        } = provider
            .verify_credentials(&self.cx(no_progress(), CancellationToken::new()))
            .await?;
        let account_ref = account_ref.or(found_ref);
        let secret_key = format!(
            "{}:{:x}{}",
            platform.id(),
            crate::history::now_ms(),
            crate::provider::naming::random_suffix()
        );
        secrets::set(&self.0.secrets, &secret_key, credentials.to_stored()).await?;
        let saved =
            self.history()
                .save_account(platform, &label, account_ref.as_deref(), &secret_key);
        match saved {
            Ok(account) => Ok(account),
            Err(e) => {
                // Do not leave an orphaned secret behind.
                let _ = secrets::delete(&self.0.secrets, &secret_key).await;
                Err(e)
            }
        }
    }

    /// Forgets an account and deletes its secret from the keychain.
    pub async fn disconnect_account(&self, account_id: i64) -> Result<()> {
        let account = self.history().account(account_id)?;
        let Some(account) = account else {
            return Ok(());
        };
        secrets::delete(&self.0.secrets, &account.secret_key).await?;
        self.history().remove_account(account_id)
    }

    /// Forgets a site and its history; with `on_platform`, takes it down there first.
    pub async fn remove_site(&self, site_id: i64, on_platform: bool) -> Result<()> {
        let site = self.history().site(site_id)?;
        let Some(site) = site else { return Ok(()) };
        if on_platform {
            let credentials = self.resolve_credentials(site.platform).await?;
            let account_ref = credentials.as_ref().and_then(|c| c.account_ref.clone());
            let provider = provider::build(site.platform, credentials, &self.0.env)?;
            let target = provider::Target {
                project: site.project.clone(),
                remote_id: site.remote_id.clone(),
                folder_name: provider::naming::folder_label(&site.folder),
                account_ref,
                ..Default::default()
            };
            provider
                .remove(&self.cx(no_progress(), CancellationToken::new()), &target)
                .await?;
        }
        self.history().remove_site(site_id)
    }
}
