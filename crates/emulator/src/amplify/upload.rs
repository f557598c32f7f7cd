//! The presigned upload URLs CreateDeployment hands out (`specs/amplify.md §1.3` "Upload to
//! the presigned URL", §3.2): an S3-style SigV4 *query* signature made with the emulator's
//! own key, checked on the `PUT` (which must carry no `Authorization`), the body streamed to
//! disk, then unpacked and served once the job runs.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use sha2::Sha256;

use super::model::{Artifact, Status};
use super::sigv4::{self, Request};
use super::UPLOAD_PREFIX;
use crate::hosting::{NotFound, Redirect, Site, SiteFile};
use crate::util::body::{self, BodyError};
use crate::util::req::{decode, query_pairs, Req};
use crate::util::time::{amz_date, now_ms, now_secs, parse_amz_date};
use crate::{App, Platform};

const UPLOAD_KEY: &str = "AKIAEMULATORUPLOADS3";
const EXPIRES: u64 = 28_800;
const MAX_ZIP: u64 = 5_000_000_000;

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
    )
        .into_response()
}

fn branch_dir(branch: &str) -> String {
    hex::encode(&Sha256::digest(branch.as_bytes())[..8])
}

/// Where a job's upload and unpacked site live.
pub fn job_dir(app: &App, app_id: &str, branch: &str, job: &str) -> PathBuf {
    app.blobs
        .root()
        .join("amplify")
        .join(app_id)
        .join(branch_dir(branch))
        .join(job)
}

fn canonical(app: &App, path: &str, query: &str, host: &str) -> String {
    let headers = vec![("host".to_string(), host.to_string())];
    let req = Request {
        method: "PUT",
        path,
        query,
        headers: &headers,
        payload_hash: "UNSIGNED-PAYLOAD",
    };
    // S3 signs the path as sent, without normalisation or a second encoding.
    let creq =
        sigv4::canonical_request(&req, &["host".to_string()], false, Some("X-Amz-Signature"))
            .unwrap_or_default();
    let _ = app;
    creq
}

fn sign(app: &App, date: &str, creq: &str) -> String {
    let scope = format!("{}/{}/s3/aws4_request", &date[..8], app.config.aws_region);
    let sts = sigv4::string_to_sign(date, &scope, creq);
    let key = sigv4::signing_key(
        &app.amplify.upload_secret,
        &date[..8],
        &app.config.aws_region,
        "s3",
    );
    sigv4::signature(&key, &sts)
}

/// A presigned `PUT` URL on the emulator's own port (HTTPS with TLS, as S3's are).
pub fn presign(app: &App, app_id: &str, branch: &str, job: &str, object: &str) -> String {
    let path = format!(
        "{UPLOAD_PREFIX}{app_id}/{}/{job}/{object}",
        sigv4::uri_encode(branch, false)
    );
    let date = amz_date(now_ms());
    let cred = format!(
        "{UPLOAD_KEY}/{}/{}/s3/aws4_request",
        &date[..8],
        app.config.aws_region
    );
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={date}&X-Amz-Expires={EXPIRES}&X-Amz-SignedHeaders=host",
        sigv4::uri_encode(&cred, false)
    );
    let host = format!("127.0.0.1:{}", app.port);
    let sig = sign(app, &date, &canonical(app, &path, &query, &host));
    let scheme = if app.config.tls { "https" } else { "http" };
    format!("{scheme}://{host}{path}?{query}&X-Amz-Signature={sig}")
}

fn check_signature(app: &App, req: &Req) -> Result<(), Response> {
    if req.header("authorization").is_some() {
        return Err(s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        ));
    }
    let query = req.query.clone().unwrap_or_default();
    let params: HashMap<String, String> = query_pairs(&query).into_iter().collect();
    let get = |k: &str| params.get(k).cloned();
    let (Some(alg), Some(date), Some(expires), Some(sig), Some(cred)) = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
        get("X-Amz-Signature"),
        get("X-Amz-Credential"),
    ) else {
        return Err(s3_error(
            StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    let t =
        parse_amz_date(&date).filter(|_| alg == sigv4::ALGORITHM && cred.starts_with(UPLOAD_KEY));
    let (Some(t), Ok(expires)) = (t, expires.parse::<u64>()) else {
        return Err(s3_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."));
    };
    if t + expires < now_secs() {
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        ));
    }
    let expected = sign(app, &date, &canonical(app, &req.path, &query, req.host()));
    if !sigv4::same(&expected, &sig.to_ascii_lowercase()) {
        return Err(s3_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."));
    }
    Ok(())
}

/// `PUT /_amplify-upload/{appId}/{branch}/{jobId}/deployment.zip?X-Amz-…` (or `files/…`).
pub async fn put(app: &Arc<App>, req: Req) -> Response {
    if req.method != Method::PUT {
        return s3_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    if let Err(r) = check_signature(app, &req) {
        return r;
    }
    // S3 takes a presigned PUT only with a known length (`specs/amplify.md` §1.3: "Chunked
    // transfer is not used: S3 presigned PUTs need a known length").
    if req.header("content-length").is_none() {
        return s3_error(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        );
    }
    let rest = &req.path[UPLOAD_PREFIX.len()..];
    let mut parts = rest.splitn(4, '/');
    let (Some(app_id), Some(branch), Some(job), Some(object)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let (app_id, branch, job) = (app_id.to_string(), decode(branch), job.to_string());
    let known = {
        let g = app.amplify.lock();
        g.apps
            .get(&app_id)
            .and_then(|a| a.branches.get(&branch))
            .and_then(|b| b.jobs.iter().find(|j| j.id == job))
            .map(|j| j.status)
    };
    if known.is_none() {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        );
    }
    let dir = job_dir(app, &app_id, &branch, &job);
    let target = if object == "deployment.zip" {
        dir.join("deployment.zip")
    } else if let Some(f) = object.strip_prefix("files/") {
        let rel = decode(f);
        if rel.split('/').any(|s| s == ".." || s.is_empty()) {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Invalid object key",
            );
        }
        dir.join("files").join(rel)
    } else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if let Some(parent) = target.parent() {
        if let Err(e) = tokio::fs::create_dir_all(parent).await {
            return s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &e.to_string(),
            );
        }
    }
    let mut md5 = Md5::new();
    let spooled = match body::spool(req.body, app.blobs.tmp_dir(), MAX_ZIP, |c| md5.update(c)).await
    {
        Ok(s) => s,
        Err(BodyError::TooLarge(_)) => {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            )
        }
        Err(e) => return s3_error(StatusCode::BAD_REQUEST, "IncompleteBody", &e.to_string()),
    };
    if let Err(e) = spooled.path.persist(&target) {
        return s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            &e.to_string(),
        );
    }
    if object == "deployment.zip" {
        let mut g = app.amplify.lock();
        if let Some(j) = g
            .apps
            .get_mut(&app_id)
            .and_then(|a| a.branches.get_mut(&branch))
            .and_then(|b| b.jobs.iter_mut().find(|j| j.id == job))
        {
            if j.status == Status::Created {
                j.zip = Some(target.clone());
            }
        }
    }
    let mut r = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", hex::encode(md5.finalize()))) {
        r.headers_mut().insert("etag", v);
    }
    r
}

/// Unpacks (zip flavour) or checks (fileMap flavour) a started job's upload, off the async
/// threads, and records the result for `advance`.
pub async fn unpack(
    app: Arc<App>,
    app_id: String,
    branch: String,
    job: String,
    zip: Option<PathBuf>,
) {
    let dir = job_dir(&app, &app_id, &branch, &job);
    let (file_map, rules) = {
        let g = app.amplify.lock();
        let a = g.apps.get(&app_id);
        let fm = a
            .and_then(|a| a.branches.get(&branch))
            .and_then(|b| b.jobs.iter().find(|j| j.id == job))
            .map(|j| j.file_map.clone())
            .unwrap_or_default();
        (fm, a.map(|a| a.custom_rules.clone()).unwrap_or_default())
    };
    let result = tokio::task::spawn_blocking(move || {
        if !file_map.is_empty() {
            check_files(&dir.join("files"), &file_map)
        } else {
            match zip {
                Some(z) => extract(&z, &dir.join("site")),
                None => Err("No deployment artifact was uploaded.".to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let artifact = match result {
        Ok(files) => {
            let mut site = Site::new(Platform::Amplify, files, NotFound::AccessDenied);
            site.redirects = custom_rules(&rules);
            Artifact::Ready(Arc::new(site))
        }
        Err(why) => Artifact::Broken(why),
    };
    let mut g = app.amplify.lock();
    if let Some(j) = g
        .apps
        .get_mut(&app_id)
        .and_then(|a| a.branches.get_mut(&branch))
        .and_then(|b| b.jobs.iter_mut().find(|j| j.id == job))
    {
        j.artifact = Some(artifact);
    }
}

/// Plain-path `customRules` (`<*>` becomes a splat); regex rules are not interpreted.
fn custom_rules(rules: &serde_json::Value) -> Vec<Redirect> {
    rules
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let from = r["source"].as_str()?;
                    if from.starts_with("</") {
                        return None;
                    }
                    let status = r["status"].as_str().unwrap_or("302");
                    Some(Redirect {
                        from: from.replace("<*>", "*"),
                        to: r["target"].as_str()?.replace("<*>", ":splat"),
                        status: status
                            .split('-')
                            .next_back()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(302),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check_files(dir: &Path, map: &[(String, String)]) -> Result<HashMap<String, SiteFile>, String> {
    let mut files = HashMap::new();
    for (path, md5) in map {
        let p = dir.join(path);
        let data = std::fs::read(&p).map_err(|_| format!("File {path} was not uploaded."))?;
        let actual = hex::encode(Md5::digest(&data));
        if &actual != md5 {
            return Err(format!(
                "The MD5 of {path} is {actual}, not {md5} as in the fileMap."
            ));
        }
        files.insert(
            path.clone(),
            SiteFile {
                path: p,
                size: data.len() as u64,
                content_type: None,
            },
        );
    }
    Ok(files)
}

/// Extracts a zip (streamed from disk) and lists its files; refuses unusable archives.
pub fn extract(zip: &Path, dest: &Path) -> Result<HashMap<String, SiteFile>, String> {
    let f = std::fs::File::open(zip).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(f)
        .map_err(|e| format!("The uploaded file is not a valid zip archive: {e}"))?;
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("Corrupt zip entry: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        let key = rel.to_string_lossy().replace('\\', "/");
        let out = dest.join(&rel);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut w = std::fs::File::create(&out).map_err(|e| e.to_string())?;
        let size = std::io::copy(&mut (&mut entry).take(u64::MAX), &mut w)
            .map_err(|e| format!("Corrupt zip entry {key}: {e}"))?;
        files.insert(
            key,
            SiteFile {
                path: out,
                size,
                content_type: None,
            },
        );
    }
    if files.is_empty() {
        return Err("The zip archive is empty.".into());
    }
    if !files.contains_key("index.html") {
        return Err(
            "The zip has no index.html at its root: zip the folder's contents, not the folder."
                .into(),
        );
    }
    Ok(files)
}
