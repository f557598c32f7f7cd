//! Cloudflare Workers static assets (`specs/cloudflare.md` §4): an assets-only Worker. The
//! server compares the manifest with what it holds and chooses the upload buckets; the last
//! upload returns a completion token that the Worker's new version points at; workers.dev
//! then serves it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::stream::{self, FilePiece, Piece};
use super::upload_gate::UploadGate;
use super::{multipart, uuid_form, Api, Cloudflare, Failure};
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::{Environment, Limits, Platform};
use crate::provider::descriptor::Descriptor;
use crate::provider::naming::{random_suffix, slug, with_suffix};
use crate::provider::{
    AccountInfo, Attempt, Batch, Cx, DeploySession, Manifest, ProjectRef, Provider, Published,
    Target,
};
use crate::retry::retry;
use crate::scan::FileSet;
use crate::secrets::CredentialKind;
use crate::secrets::Secret;

const PLATFORM: Platform = Platform::CloudflareWorkers;

/// What Cloudflare Workers is and allows (`specs/README.md` limits; `specs/cloudflare.md`).
pub const DESCRIPTOR: Descriptor = Descriptor {
    platform: PLATFORM,
    // One Cloudflare account holds both products.
    account_platform: Platform::CloudflarePages,
    // The server enforces 20,000 (Free) / 100,000 (Paid); the client cannot know the plan,
    // so only the per-file size is checked up front.
    limits: Limits {
        max_file_size: Some(25 * 1024 * 1024),
        max_files: None,
    },
    // §4.2: `.assetsignore` lists what to leave out, and the top-level `_redirects` /
    // `_headers` travel in the Worker's metadata.
    ignore_files: &[".assetsignore"],
    ignore_patterns: &["/_redirects", "/_headers"],
    api: Some(super::API),
    credentials: CredentialKind::Token,
    secret_vars: "CLOUDFLARE_API_TOKEN",
    env_vars: super::ENV_VARS,
    read_env: super::read_env,
    check_files,
    build: |credentials, env| super::build(PLATFORM, credentials, env),
    served_here: false,
};

/// A Pages `_worker.js` would be published as a readable file, source and all; wrangler
/// refuses unless `.assetsignore` exists to say what to leave out (§4.2).
fn check_files(files: &FileSet) -> Result<()> {
    let worker = files.files.iter().find(|f| {
        let p = f.path.as_str();
        p == "_worker.js" || p.starts_with("_worker.js/")
    });
    match worker {
        Some(f) if !files.root.join(".assetsignore").exists() => Err(Error::BadFileName {
            platform: PLATFORM,
            path: f.path.to_string(),
            reason: "it looks like Pages Functions code, and Workers would publish it as a public file. List it in a .assetsignore file (or remove it)".into(),
        }),
        _ => Ok(()),
    }
}

/// Worker names: one DNS label (`<name>.<subdomain>.workers.dev`).
const MAX_NAME: usize = 63;

/// Buckets uploading at once. wrangler sends three; the server sizes buckets (at most 40 MiB),
/// so more in flight is what keeps a fast connection busy, and six stays far inside the API's
/// request limits.
const UPLOAD_CONCURRENCY: usize = 6;

/// The compatibility date of the assets-only Worker (it runs no code of ours, so any recent
/// date will do; this one matches the wire example of §4.5).
const COMPATIBILITY_DATE: &str = "2026-01-01";

/// The API date wrangler sends with the workers.dev toggle (§4.1).
const SCRIPT_API_DATE: &str = "2025-08-01";

/// The Cloudflare Workers provider.
pub struct WorkersProvider {
    cf: Cloudflare,
}

impl WorkersProvider {
    pub(super) fn new(cf: Cloudflare) -> WorkersProvider {
        WorkersProvider { cf }
    }
}

fn scripts_path(account: &str) -> String {
    format!("/accounts/{account}/workers/scripts")
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::ProjectNameInvalid {
            platform: PLATFORM,
            name: name.to_string(),
            reason: format!(
                "a Worker name has 1 to {MAX_NAME} lowercase letters, digits, hyphens or underscores, and does not start or end with a hyphen"
            ),
        })
    }
}

/// Does the Worker exist? (`GET …/workers/services/{name}`; 10007 or 10090 mean no, §4.7.)
async fn exists(cx: &Cx, api: &Api, account: &str, name: &str) -> Result<bool> {
    let path = format!("/accounts/{account}/workers/services/{name}");
    retry(&cx.retry, &cx.cancel, |_| async {
        match api.send::<Value>(api.request(Method::GET, &path)).await {
            Ok(_) => Ok(true),
            Err(Failure::Api {
                code: 10007 | 10090,
                ..
            }) => Ok(false),
            Err(f) => Err(f.into()),
        }
    })
    .await
}

/// The account's workers.dev subdomain (`GET …/workers/subdomain`, §4.6).
async fn account_subdomain(cx: &Cx, api: &Api, account: &str) -> Result<String> {
    #[derive(Deserialize)]
    struct Sub {
        subdomain: String,
    }
    let path = format!("/accounts/{account}/workers/subdomain");
    retry(&cx.retry, &cx.cancel, |_| async {
        match api.send::<Sub>(api.request(Method::GET, &path)).await {
            Ok(s) => Ok(s.subdomain),
            Err(Failure::Api { code: 10007, .. }) => Err(Error::Rejected {
                platform: PLATFORM,
                detail: "this account has no workers.dev subdomain yet. Open Workers & Pages in the Cloudflare dashboard once to choose one, then deploy again".into(),
            }),
            Err(f) => Err(f.into()),
        }
    })
    .await
}

/// The Worker's public address: the server's `subdomain.url` when it gives one, else
/// `https://<name>.<subdomain>.workers.dev` (§4.6).
async fn live_url(cx: &Cx, api: &Api, account: &str, name: &str, sub: &str) -> Result<String> {
    let path = format!("/accounts/{account}/workers/workers/{name}");
    let worker: Value = api.get(cx, &path).await?;
    Ok(match worker["subdomain"]["url"].as_str() {
        Some(url) if !url.is_empty() => url.trim_end_matches('/').to_string(),
        _ => format!("https://{name}.{sub}.workers.dev"),
    })
}

/// The name to deploy to: the chosen or remembered one (created when missing), or one derived
/// from the folder — never an existing Worker's, which would belong to another site.
async fn resolve_name(
    cx: &Cx,
    api: &Api,
    account: &str,
    target: &Target,
) -> Result<(String, bool)> {
    if let Some(name) = &target.project {
        check_name(name)?;
        return Ok((name.clone(), exists(cx, api, account, name).await?));
    }
    let base = slug(&target.folder_name, MAX_NAME);
    let mut name = base.clone();
    for _ in 0..5 {
        if !exists(cx, api, account, &name).await? {
            return Ok((name, false));
        }
        name = with_suffix(&base, &random_suffix(), MAX_NAME);
    }
    Err(Error::ProjectNameTaken {
        platform: PLATFORM,
        name: base,
    })
}

#[derive(Serialize)]
struct Entry<'a> {
    hash: &'a str,
    size: u64,
}

/// The upload session's answer (§4.3).
#[derive(Deserialize)]
struct UploadSession {
    #[serde(default)]
    jwt: Secret,
    #[serde(default)]
    buckets: Vec<Vec<String>>,
}

#[async_trait]
impl Provider for WorkersProvider {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn digest_kind(&self) -> DigestKind {
        DigestKind::CfBlake3
    }

    /// wrangler's three to start with, up to [`UPLOAD_CONCURRENCY`] while the API keeps up.
    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::adaptive(3, UPLOAD_CONCURRENCY)
    }

    async fn verify_credentials(&self, cx: &Cx) -> Result<AccountInfo> {
        self.cf.verify_credentials(cx).await
    }

    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        if target.environment == Environment::Preview {
            return Err(Error::Unsupported(
                "Cloudflare Workers has no preview deploys in Sitedrop: the workers.dev address always serves the latest deploy. Deploy to production, or use Cloudflare Pages for previews.".into(),
            ));
        }
        let api = self.cf.api(cx);
        let account = self
            .cf
            .account(cx, &api, target.account_ref.as_deref())
            .await?;
        let (name, existing) = resolve_name(cx, &api, &account, target).await?;
        // Checked before uploading: without a subdomain there is nowhere to publish.
        let subdomain = account_subdomain(cx, &api, &account).await?;

        let entries: BTreeMap<String, Entry> = manifest
            .files
            .iter()
            .map(|f| {
                (
                    f.path.with_leading_slash(),
                    Entry {
                        hash: f.digest.as_str(),
                        size: f.size,
                    },
                )
            })
            .collect();
        let body = json!({ "manifest": entries });
        let path = format!("{}/{name}/assets-upload-session", scripts_path(&account));
        let session: Option<UploadSession> = retry(&cx.retry, &cx.cancel, |_| async {
            Ok(api
                .send(api.request(Method::POST, &path).json(&body))
                .await?)
        })
        .await?;
        // A null result happened in the wild (§4.3, issue #9465).
        let session = session.ok_or_else(|| Error::BadResponse {
            platform: PLATFORM,
            detail: "the upload session came back empty".into(),
        })?;
        if session.jwt.is_empty() {
            return Err(Error::BadResponse {
                platform: PLATFORM,
                detail: "the upload session has no token".into(),
            });
        }
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        for (i, f) in manifest.files.iter().enumerate() {
            first_of.entry(f.digest.as_str()).or_insert(i);
        }
        let mut batches = Vec::new();
        for bucket in &session.buckets {
            let files = bucket
                .iter()
                .map(|h| {
                    first_of
                        .get(h.as_str())
                        .copied()
                        .ok_or_else(|| Error::BadResponse {
                            platform: PLATFORM,
                            detail: format!(
                                "Cloudflare asked for a file that is not in this site ({h})"
                            ),
                        })
                })
                .collect::<Result<Vec<usize>>>()?;
            if !files.is_empty() {
                batches.push(Batch::new(&manifest, files));
            }
        }
        // Nothing to upload: the session token is already the completion token (§4.3).
        let completion = batches.is_empty().then(|| session.jwt.clone());
        Ok(Box::new(WorkersSession {
            api,
            account,
            name,
            existing,
            subdomain,
            upload_jwt: session.jwt,
            completion: Mutex::new(completion),
            gate: UploadGate::new(UPLOAD_CONCURRENCY),
            manifest,
            batches,
            message: target.message.clone(),
        }))
    }

    /// Deploys an earlier version again (`POST …/deployments` takes any version id, §4.1).
    async fn rollback(
        &self,
        cx: &Cx,
        target: &Target,
        remote_deployment_id: &str,
    ) -> Result<Published> {
        let name = target
            .project
            .clone()
            .ok_or_else(|| Error::Invalid("This site has no Cloudflare Worker yet.".into()))?;
        let api = self.cf.api(cx);
        let account = self
            .cf
            .account(cx, &api, target.account_ref.as_deref())
            .await?;
        deploy_version(cx, &api, &account, &name, remote_deployment_id, None).await?;
        let sub = account_subdomain(cx, &api, &account).await?;
        let url = live_url(cx, &api, &account, &name, &sub).await?;
        Ok(Published {
            remote_id: remote_deployment_id.to_string(),
            url: url.clone(),
            production_url: Some(url),
            claim_url: None,
            note: None,
        })
    }

    /// `DELETE …/workers/scripts/{name}`.
    async fn remove(&self, cx: &Cx, target: &Target) -> Result<()> {
        // 10007: the script does not exist.
        self.cf.remove(cx, target, scripts_path, 10007).await
    }
}

/// `POST …/scripts/{name}/deployments`: all traffic to one version (§4.1 step 5).
async fn deploy_version(
    cx: &Cx,
    api: &Api,
    account: &str,
    name: &str,
    version: &str,
    message: Option<&str>,
) -> Result<()> {
    let mut body = json!({
        "strategy": "percentage",
        "versions": [{ "version_id": version, "percentage": 100 }],
        "annotations": {},
    });
    if let Some(message) = message {
        body["annotations"]["workers/message"] = json!(message);
    }
    let path = format!("{}/{name}/deployments", scripts_path(account));
    retry(&cx.retry, &cx.cancel, |_| async {
        match api
            .send::<Value>(api.request(Method::POST, &path).json(&body))
            .await
        {
            Ok(_) => Ok(()),
            Err(Failure::Api {
                code: 10237 | 10007,
                ..
            }) => Err(Error::NotFound {
                platform: PLATFORM,
                what: "version",
                name: version.to_string(),
            }),
            Err(f) => Err(f.into()),
        }
    })
    .await
}

struct WorkersSession {
    api: Api,
    account: String,
    name: String,
    existing: bool,
    subdomain: String,
    upload_jwt: Secret,
    /// The token the completing upload returned (§4.4a), or the session's when nothing was
    /// missing.
    completion: Mutex<Option<Secret>>,
    gate: UploadGate,
    manifest: Arc<Manifest>,
    batches: Vec<Batch>,
    message: Option<String>,
}

impl WorkersSession {
    fn script_path(&self) -> String {
        format!("{}/{}", scripts_path(&self.account), self.name)
    }

    /// The Worker's metadata (§4.5): only assets, with the top-level `_headers` /
    /// `_redirects`. Missing pages behave as on Pages: `404.html` when the site has one, else
    /// the home page (a single-page app).
    async fn metadata(&self, completion: &Secret) -> Result<String> {
        let has_404 = self
            .manifest
            .files
            .iter()
            .any(|f| f.path.as_str() == "404.html");
        let mut config = json!({
            "html_handling": "auto-trailing-slash",
            "not_found_handling": if has_404 { "404-page" } else { "single-page-application" },
        });
        for name in ["_headers", "_redirects"] {
            match tokio::fs::read(self.manifest.root.join(name)).await {
                Ok(bytes) => config[name] = json!(String::from_utf8_lossy(&bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Unreadable {
                        path: name.to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        let mut metadata = json!({
            "assets": { "jwt": completion.expose(), "config": config },
            "compatibility_date": COMPATIBILITY_DATE,
            "compatibility_flags": [],
        });
        if let Some(message) = self.message.as_deref().filter(|m| !m.trim().is_empty()) {
            metadata["annotations"] = json!({ "workers/message": message });
        }
        serde_json::to_string(&metadata).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Uploads the Worker's new version and makes it live; returns the version id. A new
    /// Worker is one script `PUT`; an existing one gets a version, then a deployment (§4.5).
    async fn publish(&self, cx: &Cx, metadata: &str) -> Result<String> {
        let mut form = multipart::Form::new();
        form.text("metadata", metadata);
        let (content_type, body) = form.finish();
        let send = |method: Method, path: String| {
            let (content_type, body) = (&content_type, &body);
            let api = &self.api;
            retry(&cx.retry, &cx.cancel, move |_| {
                let request = api
                    .request(method.clone(), &path)
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(body.clone());
                async move { Ok(api.send::<Value>(request).await?) }
            })
        };
        if !self.existing {
            let path = format!(
                "{}?excludeScript=true&bindings_inherit=strict",
                self.script_path()
            );
            let result = send(Method::PUT, path).await?;
            return result["deployment_id"]
                .as_str()
                .map(uuid_form)
                .ok_or_else(|| Error::BadResponse {
                    platform: PLATFORM,
                    detail: "the new Worker came back without a version id".into(),
                });
        }
        let path = format!("{}/versions?bindings_inherit=strict", self.script_path());
        let version = send(Method::POST, path).await?;
        let id = version["id"].as_str().ok_or_else(|| Error::BadResponse {
            platform: PLATFORM,
            detail: "the new version came back without an id".into(),
        })?;
        deploy_version(
            cx,
            &self.api,
            &self.account,
            &self.name,
            id,
            self.message.as_deref(),
        )
        .await?;
        Ok(id.to_string())
    }

    /// `POST …/scripts/{name}/subdomain {"enabled": true}` (§4.6).
    async fn enable_workers_dev(&self, cx: &Cx) -> Result<()> {
        let path = format!("{}/subdomain", self.script_path());
        let body = json!({ "enabled": true });
        retry(&cx.retry, &cx.cancel, |_| async {
            let request = self
                .api
                .request(Method::POST, &path)
                .header("Cloudflare-Workers-Script-Api-Date", SCRIPT_API_DATE)
                .json(&body);
            Ok(self.api.send::<Value>(request).await.map(|_| ())?)
        })
        .await
    }
}

#[async_trait]
impl DeploySession for WorkersSession {
    fn project(&self) -> ProjectRef {
        ProjectRef {
            name: self.name.clone(),
            remote_id: Some(self.name.clone()),
            account_ref: Some(self.account.clone()),
        }
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.clone()
    }

    /// One server bucket as one multipart request, parts named by hash, contents in base64
    /// with the type to serve (`POST …/workers/assets/upload?base64=true`, §4.4a).
    async fn upload(&self, _cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()> {
        let pass = self.gate.enter().await;
        let boundary = multipart::boundary();
        let mut pieces = Vec::with_capacity(batch.files.len() * 3 + 1);
        for &i in &batch.files {
            let file = &self.manifest.files[i];
            let hash = file.digest.as_str();
            let content_type = super::content_type::workers(file.path.as_str());
            pieces.push(Piece::Text(multipart::file_head(
                &boundary,
                hash,
                hash,
                &content_type,
            )));
            pieces.push(Piece::File(FilePiece::of(file)));
            pieces.push(Piece::Text(multipart::PART_END.into()));
        }
        pieces.push(Piece::Text(multipart::closing(&boundary)));
        let streamed = stream::base64_body(pieces, attempt);
        let problem = streamed.problem.clone();
        let path = format!(
            "/accounts/{}/workers/assets/upload?base64=true",
            self.account
        );
        let request = self
            .api
            .request_with(Method::POST, &path, &self.upload_jwt)
            .header(
                reqwest::header::CONTENT_TYPE,
                multipart::content_type(&boundary),
            )
            .header(reqwest::header::CONTENT_LENGTH, streamed.length)
            .body(streamed.body)
            .timeout(crate::http::UPLOAD_TIMEOUT);
        let sent = self.api.send_raw::<Option<Value>>(request).await;
        let gateway = matches!(sent, Err(Failure::Gateway(_)));
        self.gate.done(pass, sent.is_ok(), gateway);
        let result = match sent {
            Ok(result) => result,
            // A file that changed or vanished cut the body short: say that, not "the
            // connection broke".
            Err(_) if let Some(err) = problem.take() => return Err(err),
            // No renewal for Workers (§4.4c): the session lasts an hour.
            Err(Failure::UploadToken) => {
                return Err(Error::DeployFailed {
                    platform: PLATFORM,
                    detail: "the upload took longer than the hour Cloudflare allows for one upload session. Deploy again: the files already uploaded are kept, so it continues where it stopped".into(),
                })
            }
            Err(f) => return Err(f.into()),
        };
        if let Some(jwt) = result
            .as_ref()
            .and_then(|r| r["jwt"].as_str())
            .filter(|j| !j.is_empty())
        {
            if let Ok(mut completion) = self.completion.lock() {
                *completion = Some(Secret::new(jwt));
            }
        }
        attempt.files_done(batch.files.len() as u64);
        Ok(())
    }

    async fn finish(&self, cx: &Cx) -> Result<Published> {
        let completion = self
            .completion
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| Error::DeployFailed {
                platform: PLATFORM,
                detail: "Cloudflare did not confirm that the upload was complete. Deploy again"
                    .into(),
            })?;
        let metadata = self.metadata(&completion).await?;
        let version = self.publish(cx, &metadata).await?;
        self.enable_workers_dev(cx).await?;
        let url = live_url(cx, &self.api, &self.account, &self.name, &self.subdomain).await?;
        Ok(Published {
            remote_id: version,
            url: url.clone(),
            production_url: Some(url),
            claim_url: None,
            note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_names_are_one_dns_label() {
        assert!(check_name("my-site_2").is_ok());
        for bad in ["My", "-a", "a-", "", &"a".repeat(64), "a.b"] {
            assert_eq!(check_name(bad).unwrap_err().kind(), "project_name_invalid");
        }
    }
}
