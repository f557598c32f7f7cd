//! Vercel (`specs/vercel.md`): a project per site, deployments of the folder's files as they
//! are (no build), production or preview, and rollback by promoting an earlier deployment.
//!
//! - [`api`]: the HTTP client, the team scope and Vercel's errors in words;
//! - [`deploy`]: one deployment (file list, `missing_files`, uploads, polling).

mod api;
mod deploy;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use self::api::{Api, Auth, Scope, PLATFORM};
use self::deploy::{batches_for, create, Created, Deployment, VercelDeploy};
use super::descriptor::{ApiBase, Descriptor};
use super::naming::{random_suffix, slug, with_suffix};
use super::{AccountInfo, Cx, DeploySession, Manifest, ProjectRef, Provider, Published, Target};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::{Environment, Limits, Platform};
use crate::secrets::CredentialKind;
use crate::secrets::ResolvedCredentials;

/// Project names: at most 100 of `[a-z0-9._-]`; [`slug`] keeps to `[a-z0-9-]`.
const MAX_NAME: usize = 100;

/// The `mode` of every file entry: a regular file, `0o100644` (§3.2: the CLI sends
/// `lstat().mode`; static hosting ignores the permission bits).
const FILE_MODE: u32 = 0o100_644;

/// Uploads in flight: at most the CLI's 50 (§5 step 4), starting from 16 and growing while
/// the server keeps up (fewer saturate most uplinks as well, with fewer connections).
const UPLOAD_CONCURRENCY: usize = 50;
const UPLOAD_CONCURRENCY_START: usize = 16;

/// The settings that make Vercel serve the folder exactly as it is: no framework, no build,
/// no install, and the folder itself as the output (§7.1). Without them the "Other" preset
/// would serve only `public/` when the folder has one, and run a `package.json` build.
fn project_settings() -> Value {
    json!({
        "framework": null,
        "buildCommand": "",
        "installCommand": "",
        "outputDirectory": ".",
    })
}

/// What Vercel is and allows (`specs/README.md` limits; `specs/vercel.md`).
pub const DESCRIPTOR: Descriptor = Descriptor {
    platform: PLATFORM,
    account_platform: PLATFORM,
    limits: Limits {
        max_file_size: None,
        max_files: Some(15_000),
    },
    // §3.1: the CLI's default ignores and `.vercelignore`, minus what the secret guard
    // already holds back and names (`.git`, `.env*`).
    ignore_files: &[".vercelignore", ".nowignore"],
    ignore_patterns: &[
        ".hg",
        ".gitmodules",
        ".svn",
        ".cache",
        ".next",
        ".now",
        ".vercel",
        ".npmignore",
        ".dockerignore",
        ".gitignore",
        ".*.swp",
        ".wafpickle-*",
        ".lock-wscript",
        ".venv",
        ".yarn/cache",
        ".pnp*",
        "npm-debug.log",
        "config.gypi",
        "__pycache__",
        "venv",
        "CVS",
    ],
    api: Some(ApiBase {
        var: "VERCEL_API_URL",
        default: |_| "https://api.vercel.com".to_string(),
    }),
    credentials: CredentialKind::Token,
    secret_vars: "VERCEL_TOKEN",
    env_vars: &["VERCEL_TOKEN", "VERCEL_ORG_ID"],
    read_env: |env| ResolvedCredentials::token_from_env(env, "VERCEL_TOKEN", Some("VERCEL_ORG_ID")),
    check_files: super::descriptor::any_files,
    build,
    served_here: false,
};

/// The provider for `credentials` (required: Vercel has no deploys without an account).
fn build(credentials: Option<ResolvedCredentials>, env: &Env) -> Result<Box<dyn Provider>> {
    let credentials = credentials.ok_or_else(|| DESCRIPTOR.no_credentials())?;
    credentials.credentials.check_shape(PLATFORM)?;
    let token = credentials.credentials.token(PLATFORM)?.clone();
    let scope = Scope::from_account_ref(credentials.account_ref.as_deref());
    Ok(Box::new(VercelProvider {
        api: Api::new(DESCRIPTOR.api_base(env, None), Auth { token, scope }),
    }))
}

/// Deploys to projects of a Vercel account or team.
pub struct VercelProvider {
    api: Api,
}

/// A project, as far as Sitedrop needs it (§11).
#[derive(Debug, Clone, Deserialize)]
struct Project {
    id: String,
    name: String,
    /// Milliseconds since the epoch.
    #[serde(default, rename = "createdAt")]
    created_at: Option<i64>,
    #[serde(default, rename = "latestDeployments")]
    latest_deployments: Option<Vec<Value>>,
}

impl Project {
    /// A project made moments ago and never deployed: what a create whose answer was lost
    /// leaves behind, so it is ours.
    fn just_made(&self) -> bool {
        let fresh = self
            .created_at
            .is_some_and(|ms| crate::history::now_ms() - ms < 10 * 60 * 1000);
        fresh
            && self
                .latest_deployments
                .as_ref()
                .is_none_or(|d| d.is_empty())
    }
}

impl VercelProvider {
    /// Checks that the team the credentials name exists for this token (`GET /teams/{id}`,
    /// §2 "Linked folder"), so a wrong `VERCEL_ORG_ID` gets its own sentence.
    async fn check_team(&self, cx: &Cx) -> Result<()> {
        let Some(team) = self.api.dialect.scope.team() else {
            return Ok(());
        };
        let personal = self.api_without_scope();
        match personal
            .call::<Value>(cx, Method::GET, &format!("/teams/{team}"), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(Error::NotFound { .. } | Error::PermissionMissing { .. }) => {
                Err(Error::AccountNotFound {
                    platform: PLATFORM,
                    account: team.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn api_without_scope(&self) -> Api {
        let mut api = self.api.clone();
        api.dialect.scope = Scope::Personal;
        api
    }

    /// Finds the project or creates it (§2 "Unlinked folder": `GET /v9/projects/<name>`, then
    /// `POST /v1/projects`): the remembered id first, then a name the person chose. A name
    /// derived from the folder is only ever created, never adopted: a project with that name
    /// is some other site. Returns whether Sitedrop created it (only then are its build
    /// settings Sitedrop's to set).
    async fn project(&self, cx: &Cx, target: &Target) -> Result<(Project, bool)> {
        if let Some(id) = &target.remote_id {
            if let Some(project) = self.api.get_opt(cx, &format!("/v9/projects/{id}")).await? {
                return Ok((project, false));
            }
        }
        let chosen = target.project.is_some();
        let wanted = slug(
            target.project.as_deref().unwrap_or(&target.folder_name),
            MAX_NAME,
        );
        if chosen {
            if let Some(project) = self
                .api
                .get_opt(cx, &format!("/v9/projects/{wanted}"))
                .await?
            {
                return Ok((project, false));
            }
        }
        let mut name = wanted.clone();
        for _ in 0..4 {
            let mut body = project_settings();
            body["name"] = json!(name);
            match self
                .api
                .call::<Project>(cx, Method::POST, "/v1/projects", Some(&body))
                .await
            {
                Ok(project) => {
                    if name != wanted {
                        (cx.progress)(crate::progress::Progress::Warning {
                            message: format!(
                                "The name \"{wanted}\" is already used on Vercel, so this new project is called \"{name}\". To update the existing \"{wanted}\" instead, choose it by name."
                            ),
                        });
                    }
                    return Ok((project, true));
                }
                // 409: the name exists. Our own create whose answer was lost (or a race with
                // a deploy of the same folder) made it if it is brand new and empty.
                Err(Error::Rejected { .. }) if self.exists(cx, &name).await => {
                    let existing: Project = self
                        .api
                        .call(cx, Method::GET, &format!("/v9/projects/{name}"), None)
                        .await?;
                    let ours = existing.just_made();
                    if chosen || ours {
                        return Ok((existing, ours));
                    }
                    name = with_suffix(&wanted, &random_suffix(), MAX_NAME);
                }
                Err(Error::Rejected { detail, .. }) => {
                    return Err(Error::ProjectNameInvalid {
                        platform: PLATFORM,
                        name,
                        reason: detail,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::ProjectNameTaken {
            platform: PLATFORM,
            name: wanted,
        })
    }

    async fn exists(&self, cx: &Cx, name: &str) -> bool {
        matches!(
            self.api
                .get_opt::<Project>(cx, &format!("/v9/projects/{name}"))
                .await,
            Ok(Some(_))
        )
    }

    /// The project a rollback or removal acts on.
    fn project_key(target: &Target) -> Result<String> {
        target
            .remote_id
            .clone()
            .or_else(|| target.project.clone())
            .ok_or_else(|| Error::Invalid("This site has not been deployed to Vercel yet.".into()))
    }
}

#[async_trait]
impl Provider for VercelProvider {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn digest_kind(&self) -> DigestKind {
        DigestKind::Sha1
    }

    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::adaptive(UPLOAD_CONCURRENCY_START, UPLOAD_CONCURRENCY)
    }

    /// `GET /v2/user` (§1.3: a 403 there means an invalid token), and the team if one is set.
    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo> {
        #[derive(Deserialize)]
        struct Me {
            user: User,
        }
        #[derive(Deserialize)]
        struct User {
            #[serde(default)]
            email: Option<String>,
            #[serde(default)]
            username: Option<String>,
        }
        let me: Me = self
            .api_without_scope()
            .call(cx, Method::GET, "/v2/user", None)
            .await?;
        self.check_team(cx).await?;
        let who = me
            .user
            .email
            .or(me.user.username)
            .unwrap_or_else(|| "Vercel account".into());
        Ok(AccountInfo {
            label: match self.api.dialect.scope.team() {
                Some(team) => format!("{who} ({team})"),
                None => who,
            },
            account_ref: self.api.dialect.scope.team().map(str::to_string),
        })
    }

    /// Finds or creates the project and sends the file list (§4, §12 steps 1–2).
    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        self.check_team(cx).await?;
        let (project, created) = self.project(cx, target).await?;
        let production = target.environment == Environment::Production;
        let files: Vec<Value> = manifest
            .files
            .iter()
            .map(|f| {
                json!({
                    "file": f.path.as_str(),
                    "sha": f.digest.as_str(),
                    "size": f.size,
                    "mode": FILE_MODE,
                })
            })
            .collect();
        let mut body = json!({
            "name": project.name,
            "project": project.id,
            "files": files,
        });
        if created {
            // §7.1: "required for the first deployment of a project and … saved for any
            // following deployments". A project Sitedrop did not make keeps its own settings.
            body["projectSettings"] = project_settings();
        }
        if production {
            body["target"] = json!("production");
        }
        if let Some(message) = &target.message {
            body["meta"] = json!({ "sitedropMessage": message });
        }
        let body = Bytes::from(body.to_string());
        let (created, batches) = match create(cx, &self.api, &body).await? {
            Created::Deployment(d) => (Some(*d), Vec::new()),
            Created::Missing(missing) => (None, batches_for(&manifest, &missing)),
        };
        Ok(Box::new(VercelDeploy {
            api: self.api.clone(),
            project: ProjectRef {
                name: project.name.clone(),
                remote_id: Some(project.id.clone()),
                account_ref: self.api.dialect.scope.team().map(str::to_string),
            },
            project_id: project.id,
            production,
            manifest,
            body,
            created,
            batches,
        }))
    }

    /// Promotes an earlier deployment to production (Vercel's `promote`, which — unlike its
    /// "instant rollback" — lets later production deployments take the domains again).
    async fn rollback(
        &self,
        cx: &Cx,
        target: &Target,
        remote_deployment_id: &str,
    ) -> Result<Published> {
        let project = Self::project_key(target)?;
        let project: Project = self
            .api
            .call(cx, Method::GET, &format!("/v9/projects/{project}"), None)
            .await?;
        let promoted: Deployment =
            VercelDeploy::promote(cx, &self.api, &project.id, remote_deployment_id).await?;
        let production = promoted.alias_address();
        Ok(Published {
            url: production.clone().unwrap_or_else(|| promoted.address()),
            production_url: production,
            remote_id: promoted.id,
            claim_url: None,
            note: None,
        })
    }

    /// `DELETE /v9/projects/{id}`.
    async fn remove(&self, cx: &Cx, target: &Target) -> Result<()> {
        let project = Self::project_key(target)?;
        match self
            .api
            .call_empty(cx, Method::DELETE, &format!("/v9/projects/{project}"))
            .await
        {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
