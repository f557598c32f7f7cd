//! Watching a folder: redeploy by itself when files change.
//!
//! File events arrive through `notify-debouncer-full`, which coalesces each path's burst of
//! events. On top of that:
//!
//! - **Settle.** A deploy starts only after [`WatchOptions::settle`] without any relevant
//!   event (a build writing 500 files makes one deploy, not 500), or after
//!   [`WatchOptions::max_hold`] of continuous change, so a never-ending stream still deploys.
//! - **Single flight.** At most one deploy per site runs; changes during a deploy queue
//!   exactly one follow-up. (Across processes the engine's site lock refuses a second deploy;
//!   the watcher then simply tries again after the next settle.)
//! - **Only changes count.** Reading a file is not changing it: every scan opens the folders
//!   and every upload opens files, and inotify reports those opens, reads and closes. Counting
//!   them made a watch rescan forever after its first deploy. [`changes_content`] decides from
//!   the event's kind alone.
//! - **Relevance.** Editor temp and swap files, `.git/`, `node_modules/` and the other default
//!   ignores never count. Anything subtler (a `.sitedropignore` rule) is caught by comparing the
//!   folder's fingerprint with the last deploy's: no publishable change, no deploy.
//! - **Trouble pauses, never spins.** The folder disappearing, becoming unreadable, or the OS
//!   watch limit (ENOSPC) pause watching with a sentence; a folder that comes back is watched
//!   again (checked every two seconds).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{self, EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::deploy::{DeployOutcome, DeployRequest};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::history::Trigger;
use crate::progress::ProgressSink;
use crate::scan::rules::is_default_ignored;
use crate::scan::{self, ScanOptions, ScanRules};

/// How eagerly to redeploy.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time after the last change before a deploy starts.
    pub settle: Duration,
    /// The longest changes may keep a deploy waiting.
    pub max_hold: Duration,
    /// Deploy at once when the folder differs from what was last deployed (e.g. edits made
    /// while the app was closed).
    pub catch_up: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            settle: Duration::from_millis(750),
            max_hold: Duration::from_secs(60),
            catch_up: true,
        }
    }
}

/// What a watch reports to its face.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// Watching has started (or resumed).
    Watching {
        folder: PathBuf,
    },
    /// Relevant changes were seen; a deploy follows once they settle.
    Changed {
        paths: usize,
    },
    /// A deploy started.
    Deploying,
    Deployed {
        outcome: Box<DeployOutcome>,
    },
    Failed {
        kind: String,
        message: String,
    },
    /// Changes settled, but nothing that would be published changed.
    Unchanged,
    /// Watching is paused, and why (the folder is gone, the watch limit, …).
    Paused {
        reason: String,
    },
    Stopped,
}

/// Where watch events go.
pub type WatchSink = Arc<dyn Fn(WatchEvent) + Send + Sync>;

/// A running watch; stop it with [`WatchHandle::stop`] (dropping it also stops it).
pub struct WatchHandle {
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl WatchHandle {
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Waits until the watch ends (it ends only when stopped).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// True when an event of this kind can change what a deploy publishes: a file's bytes, name,
/// existence, or its modification time (`touch`; the fingerprint check then decides).
///
/// Decided from the kinds notify documents for each backend it offers:
/// - inotify: opens, reads and closes arrive as `Access(Open | Read | Close(Read))` — our own
///   scans and uploads make those, so they never count; `Access(Close(Write))` ends a write and
///   does; `IN_ATTRIB` is `Modify(Metadata(Any))` (mtime, mode, owner: counted, as it may be
///   `touch` or a file made unreadable).
/// - FSEvents: imprecise mode gives `Any`; precise mode splits metadata into owner and
///   extended attributes (neither publishes anything) and the rest.
/// - kqueue: `Other` for BSD extras (revocation is already `Remove`); Windows: `Any` for
///   unknown actions; the poll watcher: `Modify(Metadata(WriteTime))` and `Modify(Data)`.
///
/// `Any` means the backend could not tell, so it counts. Rescan requests (`Other` with the
/// rescan flag) are handled apart, by [`notify::Event::need_rescan`].
pub fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Any | EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(meta)) => !matches!(
            meta,
            MetadataKind::AccessTime | MetadataKind::Ownership | MetadataKind::Extended
        ),
        EventKind::Modify(_) => true,
        EventKind::Other => false,
    }
}

/// True when a changed path could change the site.
pub fn is_relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    !rel.iter()
        .filter_map(|p| p.to_str())
        .any(|p| is_default_ignored(p) || matches!(p, ".git" | ".hg" | ".svn"))
}

impl Engine {
    /// Watches `request.folder` and redeploys it to `request.platform` whenever it changes.
    /// Each deploy is recorded with trigger `watch`.
    pub fn watch(
        &self,
        request: DeployRequest,
        options: WatchOptions,
        events: WatchSink,
        progress: ProgressSink,
    ) -> Result<WatchHandle> {
        scan::check_folder(&request.folder)?;
        let folder = request
            .folder
            .canonicalize()
            .map_err(|e| Error::Unreadable {
                path: request.folder.display().to_string(),
                reason: e.to_string(),
            })?;
        let request = DeployRequest {
            folder: folder.clone(),
            trigger: Trigger::Watch,
            ..request
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            self.clone(),
            request,
            options,
            events,
            progress,
            stop.clone(),
        ));
        Ok(WatchHandle {
            stop,
            task: Some(task),
        })
    }

    /// A fingerprint of what a deploy of `folder` would publish: relative paths, sizes,
    /// modification times and inodes of the files a scan keeps.
    pub async fn folder_fingerprint(
        &self,
        folder: &Path,
        request: &DeployRequest,
    ) -> Result<String> {
        let options = ScanOptions {
            rules: ScanRules::for_platform(request.platform),
            secrets: request.secrets.clone(),
        };
        let folder = folder.to_path_buf();
        crate::deploy::blocking(move || {
            let set = scan::scan(
                &folder,
                &options,
                &crate::progress::no_progress(),
                &CancellationToken::new(),
            )?;
            Ok(set.fingerprint())
        })
        .await
    }
}

/// Builds the OS watch: debounced events go to `tx`.
fn start_notify(
    folder: &Path,
    tx: mpsc::UnboundedSender<DebounceEventResult>,
) -> std::result::Result<
    notify_debouncer_full::Debouncer<
        notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
    notify::Error,
> {
    let mut debouncer = new_debouncer(
        Duration::from_millis(250),
        None,
        move |result: DebounceEventResult| {
            let _ = tx.send(result);
        },
    )?;
    debouncer.watch(folder, RecursiveMode::Recursive)?;
    Ok(debouncer)
}

/// Says why watching cannot go on, in words.
fn pause_reason(folder: &Path, error: &notify::Error) -> String {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => format!(
            "Watching {} is paused: the system's limit on watched folders is reached. Raise it (for example `sudo sysctl fs.inotify.max_user_watches=524288`), then turn watching on again.",
            folder.display()
        ),
        notify::ErrorKind::PathNotFound => gone(folder),
        notify::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => gone(folder),
        notify::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => format!(
            "Watching {} is paused: Sitedrop is not allowed to read it any more. Make it readable to resume.",
            folder.display()
        ),
        other => format!("Watching {} is paused: {other:?}.", folder.display()),
    }
}

fn gone(folder: &Path) -> String {
    format!(
        "Watching {} is paused: the folder was moved or deleted. It resumes if the folder comes back.",
        folder.display()
    )
}

/// The watch loop.
async fn run(
    engine: Engine,
    request: DeployRequest,
    options: WatchOptions,
    events: WatchSink,
    progress: ProgressSink,
    stop: CancellationToken,
) {
    let folder = request.folder.clone();
    let site_id = engine
        .history()
        .site_for(&folder, request.platform)
        .ok()
        .map(|s| s.id);
    let mut deployed_fingerprint =
        site_id.and_then(|id| engine.history().site_fingerprint(id).ok().flatten());

    'watching: loop {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let debouncer = match start_notify(&folder, tx) {
            Ok(d) => d,
            Err(e) => {
                let missing = !folder.is_dir();
                events(WatchEvent::Paused {
                    reason: pause_reason(&folder, &e),
                });
                if missing && wait_for_folder(&folder, &stop).await {
                    continue 'watching;
                }
                break 'watching;
            }
        };
        events(WatchEvent::Watching {
            folder: folder.clone(),
        });

        let mut dirty = false;
        let mut first_change: Option<Instant> = None;
        let mut last_change = Instant::now();
        if options.catch_up {
            let current = engine.folder_fingerprint(&folder, &request).await.ok();
            if current.is_some() && current != deployed_fingerprint {
                dirty = true;
                first_change = Some(Instant::now());
                last_change = Instant::now() - options.settle;
            }
        }
        let mut deploying: Option<tokio::task::JoinHandle<Result<DeployOutcome>>> = None;

        loop {
            let deadline = match first_change {
                Some(first) if dirty && deploying.is_none() => {
                    Some((last_change + options.settle).min(first + options.max_hold))
                }
                _ => None,
            };
            tokio::select! {
                _ = stop.cancelled() => {
                    // The running deploy saw the same cancel (its token is a child of `stop`):
                    // let it record itself as cancelled and undo what it started.
                    if let Some(task) = deploying.take() {
                        let _ = task.await;
                    }
                    break 'watching;
                }
                batch = rx.recv() => {
                    let Some(batch) = batch else { break };
                    match batch {
                        Ok(batch) => {
                            let relevant = batch
                                .iter()
                                .filter(|e| changes_content(&e.kind))
                                .flat_map(|e| e.paths.iter())
                                .filter(|p| is_relevant(&folder, p))
                                .count();
                            let rescan = batch.iter().any(|e| e.need_rescan());
                            if relevant > 0 || rescan {
                                if !dirty {
                                    first_change = Some(Instant::now());
                                }
                                dirty = true;
                                last_change = Instant::now();
                                events(WatchEvent::Changed { paths: relevant });
                            }
                            if !folder.is_dir() {
                                drop(debouncer);
                                events(WatchEvent::Paused { reason: gone(&folder) });
                                if wait_for_folder(&folder, &stop).await {
                                    continue 'watching;
                                }
                                break 'watching;
                            }
                        }
                        Err(errors) => {
                            if let Some(e) = errors.first() {
                                drop(debouncer);
                                let missing = !folder.is_dir();
                                events(WatchEvent::Paused { reason: pause_reason(&folder, e) });
                                if missing && wait_for_folder(&folder, &stop).await {
                                    continue 'watching;
                                }
                                break 'watching;
                            }
                        }
                    }
                }
                _ = sleep_until(deadline) => {
                    dirty = false;
                    first_change = None;
                    // The changes may have been the folder itself going away.
                    if !folder.is_dir() {
                        drop(debouncer);
                        events(WatchEvent::Paused { reason: gone(&folder) });
                        if wait_for_folder(&folder, &stop).await {
                            continue 'watching;
                        }
                        break 'watching;
                    }
                    let current = engine.folder_fingerprint(&folder, &request).await.ok();
                    if current.is_some() && current == deployed_fingerprint {
                        events(WatchEvent::Unchanged);
                        continue;
                    }
                    events(WatchEvent::Deploying);
                    let (engine, request, progress, cancel) = (engine.clone(), request.clone(), progress.clone(), stop.child_token());
                    deploying = Some(tokio::spawn(async move { engine.deploy(request, progress, cancel).await }));
                }
                done = wait_deploy(&mut deploying) => {
                    deploying = None;
                    match done {
                        Ok(outcome) => {
                            deployed_fingerprint = site_id.and_then(|id| engine.history().site_fingerprint(id).ok().flatten());
                            events(WatchEvent::Deployed { outcome: Box::new(outcome) });
                        }
                        Err(Error::DeployInProgress { .. }) => {
                            // Someone else (the app, a CLI) is deploying this site: try again
                            // once things settle.
                            dirty = true;
                            first_change.get_or_insert(Instant::now());
                            last_change = Instant::now();
                        }
                        Err(e) => events(WatchEvent::Failed { kind: e.kind().to_string(), message: e.to_string() }),
                    }
                }
            }
        }
        break;
    }
    events(WatchEvent::Stopped);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn wait_deploy(
    task: &mut Option<tokio::task::JoinHandle<Result<DeployOutcome>>>,
) -> Result<DeployOutcome> {
    match task.as_mut() {
        Some(handle) => handle
            .await
            .unwrap_or_else(|e| Err(Error::Internal(format!("the deploy task failed: {e}")))),
        None => std::future::pending().await,
    }
}

/// Waits for a vanished folder to come back (true) or for the watch to be stopped (false).
async fn wait_for_folder(folder: &Path, stop: &CancellationToken) -> bool {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return false,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {
                if folder.is_dir() {
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_never_count_as_changes_and_writes_always_do() {
        use notify::event::{CreateKind, DataChange, RemoveKind, RenameMode};
        let reads = [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Close(AccessMode::Execute)),
            EventKind::Access(AccessKind::Any),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Ownership)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Extended)),
            EventKind::Other,
        ];
        for kind in reads {
            assert!(!changes_content(&kind), "{kind:?}");
        }
        let changes = [
            EventKind::Any,
            EventKind::Create(CreateKind::File),
            EventKind::Create(CreateKind::Folder),
            EventKind::Remove(RemoveKind::File),
            EventKind::Remove(RemoveKind::Any),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::WriteTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ];
        for kind in changes {
            assert!(changes_content(&kind), "{kind:?}");
        }
    }

    #[test]
    fn editor_temp_files_and_ignored_folders_are_not_relevant() {
        let root = Path::new("/site");
        for ignored in [
            "/site/.git/index",
            "/site/node_modules/x/y.js",
            "/site/.index.html.swp",
            "/site/index.html~",
            "/site/4913",
            "/site/.#index.html",
            "/site/#index.html#",
            "/site/sub/.DS_Store",
            "/elsewhere/index.html",
        ] {
            assert!(!is_relevant(root, Path::new(ignored)), "{ignored}");
        }
        for relevant in [
            "/site/index.html",
            "/site/css/site.css",
            "/site/.well-known/x",
            "/site",
        ] {
            assert!(is_relevant(root, Path::new(relevant)), "{relevant}");
        }
    }
}
