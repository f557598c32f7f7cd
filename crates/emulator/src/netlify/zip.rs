//! Zip deploys (`specs/netlify.md §10.1`): `POST /sites/{id}/deploys` with
//! `Content-Type: application/zip`. Every byte is uploaded again (no de-duplication); the
//! archive is streamed to disk, each entry stored by SHA-1, and a `files` manifest built.

use std::io::Read;

use axum::response::Response;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::err;
use crate::blobs::Ns;
use crate::util::body;
use crate::util::req::Req;
use crate::App;

const MAX_ZIP: u64 = 10 << 30;

/// Spools and unpacks a zip body into blobs; returns the `files` manifest.
pub async fn manifest_from_zip(
    app: &std::sync::Arc<App>,
    req: Req,
) -> Result<Map<String, Value>, Response> {
    let spooled = body::spool(req.body, app.blobs.tmp_dir(), MAX_ZIP, |_| {})
        .await
        .map_err(|e| err(400, &e.to_string()))?;
    let app2 = app.clone();
    tokio::task::spawn_blocking(move || -> Result<Map<String, Value>, String> {
        let f = std::fs::File::open(&spooled.path).map_err(|e| e.to_string())?;
        let mut archive = zip::ZipArchive::new(f).map_err(|e| format!("Invalid zip file: {e}"))?;
        let mut files = Map::new();
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| format!("Invalid zip entry: {e}"))?;
            if entry.is_dir() {
                continue;
            }
            let Some(rel) = entry.enclosed_name() else {
                continue;
            };
            let path = rel.to_string_lossy().replace('\\', "/");
            let mut tmp =
                tempfile::NamedTempFile::new_in(app2.blobs.tmp_dir()).map_err(|e| e.to_string())?;
            let mut hasher = Sha1::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut size = 0u64;
            loop {
                let n = entry
                    .read(&mut buf)
                    .map_err(|e| format!("Corrupt zip entry {path}: {e}"))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                std::io::Write::write_all(&mut tmp, &buf[..n]).map_err(|e| e.to_string())?;
                size += n as u64;
            }
            let sha = hex::encode(hasher.finalize());
            app2.blobs
                .commit(Ns::Netlify, &sha, tmp.into_temp_path(), size, None)
                .map_err(|e| e.to_string())?;
            files.insert(path, Value::String(sha));
        }
        Ok(files)
    })
    .await
    .map_err(|e| err(500, &e.to_string()))?
    .map_err(|e| err(422, &e))
}
