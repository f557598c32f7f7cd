//! The tray: closing the window while a site is watched (or a deploy runs) hides it instead of
//! quitting; the tray says how many sites are watched, brings the window back, or quits
//! (stopping the watches first). On Linux a tray icon has a menu only, and no tooltip: the
//! menu's first line carries the same words.

use std::sync::Mutex;

use sitedrop_core::watch_registry::Summary;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, WebviewWindow, Window, WindowEvent, Wry};

use crate::state::AppState;

const TRAY_ID: &str = "sitedrop";

/// The tray's status line, kept to update it, with the words it shows now.
struct TrayStatus {
    item: MenuItem<Wry>,
    shown: Mutex<String>,
}

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

/// What the tray says about the watched sites.
pub fn summary_text(summary: Summary) -> String {
    let sites = |n: usize| {
        if n == 1 {
            "1 site".to_string()
        } else {
            format!("{n} sites")
        }
    };
    match summary {
        Summary { watched: 0, .. } => "Not watching any site".to_string(),
        Summary { watched, paused: 0 } => format!("Watching {}", sites(watched)),
        Summary { watched, paused } if paused == watched => {
            format!("Watching paused for {}", sites(watched))
        }
        Summary { watched, paused } => {
            format!("Watching {}, {paused} of them paused", sites(watched))
        }
    }
}

/// Brings the tray up to date with the watches: it appears as soon as a site is watched (so
/// the person knows Sitedrop keeps running) and its first line says how many. Callable from
/// any thread: the work is done on the main thread, one update after another, so two threads
/// never build two trays.
pub fn refresh(app: &AppHandle) {
    let handle = app.clone();
    if let Err(e) = app.run_on_main_thread(move || refresh_now(&handle)) {
        eprintln!("sitedrop: the tray could not be updated: {e}");
    }
}

fn refresh_now(app: &AppHandle) {
    let summary = app.state::<AppState>().watches.summary();
    if summary.watched > 0 {
        if let Err(e) = ensure_tray(app) {
            eprintln!("sitedrop: no tray available: {e}");
            return;
        }
    }
    let Some(status) = app.try_state::<TrayStatus>() else {
        return; // No tray yet, and none needed.
    };
    let text = summary_text(summary);
    let mut shown = status.shown.lock().unwrap_or_else(|p| p.into_inner());
    if *shown == text {
        return;
    }
    let _ = status.item.set_text(&text);
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(format!("Sitedrop: {text}")));
    }
    *shown = text;
}

/// Builds the tray once. On the main thread only (window events, [`refresh`]).
fn ensure_tray(app: &AppHandle) -> tauri::Result<()> {
    if app.tray_by_id(TRAY_ID).is_some() {
        return Ok(());
    }
    let text = summary_text(app.state::<AppState>().watches.summary());
    let status = MenuItem::with_id(app, "status", &text, false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Sitedrop", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Sitedrop", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&status, &open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(format!("Sitedrop: {text}"))
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_main(app),
            "quit" => quit_cleanly(app),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(TrayStatus {
        item: status,
        shown: Mutex::new(text),
    });
    Ok(())
}

/// Quits after stopping every watch, so a publish in flight is cancelled and recorded as
/// such rather than cut off.
fn quit_cleanly(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let watches = app.state::<AppState>().watches.clone();
        watches.stop_all().await;
        app.exit(0);
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_says_how_many_sites_are_watched() {
        let text = |watched, paused| summary_text(Summary { watched, paused });
        assert_eq!(text(0, 0), "Not watching any site");
        assert_eq!(text(1, 0), "Watching 1 site");
        assert_eq!(text(2, 0), "Watching 2 sites");
        assert_eq!(text(3, 1), "Watching 3 sites, 1 of them paused");
        assert_eq!(text(1, 1), "Watching paused for 1 site");
    }
}
