//! One Netlify digest deploy, with or without an account (`specs/netlify.md §5`, §6, §10.2):
//! the manifest is sent, Netlify answers with the SHA-1s it lacks, every path carrying one of
//! them is PUT, streamed from disk, and the deploy is polled until it is `ready`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde::Deserialize;

use super::api::{Api, PLATFORM};
use super::paths::encode_uri;
use crate::error::{when, Error, Result};
use crate::progress::Progress;
use crate::provider::poll::{poll_until, Look, Poll, Polled, Seen};
use crate::provider::{Attempt, Batch, Cx, DeploySession, Manifest, ProjectRef, Published};

/// netlify-cli gives each wait (the diff, then processing) 20 minutes (§5.3,
/// `DEFAULT_DEPLOY_TIMEOUT`).
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// A deploy as the API describes it (§5.1 "Fields the CLI uses").
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeployInfo {
    pub id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub required: Option<Vec<String>>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub ssl_url: Option<String>,
    #[serde(default)]
    pub deploy_url: Option<String>,
    #[serde(default)]
    pub deploy_ssl_url: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl DeployInfo {
    /// The address of this very deploy (`deploy_ssl_url || deploy_url`, §7).
    pub fn deploy_address(&self) -> Option<String> {
        self.deploy_ssl_url.clone().or(self.deploy_url.clone())
    }

    /// The site's address (`ssl_url || url`, §7).
    pub fn site_address(&self) -> Option<String> {
        self.ssl_url.clone().or(self.url.clone())
    }

    fn state(&self) -> &str {
        self.state.as_deref().unwrap_or("")
    }

    fn failure(&self) -> Error {
        Error::DeployFailed {
            platform: PLATFORM,
            detail: self
                .error_message
                .clone()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| format!("deploy {} ended in an error", self.id)),
        }
    }
}

/// What kind of deploy this is, which decides what `finish` reports.
pub(crate) enum Kind {
    /// A deploy to a site of the account; a draft is a preview.
    Account { draft: bool },
    /// A deploy without an account: a temporary site until claimed.
    Drop {
        claim_url: String,
        expires_at: SystemTime,
    },
}

/// One deploy in progress.
pub(crate) struct NetlifyDeploy {
    /// Signs the uploads (the account token, or the drop token).
    pub uploads: Api,
    /// Signs the polling (the account token, or nothing for Drop, §10.2).
    pub polling: Api,
    pub site_id: String,
    pub site_name: String,
    pub deploy: DeployInfo,
    pub manifest: Arc<Manifest>,
    pub batches: Vec<Batch>,
    pub project: ProjectRef,
    pub kind: Kind,
}

impl NetlifyDeploy {
    fn deploy_path(&self) -> String {
        format!("/sites/{}/deploys/{}", self.site_id, self.deploy.id)
    }

    /// Cancels the deploy on Netlify, best effort. A deploy without an account has no
    /// cancel.
    async fn cancel(&self, cx: &Cx) {
        if matches!(self.kind, Kind::Account { .. }) {
            let cancel = format!("/deploys/{}/cancel", self.deploy.id);
            let _ = self
                .polling
                .call::<serde_json::Value>(cx, Method::POST, &cancel, None)
                .await;
        }
    }

    /// Polls until the deploy is `ready` (§5.3 `waitForDeploy`).
    async fn wait_until_ready(&self, cx: &Cx) -> Result<DeployInfo> {
        let path = self.deploy_path();
        let polled = poll_until(cx, &READY, || async {
            let d: DeployInfo = self.polling.call(cx, Method::GET, &path, None).await?;
            match d.state() {
                "ready" => Ok(Seen::new(Look::Done(d), "ready")),
                "error" => Err(d.failure()),
                state => Ok(Seen::new(Look::Pending, state).showing(state)),
            }
        })
        .await?;
        match polled {
            Polled::Done(d) => Ok(d),
            Polled::TimedOut { state } => {
                // §7: a deploy that will not finish is cancelled, so it does not linger.
                self.cancel(cx).await;
                Err(timeout(&state))
            }
        }
    }
}

/// An upload refused for its drop token: the anonymous deploy's upload window closed.
fn drop_token_refused() -> Error {
    Error::DeployFailed {
        platform: PLATFORM,
        detail: "Netlify no longer accepts uploads for this temporary site (its upload permission ran out). Deploy again".into(),
    }
}

/// The words for a wait that ran out.
pub(crate) fn timeout(state: &str) -> Error {
    Error::DeployFailed {
        platform: PLATFORM,
        detail: format!(
            "the deploy was still \"{state}\" after {} minutes. Check the deploy log in Netlify's dashboard, then try again",
            WAIT_TIMEOUT.as_secs() / 60
        ),
    }
}

/// Polling delays: quick first looks (10 ms, doubling), then every second as netlify-cli does
/// (§5.3, `DEPLOY_POLL` = 1000 ms), until [`WAIT_TIMEOUT`]. The quick looks cost seven
/// requests in the first second, against a limit of 500 a minute.
const READY: Poll = Poll {
    first: Duration::from_millis(10),
    steps: &[],
    cap: Duration::from_secs(1),
    timeout: WAIT_TIMEOUT,
    announce: true,
};

/// The same rhythm for a diff, which is part of preparing, not of going live.
const DIFF: Poll = Poll {
    announce: false,
    ..READY
};

/// Polls an async diff until Netlify knows what it lacks (§5.2 `waitForDiff`).
pub(crate) async fn wait_for_diff(
    cx: &Cx,
    api: &Api,
    site_id: &str,
    deploy: DeployInfo,
) -> Result<DeployInfo> {
    let path = format!("/sites/{site_id}/deploys/{}", deploy.id);
    // The first look is the answer that created the deploy.
    let mut first = Some(deploy);
    let polled =
        poll_until(cx, &DIFF, || {
            let given = first.take();
            let path = &path;
            async move {
                let d: DeployInfo = match given {
                    Some(d) => d,
                    None => api.call(cx, Method::GET, path, None).await?,
                };
                match d.state() {
                    "prepared" | "uploading" | "uploaded" | "ready" => {
                        let state = d.state().to_string();
                        Ok(Seen::new(Look::Done(d), state))
                    }
                    "error" => Err(d.failure()),
                    state => Ok(Seen::new(Look::Pending, state)
                        .showing(format!("{state} (comparing files)"))),
                }
            }
        })
        .await?;
    match polled {
        Polled::Done(d) => Ok(d),
        Polled::TimedOut { state } => Err(timeout(&state)),
    }
}

/// One batch per path whose content Netlify lacks: netlify-cli PUTs **every** path carrying a
/// required SHA-1, so identical files are sent once per path (§5.2 "`required` semantics").
pub(crate) fn batches_for(manifest: &Manifest, required: &[String]) -> Vec<Batch> {
    let wanted: HashSet<String> = required.iter().map(|s| s.to_ascii_lowercase()).collect();
    manifest
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted.contains(&f.digest.as_str().to_ascii_lowercase()))
        .map(|(i, _)| Batch::new(manifest, vec![i]))
        .collect()
}

/// The `files` manifest: path without a leading slash → SHA-1 (§3.3).
pub(crate) fn files_map(manifest: &Manifest) -> serde_json::Map<String, serde_json::Value> {
    manifest
        .files
        .iter()
        .map(|f| (f.path.to_string(), f.digest.to_string().into()))
        .collect()
}

#[async_trait]
impl DeploySession for NetlifyDeploy {
    fn project(&self) -> ProjectRef {
        self.project.clone()
    }

    /// §7 / §14 step 6: on any error after the deploy was created, netlify-cli cancels it so
    /// it does not sit half-uploaded. (A deploy without an account has no cancel.)
    async fn abort(&self, cx: &Cx) {
        self.cancel(cx).await;
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.clone()
    }

    /// `PUT /deploys/{id}/files/{encodeURI(path)}`, raw bytes streamed from disk (§6). The
    /// engine retries failures; 400/422 are final, as in netlify-cli.
    async fn upload(&self, cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()> {
        for &i in &batch.files {
            let file = &self.manifest.files[i];
            let shown = file.path.as_str();
            attempt.file_started(shown);
            let body = attempt.file_body(shown, &file.abs, file.size).await?;
            let path = format!("/deploys/{}/files/{}", self.deploy.id, encode_uri(shown));
            let request = self
                .uploads
                .request(cx, Method::PUT, &path)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body)
                .timeout(crate::http::UPLOAD_TIMEOUT);
            let sent = self.uploads.send(request).await;
            let answer = match (sent, &self.kind) {
                (Err(Error::Rejected { detail, .. }), _) if detail.contains("did not match") => {
                    return Err(Error::FileChanged {
                        path: shown.to_string(),
                    })
                }
                (
                    Err(Error::TokenInvalid { .. } | Error::TokenExpired { .. }),
                    Kind::Drop { .. },
                ) => return Err(drop_token_refused()),
                (other, _) => other?,
            };
            // The answer is a small JSON file record; reading it whole tells a finished
            // upload from a connection dropped after the status line.
            super::api::parse::<serde_json::Value>(answer.status, &answer.body)?;
            attempt.files_done(1);
        }
        Ok(())
    }

    async fn finish(&self, cx: &Cx) -> Result<Published> {
        let done = self.wait_until_ready(cx).await?;
        match &self.kind {
            Kind::Account { draft } => {
                let url = done.deploy_address().unwrap_or_else(|| {
                    format!("https://{}--{}.netlify.app", done.id, self.site_name)
                });
                let production_url = if *draft {
                    None
                } else {
                    self.published_address(cx, &done).await?
                };
                Ok(Published {
                    remote_id: done.id,
                    url,
                    production_url,
                    claim_url: None,
                    note: None,
                })
            }
            Kind::Drop {
                claim_url,
                expires_at,
            } => {
                let url = done
                    .site_address()
                    .unwrap_or_else(|| format!("https://{}.netlify.app", self.site_name));
                Ok(Published {
                    remote_id: done.id,
                    url: url.clone(),
                    production_url: Some(url),
                    claim_url: Some(claim_url.clone()),
                    note: Some(format!(
                        "This site is temporary: Netlify deletes it {} unless you claim it with the claim link (a free account is enough). Without an account a site cannot be updated, so deploying this folder again makes a new temporary site.",
                        when(*expires_at)
                    )),
                })
            }
        }
    }
}

impl NetlifyDeploy {
    /// A production deploy publishes itself on reaching `ready`, unless the site's deploys are
    /// locked (§7). Checks which deploy the site serves, and says so when it is not this one.
    async fn published_address(&self, cx: &Cx, done: &DeployInfo) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct Site {
            #[serde(default)]
            url: Option<String>,
            #[serde(default)]
            ssl_url: Option<String>,
            #[serde(default)]
            published_deploy: Option<Published>,
        }
        #[derive(Deserialize)]
        struct Published {
            id: String,
        }
        let path = format!("/sites/{}", self.site_id);
        let site: Site = self.polling.call(cx, Method::GET, &path, None).await?;
        let address = site
            .ssl_url
            .or(site.url)
            .or(done.site_address())
            .unwrap_or_else(|| format!("https://{}.netlify.app", self.site_name));
        if site.published_deploy.is_some_and(|p| p.id == done.id) {
            return Ok(Some(address));
        }
        (cx.progress)(Progress::Warning {
            message: format!(
                "Netlify did not publish this deploy: publishing is locked for {address} (unlock it in Netlify's dashboard, or roll back to this deploy in Sitedrop). This deploy is at its own address."
            ),
        });
        Ok(None)
    }
}
