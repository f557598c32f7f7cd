//! One deploy, start to end (`DESIGN.md`, "One deploy, start to end"):
//!
//! ```text
//! folder ─scan─▶ FileSet ─limits─▶ ─hash (cached)─▶ Manifest ─provider.begin─▶ batches
//!    ─upload (parallel, streamed, retried)─▶ session.finish (publish + poll) ─▶ verify ─▶ history
//! ```
//!
//! The history row is written before anything else and updated at every phase; whatever
//! happens afterwards (an error, a cancel) is recorded on it before the error is returned.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::concurrency::{Aimd, AimdConfig, Concurrency, Sample};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::hash::{self, cache};
use crate::history::lock::SiteLock;
use crate::history::{DeployStatus, NewDeployment, Site, Timings, Trigger};
use crate::platform::{Environment, Platform};
use crate::progress::{Phase, Progress, ProgressSink};
use crate::provider::{
    self, naming, Batch, Cx, DeploySession, Manifest, Provider, Published, Target, UploadMeter,
};
use crate::retry::retry;
use crate::scan::{self, FileSet, ScanOptions, SecretPolicy};

/// What to deploy, where.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub folder: PathBuf,
    pub platform: Platform,
    /// The project name to use; `None` keeps the remembered one or derives one.
    pub project: Option<String>,
    pub environment: Environment,
    pub message: Option<String>,
    pub trigger: Trigger,
    pub secrets: SecretPolicy,
    /// Make a new deployment even when the live one already serves exactly this folder. Only
    /// platforms that take every file again ([`Provider::deduplicates_files`]) skip one.
    pub force: bool,
}

impl DeployRequest {
    pub fn new(folder: impl Into<PathBuf>, platform: Platform) -> DeployRequest {
        DeployRequest {
            folder: folder.into(),
            platform,
            project: None,
            environment: Environment::Production,
            message: None,
            trigger: Trigger::Manual,
            secrets: SecretPolicy::HoldBack,
            force: false,
        }
    }
}

/// The result of a deploy that went live (the CLI's `done` event).
#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    /// The history's id for this deploy.
    pub id: i64,
    pub site_id: i64,
    pub platform: Platform,
    pub project: String,
    pub status: DeployStatus,
    pub url: String,
    pub production_url: Option<String>,
    pub claim_url: Option<String>,
    pub note: Option<String>,
    pub files: u64,
    pub uploaded: u64,
    pub bytes_uploaded: u64,
    pub duration_ms: u64,
    pub held_back: Vec<String>,
    pub warnings: Vec<String>,
    /// The folder is exactly what the live deploy already served: nothing changed. (With
    /// status `unchanged`, no new deployment was made either.)
    pub unchanged: bool,
}

/// Phase bookkeeping: progress event, history row, timing.
struct Run<'a> {
    engine: &'a Engine,
    id: i64,
    progress: ProgressSink,
    timings: Timings,
    phase_started: Instant,
}

impl Run<'_> {
    fn enter(&mut self, phase: Phase) -> Result<()> {
        self.phase_started = Instant::now();
        (self.progress)(Progress::Phase {
            phase,
            label: phase.label(),
        });
        self.engine.history().set_phase(self.id, phase)
    }

    fn elapsed_ms(&self) -> Option<i64> {
        Some(self.phase_started.elapsed().as_millis() as i64)
    }
}

impl Engine {
    /// Deploys a folder. Returns when the site is live and verified, or with the error a person
    /// should read; either way the history row tells the truth.
    pub async fn deploy(
        &self,
        request: DeployRequest,
        progress: ProgressSink,
        cancel: CancellationToken,
    ) -> Result<DeployOutcome> {
        scan::check_folder(&request.folder)?;
        let folder = request
            .folder
            .canonicalize()
            .map_err(|e| Error::Unreadable {
                path: request.folder.display().to_string(),
                reason: e.to_string(),
            })?;
        let site = self.history().site_for(&folder, request.platform)?;
        let _lock = SiteLock::try_acquire(self.data_dir(), site.id)?.ok_or_else(|| {
            Error::DeployInProgress {
                folder: folder.clone(),
            }
        })?;
        let id = self.history().start_deployment(&NewDeployment {
            site_id: site.id,
            trigger: request.trigger,
            environment: request.environment,
            message: request.message.as_deref(),
            rollback_of: None,
        })?;
        let started = Instant::now();
        let mut run = Run {
            engine: self,
            id,
            progress: progress.clone(),
            timings: Timings::default(),
            phase_started: started,
        };
        let result = self
            .deploy_recorded(&mut run, &request, &folder, &site, cancel)
            .await;
        let timings = run.timings;
        let history = self.history();
        let _ = history.set_timings(id, &timings);
        match result {
            Ok(mut outcome) => {
                if outcome.status == DeployStatus::Unchanged {
                    history.finish_unchanged(id)?;
                } else {
                    history.finish_live(id)?;
                }
                outcome.duration_ms = started.elapsed().as_millis() as u64;
                Ok(outcome)
            }
            Err(err) => {
                // The deploy's own error is what the person needs; a failure to record it
                // (a full disk) must not replace it.
                let _ = history.finish_failed(id, &err);
                Err(err)
            }
        }
    }

    async fn deploy_recorded(
        &self,
        run: &mut Run<'_>,
        request: &DeployRequest,
        folder: &std::path::Path,
        site: &Site,
        cancel: CancellationToken,
    ) -> Result<DeployOutcome> {
        let platform = request.platform;
        let credentials = self.resolve_credentials(platform).await?;
        let account_id = match credentials.as_ref().map(|c| &c.source) {
            Some(crate::secrets::CredentialSource::Keychain { account_id }) => Some(*account_id),
            _ => None,
        };
        let account_ref = credentials.as_ref().and_then(|c| c.account_ref.clone());
        let provider: Arc<dyn Provider> =
            Arc::from(provider::build(platform, credentials, self.env())?);
        let cx = self.cx(run.progress.clone(), cancel.clone());

        // Scan, while the digest cache for this folder is read (it needs only the folder and
        // the platform's digest, and reading 20,000 rows takes as long as a good part of the
        // walk).
        run.enter(Phase::Scan)?;
        let known = {
            let (engine, root, kind) = (self.clone(), folder.to_path_buf(), provider.digest_kind());
            tokio::task::spawn_blocking(move || {
                cache::load(engine.history().conn_mut(), &root, kind)
            })
        };
        let options = ScanOptions {
            rules: crate::scan::ScanRules::for_platform(platform),
            secrets: request.secrets.clone(),
        };
        let set = {
            let (folder, progress, cancel) =
                (folder.to_path_buf(), run.progress.clone(), cancel.clone());
            blocking(move || scan::scan(&folder, &options, &progress, &cancel)).await?
        };
        run.timings.scan_ms = run.elapsed_ms();
        set.ensure_not_empty()?;
        set.ensure_names_publishable(platform)?;
        let (held_back, warnings) = announce(&set, &run.progress);
        self.history()
            .set_totals(run.id, set.files.len() as u64, set.total_bytes)?;

        // Limits and names.
        run.enter(Phase::Limits)?;
        crate::limits::check(&set, provider.limits(), platform)?;
        provider.check_files(&set)?;

        // Hash.
        run.enter(Phase::Hash)?;
        let manifest = Arc::new(
            self.hash(&set, provider.digest_kind(), known, &run.progress, &cancel)
                .await?,
        );
        run.timings.hash_ms = run.elapsed_ms();

        // The digests say whether the live deploy already serves exactly this folder. Where a
        // new deployment would send every byte again, none is made unless asked for.
        let content = manifest.content_digest();
        self.history().set_content_digest(run.id, &content)?;
        let unchanged_since = self
            .history()
            .current_live(site.id, request.environment)?
            .filter(|live| live.content_digest.as_deref() == Some(content.as_str()));
        if let Some(live) = &unchanged_since {
            if !provider.deduplicates_files() && !request.force {
                let kept = self
                    .keep_live(run, site, live, &manifest, &set.fingerprint(), &cancel)
                    .await?;
                if let Some(mut outcome) = kept {
                    outcome.held_back = held_back;
                    outcome.warnings = warnings;
                    return Ok(outcome);
                }
            }
        }

        // Prepare: find or create the project, learn what is missing.
        run.enter(Phase::Prepare)?;
        let target = Target {
            project: request.project.clone().or_else(|| site.project.clone()),
            remote_id: if request.project.is_some() && request.project != site.project {
                None
            } else {
                site.remote_id.clone()
            },
            folder_name: naming::folder_label(folder),
            environment: request.environment,
            message: request.message.clone(),
            account_ref,
        };
        let session = provider.begin(&cx, &target, manifest.clone()).await?;
        let project = session.project();
        // From here, a deploy that ends without going live asks the platform to undo what it
        // can (a half-made deploy cancelled, a job stopped), so nothing lingers.
        let publishing: Result<(Published, u64, u64)> = async {
            self.history().set_site_project(
                site.id,
                &project.name,
                project.remote_id.as_deref(),
                account_id,
            )?;

            // Upload.
            run.enter(Phase::Upload)?;
            let batches = session.batches();
            let meter = UploadMeter::new(
                batches.iter().map(|b| b.files.len() as u64).sum(),
                batches.iter().map(|b| b.bytes).sum(),
                run.progress.clone(),
            );
            let uploaded = upload_all(
                &cx,
                platform,
                session.as_ref(),
                batches,
                provider.upload_concurrency(),
                &meter,
            )
            .await;
            let (files_uploaded, bytes_uploaded) = meter.done();
            self.history()
                .set_uploaded(run.id, files_uploaded, bytes_uploaded)?;
            uploaded?;
            run.timings.upload_ms = run.elapsed_ms();

            // Publish and wait until the platform says it is live. A cancel now cannot
            // promise that nothing goes live: the platform may already be publishing.
            run.enter(Phase::Finish)?;
            if platform == Platform::Local {
                self.ensure_local_server().await?;
            }
            let published = session.finish(&cx).await.map_err(|e| match e {
                Error::Cancelled => Error::CancelledWhilePublishing { platform },
                other => other,
            })?;
            Ok((published, files_uploaded, bytes_uploaded))
        }
        .await;
        let (published, files_uploaded, bytes_uploaded) = match publishing {
            Ok(done) => done,
            Err(err) => {
                let undo = Cx {
                    cancel: CancellationToken::new(),
                    ..cx.clone()
                };
                let _ = tokio::time::timeout(Duration::from_secs(15), session.abort(&undo)).await;
                return Err(err);
            }
        };
        run.timings.publish_ms = run.elapsed_ms();
        self.history()
            .set_remote(run.id, Some(&published.remote_id), Some(&published.url))?;

        // Verify.
        run.enter(Phase::Verify)?;
        crate::verify::verify_live(self.http(), &published.url, &manifest, &cancel)
            .await
            .map_err(|e| match e {
                Error::Cancelled => Error::CancelledWhilePublishing { platform },
                other => other,
            })?;
        run.timings.verify_ms = run.elapsed_ms();
        if let Some(production) = &published.production_url {
            self.history().set_site_url(site.id, production)?;
        }
        self.history()
            .set_site_fingerprint(site.id, &set.fingerprint())?;
        (run.progress)(Progress::Phase {
            phase: Phase::Done,
            label: Phase::Done.label(),
        });

        let Published {
            url,
            production_url,
            claim_url,
            note,
            ..
        } = published;
        Ok(DeployOutcome {
            id: run.id,
            site_id: site.id,
            platform,
            project: project.name,
            status: DeployStatus::Live,
            url,
            production_url,
            claim_url,
            note,
            files: manifest.files.len() as u64,
            uploaded: files_uploaded,
            bytes_uploaded,
            duration_ms: 0,
            held_back,
            warnings,
            unchanged: unchanged_since.is_some(),
        })
    }

    /// Ends a deploy of an unchanged folder without a new deployment, once the live site is
    /// seen still serving it. `None` when it no longer does (say, an older deploy was
    /// restored in the platform's dashboard): then the deploy goes ahead as usual.
    async fn keep_live(
        &self,
        run: &mut Run<'_>,
        site: &Site,
        live: &crate::history::DeploymentRecord,
        manifest: &Manifest,
        fingerprint: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<DeployOutcome>> {
        let Some(url) = live.url.clone() else {
            return Ok(None);
        };
        run.enter(Phase::Verify)?;
        match crate::verify::still_serves(self.http(), &url, manifest, cancel).await {
            Ok(()) => {}
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(_) => {
                (run.progress)(Progress::Warning {
                    message: format!(
                        "The live site no longer serves deploy #{}'s files, so the folder is published again.",
                        live.id
                    ),
                });
                return Ok(None);
            }
        }
        run.timings.verify_ms = run.elapsed_ms();
        self.history()
            .set_remote(run.id, live.remote_id.as_deref(), Some(&url))?;
        self.history().set_site_fingerprint(site.id, fingerprint)?;
        (run.progress)(Progress::Phase {
            phase: Phase::Done,
            label: Phase::Done.label(),
        });
        Ok(Some(DeployOutcome {
            id: run.id,
            site_id: site.id,
            platform: site.platform,
            project: live.project.clone().unwrap_or_default(),
            status: DeployStatus::Unchanged,
            url,
            production_url: site.url.clone(),
            claim_url: None,
            note: Some(format!(
                "Nothing changed since deploy #{}, which already serves exactly these files, so no new deployment was made.",
                live.id
            )),
            files: manifest.files.len() as u64,
            uploaded: 0,
            bytes_uploaded: 0,
            duration_ms: 0,
            held_back: Vec::new(),
            warnings: Vec::new(),
            unchanged: true,
        }))
    }

    /// Hashes through the digest cache (`known`, being read): the history lock is held only to
    /// read and write the cache, not while files are read.
    async fn hash(
        &self,
        set: &FileSet,
        kind: hash::DigestKind,
        known: tokio::task::JoinHandle<Result<HashMap<String, cache::CachedDigest>>>,
        progress: &ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Manifest> {
        let known = known
            .await
            .map_err(|e| Error::Invalid(format!("a background task failed: {e}")))??;
        let engine = self.clone();
        let (set, progress, cancel) = (set.clone(), progress.clone(), cancel.clone());
        blocking(move || {
            let started = std::time::SystemTime::now();
            let outcome = hash::hash_files(&set.files, kind, &known, &progress, &cancel)?;
            cache::store(
                engine.history().conn_mut(),
                kind,
                &set.files,
                &outcome.digests,
                &known,
                started,
            )?;
            Ok(Manifest::new(&set, kind, outcome.digests))
        })
        .await
    }
}

/// Tells the person what the scan left out, and returns it for the outcome.
fn announce(set: &FileSet, progress: &ProgressSink) -> (Vec<String>, Vec<String>) {
    let held_back: Vec<String> = set.held_back.iter().map(|h| h.path.to_string()).collect();
    if !set.held_back.is_empty() {
        let named: Vec<String> = set
            .held_back
            .iter()
            .take(5)
            .map(|h| format!("{} ({})", h.path, h.reason))
            .collect();
        let more = match set.held_back.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        let (what, pronoun) = if set.held_back.len() == 1 {
            ("a file", "it")
        } else {
            ("files", "them")
        };
        progress(Progress::Warning {
            message: format!(
                "Held back {what} that may be secret: {}{more}. Not uploaded; allow {pronoun} explicitly to publish {pronoun}.",
                named.join(", ")
            ),
        });
    }
    let warnings: Vec<String> = set.warnings.iter().map(|w| w.to_string()).collect();
    for w in &warnings {
        progress(Progress::Warning { message: w.clone() });
    }
    (held_back, warnings)
}

/// An upload attempt that moves no byte for this long is abandoned and retried: the network
/// or the server stalled. (Uploads have no total time limit; see `http::UPLOAD_TIMEOUT`.)
pub const STALL: Duration = Duration::from_secs(120);

/// Uploads every batch, each with the retry policy, as many at once as the adaptive limit
/// allows ([`crate::concurrency`]): every attempt's latency or refusal adjusts the limit, and
/// new batches start whenever fewer than the limit are in flight. The first batch that fails
/// for good stops the others.
async fn upload_all(
    cx: &Cx,
    platform: Platform,
    session: &dyn DeploySession,
    batches: Vec<Batch>,
    concurrency: Concurrency,
    meter: &Arc<UploadMeter>,
) -> Result<()> {
    meter.report();
    let stop = cx.cancel.child_token();
    let batch_cx = Cx {
        cancel: stop.clone(),
        ..cx.clone()
    };
    let control = Mutex::new(Aimd::new(AimdConfig::new(concurrency)));
    let limit = || control.lock().map_or(1, |c| c.limit());
    let upload_one = |batch: Batch| {
        let (batch_cx, stop, control) = (&batch_cx, &stop, &control);
        async move {
            retry(&batch_cx.retry, stop, |_| async {
                let attempt = meter.attempt();
                // Whatever ends this attempt short of success (an error, a cancel, a
                // sibling batch failing) takes its bytes back out of the count.
                let mut counted = AbandonUnlessKept(Some(attempt.clone()));
                let started = Instant::now();
                let result = stall_guard(
                    session.upload(batch_cx, &batch, &attempt),
                    &attempt,
                    platform,
                )
                .await;
                let sample = match &result {
                    Ok(()) => Sample::Done {
                        latency: started.elapsed(),
                        bytes: batch.bytes,
                    },
                    Err(e) => Sample::of_error(e),
                };
                if let Ok(mut c) = control.lock() {
                    c.record(sample);
                }
                if result.is_ok() {
                    counted.0 = None;
                }
                result
            })
            .await
        }
    };
    let mut waiting = batches.into_iter();
    let mut running = FuturesUnordered::new();
    let result = loop {
        while running.len() < limit() {
            match waiting.next() {
                Some(batch) => running.push(upload_one(batch)),
                None => break,
            }
        }
        match running.next().await {
            None => break Ok(()),
            Some(Ok(())) => {}
            Some(Err(err)) => {
                stop.cancel();
                break Err(err);
            }
        }
    };
    drop(running);
    meter.report();
    if cx.cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    result
}

/// Abandons an attempt's progress when dropped, unless taken out first.
struct AbandonUnlessKept(Option<crate::provider::Attempt>);

impl Drop for AbandonUnlessKept {
    fn drop(&mut self) {
        if let Some(attempt) = self.0.take() {
            attempt.abandon();
        }
    }
}

/// Runs an upload attempt, failing it (retryably) if no byte moves for [`STALL`].
async fn stall_guard<T>(
    upload: impl std::future::Future<Output = Result<T>>,
    attempt: &crate::provider::Attempt,
    platform: Platform,
) -> Result<T> {
    tokio::pin!(upload);
    loop {
        tokio::select! {
            result = &mut upload => return result,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {
                if attempt.idle_for() >= STALL {
                    return Err(Error::Network {
                        platform,
                        detail: format!("the upload stalled: nothing moved for {} minutes", STALL.as_secs() / 60),
                    });
                }
            }
        }
    }
}

/// Runs blocking work (walking, hashing, SQLite) off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a background task failed: {e}")))?
}

impl Engine {
    /// Makes an earlier deploy the production one again, recording the rollback as a deploy.
    pub async fn rollback(
        &self,
        deployment_id: i64,
        progress: ProgressSink,
        cancel: CancellationToken,
    ) -> Result<DeployOutcome> {
        let record = self
            .history()
            .deployment(deployment_id)?
            .ok_or(Error::UnknownDeployment(deployment_id))?;
        let remote_id = record.remote_id.clone().filter(|_| record.status == DeployStatus::Live).ok_or_else(|| {
            Error::Invalid(format!(
                "Deploy #{deployment_id} never went live, so there is nothing to go back to. Choose a deploy whose status is live."
            ))
        })?;
        let site = self
            .history()
            .site(record.site_id)?
            .ok_or(Error::UnknownDeployment(deployment_id))?;
        let _lock = SiteLock::try_acquire(self.data_dir(), site.id)?.ok_or_else(|| {
            Error::DeployInProgress {
                folder: site.folder.clone(),
            }
        })?;
        let id = self.history().start_deployment(&NewDeployment {
            site_id: site.id,
            trigger: Trigger::Rollback,
            environment: Environment::Production,
            message: Some(&format!("Rollback to deploy #{deployment_id}")),
            rollback_of: Some(deployment_id),
        })?;
        let started = Instant::now();
        let result: Result<Published> = async {
            (progress)(Progress::Phase {
                phase: Phase::Finish,
                label: "Switching production back",
            });
            self.history().set_phase(id, Phase::Finish)?;
            let credentials = self.resolve_credentials(site.platform).await?;
            let account_ref = credentials.as_ref().and_then(|c| c.account_ref.clone());
            let provider = provider::build(site.platform, credentials, self.env())?;
            let target = Target {
                project: site.project.clone(),
                remote_id: site.remote_id.clone(),
                folder_name: naming::folder_label(&site.folder),
                environment: Environment::Production,
                message: None,
                account_ref,
            };
            let published = provider
                .rollback(
                    &self.cx(progress.clone(), cancel.clone()),
                    &target,
                    &remote_id,
                )
                .await?;
            self.history()
                .set_remote(id, Some(&published.remote_id), Some(&published.url))?;
            Ok(published)
        }
        .await;
        let history = self.history();
        match result {
            Ok(published) => {
                history.finish_live(id)?;
                if let Some(content) = &record.content_digest {
                    // Production serves that deploy's files again.
                    history.set_content_digest(id, content)?;
                }
                let url = published
                    .production_url
                    .clone()
                    .unwrap_or_else(|| published.url.clone());
                history.set_site_url(site.id, &url)?;
                Ok(DeployOutcome {
                    id,
                    site_id: site.id,
                    platform: site.platform,
                    project: site.project.clone().unwrap_or_default(),
                    status: DeployStatus::Live,
                    url,
                    production_url: published.production_url,
                    claim_url: None,
                    note: Some(format!(
                        "Production now serves deploy #{deployment_id} again."
                    )),
                    files: record.files_total as u64,
                    uploaded: 0,
                    bytes_uploaded: 0,
                    duration_ms: started.elapsed().as_millis() as u64,
                    held_back: Vec::new(),
                    warnings: Vec::new(),
                    unchanged: false,
                })
            }
            Err(err) => {
                let _ = history.finish_failed(id, &err);
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Attempt, ProjectRef};
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A session whose uploads behave as scripted: the first `stalls` attempts never move a
    /// byte; later ones send `chunks` chunks, one every `every`.
    struct Scripted {
        stalls: u32,
        chunks: u32,
        every: Duration,
        attempts: AtomicU32,
    }

    #[async_trait]
    impl DeploySession for Scripted {
        fn project(&self) -> ProjectRef {
            ProjectRef {
                name: "p".into(),
                remote_id: None,
                account_ref: None,
            }
        }
        fn batches(&self) -> Vec<Batch> {
            vec![Batch {
                files: vec![0],
                bytes: 10,
            }]
        }
        async fn upload(&self, _cx: &Cx, _batch: &Batch, attempt: &Attempt) -> Result<()> {
            if self.attempts.fetch_add(1, Ordering::SeqCst) < self.stalls {
                std::future::pending::<()>().await;
            }
            for _ in 0..self.chunks {
                tokio::time::sleep(self.every).await;
                attempt.add_bytes(1);
            }
            attempt.files_done(1);
            Ok(())
        }
        async fn finish(&self, _cx: &Cx) -> Result<Published> {
            unreachable!("not used")
        }
    }

    fn cx() -> Cx {
        Cx {
            http: crate::http::Http::new(&crate::config::Env::default()).unwrap(),
            env: Default::default(),
            retry: Default::default(),
            progress: crate::progress::no_progress(),
            cancel: CancellationToken::new(),
            data_dir: std::env::temp_dir(),
        }
    }

    async fn run(session: &Scripted) -> (Result<()>, (u64, u64)) {
        let meter = UploadMeter::new(1, 10, crate::progress::no_progress());
        let result = upload_all(
            &cx(),
            Platform::Netlify,
            session,
            session.batches(),
            crate::concurrency::Concurrency::fixed(1),
            &meter,
        )
        .await;
        (result, meter.done())
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_upload_is_abandoned_and_retried() {
        let session = Scripted {
            stalls: 1,
            chunks: 3,
            every: Duration::from_secs(1),
            attempts: AtomicU32::new(0),
        };
        let (result, done) = run(&session).await;
        result.unwrap();
        assert_eq!(session.attempts.load(Ordering::SeqCst), 2);
        assert_eq!(done, (1, 3), "the stalled attempt counted nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_upload_that_keeps_moving_is_never_cut_off() {
        // Twenty minutes in all, a byte every 90 seconds: slow, but never stalled.
        let session = Scripted {
            stalls: 0,
            chunks: 14,
            every: Duration::from_secs(90),
            attempts: AtomicU32::new(0),
        };
        let (result, done) = run(&session).await;
        result.unwrap();
        assert_eq!(session.attempts.load(Ordering::SeqCst), 1);
        assert_eq!(done, (1, 14));
    }

    #[tokio::test(start_paused = true)]
    async fn an_upload_that_always_stalls_fails_with_a_sentence() {
        let session = Scripted {
            stalls: u32::MAX,
            chunks: 0,
            every: Duration::ZERO,
            attempts: AtomicU32::new(0),
        };
        let (result, done) = run(&session).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind(), "network");
        assert!(
            err.to_string()
                .contains("the upload stalled: nothing moved for 2 minutes"),
            "{err}"
        );
        assert_eq!(done, (0, 0));
    }
}
