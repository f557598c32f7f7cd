//! Cloudflare's server-side state: Pages projects and deployments, Workers scripts,
//! versions and asset upload sessions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::hosting::Site;

/// A Pages deployment.
#[derive(Debug, Clone)]
pub struct PagesDeployment {
    /// UUID.
    pub id: String,
    /// First 8 hex characters of the id.
    pub short_id: String,
    /// Branch it was deployed from.
    pub branch: String,
    /// `production` or `preview`.
    pub environment: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// When it turns `deploy`/`success`.
    pub ready_ms: u64,
    /// `deployment_trigger.metadata`.
    pub metadata: Value,
    /// Number of files in the manifest.
    pub file_count: usize,
    /// The files to serve.
    pub site: Arc<Site>,
    /// Whether it has become production once it was ready (processed by `advance`).
    pub promoted: bool,
}

/// A Pages project.
#[derive(Debug, Clone)]
pub struct PagesProject {
    /// UUID.
    pub id: String,
    /// Project name.
    pub name: String,
    /// `<name>.pages.dev`, or `<name>-<suffix>.pages.dev` when the name was taken elsewhere.
    pub subdomain: String,
    /// Production branch.
    pub production_branch: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// `deployment_configs` as sent at creation.
    pub deployment_configs: Value,
    /// Deployments, oldest first.
    pub deployments: Vec<PagesDeployment>,
    /// Id of the deployment served at `<subdomain>`.
    pub production: Option<String>,
}

/// An immutable Workers version.
#[derive(Debug, Clone)]
pub struct WorkerVersion {
    /// UUID.
    pub id: String,
    /// 1-based version number.
    pub number: u64,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// The assets served by this version.
    pub site: Arc<Site>,
    /// Metadata part as received.
    pub metadata: Value,
}

/// A Workers deployment (which versions get traffic).
#[derive(Debug, Clone)]
pub struct WorkerDeployment {
    /// UUID.
    pub id: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// `(version_id, percentage)`.
    pub versions: Vec<(String, f64)>,
    /// `annotations`.
    pub annotations: Value,
}

/// A Worker script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Script name.
    pub name: String,
    /// Tag (stable id).
    pub tag: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// Versions, oldest first.
    pub versions: Vec<WorkerVersion>,
    /// Deployments, oldest first (the last one is live).
    pub deployments: Vec<WorkerDeployment>,
    /// workers.dev route enabled.
    pub subdomain_enabled: bool,
    /// Preview URLs enabled.
    pub previews_enabled: bool,
    /// Last `script-settings`.
    pub settings: Value,
}

/// A Workers assets upload session (`specs/cloudflare.md §4.3`).
#[derive(Debug, Clone)]
pub struct UploadSession {
    /// Account.
    pub account: String,
    /// Script name.
    pub script: String,
    /// `"/path" → (hash, size)`.
    pub manifest: BTreeMap<String, (String, u64)>,
    /// For each hash: the extensions of its paths and the declared size (what an uploaded
    /// part is checked against), worked out once per session rather than once per request.
    pub expected: Arc<Expected>,
    /// Hashes still to be uploaded.
    pub missing: HashSet<String>,
    /// The completion JWT once everything is in.
    pub completion: Option<String>,
}

/// For each hash of a Workers upload session: the extensions of its paths and the declared
/// size.
pub type Expected = HashMap<String, (HashSet<String>, u64)>;

/// Everything behind the Cloudflare lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// Pages projects by `(account, name)`.
    pub projects: BTreeMap<(String, String), PagesProject>,
    /// pages.dev subdomains in use by anyone (`<label>` without `.pages.dev`).
    pub pages_labels: HashSet<String>,
    /// Verified `(hash, ext)` pairs, so each blob is re-hashed at most once per extension.
    pub verified: HashSet<(String, String)>,
    /// Scripts by `(account, name)`.
    pub scripts: BTreeMap<(String, String), Script>,
    /// Upload sessions by id.
    pub sessions: HashMap<String, UploadSession>,
    /// The account's workers.dev subdomain.
    pub workers_subdomain: Option<String>,
    /// Requests in the current 5-minute rate window: `(window start secs, count)`.
    pub rate: (u64, u32),
}
