//! The one HTTP client, and the translation of HTTP failures into sentences.
//!
//! One `reqwest` client (rustls, HTTP/2 where offered, pooled keep-alive connections) serves
//! every platform, so connections are reused across a deploy's thousands of requests.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use reqwest::{Client, Response, StatusCode};

use crate::config::Env;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::retry::retry_at;

/// Sitedrop's HTTP client.
#[derive(Clone)]
pub struct Http {
    client: Client,
    /// For live-site checks: never follows redirects itself (see [`Http::fetch_site`]).
    site_client: Client,
    site_resolve: Option<SocketAddr>,
}

/// The longest an API call (not an upload) may take, from sending to the last byte of the
/// answer.
pub const API_TIMEOUT: Duration = Duration::from_secs(120);

/// The per-request limit for uploads: effectively none. An upload of a large file over a slow
/// link may take hours; what must not happen is that it stalls, which the engine's watchdog
/// catches from the bytes it sees moving.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("sitedrop/", env!("CARGO_PKG_VERSION"));

impl Http {
    pub fn new(env: &Env) -> Result<Http> {
        let extra_roots = extra_roots(env)?;
        let build = |redirects: reqwest::redirect::Policy| {
            extra_roots
                .iter()
                .fold(Client::builder(), |b, cert| {
                    b.add_root_certificate(cert.clone())
                })
                .user_agent(USER_AGENT)
                .connect_timeout(Duration::from_secs(20))
                // A total limit per request. (reqwest's `read_timeout` is no help here: it is
                // one timer from sending until the answer's headers, so it would cut off any
                // upload longer than itself.) Uploads lift this with `UPLOAD_TIMEOUT` and are
                // guarded instead by the engine's stall watchdog (`deploy::STALL`).
                .timeout(API_TIMEOUT)
                .tcp_keepalive(Duration::from_secs(30))
                .pool_idle_timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(64)
                .tcp_nodelay(true)
                .redirect(redirects)
                .build()
                .map_err(|e| Error::Internal(format!("could not start the HTTP client: {e}")))
        };
        Ok(Http {
            client: build(reqwest::redirect::Policy::limited(5))?,
            site_client: build(reqwest::redirect::Policy::none())?,
            site_resolve: env.site_resolve(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// GETs a page of a published site. With `SITEDROP_SITE_RESOLVE` (tests), and for
    /// `*.localhost` addresses, the connection goes to that address over plain HTTP with the
    /// site's Host header kept. Redirects are followed here, by hand, so that each hop is
    /// rewritten the same way and none escapes to the real internet.
    pub async fn fetch_site(&self, url: &str) -> std::result::Result<Response, String> {
        let mut current = url::Url::parse(url).map_err(|e| format!("bad address {url}: {e}"))?;
        for _ in 0..6 {
            let (target, host) = self.site_target(&current)?;
            let response = self
                .site_client
                .get(target)
                .header(reqwest::header::HOST, host)
                .send()
                .await
                .map_err(|e| describe_network(&e))?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    format!(
                        "a redirect without a destination (HTTP {})",
                        response.status()
                    )
                })?;
            current = current
                .join(location)
                .map_err(|e| format!("bad redirect {location}: {e}"))?;
        }
        Err("too many redirects".into())
    }

    /// Where to connect for `url`, and the Host header to send.
    pub(crate) fn site_target(
        &self,
        url: &url::Url,
    ) -> std::result::Result<(url::Url, String), String> {
        let host = url
            .host_str()
            .ok_or_else(|| format!("no host in {url}"))?
            .to_string();
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let local = host == "localhost" || host.ends_with(".localhost");
        let resolve = match (self.site_resolve, local) {
            (Some(addr), _) => Some(addr),
            (None, true) => Some(SocketAddr::from((
                [127, 0, 0, 1],
                url.port_or_known_default().unwrap_or(80),
            ))),
            (None, false) => None,
        };
        let Some(addr) = resolve else {
            return Ok((url.clone(), host_header));
        };
        let mut target = url.clone();
        target
            .set_scheme("http")
            .map_err(|_| "cannot rewrite the address".to_string())?;
        target
            .set_host(Some(&addr.ip().to_string()))
            .map_err(|e| e.to_string())?;
        target
            .set_port(Some(addr.port()))
            .map_err(|_| "cannot rewrite the port".to_string())?;
        Ok((target, host_header))
    }
}

/// The certificate authorities trusted beside the bundled Mozilla roots: those in the PEM file
/// `SSL_CERT_FILE` names (the variable native-root TLS stacks share; a company proxy's CA, or
/// the emulator's under `--tls`). It is the only way to add one, and there is no switch that
/// turns verification off. Read from [`Env`], not the process, so each engine has its own.
fn extra_roots(env: &Env) -> Result<Vec<reqwest::Certificate>> {
    let Some(path) = env.get("SSL_CERT_FILE").filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let unusable = |why: String| {
        Error::Invalid(format!(
            "SSL_CERT_FILE names {path}, which {why}. Point it at a PEM file of certificates, or unset it."
        ))
    };
    let pem = std::fs::read(path).map_err(|e| unusable(format!("cannot be read ({e})")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| unusable("is not a PEM certificate file".into()))?;
    if certs.is_empty() {
        return Err(unusable("holds no certificate".into()));
    }
    Ok(certs)
}

/// A network failure in words. Deliberately not `e.to_string()`: that includes the URL, which
/// can carry signed query strings.
pub fn describe_network(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the connection timed out".into()
    } else if e.is_connect() {
        "the connection could not be made".into()
    } else if e.is_body() || e.is_decode() {
        "the connection broke while data was moving".into()
    } else if e.is_request() {
        "the connection was dropped".into()
    } else {
        "the request failed".into()
    }
}

/// Turns a transport error into a retryable network error.
pub fn network_error(platform: Platform, e: &reqwest::Error) -> Error {
    Error::Network {
        platform,
        detail: describe_network(e),
    }
}

/// The default reading of an unsuccessful response, for statuses a provider does not treat
/// itself. `detail` is the platform's own message when the provider could extract one.
pub fn status_error(
    platform: Platform,
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    detail: Option<String>,
) -> Error {
    let code = status.as_u16();
    let detail = detail
        .filter(|d| !d.trim().is_empty())
        .map(|d| shorten(&d, 300))
        .unwrap_or_else(|| format!("HTTP {code}"));
    match code {
        401 => Error::TokenInvalid { platform, detail },
        403 => Error::PermissionMissing {
            platform,
            permission: detail,
        },
        429 => Error::RateLimited {
            platform,
            retry_at: retry_at(headers, SystemTime::now()),
        },
        408 | 500..=599 => Error::Server { platform, detail },
        _ => Error::Rejected {
            platform,
            detail: refusal(platform, &detail),
        },
    }
}

/// The detail of a refusal Sitedrop has no particular reading for, with what to try next. A
/// web page where the API answers data means something else answered: a proxy, a firewall, a
/// captive portal, or the platform's own front door.
pub fn refusal(platform: Platform, detail: &str) -> String {
    let detail = detail.trim_end().trim_end_matches('.');
    if detail.contains(HTML_PAGE) {
        format!(
            "{detail}, so something between this computer and {platform} (a proxy, a firewall or a Wi-Fi login page) may be answering in its place. Check the connection, then try again"
        )
    } else {
        format!(
            "{detail}. Try again; if it keeps happening, check the site in {platform}'s dashboard"
        )
    }
}

const HTML_PAGE: &str = "an HTML page instead of data";

/// Reads a response body as JSON, turning garbage (an HTML error page, truncated JSON) into a
/// clear, retryable error.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    platform: Platform,
    response: Response,
) -> Result<T> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| network_error(platform, &e))?;
    parse_json(platform, status, &bytes)
}

/// A body already read, as JSON; anything else (an HTML error page, a body cut short) is a
/// [`Error::BadResponse`] that quotes the start of what came.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    platform: Platform,
    status: reqwest::StatusCode,
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::BadResponse {
        platform,
        detail: format!(
            "HTTP {}: {}{}",
            status.as_u16(),
            body_preview(bytes),
            if e.is_eof() && !bytes.is_empty() {
                " (cut off)"
            } else {
                ""
            }
        ),
    })
}

/// The first few words of a body, for error messages; HTML pages are named as such.
pub fn body_preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "an empty answer".into();
    }
    if trimmed.starts_with('<') {
        return HTML_PAGE.into();
    }
    let one_line = trimmed.replace(['\n', '\r'], " ");
    format!("\"{}\"", shorten(&one_line, 80))
}

/// Names of JSON members and query parameters whose values are credentials.
const SECRET_NAMES: &[&str] = &[
    "token",
    "jwt",
    "secret",
    "password",
    "signature",
    "credential",
    "authorization",
];

/// Blanks what looks like a credential in text a platform sent back, before it can reach an
/// error message (and so the screen and the history): JWTs (upload tokens), and the values
/// of members or parameters named like a credential (`"jwt": "…"`, `X-Amz-Signature=…`,
/// `drop_token=…`). Platforms do not normally echo these in errors; this is the guard for the
/// answers nobody foresaw.
pub fn redact_credentials(text: &str) -> String {
    let lower = text.to_ascii_lowercase(); // same byte offsets as `text`
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        // A JWT: base64url JSON header `eyJ…`, then `.payload` and maybe `.signature`.
        if rest.starts_with("eyJ") {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .unwrap_or(rest.len());
            if rest[..len].contains('.') {
                out.push_str("<token>");
                i += len;
                continue;
            }
        }
        if let Some((value_at, value_len)) = SECRET_NAMES
            .iter()
            .find_map(|name| named_value(&lower[i..], name))
        {
            out.push_str(&rest[..value_at]);
            out.push_str("<redacted>");
            i += value_at + value_len;
            continue;
        }
        let step = rest.chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..step]);
        i += step;
    }
    out
}

/// When `text` starts with the identifier `name` followed by `:` or `=` (JSON, headers, query
/// strings), where its value starts and how long it is.
fn named_value(text: &str, name: &str) -> Option<(usize, usize)> {
    let after = text.strip_prefix(name)?;
    if after
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    {
        return None; // a longer identifier (`tokens_used`)
    }
    let sep = after.trim_start_matches('"').trim_start();
    let value = sep
        .strip_prefix([':', '='])?
        .trim_start()
        .trim_start_matches('"');
    let value_at = text.len() - value.len();
    let end = if name == "authorization" {
        value.find(['"', '\n']) // the scheme and the credential after it
    } else {
        value.find(|c: char| matches!(c, '"' | '&' | ',' | '}' | '\'' | '#') || c.is_whitespace())
    };
    let len = end.unwrap_or(value.len());
    (len > 0).then_some((value_at, len))
}

/// Readies text a platform sent (an error message, a body) for a message: credentials
/// blanked ([`redact_credentials`]), then cut to `max` characters on a character boundary.
/// Every platform text that reaches an [`Error`] passes through here.
pub fn shorten(s: &str, max: usize) -> String {
    let s = redact_credentials(s);
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_right_kinds() {
        let h = reqwest::header::HeaderMap::new();
        let kind = |c: u16| {
            status_error(
                Platform::Netlify,
                StatusCode::from_u16(c).unwrap(),
                &h,
                None,
            )
            .kind()
        };
        assert_eq!(kind(401), "token_invalid");
        assert_eq!(kind(403), "permission_missing");
        assert_eq!(kind(429), "rate_limited");
        assert_eq!(kind(503), "server_error");
        assert_eq!(kind(408), "server_error");
        assert_eq!(kind(422), "rejected");
    }

    #[test]
    fn credentials_in_answers_never_reach_a_message() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        for (text, secret) in [
            (format!("{{\"success\":true,\"result\":{{\"jwt\":\"{jwt}\"}}}}"), jwt),
            (format!("unexpected {jwt} here"), jwt),
            ("{\"token\": \"nfp_abcdef123456\"}".to_string(), "nfp_abcdef123456"),
            (
                "PUT https://s3/x.zip?X-Amz-Credential=AKID%2F20260101&X-Amz-Signature=0123abcd&x=1"
                    .to_string(),
                "0123abcd",
            ),
            ("claim at /drop/x#drop_token=9aed4c86 now".to_string(), "9aed4c86"),
            ("Authorization: Bearer sk_live_1234".to_string(), "sk_live_1234"),
        ] {
            let shown = body_preview(text.as_bytes());
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("<redacted>") || shown.contains("<token>"), "{shown}");
        }
        assert_eq!(
            redact_credentials("{\"id\":\"abc\",\"name\":\"site\",\"tokens_used\":3}"),
            "{\"id\":\"abc\",\"name\":\"site\",\"tokens_used\":3}",
            "ordinary members stay"
        );
    }

    #[test]
    fn a_platform_message_echoing_a_token_is_blanked() {
        let h = reqwest::header::HeaderMap::new();
        let err = status_error(
            Platform::Netlify,
            StatusCode::BAD_REQUEST,
            &h,
            Some("bad header Authorization: Bearer nfp_secret_123".into()),
        );
        assert!(!err.to_string().contains("nfp_secret_123"), "{err}");
        assert_eq!(
            shorten(
                "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z",
                300
            ),
            "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z",
            "AWS's clock message is kept whole"
        );
    }

    #[test]
    fn unexplained_refusals_say_what_to_try_next() {
        let h = reqwest::header::HeaderMap::new();
        let page = status_error(
            Platform::Netlify,
            StatusCode::BAD_REQUEST,
            &h,
            Some(format!("HTTP 400: {}", body_preview(b"<html><h1>Bad</h1>"))),
        )
        .to_string();
        assert!(
            page.contains("a proxy, a firewall or a Wi-Fi login page")
                && page.ends_with("Check the connection, then try again."),
            "{page}"
        );
        let plain = status_error(
            Platform::Vercel,
            StatusCode::CONFLICT,
            &h,
            Some("The deployment is locked".into()),
        )
        .to_string();
        assert_eq!(
            plain,
            "Vercel refused the request: The deployment is locked. Try again; if it keeps happening, check the site in Vercel's dashboard."
        );
    }

    #[test]
    fn previews_name_html_pages_and_cut_long_text() {
        assert_eq!(
            body_preview(b"<!DOCTYPE html><html>"),
            "an HTML page instead of data"
        );
        assert_eq!(body_preview(b""), "an empty answer");
        assert_eq!(body_preview(b"{\"a\":"), "\"{\"a\":\"");
        assert!(body_preview("x".repeat(500).as_bytes()).ends_with("…\""));
    }

    #[test]
    fn local_and_resolved_sites_connect_to_the_right_place() {
        let http = Http::new(&Env::from_pairs([(
            "SITEDROP_SITE_RESOLVE",
            "127.0.0.1:9999",
        )]))
        .unwrap();
        let (target, host) = http
            .site_target(&url::Url::parse("https://a.netlify.app/x.css").unwrap())
            .unwrap();
        assert_eq!(
            (target.as_str(), host.as_str()),
            ("http://127.0.0.1:9999/x.css", "a.netlify.app")
        );

        let http = Http::new(&Env::default()).unwrap();
        let (target, host) = http
            .site_target(&url::Url::parse("http://blog.localhost:4780/").unwrap())
            .unwrap();
        assert_eq!(
            (target.as_str(), host.as_str()),
            ("http://127.0.0.1:4780/", "blog.localhost:4780")
        );
        let (target, _) = http
            .site_target(&url::Url::parse("https://a.netlify.app/").unwrap())
            .unwrap();
        assert_eq!(target.as_str(), "https://a.netlify.app/");
    }
}
