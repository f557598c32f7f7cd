//! Anonymous "Drop" deploys (`specs/netlify.md §10.2`): `POST /drop/token`, `POST /drop`,
//! and claiming with `POST /drop/claim`. Drop sites are temporary: unclaimed, they vanish
//! after `netlify_drop_ttl_secs` (60 minutes on Netlify), and unless `created_via` names
//! another tool they are password-protected with `My-Drop-Site`, as netlify-cli prints.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use serde_json::json;

use super::deploys::apply_manifest;
use super::model::{NDeploy, Phase};
use super::sites::{create_site, find, render};
use super::{err, files, json_body, ok, require, Caller};
use crate::util::req::Req;
use crate::util::time::{iso8601, now_ms};
use crate::App;

/// The password netlify-cli prints for protected Drop sites.
pub const DROP_PASSWORD: &str = "My-Drop-Site";

fn over_daily_limit(app: &App, count_it: bool) -> bool {
    let limit = app.knobs().netlify_drop_daily_limit;
    let day = now_ms() / 86_400_000;
    let mut g = app.netlify.lock();
    if g.drops_today.0 != day {
        g.drops_today = (day, 0);
    }
    if limit > 0 && g.drops_today.1 >= limit {
        return true;
    }
    if count_it {
        g.drops_today.1 += 1;
    }
    false
}

/// Routes `/drop...`.
pub async fn route(app: &Arc<App>, req: Req, rest: &[String]) -> Response {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (req.method.clone(), r.as_slice()) {
        (Method::POST, ["token"]) => {
            if over_daily_limit(app, false) {
                return err(429, "You've reached the daily limit for anonymous deploys");
            }
            let token = app.ids.hex(40);
            let exp = now_ms() + app.knobs().netlify_drop_ttl_secs * 1000;
            app.netlify.lock().drop_tokens.insert(token.clone(), exp);
            ok(json!({"token": token}))
        }
        (Method::POST, []) => create(app, req).await,
        (Method::POST, ["claim"]) => claim(app, req).await,
        _ => err(404, "Not Found"),
    }
}

async fn create(app: &Arc<App>, req: Req) -> Response {
    let v = match json_body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = v["token"].as_str().unwrap_or("").to_string();
    let exp = app.netlify.lock().drop_tokens.get(&token).copied();
    let Some(exp) = exp.filter(|e| *e > now_ms()) else {
        return err(401, "Access Denied: invalid drop token");
    };
    let Some(files_map) = v["files"].as_object() else {
        return err(422, "files is required");
    };
    if over_daily_limit(app, true) {
        return err(429, "You've reached the daily limit for anonymous deploys");
    }
    let created_via = v["created_via"].as_str();
    let password = match created_via {
        None | Some("drop") => Some(DROP_PASSWORD.to_string()),
        Some(_) => None,
    };
    let (site_id, _) = match create_site(app, None, Some((token.clone(), exp)), password) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = now_ms();
    let mut d = NDeploy {
        id: app.ids.hex(24),
        site_id: site_id.clone(),
        created_ms: now,
        updated_ms: now,
        draft: false,
        branch: None,
        title: None,
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
    if let Err(r) = apply_manifest(app, &mut d, files_map, false) {
        app.netlify.lock().sites.remove(&site_id);
        return r;
    }
    let deploy_id = d.id.clone();
    let required = d.required.clone();
    let name = {
        let mut g = app.netlify.lock();
        g.deploys.insert(deploy_id.clone(), d);
        g.sites
            .get(&site_id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    if required.is_empty() {
        files::finish(app, &deploy_id).await;
    }
    ok(json!({
        "id": site_id,
        "deploy_id": deploy_id,
        "subdomain": name,
        "url": format!("https://{name}.netlify.app"),
        "state": "prepared",
        "required": required,
        "claim_url": format!("https://app.netlify.com/drop/{name}#drop_token={token}"),
        "expires_at": iso8601(exp),
    }))
}

async fn claim(app: &Arc<App>, req: Req) -> Response {
    let caller = match req.bearer() {
        Some(t) if t == app.config.netlify_token => Caller::Owner,
        Some(t) if t == app.config.readonly_token => Caller::ReadOnly,
        _ => Caller::Anonymous,
    };
    if let Err(r) = require(&caller, true) {
        return r;
    }
    let v = match json_body(req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (site, token) = (
        v["site"].as_str().unwrap_or(""),
        v["token"].as_str().unwrap_or(""),
    );
    let mut g = app.netlify.lock();
    super::advance(&mut g, now_ms());
    let Some(id) = find(&g, site).map(|s| s.id.clone()) else {
        return err(404, "Not Found");
    };
    let Some(s) = g.sites.get_mut(&id) else {
        return err(404, "Not Found");
    };
    match &s.drop {
        Some((t, _)) if t == token => {
            s.drop = None;
            s.password = None;
        }
        Some(_) => return err(401, "Access Denied: invalid drop token"),
        None => return err(422, "This site has already been claimed"),
    }
    let s = s.clone();
    ok(render(&g, &s))
}
