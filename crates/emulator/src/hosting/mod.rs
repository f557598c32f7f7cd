//! Serving live deployments by `Host` header, the way each platform's edge would.
//!
//! A platform publishes an immutable [`Site`] for each live hostname; the router asks the
//! platform which site a host maps to, then this module streams the file from disk.

pub mod rules;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio_util::io::ReaderStream;

use crate::util::req::decode;
use crate::Platform;

pub use rules::{HeaderRule, Redirect};

/// One file of a live site.
#[derive(Debug, Clone)]
pub struct SiteFile {
    /// Where the bytes are on disk.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Content type to serve. `None` means "guess from the extension"; `Some("")` means
    /// "no Content-Type header" (Workers' `application/null`, `specs/cloudflare.md §4.2`).
    pub content_type: Option<String>,
}

/// What to answer for a path with no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFound {
    /// Serve `/404.html` with 404 if present, else the platform's plain 404.
    Page404,
    /// Cloudflare Pages without a `404.html`: single-page-application mode, `/index.html` with 200.
    SpaIfNo404,
    /// Always `/index.html` with 200 (Workers `not_found_handling: single-page-application`).
    Spa,
    /// S3-style `AccessDenied` XML (Amplify, `specs/amplify.md §4.2`).
    AccessDenied,
}

/// An immutable snapshot of a deployment's files and rules.
#[derive(Debug, Clone)]
pub struct Site {
    /// Which platform serves it (decides 404 pages and header casing).
    pub platform: Platform,
    /// Files by path, without the leading `/`.
    pub files: HashMap<String, SiteFile>,
    /// `_headers` rules.
    pub headers: Vec<HeaderRule>,
    /// `_redirects` rules.
    pub redirects: Vec<Redirect>,
    /// Not-found behaviour.
    pub not_found: NotFound,
    /// A site-wide password (Netlify Drop sites, `specs/netlify.md §10.2`).
    pub password: Option<String>,
}

impl Site {
    /// A site with no rules.
    pub fn new(platform: Platform, files: HashMap<String, SiteFile>, not_found: NotFound) -> Self {
        Self {
            platform,
            files,
            headers: Vec::new(),
            redirects: Vec::new(),
            not_found,
            password: None,
        }
    }

    fn lookup(&self, path: &str) -> Option<(&str, &SiteFile)> {
        self.files.get_key_value(path).map(|(k, v)| (k.as_str(), v))
    }
}

fn guess_type(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let s = mime.essence_str().to_string();
    if s.starts_with("text/") || s == "application/javascript" || s == "application/json" {
        format!("{s}; charset=utf-8")
    } else {
        s
    }
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn platform_404(platform: Platform) -> Response {
    match platform {
        Platform::Vercel => plain(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "The page could not be found\n\nNOT_FOUND\n".into(),
        ),
        Platform::Netlify => plain(
            StatusCode::NOT_FOUND,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><title>Page not found</title><h1>Page not found</h1>".into(),
        ),
        Platform::Amplify => access_denied(),
        Platform::Cloudflare => plain(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "Not Found".into(),
        ),
    }
}

/// S3's answer for a missing object without list permission.
pub fn access_denied() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "application/xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".into(),
    )
}

/// The answer for a host the emulator knows nothing about.
pub fn unknown_host(platform: Platform, host: &str) -> Response {
    match platform {
        Platform::Netlify => plain(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("Not Found - Request ID: emulator ({host})"),
        ),
        Platform::Vercel => plain(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND\n".into(),
        ),
        Platform::Cloudflare => plain(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("There is nothing here yet: {host}"),
        ),
        Platform::Amplify => access_denied(),
    }
}

/// Serves `raw_path` (still percent-encoded) from `site`.
pub async fn serve(
    site: Arc<Site>,
    method: &Method,
    raw_path: &str,
    authorization: Option<&str>,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "Method Not Allowed".into(),
        );
    }
    if let Some(pw) = &site.password {
        if !basic_password_ok(authorization, pw) {
            let mut r = plain(
                StatusCode::UNAUTHORIZED,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><title>Password protected</title><h1>This site is password protected</h1>".into(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"site\""),
            );
            return r;
        }
    }
    let path = decode(raw_path);
    if path.split('/').any(|s| s == "..") {
        return platform_404(site.platform);
    }
    for r in &site.redirects {
        if let Some(splat) = rules::matches(&r.from, &path) {
            let to = r.to.replace(":splat", splat);
            if r.status == 200 {
                return Box::pin(serve(site.clone(), method, &to, authorization)).await;
            }
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
            let mut resp = status.into_response();
            if let Ok(v) = HeaderValue::from_str(&to) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            return resp;
        }
    }
    let key = path.trim_start_matches('/');
    let found = if key.is_empty() || key.ends_with('/') {
        site.lookup(&format!("{key}index.html"))
    } else if let Some(hit) = site.lookup(key) {
        Some(hit)
    } else if site.files.contains_key(&format!("{key}/index.html")) {
        // `/dir` → `/dir/`, as every platform's static handling does.
        let mut resp = StatusCode::PERMANENT_REDIRECT.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/{key}/")) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return resp;
    } else {
        site.lookup(&format!("{key}.html"))
    };
    let (name, file, status) = match found {
        Some((name, file)) => (name, file, StatusCode::OK),
        None => match site.not_found {
            NotFound::AccessDenied => return access_denied(),
            NotFound::Spa => match site.lookup("index.html") {
                Some((n, f)) => (n, f, StatusCode::OK),
                None => return platform_404(site.platform),
            },
            NotFound::SpaIfNo404 => match site.lookup("404.html") {
                Some((n, f)) => (n, f, StatusCode::NOT_FOUND),
                None => match site.lookup("index.html") {
                    Some((n, f)) => (n, f, StatusCode::OK),
                    None => return platform_404(site.platform),
                },
            },
            NotFound::Page404 => match site.lookup("404.html") {
                Some((n, f)) => (n, f, StatusCode::NOT_FOUND),
                None => return platform_404(site.platform),
            },
        },
    };
    let mut resp = match tokio::fs::File::open(&file.path).await {
        Ok(f) if method == Method::GET => {
            Response::new(Body::from_stream(ReaderStream::with_capacity(f, 64 * 1024)))
        }
        Ok(_) => Response::new(Body::empty()),
        Err(_) => return platform_404(site.platform),
    };
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    let ct = match &file.content_type {
        Some(ct) if ct.is_empty() => None,
        Some(ct) => Some(ct.clone()),
        None => Some(guess_type(name)),
    };
    if let Some(v) = ct.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let url_path = format!("/{key}");
    for rule in &site.headers {
        if rules::matches(&rule.pattern, &url_path).is_some() {
            for (k, v) in &rule.headers {
                if let (Ok(k), Ok(v)) = (
                    header::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    h.append(k, v);
                }
            }
        }
    }
    resp
}

fn basic_password_ok(authorization: Option<&str>, password: &str) -> bool {
    let Some(v) = authorization.and_then(|a| a.strip_prefix("Basic ")) else {
        return false;
    };
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|s| s.split_once(':').is_some_and(|(_, p)| p == password))
}
