//! AWS Amplify Hosting, manual deploys without git (`specs/amplify.md`).
//!
//! ```text
//! begin:  find or create the app (platform WEB, no repository) and the branch
//!         (production → `main`, preview → `preview`); stop jobs left pending (§4.2 pitfall 2)
//! upload: one batch of every file: build the zip in a temp file, CreateDeployment,
//!         PUT the zip to the presigned URL (a retry re-sends the same zip to the same URL)
//! finish: StartDeployment, poll GetJob to SUCCEED / FAILED / CANCELLED
//! ```
//!
//! Every control-plane call is signed with SigV4 ([`signing`]) and sent by Sitedrop's own
//! HTTP client ([`client`]). A zip platform has no incremental uploads: each deploy sends
//! the whole site. Files are keyed by MD5, the digest of the file-map flavour (§1.3), which
//! the zip builder re-checks as it packs each file.

mod client;
mod session;
pub mod signing;
mod upload;
mod zip;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::naming::slug;
use super::{
    require, AccountInfo, Cx, DeploySession, Manifest, ProjectRef, Provider, Published, Target,
};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::{Environment, Platform};
use crate::progress::Progress;
use crate::retry::retry;
use crate::secrets::{Credentials, ResolvedCredentials};
use client::{label, App, AppOut, AppsOut, Branch, BranchOut, Client, JobOut, JobsOut};

const P: Platform = Platform::Amplify;

/// The operations Sitedrop calls (§1.2), for error sentences and IAM permission names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListApps,
    GetApp,
    CreateApp,
    GetBranch,
    CreateBranch,
    DeleteBranch,
    ListJobs,
    GetJob,
    StopJob,
    CreateDeployment,
    StartDeployment,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::ListApps => "ListApps",
            Op::GetApp => "GetApp",
            Op::CreateApp => "CreateApp",
            Op::GetBranch => "GetBranch",
            Op::CreateBranch => "CreateBranch",
            Op::DeleteBranch => "DeleteBranch",
            Op::ListJobs => "ListJobs",
            Op::GetJob => "GetJob",
            Op::StopJob => "StopJob",
            Op::CreateDeployment => "CreateDeployment",
            Op::StartDeployment => "StartDeployment",
        }
    }

    /// What a NotFound answer to this operation is about.
    fn object(self) -> &'static str {
        match self {
            Op::ListApps | Op::GetApp | Op::CreateApp => "app",
            Op::GetBranch | Op::CreateBranch | Op::DeleteBranch | Op::CreateDeployment => "branch",
            Op::ListJobs | Op::GetJob | Op::StopJob | Op::StartDeployment => "job",
        }
    }
}

/// The branch a deploy goes to: one for production, one shared by previews.
pub fn branch_for(environment: Environment) -> &'static str {
    match environment {
        Environment::Production => "main",
        Environment::Preview => "preview",
    }
}

/// App names are 1–255 characters (§1.3 CreateApp).
const MAX_NAME: usize = 255;

/// Builds the provider from AWS keys.
pub fn build(credentials: Option<ResolvedCredentials>, env: &Env) -> Result<Box<dyn Provider>> {
    let resolved = require(P, credentials)?;
    resolved.credentials.check_shape(P)?;
    let Credentials::Aws(aws) = resolved.credentials else {
        return Err(Error::Invalid(
            "AWS Amplify needs AWS keys (an access key id and a secret access key), not an API token."
                .into(),
        ));
    };
    let base = env.api_base(P, Some(&aws.region));
    Ok(Box::new(AmplifyProvider {
        client: Client::new(base, aws)?,
    }))
}

/// The Amplify provider.
pub struct AmplifyProvider {
    client: Client,
}

impl AmplifyProvider {
    /// The app for `target`: by the id the history knows, else by name among the manual
    /// apps (names are not unique, §1.3 ListApps), else a new one (`create`).
    async fn app(&self, cx: &Cx, target: &Target, create: bool) -> Result<Option<App>> {
        if let Some(id) = &target.remote_id {
            let path = format!("/apps/{}", label(id));
            match self
                .client
                .call::<AppOut>(cx, Op::GetApp, Method::GET, &path, &[], None::<&()>)
                .await
            {
                Ok(out) => return Ok(Some(out.app)),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let name = app_name(target);
        // Only a name the person chose is looked up. Amplify app names are not unique, and an
        // app whose name merely matches the folder's is some other site: deploying over it
        // (or removing its branches) would be wrong. A derived name always makes a new app;
        // after that the history remembers its id.
        let chosen = target
            .project
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty());
        if chosen {
            // The chosen value may be an app id or a name; a name several manual apps share
            // is ambiguous, so the person picks by id.
            let apps = self.apps(cx).await?;
            if let Some(app) = apps.iter().find(|a| a.app_id == name) {
                return Ok(Some(app.clone()));
            }
            let mut matches: Vec<App> = apps
                .into_iter()
                .filter(|a| is_manual_named(a, &name))
                .collect();
            if matches.len() > 1 {
                return Err(Error::ProjectChoiceNeeded {
                    platform: Platform::Amplify,
                    what: "app",
                    name,
                    options: matches.into_iter().map(|a| (a.app_id, a.name)).collect(),
                });
            }
            if let Some(app) = matches.pop() {
                return Ok(Some(app));
            }
        }
        if !create {
            return Ok(None);
        }
        self.create_app(cx, &name).await.map(Some)
    }

    /// Every app in the region, page by page (§1.3 ListApps).
    async fn apps(&self, cx: &Cx) -> Result<Vec<App>> {
        let mut apps = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("maxResults", "100")];
            if let Some(t) = &token {
                query.push(("nextToken", t.as_str()));
            }
            let page: AppsOut = self
                .client
                .call(cx, Op::ListApps, Method::GET, "/apps", &query, None::<&()>)
                .await?;
            apps.extend(page.apps);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(apps),
            }
        }
    }

    /// A new manual app: `platform: WEB` and no repository; it can never become
    /// git-connected (§1.3 CreateApp).
    ///
    /// CreateApp is not idempotent and app names are not unique: when an answer is lost after
    /// Amplify made the app, a blind retry would make a second one and leave the first behind.
    /// So the apps of that name are noted first, and before each retry an app of that name
    /// that was not there before is taken as the one the lost answer was about.
    async fn create_app(&self, cx: &Cx, name: &str) -> Result<App> {
        let before: Vec<String> = self
            .apps(cx)
            .await?
            .into_iter()
            .filter(|a| is_manual_named(a, name))
            .map(|a| a.app_id)
            .collect();
        let body = json!({"name": name, "platform": "WEB"});
        retry(&cx.retry, &cx.cancel, |attempt| {
            let (before, body) = (&before, &body);
            async move {
                if attempt > 0 {
                    let made = self
                        .apps(cx)
                        .await?
                        .into_iter()
                        .find(|a| is_manual_named(a, name) && !before.contains(&a.app_id));
                    if let Some(app) = made {
                        return Ok(app);
                    }
                }
                self.client
                    .call_once::<AppOut>(cx, Op::CreateApp, Method::POST, "/apps", &[], Some(body))
                    .await
                    .map(|out| out.app)
            }
        })
        .await
    }

    /// The branch, created on first use.
    async fn branch(&self, cx: &Cx, app: &App, environment: Environment) -> Result<Branch> {
        let name = branch_for(environment);
        let path = format!("/apps/{}/branches/{}", label(&app.app_id), label(name));
        let get = || async {
            self.client
                .call::<BranchOut>(cx, Op::GetBranch, Method::GET, &path, &[], None::<&()>)
                .await
                .map(|out| out.branch)
        };
        match get().await {
            Ok(branch) => return Ok(branch),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let stage = match environment {
            Environment::Production => "PRODUCTION",
            Environment::Preview => "DEVELOPMENT",
        };
        let created = self
            .client
            .call::<BranchOut>(
                cx,
                Op::CreateBranch,
                Method::POST,
                &format!("/apps/{}/branches", label(&app.app_id)),
                &[],
                Some(&json!({"branchName": name, "stage": stage})),
            )
            .await;
        match created {
            Ok(out) => Ok(out.branch),
            // A retried CreateBranch whose first try got through ("already exists").
            Err(e @ Error::Rejected { .. }) => get().await.map_err(|_| e),
            Err(e) => Err(e),
        }
    }
}

/// The app name: the user's, else derived from the folder.
/// A manual app (no repository) called `name`.
fn is_manual_named(app: &App, name: &str) -> bool {
    app.repository.as_deref().unwrap_or("").is_empty() && app.name == name
}

fn app_name(target: &Target) -> String {
    match target.project.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => p.chars().take(MAX_NAME).collect(),
        _ => slug(&target.folder_name, MAX_NAME),
    }
}

/// The address a branch serves (§1.2 step 5): read `displayName`, never derive it.
fn site_url(app: &App, branch: &Branch) -> String {
    format!("https://{}.{}/", branch.display_name, app.default_domain)
}

/// Job statuses that block a new deployment on the branch (§1.3 JobStatus, §4.2 pitfall 2).
fn unfinished(status: &str) -> bool {
    matches!(status, "CREATED" | "PENDING" | "PROVISIONING" | "RUNNING")
}

/// Stops every job still pending or running on the branch, as the Amplify CLI does before a
/// deploy (`cancelAllPendingJob`, §1.2); a single stuck job would block every later deploy.
/// Returns the ids stopped.
async fn stop_unfinished(cx: &Cx, client: &Client, app: &App, branch: &str) -> Result<Vec<String>> {
    let path = format!(
        "/apps/{}/branches/{}/jobs",
        label(&app.app_id),
        label(branch)
    );
    let jobs: JobsOut = client
        .call(
            cx,
            Op::ListJobs,
            Method::GET,
            &path,
            &[("maxResults", "50")],
            None::<&()>,
        )
        .await?;
    let mut stopped = Vec::new();
    for job in jobs.job_summaries.iter().filter(|j| unfinished(&j.status)) {
        stop_job(cx, client, app, branch, &job.job_id).await?;
        stopped.push(job.job_id.clone());
    }
    if !stopped.is_empty() {
        (cx.progress)(Progress::Warning {
            message: format!(
                "Stopped an earlier AWS Amplify deploy that never finished (job {}); it would have blocked this one.",
                stopped.join(", ")
            ),
        });
    }
    Ok(stopped)
}

/// StopJob; a job that finished in the meantime is fine.
async fn stop_job(cx: &Cx, client: &Client, app: &App, branch: &str, job: &str) -> Result<()> {
    let path = format!(
        "/apps/{}/branches/{}/jobs/{}/stop",
        label(&app.app_id),
        label(branch),
        label(job)
    );
    match client
        .call::<serde_json::Value>(cx, Op::StopJob, Method::DELETE, &path, &[], None::<&()>)
        .await
    {
        Ok(_) | Err(Error::Rejected { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Provider for AmplifyProvider {
    fn platform(&self) -> Platform {
        P
    }

    /// The zip flavour sends no digest, so the engine's fingerprint (the digest cache, the
    /// check that a file did not change before it was packed) can be the fastest this machine
    /// computes: SHA-256, which current CPUs run in hardware, where MD5 (the fileMap flavour's
    /// digest, §1.3) runs in software at a third of the speed.
    fn digest_kind(&self) -> DigestKind {
        DigestKind::Sha256
    }

    /// Amplify takes the whole site again with every deployment (§1.3): an unchanged folder
    /// would be sent again in full.
    fn deduplicates_files(&self) -> bool {
        false
    }

    /// One batch, one `PUT`.
    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::fixed(1)
    }

    /// ListApps with one result: the cheapest signed call (§1.3).
    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo> {
        let _: AppsOut = self
            .client
            .call(
                cx,
                Op::ListApps,
                Method::GET,
                "/apps",
                &[("maxResults", "1")],
                None::<&()>,
            )
            .await?;
        Ok(AccountInfo {
            label: format!(
                "AWS key …{} in {}",
                self.client.key_tail(),
                self.client.region()
            ),
            account_ref: Some(self.client.region().to_string()),
        })
    }

    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        let app = self
            .app(cx, target, true)
            .await?
            .ok_or_else(|| Error::Internal("the Amplify app could not be created".into()))?;
        let branch = self.branch(cx, &app, target.environment).await?;
        stop_unfinished(cx, &self.client, &app, &branch.branch_name).await?;
        let project = ProjectRef {
            name: app.name.clone(),
            remote_id: Some(app.app_id.clone()),
            account_ref: Some(self.client.region().to_string()),
        };
        Ok(Box::new(session::AmplifySession::new(
            self.client.clone(),
            app,
            branch,
            manifest,
            target.environment,
            project,
            zip::temp_dir(&cx.data_dir),
        )))
    }

    /// Amplify has no rollback for manual apps, and Sitedrop keeps no earlier zips to
    /// deploy again (§1.3 "Rollback / redeploy").
    async fn rollback(&self, _cx: &Cx, _target: &Target, _remote: &str) -> Result<Published> {
        Err(Error::Unsupported(
            "AWS Amplify keeps no earlier version of a site deployed without git that Sitedrop could switch back to. To go back, deploy the earlier version of your folder again."
                .into(),
        ))
    }

    /// DeleteBranch for the production and preview branches (the app itself stays, empty).
    async fn remove(&self, cx: &Cx, target: &Target) -> Result<()> {
        let Some(app) = self.app(cx, target, false).await? else {
            return Ok(());
        };
        for environment in [Environment::Production, Environment::Preview] {
            let path = format!(
                "/apps/{}/branches/{}",
                label(&app.app_id),
                label(branch_for(environment))
            );
            match self
                .client
                .call::<BranchOut>(
                    cx,
                    Op::DeleteBranch,
                    Method::DELETE,
                    &path,
                    &[],
                    None::<&()>,
                )
                .await
            {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Reads a job (§1.3 GetJob).
async fn get_job(cx: &Cx, client: &Client, app: &App, branch: &str, job: &str) -> Result<JobOut> {
    let path = format!(
        "/apps/{}/branches/{}/jobs/{}",
        label(&app.app_id),
        label(branch),
        label(job)
    );
    client
        .call(cx, Op::GetJob, Method::GET, &path, &[], None::<&()>)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_branches() {
        let mut t = Target {
            folder_name: "My Blog".into(),
            ..Default::default()
        };
        assert_eq!(app_name(&t), "my-blog");
        t.project = Some("  Team Site ".into());
        assert_eq!(app_name(&t), "Team Site");
        assert_eq!(branch_for(Environment::Preview), "preview");
        assert!(unfinished("PROVISIONING") && !unfinished("CANCELLING") && !unfinished("SUCCEED"));
    }
}
