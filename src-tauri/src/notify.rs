//! Desktop notifications: the end of a deploy, for when the person is looking elsewhere, and
//! what watched sites do by themselves (failures and pauses always, successes if asked).

use sitedrop_core::error::ErrorKind;
use sitedrop_core::history::Site;
use sitedrop_core::watch::WatchEvent;
use sitedrop_core::watch_registry::WatchUpdate;
use sitedrop_core::{DeployOutcome, Error};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

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
    show(app, title, body);
}

/// Announces what a watched site did by itself: an automatic publish that failed and a pause
/// always (nobody asked for them, so nobody is looking), a success only when the person chose
/// to hear about those too.
pub fn watch_event(app: &AppHandle, site: &Site, update: &WatchUpdate) {
    let tell_success = app.state::<AppState>().settings().notify_watch_success;
    if let Some((title, body)) = watch_notice(site, update, tell_success) {
        show(app, title, body);
    }
}

/// The notification (title, body) a watch update deserves, if any.
pub fn watch_notice(
    site: &Site,
    update: &WatchUpdate,
    tell_success: bool,
) -> Option<(String, String)> {
    let name = site.folder.file_name().map_or_else(
        || site.folder.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let platform = site.platform.name();
    match &update.event {
        Some(WatchEvent::Failed { kind, .. }) if kind == ErrorKind::Cancelled.as_str() => None,
        Some(WatchEvent::Failed { message, .. }) => Some((
            format!("Publishing {name} to {platform} failed"),
            format!("The automatic publish did not finish: {message}"),
        )),
        Some(WatchEvent::Deployed { outcome }) if tell_success => Some((
            format!("{name} is up to date"),
            format!(
                "Your changes are live at {}",
                outcome.production_url.as_ref().unwrap_or(&outcome.url)
            ),
        )),
        // A pause (or a watch that could not start) says why and what to do.
        Some(WatchEvent::Paused { .. }) | None => Some((
            format!("Watching {name} is paused"),
            update.status.reason.clone().unwrap_or_default(),
        )),
        // A watch that ended by itself, without a pause first, is paused now.
        Some(WatchEvent::Stopped) if update.status.reason.is_some() => Some((
            format!("Watching {name} stopped"),
            update.status.reason.clone().unwrap_or_default(),
        )),
        _ => None,
    }
}

fn show(app: &AppHandle, title: String, body: String) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        // No notification daemon (a bare session): the page still shows it.
        eprintln!("sitedrop: could not show a notification: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitedrop_core::history::DeployStatus;
    use sitedrop_core::watch_registry::{WatchState, WatchStatus};
    use sitedrop_core::Platform;

    fn site() -> Site {
        Site {
            id: 3,
            folder: "/home/ann/blog".into(),
            platform: Platform::Netlify,
            project: Some("ann-blog".into()),
            remote_id: None,
            account_id: None,
            url: Some("https://ann-blog.netlify.app".into()),
            watch: true,
            created_at: 0,
        }
    }

    fn update(state: WatchState, reason: Option<&str>, event: Option<WatchEvent>) -> WatchUpdate {
        WatchUpdate {
            status: WatchStatus {
                site_id: 3,
                state,
                reason: reason.map(str::to_string),
                pending: false,
                resumes_by_itself: false,
                seq: 1,
            },
            event,
        }
    }

    fn deployed() -> WatchEvent {
        WatchEvent::Deployed {
            outcome: Box::new(DeployOutcome {
                id: 9,
                site_id: 3,
                platform: Platform::Netlify,
                project: "ann-blog".into(),
                status: DeployStatus::Live,
                url: "https://abc--ann-blog.netlify.app".into(),
                production_url: Some("https://ann-blog.netlify.app".into()),
                claim_url: None,
                note: None,
                files: 3,
                uploaded: 1,
                bytes_uploaded: 10,
                duration_ms: 900,
                held_back: vec![],
                warnings: vec![],
                unchanged: false,
            }),
        }
    }

    #[test]
    fn a_failed_automatic_publish_always_notifies() {
        let failed = WatchEvent::Failed {
            kind: "network".into(),
            message: "Sitedrop could not reach Netlify.".into(),
        };
        let (title, body) = watch_notice(
            &site(),
            &update(WatchState::Watching, None, Some(failed)),
            false,
        )
        .unwrap();
        assert_eq!(title, "Publishing blog to Netlify failed");
        assert!(
            body.ends_with("Sitedrop could not reach Netlify."),
            "{body}"
        );
    }

    #[test]
    fn a_pause_always_notifies_with_its_reason() {
        let reason = "Watching /home/ann/blog is paused: the folder was moved or deleted.";
        let paused = WatchEvent::Paused {
            reason: reason.into(),
        };
        let notice = watch_notice(
            &site(),
            &update(WatchState::Paused, Some(reason), Some(paused)),
            false,
        );
        assert_eq!(
            notice,
            Some(("Watching blog is paused".to_string(), reason.to_string()))
        );
        // A watch that could not start at all is a pause too.
        let notice = watch_notice(
            &site(),
            &update(WatchState::Paused, Some("gone"), None),
            false,
        );
        assert_eq!(notice.unwrap().1, "gone");
    }

    #[test]
    fn a_success_notifies_only_when_asked() {
        let done = update(WatchState::Watching, None, Some(deployed()));
        assert_eq!(watch_notice(&site(), &done, false), None);
        let (title, body) = watch_notice(&site(), &done, true).unwrap();
        assert_eq!(title, "blog is up to date");
        assert_eq!(
            body,
            "Your changes are live at https://ann-blog.netlify.app"
        );
    }

    #[test]
    fn routine_watch_events_stay_quiet() {
        for event in [
            WatchEvent::Watching {
                folder: "/home/ann/blog".into(),
            },
            WatchEvent::Changed { paths: 1 },
            WatchEvent::Deploying,
            WatchEvent::Unchanged,
        ] {
            let quiet = update(WatchState::Watching, None, Some(event.clone()));
            assert_eq!(watch_notice(&site(), &quiet, true), None, "{event:?}");
        }
    }
}
