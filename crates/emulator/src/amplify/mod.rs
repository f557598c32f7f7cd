//! AWS Amplify Hosting manual deploys: the rest-json control plane at the root (`/apps…`),
//! SigV4-verified, the presigned zip upload it hands out, and `*.amplifyapp.com` hosting
//! (`specs/amplify.md`).

mod apps;
pub mod auth;
pub mod error;
mod jobs;
pub mod model;
pub mod sigv4;
mod upload;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::config::{Config, Knobs};
use crate::hosting::Site;
use crate::util::body;
use crate::util::req::Req;
use crate::util::time::{now_ms, now_secs};
use crate::App;
use error::{AwsError, AwsResult};
use model::{AmpApp, Artifact, Status};

/// Path prefix of the presigned upload URLs the emulator serves itself.
pub const UPLOAD_PREFIX: &str = "/_amplify-upload/";

/// Everything behind the Amplify lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// Apps by id.
    pub apps: BTreeMap<String, AmpApp>,
}

/// The Amplify side of the emulator.
#[derive(Debug)]
pub struct State {
    inner: Mutex<Inner>,
    /// Secret of the emulator's own "S3" presigning key.
    pub(crate) upload_secret: String,
}

impl State {
    /// Fresh state.
    pub fn new(config: &Config) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            upload_secret: format!("upload-secret-{}", config.seed),
        }
    }

    /// Forgets everything.
    pub fn reset(&self, _config: &Config) {
        *self.lock() = Inner::default();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// State dump.
    pub fn dump(&self, app: &App) -> Value {
        let mut g = self.lock();
        advance(&mut g, now_ms(), &app.knobs());
        let apps: Vec<Value> = g
            .apps
            .values()
            .map(|a| {
                json!({
                    "appId": a.id, "name": a.name,
                    "branches": a.branches.values().map(|b| json!({
                        "branchName": b.name, "displayName": b.display_name, "live": b.site.is_some(),
                        "jobs": b.jobs.iter().map(|j| json!({"jobId": j.id, "status": j.status.as_str(), "stuck": j.stuck})).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"apps": apps})
    }

    /// The site at `<displayName>.<appId>.amplifyapp.com`.
    pub fn resolve_host(&self, app: &App, host: &str) -> Option<Arc<Site>> {
        let rest = host.strip_suffix(".amplifyapp.com")?;
        let (branch, app_id) = rest.rsplit_once('.')?;
        let mut g = self.lock();
        advance(&mut g, now_ms(), &app.knobs());
        let a = g.apps.get(app_id)?;
        a.branches
            .values()
            .find(|b| b.display_name == branch)?
            .site
            .clone()
    }

    /// Adds a PENDING job that never finishes (for "stuck job" tests, §4.2 pitfall 2).
    pub fn add_stuck_job(&self, _app: &App, app_id: &str, branch: &str) -> Result<String, String> {
        let mut g = self.lock();
        let b = g
            .apps
            .get_mut(app_id)
            .and_then(|a| a.branches.get_mut(branch))
            .ok_or_else(|| format!("no branch {branch} in app {app_id}"))?;
        b.next_job += 1;
        let id = b.next_job.to_string();
        let now = now_ms();
        b.jobs.push(model::Job {
            id: id.clone(),
            created_ms: now,
            start_ms: Some(now),
            end_ms: None,
            status: Status::Pending,
            stuck: true,
            zip: None,
            artifact: None,
            reason: None,
            file_map: Vec::new(),
        });
        Ok(id)
    }
}

/// Moves started jobs along PENDING → RUNNING → SUCCEED/FAILED by time.
pub(crate) fn advance(g: &mut Inner, now: u64, knobs: &Knobs) {
    for a in g.apps.values_mut() {
        for b in a.branches.values_mut() {
            for j in b.jobs.iter_mut() {
                if j.stuck || !matches!(j.status, Status::Pending | Status::Running) {
                    continue;
                }
                let Some(start) = j.start_ms else { continue };
                if now < start + knobs.amplify_pending_ms {
                    continue;
                }
                j.status = Status::Running;
                if now < start + knobs.amplify_pending_ms + knobs.amplify_running_ms {
                    continue;
                }
                match &j.artifact {
                    Some(Artifact::Working) => {}
                    Some(Artifact::Ready(site)) => {
                        j.status = Status::Succeed;
                        j.end_ms = Some(now);
                        b.site = Some(site.clone());
                    }
                    Some(Artifact::Broken(why)) => {
                        j.status = Status::Failed;
                        j.end_ms = Some(now);
                        j.reason = Some(why.clone());
                    }
                    None => {
                        j.status = Status::Failed;
                        j.end_ms = Some(now);
                        j.reason = Some("No deployment artifact was uploaded.".into());
                    }
                }
            }
        }
    }
}

pub(crate) fn ok(v: Value) -> AwsResult {
    let mut r = axum::Json(v).into_response();
    r.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-0000-4000-a000-emulatorok00"),
    );
    Ok(r)
}

/// Dispatches Amplify API calls and presigned uploads.
pub async fn handle(app: &Arc<App>, req: Req) -> Response {
    if req.path.starts_with(UPLOAD_PREFIX) {
        return upload::put(app, req).await;
    }
    match route(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn route(app: &Arc<App>, req: Req) -> AwsResult {
    let Req {
        method,
        path,
        query,
        headers,
        body,
    } = req;
    let bytes = body::to_bytes(body, 6 << 20)
        .await
        .map_err(|e| AwsError::bad_request(e.to_string()))?;
    let q = query.clone().unwrap_or_default();
    let caller = auth::verify(
        app,
        method.as_str(),
        &path,
        &q,
        &headers,
        &bytes,
        now_secs(),
    )?;
    let req = Req {
        method: method.clone(),
        path,
        query,
        headers,
        body: axum::body::Body::empty(),
    };
    let segs = req.segments("").unwrap_or_default();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (op, write) = operation(&method, &s);
    if caller.read_only && write {
        return Err(AwsError::new(
            403,
            "AccessDeniedException",
            format!(
                "User: arn:aws:iam::{}:user/sitedrop-readonly is not authorized to perform: amplify:{op} on resource: arn:aws:amplify:{}:{}:apps/*",
                app.config.aws_account_id, app.config.aws_region, app.config.aws_account_id
            ),
        ));
    }
    let body: Value = if bytes.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            AwsError::new(400, "SerializationException", format!("Invalid JSON: {e}"))
        })?
    };
    match (method, s.as_slice()) {
        (Method::POST, ["apps"]) => apps::create_app(app, &body),
        (Method::GET, ["apps"]) => apps::list_apps(app, &req),
        (Method::GET, ["apps", id]) => apps::get_app(app, id),
        (Method::DELETE, ["apps", id]) => apps::delete_app(app, id),
        (Method::POST, ["apps", id, "branches"]) => apps::create_branch(app, id, &body),
        (Method::GET, ["apps", id, "branches"]) => apps::list_branches(app, id, &req),
        (Method::GET, ["apps", id, "branches", b]) => apps::get_branch(app, id, b),
        (Method::DELETE, ["apps", id, "branches", b]) => apps::delete_branch(app, id, b),
        (Method::POST, ["apps", id, "branches", b, "deployments"]) => jobs::create_deployment(app, id, b, &body),
        (Method::POST, ["apps", id, "branches", b, "deployments", "start"]) => jobs::start_deployment(app, id, b, &body).await,
        (Method::GET, ["apps", id, "branches", b, "jobs"]) => jobs::list_jobs(app, id, b, &req),
        (Method::GET, ["apps", id, "branches", b, "jobs", j]) => jobs::get_job(app, id, b, j),
        (Method::DELETE, ["apps", id, "branches", b, "jobs", j, "stop"]) => jobs::stop_job(app, id, b, j),
        (Method::POST, ["apps", _, "branches", _, "jobs"]) => Err(AwsError::bad_request(
            "StartJob is not supported for apps without a repository; use CreateDeployment and StartDeployment.",
        )),
        _ => Err(AwsError::new(404, "UnknownOperationException", "The requested operation is not supported.")),
    }
}

/// The operation name and whether it writes (for AccessDenied messages).
fn operation(method: &Method, s: &[&str]) -> (&'static str, bool) {
    let w = *method != Method::GET;
    let name = match (method.as_str(), s.len(), s.last().copied()) {
        ("POST", 1, _) => "CreateApp",
        ("GET", 1, _) => "ListApps",
        ("GET", 2, _) => "GetApp",
        ("DELETE", 2, _) => "DeleteApp",
        ("POST", 3, _) => "CreateBranch",
        ("GET", 3, _) => "ListBranches",
        ("GET", 4, _) => "GetBranch",
        ("DELETE", 4, _) => "DeleteBranch",
        ("POST", 5, Some("deployments")) => "CreateDeployment",
        ("POST", 6, Some("start")) => "StartDeployment",
        ("GET", 5, _) => "ListJobs",
        ("GET", 6, _) => "GetJob",
        ("DELETE", 7, _) => "StopJob",
        _ => "Unknown",
    };
    (name, w)
}

/// Paging: `nextToken` is the decimal offset; `maxResults` bounded by `max`.
pub(crate) fn page(req: &Req, max: usize) -> Result<(usize, usize), AwsError> {
    let size = match req.query_param("maxResults") {
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                AwsError::bad_request(format!("maxResults must be between 0 and {max}."))
            })?,
        None => max,
    };
    let start = match req.query_param("nextToken") {
        Some(t) => t
            .parse()
            .map_err(|_| AwsError::bad_request("Invalid nextToken."))?,
        None => 0,
    };
    Ok((start, if size == 0 { max } else { size }))
}
