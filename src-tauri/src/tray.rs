//! The tray: closing the window while a site is watched (or a deploy runs) hides it instead of
//! quitting, and the tray menu brings it back or quits. On Linux a tray icon has a menu only.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, WebviewWindow, Window, WindowEvent};

use crate::state::AppState;

const TRAY_ID: &str = "sitedrop";

/// Decides what closing the main window does.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let state = app.state::<AppState>();
    let watched = state
        .engine()
        .ok()
        .and_then(|e| e.any_site_watched().ok())
        .unwrap_or(false);
    if !(watched || state.any_running()) {
        return; // Nothing needs the app: let it quit.
    }
    match ensure_tray(app) {
        Ok(()) => {
            api.prevent_close();
            let _ = window.hide();
        }
        Err(e) => eprintln!("sitedrop: no tray available, quitting instead: {e}"),
    }
}

fn ensure_tray(app: &AppHandle) -> tauri::Result<()> {
    if app.tray_by_id(TRAY_ID).is_some() {
        return Ok(());
    }
    let open = MenuItem::with_id(app, "open", "Open Sitedrop", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Sitedrop", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Sitedrop is keeping your sites up to date")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_main(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Brings the main window back to the front (tray menu, or a second launch of the app).
pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        focus(&window);
    }
}

fn focus(window: &WebviewWindow) {
    let _ = window.show();
    let _ = window.unminimize();
    let _ = window.set_focus();
}
