//! Sitedrop's desktop shell: a thin Tauri layer over sitedrop-core.
//!
//! - [`commands`]: what the page may call, each a few lines over the engine;
//! - [`state`]: the engine, the running deploys' cancel handles, the settings;
//! - [`watching`]: the core's watch registry fanned out to the page, notifications and tray;
//! - [`tray`]: close-to-tray while a site is watched or a deploy runs;
//! - [`health`]: periodic health checks of published sites, and their commands;
//! - [`notify`], [`qr`]: notifications and the live URL's QR code;
//! - [`settings`]: the app's own preferences.

pub mod browser;
pub mod commands;
pub mod error;
pub mod health;
pub mod notify;
pub mod qr;
pub mod settings;
pub mod state;
pub mod tray;
pub mod watching;

use sitedrop_core::{Engine, EngineConfig};
use tauri::Manager;

use crate::error::AppError;
use crate::state::AppState;

/// Opens the engine the way the CLI does, so both share one history, keychain and local sites
/// (`SITEDROP_DATA_DIR`, else the OS data folder).
fn open_engine() -> Result<Engine, AppError> {
    Engine::open(EngineConfig::from_process()).map_err(AppError::from)
}

/// Starts serving "this computer" sites, and records how that went for the page; then
/// resumes the watched sites (an automatic publish to this computer checks the live site, so
/// the server comes first).
fn start_local_server_then_watch(app: &tauri::AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let Ok(engine) = state.engine() else { return };
        match engine.ensure_local_server().await {
            Ok(serving) => state.set_local(serving, None),
            Err(e) => state.set_local(false, Some(e.into())),
        }
        watching::resume_all(&app).await;
    });
}

/// When the process started, for `SITEDROP_TIMING=1` (cold start to first paint).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    let builder = tauri::Builder::default();
    // Registered first, as the plugin asks: a second launch focuses the open window.
    #[cfg(feature = "single-instance")]
    let builder = builder.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
        tray::show_main(app)
    }));
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .manage(AppState::new(open_engine()))
        .setup(|app| {
            start_local_server_then_watch(app.handle());
            health::start(app.handle());
            Ok(())
        })
        .on_window_event(tray::on_window_event)
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::open_folder,
            commands::choose_folder,
            commands::inspect_folder,
            commands::connect_account,
            commands::disconnect_account,
            commands::deploy,
            commands::rollback,
            commands::cancel_deploy,
            commands::site_history,
            commands::forget_site,
            commands::set_site_watch,
            commands::save_settings,
            commands::qr_code,
            browser::open_in_browser,
            commands::page_ready,
            health::check_site_now,
            health::site_health,
            health::set_site_checks,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Sitedrop could not start: {e}");
            std::process::exit(1);
        });
}
