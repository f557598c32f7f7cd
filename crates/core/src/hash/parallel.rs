//! Hashing many files at once, on every core, skipping what the cache already knows.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rayon::prelude::*;
use tokio_util::sync::CancellationToken;

use super::cache::{path_key, CachedDigest};
use super::{hash_reader, Digest, DigestKind};
use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressSink, Throttle};
use crate::scan::FileEntry;

/// The digests of a file set, in the same order, and what it cost to get them.
#[derive(Debug, Clone, Default)]
pub struct HashOutcome {
    pub digests: Vec<Digest>,
    /// Files that had to be read (cache misses).
    pub files_read: u64,
    pub bytes_read: u64,
    pub cache_hits: u64,
}

/// Hashes `files`, using `known` digests for files whose size, mtime and inode are unchanged.
/// Blocking and parallel (rayon's pool): call it off the async runtime.
pub fn hash_files(
    files: &[FileEntry],
    kind: DigestKind,
    known: &HashMap<String, CachedDigest>,
    progress: &ProgressSink,
    cancel: &CancellationToken,
) -> Result<HashOutcome> {
    let cached = |f: &FileEntry| {
        // A UTF-8 path is its own key; only others need the lossy conversion's allocation.
        let hit = match f.abs.to_str() {
            Some(key) => known.get(key),
            None => known.get(&path_key(&f.abs)),
        };
        hit.filter(|c| c.matches(f)).map(|c| c.digest.clone())
    };
    let mut digests: Vec<Option<Digest>> = files.iter().map(cached).collect();
    let to_read: Vec<usize> = (0..files.len()).filter(|&i| digests[i].is_none()).collect();
    let files_total = to_read.len() as u64;
    let bytes_total: u64 = to_read.iter().map(|&i| files[i].size).sum();

    let files_done = AtomicU64::new(0);
    let bytes_done = AtomicU64::new(0);
    let throttle = Throttle::new(Duration::from_millis(50));
    let report = |force: bool| {
        if force || throttle.ready() {
            progress(Progress::Hashing {
                files_done: files_done.load(Ordering::Relaxed),
                files_total,
                bytes_done: bytes_done.load(Ordering::Relaxed),
                bytes_total,
            });
        }
    };
    report(true);

    let fresh: Vec<(usize, Digest)> = to_read
        .par_iter()
        .map(|&i| {
            let file = &files[i];
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let digest = hash_one(file, kind, |n| {
                bytes_done.fetch_add(n as u64, Ordering::Relaxed);
                report(false);
                if cancel.is_cancelled() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
            files_done.fetch_add(1, Ordering::Relaxed);
            report(false);
            Ok((i, digest))
        })
        .collect::<Result<_>>()?;
    report(true);

    for (i, digest) in fresh {
        digests[i] = Some(digest);
    }
    let digests: Vec<Digest> = digests.into_iter().flatten().collect();
    debug_assert_eq!(digests.len(), files.len());
    Ok(HashOutcome {
        digests,
        files_read: files_total,
        bytes_read: bytes_done.load(Ordering::Relaxed),
        cache_hits: files.len() as u64 - files_total,
    })
}

fn hash_one(
    file: &FileEntry,
    kind: DigestKind,
    on_chunk: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<Digest> {
    let unreadable = |e: std::io::Error| Error::Unreadable {
        path: file.path.to_string(),
        reason: match e.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::NotFound => "it was deleted during the deploy".to_string(),
            _ => e.to_string(),
        },
    };
    let reader = std::fs::File::open(&file.abs).map_err(unreadable)?;
    match hash_reader(reader, kind, file.path.extension(), on_chunk) {
        Ok(d) => Ok(d),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(Error::Cancelled),
        Err(e) => Err(unreadable(e)),
    }
}
