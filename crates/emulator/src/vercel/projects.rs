//! Projects: get, list, create, delete, and production promote/rollback
//! (`specs/vercel.md §2`, §11; Vercel's `POST /v10/projects/{id}/promote/{deploymentId}` and
//! `POST /v9/projects/{id}/rollback/{deploymentId}`, which the spec leaves out, §12).

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{advance, authenticate, err, json_body, ok, scope_slug, Inner, VProject};
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

/// Names: up to 100 of `[a-z0-9._-]`, without `---`.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 100
        && !n.contains("---")
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Project JSON.
pub fn project_json(g: &Inner, p: &VProject) -> Value {
    let prod = p.production.as_ref().and_then(|id| g.deployments.get(id));
    json!({
        "id": p.id,
        "name": p.name,
        "accountId": p.scope,
        "framework": p.settings.get("framework").cloned().unwrap_or(Value::Null),
        "buildCommand": p.settings.get("buildCommand").cloned().unwrap_or(Value::Null),
        "outputDirectory": p.settings.get("outputDirectory").cloned().unwrap_or(Value::Null),
        "installCommand": null,
        "devCommand": null,
        "rootDirectory": null,
        "sourceFilesOutsideRootDirectory": true,
        "createdAt": p.created_ms,
        "updatedAt": p.created_ms,
        "alias": [{"domain": p.production_host, "target": "PRODUCTION"}],
        "targets": prod.map(|d| json!({"production": {"id": d.id, "url": d.host, "alias": d.alias, "readyState": "READY"}})).unwrap_or(json!({})),
        // The project's newest deployments, newest first (the real API lists a few).
        "latestDeployments": latest_deployments(g, &p.id),
        "live": false,
    })
}

/// Up to ten of a project's deployments, newest first, in the short form the API lists.
fn latest_deployments(g: &Inner, project_id: &str) -> Value {
    let mut mine: Vec<_> = g
        .deployments
        .values()
        .filter(|d| d.project_id == project_id)
        .collect();
    mine.sort_by_key(|d| std::cmp::Reverse(d.created_ms));
    Value::Array(
        mine.into_iter()
            .take(10)
            .map(|d| json!({"id": d.id, "url": d.host, "createdAt": d.created_ms}))
            .collect(),
    )
}

/// Finds a project of `scope` by id or name.
pub fn find<'a>(g: &'a Inner, scope: &str, key: &str) -> Option<&'a VProject> {
    g.projects
        .values()
        .find(|p| p.scope == scope && (p.id == key || p.name == key))
}

pub(crate) fn not_found() -> Response {
    err(404, "not_found", "Project not found", json!({}))
}

/// Creates a project in `scope`; the production host moves aside when the name is taken.
pub fn create(
    app: &App,
    g: &mut Inner,
    scope: &str,
    name: &str,
    settings: Value,
) -> Result<String, Response> {
    if !valid_name(name) {
        return Err(err(
            400,
            "bad_request",
            "Invalid request: `name` should only contain lowercase letters, digits, '.', '_' and '-', be at most 100 characters and not contain '---'.",
            json!({"keyword": "pattern"}),
        ));
    }
    if find(g, scope, name).is_some() {
        return Err(err(
            409,
            "conflict",
            &format!("A project with the name \"{name}\" already exists."),
            json!({}),
        ));
    }
    let label_used = |g: &Inner, host: &str| g.projects.values().any(|p| p.production_host == host);
    let mut host = format!("{name}.vercel.app");
    if g.taken.contains(name) || label_used(g, &host) {
        host = format!("{name}-{}.vercel.app", scope_slug(scope));
        if label_used(g, &host) {
            host = format!(
                "{name}-{}-{}.vercel.app",
                app.ids.alnum(6),
                scope_slug(scope)
            );
        }
    }
    let id = format!("prj_{}", app.ids.alnum(28));
    let settings = if settings.is_object() {
        settings
    } else {
        json!({})
    };
    g.projects.insert(
        id.clone(),
        VProject {
            id: id.clone(),
            name: name.to_string(),
            scope: scope.to_string(),
            created_ms: now_ms(),
            production_host: host,
            production: None,
            rolled_back: false,
            settings,
        },
    );
    Ok(id)
}

/// Routes `/v{N}/projects/...` (`s` starts at `projects`).
pub async fn route(app: &Arc<App>, req: Req, s: &[&str]) -> Response {
    let write = req.method != Method::GET;
    let scope = match authenticate(app, &req, write) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match (req.method.clone(), s) {
        (Method::GET, ["projects"]) => {
            let mut g = app.vercel.lock();
            advance(&mut g, now_ms());
            let list: Vec<Value> = g
                .projects
                .values()
                .filter(|p| p.scope == scope)
                .map(|p| project_json(&g, p))
                .collect();
            let n = list.len();
            ok(json!({"projects": list, "pagination": {"count": n, "next": null, "prev": null}}))
        }
        (Method::POST, ["projects"]) => {
            let v = match json_body(req).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let name = v["name"].as_str().unwrap_or("").to_string();
            let settings = json!({
                "framework": v.get("framework").cloned().unwrap_or(Value::Null),
                "buildCommand": v.get("buildCommand").cloned().unwrap_or(Value::Null),
                "outputDirectory": v.get("outputDirectory").cloned().unwrap_or(Value::Null),
            });
            let mut g = app.vercel.lock();
            match create(app, &mut g, &scope, &name, settings) {
                Ok(id) => match g.projects.get(&id) {
                    Some(p) => ok(project_json(&g, p)),
                    None => not_found(),
                },
                Err(r) => r,
            }
        }
        (Method::GET, ["projects", key]) => {
            let mut g = app.vercel.lock();
            advance(&mut g, now_ms());
            match find(&g, &scope, key) {
                Some(p) => ok(project_json(&g, p)),
                None => not_found(),
            }
        }
        (Method::DELETE, ["projects", key]) => {
            let mut g = app.vercel.lock();
            let Some(id) = find(&g, &scope, key).map(|p| p.id.clone()) else {
                return not_found();
            };
            g.projects.remove(&id);
            g.deployments.retain(|_, d| d.project_id != id);
            StatusCode::NO_CONTENT.into_response()
        }
        (Method::POST, ["projects", key, op @ ("promote" | "rollback"), did]) => {
            let mut g = app.vercel.lock();
            let now = now_ms();
            advance(&mut g, now);
            let Some(pid) = find(&g, &scope, key).map(|p| p.id.clone()) else {
                return not_found();
            };
            let ok_target = match g.deployments.get(*did) {
                Some(d) if d.project_id == pid && d.ready_ms <= now => {
                    *op == "promote" || d.target.as_deref() == Some("production")
                }
                Some(d) if d.project_id == pid => {
                    return err(
                        400,
                        "deployment_not_ready",
                        "The deployment is not ready.",
                        json!({}),
                    );
                }
                _ => {
                    return err(
                        404,
                        "deployment_not_found",
                        "Deployment not found",
                        json!({}),
                    )
                }
            };
            if !ok_target {
                return err(
                    400,
                    "bad_request",
                    "Only production deployments can be rolled back to.",
                    json!({}),
                );
            }
            let host = match g.projects.get_mut(&pid) {
                Some(p) => {
                    p.production = Some(did.to_string());
                    p.rolled_back = *op == "rollback";
                    p.production_host.clone()
                }
                None => return not_found(),
            };
            for d in g.deployments.values_mut().filter(|d| d.project_id == pid) {
                d.alias.retain(|a| a != &host);
            }
            if let Some(d) = g.deployments.get_mut(*did) {
                d.alias.push(host);
            }
            (StatusCode::CREATED, axum::Json(json!({}))).into_response()
        }
        _ => err(
            404,
            "not_found",
            "The requested API endpoint was not found.",
            json!({}),
        ),
    }
}
