//! Cloudflare: Pages direct upload (`pages`) and Workers static assets (`workers`), and the
//! API client both share (`specs/cloudflare.md` §1, §5, §7).
//!
//! - `envelope`: reading answers (`success` decides, codes become [`Error`]s);
//! - `stream` and `multipart`: upload bodies streamed from disk;
//! - `pages`, `pages_project`, `pages_upload`: Pages direct upload;
//! - `workers`: Workers static assets;
//! - `upload_gate`: fewer uploads at once after a 524;
//! - [`content_type`]: the two products' Content-Type rules.

pub mod content_type;
mod envelope;
mod multipart;
mod pages;
mod pages_project;
mod pages_upload;
mod stream;
mod upload_gate;
mod workers;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::api::{bearer, Answer, Client, Dialect};
use super::descriptor::ApiBase;
use super::{AccountInfo, Cx, Provider};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::retry::retry;
use crate::secrets::{ResolvedCredentials, Secret};

pub(crate) use envelope::Failure;
use envelope::{account_in, read_envelope};
pub use pages::{PagesProvider, DESCRIPTOR as PAGES};
pub use workers::{WorkersProvider, DESCRIPTOR as WORKERS};

/// The API both products share, and the variable that moves it (`DESIGN.md`, "Credentials and
/// endpoints").
const API: ApiBase = ApiBase {
    var: "CLOUDFLARE_API_BASE_URL",
    default: |_| "https://api.cloudflare.com/client/v4".to_string(),
};

/// The variables both products read.
const ENV_VARS: &[&str] = &["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"];

/// Both products take the same token and account from the environment.
fn read_env(env: &Env) -> Option<ResolvedCredentials> {
    ResolvedCredentials::token_from_env(env, "CLOUDFLARE_API_TOKEN", Some("CLOUDFLARE_ACCOUNT_ID"))
}

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
        let credentials = credentials.ok_or_else(|| platform.descriptor().no_credentials())?;
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
            base: platform.descriptor().api_base(env, None),
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
            http: cx.http.client().clone(),
            client: Client::new(
                self.base.clone(),
                Bearer {
                    platform: self.platform,
                    token: self.token.clone(),
                },
            ),
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

    /// Deletes `target`'s project under the collection `collection(account)` gives, treating
    /// the API's `gone` code (it was already removed) as done.
    async fn remove(
        &self,
        cx: &Cx,
        target: &super::Target,
        collection: fn(&str) -> String,
        gone: u64,
    ) -> Result<()> {
        let Some(name) = target.project.as_deref() else {
            return Ok(());
        };
        let api = self.api(cx);
        let account = self
            .account(cx, &api, target.account_ref.as_deref())
            .await?;
        let path = format!("{}/{name}", collection(&account));
        retry(&cx.retry, &cx.cancel, |_| async {
            match api
                .send::<serde_json::Value>(api.request(Method::DELETE, &path))
                .await
            {
                Ok(_) => Ok(()),
                Err(Failure::Api { code, .. }) if code == gone => Ok(()),
                Err(f) => Err(f.into()),
            }
        })
        .await
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

/// How Cloudflare requests are signed (§1.2): `Authorization: Bearer` with the API token —
/// unless the request already carries an upload JWT ([`Api::request_with`], §3.1), which it
/// keeps.
#[derive(Clone)]
pub(crate) struct Bearer {
    platform: Platform,
    token: Secret,
}

impl Dialect for Bearer {
    type Call = ();

    fn platform(&self) -> Platform {
        self.platform
    }

    fn authorize(&self, request: &mut reqwest::Request) -> Result<()> {
        if request.headers().contains_key(AUTHORIZATION) {
            return Ok(());
        }
        bearer(self.platform, request, &self.token)
    }

    /// Cloudflare's answers are read by their envelope, where `success` decides and not the
    /// status ([`Api::send_raw`]); this reading is for a refusal read without it.
    fn error(&self, answer: &Answer, _: ()) -> Error {
        let account = account_in(&answer.url_path);
        match read_envelope::<serde_json::Value>(
            self.platform,
            answer.status,
            &answer.headers,
            &answer.body,
            account.as_deref(),
        ) {
            Err(failure) => failure.into(),
            Ok(_) => crate::http::status_error(self.platform, answer.status, &answer.headers, None),
        }
    }
}

/// The API client for one provider call: the shared client with the API token, and the
/// HTTP client requests are built with.
#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    client: Client<Bearer>,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    fn platform(&self) -> Platform {
        self.client.dialect.platform
    }

    /// A request authorised with the API token (`Authorization: Bearer`, §1.2) when sent.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request authorised with an upload JWT instead of the API token (§1.2, §3.1). reqwest
    /// marks the header sensitive, so it never shows in debug output.
    pub fn request_with(&self, method: Method, path: &str, jwt: &Secret) -> RequestBuilder {
        self.request(method, path).bearer_auth(jwt.expose())
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
                            platform: self.platform(),
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
        let answer = self
            .client
            .exchange(request)
            .await
            .map_err(Failure::Other)?;
        let account = account_in(&answer.url_path);
        read_envelope(
            self.platform(),
            answer.status,
            &answer.headers,
            &answer.body,
            account.as_deref(),
        )
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
                platform: self.platform(),
            }),
            other => Err(Error::TokenInvalid {
                platform: self.platform(),
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
    fn ids_take_the_uuid_form() {
        assert_eq!(
            uuid_form("0123456789abcdef0123456789abcdef"),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        assert_eq!(uuid_form("a-b"), "a-b");
    }
}
