//! Providers: what differs between platforms, behind one trait.
//!
//! A provider knows its digest, its limits and ignore rules, how to check credentials, how to
//! find or create the project, and three steps of a deploy:
//!
//! 1. [`Provider::begin`] — find or create the project, tell the platform what the site holds
//!    (the manifest of digests), learn what it lacks, and group that into upload [`Batch`]es;
//! 2. [`DeploySession::upload`] — send one batch (the engine runs batches in parallel, with
//!    the retry policy, and counts progress);
//! 3. [`DeploySession::finish`] — create or publish the deployment and poll until it is live
//!    or has failed.
//!
//! Everything else — walking, hashing, scheduling, retrying, progress, verification,
//! history — is the engine's, written once.

pub mod amplify;
pub mod body;
pub mod cloudflare;
pub mod local;
mod meter;
pub mod naming;
pub mod netlify;
pub mod vercel;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::concurrency::Concurrency;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::hash::{Digest, DigestKind};
use crate::http::Http;
use crate::platform::{Environment, Limits, Platform};
use crate::progress::ProgressSink;
use crate::relpath::RelPath;
use crate::retry::RetryPolicy;
use crate::scan::FileSet;
use crate::secrets::ResolvedCredentials;

pub use meter::{Attempt, UploadMeter};

/// What every provider call may use.
#[derive(Clone)]
pub struct Cx {
    pub http: Http,
    pub env: Env,
    pub retry: RetryPolicy,
    pub progress: ProgressSink,
    pub cancel: CancellationToken,
    /// Sitedrop's data folder (local sites live under it).
    pub data_dir: PathBuf,
}

/// One file of the site, with the digest its platform keys it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    pub path: RelPath,
    pub abs: PathBuf,
    pub size: u64,
    pub digest: Digest,
}

/// The whole site as the platform will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The deployed folder (platform configuration files such as `_headers` are read from it).
    pub root: PathBuf,
    pub kind: DigestKind,
    pub files: Vec<ManifestFile>,
    pub total_bytes: u64,
}

impl Manifest {
    /// Pairs scanned files with their digests (same order).
    pub fn new(set: &FileSet, kind: DigestKind, digests: Vec<Digest>) -> Manifest {
        let files: Vec<ManifestFile> = set
            .files
            .iter()
            .zip(digests)
            .map(|(f, digest)| ManifestFile {
                path: f.path.clone(),
                abs: f.abs.clone(),
                size: f.size,
                digest,
            })
            .collect();
        Manifest {
            root: set.root.clone(),
            kind,
            total_bytes: set.total_bytes,
            files,
        }
    }

    /// What the site would publish, by content: SHA-256 over every file's path, size and
    /// digest, in path order. Two folders with the same digest publish the same bytes at the
    /// same addresses (on the same platform: the file digests are the platform's).
    pub fn content_digest(&self) -> String {
        use sha2::{Digest as _, Sha256};
        let mut files: Vec<&ManifestFile> = self.files.iter().collect();
        files.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
        let mut hasher = Sha256::new();
        hasher.update(self.kind.id().as_bytes());
        for f in files {
            // Paths cannot hold NUL, so the fields cannot run into each other.
            hasher.update(f.path.as_str().as_bytes());
            hasher.update([0]);
            hasher.update(f.size.to_le_bytes());
            hasher.update(f.digest.as_str().as_bytes());
            hasher.update([0]);
        }
        hex::encode(hasher.finalize())
    }
}

/// Where a deploy should land, as the user and the history know it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The project / site / app name: the user's choice, else the one remembered for this
    /// folder, else `None` and the provider derives one from `folder_name`.
    pub project: Option<String>,
    /// The platform's id for the project, when the history knows it.
    pub remote_id: Option<String>,
    /// The folder's name, to derive a project name from.
    pub folder_name: String,
    pub environment: Environment,
    /// A note for the platform's deploy log ("fix typo on about page").
    pub message: Option<String>,
    /// The account within the credentials (Cloudflare account id, Vercel team, AWS region).
    pub account_ref: Option<String>,
}

/// A group of manifest entries (indices into [`Manifest::files`]) uploaded in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub files: Vec<usize>,
    pub bytes: u64,
}

impl Batch {
    pub fn new(manifest: &Manifest, files: Vec<usize>) -> Batch {
        let bytes = files.iter().map(|&i| manifest.files[i].size).sum();
        Batch { files, bytes }
    }
}

/// The project a deploy resolved to, for the history to remember.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectRef {
    pub name: String,
    pub remote_id: Option<String>,
    /// The account within the credentials that holds it (e.g. the Cloudflare account chosen).
    pub account_ref: Option<String>,
}

/// A deployment that the platform reports live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// The platform's id for this deployment (for rollback).
    pub remote_id: String,
    /// The address of this very deployment.
    pub url: String,
    /// The site's production address, when this deploy is (or became) production.
    pub production_url: Option<String>,
    /// For a deploy without an account: the link that claims the site, and when it expires.
    pub claim_url: Option<String>,
    pub note: Option<String>,
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountInfo {
    /// What the UI shows instead of the token: account name or email.
    pub label: String,
    /// The account within the credentials, when there is exactly one (or one was chosen).
    pub account_ref: Option<String>,
}

/// One platform.
#[async_trait]
pub trait Provider: Send + Sync {
    fn platform(&self) -> Platform;

    /// The digest the platform keys files by.
    fn digest_kind(&self) -> DigestKind;

    /// Limits checked before anything is sent.
    fn limits(&self) -> Limits {
        self.platform().limits()
    }

    /// Whether the platform keeps files by digest across deployments, so that publishing an
    /// unchanged folder again sends nothing and costs nothing. Where it does not, an unchanged
    /// folder is not published again unless the person asks for it
    /// ([`crate::DeployRequest::force`]).
    fn deduplicates_files(&self) -> bool {
        true
    }

    /// Platform rules on file names, checked before anything is sent (e.g. Netlify refuses
    /// `#` and `?`).
    fn check_files(&self, _files: &FileSet) -> Result<()> {
        Ok(())
    }

    /// How many batches may upload at once: where the engine's adaptive limit starts, and the
    /// cap it never passes (the platform's documented limit, or its official client's
    /// concurrency). See [`crate::concurrency`].
    fn upload_concurrency(&self) -> Concurrency {
        Concurrency::adaptive(4, 8)
    }

    /// Checks the credentials with the platform and says whose they are.
    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo>;

    /// Finds or creates the project and learns what the platform lacks.
    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>>;

    /// Makes an earlier deployment the production one again.
    async fn rollback(
        &self,
        cx: &Cx,
        target: &Target,
        remote_deployment_id: &str,
    ) -> Result<Published>;

    /// Takes the site down on the platform (the history keeps its record). Platforms where
    /// Sitedrop cannot do this say so.
    async fn remove(&self, _cx: &Cx, _target: &Target) -> Result<()> {
        Err(Error::Unsupported(format!(
            "Sitedrop cannot take sites down on {} yet; remove it in the platform's dashboard.",
            self.platform()
        )))
    }
}

/// One deploy in progress on a platform.
#[async_trait]
pub trait DeploySession: Send + Sync {
    /// The project this deploy goes to.
    fn project(&self) -> ProjectRef;

    /// What to upload, grouped as the platform wants it. Empty when nothing changed.
    fn batches(&self) -> Vec<Batch>;

    /// Uploads one batch. Called concurrently and retried by the engine; report bytes through
    /// `attempt` as they are sent.
    async fn upload(&self, cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()>;

    /// Creates or publishes the deployment and waits until it is live or failed.
    async fn finish(&self, cx: &Cx) -> Result<Published>;

    /// The deploy ended without going live (an error, a cancel) after `begin`: undo on the
    /// platform what can be undone — cancel a half-made deploy, stop a job — so nothing
    /// lingers or blocks the next deploy. Best effort; `cx` is not cancelled.
    async fn abort(&self, _cx: &Cx) {}
}

/// Builds the provider for a platform with the given credentials (`None` when none are
/// connected: most providers then refuse with [`require`]).
pub fn build(
    platform: Platform,
    credentials: Option<ResolvedCredentials>,
    env: &Env,
) -> Result<Box<dyn Provider>> {
    let _ = &credentials;
    match platform {
        Platform::Local => Ok(Box::new(local::LocalProvider::new(env.local_port()))),
        Platform::CloudflarePages => cloudflare::build(Platform::CloudflarePages, credentials, env),
        Platform::CloudflareWorkers => {
            cloudflare::build(Platform::CloudflareWorkers, credentials, env)
        }
        Platform::Amplify => amplify::build(credentials, env),
        // Without an account, Netlify still deploys: a temporary Drop site.
        Platform::Netlify => netlify::build(credentials, env),
        Platform::Vercel => vercel::build(require(platform, credentials)?, env),
        // One arm per platform, each delegating to its module's `build`.
    }
}

/// The credentials a provider cannot work without, or the sentence that says how to connect.
pub fn require(
    platform: Platform,
    credentials: Option<ResolvedCredentials>,
) -> Result<ResolvedCredentials> {
    credentials.ok_or(Error::NoCredentials {
        platform,
        env: Env::token_var(platform),
    })
}
