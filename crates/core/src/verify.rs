//! Checking that a published site serves the folder's bytes. A deploy is "live" only after this.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::http::Http;
use crate::provider::{Manifest, ManifestFile};

/// How many times to look before deciding the site is not serving (platforms' edges can lag a
/// moment behind their APIs).
const ATTEMPTS: u32 = 8;

/// Files larger than this are never fetched back to check (they are read whole to compare).
const MAX_SAMPLE_SIZE: u64 = 4 * 1024 * 1024;

/// Picks a few files that say whether the whole deploy is there: the home page, plus the
/// smallest, a middle-sized and the largest file under 4 MiB that are not HTML (hosts rewrite
/// `.html` addresses to "pretty" ones, which would test the host, not the deploy).
pub fn sample(manifest: &Manifest) -> Vec<(String, &ManifestFile)> {
    let mut picks: Vec<(String, &ManifestFile)> = Vec::new();
    if let Some(index) = manifest
        .files
        .iter()
        .find(|f| f.path.as_str() == "index.html" && f.size <= MAX_SAMPLE_SIZE)
    {
        picks.push(("".to_string(), index));
    }
    let mut others: Vec<&ManifestFile> = manifest
        .files
        .iter()
        .filter(|f| {
            let ext = f.path.extension().to_ascii_lowercase();
            ext != "html"
                && ext != "htm"
                && f.size > 0
                && f.size <= MAX_SAMPLE_SIZE
                && !f.path.file_name().starts_with('.')
        })
        .collect();
    others.sort_by_key(|f| (f.size, f.path.as_str().to_string()));
    let chosen = [others.first(), others.get(others.len() / 2), others.last()];
    for f in chosen.into_iter().flatten() {
        if !picks.iter().any(|(_, p)| p.path == f.path) {
            picks.push((encode_path(f.path.as_str()), f));
        }
    }
    picks
}

/// Percent-encodes each segment of a path for a URL.
pub fn encode_path(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    path.split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// GETs the sample from `base_url` and compares bytes with the files on disk, looking again
/// for a while where they differ (a new deployment may take a moment to reach the edge).
pub async fn verify_live(
    http: &Http,
    base_url: &str,
    manifest: &Manifest,
    cancel: &CancellationToken,
) -> Result<()> {
    compare_sample(http, base_url, manifest, cancel, ATTEMPTS).await
}

/// Whether a deployment that has long been live still serves `manifest`: the same sample, but
/// a second look only (a network blip), since nothing is on its way to the edge.
pub async fn still_serves(
    http: &Http,
    base_url: &str,
    manifest: &Manifest,
    cancel: &CancellationToken,
) -> Result<()> {
    compare_sample(http, base_url, manifest, cancel, 2).await
}

async fn compare_sample(
    http: &Http,
    base_url: &str,
    manifest: &Manifest,
    cancel: &CancellationToken,
    attempts: u32,
) -> Result<()> {
    let base = base_url.trim_end_matches('/');
    for (url_path, file) in sample(manifest) {
        let expected = tokio::fs::read(&file.abs)
            .await
            .map_err(|e| Error::Unreadable {
                path: file.path.to_string(),
                reason: e.to_string(),
            })?;
        let url = format!("{base}/{url_path}");
        let mut last = String::new();
        let mut matched = false;
        for attempt in 0..attempts {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if attempt > 0 {
                let wait = Duration::from_millis(250 * 2u64.pow(attempt.min(4)));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return Err(Error::Cancelled),
                }
            }
            match http.fetch_site(&url).await {
                Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                    Ok(body) if body.as_ref() == expected.as_slice() => {
                        matched = true;
                        break;
                    }
                    Ok(body) => {
                        last = format!(
                            "/{} served {} bytes that differ from the file's {}",
                            url_path,
                            body.len(),
                            expected.len()
                        )
                    }
                    Err(e) => last = crate::http::describe_network(&e),
                },
                Ok(resp) => last = format!("/{url_path} answered HTTP {}", resp.status().as_u16()),
                Err(e) => last = e,
            }
        }
        if !matched {
            return Err(Error::VerifyFailed {
                url: base_url.to_string(),
                detail: last,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Digest, DigestKind};
    use crate::relpath::RelPath;
    use std::path::PathBuf;

    fn file(path: &str, size: u64) -> ManifestFile {
        ManifestFile {
            path: RelPath::new(path),
            abs: PathBuf::from(path),
            size,
            digest: Digest::from_hex("00"),
        }
    }

    #[test]
    fn sample_takes_home_page_and_spread_of_other_files() {
        let manifest = Manifest {
            root: PathBuf::from("/s"),
            kind: DigestKind::Sha1,
            files: vec![
                file("index.html", 10),
                file("a.css", 5),
                file("b.js", 50),
                file("c.png", 500),
                file("about.html", 9),
                file("huge.mp4", 1 << 30),
            ],
            total_bytes: 0,
        };
        let picked: Vec<_> = sample(&manifest)
            .into_iter()
            .map(|(u, f)| (u, f.path.to_string()))
            .collect();
        assert_eq!(
            picked,
            [
                ("".into(), "index.html".into()),
                ("a.css".into(), "a.css".into()),
                ("b.js".into(), "b.js".into()),
                ("c.png".into(), "c.png".into())
            ]
        );
    }

    #[test]
    fn url_paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("docs/a b+c&d%.txt"),
            "docs/a%20b%2Bc%26d%25.txt"
        );
        assert_eq!(encode_path("caf\u{e9}/x.css"), "caf%C3%A9/x.css");
    }
}
