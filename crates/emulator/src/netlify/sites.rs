//! Sites: create, look up by id/name/host, list, delete (`specs/netlify.md §8`); and the
//! routing of everything under `/sites/` and `/deploys/`.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::model::{site_json, NSite};
use super::{advance, deploys, err, json_body, ok, Inner, ACCOUNT_SLUG};
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

/// Finds a site by id, name, or `<name>.netlify.app`.
pub(crate) fn find<'a>(g: &'a Inner, key: &str) -> Option<&'a NSite> {
    let key = key.to_ascii_lowercase();
    let name = key.strip_suffix(".netlify.app").unwrap_or(&key);
    g.sites
        .get(&key)
        .or_else(|| g.sites.values().find(|s| s.name == name))
}

/// Site JSON with its published deploy.
pub(crate) fn render(g: &Inner, s: &NSite) -> Value {
    let published = s.published_deploy.as_ref().and_then(|id| g.deploys.get(id));
    site_json(s, published, ACCOUNT_SLUG)
}

/// Subdomain rules: 1–63 of `[a-z0-9-]`, no leading or trailing `-`.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--")
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn name_error(msg: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({"errors": {"subdomain": [msg]}})),
    )
        .into_response()
}

const ADJECTIVES: [&str; 8] = [
    "tubular",
    "tranquil",
    "leafy",
    "preeminent",
    "sparkly",
    "jovial",
    "stellar",
    "vivid",
];
const NOUNS: [&str; 8] = [
    "melomakarona",
    "marshmallow",
    "gecko",
    "fenglisu",
    "otter",
    "biscuit",
    "comet",
    "lantern",
];

/// A random `adjective-noun-6hex` name, as Netlify picks for unnamed sites.
pub(crate) fn random_name(app: &App) -> String {
    let a = app.ids.seed() as usize;
    format!(
        "{}-{}-{}",
        ADJECTIVES[a % 8],
        NOUNS[(a / 8) % 8],
        app.ids.hex(6)
    )
}

/// Creates a site (name validated and unique), returning its JSON.
pub(crate) fn create_site(
    app: &App,
    name: Option<&str>,
    drop: Option<(String, u64)>,
    password: Option<String>,
) -> Result<(String, Value), Response> {
    let mut g = app.netlify.lock();
    let name = match name {
        Some(n) => {
            let n = n.to_ascii_lowercase();
            if !valid_name(&n) {
                return Err(name_error("is invalid"));
            }
            if g.taken.contains(&n) || g.sites.values().any(|s| s.name == n) {
                return Err(name_error("must be unique"));
            }
            n
        }
        None => loop {
            let n = random_name(app);
            if !g.taken.contains(&n) && !g.sites.values().any(|s| s.name == n) {
                break n;
            }
        },
    };
    let site = NSite {
        id: app.ids.uuid(),
        name,
        created_ms: now_ms(),
        published_deploy: None,
        publish_history: Vec::new(),
        drop,
        password,
    };
    let id = site.id.clone();
    let v = render(&g, &site);
    g.sites.insert(id.clone(), site);
    Ok((id, v))
}

/// Routes `/sites/...`, `/{account}/sites` and `/deploys/...`.
pub async fn route(app: &Arc<App>, req: Req, s: &[&str]) -> Response {
    match (req.method.clone(), s) {
        (Method::GET, ["sites"]) => {
            let filter = req.query_param("name").map(|n| n.to_ascii_lowercase());
            let mut g = app.netlify.lock();
            advance(&mut g, now_ms());
            let list: Vec<Value> = g
                .sites
                .values()
                .filter(|s| s.drop.is_none())
                .filter(|s| filter.as_deref().is_none_or(|f| s.name.contains(f)))
                .map(|s| render(&g, s))
                .collect();
            ok(Value::Array(list))
        }
        (Method::POST, ["sites"]) | (Method::POST, [_, "sites"]) => {
            if let [slug, "sites"] = s {
                if *slug != ACCOUNT_SLUG {
                    return err(404, "Not Found");
                }
            }
            let v = match json_body(req).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let name = v["name"].as_str().or(v["subdomain"].as_str());
            match create_site(app, name, None, None) {
                Ok((_, v)) => super::created(v),
                Err(r) => r,
            }
        }
        (Method::GET, ["sites", key]) => {
            let mut g = app.netlify.lock();
            advance(&mut g, now_ms());
            match find(&g, key) {
                Some(site) => ok(render(&g, site)),
                None => err(404, "Not Found"),
            }
        }
        (Method::DELETE, ["sites", key]) => {
            let mut g = app.netlify.lock();
            let Some(id) = find(&g, key).map(|s| s.id.clone()) else {
                return err(404, "Not Found");
            };
            g.sites.remove(&id);
            g.deploys.retain(|_, d| d.site_id != id);
            StatusCode::NO_CONTENT.into_response()
        }
        (Method::GET, ["sites", key, "deploys"]) => deploys::list(app, key),
        (Method::POST, ["sites", key, "deploys"]) => deploys::create(app, req, key).await,
        (Method::GET, ["sites", key, "deploys", id]) => deploys::get(app, Some(key), id),
        (Method::PUT, ["sites", key, "deploys", id]) => {
            deploys::update(app, req, Some(key), id).await
        }
        (Method::DELETE, ["sites", _, "deploys", id]) | (Method::DELETE, ["deploys", id]) => {
            deploys::delete(app, id)
        }
        (Method::POST, ["sites", key, "deploys", id, "restore"]) => deploys::restore(app, key, id),
        (Method::PUT, ["sites", key, "rollback"]) => deploys::rollback(app, key),
        (Method::GET, ["deploys", id]) => deploys::get(app, None, id),
        (Method::PUT, ["deploys", id]) => deploys::update(app, req, None, id).await,
        (Method::POST, ["deploys", id, action @ ("cancel" | "lock" | "unlock")]) => {
            deploys::action(app, id, action)
        }
        _ => err(404, "Not Found"),
    }
}
