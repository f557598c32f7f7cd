//! Netlify sites and deploys, and their JSON shapes (`specs/netlify.md §5`, §8, §13).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::hosting::Site;
use crate::util::time::iso8601;

/// A site.
#[derive(Debug, Clone)]
pub struct NSite {
    /// UUID.
    pub id: String,
    /// Subdomain under netlify.app.
    pub name: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// The deploy served at `<name>.netlify.app`.
    pub published_deploy: Option<String>,
    /// Previously published deploys, oldest first (for `PUT /sites/{id}/rollback`).
    pub publish_history: Vec<String>,
    /// Anonymous Drop site: its drop token and expiry (unix ms); `None` once claimed.
    pub drop: Option<(String, u64)>,
    /// Site-wide password (Drop sites made without `created_via`).
    pub password: Option<String>,
}

/// Where a deploy is in its life (`specs/netlify.md §5.3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created without files.
    New,
    /// Files known, `required` computed.
    Prepared,
    /// Some required files uploaded.
    Uploading,
    /// All files present; becomes ready at `ready_ms`.
    Processing,
    /// Live.
    Ready,
    /// Failed or cancelled.
    Error,
}

/// A deploy.
#[derive(Debug, Clone)]
pub struct NDeploy {
    /// 24 hex characters.
    pub id: String,
    /// Owning site.
    pub site_id: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// Last change (unix ms).
    pub updated_ms: u64,
    /// Draft deploys are never published automatically.
    pub draft: bool,
    /// Branch/alias name.
    pub branch: Option<String>,
    /// Deploy message (`?title=`).
    pub title: Option<String>,
    /// Path → SHA-1.
    pub files: BTreeMap<String, String>,
    /// SHA-1s still missing.
    pub required: Vec<String>,
    /// Phase.
    pub phase: Phase,
    /// Async diff not yet observed by a GET (shows as `preparing`).
    pub diff_pending: bool,
    /// When a `Processing` deploy becomes ready.
    pub ready_ms: u64,
    /// When it was last published.
    pub published_ms: Option<u64>,
    /// Error text for `Error`.
    pub error_message: Option<String>,
    /// Locked deploys stop auto-publishing.
    pub locked: bool,
    /// The files to serve, once ready.
    pub site: Option<Arc<Site>>,
}

impl NDeploy {
    /// The state string at this moment.
    pub fn state(&self) -> &'static str {
        match self.phase {
            Phase::New => "new",
            Phase::Prepared if self.diff_pending => "preparing",
            Phase::Prepared => "prepared",
            Phase::Uploading => "uploading",
            Phase::Processing => "processing",
            Phase::Ready => "ready",
            Phase::Error => "error",
        }
    }

    /// `production`, `branch-deploy` or `deploy-preview`.
    pub fn context(&self) -> &'static str {
        if self.branch.is_some() {
            "branch-deploy"
        } else if self.draft {
            "deploy-preview"
        } else {
            "production"
        }
    }
}

/// Deploy JSON; `state_override` lets a sync manifest answer say `prepared` (§13).
pub fn deploy_json(site: &NSite, d: &NDeploy, state_override: Option<&str>) -> Value {
    let host = format!("{}.netlify.app", site.name);
    let deploy_host = format!("{}--{host}", d.id);
    let alias = d.branch.as_ref().map(|b| format!("https://{b}--{host}"));
    json!({
        "id": d.id,
        "site_id": d.site_id,
        "build_id": null,
        "state": state_override.unwrap_or(d.state()),
        "name": site.name,
        "url": format!("http://{host}"),
        "ssl_url": format!("https://{host}"),
        "admin_url": format!("https://app.netlify.com/projects/{}", site.name),
        "deploy_url": format!("http://{deploy_host}"),
        "deploy_ssl_url": format!("https://{deploy_host}"),
        "created_at": iso8601(d.created_ms),
        "updated_at": iso8601(d.updated_ms),
        "published_at": d.published_ms.map(iso8601),
        "title": d.title,
        "context": d.context(),
        "branch": d.branch,
        "draft": d.draft,
        "locked": d.locked,
        "required": d.required,
        "required_functions": [],
        "required_edge_functions": [],
        "error_message": d.error_message,
        "skipped": null,
        "commit_ref": null,
        "review_url": null,
        "deploy_source": "api",
        "links": {
            "permalink": format!("https://{deploy_host}"),
            "alias": alias.clone().unwrap_or_else(|| format!("https://{host}")),
            "branch": alias,
        },
        "summary": {"status": if d.phase == Phase::Ready { "ready" } else { "pending" }, "messages": []},
    })
}

/// Site JSON (the fields §8 lists, plus common ones).
pub fn site_json(site: &NSite, published: Option<&NDeploy>, account_slug: &str) -> Value {
    let host = format!("{}.netlify.app", site.name);
    json!({
        "id": site.id,
        "site_id": site.id,
        "name": site.name,
        "state": "current",
        "url": format!("http://{host}"),
        "ssl_url": format!("https://{host}"),
        "admin_url": format!("https://app.netlify.com/projects/{}", site.name),
        "default_domain": host,
        "custom_domain": null,
        "ssl": true,
        "account_slug": account_slug,
        "account_id": "5f0a1b2c3d4e5f6a7b8c9d0e",
        "account_name": "Sitedrop Test",
        "build_settings": {},
        "capabilities": {},
        "created_at": iso8601(site.created_ms),
        "updated_at": iso8601(published.map(|d| d.updated_ms).unwrap_or(site.created_ms)),
        "published_deploy": published.map(|d| deploy_json(site, d, None)),
        "deploy_url": published.map(|d| format!("http://{}--{host}", d.id)),
        "password": null,
        "anonymous": site.drop.is_some(),
        "expires_at": site.drop.as_ref().map(|(_, exp)| iso8601(*exp)),
    })
}
