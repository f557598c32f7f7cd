//! The desktop notification at the end of a deploy, for when the person is looking elsewhere.

use sitedrop_core::{DeployOutcome, Error};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// Announces a finished deploy unless the window has the person's attention (then the page
/// itself shows the result, and a notification would only be noise).
pub fn deploy_finished(app: &AppHandle, result: &Result<DeployOutcome, Error>) {
    let watching = app
        .get_webview_window("main")
        .is_some_and(|w| w.is_visible().unwrap_or(false) && w.is_focused().unwrap_or(false));
    if watching {
        return;
    }
    let (title, body) = match result {
        Ok(outcome) => (format!("{} is live", outcome.project), outcome.url.clone()),
        Err(Error::Cancelled) => return,
        Err(e) => ("The deploy did not finish".to_string(), e.to_string()),
    };
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        // No notification daemon (a bare session): the page still shows the result.
        eprintln!("sitedrop: could not show a notification: {e}");
    }
}
