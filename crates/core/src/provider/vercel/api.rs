//! The Vercel API as Sitedrop speaks it (`specs/vercel.md §1`): JSON over HTTPS, a bearer
//! token, the team scope on every request, and every failure turned into a sentence.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::http::{body_preview, shorten, status_error};
use crate::platform::Platform;
use crate::provider::api::{bearer, default_header, Answer, Client, Dialect};
use crate::retry::retry_at;
use crate::secrets::Secret;

pub(crate) const PLATFORM: Platform = Platform::Vercel;

/// Whose projects the calls see (§1.1: "An `accountId` starting with `team_` becomes
/// `teamId=…`"; the API also takes a team's `slug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The token owner's own projects.
    Personal,
    /// `?teamId=team_…`.
    TeamId(String),
    /// `?slug=<team slug>`.
    TeamSlug(String),
}

impl Scope {
    /// From `VERCEL_ORG_ID` or the account chosen at login: a team id, a user id (the
    /// personal scope, as in `.vercel/project.json`'s `orgId`), or a team slug.
    pub fn from_account_ref(account_ref: Option<&str>) -> Scope {
        match account_ref.map(str::trim).filter(|s| !s.is_empty()) {
            None => Scope::Personal,
            Some(id) if id.starts_with("team_") => Scope::TeamId(id.to_string()),
            Some(id) if id.starts_with("user_") => Scope::Personal,
            Some(slug) => Scope::TeamSlug(slug.to_string()),
        }
    }

    /// The team as written in the history and in messages.
    pub fn team(&self) -> Option<&str> {
        match self {
            Scope::Personal => None,
            Scope::TeamId(t) | Scope::TeamSlug(t) => Some(t),
        }
    }
}

/// How Vercel calls are signed: the token, and the scope every request names (§1.1).
#[derive(Clone)]
pub(crate) struct Auth {
    pub token: Secret,
    pub scope: Scope,
}

/// The Vercel API for one token and scope.
pub(crate) type Api = Client<Auth>;

impl Dialect for Auth {
    type Call = ();

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn authorize(&self, request: &mut reqwest::Request) -> Result<()> {
        default_header(request, ACCEPT, "application/json");
        bearer(PLATFORM, request, &self.token)?;
        match &self.scope {
            Scope::Personal => {}
            Scope::TeamId(id) => {
                request
                    .url_mut()
                    .query_pairs_mut()
                    .append_pair("teamId", id);
            }
            Scope::TeamSlug(slug) => {
                request
                    .url_mut()
                    .query_pairs_mut()
                    .append_pair("slug", slug);
            }
        }
        Ok(())
    }

    /// §9; never includes the request, so never the token.
    fn error(&self, answer: &Answer, _: ()) -> Error {
        api_error(answer.status, &answer.headers, &answer.body, &answer.path)
    }
}

/// An error body: `{"error":{…}}`, or the same fields unwrapped (§4.4, §9).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "invalidToken")]
    pub invalid_token: Option<bool>,
    #[serde(default, rename = "missingToken")]
    pub missing_token: Option<bool>,
    /// `api-upload-free` / `api-upload-paid` on the daily upload quota (§9).
    #[serde(default)]
    pub name: Option<String>,
    /// The SHA-1s a deployment lacks (`missing_files`, §4.4).
    #[serde(default)]
    pub missing: Option<Vec<String>>,
    #[serde(default)]
    pub limit: Option<Value>,
}

impl ApiError {
    pub fn parse(body: &[u8]) -> ApiError {
        #[derive(Deserialize)]
        struct Wrapped {
            error: ApiError,
        }
        serde_json::from_slice::<Wrapped>(body)
            .map(|w| w.error)
            .or_else(|_| serde_json::from_slice::<ApiError>(body))
            .unwrap_or_default()
    }
}

/// Reads a successful JSON answer; garbage is a (retryable) bad answer.
pub(crate) fn parse<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
    crate::http::parse_json(PLATFORM, status, bytes)
}

/// An unsuccessful answer to a request for `path`, in words (§9). Never includes the
/// request, so never the token.
pub(crate) fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8], path: &str) -> Error {
    let e = ApiError::parse(body);
    let message = e
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| shorten(m, 300));
    let code = status.as_u16();
    let bad_token = e.invalid_token == Some(true) || e.missing_token == Some(true);
    match code {
        // §1.3: 403 on `/v2/user` means an invalid token; `invalidToken`/`missingToken` say so
        // on any route (§9).
        401 | 403 if bad_token || code == 401 => Error::TokenInvalid {
            platform: PLATFORM,
            detail: message.unwrap_or_else(|| format!("Vercel answered {code}")),
        },
        403 => Error::PermissionMissing {
            platform: PLATFORM,
            permission: format!(
                "access to this scope's projects and deployments (Vercel said \"{}\")",
                message.unwrap_or_else(|| "Forbidden".into())
            ),
        },
        404 => {
            let (what, name) = subject(path);
            Error::NotFound {
                platform: PLATFORM,
                what,
                name,
            }
        }
        429 if is_upload_quota(&e) => Error::QuotaExhausted {
            platform: PLATFORM,
            quota: format!(
                "daily file-upload quota ({}: 5,000 files a day on the Hobby plan, 40,000 on Pro)",
                e.name.as_deref().unwrap_or("api-upload")
            ),
            resets_at: quota_reset(&e, headers),
        },
        429 => Error::RateLimited {
            platform: PLATFORM,
            retry_at: retry_at(headers, SystemTime::now()),
        },
        _ => {
            let detail = message.or_else(|| {
                (!body.is_empty()).then(|| format!("HTTP {code}: {}", body_preview(body)))
            });
            status_error(PLATFORM, status, headers, detail)
        }
    }
}

/// The daily upload quota names itself `api-upload-free` / `api-upload-paid` (§8, §9); the
/// CLI reads `error.name`, and the message quotes the same code.
fn is_upload_quota(e: &ApiError) -> bool {
    e.name
        .as_deref()
        .is_some_and(|n| n.starts_with("api-upload-"))
        || e.message
            .as_deref()
            .is_some_and(|m| m.contains("\"api-upload-"))
}

/// When the quota resets: `error.limit.reset` (the CLI subtracts `Date.now()`, so
/// milliseconds; seconds are accepted too), `limit.resetMs`, else the rate-limit headers.
fn quota_reset(e: &ApiError, headers: &HeaderMap) -> Option<SystemTime> {
    let limit = e.limit.as_ref();
    let ms = limit
        .and_then(|l| l["resetMs"].as_f64())
        .or_else(|| {
            let reset = limit?["reset"].as_f64()?;
            Some(if reset > 1e12 { reset } else { reset * 1000.0 })
        })
        .filter(|v| v.is_finite() && *v > 0.0);
    match ms {
        Some(ms) => Some(UNIX_EPOCH + Duration::from_millis(ms as u64)),
        None => {
            // `X-RateLimit-Reset` first: it names the moment, where Retry-After may be rounded.
            let mut only_reset = headers.clone();
            only_reset.remove("retry-after");
            retry_at(&only_reset, SystemTime::now())
                .or_else(|| retry_at(headers, SystemTime::now()))
        }
    }
}

/// What a path is about, for "not found".
fn subject(path: &str) -> (&'static str, String) {
    let segments: Vec<&str> = path.split(['/', '?']).collect();
    let after = |word: &str| {
        segments
            .iter()
            .position(|s| *s == word)
            .and_then(|i| segments.get(i + 1))
            .map(|s| s.to_string())
    };
    if let Some(name) = after("deployments") {
        ("deployment", name)
    } else if let Some(name) = after("promote") {
        ("deployment", name)
    } else if let Some(name) = after("projects") {
        ("project", name)
    } else if let Some(name) = after("teams") {
        ("team", name)
    } else {
        ("resource", path.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn err(status: u16, body: &str) -> Error {
        api_error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            "/v9/projects/blog",
        )
    }

    #[test]
    fn scopes_come_from_the_org_id() {
        assert_eq!(Scope::from_account_ref(None), Scope::Personal);
        assert_eq!(Scope::from_account_ref(Some("user_abc")), Scope::Personal);
        assert_eq!(
            Scope::from_account_ref(Some("team_abc")),
            Scope::TeamId("team_abc".into())
        );
        assert_eq!(
            Scope::from_account_ref(Some("my-team")),
            Scope::TeamSlug("my-team".into())
        );
    }

    #[test]
    fn errors_become_sentences_of_the_right_kind() {
        let bad = err(
            403,
            r#"{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}"#,
        );
        assert_eq!(bad.kind(), "token_invalid");
        assert!(
            bad.to_string().contains("Vercel did not accept the token"),
            "{bad}"
        );
        let readonly = err(
            403,
            r#"{"error":{"code":"forbidden","message":"You don't have permission to create the project.","action":"create"}}"#,
        );
        assert_eq!(readonly.kind(), "permission_missing");
        let missing = err(
            404,
            r#"{"error":{"code":"not_found","message":"Project not found"}}"#,
        );
        assert!(
            missing.to_string().contains("no project called \"blog\""),
            "{missing}"
        );
        assert_eq!(err(502, "<html></html>").kind(), "server_error");
        assert_eq!(err(413, "Request Entity Too Large").kind(), "rejected");
    }

    #[test]
    fn the_daily_upload_quota_is_not_a_rate_limit() {
        let body = r#"{"error":{"code":"rate_limited","message":"Too many requests - try again in 24 hours (more than 5000, code: \"api-upload-free\").","name":"api-upload-free","limit":{"remaining":0,"reset":1900000000,"total":5000}}}"#;
        match err(429, body) {
            Error::QuotaExhausted {
                resets_at: Some(at),
                quota,
                ..
            } => {
                assert_eq!(at, UNIX_EPOCH + Duration::from_secs(1_900_000_000));
                assert!(quota.contains("api-upload-free"), "{quota}");
            }
            other => panic!("{other:?}"),
        }
        let ms = r#"{"error":{"name":"api-upload-paid","limit":{"reset":1900000000123}}}"#;
        assert!(matches!(
            err(429, ms),
            Error::QuotaExhausted { resets_at: Some(at), .. } if at == UNIX_EPOCH + Duration::from_millis(1_900_000_000_123)
        ));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        let plain = api_error(StatusCode::TOO_MANY_REQUESTS, &h, b"", "/v2/files");
        assert!(matches!(
            plain,
            Error::RateLimited {
                retry_at: Some(_),
                ..
            }
        ));
        assert_ne!(plain.retry_hint(), crate::error::RetryHint::Never);
    }
}
