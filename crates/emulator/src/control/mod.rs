//! The `/_emulator/` control API (documented in the crate README).

pub mod faults;
pub mod reqlog;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::util::body;
use crate::util::req::Req;
use crate::App;

fn reply(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn bad(msg: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({"error": msg.into()}))
}

/// The answer for a path no platform owns.
pub fn not_found(path: &str) -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"error": format!("sitedrop-emulator: no platform serves {path}")}),
    )
}

async fn json_body(req: Req) -> Result<Value, Response> {
    let bytes = body::to_bytes(req.body, 1 << 20)
        .await
        .map_err(|e| bad(e.to_string()))?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON: {e}")))
}

/// Dispatches `/_emulator/...`.
pub async fn handle(app: &Arc<App>, req: Req) -> Response {
    let path = req.path.trim_end_matches('/').to_string();
    let method = req.method.clone();
    match (method, path.as_str()) {
        (Method::GET, "/_emulator/health") => reply(StatusCode::OK, json!({"ok": true})),
        (Method::POST | Method::PUT, "/_emulator/sink") => sink(req.body).await,
        (Method::POST, "/_emulator/faults") => {
            let v = match json_body(req).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            match serde_json::from_value::<faults::FaultSpec>(v) {
                Ok(spec) => {
                    let id = app.faults.add(spec, app.ids.seed());
                    reply(StatusCode::OK, json!({"id": id}))
                }
                Err(e) => bad(format!("invalid fault: {e}")),
            }
        }
        (Method::GET, "/_emulator/faults") => reply(StatusCode::OK, app.faults.list()),
        (Method::DELETE, "/_emulator/faults") => {
            app.faults.clear();
            reply(StatusCode::OK, json!({"cleared": true}))
        }
        (Method::DELETE, p) if p.starts_with("/_emulator/faults/") => {
            let id = p["/_emulator/faults/".len()..].parse::<u64>().unwrap_or(0);
            reply(StatusCode::OK, json!({"removed": app.faults.remove(id)}))
        }
        (Method::GET, "/_emulator/requests") => {
            let since = req
                .query_param("since")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            reply(StatusCode::OK, json!(app.log.since(since)))
        }
        (Method::DELETE, "/_emulator/requests") => {
            app.log.clear();
            reply(StatusCode::OK, json!({"cleared": true}))
        }
        (Method::GET, "/_emulator/state") => reply(StatusCode::OK, state(app)),
        (Method::POST, "/_emulator/reset") => {
            app.reset();
            reply(StatusCode::OK, json!({"reset": true}))
        }
        (Method::GET, "/_emulator/config") => reply(StatusCode::OK, json!(app.knobs())),
        (Method::POST, "/_emulator/config") => {
            let v = match json_body(req).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let mut knobs = app.knobs.write().unwrap_or_else(|e| e.into_inner());
            match knobs.merged(&v) {
                Ok(k) => {
                    *knobs = k;
                    reply(StatusCode::OK, json!(*knobs))
                }
                Err(e) => bad(e),
            }
        }
        (Method::POST, "/_emulator/taken") => {
            let v = match json_body(req).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let (Some(platform), Some(name)) = (v["platform"].as_str(), v["name"].as_str()) else {
                return bad("expected {\"platform\", \"name\"}");
            };
            match platform {
                "cloudflare" => app.cf.take_name(name),
                "netlify" => app.netlify.take_name(name),
                "vercel" => app.vercel.take_name(name),
                _ => return bad("platform must be cloudflare, netlify or vercel"),
            }
            reply(StatusCode::OK, json!({"taken": name}))
        }
        (Method::POST, "/_emulator/amplify/stuck-job") => {
            let v = match json_body(req).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            let (Some(app_id), Some(branch)) = (v["app_id"].as_str(), v["branch"].as_str()) else {
                return bad("expected {\"app_id\", \"branch\"}");
            };
            match app.amplify.add_stuck_job(app, app_id, branch) {
                Ok(job_id) => reply(StatusCode::OK, json!({"jobId": job_id})),
                Err(e) => reply(StatusCode::NOT_FOUND, json!({"error": e})),
            }
        }
        _ => not_found(&req.path),
    }
}

/// Reads a request body to the end and keeps nothing: the benchmarks' transfer floor, what
/// sending bytes to this server costs when nothing is done with them.
async fn sink(body: axum::body::Body) -> Response {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => bytes += c.len() as u64,
            Err(e) => return bad(format!("the body broke off: {e}")),
        }
    }
    reply(StatusCode::OK, json!({ "bytes": bytes }))
}

fn state(app: &App) -> Value {
    let blobs: serde_json::Map<String, Value> = app
        .blobs
        .counts()
        .into_iter()
        .map(|(k, v)| {
            (
                serde_json::to_value(k)
                    .ok()
                    .and_then(|k| k.as_str().map(String::from))
                    .unwrap_or_default(),
                json!(v),
            )
        })
        .collect();
    json!({
        "cloudflare": app.cf.dump(app),
        "netlify": app.netlify.dump(app),
        "vercel": app.vercel.dump(app),
        "amplify": app.amplify.dump(app),
        "blobs": blobs,
        "state_dir": app.blobs.root().display().to_string(),
    })
}
