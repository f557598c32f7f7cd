//! Pages projects and the upload token (`specs/cloudflare.md §3.3`, §3.11).

use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};

use super::envelope::{ok, ok_list, CfError, CfResult};
use super::state::PagesProject;
use super::{advance, jwt, pages_deploy};
use crate::util::body;
use crate::util::req::Req;
use crate::util::time::{iso8601, now_ms, now_secs};
use crate::App;

/// 8000007 with the real wording.
pub fn not_found() -> CfError {
    CfError::new(
        404,
        8000007,
        "Project not found. The specified project name does not match any of your existing projects.",
    )
}

/// Reads a JSON body whatever its Content-Type (§1.3: wrangler sends `text/plain`).
pub async fn json_body(req: Req) -> Result<Value, CfError> {
    let bytes = body::to_bytes(req.body, 8 << 20)
        .await
        .map_err(|e| CfError::bad_request(e.to_string()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CfError::bad_request(format!("Request body is not valid JSON: {e}")))
}

/// Project names: 1–58 characters of `[a-z0-9-]`, not starting or ending with `-`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 58
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The project as the API returns it.
pub fn project_json(p: &PagesProject) -> Value {
    let latest = p
        .deployments
        .last()
        .map(|d| pages_deploy::deployment_json(p, d, now_ms()));
    let canonical = p
        .production
        .as_ref()
        .and_then(|id| p.deployments.iter().find(|d| &d.id == id))
        .map(|d| pages_deploy::deployment_json(p, d, now_ms()));
    json!({
        "id": p.id,
        "name": p.name,
        "subdomain": p.subdomain,
        "domains": [p.subdomain],
        "production_branch": p.production_branch,
        "created_on": iso8601(p.created_ms),
        "deployment_configs": p.deployment_configs,
        "build_config": {"build_command": null, "destination_dir": null, "root_dir": null},
        "source": null,
        "latest_deployment": latest,
        "canonical_deployment": canonical,
    })
}

/// Routes `/accounts/{acc}/pages/projects/...`.
pub async fn route(app: &Arc<App>, req: Req, acc: &str, rest: &[String]) -> CfResult {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (req.method.clone(), r.as_slice()) {
        (Method::GET, []) => list(app, &req, acc),
        (Method::POST, []) => create(app, req, acc).await,
        (Method::GET, [name]) => get(app, acc, name),
        (Method::DELETE, [name]) => delete(app, acc, name),
        (Method::PATCH, [name]) => patch(app, req, acc, name).await,
        (Method::GET, [name, "upload-token"]) => upload_token(app, acc, name),
        (_, [name, "deployments", tail @ ..]) => {
            let tail: Vec<String> = tail.iter().map(|s| s.to_string()).collect();
            pages_deploy::route(app, req, acc, name, &tail).await
        }
        _ => Err(CfError::no_route(&req.path)),
    }
}

fn list(app: &App, req: &Req, acc: &str) -> CfResult {
    let mut g = app.cf.lock();
    advance(&mut g, now_ms());
    let items: Vec<Value> = g
        .projects
        .iter()
        .filter(|((a, _), _)| a == acc)
        .map(|(_, p)| project_json(p))
        .collect();
    let page = req
        .query_param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let per = req
        .query_param("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10);
    ok_list(items, page, per)
}

async fn create(app: &Arc<App>, req: Req, acc: &str) -> CfResult {
    let v = json_body(req).await?;
    let name = v["name"].as_str().unwrap_or("").to_string();
    if !valid_name(&name) {
        return Err(CfError::new(
            400,
            8000011,
            "Project name must be 1-58 lowercase letters, numbers or dashes, and cannot start or end with a dash.",
        ));
    }
    let branch = v["production_branch"]
        .as_str()
        .unwrap_or("main")
        .to_string();
    let configs = if v["deployment_configs"].is_object() {
        v["deployment_configs"].clone()
    } else {
        json!({"production": {}, "preview": {}})
    };
    let mut g = app.cf.lock();
    let key = (acc.to_string(), name.clone());
    if g.projects.contains_key(&key) {
        return Err(CfError::new(
            409,
            8000002,
            "A project with this name already exists. Choose a different project name.",
        ));
    }
    // A pages.dev name used by another account gets a three-letter suffix, as the dashboard
    // and API do (cloudflare/workers-sdk#3527).
    let mut label = name.clone();
    while g.pages_labels.contains(&label) {
        label = format!("{name}-{}", app.ids.chars(b"abcdefghijklmnopqrstuvwxyz", 3));
    }
    g.pages_labels.insert(label.clone());
    let p = PagesProject {
        id: app.ids.uuid(),
        name: name.clone(),
        subdomain: format!("{label}.pages.dev"),
        production_branch: branch,
        created_ms: now_ms(),
        deployment_configs: configs,
        deployments: Vec::new(),
        production: None,
    };
    let out = project_json(&p);
    g.projects.insert(key, p);
    ok(out)
}

fn get(app: &App, acc: &str, name: &str) -> CfResult {
    let mut g = app.cf.lock();
    advance(&mut g, now_ms());
    let p = g
        .projects
        .get(&(acc.to_string(), name.to_string()))
        .ok_or_else(not_found)?;
    ok(project_json(p))
}

fn delete(app: &App, acc: &str, name: &str) -> CfResult {
    let mut g = app.cf.lock();
    let p = g
        .projects
        .remove(&(acc.to_string(), name.to_string()))
        .ok_or_else(not_found)?;
    if let Some(label) = p.subdomain.strip_suffix(".pages.dev") {
        g.pages_labels.remove(label);
    }
    ok(Value::Null)
}

async fn patch(app: &App, req: Req, acc: &str, name: &str) -> CfResult {
    let v = json_body(req).await?;
    let mut g = app.cf.lock();
    let p = g
        .projects
        .get_mut(&(acc.to_string(), name.to_string()))
        .ok_or_else(not_found)?;
    if let Some(b) = v["production_branch"].as_str() {
        p.production_branch = b.to_string();
    }
    if v["deployment_configs"].is_object() {
        p.deployment_configs = v["deployment_configs"].clone();
    }
    ok(project_json(p))
}

/// `GET …/upload-token` → `{"jwt"}` with claims `exp` and `max_file_count_allowed` (§3.3).
fn upload_token(app: &App, acc: &str, name: &str) -> CfResult {
    if !app
        .cf
        .lock()
        .projects
        .contains_key(&(acc.to_string(), name.to_string()))
    {
        return Err(not_found());
    }
    let knobs = app.knobs();
    let now = now_secs();
    let claims = json!({
        "iss": "sitedrop-emulator",
        "scope": "pages-assets",
        "account_id": acc,
        "project_name": name,
        "iat": now,
        "exp": now + knobs.cloudflare_upload_jwt_ttl_secs,
        "max_file_count_allowed": knobs.cloudflare_pages_max_file_count,
    });
    ok(json!({"jwt": jwt::issue(app.cf.secret(), &claims)}))
}
