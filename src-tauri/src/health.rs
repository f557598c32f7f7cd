//! Health checks while the app runs (issue 18): every published site is checked about every
//! ten minutes (jittered, so several Sitedrops or many sites do not knock at once), a
//! notification is shown when the core says a change is worth telling (once per real change:
//! `sitedrop_core::health::rules::Alerts`), and the page is told so it can redraw its dots.
//! Plus the commands the page calls: check now, the chart's summary, the per-site switch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sitedrop_core::health::{CheckOutcome, HealthCheck, HealthSummary, Notice};
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_notification::NotificationExt;

use crate::error::AppResult;
use crate::state::AppState;

/// How often sites are checked, before jitter.
pub const EVERY: Duration = Duration::from_secs(10 * 60);

/// The first round waits a little, so the app's start-up (local server, watches) comes first.
const FIRST_AFTER: Duration = Duration::from_secs(20);

/// The event the page hears after each check, with the [`CheckOutcome`].
pub const EVENT: &str = "health-checked";

/// The wait before the next round: `every` ± 10 %, drawn from `random` (any u64), so the
/// schedule is testable with a fixed value.
pub fn next_delay(every: Duration, random: u64) -> Duration {
    let spread = every.as_millis() as u64 / 5; // the whole ±10 % window
    if spread == 0 {
        return every;
    }
    let offset = random % (spread + 1);
    every - Duration::from_millis(spread / 2) + Duration::from_millis(offset)
}

/// A fresh u64 for the jitter; its quality does not matter, only that runs differ.
fn random() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // SplitMix64's finaliser spreads close clock values far apart.
    let mut z = nanos.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Starts the periodic checks for as long as the app runs.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_AFTER).await;
        loop {
            check_all(&app).await;
            tokio::time::sleep(next_delay(EVERY, random())).await;
        }
    });
}

async fn check_all(app: &AppHandle) {
    let state = app.state::<AppState>();
    let Ok(engine) = state.engine() else { return };
    match engine.check_all().await {
        Ok(outcomes) => {
            for outcome in &outcomes {
                publish(app, outcome);
            }
        }
        Err(e) => eprintln!("sitedrop: health checks could not run: {e}"),
    }
}

/// Tells the page about a check, and the person when the check confirmed a change.
fn publish(app: &AppHandle, outcome: &CheckOutcome) {
    let _ = app.emit(EVENT, outcome);
    if let Some(notice) = &outcome.notice {
        notify(app, notice);
    }
}

fn notify(app: &AppHandle, notice: &Notice) {
    let shown = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show();
    if let Err(e) = shown {
        eprintln!("sitedrop: could not show a notification: {e}");
    }
}

/// "Check now" on the site page.
#[tauri::command]
pub async fn check_site_now(app: AppHandle, site_id: i64) -> AppResult<CheckOutcome> {
    let engine = app.state::<AppState>().engine()?.clone();
    let outcome = engine.check_site(site_id).await?;
    publish(&app, &outcome);
    Ok(outcome)
}

/// A site's health for the page: the latest check (the sidebar's dot), the chart's summary over
/// `days` (7 or 30), and whether its checks are on.
#[derive(Serialize)]
pub struct SiteHealth {
    last: Option<HealthCheck>,
    summary: HealthSummary,
    checks_on: bool,
}

#[tauri::command]
pub fn site_health(state: State<'_, AppState>, site_id: i64, days: u32) -> AppResult<SiteHealth> {
    let engine = state.engine()?;
    Ok(SiteHealth {
        last: engine.last_check(site_id)?,
        summary: engine.health_summary(site_id, days)?,
        checks_on: engine.site_checks_on(site_id)?,
    })
}

/// The per-site switch: "Check this site".
#[tauri::command]
pub fn set_site_checks(state: State<'_, AppState>, site_id: i64, on: bool) -> AppResult<()> {
    Ok(state.engine()?.set_site_checks(site_id, on)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_round_is_within_ten_percent_of_ten_minutes() {
        let every = Duration::from_secs(600);
        assert_eq!(next_delay(every, 0), Duration::from_secs(540));
        assert_eq!(next_delay(every, 120_000), Duration::from_secs(660));
        assert_eq!(next_delay(every, 60_000), every);
        assert_eq!(
            next_delay(every, 120_001),
            Duration::from_secs(540),
            "wraps"
        );
        assert_eq!(next_delay(Duration::ZERO, 7), Duration::ZERO);
    }
}
