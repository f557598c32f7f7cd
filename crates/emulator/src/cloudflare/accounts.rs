//! Token verification, user, accounts and memberships (`specs/cloudflare.md §5`, §6).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::envelope::{ok, ok_list, CfError, CfResult};
use super::{accounts, authenticate, Access};
use crate::util::req::Req;
use crate::util::time::{iso8601, now_ms};
use crate::App;

fn token_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..16])
}

fn page_args(req: &Req) -> (usize, usize) {
    let page = req
        .query_param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let per_page = req
        .query_param("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20);
    (page, per_page)
}

/// `GET /user/tokens/verify`: `{id, status}`; an expired token is known but not active.
pub fn verify(app: &App, req: &Req) -> CfResult {
    let token = req.bearer().unwrap_or("").to_string();
    let cfg = &app.config;
    if token == cfg.expired_token {
        return ok(json!({
            "id": token_id(&token),
            "status": "expired",
            "not_before": "2020-01-01T00:00:00Z",
            "expires_on": "2021-01-01T00:00:00Z",
        }));
    }
    if token.is_empty() {
        authenticate(app, req, Access::Read)?;
    }
    if token != cfg.cloudflare_token && token != cfg.readonly_token {
        return Err(CfError::new(401, 1000, "Invalid API Token"));
    }
    ok(json!({"id": token_id(&token), "status": "active"}))
}

/// `GET /user`.
pub fn user(app: &App, req: &Req) -> CfResult {
    authenticate(app, req, Access::Read)?;
    ok(json!({
        "id": "7c5dae5552338874e5053f2534d2767a",
        "email": "tester@sitedrop.test",
        "first_name": "Site",
        "last_name": "Drop",
        "username": "sitedrop",
        "two_factor_authentication_enabled": false,
        "suspended": false,
    }))
}

fn account_json(app: &App, id: &str) -> Value {
    let name = if id == app.config.cloudflare_account_id {
        "Sitedrop Test".to_string()
    } else {
        format!("Sitedrop Test {}", &id[..6.min(id.len())])
    };
    json!({
        "id": id, "name": name, "type": "standard",
        "settings": {"enforce_twofactor": false},
        "created_on": iso8601(now_ms()),
    })
}

/// `GET /accounts?page=N`.
pub fn list(app: &App, req: &Req) -> CfResult {
    authenticate(app, req, Access::Read)?;
    let (page, per_page) = page_args(req);
    let items = accounts(app).iter().map(|a| account_json(app, a)).collect();
    ok_list(items, page, per_page)
}

/// `GET /memberships?page=N`.
pub fn memberships(app: &App, req: &Req) -> CfResult {
    authenticate(app, req, Access::Read)?;
    let (page, per_page) = page_args(req);
    let items = accounts(app)
        .iter()
        .map(|a| {
            let acc = account_json(app, a);
            json!({
                "id": token_id(a),
                "account": {"id": a, "name": acc["name"]},
                "status": "accepted",
                "roles": ["Administrator"],
            })
        })
        .collect();
    ok_list(items, page, per_page)
}
