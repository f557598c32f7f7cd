//! What a deploy published, in a few files: the home page and up to three others (the same
//! picks as the deploy's own verification, [`crate::verify::sample`]), by SHA-256. Kept per
//! deployment so that a health check next week can tell whether the site still serves them,
//! without the folder (it may have changed, or be gone).

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::provider::Manifest;

/// Non-home-page files larger than this are left out of the health sample: a check every ten
/// minutes should cost the site a few small requests, not megabytes. (The home page is always
/// kept: whether `/` is what was published is the question.)
pub const MAX_CHECKED_SIZE: u64 = 256 * 1024;

/// One sampled file of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleFile {
    /// The file's path in the folder (`css/site.css`).
    pub path: String,
    /// Where the site serves it, relative to its root, percent-encoded; `""` is the home page.
    pub url_path: String,
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads and digests the sample of `manifest`. A file that cannot be read any more (it
/// changed or went after the deploy was verified) is left out rather than failing a deploy
/// that is already live.
pub async fn digest(manifest: &Manifest) -> Vec<SampleFile> {
    let mut out = Vec::new();
    for (url_path, file) in crate::verify::sample(manifest) {
        if !url_path.is_empty() && file.size > MAX_CHECKED_SIZE {
            continue;
        }
        let Ok(bytes) = tokio::fs::read(&file.abs).await else {
            continue;
        };
        out.push(SampleFile {
            path: file.path.to_string(),
            url_path,
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Digest, DigestKind};
    use crate::provider::ManifestFile;
    use crate::relpath::RelPath;

    #[tokio::test]
    async fn samples_the_home_page_and_small_files_by_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (name, body) in [
            ("index.html", b"<h1>hi</h1>".to_vec()),
            ("a.css", b"p{}".to_vec()),
            ("big.bin", vec![7u8; (MAX_CHECKED_SIZE + 1) as usize]),
        ] {
            let abs = dir.path().join(name);
            std::fs::write(&abs, &body).unwrap();
            files.push(ManifestFile {
                path: RelPath::new(name),
                abs,
                size: body.len() as u64,
                digest: Digest::from_hex("00"),
            });
        }
        let manifest = Manifest {
            root: dir.path().to_path_buf(),
            kind: DigestKind::Sha1,
            files,
            total_bytes: 0,
        };
        let sample = digest(&manifest).await;
        let picked: Vec<_> = sample
            .iter()
            .map(|s| (s.path.as_str(), s.url_path.as_str(), s.size))
            .collect();
        assert_eq!(picked, [("index.html", "", 11), ("a.css", "a.css", 3)]);
        assert_eq!(sample[1].sha256, sha256_hex(b"p{}"));
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
