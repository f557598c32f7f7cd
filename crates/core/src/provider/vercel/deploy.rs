//! One Vercel deployment (`specs/vercel.md §4`–§6): the file list goes to
//! `POST /v13/deployments`; `missing_files` names the SHA-1s Vercel lacks, each is uploaded
//! once to `/v2/files`, the identical request is repeated, and the deployment is polled until
//! it is `READY` with its alias assigned.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::api::{api_error, parse, Api, ApiError, PLATFORM};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::provider::poll::{poll_until, Look, Poll, Polled, Seen};
use crate::provider::{Attempt, Batch, Cx, DeploySession, Manifest, ProjectRef, Published};
use crate::retry::retry;

/// Sitedrop waits this long for a deployment to be ready (the CLI has no limit, §6).
const WAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A deployment as the API describes it (§4.4).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Deployment {
    pub id: String,
    /// A bare hostname (§4.4: "hostname, no scheme").
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "readyState")]
    pub ready_state: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub alias: Option<Vec<String>>,
    #[serde(default, rename = "aliasAssigned")]
    pub alias_assigned: Option<Value>,
    #[serde(default, rename = "aliasError")]
    pub alias_error: Option<Value>,
    #[serde(default, rename = "errorMessage")]
    pub error_message: Option<String>,
    #[serde(default, rename = "errorCode")]
    pub error_code: Option<String>,
}

impl Deployment {
    fn state(&self) -> &str {
        self.ready_state
            .as_deref()
            .or(self.status.as_deref())
            .unwrap_or("")
    }

    /// `aliasAssigned` is a number (epoch ms), a boolean or null (§4.4).
    fn alias_assigned(&self) -> bool {
        match &self.alias_assigned {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            _ => false,
        }
    }

    /// The first alias, as an address (§6: the CLI prints `Aliased https://<alias[0]>`).
    pub fn alias_address(&self) -> Option<String> {
        self.alias
            .as_ref()?
            .first()
            .map(|a| format!("https://{}", a.trim_start_matches("https://")))
    }

    /// This deployment's own address.
    pub fn address(&self) -> String {
        let host = self
            .url
            .clone()
            .unwrap_or_else(|| format!("{}.vercel.app", self.id));
        format!("https://{}", host.trim_start_matches("https://"))
    }

    fn failure(&self) -> Option<Error> {
        let detail = match self.state() {
            "ERROR" | "CANCELED" => self
                .error_message
                .clone()
                .or_else(|| {
                    self.error_code
                        .clone()
                        .map(|c| format!("the build ended with {c}"))
                })
                .unwrap_or_else(|| format!("the deployment ended as {}", self.state())),
            s if s.ends_with("_ERROR") => format!("the deployment ended as {s}"),
            _ => {
                let alias_error = self.alias_error.as_ref().filter(|e| !e.is_null())?;
                format!(
                    "its address could not be assigned ({})",
                    alias_error["message"].as_str().unwrap_or("alias error")
                )
            }
        };
        Some(Error::DeployFailed {
            platform: PLATFORM,
            detail,
        })
    }
}

/// What `POST /v13/deployments` answered.
pub(crate) enum Created {
    Deployment(Box<Deployment>),
    /// `400 missing_files` with the SHA-1s to upload (§4.4).
    Missing(Vec<String>),
}

/// `POST /v13/deployments?skipAutoDetectionConfirmation=1` with `body`, retried for server
/// trouble (§2, §4).
pub(crate) async fn create(cx: &Cx, api: &Api, body: &Bytes) -> Result<Created> {
    let path = "/v13/deployments";
    retry(&cx.retry, &cx.cancel, |_| async {
        let request = api
            .request(cx, Method::POST, path)
            .query(&[("skipAutoDetectionConfirmation", "1")])
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
        let answer = api.exchange(request).await?;
        if answer.status.is_success() {
            return parse(answer.status, &answer.body).map(|d| Created::Deployment(Box::new(d)));
        }
        let e = ApiError::parse(&answer.body);
        if answer.status.as_u16() == 400 && e.code.as_deref() == Some("missing_files") {
            return Ok(Created::Missing(e.missing.unwrap_or_default()));
        }
        Err(api_error(
            answer.status,
            &answer.headers,
            &answer.body,
            path,
        ))
    })
    .await
}

/// One batch per SHA-1 Vercel lacks, carrying the first file with that content: each distinct
/// content is uploaded once however many paths share it (§3.3, §5).
pub(crate) fn batches_for(manifest: &Manifest, missing: &[String]) -> Vec<Batch> {
    let mut wanted: HashSet<String> = missing.iter().map(|s| s.to_ascii_lowercase()).collect();
    manifest
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted.remove(&f.digest.as_str().to_ascii_lowercase()))
        .map(|(i, _)| Batch::new(manifest, vec![i]))
        .collect()
}

/// One deployment in progress.
pub(crate) struct VercelDeploy {
    pub api: Api,
    pub project: ProjectRef,
    /// The project's id, for promoting.
    pub project_id: String,
    pub production: bool,
    pub manifest: Arc<Manifest>,
    /// The exact creation request, repeated once the missing files are up (§5 step 2).
    pub body: Bytes,
    /// The deployment, when the first request already created it.
    pub created: Option<Deployment>,
    pub batches: Vec<Batch>,
}

impl VercelDeploy {
    /// Polls `GET /v13/deployments/{id}` until `READY` (and, for production, `aliasAssigned`)
    /// or a failure (§6).
    async fn wait_until_ready(&self, cx: &Cx, id: &str) -> Result<Deployment> {
        let path = format!("/v13/deployments/{id}");
        let polled = poll_until(cx, &POLL, || async {
            let d: Deployment = self.api.call(cx, Method::GET, &path, None).await?;
            if let Some(failure) = d.failure() {
                return Err(failure);
            }
            let state = d.state().to_string();
            if state == "READY" && (d.alias_assigned() || !self.production) {
                return Ok(Seen::new(Look::Done(d), state));
            }
            let shown = state.to_ascii_lowercase();
            Ok(Seen::new(Look::Pending, state).showing(shown))
        })
        .await?;
        match polled {
            Polled::Done(d) => Ok(d),
            Polled::TimedOut { state } => Err(Error::DeployFailed {
                platform: PLATFORM,
                detail: format!(
                    "the deployment was still {state} after {} minutes. Check it in Vercel's dashboard, then try again",
                    WAIT_TIMEOUT.as_secs() / 60
                ),
            }),
        }
    }

    /// Makes `deployment` production: `POST /v10/projects/{id}/promote/{deployment}` (Vercel's
    /// promote endpoint; §12 leaves rollback and promote out of the spec).
    pub(crate) async fn promote(
        cx: &Cx,
        api: &Api,
        project_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        let path = format!("/v10/projects/{project_id}/promote/{id}");
        api.call::<Value>(
            cx,
            Method::POST,
            &path,
            Some(&Value::Object(Default::default())),
        )
        .await?;
        api.call(cx, Method::GET, &format!("/v13/deployments/{id}"), None)
            .await
    }
}

/// The CLI's polling rhythm (§6: 1 s for the first 15 s, then 5 s to a minute, 15 s to five
/// minutes, then 30 s), with quicker first looks (25 ms, doubling) so a small site is not
/// kept waiting.
const POLL: Poll = Poll {
    first: Duration::from_millis(25),
    steps: &[
        (Duration::from_secs(15), Duration::from_secs(1)),
        (Duration::from_secs(60), Duration::from_secs(5)),
        (Duration::from_secs(300), Duration::from_secs(15)),
    ],
    cap: Duration::from_secs(30),
    timeout: WAIT_TIMEOUT,
    announce: true,
};

#[async_trait]
impl DeploySession for VercelDeploy {
    fn project(&self) -> ProjectRef {
        self.project.clone()
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.clone()
    }

    /// `POST /v2/files` with the raw bytes streamed from disk, `Content-Length`,
    /// `x-now-digest` and `x-now-size` (§5 step 3). Network errors and 5xx are retried by the
    /// engine; the daily quota is not.
    async fn upload(&self, cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()> {
        for &i in &batch.files {
            let file = &self.manifest.files[i];
            let shown = file.path.as_str();
            attempt.file_started(shown);
            let body = attempt.file_body(shown, &file.abs, file.size).await?;
            let path = "/v2/files";
            let request = self
                .api
                .request(cx, Method::POST, path)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, file.size)
                .header("x-now-digest", file.digest.as_str())
                .header("x-now-size", file.size)
                .body(body)
                .timeout(crate::http::UPLOAD_TIMEOUT);
            match self.api.send(request).await {
                Ok(_) => attempt.files_done(1),
                Err(Error::Rejected { detail, .. })
                    if detail.contains("SHA-1") || detail.contains("size") =>
                {
                    return Err(Error::FileChanged {
                        path: shown.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn finish(&self, cx: &Cx) -> Result<Published> {
        let created = match &self.created {
            Some(d) => d.clone(),
            None => match create(cx, &self.api, &self.body).await? {
                Created::Deployment(d) => *d,
                Created::Missing(missing) => {
                    return Err(Error::DeployFailed {
                        platform: PLATFORM,
                        detail: format!(
                            "Vercel still lacks {} file(s) after they were uploaded. Deploy again",
                            missing.len()
                        ),
                    })
                }
            },
        };
        let mut done = self.wait_until_ready(cx, &created.id).await?;
        if self.production && done.alias.as_ref().is_none_or(|a| a.is_empty()) {
            // After an instant rollback Vercel stops giving new production deployments the
            // production domains until one is promoted; the person asked for production.
            done = Self::promote(cx, &self.api, &self.project_id, &done.id).await?;
            (cx.progress)(Progress::Warning {
                message: "Vercel had stopped moving production to new deployments (after a rollback), so Sitedrop promoted this one.".into(),
            });
        }
        Ok(Published {
            url: done.address(),
            production_url: if self.production {
                done.alias_address()
            } else {
                None
            },
            remote_id: done.id,
            claim_url: None,
            note: None,
        })
    }
}
