//! Workers scripts, versions, deployments and workers.dev subdomains
//! (`specs/cloudflare.md §4.1`, §4.5–4.7, §6).

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};

use super::envelope::{ok, CfError, CfResult};
use super::jwt;
use super::pages::json_body;
use super::state::{Script, WorkerDeployment, WorkerVersion};
use super::workers_assets;
use crate::blobs::Ns;
use crate::hosting::{rules, NotFound, Site, SiteFile};
use crate::util::req::Req;
use crate::util::time::{iso8601, now_ms, now_secs};
use crate::{App, Platform};

fn no_worker() -> CfError {
    CfError::new(404, 10007, "This Worker does not exist on your account.")
}

/// The site the script's live deployment serves (the version with the largest share).
pub fn live_site(s: &Script) -> Option<Arc<Site>> {
    let d = s.deployments.last()?;
    let (vid, _) = d
        .versions
        .iter()
        .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))?;
    s.versions
        .iter()
        .find(|v| &v.id == vid)
        .map(|v| v.site.clone())
}

/// Routes `/accounts/{acc}/workers/...`.
pub async fn route(app: &Arc<App>, req: Req, acc: &str, rest: &[String]) -> CfResult {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    let key = |n: &str| (acc.to_string(), n.to_string());
    match (req.method.clone(), r.as_slice()) {
        (Method::GET, ["subdomain"]) => match app.cf.lock().workers_subdomain.clone() {
            Some(s) => ok(json!({"subdomain": s})),
            None => Err(CfError::new(
                404,
                10007,
                "This account does not have a workers.dev subdomain.",
            )),
        },
        (Method::PUT, ["subdomain"]) => {
            let v = json_body(req).await?;
            let s = v["subdomain"]
                .as_str()
                .filter(|s| {
                    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
                .ok_or_else(|| CfError::bad_request("Invalid subdomain"))?;
            app.cf.lock().workers_subdomain = Some(s.to_ascii_lowercase());
            ok(json!({"subdomain": s.to_ascii_lowercase()}))
        }
        (Method::GET, ["scripts"]) => {
            let g = app.cf.lock();
            let items: Vec<Value> = g
                .scripts
                .iter()
                .filter(|((a, _), _)| a == acc)
                .map(|(_, s)| script_json(s))
                .collect();
            ok(Value::Array(items))
        }
        (Method::GET, ["services", name]) => {
            let g = app.cf.lock();
            let s = g.scripts.get(&key(name)).ok_or_else(no_worker)?;
            ok(json!({
                "id": s.name,
                "default_environment": {
                    "environment": "production",
                    "created_on": iso8601(s.created_ms),
                    "modified_on": iso8601(now_ms()),
                    "script": {
                        "id": s.name, "tag": s.tag, "tags": null, "etag": s.tag,
                        "handlers": [], "last_deployed_from": "wrangler",
                    },
                },
                "created_on": iso8601(s.created_ms),
                "modified_on": iso8601(now_ms()),
            }))
        }
        (Method::GET, ["workers", name]) => {
            let g = app.cf.lock();
            let s = g.scripts.get(&key(name)).ok_or_else(no_worker)?;
            let mut sub =
                json!({"enabled": s.subdomain_enabled, "previews_enabled": s.previews_enabled});
            if let (true, Some(d)) = (s.subdomain_enabled, &g.workers_subdomain) {
                sub["url"] = json!(format!("https://{}.{d}.workers.dev", s.name));
            }
            ok(
                json!({"id": s.name, "name": s.name, "subdomain": sub, "created_on": iso8601(s.created_ms)}),
            )
        }
        (Method::PUT, ["scripts", name]) => upload_script(app, req, acc, name, true).await,
        (Method::DELETE, ["scripts", name]) => {
            app.cf
                .lock()
                .scripts
                .remove(&key(name))
                .ok_or_else(no_worker)?;
            ok(Value::Null)
        }
        (Method::POST, ["scripts", name, "versions"]) => {
            upload_script(app, req, acc, name, false).await
        }
        (Method::GET, ["scripts", name, "versions"]) => {
            let g = app.cf.lock();
            let s = g.scripts.get(&key(name)).ok_or_else(no_worker)?;
            let items: Vec<Value> = s.versions.iter().rev().map(version_json).collect();
            ok(json!({"items": items}))
        }
        (Method::GET, ["scripts", name, "deployments"]) => {
            let g = app.cf.lock();
            let s = g.scripts.get(&key(name)).ok_or_else(no_worker)?;
            let items: Vec<Value> = s.deployments.iter().rev().map(deployment_json).collect();
            ok(json!({"deployments": items}))
        }
        (Method::POST, ["scripts", name, "deployments"]) => deploy(app, req, acc, name).await,
        (Method::PATCH | Method::PUT, ["scripts", name, "script-settings"]) => {
            let v = json_body(req).await?;
            let mut g = app.cf.lock();
            let s = g.scripts.get_mut(&key(name)).ok_or_else(no_worker)?;
            s.settings = v.clone();
            ok(v)
        }
        (Method::GET, ["scripts", name, "script-settings"]) => {
            let g = app.cf.lock();
            let s = g.scripts.get(&key(name)).ok_or_else(no_worker)?;
            ok(s.settings.clone())
        }
        (Method::GET, ["scripts", name, "subdomain"]) => {
            let g = app.cf.lock();
            let s = g.scripts.get(&key(name)).ok_or_else(no_worker)?;
            ok(json!({"enabled": s.subdomain_enabled, "previews_enabled": s.previews_enabled}))
        }
        (Method::POST, ["scripts", name, "subdomain"]) => {
            let v = json_body(req).await?;
            let mut g = app.cf.lock();
            if v["enabled"] == true && g.workers_subdomain.is_none() {
                return Err(CfError::new(
                    400,
                    10063,
                    "You need a workers.dev subdomain before enabling it for a script.",
                ));
            }
            let s = g.scripts.get_mut(&key(name)).ok_or_else(no_worker)?;
            if let Some(e) = v["enabled"].as_bool() {
                s.subdomain_enabled = e;
            }
            if let Some(e) = v["previews_enabled"].as_bool() {
                s.previews_enabled = e;
            }
            ok(json!({"enabled": s.subdomain_enabled, "previews_enabled": s.previews_enabled}))
        }
        (Method::POST, ["scripts", name, "assets-upload-session"]) => {
            workers_assets::session(app, req, acc, name).await
        }
        _ => Err(CfError::no_route(&req.path)),
    }
}

fn script_json(s: &Script) -> Value {
    json!({
        "id": s.name, "tag": s.tag, "etag": s.tag, "handlers": [],
        "created_on": iso8601(s.created_ms), "modified_on": iso8601(now_ms()),
        "has_assets": true, "has_modules": false,
    })
}

fn version_json(v: &WorkerVersion) -> Value {
    json!({
        "id": v.id, "number": v.number,
        "metadata": {"created_on": iso8601(v.created_ms), "source": "wrangler", "author_email": "tester@sitedrop.test"},
        "resources": {"script": {"etag": v.id.replace('-', "")}, "bindings": []},
        "startup_time_ms": 0,
    })
}

fn deployment_json(d: &WorkerDeployment) -> Value {
    json!({
        "id": d.id, "source": "api", "strategy": "percentage",
        "author_email": "tester@sitedrop.test",
        "created_on": iso8601(d.created_ms),
        "annotations": d.annotations,
        "versions": d.versions.iter().map(|(id, p)| json!({"version_id": id, "percentage": p})).collect::<Vec<_>>(),
    })
}

/// Builds a site from the completion JWT of an upload session (`metadata.assets.jwt`, §4.5).
fn site_from_assets(app: &App, acc: &str, name: &str, metadata: &Value) -> Result<Site, CfError> {
    let token = metadata["assets"]["jwt"]
        .as_str()
        .ok_or_else(|| CfError::new(400, 10021, "Assets-only Workers need metadata.assets.jwt."))?;
    let claims = jwt::verify(app.cf.secret(), token, now_secs())
        .map_err(|e| CfError::new(400, 10021, format!("Invalid assets completion token: {e}")))?;
    if claims["scope"] != "workers-assets-complete"
        || claims["account_id"] != acc
        || claims["script"] != name
    {
        return Err(CfError::new(
            400,
            10021,
            "The assets token does not belong to this Worker.",
        ));
    }
    let sid = claims["session"].as_str().unwrap_or("");
    let manifest = {
        let g = app.cf.lock();
        let s = g
            .sessions
            .get(sid)
            .ok_or_else(|| CfError::new(400, 10021, "Unknown assets upload session."))?;
        if !s.missing.is_empty() {
            return Err(CfError::new(
                400,
                10021,
                "The assets upload is not complete.",
            ));
        }
        s.manifest.clone()
    };
    let mut files = HashMap::new();
    for (path, (h, _)) in manifest {
        let meta = app
            .blobs
            .get(Ns::CfWorkers, &h)
            .ok_or_else(|| CfError::new(400, 10021, format!("Asset {path} is missing.")))?;
        files.insert(
            path.trim_start_matches('/').to_string(),
            SiteFile {
                path: meta.path.clone(),
                size: meta.size,
                content_type: meta.content_type.clone(),
            },
        );
    }
    let cfg = &metadata["assets"]["config"];
    let not_found = match cfg["not_found_handling"].as_str() {
        Some("single-page-application") => NotFound::Spa,
        _ => NotFound::Page404,
    };
    let mut site = Site::new(Platform::Cloudflare, files, not_found);
    site.headers = cfg["_headers"]
        .as_str()
        .map(rules::parse_headers)
        .unwrap_or_default();
    site.redirects = cfg["_redirects"]
        .as_str()
        .map(rules::parse_redirects)
        .unwrap_or_default();
    Ok(site)
}

async fn read_metadata(req: Req) -> Result<Value, CfError> {
    let ct = req.header("content-type").unwrap_or("").to_string();
    let boundary = multer::parse_boundary(&ct)
        .map_err(|_| CfError::bad_request("Expected a multipart/form-data body"))?;
    let mut mp = multer::Multipart::new(req.body.into_data_stream(), boundary);
    let bad = |e: multer::Error| CfError::bad_request(format!("Invalid multipart body: {e}"));
    let mut metadata = None;
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        let data = field.bytes().await.map_err(bad)?;
        if name == "metadata" {
            metadata = Some(
                serde_json::from_slice::<Value>(&data)
                    .map_err(|e| CfError::bad_request(format!("Invalid metadata: {e}")))?,
            );
        }
    }
    metadata.ok_or_else(|| CfError::bad_request("A metadata part is required."))
}

/// Script `PUT` (creates and deploys) or `POST …/versions` (creates a version only).
async fn upload_script(
    app: &Arc<App>,
    req: Req,
    acc: &str,
    name: &str,
    deploy_now: bool,
) -> CfResult {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid {
        return Err(CfError::new(400, 10016, "Invalid Worker name."));
    }
    let metadata = read_metadata(req).await?;
    let key = (acc.to_string(), name.to_string());
    let site = if metadata["keep_assets"] == true {
        let g = app.cf.lock();
        let s = g.scripts.get(&key).ok_or_else(no_worker)?;
        let v = s.versions.last().ok_or_else(no_worker)?;
        (*v.site).clone()
    } else {
        site_from_assets(app, acc, name, &metadata)?
    };
    let now = now_ms();
    let vid = app.ids.uuid();
    let mut g = app.cf.lock();
    if !deploy_now && !g.scripts.contains_key(&key) {
        return Err(no_worker());
    }
    let tag = app.ids.hex(32);
    let s = g.scripts.entry(key).or_insert_with(|| Script {
        name: name.to_string(),
        tag,
        created_ms: now,
        versions: Vec::new(),
        deployments: Vec::new(),
        subdomain_enabled: false,
        previews_enabled: false,
        settings: json!({}),
    });
    let number = s.versions.len() as u64 + 1;
    s.versions.push(WorkerVersion {
        id: vid.clone(),
        number,
        created_ms: now,
        site: Arc::new(site),
        metadata: metadata.clone(),
    });
    if deploy_now {
        s.deployments.push(WorkerDeployment {
            id: app.ids.uuid(),
            created_ms: now,
            versions: vec![(vid.clone(), 100.0)],
            annotations: metadata["annotations"].clone(),
        });
        ok(json!({
            "id": name, "etag": vid.replace('-', ""), "deployment_id": vid,
            "startup_time_ms": 0, "has_assets": true, "has_modules": false,
            "created_on": iso8601(s.created_ms), "modified_on": iso8601(now),
            "handlers": [], "usage_model": "standard",
        }))
    } else {
        let v = s.versions.last().map(version_json).unwrap_or_default();
        ok(v)
    }
}

/// `POST …/scripts/{name}/deployments` with `{"strategy":"percentage","versions":[…]}`.
async fn deploy(app: &Arc<App>, req: Req, acc: &str, name: &str) -> CfResult {
    let v = json_body(req).await?;
    let versions: Vec<(String, f64)> = v["versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some((
                        x["version_id"].as_str()?.to_string(),
                        x["percentage"].as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let total: f64 = versions.iter().map(|(_, p)| p).sum();
    if versions.is_empty() || (total - 100.0).abs() > 1e-6 {
        return Err(CfError::bad_request(
            "Deployment versions must add up to 100 percent.",
        ));
    }
    let mut g = app.cf.lock();
    let s = g
        .scripts
        .get_mut(&(acc.to_string(), name.to_string()))
        .ok_or_else(no_worker)?;
    if let Some((bad, _)) = versions
        .iter()
        .find(|(id, _)| !s.versions.iter().any(|v| &v.id == id))
    {
        return Err(CfError::new(
            404,
            10237,
            format!("Version {bad} does not exist on this Worker."),
        ));
    }
    let d = WorkerDeployment {
        id: app.ids.uuid(),
        created_ms: now_ms(),
        versions,
        annotations: v["annotations"].clone(),
    };
    let out = deployment_json(&d);
    s.deployments.push(d);
    ok(out)
}
