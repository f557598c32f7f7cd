//! `/pages/assets/check-missing`, `/upload`, `/upsert-hashes` (`specs/cloudflare.md §3.4–3.7`),
//! authorised by the upload JWT.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::envelope::{codes, ok, CfError};
use super::hash;
use super::jwt::{self, JwtError};
use crate::blobs::Ns;
use crate::util::body;
use crate::util::req::Req;
use crate::util::time::now_secs;
use crate::App;

/// Largest upload body accepted (a 40 MiB bucket is ~54 MiB of JSON, §3.5).
const MAX_UPLOAD_BODY: u64 = 128 << 20;

fn is_hash(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks the upload JWT. An expired one gets the real non-JSON `403 Expired JWT` (§3.6).
fn authorize(app: &App, req: &Req) -> Result<Value, Response> {
    let unauthorized = || {
        CfError::new(
            401,
            codes::JWT_UNAUTHORIZED,
            "Authorization failed: invalid upload token",
        )
        .into_response()
    };
    let token = req.bearer().ok_or_else(unauthorized)?;
    match jwt::verify(app.cf.secret(), token, now_secs()) {
        Ok(c) if c["scope"] == "pages-assets" => Ok(c),
        Ok(_) | Err(JwtError::Invalid) => Err(unauthorized()),
        Err(JwtError::Expired) => Err((
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain")],
            "Expired JWT",
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
struct Hashes {
    hashes: Vec<String>,
}

/// Handles the three asset endpoints.
pub async fn handle(app: &Arc<App>, req: Req, op: &str) -> Response {
    if req.method != Method::POST {
        return CfError::no_route(&req.path).into_response();
    }
    let claims = match authorize(app, &req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let result = match op {
        "check-missing" => check_missing(app, req, &claims).await,
        "upsert-hashes" => upsert(req).await,
        "upload" => upload(app, req).await,
        _ => Err(CfError::no_route(&req.path)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn read_hashes(req: Req) -> Result<Vec<String>, CfError> {
    let bytes = body::to_bytes(req.body, 64 << 20)
        .await
        .map_err(|e| CfError::bad_request(e.to_string()))?;
    let h: Hashes = serde_json::from_slice(&bytes)
        .map_err(|e| CfError::bad_request(format!("Invalid list of hashes: {e}")))?;
    if let Some(bad) = h.hashes.iter().find(|h| !is_hash(h)) {
        return Err(CfError::bad_request(format!("Invalid hash: {bad}")));
    }
    Ok(h.hashes)
}

async fn check_missing(app: &App, req: Req, claims: &Value) -> Result<Response, CfError> {
    let hashes = read_hashes(req).await?;
    let limit = claims["max_file_count_allowed"].as_u64().unwrap_or(20_000);
    if hashes.len() as u64 > limit {
        return Err(CfError::new(
            400,
            codes::TOO_MANY_FILES,
            format!(
                "Pages only supports up to {limit} files in a deployment for your current plan."
            ),
        ));
    }
    let mut seen = HashSet::new();
    let missing: Vec<Value> = hashes
        .into_iter()
        .filter(|h| seen.insert(h.clone()) && !app.blobs.contains(Ns::CfPages, h))
        .map(Value::String)
        .collect();
    ok(Value::Array(missing))
}

async fn upsert(req: Req) -> Result<Response, CfError> {
    read_hashes(req).await?;
    ok(Value::Null)
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "contentType")]
    content_type: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    key: String,
    value: String,
    metadata: Option<Meta>,
    base64: Option<bool>,
}

/// Visits the upload array one element at a time, so only one file is decoded at once.
struct ItemsSeed<'a> {
    app: &'a App,
    max_size: u64,
    verified: Vec<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for &mut ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of {key, value, metadata, base64}")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(item) = seq.next_element::<Item>()? {
            self.store(item).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

impl ItemsSeed<'_> {
    fn store(&mut self, item: Item) -> Result<(), String> {
        if !is_hash(&item.key) {
            return Err(format!("invalid key {}", item.key));
        }
        let is_b64 = item.base64.unwrap_or(false);
        let bytes = if is_b64 {
            STANDARD
                .decode(item.value.as_bytes())
                .map_err(|e| format!("value of {} is not base64: {e}", item.key))?
        } else {
            item.value.clone().into_bytes()
        };
        if bytes.len() as u64 > self.max_size {
            return Err(format!(
                "too large: {} is {} bytes; Pages only supports files up to 25 MiB in size",
                item.key,
                bytes.len()
            ));
        }
        let ct = item.metadata.and_then(|m| m.content_type);
        // The key is BLAKE3(base64 ‖ ext); the extension is unknown here, so try the ones
        // the declared type maps to. A miss is settled at deployment time against the path.
        if is_b64 {
            let mut h = blake3::Hasher::new();
            h.update(item.value.as_bytes());
            let mut cands: Vec<String> = vec![String::new()];
            if let Some(exts) = ct.as_deref().and_then(mime_guess::get_mime_extensions_str) {
                for e in exts {
                    cands.push(e.to_string());
                    cands.push(e.to_ascii_uppercase());
                }
            }
            if let Some(e) = cands
                .into_iter()
                .find(|e| hash::finish(h.clone(), e) == item.key)
            {
                self.verified.push((item.key.clone(), e));
            }
        }
        let mut tmp =
            tempfile::NamedTempFile::new_in(self.app.blobs.tmp_dir()).map_err(|e| e.to_string())?;
        tmp.write_all(&bytes).map_err(|e| e.to_string())?;
        self.app
            .blobs
            .commit(
                Ns::CfPages,
                &item.key,
                tmp.into_temp_path(),
                bytes.len() as u64,
                ct,
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

async fn upload(app: &Arc<App>, req: Req) -> Result<Response, CfError> {
    let spooled = body::spool(req.body, app.blobs.tmp_dir(), MAX_UPLOAD_BODY, |_| {})
        .await
        .map_err(|e| CfError::bad_request(e.to_string()))?;
    let app2 = app.clone();
    let max_size = app.knobs().cloudflare_max_file_size;
    let res = tokio::task::spawn_blocking(move || -> Result<Vec<(String, String)>, String> {
        // Parsed from memory: serde_json reads a slice several times faster than a reader, and
        // a bucket is at most 40 MiB of files (53 MiB of JSON).
        let bytes = std::fs::read(&spooled.path).map_err(|e| e.to_string())?;
        let mut seed = ItemsSeed {
            app: &app2,
            max_size,
            verified: Vec::new(),
        };
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        (&mut seed)
            .deserialize(&mut de)
            .map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(seed.verified)
    })
    .await
    .map_err(|e| CfError::new(500, 8000000, e.to_string()))?;
    match res {
        Ok(verified) => {
            app.cf.lock().verified.extend(verified);
            ok(Value::Null)
        }
        Err(e) if e.contains("too large") => Err(CfError::new(400, codes::FILE_TOO_LARGE, e)),
        Err(e) => Err(CfError::bad_request(format!("Invalid upload payload: {e}"))),
    }
}
