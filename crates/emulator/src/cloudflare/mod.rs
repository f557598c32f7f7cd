//! Cloudflare API v4 (`/client/v4/...`): accounts and tokens, Pages direct upload and Workers
//! static assets, per `specs/cloudflare.md`; plus the `*.pages.dev` / `*.workers.dev` hosts.

mod accounts;
pub mod envelope;
pub mod hash;
pub mod jwt;
mod pages;
mod pages_assets;
mod pages_deploy;
pub mod state;
mod workers;
mod workers_assets;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use crate::config::Config;
use crate::hosting::Site;
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;
use envelope::{CfError, CfResult};
use state::Inner;

/// The Cloudflare side of the emulator.
#[derive(Debug)]
pub struct State {
    inner: Mutex<Inner>,
    secret: Vec<u8>,
}

/// Lowercase `[a-z0-9-]` label for a branch alias (`<branch>.<project>.pages.dev`).
pub fn branch_label(branch: &str) -> String {
    let mut s: String = branch
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(28);
    s.trim_matches('-').to_string()
}

impl State {
    /// Fresh state for `config`.
    pub fn new(config: &Config) -> Self {
        let s = Self {
            inner: Mutex::new(Inner::default()),
            secret: format!("cf-secret-{}", config.seed).into_bytes(),
        };
        s.reset(config);
        s
    }

    /// Forgets everything except the names taken by others.
    pub fn reset(&self, config: &Config) {
        let mut g = self.lock();
        *g = Inner::default();
        g.workers_subdomain = config.cloudflare_workers_subdomain.clone();
        for (p, name) in &config.taken_names {
            if p == "cloudflare" {
                g.pages_labels.insert(name.to_ascii_lowercase());
            }
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// Marks `<name>.pages.dev` as owned by another account.
    pub fn take_name(&self, name: &str) {
        self.lock().pages_labels.insert(name.to_ascii_lowercase());
    }

    /// State dump for `/_emulator/state`.
    pub fn dump(&self, _app: &App) -> Value {
        let mut g = self.lock();
        advance(&mut g, now_ms());
        let projects: Vec<Value> = g
            .projects
            .values()
            .map(|p| {
                json!({
                    "account": "",
                    "name": p.name,
                    "subdomain": p.subdomain,
                    "production_deployment": p.production,
                    "deployments": p.deployments.iter().map(|d| json!({
                        "id": d.id, "short_id": d.short_id, "branch": d.branch,
                        "environment": d.environment, "files": d.file_count,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let scripts: Vec<Value> = g
            .scripts
            .values()
            .map(|s| {
                json!({
                    "name": s.name,
                    "versions": s.versions.len(),
                    "live_version": s.deployments.last().and_then(|d| d.versions.first()).map(|v| v.0.clone()),
                    "subdomain_enabled": s.subdomain_enabled,
                })
            })
            .collect();
        json!({
            "pages_projects": projects,
            "workers_scripts": scripts,
            "upload_sessions": g.sessions.len(),
            "workers_subdomain": g.workers_subdomain,
        })
    }

    /// The site behind a `*.pages.dev` or `*.workers.dev` host.
    pub fn resolve_host(&self, _app: &App, host: &str) -> Option<Arc<Site>> {
        let now = now_ms();
        let mut g = self.lock();
        advance(&mut g, now);
        if let Some(rest) = host.strip_suffix(".workers.dev") {
            let (script, sub) = rest.split_once('.')?;
            if g.workers_subdomain.as_deref() != Some(sub) {
                return None;
            }
            let s = g
                .scripts
                .values()
                .find(|s| s.name == script && s.subdomain_enabled)?;
            return workers::live_site(s);
        }
        let rest = host.strip_suffix(".pages.dev")?;
        let (first, label) = match rest.rsplit_once('.') {
            Some((a, l)) => (Some(a), l),
            None => (None, rest),
        };
        let p = g
            .projects
            .values()
            .find(|p| p.subdomain == format!("{label}.pages.dev"))?;
        let ready = |d: &&state::PagesDeployment| d.ready_ms <= now;
        let d = match first {
            None => {
                let id = p.production.as_deref()?;
                p.deployments.iter().find(|d| d.id == id)
            }
            Some(a) => p
                .deployments
                .iter()
                .find(|d| d.short_id == a)
                .filter(ready)
                .or_else(|| {
                    p.deployments
                        .iter()
                        .rev()
                        .filter(ready)
                        .find(|d| branch_label(&d.branch) == a)
                }),
        }?;
        Some(d.site.clone())
    }
}

/// Applies time-based transitions: a ready production deployment becomes the production one.
pub(crate) fn advance(g: &mut Inner, now: u64) {
    for p in g.projects.values_mut() {
        for d in p.deployments.iter_mut() {
            if !d.promoted && d.ready_ms <= now {
                d.promoted = true;
                if d.environment == "production" {
                    p.production = Some(d.id.clone());
                }
            }
        }
    }
}

/// How much a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Authenticates the API token (§1.2, §7).
pub(crate) fn authenticate(app: &App, req: &Req, access: Access) -> Result<(), CfError> {
    let cfg = &app.config;
    let token = if let Some(v) = req.header("authorization") {
        match v.split_once(' ') {
            Some((scheme, t))
                if scheme.eq_ignore_ascii_case("bearer")
                    && !t.trim().is_empty()
                    && t.trim()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                t.trim().to_string()
            }
            _ => {
                let mut e = CfError::new(400, 6003, "Invalid request headers");
                e.chain = vec![(6111, "Invalid format for Authorization header".into())];
                return Err(e);
            }
        }
    } else if let (Some(key), Some(_email)) = (req.header("x-auth-key"), req.header("x-auth-email"))
    {
        key.to_string()
    } else {
        return Err(CfError::new(
            403,
            9106,
            "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
        ));
    };
    if token == cfg.cloudflare_token {
        Ok(())
    } else if token == cfg.readonly_token {
        if access == Access::Write {
            Err(CfError::new(403, 10000, "Authentication error"))
        } else {
            Ok(())
        }
    } else {
        Err(CfError::new(403, 9106, "Authentication failed"))
    }
}

/// The accounts the token sees.
pub(crate) fn accounts(app: &App) -> Vec<String> {
    let mut v = vec![app.config.cloudflare_account_id.clone()];
    v.extend(app.config.cloudflare_extra_accounts.iter().cloned());
    v
}

/// Checks that `acc` is one of the token's accounts.
pub(crate) fn check_account(app: &App, acc: &str, path: &str) -> Result<(), CfError> {
    if acc.len() != 32 || !acc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CfError::no_route(path));
    }
    if accounts(app).iter().any(|a| a == acc) {
        Ok(())
    } else {
        Err(CfError::new(
            403,
            9109,
            "Unauthorized to access requested resource",
        ))
    }
}

fn rate_limit(app: &App) -> Result<(), CfError> {
    let limit = app.knobs().cloudflare_rate_limit_per_5min;
    if limit == 0 {
        return Ok(());
    }
    let now = crate::util::time::now_secs();
    let mut g = app.cf.lock();
    let window = now - now % 300;
    if g.rate.0 != window {
        g.rate = (window, 0);
    }
    g.rate.1 += 1;
    if g.rate.1 > limit {
        let mut e = CfError::new(
            429,
            971,
            "Please wait and consider throttling your request speed",
        );
        e.retry_after = Some(window + 300 - now);
        return Err(e);
    }
    Ok(())
}

/// Dispatches a `/client/v4/...` request.
pub async fn handle(app: &Arc<App>, req: Req) -> Response {
    use axum::response::IntoResponse;
    match route(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn route(app: &Arc<App>, req: Req) -> CfResult {
    let path = req.path.clone();
    let segs = req.segments("/client/v4").unwrap_or_default();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    // Asset endpoints authenticate with the upload JWT, not the API token (§3.1).
    if let ["pages", "assets", op] = s.as_slice() {
        return Ok(pages_assets::handle(app, req, op).await);
    }
    if let ["accounts", acc, "workers", "assets", "upload", rest @ ..] = s.as_slice() {
        check_account(app, acc, &path)?;
        let hash = rest.first().map(|h| h.to_string());
        return Ok(workers_assets::upload(app, req, hash).await);
    }
    rate_limit(app)?;
    let m = req.method.clone();
    match (m, s.as_slice()) {
        (Method::GET, ["user", "tokens", "verify"]) => accounts::verify(app, &req),
        (Method::GET, ["user"]) => accounts::user(app, &req),
        (Method::GET, ["accounts"]) => accounts::list(app, &req),
        (Method::GET, ["memberships"]) => accounts::memberships(app, &req),
        (m, ["accounts", acc, "pages", "projects", rest @ ..]) => {
            let write = m != Method::GET || rest.last() == Some(&"upload-token");
            authenticate(app, &req, if write { Access::Write } else { Access::Read })?;
            check_account(app, acc, &path)?;
            let acc = acc.to_string();
            let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
            pages::route(app, req, &acc, &rest).await
        }
        (m, ["accounts", acc, "workers", rest @ ..]) => {
            authenticate(
                app,
                &req,
                if m == Method::GET {
                    Access::Read
                } else {
                    Access::Write
                },
            )?;
            check_account(app, acc, &path)?;
            let acc = acc.to_string();
            let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
            workers::route(app, req, &acc, &rest).await
        }
        _ => Err(CfError::no_route(&path)),
    }
}
