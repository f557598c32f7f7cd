//! The commands the page calls. Each is a few lines: take the state, call the core, map the
//! result. Secrets arrive here once (in `connect_account`) and are never sent back.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sitedrop_core::history::{Account, DeploymentRecord, Trigger};
use sitedrop_core::overview::SiteSummary;
use sitedrop_core::progress_throttle::throttled;
use sitedrop_core::scan::{self, SecretPolicy};
use sitedrop_core::secrets::{AwsCredentials, Credentials, Secret};
use sitedrop_core::{DeployOutcome, DeployRequest, Environment, FolderReport, Platform, Progress};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::state::{AppState, LocalStatus};
use crate::watching::{self, WatchSnapshot, WatchStatus};

/// How often counters (files, bytes) may reach the page: ten times a second is smooth.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Everything the main screen lists.
#[derive(Serialize)]
pub struct Overview {
    sites: Vec<SiteSummary>,
    accounts: Vec<Account>,
    local: LocalStatus,
    /// What each watched site is doing now.
    watches: WatchSnapshot,
    settings: Settings,
}

#[tauri::command]
pub fn overview(state: State<'_, AppState>) -> AppResult<Overview> {
    let engine = state.engine()?;
    Ok(Overview {
        sites: engine.site_summaries()?,
        accounts: engine.history().accounts()?,
        local: state.local(),
        watches: state.watches.snapshot(),
        settings: state.settings(),
    })
}

/// A folder the person dropped or chose: checked to be a folder, and named as the history
/// names it.
#[derive(Serialize)]
pub struct FolderInfo {
    path: PathBuf,
    name: String,
}

/// The one way a folder enters the app, whether dropped on the window or chosen in the picker.
#[tauri::command]
pub fn open_folder(path: PathBuf) -> AppResult<FolderInfo> {
    scan::check_folder(&path)?;
    let path = path.canonicalize().map_err(|e| {
        AppError::new(
            "unreadable",
            format!("Sitedrop cannot open {}: {e}.", path.display()),
        )
    })?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(FolderInfo { path, name })
}

/// Shows the system's folder picker; `None` when the person closed it.
#[tauri::command]
pub async fn choose_folder(app: AppHandle) -> AppResult<Option<PathBuf>> {
    let picked = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Choose the folder to publish")
            .blocking_pick_folder()
    })
    .await
    .map_err(|e| AppError::new("invalid", format!("The folder picker failed: {e}")))?;
    Ok(picked.and_then(|p| p.into_path().ok()))
}

/// What a deploy of `folder` to `platform` would send, before anything is sent.
#[tauri::command]
pub async fn inspect_folder(
    state: State<'_, AppState>,
    folder: PathBuf,
    platform: Platform,
) -> AppResult<FolderReport> {
    Ok(state
        .engine()?
        .inspect(&folder, platform, SecretPolicy::HoldBack)
        .await?)
}

/// Credentials as the page sends them, once. Turned into [`Secret`]s at once.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CredentialsInput {
    Token {
        token: String,
    },
    Aws {
        access_key_id: String,
        secret_access_key: String,
        region: String,
    },
}

impl CredentialsInput {
    fn into_credentials(self) -> Credentials {
        match self {
            CredentialsInput::Token { token } => {
                Credentials::Token(Secret::new(token.trim().to_string()))
            }
            CredentialsInput::Aws {
                access_key_id,
                secret_access_key,
                region,
            } => Credentials::Aws(AwsCredentials {
                access_key_id: access_key_id.trim().to_string(),
                secret_access_key: Secret::new(secret_access_key.trim().to_string()),
                session_token: None,
                region: region.trim().to_string(),
            }),
        }
    }
}

/// Checks the credentials with the platform and keeps them in the keychain. Returns the
/// account (its name, never the secret).
#[tauri::command]
pub async fn connect_account(
    state: State<'_, AppState>,
    platform: Platform,
    credentials: CredentialsInput,
    account_ref: Option<String>,
) -> AppResult<Account> {
    let credentials = credentials.into_credentials();
    let account_ref = match &credentials {
        Credentials::Aws(aws) => Some(aws.region.clone()),
        Credentials::Token(_) => account_ref.filter(|r| !r.trim().is_empty()),
    };
    Ok(state
        .engine()?
        .connect_account(platform, credentials, account_ref)
        .await?)
}

#[tauri::command]
pub async fn disconnect_account(state: State<'_, AppState>, account_id: i64) -> AppResult<()> {
    Ok(state.engine()?.disconnect_account(account_id).await?)
}

/// What the page asks to deploy.
#[derive(Deserialize)]
pub struct DeployInput {
    folder: PathBuf,
    platform: Platform,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    preview: bool,
    /// Held-back files the person chose to publish anyway.
    #[serde(default)]
    allow: Vec<String>,
    /// Publish again even though nothing changed ("Publish anyway").
    #[serde(default)]
    force: bool,
}

impl From<DeployInput> for DeployRequest {
    fn from(input: DeployInput) -> DeployRequest {
        DeployRequest {
            project: input.project.filter(|p| !p.trim().is_empty()),
            environment: if input.preview {
                Environment::Preview
            } else {
                Environment::Production
            },
            secrets: if input.allow.is_empty() {
                SecretPolicy::HoldBack
            } else {
                SecretPolicy::Allow(input.allow)
            },
            trigger: Trigger::Manual,
            force: input.force,
            ..DeployRequest::new(input.folder, input.platform)
        }
    }
}

/// Deploys, streaming progress over `on_progress`; `cancel_deploy(ticket)` stops it.
#[tauri::command]
pub async fn deploy(
    app: AppHandle,
    state: State<'_, AppState>,
    ticket: String,
    request: DeployInput,
    on_progress: Channel<Progress>,
) -> AppResult<DeployOutcome> {
    let engine = state.engine()?.clone();
    let running = state.start(&ticket);
    let sink = throttled(
        std::sync::Arc::new(move |p| {
            let _ = on_progress.send(p);
        }),
        PROGRESS_EVERY,
    );
    let result = engine
        .deploy(request.into(), sink, running.token.clone())
        .await;
    crate::notify::deploy_finished(&app, &result);
    Ok(result?)
}

/// Makes an earlier deploy the live one again.
#[tauri::command]
pub async fn rollback(
    app: AppHandle,
    state: State<'_, AppState>,
    ticket: String,
    deployment_id: i64,
    on_progress: Channel<Progress>,
) -> AppResult<DeployOutcome> {
    let engine = state.engine()?.clone();
    let running = state.start(&ticket);
    let sink = std::sync::Arc::new(move |p| {
        let _ = on_progress.send(p);
    });
    let result = engine
        .rollback(deployment_id, sink, running.token.clone())
        .await;
    crate::notify::deploy_finished(&app, &result);
    Ok(result?)
}

#[tauri::command]
pub fn cancel_deploy(state: State<'_, AppState>, ticket: String) {
    state.cancel(&ticket)
}

/// A site's deploys, newest first.
#[tauri::command]
pub fn site_history(
    state: State<'_, AppState>,
    site_id: i64,
    limit: Option<usize>,
) -> AppResult<Vec<DeploymentRecord>> {
    Ok(state
        .engine()?
        .history()
        .deployments(Some(site_id), limit.unwrap_or(50))?)
}

/// Forgets a site and its history on this computer (and stops watching it); nothing on the
/// platform changes.
#[tauri::command]
pub async fn forget_site(
    app: AppHandle,
    state: State<'_, AppState>,
    site_id: i64,
) -> AppResult<()> {
    watching::stop_site(&app, site_id).await;
    Ok(state.engine()?.remove_site(site_id, false).await?)
}

/// Turns watching on or off for a site, and remembers it: a watched site is watched again
/// when the app starts, and the app stays in the tray while any site is watched. Turning it on
/// again resumes a paused watch. Returns the watch's status (`None` when off).
#[tauri::command]
pub async fn set_site_watch(
    app: AppHandle,
    state: State<'_, AppState>,
    site_id: i64,
    watch: bool,
) -> AppResult<Option<WatchStatus>> {
    state.engine()?.history().set_site_watch(site_id, watch)?;
    if watch {
        watching::start_site(&app, site_id).await
    } else {
        watching::stop_site(&app, site_id).await;
        Ok(None)
    }
}

/// Saves the app's settings; returns them as saved.
#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> AppResult<Settings> {
    state.save_settings(settings)
}

/// A QR code for a live URL, as an image the page can show without a network call.
#[tauri::command]
pub fn qr_code(text: String) -> AppResult<String> {
    crate::qr::svg_data_url(&text)
}

/// The page has drawn its first screen. With `SITEDROP_TIMING=1` the time since start is
/// printed, which `scripts/measure-startup.sh` reads.
#[tauri::command]
pub fn page_ready() {
    if std::env::var_os("SITEDROP_TIMING").is_some() {
        let ms = crate::STARTED.get().map_or(0, |t| t.elapsed().as_millis());
        eprintln!("sitedrop: first paint after {ms} ms");
    }
}
