//! Deploying without an account: Netlify Drop (`specs/netlify.md §10.2`).
//!
//! A first-time user gets a live address with no sign-up: a drop token from
//! `POST /drop/token`, the manifest to `POST /drop` (which creates a temporary site), the
//! missing files PUT with the drop token, and the deploy polled without any `Authorization`.
//! The site lives about an hour unless claimed with the link Netlify returns.
//!
//! Such a site belongs to no account, so it cannot be updated, rolled back or taken down
//! later: every deploy makes a new one, and the person is told so before anything is sent.
//! The history remembers the temporary site (name and id) so that, once it is claimed and an
//! account connected, the next deploy updates it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::api::{parse_utc, Api, Auth, PLATFORM};
use super::deploy::{batches_for, files_map, DeployInfo, Kind, NetlifyDeploy};
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::Platform;
use crate::progress::Progress;
use crate::provider::{
    AccountInfo, Cx, DeploySession, Manifest, ProjectRef, Provider, Published, Target,
};
use crate::retry::retry;
use crate::secrets::Secret;

/// How long Netlify keeps an unclaimed site when it does not say: netlify-cli warns that
/// "Anonymously deployed sites need to be claimed within 60 minutes".
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Who made the site, sent as `created_via` (netlify-cli's `--created-via`). netlify-cli
/// password-protects Drop sites with `My-Drop-Site` only when no other tool is named
/// (`isPasswordProtected = !createdVia || createdVia === 'drop'` in
/// `netlify/cli:src/commands/deploy/deploy.ts`), so naming Sitedrop publishes it openly.
const CREATED_VIA: &str = "sitedrop";

/// The anonymous provider: used when no Netlify account is connected.
pub struct DropProvider {
    api: Api,
}

impl DropProvider {
    pub fn new(base: String) -> DropProvider {
        DropProvider {
            api: Api::new(base, Auth::Anonymous),
        }
    }
}

/// The answer to `POST /drop` (§10.2); `claim_url` and `expires_at` when the API sends them.
#[derive(Debug, Deserialize)]
struct DropDeploy {
    /// The new site's id.
    id: String,
    deploy_id: String,
    subdomain: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    claim_url: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// A 429 on the token or the site creation is the daily cap on deploys without an account
/// (§10.2: netlify-cli says "You've reached the daily limit for anonymous deploys").
fn daily_limit(e: Error) -> Error {
    match e {
        Error::RateLimited { retry_at, .. } => Error::QuotaExhausted {
            platform: PLATFORM,
            quota: "daily limit of deploys without an account (connect a free Netlify account with `sitedrop login netlify` to keep deploying)".into(),
            resets_at: retry_at.filter(|at| {
                at.duration_since(SystemTime::now())
                    .is_ok_and(|d| d > Duration::from_secs(5 * 60))
            }),
        },
        other => other,
    }
}

impl DropProvider {
    /// One Drop call: retried for server trouble, never for the daily cap.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        cx: &Cx,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        retry(&cx.retry, &cx.cancel, |_| {
            let body = body.clone();
            async move {
                self.api
                    .call_once(cx, Method::POST, path, body)
                    .await
                    .map_err(daily_limit)
            }
        })
        .await
    }
}

#[async_trait]
impl Provider for DropProvider {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn digest_kind(&self) -> DigestKind {
        DigestKind::Sha1
    }

    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::fixed(super::UPLOAD_CONCURRENCY)
    }

    async fn verify_credentials(&self, _cx: &Cx) -> Result<AccountInfo> {
        Ok(AccountInfo {
            label: "No account (temporary sites)".into(),
            account_ref: None,
        })
    }

    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        let mut message = "No Netlify account is connected, so this is deployed without one: the site is temporary until you claim it (Netlify deletes unclaimed sites after about an hour), and it cannot be updated afterwards. Connect an account with `sitedrop login netlify` to keep sites and update them.".to_string();
        if let (Some(earlier), Some(_)) = (&target.project, &target.remote_id) {
            message.push_str(&format!(
                " Deploying again without an account makes a new temporary site; {earlier}.netlify.app is not changed."
            ));
        }
        (cx.progress)(Progress::Warning { message });

        #[derive(Deserialize)]
        struct Token {
            token: Secret,
        }
        let Token { token } = self.call(cx, "/drop/token", None).await?;
        let created: DropDeploy = self
            .call(
                cx,
                "/drop",
                Some(json!({
                    "files": files_map(&manifest),
                    "token": token.expose(),
                    "created_via": CREATED_VIA,
                })),
            )
            .await?;
        let expires_at = created
            .expires_at
            .as_deref()
            .and_then(parse_utc)
            .unwrap_or_else(|| SystemTime::now() + DEFAULT_LIFETIME);
        // netlify-cli builds the claim link itself
        // (`https://app.netlify.com/drop/<subdomain>#drop_token=<token>`); the API's own, when
        // it sends one, wins.
        let claim_url = created.claim_url.clone().unwrap_or_else(|| {
            format!(
                "https://app.netlify.com/drop/{}#drop_token={}",
                created.subdomain,
                token.expose()
            )
        });
        let batches = batches_for(&manifest, &created.required);
        let deploy = DeployInfo {
            id: created.deploy_id.clone(),
            state: created.state.clone(),
            required: Some(created.required.clone()),
            url: created.url.clone(),
            ssl_url: created.url.clone(),
            deploy_url: None,
            deploy_ssl_url: None,
            error_message: None,
        };
        Ok(Box::new(NetlifyDeploy {
            uploads: self.api.with_dialect(Auth::Drop(token)),
            polling: self.api.clone(),
            project: ProjectRef {
                name: created.subdomain.clone(),
                remote_id: Some(created.id.clone()),
                account_ref: None,
            },
            site_id: created.id,
            site_name: created.subdomain,
            deploy,
            manifest,
            batches,
            kind: Kind::Drop {
                claim_url,
                expires_at,
            },
        }))
    }

    async fn rollback(
        &self,
        _cx: &Cx,
        _target: &Target,
        _remote_deployment_id: &str,
    ) -> Result<Published> {
        Err(Error::Unsupported(
            "No Netlify account is connected, so Sitedrop cannot roll back (a site deployed without an account cannot be changed at all). Connect the Netlify account that owns the site (`sitedrop login netlify`) and roll back again, or deploy the earlier version of the folder.".into(),
        ))
    }

    async fn remove(&self, _cx: &Cx, _target: &Target) -> Result<()> {
        Err(Error::Unsupported(
            "No Netlify account is connected, so Sitedrop cannot take this site down. Connect the account that owns it (`sitedrop login netlify`); a temporary site deployed without an account is deleted by Netlify unless it is claimed.".into(),
        ))
    }
}
