//! Netlify API (`/api/v1/...`, `specs/netlify.md`) and `*.netlify.app` hosting.

mod deploys;
mod drop;
mod files;
pub mod model;
mod sites;
mod zip;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::config::Config;
use crate::hosting::Site;
use crate::util::body;
use crate::util::req::Req;
use crate::util::time::{now_ms, now_secs};
use crate::App;
use model::{NDeploy, NSite, Phase};

/// The account slug every site belongs to.
pub const ACCOUNT_SLUG: &str = "sitedrop";

/// Everything behind the Netlify lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// Sites by id.
    pub sites: BTreeMap<String, NSite>,
    /// Deploys by id.
    pub deploys: HashMap<String, NDeploy>,
    /// Subdomains owned by someone else.
    pub taken: HashSet<String>,
    /// Rate-limit windows by token: `(window start secs, count)`.
    pub rate: HashMap<String, (u64, u32)>,
    /// Issued drop tokens with their expiry (unix ms).
    pub drop_tokens: HashMap<String, u64>,
    /// Anonymous deploys today: `(day number, count)`.
    pub drops_today: (u64, u32),
}

/// The Netlify side of the emulator.
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

    /// Forgets everything but the taken names of the config.
    pub fn reset(&self, config: &Config) {
        let mut g = self.lock();
        *g = Inner::default();
        for (p, n) in &config.taken_names {
            if p == "netlify" {
                g.taken.insert(n.to_ascii_lowercase());
            }
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a subdomain as owned by someone else.
    pub fn take_name(&self, name: &str) {
        self.lock().taken.insert(name.to_ascii_lowercase());
    }

    /// State dump.
    pub fn dump(&self, _app: &App) -> Value {
        let mut g = self.lock();
        advance(&mut g, now_ms());
        let sites: Vec<Value> = g
            .sites
            .values()
            .map(|s| {
                let mut deploys: Vec<&NDeploy> =
                    g.deploys.values().filter(|d| d.site_id == s.id).collect();
                deploys.sort_by_key(|d| d.created_ms);
                json!({
                    "id": s.id, "name": s.name, "published_deploy": s.published_deploy,
                    "anonymous": s.drop.is_some(),
                    "deploys": deploys.iter().map(|d| json!({
                        "id": d.id, "state": d.state(), "draft": d.draft, "branch": d.branch,
                        "files": d.files.len(), "required": d.required.len(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"sites": sites, "taken": g.taken.iter().collect::<Vec<_>>()})
    }

    /// The site behind `<name>.netlify.app`, `<deploy>--<name>.netlify.app` or
    /// `<branch>--<name>.netlify.app`.
    pub fn resolve_host(&self, _app: &App, host: &str) -> Option<Arc<Site>> {
        let label = host.strip_suffix(".netlify.app")?;
        let mut g = self.lock();
        advance(&mut g, now_ms());
        let (prefix, name) = match label.split_once("--") {
            Some((p, n)) => (Some(p), n),
            None => (None, label),
        };
        let site = g.sites.values().find(|s| s.name == name)?;
        let d = match prefix {
            None => g.deploys.get(site.published_deploy.as_ref()?)?,
            Some(p) => match g.deploys.get(p).filter(|d| d.site_id == site.id) {
                Some(d) => d,
                None => g
                    .deploys
                    .values()
                    .filter(|d| d.site_id == site.id && d.phase == Phase::Ready)
                    .filter(|d| d.branch.as_deref() == Some(p))
                    .max_by_key(|d| d.created_ms)?,
            },
        };
        let s = d.site.clone()?;
        if let Some(pw) = &site.password {
            let mut s2 = (*s).clone();
            s2.password = Some(pw.clone());
            return Some(Arc::new(s2));
        }
        Some(s)
    }
}

/// Time-based transitions: processing → ready (publishing non-drafts), Drop sites expiring.
pub(crate) fn advance(g: &mut Inner, now: u64) {
    let mut publish = Vec::new();
    for d in g.deploys.values_mut() {
        if d.phase == Phase::Processing && d.ready_ms <= now {
            d.phase = Phase::Ready;
            d.updated_ms = now;
            if !d.draft && d.branch.is_none() {
                publish.push((d.site_id.clone(), d.id.clone()));
            }
        }
    }
    publish.sort();
    for (site_id, id) in publish {
        let locked = g
            .sites
            .get(&site_id)
            .and_then(|s| s.published_deploy.as_ref())
            .and_then(|p| g.deploys.get(p))
            .is_some_and(|d| d.locked);
        if !locked {
            publish_deploy(g, &site_id, &id, now);
        }
    }
    let expired: Vec<String> = g
        .sites
        .values()
        .filter(|s| s.drop.as_ref().is_some_and(|(_, exp)| *exp <= now))
        .map(|s| s.id.clone())
        .collect();
    for id in expired {
        g.sites.remove(&id);
        g.deploys.retain(|_, d| d.site_id != id);
    }
}

/// Makes `id` the published deploy of `site_id`.
pub(crate) fn publish_deploy(g: &mut Inner, site_id: &str, id: &str, now: u64) {
    if let Some(d) = g.deploys.get_mut(id) {
        d.published_ms = Some(now);
    }
    if let Some(s) = g.sites.get_mut(site_id) {
        if s.published_deploy.as_deref() != Some(id) {
            s.publish_history.push(id.to_string());
            s.published_deploy = Some(id.to_string());
        }
    }
}

/// `{"code": status, "message": …}` (`specs/netlify.md §12`).
pub(crate) fn err(status: u16, message: &str) -> Response {
    let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (s, axum::Json(json!({"code": status, "message": message}))).into_response()
}

pub(crate) fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

pub(crate) fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

pub(crate) async fn json_body(req: Req) -> Result<Value, Response> {
    let bytes = body::to_bytes(req.body, 64 << 20)
        .await
        .map_err(|e| err(400, &e.to_string()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| err(400, &format!("Invalid JSON body: {e}")))
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The account's token.
    Owner,
    /// The read-only token.
    ReadOnly,
    /// A Drop token (may upload to its own deploy only).
    Drop(String),
    /// No Authorization header.
    Anonymous,
}

fn caller(app: &App, req: &Req) -> Result<Caller, Response> {
    let Some(t) = req.bearer() else {
        return if req.header("authorization").is_some() {
            Err(err(401, "Access Denied: malformed Authorization header"))
        } else {
            Ok(Caller::Anonymous)
        };
    };
    let cfg = &app.config;
    if t == cfg.netlify_token {
        Ok(Caller::Owner)
    } else if t == cfg.readonly_token {
        Ok(Caller::ReadOnly)
    } else if t == cfg.expired_token {
        Err(err(401, "Access Denied: token expired"))
    } else if app
        .netlify
        .lock()
        .drop_tokens
        .get(t)
        .is_some_and(|exp| *exp > now_ms())
    {
        Ok(Caller::Drop(t.to_string()))
    } else {
        Err(err(401, "Access Denied: invalid token"))
    }
}

/// Requires the owner token for writes, owner or read-only for reads.
pub(crate) fn require(caller: &Caller, write: bool) -> Result<(), Response> {
    match caller {
        Caller::Owner => Ok(()),
        Caller::ReadOnly if !write => Ok(()),
        Caller::ReadOnly => Err(err(403, "Forbidden: this token cannot modify resources")),
        Caller::Drop(_) | Caller::Anonymous => Err(err(401, "Access Denied: invalid token")),
    }
}

/// Counts the request against the per-token minute window (`specs/netlify.md §11`).
/// Returns `(limit, remaining, reset)` and whether the request is over the limit.
fn rate(app: &App, key: &str) -> ((u32, u32, u64), bool) {
    let limit = app.knobs().netlify_rate_limit_per_minute;
    let now = now_secs();
    let window = now - now % 60;
    let mut g = app.netlify.lock();
    let e = g.rate.entry(key.to_string()).or_insert((window, 0));
    if e.0 != window {
        *e = (window, 0);
    }
    e.1 += 1;
    let over = limit > 0 && e.1 > limit;
    ((limit, limit.saturating_sub(e.1), window + 60), over)
}

/// Dispatches `/api/v1/...`, adding `X-RateLimit-*` to every answer.
pub async fn handle(app: &Arc<App>, req: Req) -> Response {
    let key = req.bearer().unwrap_or("anonymous").to_string();
    let ((limit, remaining, reset), over) = rate(app, &key);
    let mut resp = if over {
        let mut r = err(429, "API Request rate limit surpassed for application");
        r.headers_mut().insert(
            "retry-after",
            HeaderValue::from(reset.saturating_sub(now_secs()).max(1)),
        );
        r
    } else {
        route(app, req).await
    };
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
    resp
}

async fn route(app: &Arc<App>, req: Req) -> Response {
    // File paths keep their raw encoding: split them off before segment decoding (§6).
    if let Some(rest) = req.path.strip_prefix("/api/v1/deploys/") {
        if let Some((id, raw)) = rest.split_once("/files") {
            if req.method == Method::PUT && (raw.starts_with('/') || raw.is_empty()) {
                let (id, raw) = (id.to_string(), raw.to_string());
                return files::upload(app, req, &id, &raw).await;
            }
        }
    }
    let segs = req.segments("/api/v1").unwrap_or_default();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    // Drop endpoints need no token (§10.2).
    if let ["drop", rest @ ..] = s.as_slice() {
        let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
        return drop::route(app, req, &rest).await;
    }
    let who = match caller(app, &req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Polling a Drop deploy needs no token (§10.2).
    if let (&Method::GET, ["sites", site, "deploys", id]) = (&req.method, s.as_slice()) {
        if who == Caller::Anonymous && deploys::is_anonymous_deploy(app, site, id) {
            return deploys::get(app, Some(site), id);
        }
    }
    let write = req.method != Method::GET;
    if let Err(r) = require(&who, write) {
        return r;
    }
    let m = req.method.clone();
    let owned: Vec<String> = segs.clone();
    let o: Vec<&str> = owned.iter().map(String::as_str).collect();
    match (m, o.as_slice()) {
        (Method::GET, ["user"]) => ok(json!({
            "id": "5f0a1b2c3d4e5f6a7b8c9d0f", "uid": "sitedrop", "full_name": "Sitedrop Test",
            "avatar_url": null, "email": "tester@sitedrop.test", "site_count": app.netlify.lock().sites.len(),
        })),
        (Method::GET, ["accounts"]) => ok(json!([{
            "id": "5f0a1b2c3d4e5f6a7b8c9d0e", "slug": ACCOUNT_SLUG, "name": "Sitedrop Test",
            "default": true, "type_name": "Starter", "type_slug": "starter", "roles_allowed": ["Owner"],
        }])),
        (Method::GET, ["accounts", _slug, "env"]) => ok(json!([])),
        (_, ["sites", ..]) | (_, [_, "sites"]) | (_, ["deploys", ..]) => {
            sites::route(app, req, &o).await
        }
        _ => err(404, "Not Found"),
    }
}
