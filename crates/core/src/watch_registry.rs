//! The watched sites of one process: which sites have a running watch (site id → the
//! engine's [`WatchHandle`]), what each is doing now, and the rule that turns a site into the
//! deploy its automatic publishes send.
//!
//! The watching itself — settling, single flight, pausing on trouble — is [`crate::watch`].
//! This registry keeps the handles and folds each watch's [`WatchEvent`]s into a
//! [`WatchStatus`] a person can read at any moment (a page that reloads asks the registry; it
//! only mirrors it). It knows nothing of windows, trays or notifications: a face hands it a
//! [`Reporter`] and fans the news out to wherever it shows them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::deploy::DeployRequest;
use crate::engine::Engine;
use crate::error::Result;
use crate::history::{Site, Trigger};
use crate::platform::Environment;
use crate::progress::Progress;
use crate::progress_throttle::throttled;
use crate::watch::{WatchEvent, WatchHandle, WatchOptions, WatchSink};

/// How often an automatic publish's counters may reach a face (as for a manual deploy).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What a watch is doing, as a face shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchState {
    /// Turned on; the OS watch is being set up.
    Starting,
    /// Waiting for changes.
    Watching,
    /// Changes were seen; a publish follows once they settle.
    Changed,
    /// An automatic publish is running.
    Deploying,
    /// Watching cannot go on until something is fixed; `reason` says what.
    Paused,
}

/// A watched site's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchStatus {
    pub site_id: i64,
    pub state: WatchState,
    /// Why watching is paused, and what to do, in words.
    pub reason: Option<String>,
    /// Changes arrived during a publish: another one follows it.
    pub pending: bool,
    /// Paused because the folder is gone: the engine resumes by itself when it comes back
    /// (restarting the watch meanwhile would only fail, and lose that).
    pub resumes_by_itself: bool,
    /// Orders statuses: events and `overview` snapshots reach the page in either order, and
    /// the page keeps the newest it has seen.
    pub seq: u64,
}

/// Every watched site's status at one moment, and the newest `seq` given out by then.
#[derive(Debug, Clone, Serialize)]
pub struct WatchSnapshot {
    pub statuses: Vec<WatchStatus>,
    pub seq: u64,
}

/// Said when a watch ended without saying why (its OS watch went away).
const STOPPED: &str = "Watching stopped unexpectedly. Press “Resume watching” to start it again.";

impl WatchStatus {
    fn new(site_id: i64, state: WatchState, reason: Option<String>) -> WatchStatus {
        WatchStatus {
            site_id,
            state,
            reason,
            pending: false,
            resumes_by_itself: false,
            seq: 0,
        }
    }

    /// The status after the core reported `event`.
    pub fn after(&self, event: &WatchEvent) -> WatchStatus {
        let id = self.site_id;
        match event {
            WatchEvent::Watching { .. } => WatchStatus::new(id, WatchState::Watching, None),
            WatchEvent::Changed { .. } if self.state == WatchState::Deploying => WatchStatus {
                pending: true,
                ..self.clone()
            },
            WatchEvent::Changed { .. } => WatchStatus::new(id, WatchState::Changed, None),
            WatchEvent::Deploying => WatchStatus::new(id, WatchState::Deploying, None),
            WatchEvent::Deployed { .. } | WatchEvent::Failed { .. } | WatchEvent::Unchanged => {
                let state = if self.pending {
                    WatchState::Changed
                } else {
                    WatchState::Watching
                };
                WatchStatus::new(id, state, None)
            }
            WatchEvent::Paused { reason } => {
                WatchStatus::new(id, WatchState::Paused, Some(reason.clone()))
            }
            // A pause that ended the watch (the OS watch limit) keeps its own reason.
            WatchEvent::Stopped if self.state == WatchState::Paused => self.clone(),
            WatchEvent::Stopped => {
                WatchStatus::new(id, WatchState::Paused, Some(STOPPED.to_string()))
            }
        }
    }
}

/// A watched site's new status, as a face receives it.
#[derive(Debug, Clone, Serialize)]
pub struct WatchUpdate {
    pub status: WatchStatus,
    /// The core's event, when one caused the change (`None` when a watch could not start).
    pub event: Option<WatchEvent>,
}

/// The progress of a watched site's automatic publish, as a face receives it.
#[derive(Debug, Clone, Serialize)]
pub struct WatchProgress {
    pub site_id: i64,
    pub progress: Progress,
}

/// Receives a watched site's new status.
pub type UpdateSink = Arc<dyn Fn(&Site, WatchUpdate) + Send + Sync>;
/// Receives the progress of a watched site's automatic publish.
pub type ProgressSink = Arc<dyn Fn(WatchProgress) + Send + Sync>;

/// Where a watch's news goes: the desktop app sends it to the page, the tray and
/// notifications; tests collect it.
#[derive(Clone)]
pub struct Reporter {
    pub update: UpdateSink,
    pub progress: ProgressSink,
}

/// How many watches run, and how many of them are paused (the desktop app's tray says so).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub watched: usize,
    pub paused: usize,
}

/// The running watches, by site id.
#[derive(Default)]
pub struct Watches {
    slots: Mutex<HashMap<i64, Slot>>,
    /// Tells apart successive watches of one site, so a stopped watch's late events are ignored.
    generation: AtomicU64,
    /// The last [`WatchStatus::seq`] given out; advanced under the `slots` lock.
    changes: AtomicU64,
}

struct Slot {
    generation: u64,
    folder: PathBuf,
    status: WatchStatus,
    /// `None` while starting, or when the watch could not start (paused).
    handle: Option<WatchHandle>,
}

impl Watches {
    /// Starts watching `site` (stopping a watch it already had), redeploying it as it was last
    /// deployed. A watch that cannot start (the folder is gone) is recorded as paused, with
    /// the reason; `None` when the watch was stopped again while starting.
    pub async fn start(
        self: &Arc<Self>,
        engine: &Engine,
        site: &Site,
        options: WatchOptions,
        report: Reporter,
    ) -> Option<WatchStatus> {
        self.stop(site.id).await;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        {
            let mut slots = lock(&self.slots);
            let status = WatchStatus {
                seq: self.next_seq(),
                ..WatchStatus::new(site.id, WatchState::Starting, None)
            };
            slots.insert(
                site.id,
                Slot {
                    generation,
                    folder: site.folder.clone(),
                    status,
                    handle: None,
                },
            );
        }
        let registry = Arc::downgrade(self);
        let (for_events, reporter) = (site.clone(), report.clone());
        let events: WatchSink = Arc::new(move |event: WatchEvent| {
            let Some(watches) = registry.upgrade() else {
                return;
            };
            if let Some(status) = watches.apply(for_events.id, generation, &event) {
                (reporter.update)(
                    &for_events,
                    WatchUpdate {
                        status,
                        event: Some(event),
                    },
                );
            }
        });
        let site_id = site.id;
        let send_progress = report.progress.clone();
        let progress = throttled(
            Arc::new(move |progress| send_progress(WatchProgress { site_id, progress })),
            PROGRESS_EVERY,
        );
        let started = redeploy_request(engine, site)
            .and_then(|request| engine.watch(request, options, events, progress));
        // Under the lock only long enough to record the outcome; stopping waits outside it.
        let recorded = {
            let mut slots = lock(&self.slots);
            match slots
                .get_mut(&site.id)
                .filter(|s| s.generation == generation)
            {
                None => Err(started.ok()), // Turned off (or restarted) meanwhile.
                Some(slot) => Ok(match started {
                    Ok(handle) => {
                        slot.handle = Some(handle);
                        (slot.status.clone(), false)
                    }
                    Err(e) => {
                        slot.status = WatchStatus {
                            seq: self.next_seq(),
                            ..WatchStatus::new(
                                site.id,
                                WatchState::Paused,
                                Some(format!(
                                    "Watching could not start. {e} Then press “Resume watching”."
                                )),
                            )
                        };
                        (slot.status.clone(), true)
                    }
                }),
            }
        };
        match recorded {
            Err(orphan) => {
                if let Some(handle) = orphan {
                    handle.stop().await;
                }
                None
            }
            Ok((status, failed)) => {
                if failed {
                    (report.update)(
                        site,
                        WatchUpdate {
                            status: status.clone(),
                            event: None,
                        },
                    );
                }
                Some(status)
            }
        }
    }

    /// Folds `event` into the status of the watch `generation` of `site_id`; `None` when that
    /// watch is no longer the site's (stopped or restarted).
    fn apply(&self, site_id: i64, generation: u64, event: &WatchEvent) -> Option<WatchStatus> {
        let mut slots = lock(&self.slots);
        let slot = slots
            .get_mut(&site_id)
            .filter(|s| s.generation == generation)?;
        let mut next = slot.status.after(event);
        if matches!(event, WatchEvent::Paused { .. }) {
            // The engine waits for a vanished folder to come back, and only for that.
            next.resumes_by_itself = !slot.folder.is_dir();
        }
        if matches!(event, WatchEvent::Stopped) && next == slot.status {
            return None; // The end of a paused watch: the pause was news, this is not.
        }
        next.seq = self.next_seq();
        slot.status = next;
        Some(slot.status.clone())
    }

    /// Stops watching a site; a publish it started is cancelled and recorded as such. True
    /// when the site was watched.
    pub async fn stop(&self, site_id: i64) -> bool {
        let slot = lock(&self.slots).remove(&site_id);
        let Some(slot) = slot else { return false };
        if let Some(handle) = slot.handle {
            handle.stop().await;
        }
        true
    }

    /// Stops every watch (quitting the app).
    pub async fn stop_all(&self) {
        let slots: Vec<Slot> = lock(&self.slots).drain().map(|(_, s)| s).collect();
        for handle in slots.into_iter().filter_map(|s| s.handle) {
            handle.stop().await;
        }
    }

    /// The status of a site's watch, if it is watched.
    pub fn status(&self, site_id: i64) -> Option<WatchStatus> {
        lock(&self.slots).get(&site_id).map(|s| s.status.clone())
    }

    /// The status of a site's watch when it needs no (re)start: it runs, or it is paused only
    /// until its folder comes back (restarting it meanwhile would fail, and lose that). `None`
    /// when the site is not watched, or its watch waits for someone to resume it.
    pub fn active(&self, site_id: i64) -> Option<WatchStatus> {
        self.status(site_id)
            .filter(|s| s.state != WatchState::Paused || s.resumes_by_itself)
    }

    /// Every watched site's status, with the moment they describe.
    pub fn snapshot(&self) -> WatchSnapshot {
        let slots = lock(&self.slots);
        let mut statuses: Vec<WatchStatus> = slots.values().map(|s| s.status.clone()).collect();
        statuses.sort_by_key(|s| s.site_id);
        WatchSnapshot {
            statuses,
            seq: self.changes.load(Ordering::SeqCst),
        }
    }

    /// The next status number. Called with the `slots` lock held, so numbers follow the order
    /// in which statuses are recorded.
    fn next_seq(&self) -> u64 {
        self.changes.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// How many sites are watched, and how many of those are paused.
    pub fn summary(&self) -> Summary {
        let slots = lock(&self.slots);
        Summary {
            watched: slots.len(),
            paused: slots
                .values()
                .filter(|s| s.status.state == WatchState::Paused)
                .count(),
        }
    }
}

/// What an automatic publish of `site` sends (the rule every face shares): the folder to the same platform, project and
/// environment (production or preview) as its last deploy.
pub fn redeploy_request(engine: &Engine, site: &Site) -> Result<DeployRequest> {
    let last = engine
        .history()
        .deployments(Some(site.id), 20)?
        .into_iter()
        .find(|d| d.trigger != Trigger::Rollback);
    let environment = last.map_or(Environment::Production, |d| d.environment);
    Ok(DeployRequest {
        project: site.project.clone(),
        environment,
        trigger: Trigger::Watch,
        ..DeployRequest::new(site.folder.clone(), site.platform)
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use crate::engine::EngineConfig;
    use crate::platform::Platform;
    use crate::secrets::MemoryKeychain;

    fn status(state: WatchState) -> WatchStatus {
        WatchStatus::new(7, state, None)
    }

    #[tokio::test]
    async fn every_recorded_status_is_newer_than_the_last_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let site = engine
            .history()
            .site_for(&dir.path().join("gone"), Platform::Local)
            .unwrap();
        let watches = Arc::new(Watches::default());
        let before = watches.snapshot().seq;
        let (report, seen) = collecting();
        let status = watches
            .start(&engine, &site, WatchOptions::default(), report)
            .await
            .unwrap();
        assert!(status.seq > before);
        assert_eq!(seen.lock().unwrap()[0].status.seq, status.seq);
        let snapshot = watches.snapshot();
        assert_eq!(snapshot.seq, status.seq);
        assert_eq!(snapshot.statuses, vec![status]);
    }

    #[test]
    fn core_events_become_what_the_page_shows() {
        let watching = status(WatchState::Starting).after(&WatchEvent::Watching {
            folder: "/site".into(),
        });
        assert_eq!(watching.state, WatchState::Watching);
        let changed = watching.after(&WatchEvent::Changed { paths: 2 });
        assert_eq!(changed.state, WatchState::Changed);
        let deploying = changed.after(&WatchEvent::Deploying);
        assert_eq!(deploying.state, WatchState::Deploying);
        let failed = deploying.after(&WatchEvent::Failed {
            kind: "network".into(),
            message: "offline".into(),
        });
        assert_eq!(failed, status(WatchState::Watching));
        assert_eq!(
            changed.after(&WatchEvent::Unchanged).state,
            WatchState::Watching
        );
    }

    #[test]
    fn changes_during_a_publish_are_announced_as_the_next_one() {
        let deploying = status(WatchState::Deploying).after(&WatchEvent::Changed { paths: 1 });
        assert_eq!(deploying.state, WatchState::Deploying);
        assert!(deploying.pending);
        let after = deploying.after(&WatchEvent::Unchanged);
        assert_eq!(after.state, WatchState::Changed);
        assert!(!after.pending);
    }

    #[test]
    fn a_pause_keeps_its_reason_when_the_watch_then_ends() {
        let paused = status(WatchState::Watching).after(&WatchEvent::Paused {
            reason: "the watch limit is reached".into(),
        });
        assert_eq!(paused.state, WatchState::Paused);
        assert_eq!(paused.after(&WatchEvent::Stopped), paused);
        let ended = status(WatchState::Watching).after(&WatchEvent::Stopped);
        assert_eq!(ended.state, WatchState::Paused);
        assert_eq!(ended.reason.as_deref(), Some(STOPPED));
    }

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::open(EngineConfig {
            env: Env::default(),
            data_dir: Some(dir.join("data")),
            secrets: Arc::new(MemoryKeychain::default()),
            retry: Default::default(),
        })
        .unwrap()
    }

    fn collecting() -> (Reporter, Arc<Mutex<Vec<WatchUpdate>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let report = Reporter {
            update: Arc::new(move |_, update| into.lock().unwrap().push(update)),
            progress: Arc::new(|_| {}),
        };
        (report, seen)
    }

    #[tokio::test]
    async fn a_watch_that_cannot_start_is_paused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let folder = dir.path().join("gone");
        let site = engine.history().site_for(&folder, Platform::Local).unwrap();
        let watches = Arc::new(Watches::default());
        let (report, seen) = collecting();

        let status = watches
            .start(&engine, &site, WatchOptions::default(), report)
            .await
            .unwrap();
        assert_eq!(status.state, WatchState::Paused);
        let reason = status.reason.unwrap();
        assert!(reason.contains("does not exist"), "{reason}");
        assert!(reason.contains("Resume watching"), "{reason}");
        assert_eq!(seen.lock().unwrap().len(), 1, "the page is told");
        assert_eq!(
            watches.summary(),
            Summary {
                watched: 1,
                paused: 1
            }
        );
        assert!(watches.stop(site.id).await);
        assert_eq!(watches.summary(), Summary::default());
    }

    #[tokio::test]
    async fn a_vanished_folder_pauses_the_watch_until_it_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let folder = dir.path().join("site");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("index.html"), "<h1>hi</h1>").unwrap();
        let folder = folder.canonicalize().unwrap();
        let site = engine.history().site_for(&folder, Platform::Local).unwrap();
        let watches = Arc::new(Watches::default());
        let (report, _) = collecting();
        let options = WatchOptions {
            catch_up: false,
            ..WatchOptions::default()
        };
        watches
            .start(&engine, &site, options, report)
            .await
            .unwrap();
        let state_is = |want: WatchState| {
            let watches = watches.clone();
            async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(15);
                loop {
                    let status = watches.status(site.id).unwrap();
                    if status.state == want {
                        return status;
                    }
                    assert!(std::time::Instant::now() < deadline, "never {want:?}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        state_is(WatchState::Watching).await;

        std::fs::remove_dir_all(&folder).unwrap();
        let paused = state_is(WatchState::Paused).await;
        assert!(paused.resumes_by_itself, "{paused:?}");
        assert!(paused.reason.unwrap().contains("moved or deleted"));

        std::fs::create_dir_all(&folder).unwrap();
        let back = state_is(WatchState::Watching).await;
        assert!(!back.resumes_by_itself);
        watches.stop_all().await;
        assert!(watches.snapshot().statuses.is_empty());
    }

    #[tokio::test]
    async fn a_stopped_watch_reports_nothing_more() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let folder = dir.path().join("site");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("index.html"), "<h1>hi</h1>").unwrap();
        let site = engine
            .history()
            .site_for(&folder.canonicalize().unwrap(), Platform::Local)
            .unwrap();
        let watches = Arc::new(Watches::default());
        let (report, seen) = collecting();
        let options = WatchOptions {
            catch_up: false,
            ..WatchOptions::default()
        };

        watches
            .start(&engine, &site, options, report)
            .await
            .unwrap();
        // The core says it is watching.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while watches.status(site.id).map(|s| s.state) != Some(WatchState::Watching) {
            assert!(std::time::Instant::now() < deadline, "never watching");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(watches.snapshot().statuses.len(), 1);
        assert!(watches.stop(site.id).await);
        let told = seen.lock().unwrap().len();
        // Changes after the stop are not watched any more, and its last event ("stopped") was
        // not reported as a pause.
        std::fs::write(folder.join("index.html"), "<h1>changed</h1>").unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(seen.lock().unwrap().len(), told);
        assert!(seen
            .lock()
            .unwrap()
            .iter()
            .all(|u| u.status.state != WatchState::Paused));
        assert!(watches.status(site.id).is_none());
    }
}
