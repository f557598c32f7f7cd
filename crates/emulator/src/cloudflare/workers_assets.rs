//! Workers static assets: the upload session (`specs/cloudflare.md §4.3`) and the bucket
//! uploads that end with a completion JWT (§4.4a, §4.4b).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::envelope::{codes, ok, ok_status, CfError, CfResult};
use super::hash;
use super::jwt::{self, JwtError};
use super::pages::json_body;
use super::state::{Expected, UploadSession};
use crate::blobs::Ns;
use crate::util::b64::B64Decoder;
use crate::util::req::Req;
use crate::util::time::now_secs;
use crate::App;

const BUCKET_FILES: usize = 100;
const BUCKET_BYTES: u64 = 40 << 20;

fn session_token(app: &App, id: &str, acc: &str, script: &str, scope: &str) -> String {
    let now = now_secs();
    jwt::issue(
        app.cf.secret(),
        &json!({
            "scope": scope, "session": id, "account_id": acc, "script": script,
            "iat": now, "exp": now + app.knobs().cloudflare_workers_jwt_ttl_secs,
        }),
    )
}

/// `POST …/scripts/{name}/assets-upload-session` with `{"manifest": {path: {hash, size}}}`.
pub async fn session(app: &Arc<App>, req: Req, acc: &str, script: &str) -> CfResult {
    let body = json_body(req).await?;
    let m = body["manifest"]
        .as_object()
        .ok_or_else(|| CfError::bad_request("A manifest is required."))?;
    let knobs = app.knobs();
    if m.len() as u64 > knobs.cloudflare_workers_max_file_count {
        return Err(CfError::new(
            400,
            codes::TOO_MANY_FILES,
            format!(
                "Too many assets: {} files; this account allows {} per version.",
                m.len(),
                knobs.cloudflare_workers_max_file_count
            ),
        ));
    }
    let mut manifest = BTreeMap::new();
    for (path, e) in m {
        let h = e["hash"].as_str().unwrap_or("");
        let size = e["size"].as_u64();
        if !path.starts_with('/') || h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CfError::bad_request(format!(
                "Invalid manifest entry for {path}"
            )));
        }
        let size = size.ok_or_else(|| CfError::bad_request(format!("Missing size for {path}")))?;
        if size > knobs.cloudflare_max_file_size {
            return Err(CfError::new(
                400,
                codes::FILE_TOO_LARGE,
                format!("Asset too large: {path} is {size} bytes (limit 25 MiB)."),
            ));
        }
        manifest.insert(path.clone(), (h.to_string(), size));
    }
    // Contents already stored must hash to their key for this path's extension.
    let mut stored = Vec::new();
    let mut missing = HashSet::new();
    for (path, (h, _)) in &manifest {
        match app.blobs.get(Ns::CfWorkers, h) {
            Some(meta) => stored.push((path.clone(), h.clone(), meta.path.clone())),
            None => {
                missing.insert(h.clone());
            }
        }
    }
    verify_stored(app, stored).await?;
    let id = app.ids.hex(32);
    let sizes: HashMap<&str, u64> = manifest.values().map(|(h, s)| (h.as_str(), *s)).collect();
    let mut order: Vec<&String> = missing.iter().collect();
    order.sort_by_key(|h| std::cmp::Reverse(sizes.get(h.as_str()).copied().unwrap_or(0)));
    let mut buckets: Vec<(Vec<String>, u64)> = Vec::new();
    for h in order {
        let size = sizes.get(h.as_str()).copied().unwrap_or(0);
        match buckets
            .iter_mut()
            .find(|(b, bytes)| b.len() < BUCKET_FILES && bytes + size <= BUCKET_BYTES)
        {
            Some((b, bytes)) => {
                b.push(h.clone());
                *bytes += size;
            }
            None => buckets.push((vec![h.clone()], size)),
        }
    }
    let done = missing.is_empty();
    let completion = done.then(|| session_token(app, &id, acc, script, "workers-assets-complete"));
    let token = completion
        .clone()
        .unwrap_or_else(|| session_token(app, &id, acc, script, "workers-assets-upload"));
    app.cf.lock().sessions.insert(
        id,
        UploadSession {
            account: acc.into(),
            script: script.into(),
            expected: Arc::new(expected(&manifest)),
            manifest,
            missing,
            completion,
        },
    );
    let buckets: Vec<Value> = buckets.into_iter().map(|(b, _)| json!(b)).collect();
    ok(json!({"jwt": token, "buckets": buckets}))
}

async fn verify_stored(
    app: &App,
    stored: Vec<(String, String, std::path::PathBuf)>,
) -> Result<(), CfError> {
    let todo: Vec<_> = {
        let g = app.cf.lock();
        stored
            .into_iter()
            .filter(|(p, h, _)| {
                !g.verified
                    .contains(&(h.clone(), hash::extension(p).to_string()))
            })
            .collect()
    };
    if todo.is_empty() {
        return Ok(());
    }
    let res = tokio::task::spawn_blocking(move || {
        let mut ok = Vec::new();
        for (path, h, file) in todo {
            let ext = hash::extension(&path).to_string();
            let actual = hash::of_file(&file, &ext).map_err(|e| (path.clone(), e.to_string()))?;
            if actual != h {
                return Err((path, format!("stored contents hash to {actual}, not {h}")));
            }
            ok.push((h, ext));
        }
        Ok(ok)
    })
    .await
    .map_err(|e| CfError::new(500, 10002, e.to_string()))?;
    match res {
        Ok(pairs) => {
            app.cf.lock().verified.extend(pairs);
            Ok(())
        }
        Err((path, why)) => Err(CfError::new(
            400,
            codes::HASH_MISMATCH,
            format!("Hash mismatch for {path}: {why}"),
        )),
    }
}

/// Verifies an upload-session JWT; returns the session id.
fn authorize(app: &App, req: &Req) -> Result<String, Response> {
    let unauthorized = || {
        CfError::new(
            401,
            10000,
            "Authentication error: invalid assets upload token",
        )
        .into_response()
    };
    let token = req.bearer().ok_or_else(unauthorized)?;
    match jwt::verify(app.cf.secret(), token, now_secs()) {
        Ok(c) if c["scope"] == "workers-assets-upload" => c["session"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(unauthorized),
        Ok(_) | Err(JwtError::Invalid) => Err(unauthorized()),
        Err(JwtError::Expired) => Err((
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain")],
            "Expired JWT",
        )
            .into_response()),
    }
}

/// `POST /accounts/{acc}/workers/assets/upload?base64=true` (multipart, one part per hash),
/// or `…/upload/{hash}` with a raw body (single-file mode).
pub async fn upload(app: &Arc<App>, req: Req, single: Option<String>) -> Response {
    let sid = match authorize(app, &req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match upload_inner(app, req, &sid, single).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// For each hash of the session: the extensions of its paths and the declared size.
fn expectations(app: &App, sid: &str) -> Result<Arc<Expected>, CfError> {
    let g = app.cf.lock();
    let s = g
        .sessions
        .get(sid)
        .ok_or_else(|| CfError::new(404, 10007, "Upload session not found"))?;
    Ok(s.expected.clone())
}

/// For each hash of a manifest: the extensions of its paths and the declared size.
fn expected(manifest: &BTreeMap<String, (String, u64)>) -> HashMap<String, (HashSet<String>, u64)> {
    let mut m: HashMap<String, (HashSet<String>, u64)> = HashMap::new();
    for (path, (h, size)) in manifest {
        let e = m
            .entry(h.clone())
            .or_insert_with(|| (HashSet::new(), *size));
        e.0.insert(hash::extension(path).to_string());
    }
    m
}

async fn upload_inner(app: &Arc<App>, req: Req, sid: &str, single: Option<String>) -> CfResult {
    let expect = expectations(app, sid)?;
    let max = app.knobs().cloudflare_max_file_size;
    let base64 = req.query_param("base64").is_some_and(|v| v == "true");
    let mut received = Vec::new();
    if let Some(h) = single {
        let ct = req.header("content-type").map(str::to_string);
        let stream = req.body.into_data_stream();
        received.push(store_part(app, &expect, &h, ct, stream, false, max).await?);
    } else {
        let ct = req.header("content-type").unwrap_or("").to_string();
        let boundary = multer::parse_boundary(&ct)
            .map_err(|_| CfError::bad_request("Expected a multipart/form-data body"))?;
        let mut mp = multer::Multipart::new(req.body.into_data_stream(), boundary);
        let bad = |e: multer::Error| CfError::bad_request(format!("Invalid multipart body: {e}"));
        while let Some(field) = mp.next_field().await.map_err(bad)? {
            let h = field.name().unwrap_or("").to_string();
            let ct = field.content_type().map(|m| m.to_string());
            let stream = futures_util::stream::unfold(field, |mut f| async move {
                match f.chunk().await {
                    Ok(Some(c)) => Some((Ok::<_, std::io::Error>(c), f)),
                    Ok(None) => None,
                    Err(e) => Some((Err(std::io::Error::other(e.to_string())), f)),
                }
            });
            received.push(store_part(app, &expect, &h, ct, stream, base64, max).await?);
        }
    }
    let mut g = app.cf.lock();
    let s = g
        .sessions
        .get_mut(sid)
        .ok_or_else(|| CfError::new(404, 10007, "Upload session not found"))?;
    for h in &received {
        s.missing.remove(h);
    }
    if s.missing.is_empty() {
        let token = match &s.completion {
            Some(t) => t.clone(),
            None => {
                let (acc, script) = (s.account.clone(), s.script.clone());
                let t = session_token(app, sid, &acc, &script, "workers-assets-complete");
                s.completion = Some(t.clone());
                t
            }
        };
        return ok_status(StatusCode::CREATED, json!({"jwt": token}));
    }
    ok(json!({}))
}

/// Streams one asset to disk, decoding base64 when asked, and checks hash and size.
async fn store_part<S, E>(
    app: &App,
    expect: &Expected,
    h: &str,
    content_type: Option<String>,
    stream: S,
    base64: bool,
    max: u64,
) -> Result<String, CfError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>>,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    let (exts, size) = expect.get(h).ok_or_else(|| {
        CfError::bad_request(format!("{h} is not part of this upload session's manifest"))
    })?;
    let mut tmp = tempfile::NamedTempFile::new_in(app.blobs.tmp_dir())
        .map_err(|e| CfError::new(500, 10002, e.to_string()))?;
    let mut hasher = blake3::Hasher::new();
    let mut dec = B64Decoder::new();
    let mut written = 0u64;
    let mut out = Vec::new();
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| CfError::bad_request(format!("Upload interrupted: {e}")))?;
        out.clear();
        if base64 {
            hasher.update(&chunk);
            dec.push(&chunk, &mut out)
                .map_err(|e| CfError::bad_request(format!("{h}: {e}")))?;
        } else {
            out.extend_from_slice(&chunk);
        }
        written += out.len() as u64;
        if written > max {
            return Err(CfError::new(
                400,
                codes::FILE_TOO_LARGE,
                format!("Asset too large: {h} is over 25 MiB."),
            ));
        }
        tmp.write_all(&out)
            .map_err(|e| CfError::new(500, 10002, e.to_string()))?;
    }
    dec.finish()
        .map_err(|e| CfError::bad_request(format!("{h}: {e}")))?;
    if written != *size {
        return Err(CfError::bad_request(format!(
            "{h}: received {written} bytes, the manifest says {size}"
        )));
    }
    let hash_ok = |ext: &String| {
        if base64 {
            hash::finish(hasher.clone(), ext) == h
        } else {
            hash::of_file(tmp.path(), ext)
                .map(|a| a == h)
                .unwrap_or(false)
        }
    };
    if let Some(bad) = exts.iter().find(|e| !hash_ok(e)) {
        return Err(CfError::new(
            400,
            codes::HASH_MISMATCH,
            format!("Uploaded contents do not hash to {h} for extension \"{bad}\"."),
        ));
    }
    let ct = match content_type.as_deref() {
        Some("application/null") => Some(String::new()),
        Some(ct) if !ct.starts_with("multipart/") => Some(ct.to_string()),
        _ => None,
    };
    app.blobs
        .commit(Ns::CfWorkers, h, tmp.into_temp_path(), written, ct)
        .map_err(|e| CfError::new(500, 10002, e.to_string()))?;
    {
        let mut g = app.cf.lock();
        for e in exts {
            g.verified.insert((h.to_string(), e.clone()));
        }
    }
    Ok(h.to_string())
}
