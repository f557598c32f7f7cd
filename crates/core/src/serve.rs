//! The small web server behind "this computer": local sites at `http://<site>.localhost:<port>/`
//! (a deploy at `http://<id>--<site>.localhost:<port>/`), and `sitedrop preview DIR`, which
//! serves a folder straight from disk with the same rules a deploy applies (so a preview never
//! shows a `.env` that a deploy would hold back).
//!
//! Browsers resolve every `*.localhost` name to this machine (RFC 6761 §6.3), so no DNS set-up
//! is needed. Requests are answered like a static host would: `/` → `index.html`, `/about` →
//! `about.html` or `about/index.html`, a site's own `404.html` for misses, content types from
//! the extension (with `charset=utf-8` for text).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use percent_encoding::percent_decode_str;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::progress::no_progress;
use crate::provider::local::LocalStore;
use crate::provider::naming::{folder_label, slug};
use crate::scan::{scan, ScanOptions};

/// A running server; dropping it (or [`LocalServer::stop`]) shuts it down.
pub struct LocalServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl LocalServer {
    /// Serves every local site kept in `data_dir`.
    pub async fn sites(data_dir: &Path, addr: SocketAddr) -> Result<LocalServer> {
        let source = Source::Sites {
            store: LocalStore::new(data_dir),
            id: data_dir_id(data_dir),
        };
        LocalServer::start(source, addr).await
    }

    /// Serves `folder` itself, rescanned at most once a second so edits show on reload.
    pub async fn preview(folder: &Path, addr: SocketAddr) -> Result<LocalServer> {
        crate::scan::check_folder(folder)?;
        let name = slug(&folder_label(folder), 63);
        let source = Source::Preview(Preview {
            root: folder.to_path_buf(),
            name,
            files: Mutex::new(None),
        });
        LocalServer::start(source, addr).await
    }

    async fn start(source: Source, addr: SocketAddr) -> Result<LocalServer> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                Error::Invalid(format!(
                    "Port {} is already in use by another program. Choose another port (SITEDROP_LOCAL_PORT, or --port).",
                    addr.port()
                ))
            } else {
                Error::io(format!("could not listen on {addr}"), e)
            }
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("could not read the server's address", e))?;
        let shutdown = CancellationToken::new();
        let app = Router::new().fallback(handle).with_state(Arc::new(source));
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Ok(LocalServer {
            addr,
            shutdown,
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the preview (or of a local site called `name`).
    pub fn url_for(&self, name: &str) -> String {
        format!("http://{name}.localhost:{}/", self.addr.port())
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Runs until the server stops (Ctrl-C handling is the caller's).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// What is listening on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortUse {
    Free,
    /// A Sitedrop server for this same data folder (the app, or `sitedrop serve`).
    SitedropSameData,
    /// A Sitedrop server for another data folder.
    SitedropOtherData,
    /// Something else.
    Foreign,
}

/// Finds out who, if anyone, serves `port` on this machine.
pub async fn probe(port: u16, data_dir: &Path) -> PortUse {
    let url = format!("http://127.0.0.1:{port}/_sitedrop/health");
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c,
        Err(_) => return PortUse::Foreign,
    };
    match client.get(&url).send().await {
        Err(e) if e.is_connect() => PortUse::Free,
        Err(_) => PortUse::Foreign,
        Ok(resp) => match resp.json::<serde_json::Value>().await {
            Ok(v) if v["data"] == data_dir_id(data_dir) => PortUse::SitedropSameData,
            Ok(v) if v["sitedrop"].is_string() => PortUse::SitedropOtherData,
            _ => PortUse::Foreign,
        },
    }
}

/// A short fingerprint of the data folder, so servers can tell each other apart.
fn data_dir_id(data_dir: &Path) -> String {
    let canonical = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    crate::hash::hash_bytes(
        canonical.to_string_lossy().as_bytes(),
        crate::hash::DigestKind::Sha256,
        "",
    )
    .as_str()[..16]
        .to_string()
}

enum Source {
    Sites { store: LocalStore, id: String },
    Preview(Preview),
}

/// Relative path → the file on disk.
type FileMap = Arc<HashMap<String, PathBuf>>;

struct Preview {
    root: PathBuf,
    name: String,
    /// When the folder was last scanned, and its files (relative path → file on disk).
    files: Mutex<Option<(Instant, FileMap)>>,
}

impl Preview {
    async fn files(&self) -> FileMap {
        if let Ok(guard) = self.files.lock() {
            if let Some((at, files)) = guard.as_ref() {
                if at.elapsed() < Duration::from_secs(1) {
                    return files.clone();
                }
            }
        }
        let root = self.root.clone();
        let scanned = tokio::task::spawn_blocking(move || {
            scan(
                &root,
                &ScanOptions::default(),
                &no_progress(),
                &CancellationToken::new(),
            )
        })
        .await;
        let files: FileMap = Arc::new(match scanned {
            Ok(Ok(set)) => set
                .files
                .into_iter()
                .map(|f| (f.path.to_string(), f.abs))
                .collect(),
            _ => HashMap::new(),
        });
        if let Ok(mut guard) = self.files.lock() {
            *guard = Some((Instant::now(), files.clone()));
        }
        files
    }
}

/// Where a request's bytes come from.
enum Found {
    File(PathBuf),
    RedirectToSlash,
}

async fn handle(State(source): State<Arc<Source>>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only GET and HEAD are served here.",
        );
    }
    let path = request.uri().path().to_string();
    if path == "/_sitedrop/health" {
        let id = match source.as_ref() {
            Source::Sites { id, .. } => id.as_str(),
            Source::Preview(_) => "preview",
        };
        return axum::Json(serde_json::json!({"sitedrop": env!("CARGO_PKG_VERSION"), "data": id}))
            .into_response();
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .map_or(h, |(name, _)| name)
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let Some(rel) = decode_path(&path) else {
        return plain(StatusCode::BAD_REQUEST, "That address is not a valid path.");
    };
    match source.as_ref() {
        Source::Preview(preview) => {
            let files = preview.files().await;
            let lookup = |p: &str| files.get(p).cloned();
            respond(
                &path,
                &rel,
                lookup,
                &format!("the preview of {}", preview.name),
            )
            .await
        }
        Source::Sites { store, .. } => {
            let Some(label) = host.strip_suffix(".localhost") else {
                return site_index(store, request.headers());
            };
            let (deploy_id, name) = match label.split_once("--") {
                Some((id, name)) => (Some(id.to_string()), name.to_string()),
                None => (store.current(label), label.to_string()),
            };
            let Some(deploy) = deploy_id.and_then(|id| store.deploy(&name, &id)) else {
                return plain(
                    StatusCode::NOT_FOUND,
                    &format!("There is no local site called {name}."),
                );
            };
            let lookup = |p: &str| deploy.files.get(p).map(|f| store.blob_path(&f.sha256));
            respond(&path, &rel, lookup, &format!("the local site {name}")).await
        }
    }
}

/// `/a%20b/` → `a b/`; `None` for paths that try to climb out (`..`) or are not UTF-8.
fn decode_path(path: &str) -> Option<String> {
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    let rel = decoded.trim_start_matches('/');
    if rel.split('/').any(|part| part == ".." || part == ".") || rel.contains('\0') {
        return None;
    }
    Some(rel.to_string())
}

/// Resolves a request path the way static hosts do.
fn resolve(rel: &str, lookup: &impl Fn(&str) -> Option<PathBuf>) -> Option<Found> {
    if rel.is_empty() || rel.ends_with('/') {
        return lookup(&format!("{rel}index.html")).map(Found::File);
    }
    if let Some(file) = lookup(rel) {
        return Some(Found::File(file));
    }
    if let Some(file) = lookup(&format!("{rel}.html")) {
        return Some(Found::File(file));
    }
    lookup(&format!("{rel}/index.html")).map(|_| Found::RedirectToSlash)
}

async fn respond(
    path: &str,
    rel: &str,
    lookup: impl Fn(&str) -> Option<PathBuf>,
    what: &str,
) -> Response {
    match resolve(rel, &lookup) {
        Some(Found::File(file)) => {
            let served_as = if rel.is_empty() || rel.ends_with('/') {
                format!("{rel}index.html")
            } else {
                rel.to_string()
            };
            send_file(StatusCode::OK, &file, &served_as).await
        }
        Some(Found::RedirectToSlash) => Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, format!("{path}/"))
            .body(Body::empty())
            .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "redirect failed")),
        None => match lookup("404.html") {
            Some(file) => send_file(StatusCode::NOT_FOUND, &file, "404.html").await,
            None => plain(
                StatusCode::NOT_FOUND,
                &format!("Nothing at /{rel} in {what}."),
            ),
        },
    }
}

async fn send_file(status: StatusCode, file: &Path, name: &str) -> Response {
    let opened = match tokio::fs::File::open(file).await {
        Ok(f) => f,
        Err(_) => return plain(StatusCode::NOT_FOUND, "That file is no longer there."),
    };
    let len = opened.metadata().await.map(|m| m.len()).ok();
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type(name))
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-sitedrop-local", "1");
    if let Some(len) = len {
        builder = builder.header(header::CONTENT_LENGTH, len);
    }
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        opened,
        64 * 1024,
    ));
    builder
        .body(body)
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "could not send the file"))
}

/// The Content-Type for a file name; text gets an explicit UTF-8 charset.
pub fn content_type(name: &str) -> HeaderValue {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let text = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            mime.subtype().as_str(),
            "javascript" | "json" | "xml" | "svg+xml"
        );
    let value = if text && mime.get_param("charset").is_none() {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

/// `http://localhost:PORT/`: a page linking every local site.
fn site_index(store: &LocalStore, headers: &axum::http::HeaderMap) -> Response {
    let port = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map_or("80", |(_, p)| p)
        .to_string();
    let items: String = store
        .site_names()
        .iter()
        .filter(|n| store.current(n).is_some())
        .map(|n| format!("<li><a href=\"http://{n}.localhost:{port}/\">{n}</a></li>"))
        .collect();
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Sitedrop: sites on this computer</title>\
         <h1>Sites on this computer</h1><ul>{}</ul>",
        if items.is_empty() {
            "<li>None yet. Deploy a folder to \"This computer\".</li>".to_string()
        } else {
            items
        }
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_carry_charset_for_text() {
        assert_eq!(content_type("a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(content_type("README"), "application/octet-stream");
    }

    #[test]
    fn paths_resolve_like_a_static_host() {
        let files = ["index.html", "about.html", "blog/index.html", "a b.txt"];
        let lookup = |p: &str| files.contains(&p).then(|| PathBuf::from(p));
        let file = |rel: &str| match resolve(rel, &lookup) {
            Some(Found::File(f)) => f.to_string_lossy().into_owned(),
            Some(Found::RedirectToSlash) => "->/".into(),
            None => "404".into(),
        };
        assert_eq!(file(""), "index.html");
        assert_eq!(file("about"), "about.html");
        assert_eq!(file("blog"), "->/");
        assert_eq!(file("blog/"), "blog/index.html");
        assert_eq!(file(&decode_path("/a%20b.txt").unwrap()), "a b.txt");
        assert_eq!(file("missing"), "404");
        assert_eq!(decode_path("/../etc/passwd"), None);
        assert_eq!(decode_path("/a/%2e%2e/b"), None);
    }
}
