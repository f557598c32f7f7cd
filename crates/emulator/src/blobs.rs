//! Uploaded file contents, kept on disk (a temp dir or `--state-dir`) and indexed in memory.
//!
//! Each platform has its own namespace because each keys contents differently: Cloudflare by
//! its BLAKE3-of-base64 hash (`specs/cloudflare.md §2`), Netlify and Vercel by SHA-1
//! (`specs/netlify.md §3.2`, `specs/vercel.md §3.3`). The index lock is never held across I/O.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// A blob namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ns {
    /// Cloudflare Pages assets, keyed by hash.
    CfPages,
    /// Cloudflare Workers assets, keyed by hash.
    CfWorkers,
    /// Netlify files, keyed by SHA-1.
    Netlify,
    /// Vercel files, keyed by SHA-1.
    Vercel,
}

impl Ns {
    fn dir(self) -> &'static str {
        match self {
            Ns::CfPages => "cf-pages",
            Ns::CfWorkers => "cf-workers",
            Ns::Netlify => "netlify",
            Ns::Vercel => "vercel",
        }
    }
}

/// One stored blob.
#[derive(Debug, Clone)]
pub struct BlobMeta {
    /// Where the bytes are.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// The content type the uploader declared, if any.
    pub content_type: Option<String>,
}

/// The on-disk blob store.
#[derive(Debug)]
pub struct BlobStore {
    root: PathBuf,
    tmp: PathBuf,
    index: Mutex<HashMap<Ns, HashMap<String, Arc<BlobMeta>>>>,
}

impl BlobStore {
    /// Opens (creating) a store under `root`.
    pub fn new(root: &Path) -> std::io::Result<Self> {
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        Ok(Self {
            root: root.to_path_buf(),
            tmp,
            index: Mutex::new(HashMap::new()),
        })
    }

    /// The state directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where request bodies are spooled before they are committed.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    fn file_name(key: &str) -> String {
        let plain = !key.is_empty()
            && key.len() <= 128
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if plain {
            key.to_string()
        } else {
            hex::encode(Sha256::digest(key.as_bytes()))
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Ns, HashMap<String, Arc<BlobMeta>>>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The blob stored under `key`, if any.
    pub fn get(&self, ns: Ns, key: &str) -> Option<Arc<BlobMeta>> {
        self.lock().get(&ns).and_then(|m| m.get(key)).cloned()
    }

    /// Whether `key` is stored.
    pub fn contains(&self, ns: Ns, key: &str) -> bool {
        self.lock().get(&ns).is_some_and(|m| m.contains_key(key))
    }

    /// Moves a spooled file into the store under `key` (replacing any previous copy).
    pub fn commit(
        &self,
        ns: Ns,
        key: &str,
        tmp: tempfile::TempPath,
        size: u64,
        content_type: Option<String>,
    ) -> std::io::Result<Arc<BlobMeta>> {
        let name = Self::file_name(key);
        let shard = name.get(..2).unwrap_or("00");
        let dir = self.root.join(ns.dir()).join(shard);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(&name);
        tmp.persist(&path).map_err(|e| e.error)?;
        let meta = Arc::new(BlobMeta {
            path,
            size,
            content_type,
        });
        self.lock()
            .entry(ns)
            .or_default()
            .insert(key.to_string(), meta.clone());
        Ok(meta)
    }

    /// Writes `bytes` as a blob (for small contents already in memory).
    pub fn put_bytes(
        &self,
        ns: Ns,
        key: &str,
        bytes: &[u8],
        content_type: Option<String>,
    ) -> std::io::Result<Arc<BlobMeta>> {
        let tmp = tempfile::NamedTempFile::new_in(&self.tmp)?;
        std::fs::write(tmp.path(), bytes)?;
        self.commit(
            ns,
            key,
            tmp.into_temp_path(),
            bytes.len() as u64,
            content_type,
        )
    }

    /// Number of blobs per namespace.
    pub fn counts(&self) -> HashMap<Ns, usize> {
        self.lock().iter().map(|(k, v)| (*k, v.len())).collect()
    }

    /// Forgets every blob and deletes the files.
    pub fn clear(&self) {
        let dirs: Vec<Ns> = self.lock().drain().map(|(k, _)| k).collect();
        for ns in dirs {
            let _ = std::fs::remove_dir_all(self.root.join(ns.dir()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_finds_blobs_by_namespace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::new(dir.path()).expect("store");
        let meta = store
            .put_bytes(Ns::Netlify, "abc123", b"hello", None)
            .expect("put");
        assert_eq!(std::fs::read(&meta.path).expect("read"), b"hello");
        assert!(store.contains(Ns::Netlify, "abc123"));
        assert!(!store.contains(Ns::Vercel, "abc123"));
        let odd = store
            .put_bytes(Ns::Vercel, "../../etc", b"x", None)
            .expect("put odd key");
        assert!(odd.path.starts_with(dir.path()));
        store.clear();
        assert!(!store.contains(Ns::Netlify, "abc123"));
    }
}
