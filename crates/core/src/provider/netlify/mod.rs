//! Netlify (`specs/netlify.md`): digest deploys to a site of the connected account, and —
//! when no account is connected — deploys without one ([`drop`], Netlify Drop).
//!
//! - [`api`]: the HTTP client and Netlify's errors in words;
//! - [`paths`]: which files a deploy carries and how their paths go into URLs;
//! - [`deploy`]: one deploy (manifest, uploads, polling), shared by both kinds;
//! - [`drop`]: the anonymous flow.

mod api;
mod deploy;
pub mod drop;
pub mod paths;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use self::api::{Api, Auth, PLATFORM};
use self::deploy::{batches_for, files_map, wait_for_diff, DeployInfo, Kind, NetlifyDeploy};
use super::api::with_query;
use super::descriptor::{ApiBase, Descriptor};
use super::naming::{random_suffix, slug, with_suffix};
use super::{AccountInfo, Cx, DeploySession, Manifest, ProjectRef, Provider, Published, Target};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::{Environment, Limits, Platform};
use crate::progress::Progress;
use crate::secrets::CredentialKind;
use crate::secrets::ResolvedCredentials;

/// Longest site name: one DNS label under `netlify.app`.
const MAX_NAME: usize = 63;

/// More files than this and netlify-cli asks for an asynchronous diff (§5.2,
/// `SYNC_FILE_LIMIT`): synchronous diffs of thousands of files used to time out (§15).
const SYNC_FILE_LIMIT: usize = 100;

/// netlify-cli uploads 5 files at a time, matching an API-enforced concurrency limit (§6).
pub(crate) const UPLOAD_CONCURRENCY: usize = 5;

/// What Netlify is and allows (`specs/README.md` limits; `specs/netlify.md`).
pub const DESCRIPTOR: Descriptor = Descriptor {
    platform: PLATFORM,
    account_platform: PLATFORM,
    limits: Limits {
        max_file_size: None,
        max_files: None,
    },
    ignore_files: &[],
    // §3.3: dotfiles are not deployed, except `.well-known`.
    ignore_patterns: &[".*", "!.well-known"],
    api: Some(ApiBase {
        var: "NETLIFY_API_URL",
        default: |_| "https://api.netlify.com/api/v1".to_string(),
    }),
    credentials: CredentialKind::Token,
    secret_vars: "NETLIFY_AUTH_TOKEN",
    env_vars: &["NETLIFY_AUTH_TOKEN"],
    read_env: |env| ResolvedCredentials::token_from_env(env, "NETLIFY_AUTH_TOKEN", None),
    // Netlify refuses `#` and `?` in names (§3.3).
    check_files: |files| paths::check_files(PLATFORM, files),
    build,
    served_here: false,
};

/// The provider for `credentials`: the account's, or — with none — deploys without an
/// account (`specs/netlify.md §10.2`).
fn build(credentials: Option<ResolvedCredentials>, env: &Env) -> Result<Box<dyn Provider>> {
    let base = DESCRIPTOR.api_base(env, None);
    let Some(credentials) = credentials else {
        return Ok(Box::new(drop::DropProvider::new(base)));
    };
    credentials.credentials.check_shape(PLATFORM)?;
    let token = credentials.credentials.token(PLATFORM)?.clone();
    Ok(Box::new(NetlifyProvider {
        api: Api::new(base, Auth::Account(token)),
        account_ref: credentials.account_ref,
    }))
}

/// Deploys to sites of a Netlify account.
pub struct NetlifyProvider {
    api: Api,
    /// The team (account slug) from the credentials, when one was chosen.
    account_ref: Option<String>,
}

/// A site, as far as Sitedrop needs it (§8 "Minimal site object").
#[derive(Debug, Clone, Deserialize)]
struct Site {
    id: String,
    name: String,
    /// Set on unclaimed Drop sites, which belong to no account.
    #[serde(default)]
    anonymous: bool,
    /// The live deploy, or null for a site that was never deployed.
    #[serde(default)]
    published_deploy: serde_json::Value,
}

/// A team (`GET /accounts`, §13).
#[derive(Debug, Clone, Deserialize)]
struct Account {
    #[serde(default)]
    id: String,
    slug: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    default: bool,
}

impl NetlifyProvider {
    /// The team new sites go to: the one named by the credentials, the only one, or the
    /// default one (§8 "Create": "the only/default entry of `GET /api/v1/accounts`").
    async fn account(&self, cx: &Cx, wanted: Option<&str>) -> Result<String> {
        let accounts: Vec<Account> = self
            .api
            .call(cx, Method::GET, "/accounts?minimal=true", None)
            .await?;
        if let Some(wanted) = wanted.or(self.account_ref.as_deref()) {
            return accounts
                .iter()
                .find(|a| a.slug == wanted || a.id == wanted)
                .map(|a| a.slug.clone())
                .ok_or_else(|| Error::AccountNotFound {
                    platform: PLATFORM,
                    account: wanted.to_string(),
                });
        }
        match accounts.as_slice() {
            [] => Err(Error::Rejected {
                platform: PLATFORM,
                detail: "this token belongs to no team, so Sitedrop cannot create a site. Create a team in Netlify's dashboard and try again".into(),
            }),
            [only] => Ok(only.slug.clone()),
            several => match several.iter().find(|a| a.default) {
                Some(default) => Ok(default.slug.clone()),
                None => Err(Error::AccountChoiceNeeded {
                    platform: PLATFORM,
                    options: several
                        .iter()
                        .map(|a| (a.slug.clone(), a.name.clone().unwrap_or(a.slug.clone())))
                        .collect(),
                }),
            },
        }
    }

    /// Finds the site this deploy goes to, or creates it (§8):
    /// 1. the remembered site id, when the site still exists in this account;
    /// 2. a site of the account with the wanted name (`GET /sites?name=…&filter=all`, the
    ///    element whose name matches exactly);
    /// 3. a new site with that name in the team. A name derived from the folder that someone
    ///    else has taken gets a short suffix, as netlify-cli retries with `X-<hex>` on 422; a
    ///    name the person chose (or this folder used before) is refused instead, since they
    ///    asked for that address.
    async fn site(&self, cx: &Cx, target: &Target) -> Result<Site> {
        let mut from_drop = false;
        if let Some(id) = &target.remote_id {
            match self.api.get_opt::<Site>(cx, &format!("/sites/{id}")).await {
                Ok(Some(site)) if !site.anonymous => return Ok(site),
                // An unclaimed site deployed without an account is nobody's to update.
                Ok(Some(_)) => from_drop = true,
                Ok(None) | Err(Error::PermissionMissing { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        // A name the person chose is used as is: found, or created. A name derived from the
        // folder is only ever created, never adopted: a site in the account with that name is
        // some other site, and deploying over it would replace it.
        let (wanted, chosen) = match (&target.project, from_drop) {
            (Some(project), false) => (project.as_str(), true),
            _ => (target.folder_name.as_str(), false),
        };
        let name = slug(wanted, MAX_NAME);
        if chosen {
            if let Some(site) = self.site_named(cx, &name).await? {
                return Ok(site);
            }
        }
        let account = self.account(cx, target.account_ref.as_deref()).await?;
        self.create_site(cx, &account, &name, chosen).await
    }

    /// The account's site called exactly `name`, if any (unclaimed Drop sites excluded).
    async fn site_named(&self, cx: &Cx, name: &str) -> Result<Option<Site>> {
        let found: Vec<Site> = self
            .api
            .call(
                cx,
                Method::GET,
                &with_query(
                    "/sites",
                    &[("name", name), ("filter", "all"), ("per_page", "100")],
                ),
                None,
            )
            .await?;
        Ok(found.into_iter().find(|s| s.name == name && !s.anonymous))
    }

    /// `POST /{account_slug}/sites {"name"}` (`createSiteInTeam`, §8). A `chosen` name that is
    /// taken is refused rather than suffixed.
    async fn create_site(
        &self,
        cx: &Cx,
        account: &str,
        wanted: &str,
        chosen: bool,
    ) -> Result<Site> {
        let path = format!("/{account}/sites");
        let mut name = wanted.to_string();
        for _ in 0..4 {
            let created = self
                .api
                .call::<Site>(cx, Method::POST, &path, Some(&json!({ "name": name })))
                .await;
            match created {
                Ok(site) => {
                    if site.name != wanted {
                        (cx.progress)(Progress::Warning {
                            message: format!(
                                "The name \"{wanted}\" is already used on Netlify, so this new site is called \"{}\". To update the existing \"{wanted}\" instead, choose it by name.",
                                site.name
                            ),
                        });
                    }
                    return Ok(site);
                }
                Err(Error::Rejected { detail, .. }) if is_taken(&detail) => {
                    // The create is retried after a dropped answer; if the first try did make
                    // the site, it is ours, empty, and under exactly this name.
                    if let Some(site) = self.site_named(cx, &name).await? {
                        if site.published_deploy.is_null() {
                            return Ok(site);
                        }
                    }
                    if chosen {
                        return Err(Error::ProjectNameTaken {
                            platform: PLATFORM,
                            name: wanted.to_string(),
                        });
                    }
                    name = with_suffix(wanted, &random_suffix(), MAX_NAME);
                }
                Err(Error::Rejected { detail, .. }) => {
                    return Err(Error::ProjectNameInvalid {
                        platform: PLATFORM,
                        name: name.clone(),
                        reason: detail,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::ProjectNameTaken {
            platform: PLATFORM,
            name: wanted.to_string(),
        })
    }

    /// The site a rollback or removal acts on: the remembered id, else the name.
    fn site_key(target: &Target) -> Result<String> {
        target
            .remote_id
            .clone()
            .or_else(|| target.project.clone())
            .ok_or_else(|| Error::Invalid("This site has not been deployed to Netlify yet.".into()))
    }
}

/// Whether a refused site name is taken rather than malformed (§12: `must be unique`).
fn is_taken(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("unique") || d.contains("taken") || d.contains("already")
}

#[async_trait]
impl Provider for NetlifyProvider {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn digest_kind(&self) -> DigestKind {
        DigestKind::Sha1
    }

    /// Never above the API's limit; lower while Netlify pushes back.
    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::fixed(UPLOAD_CONCURRENCY)
    }

    /// `GET /user` says whose token it is; `GET /accounts` which team sites go to.
    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo> {
        #[derive(Deserialize)]
        struct User {
            #[serde(default)]
            email: Option<String>,
            #[serde(default)]
            full_name: Option<String>,
        }
        let user: User = self.api.call(cx, Method::GET, "/user", None).await?;
        let account_ref = match &self.account_ref {
            Some(wanted) => Some(self.account(cx, Some(wanted)).await?),
            None => {
                let accounts: Vec<Account> = self
                    .api
                    .call(cx, Method::GET, "/accounts?minimal=true", None)
                    .await?;
                match accounts.as_slice() {
                    [only] => Some(only.slug.clone()),
                    _ => None,
                }
            }
        };
        Ok(AccountInfo {
            label: user
                .email
                .or(user.full_name)
                .unwrap_or_else(|| "Netlify account".into()),
            account_ref,
        })
    }

    /// Finds or creates the site, then `POST /sites/{id}/deploys` with the whole manifest
    /// (§14 step 3; the server accepts it in the POST as well as in netlify-cli's later PUT,
    /// §2). `draft` is decided here, at creation (§5.2). Above 100 files the diff is
    /// asynchronous and polled until `prepared` (§5.2).
    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        let site = self.site(cx, target).await?;
        let draft = target.environment == Environment::Preview;
        let is_async = manifest.files.len() > SYNC_FILE_LIMIT;
        let body = json!({
            "files": files_map(&manifest),
            "draft": draft,
            "async": is_async,
        });
        let title: Vec<(&str, &str)> = target
            .message
            .as_deref()
            .map(|m| vec![("title", m)])
            .unwrap_or_default();
        let path = format!("/sites/{}/deploys", site.id);
        let created: DeployInfo = self
            .api
            .call(cx, Method::POST, &with_query(&path, &title), Some(&body))
            .await?;
        let deploy = if is_async {
            wait_for_diff(cx, &self.api, &site.id, created).await?
        } else {
            created
        };
        let Some(required) = deploy.required.clone() else {
            return Err(Error::BadResponse {
                platform: PLATFORM,
                detail: "the deploy did not say which files it needs".into(),
            });
        };
        let batches = batches_for(&manifest, &required);
        Ok(Box::new(NetlifyDeploy {
            uploads: self.api.clone(),
            polling: self.api.clone(),
            project: ProjectRef {
                name: site.name.clone(),
                remote_id: Some(site.id.clone()),
                account_ref: target.account_ref.clone().or(self.account_ref.clone()),
            },
            site_id: site.id,
            site_name: site.name,
            deploy,
            manifest,
            batches,
            kind: Kind::Account { draft },
        }))
    }

    /// Publishes an earlier deploy again: `POST /sites/{site}/deploys/{id}/restore` (§9).
    async fn rollback(
        &self,
        cx: &Cx,
        target: &Target,
        remote_deployment_id: &str,
    ) -> Result<Published> {
        let site = Self::site_key(target)?;
        let path = format!("/sites/{site}/deploys/{remote_deployment_id}/restore");
        let restored: DeployInfo = match self.api.call(cx, Method::POST, &path, None).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::NotFound {
                    platform: PLATFORM,
                    what: "deploy",
                    name: remote_deployment_id.to_string(),
                })
            }
            other => other?,
        };
        let production = restored.site_address();
        Ok(Published {
            url: restored
                .deploy_address()
                .or(production.clone())
                .unwrap_or_default(),
            remote_id: restored.id,
            production_url: production,
            claim_url: None,
            note: None,
        })
    }

    /// `DELETE /sites/{id}` (§9 lists deploy deletion; sites go the same way).
    async fn remove(&self, cx: &Cx, target: &Target) -> Result<()> {
        let site = Self::site_key(target)?;
        match self
            .api
            .call_empty(cx, Method::DELETE, &format!("/sites/{site}"))
            .await
        {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
