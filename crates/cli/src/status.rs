//! `sitedrop status`: checks every published site now, one line (or JSON object) each. Exit 0
//! when every site is up, 1 otherwise, so it can run from cron.

use serde::Serialize;
use sitedrop_core::health::{CheckOutcome, HealthState};
use sitedrop_core::{Engine, Error};

use crate::output::json_line;

/// One site's line with `--json`.
#[derive(Serialize)]
struct StatusLine<'a> {
    site: &'a str,
    platform: &'static str,
    url: &'a str,
    state: &'static str,
    /// Why it is down (`dns`, `connection_refused`, `tls`, `timeout`, `http_5xx`, `http_404`, …).
    reason: Option<&'static str>,
    status: Option<u16>,
    ms: Option<u64>,
    /// The TLS certificate's expiry, ms since the epoch, over https.
    cert_expires_at: Option<i64>,
    matches_deploy: Option<bool>,
    detail: &'a str,
}

fn word(state: HealthState) -> &'static str {
    match state {
        HealthState::Up => "Up",
        HealthState::Slow => "Slow",
        HealthState::Down => "Down",
        HealthState::Changed => "Changed",
        HealthState::CertExpiring => "Cert expiring",
    }
}

/// Checks every site; `Ok(true)` when all are up.
pub async fn run(engine: &Engine, json: bool) -> Result<bool, Error> {
    let skipped: Vec<String> = {
        let history = engine.history();
        let mut off = Vec::new();
        for site in history.sites()? {
            if history.checks_off(site.id)? {
                off.push(
                    site.project
                        .clone()
                        .unwrap_or_else(|| site.folder.display().to_string()),
                );
            }
        }
        off
    };
    let outcomes = engine.check_all().await?;
    for o in &outcomes {
        print(o, json);
    }
    if !json {
        if outcomes.is_empty() {
            println!("No published sites to check.");
        }
        if !skipped.is_empty() {
            eprintln!(
                "Not checked (checks are off): {}. Turn them on in the app to include them.",
                skipped.join(", ")
            );
        }
    }
    Ok(outcomes.iter().all(|o| o.check.state == HealthState::Up))
}

fn print(o: &CheckOutcome, json: bool) {
    let c = &o.check;
    if json {
        json_line(&StatusLine {
            site: &o.site,
            platform: o.platform.id(),
            url: &c.url,
            state: c.state.id(),
            reason: c.reason.map(|r| r.id()),
            status: c.http_status,
            ms: c.response_ms,
            cert_expires_at: c.cert_expires_at,
            matches_deploy: c.matches_deploy,
            detail: &c.detail,
        });
    } else {
        println!(
            "{:<13}  {} on {}, {}: {}",
            word(c.state),
            o.site,
            o.platform,
            c.url,
            c.detail
        );
    }
}
