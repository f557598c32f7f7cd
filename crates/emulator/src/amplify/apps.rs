//! CreateApp, GetApp, ListApps, DeleteApp, CreateBranch, GetBranch, ListBranches,
//! DeleteBranch (`specs/amplify.md §1.3`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::error::{AwsError, AwsResult};
use super::model::{app_json, branch_json, display_name, AmpApp, Branch};
use super::{advance, ok, page};
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

const STAGES: [&str; 5] = [
    "PRODUCTION",
    "BETA",
    "DEVELOPMENT",
    "EXPERIMENTAL",
    "PULL_REQUEST",
];

pub(crate) fn app_not_found(id: &str) -> AwsError {
    AwsError::not_found(format!("App {id} not found."))
}

pub(crate) fn branch_not_found(b: &str) -> AwsError {
    AwsError::not_found(format!("Branch {b} not found."))
}

fn region(app: &App) -> (&str, &str) {
    (&app.config.aws_region, &app.config.aws_account_id)
}

/// `POST /apps` with `{"name", "platform": "WEB"}` and no repository.
pub fn create_app(app: &App, body: &Value) -> AwsResult {
    let name = body["name"].as_str().unwrap_or("");
    if name.is_empty() || name.len() > 255 {
        return Err(AwsError::bad_request("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length between 1 and 255"));
    }
    let platform = body["platform"].as_str().unwrap_or("WEB");
    if !["WEB", "WEB_DYNAMIC", "WEB_COMPUTE"].contains(&platform) {
        return Err(AwsError::bad_request(format!(
            "Invalid platform {platform}."
        )));
    }
    if body["repository"].as_str().is_some_and(|r| !r.is_empty())
        && body["accessToken"].is_null()
        && body["oauthToken"].is_null()
    {
        return Err(AwsError::bad_request(
            "An access token or OAuth token is required to connect a repository.",
        ));
    }
    let max = app.knobs().amplify_max_apps as usize;
    let mut g = app.amplify.lock();
    if g.apps.len() >= max {
        return Err(AwsError::limit(format!(
            "Apps limit of {max} per region exceeded."
        )));
    }
    let id = format!("d{}", app.ids.alnum(13));
    let a = AmpApp {
        id: id.clone(),
        name: name.to_string(),
        description: body["description"].as_str().unwrap_or("").to_string(),
        platform: platform.to_string(),
        created_ms: now_ms(),
        custom_rules: if body["customRules"].is_array() {
            body["customRules"].clone()
        } else {
            json!([])
        },
        env: if body["environmentVariables"].is_object() {
            body["environmentVariables"].clone()
        } else {
            json!({})
        },
        branches: BTreeMap::new(),
    };
    let (r, acc) = region(app);
    let v = app_json(&a, r, acc);
    g.apps.insert(id, a);
    ok(json!({"app": v}))
}

/// `GET /apps/{appId}`.
pub fn get_app(app: &App, id: &str) -> AwsResult {
    let mut g = app.amplify.lock();
    advance(&mut g, now_ms(), &app.knobs());
    let a = g.apps.get(id).ok_or_else(|| app_not_found(id))?;
    let (r, acc) = region(app);
    ok(json!({"app": app_json(a, r, acc)}))
}

/// `GET /apps?maxResults=&nextToken=`.
pub fn list_apps(app: &App, req: &Req) -> AwsResult {
    let (start, size) = page(req, 100)?;
    let g = app.amplify.lock();
    let (r, acc) = region(app);
    let all: Vec<Value> = g.apps.values().map(|a| app_json(a, r, acc)).collect();
    let next = (start + size < all.len()).then(|| (start + size).to_string());
    let items: Vec<Value> = all.into_iter().skip(start).take(size).collect();
    ok(json!({"apps": items, "nextToken": next}))
}

/// `DELETE /apps/{appId}`.
pub fn delete_app(app: &App, id: &str) -> AwsResult {
    let mut g = app.amplify.lock();
    let a = g.apps.remove(id).ok_or_else(|| app_not_found(id))?;
    let (r, acc) = region(app);
    ok(json!({"app": app_json(&a, r, acc)}))
}

/// `POST /apps/{appId}/branches` with `{"branchName"}`.
pub fn create_branch(app: &App, id: &str, body: &Value) -> AwsResult {
    let name = body["branchName"].as_str().unwrap_or("");
    if name.is_empty() || name.len() > 255 {
        return Err(AwsError::bad_request("1 validation error detected: Value at 'branchName' failed to satisfy constraint: Member must have length between 1 and 255"));
    }
    let stage = body["stage"].as_str().unwrap_or("NONE");
    if stage != "NONE" && !STAGES.contains(&stage) {
        return Err(AwsError::bad_request(format!("Invalid stage {stage}.")));
    }
    let mut g = app.amplify.lock();
    let a = g.apps.get_mut(id).ok_or_else(|| app_not_found(id))?;
    if a.branches.contains_key(name) {
        return Err(AwsError::bad_request(format!(
            "Branch {name} already exists."
        )));
    }
    if a.branches.len() >= 50 {
        return Err(AwsError::limit("Branches limit of 50 per app exceeded."));
    }
    let display = body["displayName"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| display_name(name));
    let b = Branch {
        name: name.to_string(),
        display_name: display,
        stage: stage.to_string(),
        created_ms: now_ms(),
        jobs: Vec::new(),
        next_job: 0,
        site: None,
    };
    let (r, acc) = region(app);
    let v = branch_json(id, &b, r, acc);
    a.branches.insert(name.to_string(), b);
    ok(json!({"branch": v}))
}

/// `GET /apps/{appId}/branches/{branchName}`.
pub fn get_branch(app: &App, id: &str, b: &str) -> AwsResult {
    let mut g = app.amplify.lock();
    advance(&mut g, now_ms(), &app.knobs());
    let a = g.apps.get(id).ok_or_else(|| app_not_found(id))?;
    let br = a.branches.get(b).ok_or_else(|| branch_not_found(b))?;
    let (r, acc) = region(app);
    ok(json!({"branch": branch_json(id, br, r, acc)}))
}

/// `GET /apps/{appId}/branches`.
pub fn list_branches(app: &App, id: &str, req: &Req) -> AwsResult {
    let (start, size) = page(req, 50)?;
    let g = app.amplify.lock();
    let a = g.apps.get(id).ok_or_else(|| app_not_found(id))?;
    let (r, acc) = region(app);
    let all: Vec<Value> = a
        .branches
        .values()
        .map(|b| branch_json(id, b, r, acc))
        .collect();
    let next = (start + size < all.len()).then(|| (start + size).to_string());
    let items: Vec<Value> = all.into_iter().skip(start).take(size).collect();
    ok(json!({"branches": items, "nextToken": next}))
}

/// `DELETE /apps/{appId}/branches/{branchName}`.
pub fn delete_branch(app: &App, id: &str, b: &str) -> AwsResult {
    let mut g = app.amplify.lock();
    let a = g.apps.get_mut(id).ok_or_else(|| app_not_found(id))?;
    let br = a.branches.remove(b).ok_or_else(|| branch_not_found(b))?;
    let (r, acc) = region(app);
    ok(json!({"branch": branch_json(id, &br, r, acc)}))
}
