//! "This computer": a private preview kept in Sitedrop's data folder and served by Sitedrop
//! itself at `http://<site>.localhost:<port>/`.
//!
//! Layout under `<data dir>/local/`:
//! - `blobs/ab/cdef…` — file contents, named by SHA-256, stored once however many sites and
//!   deploys use them (so a redeploy copies only what changed);
//! - `sites/<name>/deploys/<id>.json` — each deploy's manifest (path → digest, size);
//! - `sites/<name>/current` — the id of the deploy served as production;
//! - `sites/<name>/folder` — the folder the site was made from (a name belongs to one folder).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::descriptor::Descriptor;
use super::naming::{random_suffix, slug, with_suffix};
use super::{
    AccountInfo, Attempt, Batch, Cx, DeploySession, Manifest, ProjectRef, Provider, Published,
    Target,
};
use crate::error::{Error, Result};
use crate::hash::DigestKind;
use crate::platform::{Environment, Limits, Platform};
use crate::secrets::CredentialKind;

/// What "this computer" is: no limits, no credentials, and a server of Sitedrop's own that
/// must be running when a deploy publishes.
pub const DESCRIPTOR: Descriptor = Descriptor {
    platform: Platform::Local,
    account_platform: Platform::Local,
    limits: Limits {
        max_file_size: None,
        max_files: None,
    },
    ignore_files: &[],
    ignore_patterns: &[],
    api: None,
    credentials: CredentialKind::None,
    secret_vars: "",
    env_vars: &[],
    read_env: super::descriptor::no_env,
    check_files: super::descriptor::any_files,
    build: |_, env| Ok(Box::new(LocalProvider::new(env.local_port()))),
    served_here: true,
};

/// Longest local site name: one DNS label.
const MAX_NAME: usize = 63;

/// A stored deploy: what the server needs to answer requests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LocalDeploy {
    pub id: String,
    pub created_ms: i64,
    pub files: BTreeMap<String, LocalFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LocalFile {
    pub sha256: String,
    pub size: u64,
}

/// The local store's folders.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(data_dir: &Path) -> LocalStore {
        LocalStore {
            root: data_dir.join("local"),
        }
    }

    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        let (head, tail) = sha256.split_at(2.min(sha256.len()));
        self.root.join("blobs").join(head).join(tail)
    }

    fn site_dir(&self, name: &str) -> PathBuf {
        self.root.join("sites").join(name)
    }

    /// Names of every local site.
    pub fn site_names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.root.join("sites")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }

    /// The deploy a site serves as production.
    pub fn current(&self, name: &str) -> Option<String> {
        let id = std::fs::read_to_string(self.site_dir(name).join("current")).ok()?;
        Some(id.trim().to_string()).filter(|id| valid_id(id))
    }

    /// Reads a stored deploy.
    pub fn deploy(&self, name: &str, id: &str) -> Option<LocalDeploy> {
        if !valid_id(id) || !valid_id(name) {
            return None;
        }
        let text = std::fs::read(
            self.site_dir(name)
                .join("deploys")
                .join(format!("{id}.json")),
        )
        .ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The folder a site name belongs to, if claimed.
    fn owner(&self, name: &str) -> Option<PathBuf> {
        std::fs::read_to_string(self.site_dir(name).join("folder"))
            .ok()
            .map(PathBuf::from)
    }

    /// Finds a free name for `folder`, claiming it: the wanted name when it is free or already
    /// this folder's, else the name with a short suffix.
    fn claim(&self, wanted: &str, folder: &Path) -> Result<String> {
        let mut name = wanted.to_string();
        for _ in 0..20 {
            match self.owner(&name) {
                Some(owner) if owner == folder => return Ok(name),
                Some(_) => name = with_suffix(wanted, &random_suffix(), MAX_NAME),
                None => {
                    let dir = self.site_dir(&name);
                    std::fs::create_dir_all(dir.join("deploys"))
                        .map_err(|e| store_error(&dir, e))?;
                    write_atomic(&dir.join("folder"), folder.to_string_lossy().as_bytes())?;
                    return Ok(name);
                }
            }
        }
        Err(Error::ProjectNameTaken {
            platform: Platform::Local,
            name: wanted.to_string(),
        })
    }

    /// Copies a file into the blob store, checking it still has the digest it was hashed with.
    fn put_blob(&self, source: &Path, sha256: &str, shown: &str, attempt: &Attempt) -> Result<()> {
        let dest = self.blob_path(sha256);
        if dest.exists() {
            return Ok(());
        }
        let tmp_dir = self.root.join("tmp");
        std::fs::create_dir_all(&tmp_dir).map_err(|e| store_error(&tmp_dir, e))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| store_error(&tmp_dir, e))?;
        let mut input = std::fs::File::open(source).map_err(|e| Error::Unreadable {
            path: shown.to_string(),
            reason: e.to_string(),
        })?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input.read(&mut buf).map_err(|e| Error::Unreadable {
                path: shown.to_string(),
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| store_error(tmp.path(), e))?;
            attempt.add_bytes(n as u64);
        }
        if hex::encode(hasher.finalize()) != sha256 {
            return Err(Error::FileChanged {
                path: shown.to_string(),
            });
        }
        let parent = dest.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(|e| store_error(parent, e))?;
        tmp.persist(&dest)
            .map_err(|e| store_error(&dest, e.error))?;
        Ok(())
    }

    /// Saves a deploy and, for production, makes it the one served.
    fn save_deploy(&self, name: &str, deploy: &LocalDeploy, production: bool) -> Result<()> {
        let dir = self.site_dir(name);
        let json = serde_json::to_vec(deploy).map_err(|e| Error::Storage(e.to_string()))?;
        write_atomic(
            &dir.join("deploys").join(format!("{}.json", deploy.id)),
            &json,
        )?;
        if production {
            self.set_current(name, &deploy.id)?;
        }
        Ok(())
    }

    fn set_current(&self, name: &str, id: &str) -> Result<()> {
        write_atomic(&self.site_dir(name).join("current"), id.as_bytes())
    }
}

/// Ids and names are single path components made of safe characters.
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 80 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn store_error(path: &Path, e: std::io::Error) -> Error {
    Error::DataDir {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes through a temporary file and a rename, so readers never see half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| store_error(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| store_error(dir, e))?;
    tmp.write_all(bytes).map_err(|e| store_error(path, e))?;
    tmp.persist(path).map_err(|e| store_error(path, e.error))?;
    Ok(())
}

/// The addresses of local sites.
pub fn site_url(name: &str, port: u16) -> String {
    format!("http://{name}.localhost:{port}/")
}

pub fn deploy_url(name: &str, id: &str, port: u16) -> String {
    format!("http://{id}--{name}.localhost:{port}/")
}

/// The "this computer" provider.
pub struct LocalProvider {
    port: u16,
}

impl LocalProvider {
    pub fn new(port: u16) -> LocalProvider {
        LocalProvider { port }
    }
}

#[async_trait]
impl Provider for LocalProvider {
    fn platform(&self) -> Platform {
        Platform::Local
    }

    fn digest_kind(&self) -> DigestKind {
        DigestKind::Sha256
    }

    fn upload_concurrency(&self) -> crate::concurrency::Concurrency {
        crate::concurrency::Concurrency::fixed(4)
    }

    async fn verify_credentials(&self, _cx: &Cx) -> Result<AccountInfo> {
        Ok(AccountInfo {
            label: "This computer".into(),
            account_ref: None,
        })
    }

    async fn begin(
        &self,
        cx: &Cx,
        target: &Target,
        manifest: Arc<Manifest>,
    ) -> Result<Box<dyn DeploySession>> {
        let store = LocalStore::new(&cx.data_dir);
        let wanted = slug(
            target.project.as_deref().unwrap_or(&target.folder_name),
            MAX_NAME,
        );
        let (store2, folder) = (store.clone(), manifest.root.clone());
        let name = tokio::task::spawn_blocking(move || store2.claim(&wanted, &folder))
            .await
            .map_err(|e| Error::Storage(e.to_string()))??;
        let missing: Vec<usize> = (0..manifest.files.len())
            .filter(|&i| !store.blob_path(manifest.files[i].digest.as_str()).exists())
            .collect();
        let batches = group(&manifest, missing);
        Ok(Box::new(LocalSession {
            store,
            name,
            port: self.port,
            manifest,
            environment: target.environment,
            batches,
        }))
    }

    async fn rollback(
        &self,
        cx: &Cx,
        target: &Target,
        remote_deployment_id: &str,
    ) -> Result<Published> {
        let store = LocalStore::new(&cx.data_dir);
        let name = target
            .project
            .clone()
            .ok_or_else(|| Error::Invalid("This site has no local name yet.".into()))?;
        if store.deploy(&name, remote_deployment_id).is_none() {
            return Err(Error::NotFound {
                platform: Platform::Local,
                what: "deploy",
                name: remote_deployment_id.into(),
            });
        }
        store.set_current(&name, remote_deployment_id)?;
        Ok(Published {
            remote_id: remote_deployment_id.to_string(),
            url: site_url(&name, self.port),
            production_url: Some(site_url(&name, self.port)),
            claim_url: None,
            note: None,
        })
    }
}

/// Groups files into batches of about 8 MiB or 64 files, whichever comes first.
fn group(manifest: &Manifest, files: Vec<usize>) -> Vec<Batch> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for i in files {
        current.push(i);
        bytes += manifest.files[i].size;
        if current.len() >= 64 || bytes >= 8 * 1024 * 1024 {
            batches.push(Batch::new(manifest, std::mem::take(&mut current)));
            bytes = 0;
        }
    }
    if !current.is_empty() {
        batches.push(Batch::new(manifest, current));
    }
    batches
}

struct LocalSession {
    store: LocalStore,
    name: String,
    port: u16,
    manifest: Arc<Manifest>,
    environment: Environment,
    batches: Vec<Batch>,
}

#[async_trait]
impl DeploySession for LocalSession {
    fn project(&self) -> ProjectRef {
        ProjectRef {
            name: self.name.clone(),
            remote_id: Some(self.name.clone()),
            account_ref: None,
        }
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.clone()
    }

    async fn upload(&self, cx: &Cx, batch: &Batch, attempt: &Attempt) -> Result<()> {
        let (store, manifest, batch, attempt, cancel) = (
            self.store.clone(),
            self.manifest.clone(),
            batch.clone(),
            attempt.clone(),
            cx.cancel.clone(),
        );
        tokio::task::spawn_blocking(move || {
            for i in batch.files {
                if cancel.is_cancelled() {
                    return Err(Error::Cancelled);
                }
                let file = &manifest.files[i];
                attempt.file_started(file.path.as_str());
                store.put_blob(
                    &file.abs,
                    file.digest.as_str(),
                    file.path.as_str(),
                    &attempt,
                )?;
                attempt.files_done(1);
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Storage(e.to_string()))?
    }

    async fn finish(&self, _cx: &Cx) -> Result<Published> {
        let created_ms = crate::history::now_ms();
        let id = format!("{created_ms:x}{}", random_suffix());
        let files = self
            .manifest
            .files
            .iter()
            .map(|f| {
                (
                    f.path.to_string(),
                    LocalFile {
                        sha256: f.digest.to_string(),
                        size: f.size,
                    },
                )
            })
            .collect();
        let deploy = LocalDeploy {
            id: id.clone(),
            created_ms,
            files,
        };
        let production = self.environment == Environment::Production;
        let (store, name) = (self.store.clone(), self.name.clone());
        tokio::task::spawn_blocking(move || store.save_deploy(&name, &deploy, production))
            .await
            .map_err(|e| Error::Storage(e.to_string()))??;
        let deploy_url = deploy_url(&self.name, &id, self.port);
        Ok(Published {
            remote_id: id,
            url: if production {
                site_url(&self.name, self.port)
            } else {
                deploy_url
            },
            production_url: production.then(|| site_url(&self.name, self.port)),
            claim_url: None,
            note: None,
        })
    }
}
