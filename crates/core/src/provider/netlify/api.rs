//! The Netlify API as Sitedrop speaks it (`specs/netlify.md §1`): JSON over HTTPS, a bearer
//! token, and every failure turned into a sentence.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, REFERER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::http::{body_preview, shorten, status_error};
use crate::platform::Platform;
use crate::provider::api::{bearer, default_header, Answer, Client, Dialect};
use crate::retry::retry_at;
use crate::secrets::Secret;

pub(crate) const PLATFORM: Platform = Platform::Netlify;

/// netlify-cli sends this `Referer` on every call of the anonymous Drop flow
/// (`netlify/cli:src/utils/deploy/drop-api.ts`, `specs/netlify.md §10.2`).
const DROP_REFERER: &str = "https://app.netlify.com";

/// How requests are signed.
#[derive(Clone)]
pub(crate) enum Auth {
    /// The account's personal access token.
    Account(Secret),
    /// A short-lived drop token: uploads of one anonymous deploy only (§10.2).
    Drop(Secret),
    /// No `Authorization` header (Drop's token request, creation and polling).
    Anonymous,
}

/// The Netlify API: one base, signed one of the [`Auth`] ways.
pub(crate) type Api = Client<Auth>;

impl Dialect for Auth {
    type Call = ();

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn authorize(&self, request: &mut reqwest::Request) -> Result<()> {
        default_header(request, ACCEPT, "application/json");
        if let Auth::Account(token) | Auth::Drop(token) = self {
            bearer(PLATFORM, request, token)?;
        }
        if let Auth::Drop(_) | Auth::Anonymous = self {
            request
                .headers_mut()
                .insert(REFERER, HeaderValue::from_static(DROP_REFERER));
        }
        Ok(())
    }

    /// §12; the body is Netlify's, the request (and so the token) is never part of it.
    fn error(&self, answer: &Answer, _: ()) -> Error {
        api_error(answer.status, &answer.headers, &answer.body, &answer.path)
    }
}

/// Reads a successful answer. Netlify always answers with a JSON document; an empty or
/// garbled one is a (retryable) bad answer, as it breaks netlify-cli too (§1).
pub(crate) fn parse<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
    crate::http::parse_json(PLATFORM, status, bytes)
}

/// Netlify's own words from an error body: `{"code","message"}` (the documented shape) or the
/// Rails-style `{"errors":{"subdomain":["must be unique"]}}` of site creation (§12).
pub(crate) fn message_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if let Some(message) = value["message"].as_str().filter(|m| !m.trim().is_empty()) {
        return Some(message.trim().to_string());
    }
    if let Some(errors) = value["errors"].as_object() {
        let parts: Vec<String> = errors
            .iter()
            .map(|(field, problems)| {
                let said: Vec<&str> = match problems {
                    Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                    Value::String(s) => vec![s.as_str()],
                    _ => Vec::new(),
                };
                format!("{field} {}", said.join(", ")).trim().to_string()
            })
            .collect();
        return Some(parts.join("; ")).filter(|s| !s.is_empty());
    }
    value["error"].as_str().map(str::to_string)
}

/// An unsuccessful answer to a request for `path`, in words (§12). The body is Netlify's; the
/// request (and so the token) is never part of the error.
pub(crate) fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8], path: &str) -> Error {
    let message = message_of(body).map(|m| shorten(&m, 300));
    match status.as_u16() {
        401 if message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("expired")) =>
        {
            Error::TokenExpired { platform: PLATFORM }
        }
        401 => Error::TokenInvalid {
            platform: PLATFORM,
            detail: message.unwrap_or_else(|| "Netlify answered 401 Unauthorized".into()),
        },
        403 => Error::PermissionMissing {
            platform: PLATFORM,
            permission: format!(
                "changing sites and deploys (Netlify said \"{}\")",
                message.unwrap_or_else(|| "403 Forbidden".into())
            ),
        },
        404 => Error::NotFound {
            platform: PLATFORM,
            what: if path.contains("/deploys/") {
                "deploy"
            } else {
                "site"
            },
            name: subject(path),
        },
        429 => Error::RateLimited {
            platform: PLATFORM,
            retry_at: retry_at(headers, SystemTime::now()).or_else(|| reset_as_date(headers)),
        },
        _ => {
            let detail = message.or_else(|| {
                (!body.is_empty())
                    .then(|| format!("HTTP {}: {}", status.as_u16(), body_preview(body)))
            });
            status_error(PLATFORM, status, headers, detail)
        }
    }
}

/// What a path is about, for "not found": the id after `/deploys/`, else after `/sites/`.
fn subject(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let after = |word: &str| {
        segments
            .iter()
            .position(|s| *s == word)
            .and_then(|i| segments.get(i + 1))
            .map(|s| s.to_string())
    };
    after("deploys")
        .or_else(|| after("sites"))
        .unwrap_or_else(|| path.to_string())
}

/// `X-RateLimit-Reset` or `Retry-After` written as a date (`2022-01-27 22:20:17 UTC`), a form a
/// dump of real Netlify headers shows (§1); the client should accept it as well as seconds.
fn reset_as_date(headers: &HeaderMap) -> Option<SystemTime> {
    ["x-ratelimit-reset", "retry-after"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .find_map(parse_utc)
        .map(|at| at.max(SystemTime::now()))
}

/// Parses `2024-05-01T12:00:00.123Z`, `2024-05-01T12:00:00Z` and `2024-05-01 12:00:00 UTC`.
pub(crate) fn parse_utc(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let text = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(text);
    let (date, time) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let millis: u64 = format!("{frac:0<3}")
        .get(..3)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    let secs = days_from_civil(y, m, day) * 86_400 + h * 3600 + mi * 60 + s;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
}

/// Days since 1970-01-01 (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn dates_in_both_forms_are_read() {
        let at = |s| {
            parse_utc(s)
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
        };
        assert_eq!(at("1970-01-02T00:00:01Z"), 86_401_000);
        assert_eq!(at("2022-01-27 22:20:17 UTC"), 1_643_322_017_000);
        assert_eq!(at("2024-05-01T12:00:00.123Z"), 1_714_564_800_123);
        assert!(parse_utc("soon").is_none());
        assert!(parse_utc("2024-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn errors_become_sentences_of_the_right_kind() {
        let h = HeaderMap::new();
        let kind = |status: u16, body: &str| {
            api_error(
                StatusCode::from_u16(status).unwrap(),
                &h,
                body.as_bytes(),
                "/sites/abc",
            )
        };
        let e = kind(
            401,
            r#"{"code":401,"message":"Access Denied: invalid token"}"#,
        );
        assert_eq!(e.kind(), "token_invalid");
        assert!(
            e.to_string().contains("Access Denied: invalid token"),
            "{e}"
        );
        assert_eq!(
            kind(401, r#"{"message":"token expired"}"#).kind(),
            "token_expired"
        );
        assert_eq!(kind(401, "").kind(), "token_invalid");
        assert_eq!(kind(403, "{}").kind(), "permission_missing");
        let e = kind(404, r#"{"code":404,"message":"Not Found"}"#);
        assert!(e.to_string().contains("no site called \"abc\""), "{e}");
        assert_eq!(kind(502, "<html>Bad Gateway</html>").kind(), "server_error");
        let e = kind(422, r#"{"errors":{"subdomain":["must be unique"]}}"#);
        assert_eq!(e.kind(), "rejected");
        assert!(e.to_string().contains("subdomain must be unique"), "{e}");
    }

    #[test]
    fn a_429_waits_until_the_reset_in_either_form() {
        let mut h = HeaderMap::new();
        let soon = SystemTime::now() + Duration::from_secs(30);
        let secs = soon.duration_since(UNIX_EPOCH).unwrap().as_secs();
        h.insert("x-ratelimit-reset", HeaderValue::from(secs));
        match api_error(StatusCode::TOO_MANY_REQUESTS, &h, b"", "/x") {
            Error::RateLimited {
                retry_at: Some(at), ..
            } => assert_eq!(at.duration_since(UNIX_EPOCH).unwrap().as_secs(), secs),
            other => panic!("{other:?}"),
        }
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("2999-01-27 22:20:17 UTC"),
        );
        assert!(matches!(
            api_error(StatusCode::TOO_MANY_REQUESTS, &h, b"", "/x"),
            Error::RateLimited {
                retry_at: Some(_),
                ..
            }
        ));
    }
}
