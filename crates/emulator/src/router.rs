//! The single entry point: request log, faults, then dispatch by Host (sites) or path (APIs).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, Version};
use axum::response::Response;
use axum::Router;
use futures_util::StreamExt;

use crate::control::faults;
use crate::control::reqlog::LogEntry;
use crate::hosting;
use crate::tls::ConnMeta;
use crate::util::req::Req;
use crate::{amplify, cloudflare, control, netlify, vercel, App, Platform};

/// Builds the axum router.
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(entry).with_state(app)
}

/// The platform whose public site suffix `host` carries.
fn site_platform(host: &str) -> Option<Platform> {
    if host.ends_with(".pages.dev") || host.ends_with(".workers.dev") {
        Some(Platform::Cloudflare)
    } else if host.ends_with(".netlify.app") {
        Some(Platform::Netlify)
    } else if host.ends_with(".vercel.app") {
        Some(Platform::Vercel)
    } else if host.ends_with(".amplifyapp.com") {
        Some(Platform::Amplify)
    } else {
        None
    }
}

/// The platform whose API owns `path`.
fn api_platform(path: &str) -> Option<Platform> {
    if path.starts_with("/client/v4/") || path == "/client/v4" {
        Some(Platform::Cloudflare)
    } else if path.starts_with("/api/v1/") {
        Some(Platform::Netlify)
    } else if path == "/apps"
        || path.starts_with("/apps/")
        || path.starts_with(amplify::UPLOAD_PREFIX)
    {
        Some(Platform::Amplify)
    } else if path.starts_with("/teams/") || is_versioned(path) {
        Some(Platform::Vercel)
    } else {
        None
    }
}

fn is_versioned(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with('/')
}

/// Host without port, lowercased.
pub fn bare_host(host: &str) -> String {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    h.trim_end_matches('.').to_ascii_lowercase()
}

async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let conn = parts.extensions.get::<ConnectInfo<ConnMeta>>().map(|c| c.0);
    let version = match parts.version {
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let over_tls = conn.is_some_and(|c| c.tls);
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let host_header = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let host = bare_host(&host_header);
    let mut headers = parts.headers;
    if !headers.contains_key("host") {
        if let Ok(v) = host_header.parse() {
            headers.insert("host", v);
        }
    }

    if path.starts_with("/_emulator/") || path == "/_emulator" {
        let req = Req {
            method: parts.method,
            path,
            query,
            headers,
            body,
        };
        return control::handle(&app, req).await;
    }

    let site = site_platform(&host);
    let platform = site.or_else(|| api_platform(&path));
    let counter = Arc::new(AtomicU64::new(0));
    let c2 = counter.clone();
    let body = Body::from_stream(body.into_data_stream().inspect(move |chunk| {
        if let Ok(b) = chunk {
            c2.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
    }));
    let method = parts.method;
    // With TLS the APIs are HTTPS only, as the real ones are: a client that sends its token
    // over plain HTTP is told so, as nginx-fronted APIs do, and nothing is handled.
    if app.config.tls && !over_tls && site.is_none() {
        let resp = plain_http_refused();
        app.log.push(LogEntry {
            seq: 0,
            method: method.to_string(),
            path,
            query,
            status: resp.status().as_u16(),
            platform: platform.map(Platform::as_str),
            site: false,
            host: host_header,
            body_size: 0,
            fault: None,
            version,
            tls: false,
            conn: conn.map_or(0, |c| c.id),
        });
        return resp;
    }
    let decision = app.faults.decide(
        platform.map(Platform::as_str),
        method.as_str(),
        &path,
        &host_header,
    );
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut fault_id = None;
    let resp = if let Some((id, spec)) = decision.respond {
        fault_id = Some(id);
        if !spec.reset {
            // Read (and discard) the request body before answering, as front ends do: a
            // client still streaming its body would otherwise see the connection close
            // instead of the injected status, depending on timing.
            drain(body).await;
        }
        faults::response(&spec)
    } else {
        let req = Req {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers,
            body,
        };
        match (site, platform) {
            (Some(p), _) => serve_site(&app, p, &host, req).await,
            (None, Some(Platform::Cloudflare)) => cloudflare::handle(&app, req).await,
            (None, Some(Platform::Netlify)) => netlify::handle(&app, req).await,
            (None, Some(Platform::Vercel)) => vercel::handle(&app, req).await,
            (None, Some(Platform::Amplify)) => amplify::handle(&app, req).await,
            (None, None) => control::not_found(&path),
        }
    };
    // The work is done; the answer never arrives.
    let resp = match decision.lose_answer {
        Some(id) if fault_id.is_none() => {
            fault_id = Some(id);
            faults::lost_answer(resp.status())
        }
        _ => resp,
    };
    app.log.push(LogEntry {
        seq: 0,
        method: method.to_string(),
        path,
        query,
        status: resp.status().as_u16(),
        platform: platform.map(Platform::as_str),
        site: site.is_some(),
        host: host_header,
        body_size: counter.load(Ordering::Relaxed),
        fault: fault_id,
        version,
        tls: over_tls,
        conn: conn.map_or(0, |c| c.id),
    });
    resp
}

/// nginx's answer to plain HTTP on its HTTPS port (its status 497, sent as 400).
fn plain_http_refused() -> Response {
    let mut resp = Response::new(Body::from(
        "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n\
         <body>\r\n<center><h1>400 Bad Request</h1></center>\r\n\
         <center>The plain HTTP request was sent to HTTPS port</center>\r\n</body>\r\n</html>\r\n",
    ));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/html"),
    );
    resp
}

async fn serve_site(app: &Arc<App>, platform: Platform, host: &str, req: Req) -> Response {
    let site = match platform {
        Platform::Cloudflare => app.cf.resolve_host(app, host),
        Platform::Netlify => app.netlify.resolve_host(app, host),
        Platform::Vercel => app.vercel.resolve_host(app, host),
        Platform::Amplify => app.amplify.resolve_host(app, host),
    };
    match site {
        Some(site) => {
            hosting::serve(site, &req.method, &req.path, req.header("authorization")).await
        }
        None => hosting::unknown_host(platform, host),
    }
}

/// Consumes a request body without keeping it.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        if chunk.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths_and_hosts() {
        assert_eq!(api_platform("/client/v4/user"), Some(Platform::Cloudflare));
        assert_eq!(api_platform("/api/v1/sites"), Some(Platform::Netlify));
        assert_eq!(api_platform("/v13/deployments"), Some(Platform::Vercel));
        assert_eq!(api_platform("/apps/d1/branches"), Some(Platform::Amplify));
        assert_eq!(api_platform("/version"), None);
        assert_eq!(site_platform("a.b.pages.dev"), Some(Platform::Cloudflare));
        assert_eq!(
            bare_host("Main.D1.AmplifyApp.com:8080"),
            "main.d1.amplifyapp.com"
        );
    }
}
