//! Watched sites in the app: the core's watch registry ([`Watches`], kept in [`AppState`])
//! fanned out to the page (events), notifications and the tray.
//!
//! What a watch does and how its status reads are sitedrop-core's
//! (`watch` and `watch_registry`); this module only decides where the news goes.

use std::sync::Arc;

use sitedrop_core::error::ErrorKind;
use sitedrop_core::watch::WatchOptions;
use sitedrop_core::watch_registry::{Reporter, WatchStatus};
use tauri::{AppHandle, Emitter, Manager};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The page's event for a watch's new status (and the core event that caused it).
pub const EVENT_UPDATE: &str = "watch://update";
/// The page's event for the progress of an automatic publish.
pub const EVENT_PROGRESS: &str = "watch://progress";

/// Sends a watch's news to the page, notifies when it should, and keeps the tray current.
fn app_reporter(app: &AppHandle) -> Reporter {
    let (for_updates, for_progress) = (app.clone(), app.clone());
    Reporter {
        update: Arc::new(move |site, update| {
            let _ = for_updates.emit(EVENT_UPDATE, &update);
            crate::notify::watch_event(&for_updates, site, &update);
            crate::tray::refresh(&for_updates);
        }),
        progress: Arc::new(move |progress| {
            let _ = for_progress.emit(EVENT_PROGRESS, &progress);
        }),
    }
}

/// Starts watching a site (or resumes a paused watch). A watch already running, or waiting for
/// its folder to come back, is left as is.
/// Edits made while the site was not watched are published at once (`catch_up`).
pub async fn start_site(app: &AppHandle, site_id: i64) -> AppResult<Option<WatchStatus>> {
    let state = app.state::<AppState>();
    let watches = state.watches.clone();
    if let Some(status) = watches.active(site_id) {
        return Ok(Some(status));
    }
    let engine = state.engine()?.clone();
    let site = engine.history().site(site_id)?;
    let site = site.ok_or_else(|| {
        AppError::new(
            ErrorKind::NotFound,
            "This site is no longer remembered, so it cannot be watched.",
        )
    })?;
    let options = WatchOptions {
        catch_up: true,
        ..WatchOptions::default()
    };
    let status = watches
        .start(&engine, &site, options, app_reporter(app))
        .await;
    crate::tray::refresh(app);
    Ok(status)
}

/// Stops watching a site.
pub async fn stop_site(app: &AppHandle, site_id: i64) {
    let watches = app.state::<AppState>().watches.clone();
    watches.stop(site_id).await;
    crate::tray::refresh(app);
}

/// Resumes every site marked as watched (at start-up).
pub async fn resume_all(app: &AppHandle) {
    let state = app.state::<AppState>();
    let Ok(engine) = state.engine() else { return };
    let sites = engine.history().sites();
    let sites = match sites {
        Ok(sites) => sites,
        Err(e) => {
            eprintln!("sitedrop: watched sites could not be read: {e}");
            return;
        }
    };
    for site in sites.into_iter().filter(|s| s.watch) {
        if let Err(e) = start_site(app, site.id).await {
            eprintln!(
                "sitedrop: watching {} could not resume: {}",
                site.folder.display(),
                e.message
            );
        }
    }
}
