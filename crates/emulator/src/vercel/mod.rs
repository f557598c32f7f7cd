//! Vercel API (`/v2/user`, `/v1/teams`, `/v9/projects`, `/v13/deployments`, `/v2/files`, …;
//! `specs/vercel.md`) and `*.vercel.app` hosting.

mod deployments;
mod files;
mod projects;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::config::Config;
use crate::hosting::Site;
use crate::util::body;
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

/// The user's id (personal scope).
pub const USER_ID: &str = "user_sitedrop0000000000000";
/// The user's name (personal scope slug).
pub const USERNAME: &str = "sitedrop";
/// The team the token can also use.
pub const TEAM_ID: &str = "team_sitedrop000000000000";
/// The team's slug.
pub const TEAM_SLUG: &str = "sitedrop-team";

/// A project.
#[derive(Debug, Clone)]
pub struct VProject {
    /// `prj_…`.
    pub id: String,
    /// Name, unique in its scope.
    pub name: String,
    /// `USER_ID` or `TEAM_ID`.
    pub scope: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// The production alias host (`<name>.vercel.app`, or `<name>-<scope>.vercel.app` if taken).
    pub production_host: String,
    /// Deployment that the production alias points at.
    pub production: Option<String>,
    /// After an instant rollback, new production deployments do not take the alias until
    /// a promote.
    pub rolled_back: bool,
    /// Saved `projectSettings` (framework, outputDirectory, …).
    pub settings: Value,
}

/// A deployment.
#[derive(Debug, Clone)]
pub struct VDeployment {
    /// `dpl_…`.
    pub id: String,
    /// Project id.
    pub project_id: String,
    /// Deployment name (the project name).
    pub name: String,
    /// Unique host under vercel.app.
    pub host: String,
    /// `Some("production")` for production deployments.
    pub target: Option<String>,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// When it becomes READY.
    pub ready_ms: u64,
    /// Whether `advance` already handled READY (alias assignment).
    pub settled: bool,
    /// `files` entries.
    pub file_count: usize,
    /// Aliases assigned at READY.
    pub alias: Vec<String>,
    /// The files to serve.
    pub site: Arc<Site>,
    /// `meta` from the request.
    pub meta: Value,
}

/// Everything behind the Vercel lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// Projects by id.
    pub projects: BTreeMap<String, VProject>,
    /// Deployments by id.
    pub deployments: HashMap<String, VDeployment>,
    /// vercel.app labels owned by someone else.
    pub taken: HashSet<String>,
    /// Upload quota window: `(window start ms, uploads)`.
    pub uploads: (u64, u32),
}

/// The Vercel side of the emulator.
#[derive(Debug)]
pub struct State {
    inner: Mutex<Inner>,
}

impl State {
    /// Fresh state.
    pub fn new(config: &Config) -> Self {
        let s = Self {
            inner: Mutex::new(Inner::default()),
        };
        s.reset(config);
        s
    }

    /// Forgets everything but the configured taken names.
    pub fn reset(&self, config: &Config) {
        let mut g = self.lock();
        *g = Inner::default();
        for (p, n) in &config.taken_names {
            if p == "vercel" {
                g.taken.insert(n.to_ascii_lowercase());
            }
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `<name>.vercel.app` as owned by someone else.
    pub fn take_name(&self, name: &str) {
        self.lock().taken.insert(name.to_ascii_lowercase());
    }

    /// State dump.
    pub fn dump(&self, _app: &App) -> Value {
        let mut g = self.lock();
        let now = now_ms();
        advance(&mut g, now);
        let projects: Vec<Value> = g
            .projects
            .values()
            .map(|p| {
                let mut ds: Vec<&VDeployment> = g
                    .deployments
                    .values()
                    .filter(|d| d.project_id == p.id)
                    .collect();
                ds.sort_by_key(|d| d.created_ms);
                json!({
                    "id": p.id, "name": p.name, "scope": p.scope,
                    "production_host": p.production_host, "production": p.production,
                    "deployments": ds.iter().map(|d| json!({
                        "id": d.id, "url": d.host, "target": d.target,
                        "readyState": if d.ready_ms <= now { "READY" } else { "BUILDING" },
                        "files": d.file_count,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"projects": projects, "uploads_today": g.uploads.1})
    }

    /// The site behind a production alias or a deployment host.
    pub fn resolve_host(&self, _app: &App, host: &str) -> Option<Arc<Site>> {
        let mut g = self.lock();
        let now = now_ms();
        advance(&mut g, now);
        if let Some(p) = g.projects.values().find(|p| p.production_host == host) {
            let d = g.deployments.get(p.production.as_ref()?)?;
            return Some(d.site.clone());
        }
        g.deployments
            .values()
            .find(|d| d.host == host && d.ready_ms <= now)
            .map(|d| d.site.clone())
    }
}

/// READY deployments get `aliasAssigned`; production ones take the production alias.
pub(crate) fn advance(g: &mut Inner, now: u64) {
    let mut ready: Vec<(u64, String)> = g
        .deployments
        .values()
        .filter(|d| !d.settled && d.ready_ms <= now)
        .map(|d| (d.created_ms, d.id.clone()))
        .collect();
    ready.sort();
    for (_, id) in ready {
        let Some(d) = g.deployments.get_mut(&id) else {
            continue;
        };
        d.settled = true;
        if d.target.as_deref() != Some("production") {
            continue;
        }
        let pid = d.project_id.clone();
        let Some(p) = g.projects.get_mut(&pid) else {
            continue;
        };
        if p.rolled_back {
            continue;
        }
        p.production = Some(id.clone());
        let host = p.production_host.clone();
        if let Some(d) = g.deployments.get_mut(&id) {
            d.alias = vec![host];
        }
    }
}

/// `{"error": {"code", "message", …extra}}` (`specs/vercel.md §9`).
pub(crate) fn err(status: u16, code: &str, message: &str, extra: Value) -> Response {
    let mut e = json!({"code": code, "message": message});
    if let (Some(obj), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            obj.insert(k.clone(), v.clone());
        }
    }
    let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (s, axum::Json(json!({"error": e}))).into_response()
}

pub(crate) fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

pub(crate) async fn json_body(req: Req) -> Result<Value, Response> {
    let bytes = body::to_bytes(req.body, 256 << 20)
        .await
        .map_err(|e| err(400, "bad_request", &e.to_string(), json!({})))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| err(400, "bad_request", &format!("Invalid JSON: {e}"), json!({})))
}

/// Authenticates and resolves the scope (`?teamId=`, `specs/vercel.md §1`).
/// Returns `(scope id, read_only)`.
pub(crate) fn authenticate(app: &App, req: &Req, write: bool) -> Result<String, Response> {
    let Some(t) = req.bearer() else {
        return Err(err(
            403,
            "forbidden",
            "The request is missing an authentication token",
            json!({"missingToken": true}),
        ));
    };
    let cfg = &app.config;
    if t == cfg.readonly_token {
        if write {
            return Err(err(
                403,
                "forbidden",
                "You don't have permission to create the deployment.",
                json!({"action": "create", "resource": "deployment"}),
            ));
        }
    } else if t != cfg.vercel_token {
        return Err(err(
            403,
            "forbidden",
            "Not authorized",
            json!({"invalidToken": true}),
        ));
    }
    let team = req
        .query_param("teamId")
        .or_else(|| req.query_param("slug"));
    match team.as_deref() {
        None | Some("") => Ok(USER_ID.to_string()),
        Some(TEAM_ID) | Some(TEAM_SLUG) => Ok(TEAM_ID.to_string()),
        Some(_) => Err(err(403, "forbidden", "Not authorized", json!({}))),
    }
}

fn scope_slug(scope: &str) -> &'static str {
    if scope == TEAM_ID {
        TEAM_SLUG
    } else {
        USERNAME
    }
}

fn team_json() -> Value {
    json!({"id": TEAM_ID, "slug": TEAM_SLUG, "name": "Sitedrop Team", "createdAt": 1_700_000_000_000u64,
           "membership": {"role": "OWNER", "confirmed": true}})
}

/// Dispatches a Vercel request.
pub async fn handle(app: &Arc<App>, req: Req) -> Response {
    let segs = req.segments("").unwrap_or_default();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.clone();
    let version = s
        .first()
        .and_then(|v| v.strip_prefix('v'))
        .and_then(|n| n.parse::<u32>().ok());
    match (m, s.as_slice(), version) {
        (Method::GET, ["v2" | "www", "user"], _) => match authenticate(app, &req, false) {
            Ok(_) => ok(json!({"user": {
                "id": USER_ID, "uid": USER_ID, "username": USERNAME, "email": "tester@sitedrop.test",
                "name": "Sitedrop Test", "defaultTeamId": null, "billing": {"plan": app.knobs().vercel_plan},
            }})),
            Err(r) => r,
        },
        (Method::GET, ["v1" | "v2", "teams"], _) => match authenticate(app, &req, false) {
            Ok(_) => ok(
                json!({"teams": [team_json()], "pagination": {"count": 1, "next": null, "prev": null}}),
            ),
            Err(r) => r,
        },
        (Method::GET, ["teams", id], _) | (Method::GET, ["v2", "teams", id], _) => {
            match authenticate(app, &req, false) {
                Ok(_) if *id == TEAM_ID || *id == TEAM_SLUG => ok(team_json()),
                Ok(_) => err(404, "not_found", "Team not found", json!({})),
                Err(r) => r,
            }
        }
        (_, [_, "projects", ..], Some(_)) => projects::route(app, req, &s[1..]).await,
        (Method::POST, ["v2", "files"], _) | (Method::POST, ["v2", "now", "files"], _) => {
            files::upload(app, req).await
        }
        (_, [_, "deployments", ..], Some(_)) | (_, [_, "now", "deployments", ..], Some(_)) => {
            let rest = if s[1] == "now" { &s[3..] } else { &s[2..] };
            let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
            deployments::route(app, req, &rest).await
        }
        _ => err(
            404,
            "not_found",
            "The requested API endpoint was not found.",
            json!({}),
        ),
    }
}
