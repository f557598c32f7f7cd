//! The deployment zip, written file by file to a temporary file (`specs/amplify.md` §1.3
//! "Upload to the presigned URL", §4.2 pitfall 1).
//!
//! - The folder's *contents* sit at the zip's root (`index.html`, `css/site.css`), with `/`
//!   separators and no top-level folder: zipping the folder itself makes Amplify serve S3's
//!   `AccessDenied` page.
//! - Memory stays bounded whatever the site's size: each file is read in 256 KiB chunks and
//!   deflated straight into a buffered temporary file; only the zip's central directory (a
//!   few dozen bytes per file) is kept in memory until the end.
//! - Files whose format is already compressed (images, video, fonts, archives) are stored,
//!   not deflated: deflating them again costs time and saves nothing.
//! - Each file's MD5 (the digest the engine hashed it with) and size are checked while it is
//!   packed, so a file that changed since it was hashed is reported, not half-published.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use md5::Digest as _;
use tokio_util::sync::CancellationToken;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::error::{Error, Result};
use crate::provider::ManifestFile;

/// Extensions whose contents are already compressed.
const STORED: [&str; 20] = [
    "png", "jpg", "jpeg", "gif", "webp", "avif", "heic", "ico", "mp4", "webm", "mov", "m4v", "mp3",
    "m4a", "ogg", "woff", "woff2", "zip", "gz", "br",
];

const CHUNK: usize = 256 * 1024;

/// A finished zip on disk, deleted when dropped.
pub struct BuiltZip {
    pub path: tempfile::TempPath,
    pub len: u64,
}

/// Writes `files` into a new zip in `dir`. `on_read` is called with the file being packed
/// and how many of its bytes were just read, for progress.
pub fn build(
    files: &[ManifestFile],
    dir: &Path,
    cancel: &CancellationToken,
    mut on_read: impl FnMut(&ManifestFile, u64),
) -> Result<BuiltZip> {
    std::fs::create_dir_all(dir).map_err(|e| data_dir(dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix("amplify-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|e| data_dir(dir, e))?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1024 * 1024, tmp));
    let mut buf = vec![0u8; CHUNK];
    for file in files {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let ext = file.path.extension().to_ascii_lowercase();
        let method = if STORED.contains(&ext.as_str()) {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(file.size >= u64::from(u32::MAX))
            .unix_permissions(0o644);
        zip.start_file(file.path.as_str(), options)
            .map_err(|e| zip_error(dir, e))?;
        let mut input = std::fs::File::open(&file.abs).map_err(|e| Error::Unreadable {
            path: file.path.to_string(),
            reason: e.to_string(),
        })?;
        let mut md5 = md5::Md5::new();
        let mut size = 0u64;
        loop {
            let n = input.read(&mut buf).map_err(|e| Error::Unreadable {
                path: file.path.to_string(),
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
            zip.write_all(&buf[..n]).map_err(|e| data_dir(dir, e))?;
            size += n as u64;
            on_read(file, n as u64);
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
        }
        if size != file.size || hex::encode(md5.finalize()) != file.digest.as_str() {
            return Err(Error::FileChanged {
                path: file.path.to_string(),
            });
        }
    }
    let writer = zip.finish().map_err(|e| zip_error(dir, e))?;
    let tmp = writer
        .into_inner()
        .map_err(|e| data_dir(dir, e.into_error()))?;
    let len = tmp
        .as_file()
        .metadata()
        .map_err(|e| data_dir(dir, e))?
        .len();
    Ok(BuiltZip {
        path: tmp.into_temp_path(),
        len,
    })
}

/// Where zips are written: the data folder, not `/tmp` (often a small RAM disk).
pub fn temp_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tmp")
}

fn data_dir(dir: &Path, e: std::io::Error) -> Error {
    Error::DataDir {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    }
}

fn zip_error(dir: &Path, e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(e) => data_dir(dir, e),
        other => Error::DataDir {
            path: dir.to_path_buf(),
            reason: format!("could not write the zip: {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;
    use crate::relpath::RelPath;

    fn entry(root: &Path, rel: &str, body: &[u8]) -> ManifestFile {
        let abs = root.join(rel);
        std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
        std::fs::write(&abs, body).unwrap();
        ManifestFile {
            path: RelPath::new(rel),
            abs,
            size: body.len() as u64,
            digest: Digest::from_hex(hex::encode(md5::Md5::digest(body))),
        }
    }

    #[test]
    fn contents_sit_at_the_root_and_round_trip() {
        let site = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let files = vec![
            entry(site.path(), "index.html", b"<h1>hi</h1>"),
            entry(site.path(), "img/dot.png", b"\x89PNG"),
            entry(site.path(), "caf\u{e9}/a b.txt", b"unicode"),
            entry(site.path(), "big.bin", &big),
            entry(site.path(), "empty.txt", b""),
        ];
        let mut seen = 0;
        let zip = build(&files, out.path(), &CancellationToken::new(), |_, n| {
            seen += n
        })
        .unwrap();
        assert_eq!(seen, files.iter().map(|f| f.size).sum::<u64>());
        assert!(zip.len < big.len() as u64, "deflated");
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip.path).unwrap()).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "index.html",
                "img/dot.png",
                "caf\u{e9}/a b.txt",
                "big.bin",
                "empty.txt"
            ]
        );
        for f in &files {
            let mut e = archive.by_name(f.path.as_str()).unwrap();
            let mut got = Vec::new();
            e.read_to_end(&mut got).unwrap();
            assert_eq!(got, std::fs::read(&f.abs).unwrap(), "{}", f.path);
            let method = if f.path.as_str().ends_with(".png") {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            };
            assert_eq!(e.compression(), method, "{}", f.path);
        }
    }

    #[test]
    fn a_file_changed_since_hashing_is_named() {
        let site = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let f = entry(site.path(), "index.html", b"before");
        std::fs::write(&f.abs, b"after!").unwrap();
        let err = build(&[f], out.path(), &CancellationToken::new(), |_, _| {})
            .err()
            .unwrap();
        assert_eq!(err.kind(), "file_changed");
        assert!(err.to_string().contains("index.html"));
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "no zip left behind"
        );
    }
}
