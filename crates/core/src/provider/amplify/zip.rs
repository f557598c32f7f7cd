//! The deployment zip, written file by file to a temporary file (`specs/amplify.md` §1.3
//! "Upload to the presigned URL", §4.2 pitfall 1).
//!
//! - The folder's *contents* sit at the zip's root (`index.html`, `css/site.css`), with `/`
//!   separators and no top-level folder: zipping the folder itself makes Amplify serve S3's
//!   `AccessDenied` page.
//! - Memory stays bounded whatever the site's size: large files are read in 256 KiB chunks
//!   and written straight into a buffered temporary file; small compressible ones are
//!   deflated in parallel, a few MiB at a time, into small zips in memory that are copied into
//!   the temporary file as they are (no second deflate). Only the zip's central directory (a
//!   few dozen bytes per file) is kept until the end.
//! - Files whose format is already compressed (images, video, fonts, archives) are stored,
//!   not deflated: deflating them again costs time and saves nothing.
//! - Each file's digest (the one the engine hashed it with) and size are checked while it is
//!   packed, so a file that changed since it was hashed is reported, not half-published.

use std::io::{BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tokio_util::sync::CancellationToken;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::error::{Error, Result};
use crate::hash::{DigestKind, Hasher};
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

/// Small compressible files are deflated in groups of at most this many raw bytes (or
/// [`GROUP_FILES`] files), several groups at once — one per core — each into a small zip in
/// memory that is then copied, without inflating it again, into the deployment zip.
const GROUP_BYTES: u64 = 4 * 1024 * 1024;
const GROUP_FILES: usize = 512;
/// Files above this size, and files stored as they are, are streamed straight into the zip.
const DIRECT_ABOVE: u64 = 1024 * 1024;

/// What goes into the zip next, in the order of `files`.
enum Piece<'a> {
    Direct(&'a ManifestFile),
    Group(Vec<&'a ManifestFile>),
}

fn stored(file: &ManifestFile) -> bool {
    STORED.contains(&file.path.extension().to_ascii_lowercase().as_str())
}

/// Splits `files` into pieces, keeping their order.
fn plan(files: &[ManifestFile]) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut group: Vec<&ManifestFile> = Vec::new();
    let mut group_bytes = 0u64;
    for file in files {
        if file.size > DIRECT_ABOVE || stored(file) {
            if !group.is_empty() {
                pieces.push(Piece::Group(std::mem::take(&mut group)));
                group_bytes = 0;
            }
            pieces.push(Piece::Direct(file));
            continue;
        }
        if !group.is_empty()
            && (group_bytes + file.size > GROUP_BYTES || group.len() >= GROUP_FILES)
        {
            pieces.push(Piece::Group(std::mem::take(&mut group)));
            group_bytes = 0;
        }
        group_bytes += file.size;
        group.push(file);
    }
    if !group.is_empty() {
        pieces.push(Piece::Group(group));
    }
    pieces
}

/// Writes `files` (fingerprinted with `kind`) into a new zip in `dir`. `on_read` is called
/// (from several threads) with the file being packed and how many of its bytes were just
/// read, for progress.
pub fn build(
    files: &[ManifestFile],
    kind: DigestKind,
    dir: &Path,
    cancel: &CancellationToken,
    on_read: impl Fn(&ManifestFile, u64) + Sync,
) -> Result<BuiltZip> {
    std::fs::create_dir_all(dir).map_err(|e| data_dir(dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix("amplify-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|e| data_dir(dir, e))?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1024 * 1024, tmp));
    let mut buf = vec![0u8; CHUNK];
    let pieces = plan(files);
    // Groups deflated at once: enough to keep every core busy, few enough that the small
    // zips waiting in memory stay within a few times GROUP_BYTES.
    let window = rayon::current_num_threads().max(1) * 2;
    let mut next = 0;
    while next < pieces.len() {
        if let Piece::Direct(file) = &pieces[next] {
            add(&mut zip, file, kind, &mut buf, cancel, &on_read).map_err(|e| e.into_error(dir))?;
            next += 1;
            continue;
        }
        let end = (next..pieces.len())
            .take(window)
            .take_while(|&i| matches!(pieces[i], Piece::Group(_)))
            .last()
            .map_or(next + 1, |i| i + 1);
        let packed: Vec<Result<Vec<u8>>> = pieces[next..end]
            .par_iter()
            .map(|piece| match piece {
                Piece::Group(group) => {
                    pack(group, kind, cancel, &on_read).map_err(|e| e.into_error(dir))
                }
                Piece::Direct(_) => Ok(Vec::new()),
            })
            .collect();
        for small in packed {
            let small = zip::ZipArchive::new(Cursor::new(small?)).map_err(|e| zip_error(dir, e))?;
            zip.merge_archive(small).map_err(|e| zip_error(dir, e))?;
        }
        next = end;
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

/// Deflates a group of small files into a zip of their own, in memory.
fn pack(
    group: &[&ManifestFile],
    kind: DigestKind,
    cancel: &CancellationToken,
    on_read: &(impl Fn(&ManifestFile, u64) + Sync),
) -> std::result::Result<Vec<u8>, AddError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut buf = vec![0u8; CHUNK];
    for file in group {
        add(&mut zip, file, kind, &mut buf, cancel, on_read)?;
    }
    Ok(zip.finish().map_err(AddError::Zip)?.into_inner())
}

/// Why a file could not be added; which data folder to blame is decided by the caller.
enum AddError {
    Site(Error),
    Zip(zip::result::ZipError),
    Write(std::io::Error),
}

impl AddError {
    fn into_error(self, dir: &Path) -> Error {
        match self {
            AddError::Site(e) => e,
            AddError::Zip(e) => zip_error(dir, e),
            AddError::Write(e) => data_dir(dir, e),
        }
    }
}

/// Adds one file, checking that it still has the size and digest it was hashed with.
fn add<W: Write + std::io::Seek>(
    zip: &mut ZipWriter<W>,
    file: &ManifestFile,
    kind: DigestKind,
    buf: &mut [u8],
    cancel: &CancellationToken,
    on_read: &(impl Fn(&ManifestFile, u64) + Sync),
) -> std::result::Result<(), AddError> {
    if cancel.is_cancelled() {
        return Err(AddError::Site(Error::Cancelled));
    }
    let method = if stored(file) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(file.size >= u64::from(u32::MAX))
        .unix_permissions(0o644);
    zip.start_file(file.path.as_str(), options)
        .map_err(AddError::Zip)?;
    let unreadable = |e: std::io::Error| {
        AddError::Site(Error::Unreadable {
            path: file.path.to_string(),
            reason: e.to_string(),
        })
    };
    let mut input = std::fs::File::open(&file.abs).map_err(unreadable)?;
    let mut digest = Hasher::new(kind);
    let mut size = 0u64;
    loop {
        let n = input.read(buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
        zip.write_all(&buf[..n]).map_err(AddError::Write)?;
        size += n as u64;
        on_read(file, n as u64);
        if cancel.is_cancelled() {
            return Err(AddError::Site(Error::Cancelled));
        }
    }
    if size != file.size || digest.finish(file.path.extension()) != file.digest {
        return Err(AddError::Site(Error::FileChanged {
            path: file.path.to_string(),
        }));
    }
    Ok(())
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
    use crate::relpath::RelPath;

    fn entry(root: &Path, rel: &str, body: &[u8]) -> ManifestFile {
        let abs = root.join(rel);
        std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
        std::fs::write(&abs, body).unwrap();
        ManifestFile {
            path: RelPath::new(rel),
            abs,
            size: body.len() as u64,
            digest: crate::hash::hash_bytes(body, DigestKind::Sha256, ""),
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
        let seen = std::sync::atomic::AtomicU64::new(0);
        let zip = build(
            &files,
            DigestKind::Sha256,
            out.path(),
            &CancellationToken::new(),
            |_, n| {
                seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .unwrap();
        assert_eq!(seen.into_inner(), files.iter().map(|f| f.size).sum::<u64>());
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
    fn many_small_files_keep_their_order_across_parallel_groups() {
        let site = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let page = "x".repeat(20_000);
        let files: Vec<ManifestFile> = (0..700)
            .map(|i| {
                let ext = if i % 7 == 0 { "png" } else { "html" };
                entry(
                    site.path(),
                    &format!("p/{i:04}.{ext}"),
                    format!("{i}{page}").as_bytes(),
                )
            })
            .collect();
        let pieces = plan(&files);
        assert!(
            pieces
                .iter()
                .filter(|p| matches!(p, Piece::Group(_)))
                .count()
                > 2,
            "several groups"
        );
        let zip = build(
            &files,
            DigestKind::Sha256,
            out.path(),
            &CancellationToken::new(),
            |_, _| {},
        )
        .unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip.path).unwrap()).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().to_string())
            .collect();
        let want: Vec<String> = files.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(names, want);
        for f in files.iter().step_by(97) {
            let mut got = Vec::new();
            archive
                .by_name(f.path.as_str())
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            assert_eq!(got, std::fs::read(&f.abs).unwrap());
        }
    }

    #[test]
    fn a_file_changed_since_hashing_is_named() {
        let site = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let f = entry(site.path(), "index.html", b"before");
        std::fs::write(&f.abs, b"after!").unwrap();
        let err = build(
            &[f],
            DigestKind::Sha256,
            out.path(),
            &CancellationToken::new(),
            |_, _| {},
        )
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
