//! Pages deployments: multipart creation with a manifest (`specs/cloudflare.md §3.8`),
//! status (§3.10), listing, logs and rollback (Cloudflare's documented
//! `POST …/deployments/{id}/rollback`, which the spec leaves out, §3.12).

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::envelope::{codes, ok, ok_list, CfError, CfResult};
use super::hash;
use super::pages::not_found;
use super::state::{PagesDeployment, PagesProject};
use super::{advance, branch_label};
use crate::blobs::Ns;
use crate::hosting::{rules, NotFound, Site, SiteFile};
use crate::util::req::Req;
use crate::util::time::{iso8601, now_ms};
use crate::{App, Platform};

/// The deployment as the API shows it at time `now`.
pub fn deployment_json(p: &PagesProject, d: &PagesDeployment, now: u64) -> Value {
    let ready = d.ready_ms <= now;
    let started = iso8601(d.created_ms);
    let ended = iso8601(d.ready_ms.max(d.created_ms));
    let names = ["queued", "initialize", "clone_repo", "build", "deploy"];
    let stages: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let status = if ready || i < 3 {
                "success"
            } else if i == 3 {
                "active"
            } else {
                "idle"
            };
            let done = status == "success";
            json!({
                "name": n,
                "status": status,
                "started_on": if status == "idle" { Value::Null } else { json!(started) },
                "ended_on": if done { json!(ended) } else { Value::Null },
            })
        })
        .collect();
    let latest = if ready {
        stages[4].clone()
    } else {
        stages[3].clone()
    };
    let aliases = if ready {
        json!([format!(
            "https://{}.{}",
            branch_label(&d.branch),
            p.subdomain
        )])
    } else {
        Value::Null
    };
    json!({
        "id": d.id,
        "short_id": d.short_id,
        "project_id": p.id,
        "project_name": p.name,
        "environment": d.environment,
        "url": format!("https://{}.{}", d.short_id, p.subdomain),
        "created_on": started,
        "modified_on": if ready { ended } else { started },
        "aliases": aliases,
        "latest_stage": latest,
        "stages": stages,
        "deployment_trigger": {"type": "ad_hoc", "metadata": d.metadata},
        "production_branch": p.production_branch,
        "is_skipped": false,
        "source": null,
        "build_config": {"build_command": null, "destination_dir": null},
        "env_vars": {},
        "files_count": d.file_count,
    })
}

/// Routes `…/projects/{name}/deployments/...`.
pub async fn route(app: &Arc<App>, req: Req, acc: &str, name: &str, rest: &[String]) -> CfResult {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    let key = (acc.to_string(), name.to_string());
    match (req.method.clone(), r.as_slice()) {
        (Method::POST, []) => create(app, req, key).await,
        (Method::GET, []) => {
            let mut g = app.cf.lock();
            let now = now_ms();
            advance(&mut g, now);
            let p = g.projects.get(&key).ok_or_else(not_found)?;
            let items = p
                .deployments
                .iter()
                .rev()
                .map(|d| deployment_json(p, d, now))
                .collect();
            let page = req
                .query_param("page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let per = req
                .query_param("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(25);
            ok_list(items, page, per)
        }
        (Method::GET, [id]) => {
            with_deployment(app, &key, id, |p, d, now| Ok(deployment_json(p, d, now)))
        }
        (Method::GET, [id, "history", "logs"]) => {
            with_deployment(app, &key, id, |_, d, now| {
                let mut data = vec![
                    json!({"line": "Initializing build environment...", "ts": iso8601(d.created_ms)}),
                ];
                if d.ready_ms <= now {
                    data.push(json!({"line": "Success: Your site was deployed!", "ts": iso8601(d.ready_ms)}));
                }
                Ok(json!({"total": data.len(), "includes_container_logs": false, "data": data}))
            })
        }
        (Method::POST, [id, "rollback"]) => rollback(app, &key, id),
        (Method::DELETE, [id]) => {
            let mut g = app.cf.lock();
            let p = g.projects.get_mut(&key).ok_or_else(not_found)?;
            if p.production.as_deref() == Some(*id) {
                return Err(CfError::new(
                    400,
                    8000034,
                    "You cannot delete the latest production deployment.",
                ));
            }
            let before = p.deployments.len();
            p.deployments.retain(|d| d.id != *id);
            if p.deployments.len() == before {
                return Err(deployment_not_found());
            }
            ok(Value::Null)
        }
        _ => Err(CfError::no_route(&req.path)),
    }
}

fn deployment_not_found() -> CfError {
    CfError::new(404, 8000009, "The deployment ID you have specified does not exist. Update the deployment ID and try again.")
}

fn with_deployment(
    app: &App,
    key: &(String, String),
    id: &str,
    f: impl FnOnce(&PagesProject, &PagesDeployment, u64) -> Result<Value, CfError>,
) -> CfResult {
    let mut g = app.cf.lock();
    let now = now_ms();
    advance(&mut g, now);
    let p = g.projects.get(key).ok_or_else(not_found)?;
    let d = p
        .deployments
        .iter()
        .find(|d| d.id == id || d.short_id == id)
        .ok_or_else(deployment_not_found)?;
    ok(f(p, d, now)?)
}

fn rollback(app: &App, key: &(String, String), id: &str) -> CfResult {
    let mut g = app.cf.lock();
    let now = now_ms();
    advance(&mut g, now);
    let p = g.projects.get_mut(key).ok_or_else(not_found)?;
    let d = p
        .deployments
        .iter()
        .find(|d| d.id == id || d.short_id == id)
        .ok_or_else(deployment_not_found)?;
    if d.environment != "production" || d.ready_ms > now {
        return Err(CfError::new(
            400,
            8000035,
            "Rollbacks are only possible to successful production deployments.",
        ));
    }
    let id = d.id.clone();
    p.production = Some(id.clone());
    let p = &*p;
    let d = p
        .deployments
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(deployment_not_found)?;
    ok(deployment_json(p, d, now))
}

/// The parts of the multipart form that matter to a static deployment.
#[derive(Default)]
struct Form {
    manifest: Option<String>,
    fields: HashMap<String, String>,
    headers: Option<String>,
    redirects: Option<String>,
}

async fn read_form(req: Req) -> Result<Form, CfError> {
    let ct = req.header("content-type").unwrap_or("").to_string();
    let boundary = multer::parse_boundary(&ct)
        .map_err(|_| CfError::bad_request("Expected a multipart/form-data body"))?;
    let mut mp = multer::Multipart::new(req.body.into_data_stream(), boundary);
    let mut form = Form::default();
    let bad = |e: multer::Error| CfError::bad_request(format!("Invalid multipart body: {e}"));
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        let data = field.bytes().await.map_err(bad)?;
        let text = || String::from_utf8_lossy(&data).into_owned();
        match name.as_str() {
            "manifest" => form.manifest = Some(text()),
            "_headers" => form.headers = Some(text()),
            "_redirects" => form.redirects = Some(text()),
            // `_worker.bundle`, `_routes.json`, Functions config: accepted, not executed.
            "branch"
            | "commit_message"
            | "commit_hash"
            | "commit_dirty"
            | "pages_build_output_dir"
            | "wrangler_config_hash" => {
                form.fields.insert(name, text());
            }
            _ => {}
        }
    }
    Ok(form)
}

async fn create(app: &Arc<App>, req: Req, key: (String, String)) -> CfResult {
    let (prod_branch, sub) = {
        let g = app.cf.lock();
        let p = g.projects.get(&key).ok_or_else(not_found)?;
        (p.production_branch.clone(), p.subdomain.clone())
    };
    let form = read_form(req).await?;
    let manifest_text = form
        .manifest
        .ok_or_else(|| CfError::bad_request("A manifest is required to create a deployment."))?;
    let manifest: Map<String, Value> = serde_json::from_str(&manifest_text)
        .map_err(|e| CfError::bad_request(format!("Invalid manifest: {e}")))?;
    let knobs = app.knobs();
    if manifest.len() as u64 > knobs.cloudflare_pages_max_file_count {
        return Err(CfError::new(
            400,
            codes::TOO_MANY_FILES,
            format!(
                "Pages only supports up to {} files in a deployment for your current plan.",
                knobs.cloudflare_pages_max_file_count
            ),
        ));
    }
    let mut entries = Vec::with_capacity(manifest.len());
    let mut missing = Vec::new();
    for (path, h) in &manifest {
        let h = h
            .as_str()
            .filter(|h| h.len() == 32)
            .ok_or_else(|| CfError::bad_request(format!("Invalid hash for {path}")))?;
        match app.blobs.get(Ns::CfPages, h) {
            Some(meta) => entries.push((path.clone(), h.to_string(), meta)),
            None => missing.push(path.clone()),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<_> = missing.iter().take(5).cloned().collect();
        return Err(CfError::new(
            400,
            codes::MISSING_ASSET,
            format!(
                "The manifest references {} file(s) that were never uploaded: {}",
                missing.len(),
                shown.join(", ")
            ),
        ));
    }
    verify_hashes(app, &entries).await?;
    let files: HashMap<String, SiteFile> = entries
        .iter()
        .map(|(path, _, meta)| {
            (
                path.trim_start_matches('/').to_string(),
                SiteFile {
                    path: meta.path.clone(),
                    size: meta.size,
                    content_type: None,
                },
            )
        })
        .collect();
    let mut site = Site::new(Platform::Cloudflare, files, NotFound::SpaIfNo404);
    site.headers = form
        .headers
        .as_deref()
        .map(rules::parse_headers)
        .unwrap_or_default();
    site.redirects = form
        .redirects
        .as_deref()
        .map(rules::parse_redirects)
        .unwrap_or_default();

    let branch = form
        .fields
        .get("branch")
        .cloned()
        .unwrap_or_else(|| prod_branch.clone());
    let environment = if branch == prod_branch {
        "production"
    } else {
        "preview"
    };
    let now = now_ms();
    let id = app.ids.uuid();
    let d = PagesDeployment {
        short_id: id[..8].to_string(),
        id,
        branch: branch.clone(),
        environment: environment.into(),
        created_ms: now,
        ready_ms: now + knobs.cloudflare_processing_ms,
        metadata: json!({
            "branch": branch,
            "commit_hash": form.fields.get("commit_hash").cloned().unwrap_or_default(),
            "commit_message": form.fields.get("commit_message").cloned().unwrap_or_default(),
            "commit_dirty": form.fields.get("commit_dirty").map(|v| v == "true").unwrap_or(false),
        }),
        file_count: entries.len(),
        site: Arc::new(site),
        promoted: false,
    };
    let mut g = app.cf.lock();
    let p = g.projects.get_mut(&key).ok_or_else(not_found)?;
    debug_assert_eq!(p.subdomain, sub);
    p.deployments.push(d);
    advance(&mut g, now);
    let p = g.projects.get(&key).ok_or_else(not_found)?;
    let d = p.deployments.last().ok_or_else(not_found)?;
    ok(deployment_json(p, d, now))
}

/// Recomputes each `(hash, extension)` pair not yet verified (§2), off the async threads.
async fn verify_hashes(
    app: &App,
    entries: &[(String, String, Arc<crate::blobs::BlobMeta>)],
) -> Result<(), CfError> {
    let todo: Vec<(String, String, std::path::PathBuf)> = {
        let g = app.cf.lock();
        entries
            .iter()
            .map(|(path, h, meta)| {
                (
                    path.clone(),
                    h.clone(),
                    hash::extension(path).to_string(),
                    meta,
                )
            })
            .filter(|(_, h, ext, _)| !g.verified.contains(&(h.clone(), ext.clone())))
            .map(|(path, h, ext, meta)| (path, format!("{h}:{ext}"), meta.path.clone()))
            .collect()
    };
    if todo.is_empty() {
        return Ok(());
    }
    let checked = tokio::task::spawn_blocking(move || {
        let mut ok = Vec::new();
        for (path, key, file) in todo {
            let (h, ext) = key.split_once(':').unwrap_or((key.as_str(), ""));
            match hash::of_file(&file, ext) {
                Ok(actual) if actual == h => ok.push((h.to_string(), ext.to_string())),
                Ok(actual) => return Err((path, h.to_string(), actual)),
                Err(e) => return Err((path, h.to_string(), e.to_string())),
            }
        }
        Ok(ok)
    })
    .await
    .map_err(|e| CfError::new(500, 8000000, e.to_string()))?;
    match checked {
        Ok(pairs) => {
            app.cf.lock().verified.extend(pairs);
            Ok(())
        }
        Err((path, expected, actual)) => Err(CfError::new(
            400,
            codes::HASH_MISMATCH,
            format!(
                "The uploaded contents of {path} do not match its hash {expected} (BLAKE3 of base64 and extension gives {actual})."
            ),
        )),
    }
}
