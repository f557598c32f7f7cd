//! Reading Cloudflare's answers (`specs/cloudflare.md` §1.4, §1.5, §7): the v4 envelope
//! `{success, errors, result}`, where `success` decides and never the HTTP status, and the
//! error codes turned into the engine's [`Error`]s so that the retry policy does the right
//! thing: 5xx, 524, garbage and dropped connections are retried; 4xx are not; 429 waits for
//! `Retry-After`.

use std::time::SystemTime;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::permission;
use crate::error::Error;
use crate::http::{body_preview, refusal, shorten};
use crate::platform::Platform;
use crate::retry::retry_at;

/// Why a Cloudflare call failed, before it becomes an [`Error`]: the asset endpoints' upload
/// token needs renewing rather than reporting, and some callers branch on the error code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The upload JWT was refused: expired (the non-JSON `403 Expired JWT`, §3.6) or code
    /// 8000013 (§7). Fetch a new one and repeat the request.
    UploadToken,
    /// `success: false` with a code (§7).
    Api { code: u64, error: Error },
    /// HTTP 524, Cloudflare's edge timing out on a slow origin: retried, and uploads slow
    /// down ([`super::upload_gate::UploadGate`], §3.6, §4.4c).
    Gateway(Error),
    /// Everything else: transport errors, garbage, statuses without an envelope.
    Other(Error),
}

impl Failure {
    /// The Cloudflare error code, when the API gave one.
    pub fn code(&self) -> Option<u64> {
        match self {
            Failure::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        match f {
            Failure::UploadToken => Error::Rejected {
                platform: Platform::CloudflarePages,
                detail: "the upload token was refused again right after it was renewed. Check that this computer's clock is right, then deploy again".into(),
            },
            Failure::Api { error, .. } | Failure::Gateway(error) | Failure::Other(error) => error,
        }
    }
}

/// The account id in an `/accounts/{id}/…` path, for "no such account" messages.
pub(crate) fn account_in(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    parts.find(|p| *p == "accounts")?;
    parts.next().filter(|p| !p.is_empty()).map(str::to_string)
}

/// Reads one answer (§1.4): `success` decides; a body that is not JSON is garbage, except the
/// asset endpoints' plain-text `403 Expired JWT` (§3.6), which means "renew the upload token".
pub(crate) fn read_envelope<T: DeserializeOwned>(
    platform: Platform,
    status: StatusCode,
    headers: &HeaderMap,
    bytes: &[u8],
    account: Option<&str>,
) -> Result<T, Failure> {
    let empty_ok = bytes.iter().all(u8::is_ascii_whitespace)
        && matches!(status, StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT);
    let parsed: Option<Value> = if empty_ok {
        Some(serde_json::json!({"success": true, "result": {}}))
    } else {
        serde_json::from_slice(bytes).ok()
    };
    let code = status.as_u16();
    if code == 524 {
        return Err(Failure::Gateway(Error::Server {
            platform,
            detail: format!(
                "HTTP 524, Cloudflare timed out waiting: {}",
                body_preview(bytes)
            ),
        }));
    }
    let Some(envelope) = parsed.filter(|v| v.get("success").is_some()) else {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
        if code == 403 && text.trim().eq_ignore_ascii_case("Expired JWT") {
            return Err(Failure::UploadToken);
        }
        let detail = format!("HTTP {code}: {}", body_preview(bytes));
        return Err(Failure::Other(match code {
            429 => Error::RateLimited {
                platform,
                retry_at: retry_at(headers, SystemTime::now()),
            },
            408 | 500..=599 => Error::Server { platform, detail },
            // A refusal without an envelope (a proxy's or firewall's page) is still a refusal:
            // never retried (DESIGN, "HTTP and retries"). Only a success that cannot be read
            // is garbage worth asking again.
            400..=499 => Error::Rejected {
                platform,
                detail: refusal(platform, &detail),
            },
            _ => Error::BadResponse { platform, detail },
        }));
    };
    if envelope["success"] == Value::Bool(true) {
        let result = envelope.get("result").cloned().unwrap_or(Value::Null);
        return serde_json::from_value(result).map_err(|e| {
            Failure::Other(Error::BadResponse {
                platform,
                // Not serde's message: it can quote a value, and some results carry an
                // upload token.
                detail: format!(
                    "HTTP {code}: an unexpected result (at line {}, column {})",
                    e.line(),
                    e.column()
                ),
            })
        });
    }
    // `errors[0]`, else the non-standard `{error, code}` body (§1.4 step 5).
    let first = envelope["errors"].get(0).cloned().unwrap_or(Value::Null);
    let api_code = first["code"].as_u64().or(envelope["code"].as_u64());
    let message = first["message"]
        .as_str()
        .or(envelope["error"].as_str())
        .unwrap_or("")
        .to_string();
    let Some(api_code) = api_code else {
        let detail = if message.is_empty() {
            format!("HTTP {code}")
        } else {
            shorten(&message, 300)
        };
        return Err(Failure::Other(match code {
            429 => Error::RateLimited {
                platform,
                retry_at: retry_at(headers, SystemTime::now()),
            },
            408 | 500..=599 => Error::Server { platform, detail },
            _ => Error::Rejected {
                platform,
                detail: refusal(platform, &detail),
            },
        }));
    };
    if api_code == 8000013 {
        return Err(Failure::UploadToken);
    }
    let error = code_error(platform, code, api_code, &message, headers, account);
    Err(Failure::Api {
        code: api_code,
        error,
    })
}

/// The engine's error for a Cloudflare error code (§7).
fn code_error(
    platform: Platform,
    status: u16,
    code: u64,
    message: &str,
    headers: &HeaderMap,
    account: Option<&str>,
) -> Error {
    let detail = if message.is_empty() {
        format!("code {code}")
    } else {
        format!(
            "{} (code {code})",
            shorten(message.trim_end_matches('.'), 300)
        )
    };
    match code {
        // Unknown or malformed credentials: "Invalid API Token", "Authentication failed",
        // "Invalid request headers" / "Invalid format for Authorization header".
        1000 | 9106 | 6003 | 6103 | 6111 => Error::TokenInvalid { platform, detail },
        // "Authentication error": the token is valid but lacks the permission (§7).
        10000 => Error::PermissionMissing {
            platform,
            permission: permission(platform).to_string(),
        },
        // "Unauthorized to access requested resource": an account the token cannot reach.
        9109 => match account {
            Some(account) => Error::AccountNotFound {
                platform,
                account: account.to_string(),
            },
            None => Error::PermissionMissing {
                platform,
                permission: permission(platform).to_string(),
            },
        },
        // Rate limits: the global 1200 requests / 5 minutes (971), and "too many bulk
        // operations in progress" (10046, §8 #3789), which passes once others finish.
        971 | 10046 => Error::RateLimited {
            platform,
            retry_at: retry_at(headers, SystemTime::now()),
        },
        // Pages' "unknown error", which wrangler retries (§3.8).
        8000000 => Error::Server { platform, detail },
        _ if status == 429 => Error::RateLimited {
            platform,
            retry_at: retry_at(headers, SystemTime::now()),
        },
        _ if status >= 500 || status == 408 => Error::Server { platform, detail },
        _ => Error::Rejected { platform, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn read(status: u16, body: &str) -> Result<Value, Failure> {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        read_envelope(
            Platform::CloudflarePages,
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
            Some("0123456789abcdef0123456789abcdef"),
        )
    }

    fn kind(r: Result<Value, Failure>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(Failure::UploadToken) => "upload_token".into(),
            Err(f) => Error::from(f).kind().into(),
        }
    }

    #[test]
    fn success_decides_not_the_status() {
        // §1.4: a 200 with success:false is a failure; a 4xx with success:true is a result.
        assert_eq!(
            kind(read(
                200,
                r#"{"success":false,"errors":[{"code":8000007,"message":"Project not found"}]}"#
            )),
            "rejected"
        );
        assert_eq!(
            read(404, r#"{"success":true,"errors":[],"result":{"a":1}}"#).unwrap()["a"],
            1
        );
        assert_eq!(kind(read(204, "")), "ok");
    }

    #[test]
    fn codes_become_sentences_with_the_right_retry_behaviour() {
        let api = |status: u16, code: u64| {
            kind(read(
                status,
                &format!(
                    r#"{{"success":false,"errors":[{{"code":{code},"message":"x"}}],"result":null}}"#
                ),
            ))
        };
        assert_eq!(api(403, 9106), "token_invalid");
        assert_eq!(api(401, 1000), "token_invalid");
        assert_eq!(api(400, 6003), "token_invalid");
        assert_eq!(api(403, 10000), "permission_missing");
        assert_eq!(api(403, 9109), "account_not_found");
        assert_eq!(api(429, 971), "rate_limited");
        assert_eq!(api(500, 8000000), "server_error");
        assert_eq!(api(502, 1234), "server_error");
        assert_eq!(api(400, 8000011), "rejected");
        assert_eq!(api(401, 8000013), "upload_token");
    }

    #[test]
    fn garbage_and_expired_jwts_are_told_apart() {
        assert_eq!(kind(read(403, "Expired JWT")), "upload_token");
        assert_eq!(kind(read(200, "<html>oops</html>")), "bad_response");
        assert_eq!(kind(read(524, "<html>timeout</html>")), "server_error");
        assert!(matches!(read(524, "x"), Err(Failure::Gateway(_))));
        assert_eq!(kind(read(200, r#"{"a":1}"#)), "bad_response");
        // A refusal without an envelope (a firewall's page) is not retried (DESIGN).
        let Err(Failure::Other(page)) = read(400, "<html><h1>400 Bad Request</h1></html>") else {
            panic!("400 without an envelope")
        };
        assert_eq!(page.retry_hint(), crate::error::RetryHint::Never, "{page}");
        assert_eq!(page.kind(), "rejected");
        let Err(Failure::Other(err)) = read(429, "slow down") else {
            panic!("429 without an envelope")
        };
        assert!(matches!(
            err,
            Error::RateLimited {
                retry_at: Some(_),
                ..
            }
        ));
        assert!(matches!(err.retry_hint(), crate::error::RetryHint::At(_)));
    }

    #[test]
    fn permission_errors_name_the_permission_to_add() {
        let err = code_error(
            Platform::CloudflareWorkers,
            403,
            10000,
            "Authentication error",
            &HeaderMap::new(),
            None,
        );
        assert!(
            err.to_string().contains("Account · Workers Scripts · Edit"),
            "{err}"
        );
    }

    #[test]
    fn the_account_is_read_from_the_path() {
        assert_eq!(
            account_in("/client/v4/accounts/abc/pages/projects").as_deref(),
            Some("abc")
        );
        assert_eq!(account_in("/client/v4/pages/assets/upload"), None);
    }
}
