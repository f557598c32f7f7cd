//! `POST /v2/files` (`specs/vercel.md §5`): raw bytes with `x-vercel-digest` or `x-now-digest`
//! (SHA-1, checked against the bytes), `x-now-size` / `Content-Length`, and the daily
//! upload quota (§8: 429 with `api-upload-free` / `api-upload-paid`).

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::json;
use sha1::{Digest, Sha1};

use super::{authenticate, err, ok};
use crate::blobs::Ns;
use crate::util::body;
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

const DAY_MS: u64 = 86_400_000;
const MAX_FILE: u64 = 10 << 30;

/// Refuses the upload with the quota 429 when today's uploads are used up.
fn quota(app: &App) -> Result<(), Response> {
    let knobs = app.knobs();
    let now = now_ms();
    let mut g = app.vercel.lock();
    if now >= g.uploads.0 + DAY_MS {
        g.uploads = (now, 0);
    }
    let limit = knobs.vercel_daily_upload_quota;
    if g.uploads.1 >= limit {
        let reset_ms = g.uploads.0 + DAY_MS;
        let name = if knobs.vercel_plan == "pro" {
            "api-upload-paid"
        } else {
            "api-upload-free"
        };
        let mut r = err(
            429,
            "rate_limited",
            &format!(
                "Too many requests - try again in 24 hours (more than {limit}, code: \"{name}\")."
            ),
            json!({
                "name": name,
                "limit": {"remaining": 0, "reset": reset_ms / 1000, "resetMs": reset_ms, "total": limit},
            }),
        );
        let h = r.headers_mut();
        h.insert(
            "retry-after",
            HeaderValue::from((reset_ms.saturating_sub(now)) / 1000 + 1),
        );
        h.insert("x-ratelimit-limit", HeaderValue::from(limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(0));
        h.insert("x-ratelimit-reset", HeaderValue::from(reset_ms / 1000));
        return Err(r);
    }
    // Reserve the upload now, so parallel uploads cannot all pass the check before any of
    // them is counted; a failed upload gives its slot back.
    g.uploads.1 += 1;
    Ok(())
}

/// Gives back the slot of an upload that failed.
fn release_upload(app: &App) {
    let mut g = app.vercel.lock();
    g.uploads.1 = g.uploads.1.saturating_sub(1);
}

/// Stores one file by its SHA-1.
pub async fn upload(app: &Arc<App>, req: Req) -> Response {
    if let Err(r) = authenticate(app, &req, true) {
        return r;
    }
    let Some(digest) = req
        .header("x-vercel-digest")
        .or_else(|| req.header("x-now-digest"))
        .map(|d| d.trim().to_ascii_lowercase())
    else {
        return err(
            400,
            "missing_digest",
            "Missing `x-vercel-digest` or `x-now-digest` header",
            json!({}),
        );
    };
    if digest.len() != 40 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return err(
            400,
            "invalid_digest",
            "The digest must be a SHA-1 in hex",
            json!({}),
        );
    }
    let declared: Option<u64> = match req
        .header("x-now-size")
        .or_else(|| req.header("x-vercel-size"))
    {
        Some(s) => match s.trim().parse() {
            Ok(n) => Some(n),
            Err(_) => {
                return err(
                    400,
                    "invalid_size",
                    "Invalid `x-now-size` header",
                    json!({}),
                )
            }
        },
        None => None,
    };
    let length: Option<u64> = req
        .header("content-length")
        .and_then(|s| s.trim().parse().ok());
    if let (Some(a), Some(b)) = (declared, length) {
        if a != b {
            return err(
                400,
                "invalid_size",
                "`x-now-size` does not match Content-Length",
                json!({}),
            );
        }
    }
    if let Err(r) = quota(app) {
        return r;
    }
    let resp = store(app, req, digest, declared).await;
    if !resp.status().is_success() {
        release_upload(app);
    }
    resp
}

/// Receives, checks and stores the bytes of an upload that has a quota slot.
async fn store(app: &Arc<App>, req: Req, digest: String, declared: Option<u64>) -> Response {
    let mut hasher = Sha1::new();
    let spooled = match body::spool(req.body, app.blobs.tmp_dir(), MAX_FILE, |c| {
        hasher.update(c)
    })
    .await
    {
        Ok(s) => s,
        Err(body::BodyError::TooLarge(_)) => {
            return err(
                413,
                "payload_too_large",
                "Request Entity Too Large",
                json!({}),
            )
        }
        Err(e) => return err(400, "bad_request", &e.to_string(), json!({})),
    };
    if declared.is_some_and(|n| n != spooled.size) {
        return err(
            400,
            "invalid_size",
            "The uploaded size does not match `x-now-size`",
            json!({}),
        );
    }
    let actual = hex::encode(hasher.finalize());
    if actual != digest {
        return err(
            400,
            "invalid_digest",
            &format!("The file's SHA-1 is {actual}, but the digest header says {digest}"),
            json!({}),
        );
    }
    let size = spooled.size;
    if let Err(e) = app
        .blobs
        .commit(Ns::Vercel, &digest, spooled.path, size, None)
    {
        return err(500, "internal_server_error", &e.to_string(), json!({}));
    }
    ok(json!({}))
}
