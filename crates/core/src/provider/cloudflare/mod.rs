//! Cloudflare: Pages direct upload ([`pages`]) and Workers static assets ([`workers`]), and the
//! API client both share (`specs/cloudflare.md` §1, §5, §7).
//!
//! The client reads every answer as the v4 envelope `{success, errors, result}`, where
//! `success` decides, never the HTTP status (§1.4, §1.5), and turns failures into the engine's
//! [`Error`]s so the retry policy does the right thing: 5xx, 524, garbage and dropped
//! connections are retried, 4xx are not, 429 waits for `Retry-After`.

pub mod content_type;
mod multipart;
mod pages;
mod pages_upload;
mod stream;
mod throttle;
mod workers;

use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::{require, AccountInfo, Cx, Provider};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::http::{body_preview, network_error, shorten};
use crate::platform::Platform;
use crate::retry::{retry, retry_at};
use crate::secrets::{ResolvedCredentials, Secret};

pub use pages::PagesProvider;
pub use workers::WorkersProvider;

/// Builds the Pages or Workers provider (`Platform::CloudflarePages` / `CloudflareWorkers`).
pub fn build(
    platform: Platform,
    credentials: Option<ResolvedCredentials>,
    env: &Env,
) -> Result<Box<dyn Provider>> {
    let cf = Cloudflare::new(platform, credentials, env)?;
    Ok(match platform {
        Platform::CloudflareWorkers => Box::new(WorkersProvider::new(cf)),
        _ => Box::new(PagesProvider::new(cf)),
    })
}

/// The token permission each product needs, named as the dashboard's token editor shows it.
fn permission(platform: Platform) -> &'static str {
    match platform {
        Platform::CloudflareWorkers => "Account · Workers Scripts · Edit",
        _ => "Account · Cloudflare Pages · Edit",
    }
}

/// What both products share: the API base, the token, and the account when one is configured.
#[derive(Clone)]
pub(crate) struct Cloudflare {
    platform: Platform,
    base: String,
    token: Secret,
    account: Option<String>,
}

impl Cloudflare {
    fn new(
        platform: Platform,
        credentials: Option<ResolvedCredentials>,
        env: &Env,
    ) -> Result<Cloudflare> {
        let credentials = require(platform, credentials)?;
        let token = credentials.credentials.token(platform)?.clone();
        // A token that cannot be a header value would fail on every request; say so once.
        if HeaderValue::from_str(&format!("Bearer {}", token.expose())).is_err() || token.is_empty()
        {
            return Err(Error::TokenInvalid {
                platform,
                detail: "it contains characters a Cloudflare API token never has".into(),
            });
        }
        Ok(Cloudflare {
            platform,
            base: env.api_base(platform, None),
            token,
            account: credentials
                .account_ref
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty()),
        })
    }

    /// The API client for one call of the provider.
    fn api(&self, cx: &Cx) -> Api {
        Api {
            platform: self.platform,
            base: self.base.clone(),
            token: self.token.clone(),
            client: cx.http.client().clone(),
        }
    }

    /// Checks the token (`GET /user/tokens/verify`, §5) and finds its account (§5): the
    /// configured one, which must exist, else the only one, else the person must choose.
    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo> {
        let api = self.api(cx);
        api.verify_token(cx).await?;
        let accounts = api.accounts(cx).await?;
        let chosen = pick_account(self.platform, self.account.as_deref(), &accounts)?;
        Ok(AccountInfo {
            label: chosen.name.clone(),
            account_ref: Some(chosen.id.clone()),
        })
    }

    /// The account to deploy into: the target's, else the configured one, else discovered.
    async fn account(&self, cx: &Cx, api: &Api, wanted: Option<&str>) -> Result<String> {
        let wanted = wanted
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .or(self.account.as_deref());
        if let Some(id) = wanted {
            // Account ids are 32 hex characters; anything else would only earn a 404 "no route".
            if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::AccountNotFound {
                    platform: self.platform,
                    account: id.to_string(),
                });
            }
            return Ok(id.to_ascii_lowercase());
        }
        let accounts = api.accounts(cx).await?;
        Ok(pick_account(self.platform, None, &accounts)?.id.clone())
    }
}

/// One account the token can reach.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(crate) struct AccountSummary {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// The configured account if the token reaches it; else the only one; else a choice.
fn pick_account<'a>(
    platform: Platform,
    wanted: Option<&str>,
    accounts: &'a [AccountSummary],
) -> Result<&'a AccountSummary> {
    if let Some(id) = wanted {
        return accounts
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| Error::AccountNotFound {
                platform,
                account: id.to_string(),
            });
    }
    match accounts {
        [] => Err(Error::Rejected {
            platform,
            detail: "this token cannot reach any account. Give it access to your account (Account Resources: include your account) and connect it again".into(),
        }),
        [only] => Ok(only),
        several => Err(Error::AccountChoiceNeeded {
            platform,
            options: several
                .iter()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect(),
        }),
    }
}

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
    /// down ([`throttle::Throttle`], §3.6, §4.4c).
    Gateway(Error),
    /// Everything else: transport errors, garbage, statuses without an envelope.
    Other(Error),
}

impl Failure {
    /// The Cloudflare error code, when the API gave one.
    fn code(&self) -> Option<u64> {
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

/// The API client for one provider call: base URL, token and the shared HTTP client.
#[derive(Clone)]
pub(crate) struct Api {
    platform: Platform,
    base: String,
    token: Secret,
    client: reqwest::Client,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request authorised with the API token (`Authorization: Bearer`, §1.2). reqwest marks
    /// the header sensitive, so it never shows in debug output.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.token.expose())
    }

    /// A request authorised with an upload JWT instead of the API token (§1.2, §3.1).
    pub fn request_with(&self, method: Method, path: &str, jwt: &Secret) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(jwt.expose())
    }

    /// Sends an API-token request once and reads its envelope. An authentication failure
    /// (9106) is told apart from an expired token by asking `/user/tokens/verify`, as wrangler
    /// does after an auth error (§5).
    pub async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Failure> {
        match self.send_raw(request).await {
            Err(Failure::Api { code: 9106, error }) => {
                if self.token_expired().await {
                    Err(Failure::Api {
                        code: 9106,
                        error: Error::TokenExpired {
                            platform: self.platform,
                        },
                    })
                } else {
                    Err(Failure::Api { code: 9106, error })
                }
            }
            other => other,
        }
    }

    /// Sends a request once and reads its envelope.
    pub async fn send_raw<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, Failure> {
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Other(network_error(self.platform, &e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let account = account_in(response.url().path());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Other(network_error(self.platform, &e)))?;
        read_envelope(self.platform, status, &headers, &bytes, account.as_deref())
    }

    /// `GET path`, retried by the policy.
    pub async fn get<T: DeserializeOwned>(&self, cx: &Cx, path: &str) -> Result<T> {
        retry(&cx.retry, &cx.cancel, |_| async {
            Ok(self.send(self.request(Method::GET, path)).await?)
        })
        .await
    }

    /// Is the API token known but expired (`GET /user/tokens/verify` → `status: "expired"`)?
    async fn token_expired(&self) -> bool {
        #[derive(Deserialize)]
        struct Verified {
            #[serde(default)]
            status: String,
        }
        let request = self.request(Method::GET, "/user/tokens/verify");
        matches!(self.send_raw::<Verified>(request).await, Ok(v) if v.status == "expired")
    }

    /// Checks the token: it must be known and active (§5, §6).
    pub async fn verify_token(&self, cx: &Cx) -> Result<()> {
        #[derive(Deserialize)]
        struct Verified {
            #[serde(default)]
            status: String,
        }
        let verified: std::result::Result<Verified, Error> =
            retry(&cx.retry, &cx.cancel, |_| async {
                match self
                    .send_raw::<Verified>(self.request(Method::GET, "/user/tokens/verify"))
                    .await
                {
                    Ok(v) => Ok(v),
                    Err(f) => Err(Error::from(f)),
                }
            })
            .await;
        match verified?.status.as_str() {
            "active" => Ok(()),
            "expired" => Err(Error::TokenExpired {
                platform: self.platform,
            }),
            other => Err(Error::TokenInvalid {
                platform: self.platform,
                detail: format!("Cloudflare says the token is {other}"),
            }),
        }
    }

    /// Every account the token can reach (`GET /accounts`, paged by `result_info`, §5).
    pub async fn accounts(&self, cx: &Cx) -> Result<Vec<AccountSummary>> {
        const PER_PAGE: usize = 50;
        let mut all = Vec::new();
        for page in 1..=20 {
            let path = format!("/accounts?page={page}&per_page={PER_PAGE}");
            let batch: Vec<AccountSummary> = self.get(cx, &path).await?;
            let n = batch.len();
            all.extend(batch);
            if n < PER_PAGE {
                break;
            }
        }
        Ok(all)
    }
}

/// The account id in an `/accounts/{id}/…` path, for "no such account" messages.
fn account_in(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    parts.find(|p| *p == "accounts")?;
    parts.next().filter(|p| !p.is_empty()).map(str::to_string)
}

/// Reads one answer (§1.4): `success` decides; a body that is not JSON is garbage, except the
/// asset endpoints' plain-text `403 Expired JWT` (§3.6), which means "renew the upload token".
fn read_envelope<T: DeserializeOwned>(
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
            _ => Error::BadResponse { platform, detail },
        }));
    };
    if envelope["success"] == Value::Bool(true) {
        let result = envelope.get("result").cloned().unwrap_or(Value::Null);
        return serde_json::from_value(result).map_err(|e| {
            Failure::Other(Error::BadResponse {
                platform,
                detail: format!("HTTP {code}: an unexpected result ({e})"),
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
            _ => Error::Rejected { platform, detail },
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

/// Hyphenates a 32-hex id into the UUID form (§4.5: wrangler does this to `deployment_id`).
fn uuid_form(id: &str) -> String {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!(
            "{}-{}-{}-{}-{}",
            &id[..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..]
        )
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn accounts_are_picked_or_offered() {
        let a = |id: &str, name: &str| AccountSummary {
            id: id.into(),
            name: name.into(),
        };
        let one = [a("aa", "Mine")];
        assert_eq!(
            pick_account(Platform::CloudflarePages, None, &one)
                .unwrap()
                .name,
            "Mine"
        );
        let two = [a("aa", "Mine"), a("bb", "Work")];
        let err = pick_account(Platform::CloudflarePages, None, &two).unwrap_err();
        assert_eq!(err.kind(), "account_choice_needed");
        assert!(err.to_string().contains("Work [bb]"), "{err}");
        assert_eq!(
            pick_account(Platform::CloudflarePages, Some("BB"), &two)
                .unwrap()
                .id,
            "bb"
        );
        assert_eq!(
            pick_account(Platform::CloudflarePages, Some("cc"), &two)
                .unwrap_err()
                .kind(),
            "account_not_found"
        );
    }

    #[test]
    fn ids_and_paths() {
        assert_eq!(
            uuid_form("0123456789abcdef0123456789abcdef"),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        assert_eq!(uuid_form("a-b"), "a-b");
        assert_eq!(
            account_in("/client/v4/accounts/abc/pages/projects").as_deref(),
            Some("abc")
        );
        assert_eq!(account_in("/client/v4/pages/assets/upload"), None);
    }
}
