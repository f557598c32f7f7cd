//! Health checks (issue 18): is a published site still up, fast as usual, serving what was
//! published, with a certificate that is not about to expire?
//!
//! A check looks at the site's live address (its production URL from the history, else the
//! last live deploy's), GETs the home page and the few files sampled when that deploy went live
//! ([`sample`]), and is kept in the history with its judgement: [`HealthState`]. Whether a
//! person is told is decided by a small state machine over the checks ([`rules::Alerts`]): once
//! per real change, never a storm.
//!
//! ```text
//! history (address, last deploy's sample) ─probe─▶ Probe ─judge─▶ check row ─Alerts─▶ Notice?
//! ```

pub mod cert;
pub mod probe;
pub mod rules;
pub mod sample;

use std::str::FromStr;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::history::{now_ms, History, Site};
use crate::platform::Platform;
use crate::provider::naming;

pub use probe::Probe;
pub use rules::{Alerts, SlowRule, Transition};
pub use sample::SampleFile;

/// What a check found, in words a person understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Answers, as fast as usual, with what was published.
    Up,
    /// Answers with what was published, but well above its usual time ([`SlowRule`]).
    Slow,
    /// Does not answer, or answers with an error ([`DownReason`]).
    Down,
    /// Serves something other than the last deploy from Sitedrop (an older deploy restored in
    /// a dashboard, someone else's deploy, a parked domain).
    Changed,
    /// Up, but its TLS certificate expires within [`HealthConfig::cert_warning`].
    CertExpiring,
}

impl HealthState {
    pub fn id(self) -> &'static str {
        match self {
            HealthState::Up => "up",
            HealthState::Slow => "slow",
            HealthState::Down => "down",
            HealthState::Changed => "changed",
            HealthState::CertExpiring => "cert_expiring",
        }
    }
}

impl FromStr for HealthState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "up" => HealthState::Up,
            "slow" => HealthState::Slow,
            "down" => HealthState::Down,
            "changed" => HealthState::Changed,
            "cert_expiring" => HealthState::CertExpiring,
            other => return Err(Error::Storage(format!("unknown health state {other}"))),
        })
    }
}

/// Why a site is down. Stable ids (`dns`, `http_5xx`, …) are kept in the history and shown in
/// `sitedrop status --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DownReason {
    /// The address does not resolve.
    Dns,
    /// Nothing listens at the address.
    ConnectionRefused,
    /// No route to the address.
    Unreachable,
    /// The secure connection failed (certificate expired or wrong, handshake refused).
    Tls,
    /// No answer within [`HealthConfig::timeout`].
    Timeout,
    /// The connection broke before the page arrived.
    ConnectionDropped,
    /// The server answered 5xx.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// The home page is not found.
    #[serde(rename = "http_404")]
    Http404,
    /// Any other unsuccessful answer (401, 403, a redirect loop, …).
    HttpError,
}

impl DownReason {
    pub fn id(self) -> &'static str {
        match self {
            DownReason::Dns => "dns",
            DownReason::ConnectionRefused => "connection_refused",
            DownReason::Unreachable => "unreachable",
            DownReason::Tls => "tls",
            DownReason::Timeout => "timeout",
            DownReason::ConnectionDropped => "connection_dropped",
            DownReason::Http5xx => "http_5xx",
            DownReason::Http404 => "http_404",
            DownReason::HttpError => "http_error",
        }
    }

    /// The reason an unsuccessful home-page status gives; `None` for success (2xx).
    pub fn from_status(status: u16) -> Option<DownReason> {
        match status {
            200..=299 => None,
            404 | 410 => Some(DownReason::Http404),
            500..=599 => Some(DownReason::Http5xx),
            _ => Some(DownReason::HttpError),
        }
    }

    /// The reason as a sentence.
    pub fn sentence(self, status: Option<u16>) -> String {
        let code = status.map_or_else(String::new, |s| format!(" (HTTP {s})"));
        match self {
            DownReason::Dns => "Its address does not resolve (DNS).".into(),
            DownReason::ConnectionRefused => {
                "Nothing answers at its address (connection refused).".into()
            }
            DownReason::Unreachable => "Its address cannot be reached from here.".into(),
            DownReason::Tls => {
                "The secure connection failed (TLS: the certificate is expired, wrong or refused)."
                    .into()
            }
            DownReason::Timeout => "It did not answer in time.".into(),
            DownReason::ConnectionDropped => {
                "The connection dropped before the page arrived.".into()
            }
            DownReason::Http5xx => format!("The server answered with an error{code}."),
            DownReason::Http404 => format!("The home page is not found{code}."),
            DownReason::HttpError => format!("The home page does not answer normally{code}."),
        }
    }
}

impl FromStr for DownReason {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "dns" => DownReason::Dns,
            "connection_refused" => DownReason::ConnectionRefused,
            "unreachable" => DownReason::Unreachable,
            "tls" => DownReason::Tls,
            "timeout" => DownReason::Timeout,
            "connection_dropped" => DownReason::ConnectionDropped,
            "http_5xx" => DownReason::Http5xx,
            "http_404" => DownReason::Http404,
            "http_error" => DownReason::HttpError,
            other => return Err(Error::Storage(format!("unknown down reason {other}"))),
        })
    }
}

/// How checks look and judge. `Default` is what the app and the CLI use.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// The longest a check waits for each answer.
    pub timeout: Duration,
    pub slow: SlowRule,
    /// A certificate expiring sooner than this makes the site [`HealthState::CertExpiring`].
    pub cert_warning: Duration,
    /// Checks in a row that confirm a new state ([`Alerts`]).
    pub confirm_after: u32,
    /// Sites checked at once by [`Engine::check_all`].
    pub parallel: usize,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            timeout: Duration::from_secs(15),
            slow: SlowRule::default(),
            cert_warning: Duration::from_secs(14 * 24 * 3600),
            confirm_after: rules::CONFIRM_AFTER,
            parallel: 4,
        }
    }
}

/// One check, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    pub id: i64,
    pub site_id: i64,
    /// The deploy it was compared with (the last live production deploy).
    pub deployment_id: Option<i64>,
    /// When, in ms since the epoch.
    pub checked_at: i64,
    pub url: String,
    pub state: HealthState,
    /// Why down, when down.
    pub reason: Option<DownReason>,
    pub http_status: Option<u16>,
    pub response_ms: Option<u64>,
    /// The TLS certificate's notAfter (ms since the epoch), over https.
    pub cert_expires_at: Option<i64>,
    /// Whether the site served the deploy's sampled files; `None` when not compared.
    pub matches_deploy: Option<bool>,
    /// What was found, in a sentence.
    pub detail: String,
}

/// The judgement of one [`Probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: HealthState,
    pub reason: Option<DownReason>,
    pub detail: String,
}

/// Judges a look at a site: down beats changed, changed beats an expiring certificate, which
/// beats slowness. `recent_good_ms` are the response times of the site's last good checks.
pub fn judge(
    probe: &Probe,
    recent_good_ms: &[u64],
    now_ms: i64,
    config: &HealthConfig,
    deployment_id: Option<i64>,
) -> Verdict {
    let deploy =
        deployment_id.map_or_else(|| "the last deploy".to_string(), |d| format!("deploy #{d}"));
    if let Some((reason, detail)) = &probe.failure {
        return Verdict {
            state: HealthState::Down,
            reason: Some(*reason),
            detail: detail.clone(),
        };
    }
    if probe.matches == Some(false) {
        let what = probe.mismatch.as_deref().unwrap_or("its files differ");
        return Verdict {
            state: HealthState::Changed,
            reason: None,
            detail: format!("It serves something other than {deploy}: {what}."),
        };
    }
    if let Some(expires) = probe.cert_expires_at {
        let warning = config.cert_warning.as_millis() as i64;
        if expires - now_ms < warning {
            let days = cert::days_left(expires, now_ms).max(0);
            return Verdict {
                state: HealthState::CertExpiring,
                reason: None,
                detail: format!(
                    "Its TLS certificate expires in {days} day{}.",
                    if days == 1 { "" } else { "s" }
                ),
            };
        }
    }
    let ms = probe.response_ms.unwrap_or(0);
    if config.slow.is_slow(ms, recent_good_ms) {
        let usual = rules::median(recent_good_ms).unwrap_or(0.0);
        return Verdict {
            state: HealthState::Slow,
            reason: None,
            detail: format!(
                "It answered in {ms} ms, well above its usual {} ms.",
                usual.round() as u64
            ),
        };
    }
    let serves = match probe.matches {
        Some(true) => format!(", serving {deploy}"),
        _ => String::new(),
    };
    Verdict {
        state: HealthState::Up,
        reason: None,
        detail: format!("It answered in {ms} ms{serves}."),
    }
}

/// Something to tell the person (a desktop notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub site_id: i64,
    pub from: Option<HealthState>,
    pub to: HealthState,
    pub title: String,
    pub body: String,
}

fn notice(label: &str, check: &HealthCheck, t: Transition) -> Notice {
    let title = match (t.from, t.to) {
        (_, HealthState::Down) => format!("{label} is down"),
        (Some(HealthState::Down), _) => format!("{label} is back up"),
        (_, HealthState::Changed) => format!("{label} has changed"),
        (Some(HealthState::Changed), _) => format!("{label} serves your last deploy again"),
        (_, HealthState::CertExpiring) => format!("{label}'s certificate expires soon"),
        (_, to) => format!("{label} is {}", to.id()),
    };
    Notice {
        site_id: check.site_id,
        from: t.from,
        to: t.to,
        title,
        body: format!("{} {}", check.url, check.detail),
    }
}

/// The result of checking one site.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub site_id: i64,
    /// What the person calls the site: the project name, else the folder's.
    pub site: String,
    pub platform: Platform,
    pub check: HealthCheck,
    /// The state announced so far (after this check), which lags the check's own state by
    /// design: see [`Alerts`].
    pub announced: Option<HealthState>,
    /// Set when this check confirmed a change worth telling the person about.
    pub notice: Option<Notice>,
}

/// What a site is checked against.
struct Target {
    url: String,
    deployment_id: Option<i64>,
    sample: Vec<SampleFile>,
}

/// The address a check looks at, and the deploy it compares with; `None` for a site never
/// published. (Custom domains, once Sitedrop knows them, come first here.)
fn target_of(history: &History, site: &Site) -> Result<Option<Target>> {
    let production = history.current_production(site.id)?;
    let url = site
        .url
        .clone()
        .or_else(|| production.as_ref().and_then(|d| d.url.clone()));
    let Some(url) = url else { return Ok(None) };
    let sample = match &production {
        Some(d) => history.deploy_sample(d.id)?,
        None => Vec::new(),
    };
    Ok(Some(Target {
        url,
        deployment_id: production.map(|d| d.id),
        sample,
    }))
}

fn label(site: &Site) -> String {
    site.project
        .clone()
        .unwrap_or_else(|| naming::folder_label(&site.folder))
}

/// Response times and uptime over a period, for a chart.
#[derive(Debug, Clone, Serialize)]
pub struct HealthSummary {
    pub site_id: i64,
    pub days: u32,
    /// The period's start, ms since the epoch.
    pub since: i64,
    pub checks: u32,
    /// Checks where the site was not down.
    pub up_checks: u32,
    /// `up_checks / checks` × 100; `None` without checks.
    pub uptime_percent: Option<f64>,
    pub median_ms: Option<f64>,
    /// The period cut into equal slices (hourly for 7 days, 4-hourly for 30), oldest first;
    /// empty slices are kept so a chart's time axis is even.
    pub buckets: Vec<Bucket>,
}

/// One slice of a [`HealthSummary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub start: i64,
    pub checks: u32,
    pub down: u32,
    pub median_ms: Option<f64>,
}

/// Summarises `checks` (any order) over `days` days ending at `now`.
pub fn summarise(site_id: i64, checks: &[HealthCheck], days: u32, now: i64) -> HealthSummary {
    const HOUR: i64 = 3600 * 1000;
    let span = i64::from(days.max(1)) * 24 * HOUR;
    let since = now - span;
    // Whole hours, at most 180 slices: 1 h for a week, 4 h for 30 days.
    let width = ((span + 180 * HOUR - 1) / (180 * HOUR)).max(1) * HOUR;
    let count = ((span + width - 1) / width) as usize;
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); count];
    let mut buckets: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start: since + i as i64 * width,
            checks: 0,
            down: 0,
            median_ms: None,
        })
        .collect();
    let mut all_ms = Vec::new();
    let (mut total, mut up) = (0u32, 0u32);
    for c in checks
        .iter()
        .filter(|c| c.checked_at >= since && c.checked_at <= now)
    {
        let i = (((c.checked_at - since) / width) as usize).min(count - 1);
        total += 1;
        buckets[i].checks += 1;
        if c.state == HealthState::Down {
            buckets[i].down += 1;
        } else {
            up += 1;
            if let Some(ms) = c.response_ms {
                times[i].push(ms);
                all_ms.push(ms);
            }
        }
    }
    for (b, t) in buckets.iter_mut().zip(&times) {
        b.median_ms = rules::median(t);
    }
    HealthSummary {
        site_id,
        days,
        since,
        checks: total,
        up_checks: up,
        uptime_percent: (total > 0).then(|| f64::from(up) * 100.0 / f64::from(total)),
        median_ms: rules::median(&all_ms),
        buckets,
    }
}

impl Engine {
    /// Checks one site now (whether or not its checks are switched off: the person asked).
    pub async fn check_site(&self, site_id: i64) -> Result<CheckOutcome> {
        self.check_site_with(site_id, &HealthConfig::default())
            .await
    }

    pub async fn check_site_with(
        &self,
        site_id: i64,
        config: &HealthConfig,
    ) -> Result<CheckOutcome> {
        let (site, target) = {
            let history = self.history();
            let site = history
                .site(site_id)?
                .ok_or_else(|| Error::Invalid(format!("There is no site #{site_id}.")))?;
            let target = target_of(&history, &site)?;
            (site, target)
        };
        let target = target.ok_or_else(|| {
            Error::Invalid(format!(
                "{} has not been published yet, so there is nothing to check. Deploy it first.",
                label(&site)
            ))
        })?;
        let client = probe::client(config.timeout)?;
        self.check_target(&site, &target, &client, config).await
    }

    /// Checks every published site whose checks are on, a few at a time, in the order of
    /// [`History::sites`].
    pub async fn check_all(&self) -> Result<Vec<CheckOutcome>> {
        self.check_all_with(&HealthConfig::default()).await
    }

    pub async fn check_all_with(&self, config: &HealthConfig) -> Result<Vec<CheckOutcome>> {
        let targets: Vec<(Site, Target)> = {
            let history = self.history();
            let mut out = Vec::new();
            for site in history.sites()? {
                if history.checks_off(site.id)? {
                    continue;
                }
                if let Some(target) = target_of(&history, &site)? {
                    out.push((site, target));
                }
            }
            out
        };
        let client = probe::client(config.timeout)?;
        // Owned values in each future (not borrows of `targets`): a stream of futures that
        // borrow is not `Send` to the compiler, and the app runs this on a spawned task.
        let mut results: Vec<(usize, CheckOutcome)> = stream::iter(targets.into_iter().enumerate())
            .map(|(i, (site, target))| {
                let (engine, client, config) = (self.clone(), client.clone(), config.clone());
                async move {
                    engine
                        .check_target(&site, &target, &client, &config)
                        .await
                        .map(|o| (i, o))
                }
            })
            .buffer_unordered(config.parallel.max(1))
            .collect::<Vec<Result<_>>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, o)| o).collect())
    }

    async fn check_target(
        &self,
        site: &Site,
        target: &Target,
        client: &reqwest::Client,
        config: &HealthConfig,
    ) -> Result<CheckOutcome> {
        let baseline = self.history().recent_good_ms(site.id, config.slow.window)?;
        let seen = probe::probe(self.http(), client, &target.url, &target.sample).await;
        let now = now_ms();
        let verdict = judge(&seen, &baseline, now, config, target.deployment_id);
        let history = self.history();
        let check = history.record_check(&HealthCheck {
            id: 0,
            site_id: site.id,
            deployment_id: target.deployment_id,
            checked_at: now,
            url: target.url.clone(),
            state: verdict.state,
            reason: verdict.reason,
            http_status: seen.status,
            response_ms: seen.response_ms,
            cert_expires_at: seen.cert_expires_at,
            matches_deploy: seen.matches,
            detail: verdict.detail,
        })?;
        let mut alerts = history.alerts(site.id)?;
        let transition = alerts.observe(check.state, config.confirm_after);
        history.set_alerts(site.id, &alerts)?;
        let name = label(site);
        let notice = transition
            .filter(Transition::worth_notifying)
            .map(|t| notice(&name, &check, t));
        Ok(CheckOutcome {
            site_id: site.id,
            site: name,
            platform: site.platform,
            check,
            announced: alerts.announced,
            notice,
        })
    }

    /// Response times and uptime of a site over the last `days` days (7 or 30 for the chart).
    pub fn health_summary(&self, site_id: i64, days: u32) -> Result<HealthSummary> {
        let now = now_ms();
        let since = now - i64::from(days.max(1)) * 24 * 3600 * 1000;
        let checks = self.history().health_checks(site_id, since)?;
        Ok(summarise(site_id, &checks, days, now))
    }

    /// The latest check of a site, if any (the sidebar's dot).
    pub fn last_check(&self, site_id: i64) -> Result<Option<HealthCheck>> {
        self.history().latest_check(site_id)
    }

    /// Turns a site's periodic checks on or off (on by default).
    pub fn set_site_checks(&self, site_id: i64, on: bool) -> Result<()> {
        self.history().set_checks_off(site_id, !on)
    }

    /// Whether a site's periodic checks are on.
    pub fn site_checks_on(&self, site_id: i64) -> Result<bool> {
        Ok(!self.history().checks_off(site_id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * 1000;

    fn answered(ms: u64, matches: Option<bool>) -> Probe {
        Probe {
            status: Some(200),
            response_ms: Some(ms),
            matches,
            ..Default::default()
        }
    }

    #[test]
    fn down_beats_changed_beats_certificate_beats_slow() {
        let config = HealthConfig::default();
        let usual = [100, 100, 100];
        let mut p = answered(5000, Some(false));
        p.cert_expires_at = Some(3 * DAY);
        p.mismatch = Some("the home page differs".into());
        assert_eq!(
            judge(&p, &usual, 0, &config, Some(7)).state,
            HealthState::Changed
        );
        p.matches = Some(true);
        let v = judge(&p, &usual, 0, &config, Some(7));
        assert_eq!(
            (v.state, v.detail.as_str()),
            (
                HealthState::CertExpiring,
                "Its TLS certificate expires in 3 days."
            )
        );
        p.cert_expires_at = Some(30 * DAY);
        assert_eq!(
            judge(&p, &usual, 0, &config, Some(7)).state,
            HealthState::Slow
        );
        p.failure = Some((DownReason::Http5xx, "x".into()));
        let v = judge(&p, &usual, 0, &config, Some(7));
        assert_eq!(
            (v.state, v.reason),
            (HealthState::Down, Some(DownReason::Http5xx))
        );
        let v = judge(&answered(90, Some(true)), &usual, 0, &config, Some(7));
        assert_eq!(
            (v.state, v.detail.as_str()),
            (HealthState::Up, "It answered in 90 ms, serving deploy #7.")
        );
    }

    #[test]
    fn statuses_name_their_reason() {
        assert_eq!(DownReason::from_status(200), None);
        assert_eq!(DownReason::from_status(204), None);
        assert_eq!(DownReason::from_status(404), Some(DownReason::Http404));
        assert_eq!(DownReason::from_status(503), Some(DownReason::Http5xx));
        assert_eq!(DownReason::from_status(403), Some(DownReason::HttpError));
        for r in [
            DownReason::Dns,
            DownReason::Http5xx,
            DownReason::ConnectionRefused,
            DownReason::Tls,
        ] {
            assert_eq!(r.id().parse::<DownReason>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.id());
        }
    }

    fn check(at: i64, state: HealthState, ms: Option<u64>) -> HealthCheck {
        HealthCheck {
            id: 0,
            site_id: 1,
            deployment_id: None,
            checked_at: at,
            url: "u".into(),
            state,
            reason: None,
            http_status: None,
            response_ms: ms,
            cert_expires_at: None,
            matches_deploy: None,
            detail: String::new(),
        }
    }

    #[test]
    fn a_summary_has_uptime_and_even_hourly_buckets() {
        let now = 100 * DAY;
        let checks = [
            check(now - 8 * DAY, HealthState::Down, None), // outside the week
            check(now - 2 * 3600 * 1000, HealthState::Up, Some(100)),
            check(now - 2 * 3600 * 1000 + 1, HealthState::Slow, Some(300)),
            check(now - 1000, HealthState::Down, None),
            check(now - 500, HealthState::Up, Some(200)),
        ];
        let s = summarise(1, &checks, 7, now);
        assert_eq!(s.buckets.len(), 168);
        assert_eq!((s.checks, s.up_checks), (4, 3));
        assert_eq!(s.uptime_percent, Some(75.0));
        assert_eq!(s.median_ms, Some(200.0));
        let last = s.buckets.last().unwrap();
        assert_eq!(
            (last.checks, last.down, last.median_ms),
            (2, 1, Some(200.0))
        );
        assert_eq!(s.buckets[166].median_ms, Some(200.0));
        assert_eq!(s.buckets[0].checks, 0);
        assert_eq!(summarise(1, &checks, 30, now).buckets.len(), 180);
    }
}
