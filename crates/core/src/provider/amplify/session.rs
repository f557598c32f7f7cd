//! One Amplify deploy: zip, CreateDeployment, upload, StartDeployment, poll
//! (`specs/amplify.md` §1.2 steps 1–5).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::client::{label, App, Branch, Client, DeploymentOut, JobSummaryOut};
use super::upload::{self, UploadUrl, MAX_ZIP};
use super::zip::{self, BuiltZip};
use super::{get_job, site_url, stop_job, Op, P};
use crate::error::{ByteSize, Error, Result};
use crate::platform::Environment;
use crate::provider::poll::{poll_until, Look, Poll, Polled, Seen};
use crate::provider::{Attempt, Batch, Cx, DeploySession, Manifest, ProjectRef, Published};

/// How long to wait for a started job, as the Amplify CLI does (§1.2: 10 minutes).
const JOB_TIMEOUT: Duration = Duration::from_secs(600);
/// GetJob every 3 s at most (§1.2), sooner at first: most jobs finish quickly. The first
/// look comes after 25 ms and the wait doubles, but stays at most 200 ms for the
/// first 10 s, so a job that takes a second is seen within a fifth of one: about
/// fifty GetJob calls for a job that runs the whole early window.
const POLL: Poll = Poll {
    first: Duration::from_millis(25),
    steps: &[(Duration::from_secs(10), Duration::from_millis(200))],
    cap: Duration::from_secs(3),
    timeout: JOB_TIMEOUT,
    announce: true,
};

/// A deployment created but not yet started.
struct Created {
    job_id: String,
    url: UploadUrl,
}

#[derive(Default)]
struct State {
    zip: Option<BuiltZip>,
    created: Option<Created>,
}

pub struct AmplifySession {
    client: Client,
    app: App,
    branch: Branch,
    manifest: Arc<Manifest>,
    environment: Environment,
    project: ProjectRef,
    tmp_dir: PathBuf,
    state: tokio::sync::Mutex<State>,
    /// The created job left CREATED: stopped when the session is dropped unfinished, so it
    /// does not block the next deploy (§4.2 pitfall 2).
    pending_job: std::sync::Mutex<Option<(String, Cx)>>,
    started: AtomicBool,
}

impl AmplifySession {
    pub fn new(
        client: Client,
        app: App,
        branch: Branch,
        manifest: Arc<Manifest>,
        environment: Environment,
        project: ProjectRef,
        tmp_dir: PathBuf,
    ) -> AmplifySession {
        AmplifySession {
            client,
            app,
            branch,
            manifest,
            environment,
            project,
            tmp_dir,
            state: tokio::sync::Mutex::new(State::default()),
            pending_job: std::sync::Mutex::new(None),
            started: AtomicBool::new(false),
        }
    }

    fn branch_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}",
            label(&self.app.app_id),
            label(&self.branch.branch_name)
        )
    }

    /// Packs the site, counting `share` progress bytes in proportion to the bytes read.
    async fn build_zip(&self, cx: &Cx, attempt: &Attempt, share: u64) -> Result<BuiltZip> {
        let (manifest, dir, cancel, attempt) = (
            self.manifest.clone(),
            self.tmp_dir.clone(),
            cx.cancel.clone(),
            attempt.clone(),
        );
        let total = manifest.total_bytes.max(1);
        tokio::task::spawn_blocking(move || {
            let (read, counted) = (AtomicU64::new(0), AtomicU64::new(0));
            zip::build(&manifest.files, manifest.kind, &dir, &cancel, |file, n| {
                attempt.file_started(file.path.as_str());
                let read = read.fetch_add(n, Ordering::Relaxed) + n;
                let due = (share as u128 * read as u128 / total as u128) as u64;
                let before = counted.fetch_max(due, Ordering::Relaxed);
                attempt.add_bytes(due.saturating_sub(before));
            })
        })
        .await
        .map_err(|e| Error::Internal(format!("a background task failed: {e}")))?
    }

    /// CreateDeployment, zip flavour (body `{}`, §1.3). A job left unfinished by someone else
    /// since `begin` is stopped and the call made once more.
    async fn create_deployment(&self, cx: &Cx) -> Result<Created> {
        let path = format!("{}/deployments", self.branch_path());
        let mut stopped_once = false;
        loop {
            let result = self
                .client
                .call::<DeploymentOut>(
                    cx,
                    Op::CreateDeployment,
                    Method::POST,
                    &path,
                    &[],
                    Some(&json!({})),
                )
                .await;
            let out = match result {
                Ok(out) => out,
                Err(Error::Rejected { detail, .. }) if detail.contains("was not finished") => {
                    let job = detail
                        .split("job(deployment) ")
                        .nth(1)
                        .and_then(|s| s.split_whitespace().next())
                        .unwrap_or("")
                        .to_string();
                    if stopped_once || job.is_empty() {
                        return Err(Error::DeployFailed {
                            platform: P,
                            detail: format!(
                                "an earlier deploy of this branch (job {job}) has not finished and could not be stopped. Wait a few minutes, or stop it in the Amplify console, then deploy again"
                            ),
                        });
                    }
                    stop_job(cx, &self.client, &self.app, &self.branch.branch_name, &job).await?;
                    stopped_once = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let job_id =
                out.job_id
                    .filter(|j| !j.is_empty())
                    .ok_or_else(|| Error::BadResponse {
                        platform: P,
                        detail: "CreateDeployment returned no jobId".into(),
                    })?;
            let url = UploadUrl::new(out.zip_upload_url.expose())?;
            return Ok(Created { job_id, url });
        }
    }

    /// Polls GetJob until the job ends, reporting its status (§1.3 JobStatus). Unknown
    /// statuses count as unfinished. A job left running (the wait ran out, or was
    /// cancelled) is stopped, so it does not block the next deploy.
    async fn wait(&self, cx: &Cx, job_id: &str) -> Result<()> {
        let branch = &self.branch.branch_name;
        let polled = poll_until(cx, &POLL, || async {
            let job = get_job(cx, &self.client, &self.app, branch, job_id)
                .await?
                .job;
            let status = job.summary.status.as_str();
            let look = match status {
                "SUCCEED" => Look::Done(()),
                "FAILED" => {
                    let reason = job
                        .steps
                        .iter()
                        .find_map(|s| s.status_reason.clone().filter(|r| !r.trim().is_empty()))
                        .map(|r| format!(": {}", crate::http::shorten(r.trim(), 300)))
                        .unwrap_or_default();
                    Look::Failed(Error::DeployFailed {
                        platform: P,
                        detail: format!(
                            "the deploy (job {job_id}) failed{reason}. The deploy log is in the AWS Amplify console, under the app's branch"
                        ),
                    })
                }
                "CANCELLED" | "CANCELLING" => Look::Failed(Error::DeployFailed {
                    platform: P,
                    detail: format!(
                        "the deploy (job {job_id}) was stopped before it finished, in the Amplify console or by another deploy. Deploy again"
                    ),
                }),
                _ => Look::Pending,
            };
            // Every new status is shown, the last one too.
            Ok(Seen::new(look, status).showing(describe(status)))
        })
        .await;
        match polled {
            Ok(Polled::Done(())) => Ok(()),
            Ok(Polled::TimedOut { state }) => {
                let _ = stop_job(cx, &self.client, &self.app, branch, job_id).await;
                Err(Error::DeployFailed {
                    platform: P,
                    detail: format!(
                        "the deploy (job {job_id}) was still {} after {} minutes, so Sitedrop stopped it. AWS may be having problems: try again later",
                        state.to_ascii_lowercase(),
                        JOB_TIMEOUT.as_secs() / 60
                    ),
                })
            }
            Err(Error::Cancelled) => {
                let quiet = Cx {
                    cancel: CancellationToken::new(),
                    ..cx.clone()
                };
                let _ = stop_job(&quiet, &self.client, &self.app, branch, job_id).await;
                Err(Error::Cancelled)
            }
            Err(e) => Err(e),
        }
    }
}

/// A job status in words.
fn describe(status: &str) -> String {
    match status {
        "CREATED" | "PENDING" => "the deploy is queued".into(),
        "PROVISIONING" => "the deploy is starting".into(),
        "RUNNING" => "deploying the zip".into(),
        "SUCCEED" => "deployed".into(),
        other => other.to_ascii_lowercase(),
    }
}

#[async_trait]
impl DeploySession for AmplifySession {
    fn project(&self) -> ProjectRef {
        self.project.clone()
    }

    /// Every file, in one batch: the zip holds the whole site.
    fn batches(&self) -> Vec<Batch> {
        vec![Batch::new(
            &self.manifest,
            (0..self.manifest.files.len()).collect(),
        )]
    }

    /// Packing counts for the first half of the batch's progress, sending for the second.
    /// A retry reuses the zip and the deployment already made.
    async fn upload(&self, cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()> {
        let mut state = self.state.lock().await;
        let packing = batch.bytes / 2;
        let (path, len) = match &state.zip {
            Some(zip) => {
                attempt.add_bytes(packing);
                (zip.path.to_path_buf(), zip.len)
            }
            None => {
                let zip = self.build_zip(cx, attempt, packing).await?;
                let built = (zip.path.to_path_buf(), zip.len);
                state.zip = Some(zip);
                built
            }
        };
        if len > MAX_ZIP {
            return Err(Error::LimitExceeded {
                platform: P,
                detail: format!(
                    "a deployment zip may be at most {}, and this site's is {}. Leave out what the site does not need (list it in .sitedropignore)",
                    ByteSize(MAX_ZIP),
                    ByteSize(len)
                ),
            });
        }
        if state.created.is_none() {
            let created = self.create_deployment(cx).await?;
            if let Ok(mut pending) = self.pending_job.lock() {
                *pending = Some((created.job_id.clone(), cx.clone()));
            }
            state.created = Some(created);
        }
        let created = state
            .created
            .as_ref()
            .ok_or_else(|| Error::Internal("the Amplify deployment was not created".into()))?;
        upload::put(cx, &created.url, &path, len, attempt, batch.bytes - packing).await?;
        attempt.files_done(batch.files.len() as u64);
        Ok(())
    }

    /// Stops the deployment's job, started or not, so it does not block the next deploy of the
    /// branch (§4.2 pitfall 2).
    async fn abort(&self, cx: &Cx) {
        let job = self
            .state
            .lock()
            .await
            .created
            .as_ref()
            .map(|c| c.job_id.clone());
        if let Some(job) = job {
            // The drop guard has nothing left to do.
            if let Ok(mut pending) = self.pending_job.lock() {
                pending.take();
            }
            let _ =
                super::stop_job(cx, &self.client, &self.app, &self.branch.branch_name, &job).await;
        }
    }

    async fn finish(&self, cx: &Cx) -> Result<Published> {
        let job_id = {
            let state = self.state.lock().await;
            state
                .created
                .as_ref()
                .map(|c| c.job_id.clone())
                .ok_or_else(|| Error::Internal("finish came before the upload".into()))?
        };
        let path = format!("{}/deployments/start", self.branch_path());
        let _: JobSummaryOut = self
            .client
            .call(
                cx,
                Op::StartDeployment,
                Method::POST,
                &path,
                &[],
                Some(&json!({"jobId": job_id})),
            )
            .await?;
        self.started.store(true, Ordering::SeqCst);
        self.wait(cx, &job_id).await?;
        let url = site_url(&self.app, &self.branch);
        Ok(Published {
            remote_id: job_id,
            production_url: (self.environment == Environment::Production).then(|| url.clone()),
            url,
            claim_url: None,
            note: None,
        })
    }
}

impl Drop for AmplifySession {
    /// A deploy abandoned between CreateDeployment and StartDeployment stops its job, best
    /// effort (§4.2 pitfall 2); the next deploy's check stops it otherwise.
    fn drop(&mut self) {
        if self.started.load(Ordering::SeqCst) {
            return;
        }
        let Some((job, cx)) = self.pending_job.lock().ok().and_then(|mut p| p.take()) else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (client, app, branch) = (
            self.client.clone(),
            self.app.clone(),
            self.branch.branch_name.clone(),
        );
        let cx = Cx {
            cancel: CancellationToken::new(),
            ..cx
        };
        handle.spawn(async move {
            let _ = stop_job(&cx, &client, &app, &branch, &job).await;
        });
    }
}
