//! Cloudflare Pages direct upload (`specs/cloudflare.md` §3): find or create the project, fetch
//! the upload token, ask which files are missing, upload them in buckets, then create the
//! deployment from the full manifest and poll it until it is live.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;

use super::pages_project::{find_project, projects_path, resolve_project, Project};
use super::pages_upload::{self, UploadToken, UPLOAD_CONCURRENCY};
use super::upload_gate::UploadGate;
use super::{multipart, Api, Cloudflare, Failure};
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::{Environment, Limits, Platform};
use crate::progress::Progress;
use crate::provider::descriptor::Descriptor;
use crate::provider::poll::{poll_until, Look, Poll, Polled, Seen};
use crate::provider::{
    AccountInfo, Attempt, Batch, Cx, DeploySession, Manifest, ProjectRef, Provider, Published,
    Target,
};
use crate::retry::retry;
use crate::secrets::CredentialKind;

const PLATFORM: Platform = Platform::CloudflarePages;

/// What Cloudflare Pages is and allows (`specs/README.md` limits; `specs/cloudflare.md`).
pub const DESCRIPTOR: Descriptor = Descriptor {
    platform: PLATFORM,
    account_platform: PLATFORM,
    // 25 MiB per file; the count comes from the upload JWT, 20,000 until then (a deploy
    // leaves it to the token: [`PagesProvider`]'s `limits`).
    limits: Limits {
        max_file_size: Some(25 * 1024 * 1024),
        max_files: Some(pages_upload::DEFAULT_MAX_FILES),
    },
    ignore_files: &[],
    // §3.2: these are Pages configuration, never assets; the configuration files travel as
    // their own multipart parts.
    ignore_patterns: &[
        "/_worker.js",
        "/_redirects",
        "/_headers",
        "/_routes.json",
        "/functions",
        "/.wrangler",
    ],
    api: Some(super::API),
    credentials: CredentialKind::Token,
    secret_vars: "CLOUDFLARE_API_TOKEN",
    env_vars: super::ENV_VARS,
    read_env: super::read_env,
    check_files: crate::provider::descriptor::any_files,
    build: |credentials, env| super::build(PLATFORM, credentials, env),
    served_here: false,
};

/// The branch preview deploys go to: any branch other than the production one is a preview
/// (§3.8, §3.10).
const PREVIEW_BRANCH: &str = "preview";

/// wrangler truncates commit messages to 384 UTF-8 bytes (§3.8).
const MAX_MESSAGE_BYTES: usize = 384;

/// How long a deployment may take to go live before we stop waiting.
const POLL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A first look after 25 ms, doubling up to 5 s: a small deployment is often live by then,
/// and the quick looks add only a handful of requests before the usual rhythm.
const POLL: Poll = Poll {
    first: Duration::from_millis(25),
    steps: &[],
    cap: Duration::from_secs(5),
    timeout: POLL_TIMEOUT,
    announce: true,
};

/// The Cloudflare Pages provider.
pub struct PagesProvider {
    cf: Cloudflare,
}

impl PagesProvider {
    pub(super) fn new(cf: Cloudflare) -> PagesProvider {
        PagesProvider { cf }
    }
}

/// A deployment (§3.8 "Response", §3.10).
#[derive(Debug, Clone, Deserialize)]
struct Deployment {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    latest_stage: Option<Stage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Stage {
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
}

/// Tells the person about Pages features Sitedrop leaves out (it publishes static files).
fn warn_about_functions(cx: &Cx, manifest: &Manifest) {
    let root = &manifest.root;
    let present: Vec<&str> = ["_worker.js", "functions", "_routes.json"]
        .into_iter()
        .filter(|name| root.join(name).exists())
        .collect();
    if !present.is_empty() {
        (cx.progress)(Progress::Warning {
            message: format!(
                "Sitedrop publishes static files only, so {} {} not deployed (Pages Functions need wrangler).",
                present.join(", "),
                if present.len() == 1 { "is" } else { "are" }
            ),
        });
    }
}

#[async_trait]
impl Provider for PagesProvider {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn digest_kind(&self) -> DigestKind {
        DigestKind::CfBlake3
    }

    /// 25 MiB per file. The file count is the upload token's `max_file_count_allowed` (20,000,
    /// or 100,000 on paid plans), so it is checked in [`Provider::begin`] once the token says
    /// which, not here.
    fn limits(&self) -> Limits {
        Limits {
            max_files: None,
            ..PLATFORM.limits()
        }
    }

    /// wrangler's three to start with, up to [`UPLOAD_CONCURRENCY`] while the API keeps up.
    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::adaptive(3, UPLOAD_CONCURRENCY)
    }

    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo> {
        self.cf.verify_credentials(cx).await
    }

    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        let api = self.cf.api(cx);
        let account = self
            .cf
            .account(cx, &api, target.account_ref.as_deref())
            .await?;
        warn_about_functions(cx, &manifest);
        let project = resolve_project(cx, &api, &account, target).await?;
        let token = UploadToken::fetch(cx, &api, &account, &project.name).await?;
        let limit = token.max_files().await;
        let count = manifest.files.len() as u64;
        if count > limit {
            return Err(Error::TooManyFiles {
                platform: PLATFORM,
                limit,
                count,
            });
        }
        let mut unique: Vec<&str> = manifest.files.iter().map(|f| f.digest.as_str()).collect();
        unique.sort_unstable();
        unique.dedup();
        let missing = pages_upload::check_missing(cx, &token, &unique).await?;
        // One file per missing hash: identical files (same bytes and extension) share a key.
        let mut first_of: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, f) in manifest.files.iter().enumerate() {
            first_of.entry(f.digest.as_str()).or_insert(i);
        }
        let to_send: Vec<usize> = missing
            .iter()
            .filter_map(|h| first_of.get(h.as_str()).copied())
            .collect();
        let batches = pages_upload::buckets(&manifest, to_send);
        Ok(Box::new(PagesSession {
            api,
            account,
            project,
            token,
            gate: UploadGate::new(UPLOAD_CONCURRENCY),
            manifest,
            batches,
            environment: target.environment,
            message: target.message.clone(),
        }))
    }

    /// `POST …/deployments/{id}/rollback`: Cloudflare's documented rollback (the spec leaves
    /// it out, §3.12), which makes an earlier successful production deployment live again.
    async fn rollback(
        &self,
        cx: &Cx,
        target: &Target,
        remote_deployment_id: &str,
    ) -> Result<Published> {
        let name = target.project.clone().ok_or_else(|| {
            Error::Invalid("This site has no Cloudflare Pages project yet.".into())
        })?;
        let api = self.cf.api(cx);
        let account = self
            .cf
            .account(cx, &api, target.account_ref.as_deref())
            .await?;
        let project = find_project(cx, &api, &account, &name)
            .await?
            .ok_or_else(|| Error::NotFound {
                platform: PLATFORM,
                what: "project",
                name: name.clone(),
            })?;
        let path = format!(
            "{}/{name}/deployments/{remote_deployment_id}/rollback",
            projects_path(&account)
        );
        let deployment: Deployment = retry(&cx.retry, &cx.cancel, |_| async {
            match api.send(api.request(Method::POST, &path)).await {
                Ok(d) => Ok(d),
                Err(Failure::Api { code: 8000009, .. }) => Err(Error::NotFound {
                    platform: PLATFORM,
                    what: "deployment",
                    name: remote_deployment_id.to_string(),
                }),
                Err(f) => Err(f.into()),
            }
        })
        .await?;
        let production = project.production_url();
        Ok(Published {
            url: deployment.url.clone().unwrap_or_else(|| production.clone()),
            remote_id: deployment.id,
            production_url: Some(production),
            claim_url: None,
            note: None,
        })
    }

    /// `DELETE …/pages/projects/{name}` (§3.11).
    async fn remove(&self, cx: &Cx, target: &Target) -> Result<()> {
        // 8000007: the project does not exist.
        self.cf.remove(cx, target, projects_path, 8000007).await
    }
}

struct PagesSession {
    api: Api,
    account: String,
    project: Project,
    token: UploadToken,
    gate: UploadGate,
    manifest: Arc<Manifest>,
    batches: Vec<Batch>,
    environment: Environment,
    message: Option<String>,
}

impl PagesSession {
    fn project_path(&self) -> String {
        format!("{}/{}", projects_path(&self.account), self.project.name)
    }

    /// The branch this deploy goes to: production's, or a preview branch.
    fn branch(&self) -> String {
        let production = self.project.production_branch();
        match self.environment {
            Environment::Production => production.to_string(),
            Environment::Preview if production == PREVIEW_BRANCH => "sitedrop-preview".into(),
            Environment::Preview => PREVIEW_BRANCH.into(),
        }
    }

    /// The multipart deployment form (§3.8): the manifest of every file, the branch, the
    /// message, and the top-level `_headers` / `_redirects`.
    async fn form(&self) -> Result<(String, Vec<u8>)> {
        let manifest: BTreeMap<String, &str> = self
            .manifest
            .files
            .iter()
            .map(|f| (f.path.with_leading_slash(), f.digest.as_str()))
            .collect();
        let manifest =
            serde_json::to_string(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
        let mut form = multipart::Form::new();
        form.text("manifest", &manifest)
            .text("branch", &self.branch());
        if let Some(message) = self.message.as_deref().filter(|m| !m.trim().is_empty()) {
            form.text("commit_message", truncate_bytes(message, MAX_MESSAGE_BYTES));
        }
        for name in ["_headers", "_redirects"] {
            let path = self.manifest.root.join(name);
            match tokio::fs::read(&path).await {
                Ok(bytes) => {
                    form.file(name, name, "application/octet-stream", &bytes);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Unreadable {
                        path: name.to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(form.finish())
    }

    /// `POST …/deployments` (§3.8). A repeat after a lost answer may create a second,
    /// identical deployment; that is harmless, the latest wins.
    async fn create_deployment(&self, cx: &Cx) -> Result<Deployment> {
        let (content_type, body) = self.form().await?;
        let path = format!("{}/deployments", self.project_path());
        retry(&cx.retry, &cx.cancel, |_| async {
            let request = self
                .api
                .request(Method::POST, &path)
                .header(reqwest::header::CONTENT_TYPE, &content_type)
                .body(body.clone());
            Ok(self.api.send(request).await?)
        })
        .await
    }

    /// Polls `GET …/deployments/{id}` until the `deploy` stage succeeds or something fails
    /// (§3.10), reporting each new stage. A failure brings its last log line.
    async fn wait_until_live(&self, cx: &Cx, created: Deployment) -> Result<Deployment> {
        let path = format!("{}/deployments/{}", self.project_path(), created.id);
        // The first look is the answer that created the deployment.
        let mut first = Some(created);
        let polled = poll_until(cx, &POLL, || {
            let given = first.take();
            let path = &path;
            async move {
                let current: Deployment = match given {
                    Some(d) => d,
                    None => self.api.get(cx, path).await?,
                };
                let stage = current.latest_stage.clone().unwrap_or_default();
                let look = match (stage.name.as_str(), stage.status.as_str()) {
                    ("deploy", "success") => Look::Done(current),
                    (_, "failure") | (_, "canceled") => Look::Failed(Error::DeployFailed {
                        platform: PLATFORM,
                        detail: self.failure_line(cx, &current.id, &stage).await,
                    }),
                    _ => Look::Pending,
                };
                // Every new stage is shown, the last one too.
                let seen = Seen::new(look, stage_words(&stage));
                Ok(if stage.name.is_empty() {
                    seen
                } else {
                    seen.showing(format!("Cloudflare Pages: {}", stage_words(&stage)))
                })
            }
        })
        .await?;
        match polled {
            Polled::Done(d) => Ok(d),
            Polled::TimedOut { state } => Err(Error::DeployFailed {
                platform: PLATFORM,
                detail: format!(
                    "the deployment was still at \"{state}\" after {} minutes. Check it in the Cloudflare dashboard",
                    POLL_TIMEOUT.as_secs() / 60
                ),
            }),
        }
    }

    /// The last line of a failed deployment's log (`GET …/history/logs`, §3.10).
    async fn failure_line(&self, cx: &Cx, id: &str, stage: &Stage) -> String {
        #[derive(Deserialize)]
        struct Logs {
            #[serde(default)]
            data: Vec<Line>,
        }
        #[derive(Deserialize)]
        struct Line {
            #[serde(default)]
            line: String,
        }
        let path = format!(
            "{}/deployments/{id}/history/logs?size=10000000",
            self.project_path()
        );
        let fallback = format!("the {} stage failed", stage.name);
        match self.api.get::<Logs>(cx, &path).await {
            Ok(logs) => logs
                .data
                .iter()
                .rev()
                .map(|l| l.line.trim())
                .find(|l| !l.is_empty())
                .map(|l| format!("{fallback}: {l}"))
                .unwrap_or(fallback),
            Err(_) => fallback,
        }
    }
}

/// A stage in words: "build active", "deploy success".
fn stage_words(stage: &Stage) -> String {
    format!("{} {}", stage.name, stage.status)
        .trim()
        .to_string()
}

/// At most `max` bytes of `s`, cut on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[async_trait]
impl DeploySession for PagesSession {
    fn project(&self) -> ProjectRef {
        ProjectRef {
            name: self.project.name.clone(),
            remote_id: self.project.id.clone(),
            account_ref: Some(self.account.clone()),
        }
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.clone()
    }

    async fn upload(&self, cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()> {
        pages_upload::upload(cx, &self.token, &self.gate, &self.manifest, batch, attempt).await
    }

    async fn finish(&self, cx: &Cx) -> Result<Published> {
        let mut hashes: Vec<&str> = self
            .manifest
            .files
            .iter()
            .map(|f| f.digest.as_str())
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        // wrangler only warns when this fails (§3.7): the deployment does not depend on it.
        if let Err(e) = pages_upload::upsert_hashes(cx, &self.token, &hashes).await {
            (cx.progress)(Progress::Warning {
                message: format!("Cloudflare did not refresh the file list ({e}); the next deploy may upload some files again."),
            });
        }
        let created = self.create_deployment(cx).await?;
        let live = self.wait_until_live(cx, created).await?;
        let production = self.environment == Environment::Production;
        let url = live.url.clone().ok_or_else(|| Error::BadResponse {
            platform: PLATFORM,
            detail: "the deployment has no address".into(),
        })?;
        Ok(Published {
            remote_id: live.id,
            url,
            production_url: production.then(|| self.project.production_url()),
            claim_url: None,
            note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_count_is_left_to_the_upload_token() {
        let cf = Cloudflare {
            platform: PLATFORM,
            base: String::new(),
            token: crate::secrets::Secret::new("t"),
            account: None,
        };
        let limits = PagesProvider::new(cf).limits();
        assert_eq!(limits.max_files, None, "paid plans allow 100,000 files");
        assert_eq!(limits.max_file_size, Some(25 * 1024 * 1024));
    }

    #[test]
    fn messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        let cut = truncate_bytes(&long, MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), 384);
        assert_eq!(truncate_bytes("short", 384), "short");
        assert_eq!(truncate_bytes("aé", 2), "a");
    }
}
