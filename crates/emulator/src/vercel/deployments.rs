//! Deployments: `POST /v13/deployments` with `missing_files` (`specs/vercel.md §4`, §5),
//! status with `readyState` and `aliasAssigned` (§6), listing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::projects::{self, find};
use super::{
    advance, authenticate, err, json_body, ok, scope_slug, Inner, VDeployment, USERNAME, USER_ID,
};
use crate::blobs::Ns;
use crate::hosting::{NotFound, Site, SiteFile};
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::{App, Platform};

/// Deployment JSON at time `now`; `fresh` marks the creation answer (`QUEUED`).
pub fn deployment_json(g: &Inner, d: &VDeployment, now: u64, fresh: bool) -> Value {
    let ready = d.ready_ms <= now && !fresh;
    let state = if ready {
        "READY"
    } else if fresh {
        "QUEUED"
    } else {
        "BUILDING"
    };
    let scope = g
        .projects
        .get(&d.project_id)
        .map(|p| p.scope.clone())
        .unwrap_or_default();
    let is_prod = g
        .projects
        .get(&d.project_id)
        .and_then(|p| p.production.as_deref())
        == Some(d.id.as_str());
    json!({
        "id": d.id,
        "uid": d.id,
        "url": d.host,
        "name": d.name,
        "readyState": state,
        "status": state,
        "readySubstate": if ready { if is_prod { "PROMOTED" } else { "STAGED" } } else { "" },
        "target": d.target,
        "alias": if ready { json!(d.alias) } else { json!([]) },
        "aliasAssigned": if ready { json!(d.ready_ms) } else { Value::Null },
        "aliasError": null,
        "projectId": d.project_id,
        "ownerId": scope,
        "creator": {"uid": USER_ID, "username": USERNAME},
        "createdAt": d.created_ms,
        "buildingAt": d.created_ms,
        "ready": if ready { json!(d.ready_ms) } else { Value::Null },
        "version": 2,
        "type": "LAMBDAS",
        "regions": ["iad1"],
        "meta": d.meta,
        "public": false,
        "inspectorUrl": format!("https://vercel.com/{}/{}/{}", scope_slug(&scope), d.name, d.id.trim_start_matches("dpl_")),
        "errorCode": null,
        "errorMessage": null,
        "checksState": "completed",
    })
}

/// Routes `/v{N}/deployments/...` (`rest` after `deployments`).
pub async fn route(app: &Arc<App>, req: Req, rest: &[String]) -> Response {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    let write = req.method != Method::GET;
    let scope = match authenticate(app, &req, write) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match (req.method.clone(), r.as_slice()) {
        (Method::POST, []) => create(app, req, &scope).await,
        (Method::GET, []) => {
            let pid = req.query_param("projectId");
            let mut g = app.vercel.lock();
            let now = now_ms();
            advance(&mut g, now);
            let mut ds: Vec<&VDeployment> = g
                .deployments
                .values()
                .filter(|d| {
                    g.projects
                        .get(&d.project_id)
                        .is_some_and(|p| p.scope == scope)
                })
                .filter(|d| pid.as_deref().is_none_or(|p| p == d.project_id))
                .collect();
            ds.sort_by_key(|d| std::cmp::Reverse(d.created_ms));
            let list: Vec<Value> = ds
                .iter()
                .map(|d| deployment_json(&g, d, now, false))
                .collect();
            let n = list.len();
            ok(json!({"deployments": list, "pagination": {"count": n, "next": null, "prev": null}}))
        }
        (Method::GET, [id]) => {
            let mut g = app.vercel.lock();
            let now = now_ms();
            advance(&mut g, now);
            let d = g
                .deployments
                .values()
                .find(|d| d.id == *id || d.host == *id)
                .filter(|d| {
                    g.projects
                        .get(&d.project_id)
                        .is_some_and(|p| p.scope == scope)
                });
            match d {
                Some(d) => ok(deployment_json(&g, d, now, false)),
                None => err(
                    404,
                    "deployment_not_found",
                    "Deployment not found",
                    json!({}),
                ),
            }
        }
        (Method::DELETE, [id]) => {
            let mut g = app.vercel.lock();
            match g.deployments.remove(*id) {
                Some(_) => ok(json!({"uid": id, "state": "DELETED"})),
                None => err(
                    404,
                    "deployment_not_found",
                    "Deployment not found",
                    json!({}),
                ),
            }
        }
        _ => err(
            404,
            "not_found",
            "The requested API endpoint was not found.",
            json!({}),
        ),
    }
}

fn is_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn bad(msg: &str) -> Response {
    err(400, "bad_request", msg, json!({}))
}

/// One `files[]` entry after validation.
struct Entry {
    file: String,
    sha: String,
    size: Option<u64>,
}

async fn create(app: &Arc<App>, req: Req, scope: &str) -> Response {
    let v = match json_body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let knobs = app.knobs();
    let files = v["files"].as_array().cloned().unwrap_or_default();
    if files.len() as u64 > knobs.vercel_max_files {
        return err(
            400,
            "bad_request",
            &format!(
                "Invalid request: `files` should NOT have more than {} items, received {}.",
                knobs.vercel_max_files,
                files.len()
            ),
            json!({"keyword": "maxItems"}),
        );
    }
    let mut entries = Vec::new();
    for f in &files {
        let Some(file) = f["file"]
            .as_str()
            .map(|s| s.trim_start_matches('/').to_string())
        else {
            return bad("Invalid request: every `files` entry needs `file`.");
        };
        if file.split('/').any(|p| p == "..") {
            return bad(&format!("Invalid request: invalid file name {file}"));
        }
        if let Some(data) = f["data"].as_str() {
            let bytes = match f["encoding"].as_str() {
                Some("base64") => match base64::engine::general_purpose::STANDARD.decode(data) {
                    Ok(b) => b,
                    Err(_) => {
                        return bad(&format!("Invalid request: `data` of {file} is not base64"))
                    }
                },
                _ => data.as_bytes().to_vec(),
            };
            let sha = hex::encode(Sha1::digest(&bytes));
            if let Err(e) = app.blobs.put_bytes(Ns::Vercel, &sha, &bytes, None) {
                return err(500, "internal_server_error", &e.to_string(), json!({}));
            }
            entries.push(Entry {
                file,
                sha,
                size: Some(bytes.len() as u64),
            });
        } else if let Some(sha) = f["sha"].as_str() {
            if !is_sha1(sha) {
                return bad(&format!("Invalid request: `sha` of {file} is not a SHA-1"));
            }
            entries.push(Entry {
                file,
                sha: sha.to_ascii_lowercase(),
                size: f["size"].as_u64(),
            });
        }
        // `{file, mode}` without sha: a directory entry.
    }
    let mut seen = HashSet::new();
    let missing: Vec<String> = entries
        .iter()
        .filter(|e| seen.insert(e.sha.clone()) && !app.blobs.contains(Ns::Vercel, &e.sha))
        .map(|e| e.sha.clone())
        .collect();
    if !missing.is_empty() {
        return err(
            400,
            "missing_files",
            "Missing files",
            json!({"missing": missing}),
        );
    }
    let mut site_files = HashMap::new();
    for e in &entries {
        let Some(meta) = app.blobs.get(Ns::Vercel, &e.sha) else {
            continue;
        };
        if e.size.is_some_and(|s| s != meta.size) {
            return bad(&format!(
                "Invalid request: size of {} does not match its uploaded file",
                e.file
            ));
        }
        site_files.insert(
            e.file.clone(),
            SiteFile {
                path: meta.path.clone(),
                size: meta.size,
                content_type: None,
            },
        );
    }
    let name = v["name"].as_str().unwrap_or("").to_string();
    let project_key = v["project"].as_str().map(str::to_string);
    let target = v["target"]
        .as_str()
        .filter(|t| *t == "production")
        .map(str::to_string);
    let prebuilt = req_flag(&v);
    let mut g = app.vercel.lock();
    let now = now_ms();
    let pid = match project_key
        .as_deref()
        .and_then(|k| find(&g, scope, k))
        .map(|p| p.id.clone())
    {
        Some(id) => id,
        None if project_key.is_some() && name.is_empty() => return projects::not_found(),
        None => match find(&g, scope, &name).map(|p| p.id.clone()) {
            Some(id) => id,
            None => match projects::create(app, &mut g, scope, &name, v["projectSettings"].clone())
            {
                Ok(id) => id,
                Err(r) => return r,
            },
        },
    };
    let Some(p) = g.projects.get_mut(&pid) else {
        return projects::not_found();
    };
    if let Some(ps) = v["projectSettings"].as_object() {
        if let Some(obj) = p.settings.as_object_mut() {
            for (k, val) in ps {
                obj.insert(k.clone(), val.clone());
            }
        }
    }
    let out_dir = output_dir(&p.settings, &site_files, prebuilt);
    let served: HashMap<String, SiteFile> = if out_dir.is_empty() {
        site_files
    } else {
        let prefix = format!("{out_dir}/");
        site_files
            .into_iter()
            .filter_map(|(k, f)| k.strip_prefix(&prefix).map(|s| (s.to_string(), f)))
            .collect()
    };
    let pname = p.name.clone();
    let host = format!(
        "{pname}-{}-{}.vercel.app",
        app.ids.alnum(9),
        scope_slug(scope)
    );
    let d = VDeployment {
        id: format!("dpl_{}", app.ids.alnum(28)),
        project_id: pid,
        name: pname,
        host,
        target,
        created_ms: now,
        ready_ms: now + knobs.vercel_processing_ms,
        settled: false,
        file_count: files.len(),
        alias: Vec::new(),
        site: Arc::new(Site::new(Platform::Vercel, served, NotFound::Page404)),
        meta: v["meta"].clone(),
    };
    let out = deployment_json(&g, &d, now, true);
    g.deployments.insert(d.id.clone(), d);
    ok(out)
}

fn req_flag(v: &Value) -> bool {
    v["files"].as_array().is_some_and(|fs| {
        fs.iter().any(|f| {
            f["file"]
                .as_str()
                .is_some_and(|n| n.starts_with(".vercel/output/"))
        })
    })
}

/// The directory served: Build Output API static dir, the project's `outputDirectory`, or
/// the "Other" preset (`public` if it exists, else the root; `specs/vercel.md §7`).
fn output_dir(settings: &Value, files: &HashMap<String, SiteFile>, prebuilt: bool) -> String {
    if prebuilt {
        return ".vercel/output/static".into();
    }
    if let Some(o) = settings["outputDirectory"].as_str() {
        return o
            .trim_matches('/')
            .trim_start_matches("./")
            .trim_start_matches('.')
            .to_string();
    }
    if files.keys().any(|k| k.starts_with("public/")) {
        return "public".into();
    }
    String::new()
}
