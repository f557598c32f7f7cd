//! Deploys: create with or without a manifest, the async diff, status, list, restore,
//! rollback, cancel and lock (`specs/netlify.md §5`, §7, §9, §13).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::model::{deploy_json, NDeploy, Phase};
use super::sites::find;
use super::{advance, created, err, files, json_body, ok, publish_deploy, Inner};
use crate::blobs::Ns;
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

fn is_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `id` is a deploy of the anonymous Drop site `site`.
pub fn is_anonymous_deploy(app: &App, site: &str, id: &str) -> bool {
    let g = app.netlify.lock();
    find(&g, site).is_some_and(|s| s.drop.is_some())
        && g.deploys
            .get(id)
            .is_some_and(|d| find(&g, site).is_some_and(|s| s.id == d.site_id))
}

fn render(g: &Inner, d: &NDeploy, state: Option<&str>) -> Response {
    match g.sites.get(&d.site_id) {
        Some(s) => ok(deploy_json(s, d, state)),
        None => err(404, "Not Found"),
    }
}

/// Parses and records a `files` manifest; computes `required` (§13 checklist 1).
pub(crate) fn apply_manifest(
    app: &App,
    d: &mut NDeploy,
    files: &serde_json::Map<String, Value>,
    is_async: bool,
) -> Result<(), Response> {
    let mut map = BTreeMap::new();
    for (path, sha) in files {
        let sha = sha
            .as_str()
            .filter(|s| is_sha1(s))
            .ok_or_else(|| err(422, &format!("Invalid SHA1 for {path}")))?;
        let path = path.trim_start_matches('/');
        if path.is_empty()
            || path.contains('#')
            || path.contains('?')
            || path.split('/').any(|p| p == "..")
        {
            return Err(err(422, &format!("Invalid filename {path}")));
        }
        map.insert(path.to_string(), sha.to_ascii_lowercase());
    }
    let mut seen = HashSet::new();
    d.required = map
        .values()
        .filter(|sha| seen.insert((*sha).clone()) && !app.blobs.contains(Ns::Netlify, sha))
        .cloned()
        .collect();
    d.files = map;
    d.phase = Phase::Prepared;
    d.diff_pending = is_async;
    d.updated_ms = now_ms();
    Ok(())
}

/// `POST /sites/{site_id}/deploys` (§5.1): `{draft, branch, files?, async?}`, `?title=`.
pub async fn create(app: &Arc<App>, req: Req, site_key: &str) -> Response {
    let title = req.query_param("title");
    let is_zip = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/zip"));
    let v = if is_zip {
        let (draft, branch) = (req.query_param("draft"), req.query_param("branch"));
        match super::zip::manifest_from_zip(app, req).await {
            Ok(files) => {
                serde_json::json!({"files": files, "draft": draft.as_deref() == Some("true"), "branch": branch})
            }
            Err(r) => return r,
        }
    } else {
        match json_body(req).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
    let site_id = {
        let g = app.netlify.lock();
        match find(&g, site_key) {
            Some(s) => s.id.clone(),
            None => return err(404, "Not Found"),
        }
    };
    let now = now_ms();
    let mut d = NDeploy {
        id: app.ids.hex(24),
        site_id,
        created_ms: now,
        updated_ms: now,
        draft: v["draft"].as_bool().unwrap_or(false),
        branch: v["branch"]
            .as_str()
            .filter(|b| !b.is_empty())
            .map(str::to_string),
        title: title.or_else(|| v["title"].as_str().map(str::to_string)),
        files: BTreeMap::new(),
        required: Vec::new(),
        phase: Phase::New,
        diff_pending: false,
        ready_ms: 0,
        published_ms: None,
        error_message: None,
        locked: false,
        site: None,
    };
    let has_files = v["files"].is_object();
    if let Some(f) = v["files"].as_object() {
        if let Err(r) = apply_manifest(app, &mut d, f, v["async"] == true) {
            return r;
        }
    }
    let id = d.id.clone();
    let (resp, ready) = {
        let mut g = app.netlify.lock();
        let ready = has_files && !d.diff_pending && d.required.is_empty();
        let state = ready.then_some("prepared");
        let resp = render(&g, &d, state);
        g.deploys.insert(id.clone(), d);
        (resp, ready)
    };
    if ready {
        files::finish(app, &id).await;
    }
    resp
}

/// `PUT /sites/{site_id}/deploys/{id}` with the manifest (§5.2). `draft` here is ignored.
pub async fn update(app: &Arc<App>, req: Req, site_key: Option<&str>, id: &str) -> Response {
    let v = match json_body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut d = {
        let g = app.netlify.lock();
        let Some(d) = g.deploys.get(id) else {
            return err(404, "Not Found");
        };
        if site_key.is_some_and(|k| find(&g, k).is_none_or(|s| s.id != d.site_id)) {
            return err(404, "Not Found");
        }
        if matches!(d.phase, Phase::Processing | Phase::Ready | Phase::Error) {
            return err(422, "Deploy is already processed");
        }
        d.clone()
    };
    if let Some(b) = v["branch"].as_str().filter(|b| !b.is_empty()) {
        d.branch = Some(b.to_string());
    }
    let Some(f) = v["files"].as_object() else {
        let g = app.netlify.lock();
        return render(&g, &d, None);
    };
    if let Err(r) = apply_manifest(app, &mut d, f, v["async"] == true) {
        return r;
    }
    let ready = !d.diff_pending && d.required.is_empty();
    let resp = {
        let mut g = app.netlify.lock();
        let resp = render(&g, &d, ready.then_some("prepared"));
        g.deploys.insert(id.to_string(), d);
        resp
    };
    if ready {
        files::finish(app, id).await;
    }
    resp
}

/// `GET …/deploys/{id}`: an async diff becomes `prepared` on the first read (§5.2).
pub fn get(app: &Arc<App>, site_key: Option<&str>, id: &str) -> Response {
    let mut start = false;
    let resp = {
        let mut g = app.netlify.lock();
        advance(&mut g, now_ms());
        let site_id = match site_key {
            Some(k) => match find(&g, k) {
                Some(s) => Some(s.id.clone()),
                None => return err(404, "Not Found"),
            },
            None => None,
        };
        let Some(d) = g.deploys.get_mut(id) else {
            return err(404, "Not Found");
        };
        if site_id.is_some_and(|s| s != d.site_id) {
            return err(404, "Not Found");
        }
        if d.diff_pending {
            d.diff_pending = false;
            start = d.required.is_empty();
        }
        let d = d.clone();
        render(&g, &d, None)
    };
    if start {
        let app = app.clone();
        let id = id.to_string();
        tokio::spawn(async move { files::finish(&app, &id).await });
    }
    resp
}

/// `GET /sites/{id}/deploys`, newest first.
pub fn list(app: &App, site_key: &str) -> Response {
    let mut g = app.netlify.lock();
    advance(&mut g, now_ms());
    let Some(site) = find(&g, site_key) else {
        return err(404, "Not Found");
    };
    let mut ds: Vec<&NDeploy> = g
        .deploys
        .values()
        .filter(|d| d.site_id == site.id)
        .collect();
    ds.sort_by_key(|d| std::cmp::Reverse(d.created_ms));
    ok(Value::Array(
        ds.iter().map(|d| deploy_json(site, d, None)).collect(),
    ))
}

/// `POST /sites/{site_id}/deploys/{id}/restore`: publishes a ready deploy (201, §9).
pub fn restore(app: &App, site_key: &str, id: &str) -> Response {
    let mut g = app.netlify.lock();
    let now = now_ms();
    advance(&mut g, now);
    let Some(site_id) = find(&g, site_key).map(|s| s.id.clone()) else {
        return err(404, "Not Found");
    };
    match g.deploys.get(id) {
        Some(d) if d.site_id == site_id && d.phase == Phase::Ready => {}
        Some(d) if d.site_id == site_id => return err(422, "Deploy is not ready to be published"),
        _ => return err(404, "Not Found"),
    }
    publish_deploy(&mut g, &site_id, id, now);
    match (g.sites.get(&site_id), g.deploys.get(id)) {
        (Some(s), Some(d)) => created(deploy_json(s, d, None)),
        _ => err(404, "Not Found"),
    }
}

/// `PUT /sites/{site_id}/rollback`: back to the previously published deploy (204, §9).
pub fn rollback(app: &App, site_key: &str) -> Response {
    let mut g = app.netlify.lock();
    advance(&mut g, now_ms());
    let Some(site_id) = find(&g, site_key).map(|s| s.id.clone()) else {
        return err(404, "Not Found");
    };
    let Some(site) = g.sites.get_mut(&site_id) else {
        return err(404, "Not Found");
    };
    let current = site.published_deploy.clone();
    while site.publish_history.last().is_some() && site.publish_history.last() == current.as_ref() {
        site.publish_history.pop();
    }
    let Some(prev) = site.publish_history.last().cloned() else {
        if let Some(c) = current {
            site.publish_history.push(c);
        }
        return err(422, "There is no previous deploy to roll back to");
    };
    site.published_deploy = Some(prev.clone());
    if let Some(d) = g.deploys.get_mut(&prev) {
        d.published_ms = Some(now_ms());
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /deploys/{id}`.
pub fn delete(app: &App, id: &str) -> Response {
    let mut g = app.netlify.lock();
    if g.sites
        .values()
        .any(|s| s.published_deploy.as_deref() == Some(id))
    {
        return err(422, "The published deploy cannot be deleted");
    }
    match g.deploys.remove(id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => err(404, "Not Found"),
    }
}

/// `POST /deploys/{id}/cancel|lock|unlock`.
pub fn action(app: &App, id: &str, action: &str) -> Response {
    let mut g = app.netlify.lock();
    advance(&mut g, now_ms());
    let Some(d) = g.deploys.get_mut(id) else {
        return err(404, "Not Found");
    };
    match action {
        "cancel" => {
            if d.phase != Phase::Ready {
                d.phase = Phase::Error;
                d.error_message = Some("Canceled build".into());
            }
        }
        "lock" => d.locked = true,
        _ => d.locked = false,
    }
    let d = d.clone();
    let resp = render(&g, &d, None);
    if action == "cancel" {
        let (parts, body) = resp.into_parts();
        let mut r = Response::from_parts(parts, body);
        *r.status_mut() = StatusCode::CREATED;
        return r;
    }
    resp
}
