//! The digest cache: an unchanged file is never read twice.
//!
//! A digest is reused when the file's path, size, modification time (ns) and inode all match
//! what they were when it was hashed — the same test git and rsync trust. Rows live in the
//! history database (`file_digests`), keyed by (absolute path, algorithm).
//!
//! A file modified twice within one timestamp tick keeps its mtime, so a digest taken just
//! after a write could be stale without anything looking different ("racy clean", as git
//! calls it). Digests of files modified in the last moments before hashing began are
//! therefore not stored; they are simply read again next time.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};
use tokio_util::sync::CancellationToken;

use super::{hash_files, Digest, DigestKind, HashOutcome};
use crate::error::Result;
use crate::progress::ProgressSink;
use crate::scan::FileEntry;

/// A stored digest and the file identity it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedDigest {
    pub size: u64,
    pub modified_ns: i64,
    pub inode: u64,
    pub digest: Digest,
}

impl CachedDigest {
    /// True when `file` looks exactly as it did when this digest was taken.
    pub fn matches(&self, file: &FileEntry) -> bool {
        self.size == file.size && self.modified_ns == file.modified_ns && self.inode == file.inode
    }
}

/// The cache key for a file.
pub fn path_key(abs: &Path) -> String {
    abs.to_string_lossy().into_owned()
}

/// Files modified this recently before hashing began are not cached (see the module docs).
/// Filesystems with whole-second timestamps (FAT, HFS+, some network mounts) need a wider
/// margin than ext4's or APFS's nanoseconds.
fn racy_window_ns(modified_ns: i64) -> i64 {
    if modified_ns % 1_000_000_000 == 0 {
        2_000_000_000
    } else {
        100_000_000
    }
}

/// Loads every cached digest of `kind` for files under `root`.
pub fn load(
    conn: &Connection,
    root: &Path,
    kind: DigestKind,
) -> Result<HashMap<String, CachedDigest>> {
    let (low, high) = prefix_range(root);
    let mut stmt = conn.prepare_cached(
        "SELECT path, size, modified_ns, inode, digest FROM file_digests
         WHERE path >= ?1 AND path < ?2 AND algorithm = ?3",
    )?;
    let rows = stmt.query_map(params![low, high, kind.id()], |row| {
        Ok((
            row.get::<_, String>(0)?,
            CachedDigest {
                size: row.get::<_, i64>(1)? as u64,
                modified_ns: row.get(2)?,
                inode: row.get::<_, i64>(3)? as u64,
                digest: Digest::from_hex(row.get::<_, String>(4)?),
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes the digests of `files` (parallel to `digests`), and forgets files under `root` that
/// are gone, in one transaction.
pub fn store(
    conn: &mut Connection,
    kind: DigestKind,
    files: &[FileEntry],
    digests: &[Digest],
    known: &HashMap<String, CachedDigest>,
    hashing_started: SystemTime,
) -> Result<()> {
    let started_ns = hashing_started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT OR REPLACE INTO file_digests (path, algorithm, size, modified_ns, inode, digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        // Files found in `known`: when that is all of `known`, nothing is gone and the set
        // of present paths is not needed.
        let mut seen = 0usize;
        for (file, digest) in files.iter().zip(digests) {
            let key = file.abs.to_string_lossy();
            let cached = known.get(key.as_ref());
            seen += usize::from(cached.is_some());
            let unchanged = cached.is_some_and(|c| c.matches(file) && &c.digest == digest);
            let racy = file.modified_ns > started_ns - racy_window_ns(file.modified_ns);
            if !unchanged && !racy {
                upsert.execute(params![
                    key,
                    kind.id(),
                    file.size as i64,
                    file.modified_ns,
                    file.inode as i64,
                    digest.as_str()
                ])?;
            } else if racy && cached.is_some() && !unchanged {
                tx.execute(
                    "DELETE FROM file_digests WHERE path = ?1 AND algorithm = ?2",
                    params![key, kind.id()],
                )?;
            }
        }
        if seen < known.len() {
            let present: HashSet<std::borrow::Cow<str>> =
                files.iter().map(|f| f.abs.to_string_lossy()).collect();
            let mut forget =
                tx.prepare_cached("DELETE FROM file_digests WHERE path = ?1 AND algorithm = ?2")?;
            for gone in known.keys().filter(|k| !present.contains(k.as_str())) {
                forget.execute(params![gone, kind.id()])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Hashes `files` through the cache: loads what is known, reads only what changed, stores the
/// new digests. Blocking: call it off the async runtime.
pub fn hash_with_cache(
    conn: &mut Connection,
    root: &Path,
    files: &[FileEntry],
    kind: DigestKind,
    progress: &ProgressSink,
    cancel: &CancellationToken,
) -> Result<HashOutcome> {
    let known = load(conn, root, kind)?;
    let started = SystemTime::now();
    let outcome = hash_files(files, kind, &known, progress, cancel)?;
    store(conn, kind, files, &outcome.digests, &known, started)?;
    Ok(outcome)
}

/// The key range holding every path strictly inside `root` (`root/` up to `root0`, since `0`
/// follows `/` in byte order).
fn prefix_range(root: &Path) -> (String, String) {
    let base = path_key(root);
    let base = base.trim_end_matches('/');
    (format!("{base}/"), format!("{base}0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::History;
    use crate::progress::no_progress;
    use crate::scan::{scan, ScanOptions};
    use std::time::Duration;

    fn old(path: &Path) {
        // Put the mtime safely in the past, outside the racy window.
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
    }

    fn scan_dir(dir: &Path) -> Vec<FileEntry> {
        scan(
            dir,
            &ScanOptions::default(),
            &no_progress(),
            &CancellationToken::new(),
        )
        .unwrap()
        .files
    }

    #[test]
    fn a_cache_hit_does_not_read_the_file() {
        let data = tempfile::tempdir().unwrap();
        let mut db = History::open(data.path()).unwrap();
        let site = tempfile::tempdir().unwrap();
        let page = site.path().join("index.html");
        std::fs::write(&page, "first").unwrap();
        old(&page);

        let files = scan_dir(site.path());
        let first = hash_with_cache(
            db.conn_mut(),
            site.path(),
            &files,
            DigestKind::Sha1,
            &no_progress(),
            &CancellationToken::new(),
        )
        .unwrap();
        assert_eq!((first.files_read, first.cache_hits), (1, 0));

        // Same length, same inode, mtime put back: the cache must answer without reading, so
        // it still returns the digest of "first", not of "other".
        let stamp = std::fs::metadata(&page).unwrap().modified().unwrap();
        std::fs::write(&page, "other").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&page)
            .unwrap()
            .set_modified(stamp)
            .unwrap();
        let files = scan_dir(site.path());
        let second = hash_with_cache(
            db.conn_mut(),
            site.path(),
            &files,
            DigestKind::Sha1,
            &no_progress(),
            &CancellationToken::new(),
        )
        .unwrap();
        assert_eq!((second.files_read, second.cache_hits), (0, 1));
        assert_eq!(second.digests, first.digests);
    }

    #[test]
    fn a_changed_file_is_read_again() {
        let data = tempfile::tempdir().unwrap();
        let mut db = History::open(data.path()).unwrap();
        let site = tempfile::tempdir().unwrap();
        for name in ["a.html", "b.html"] {
            std::fs::write(site.path().join(name), name).unwrap();
            old(&site.path().join(name));
        }
        let run = |db: &mut History| {
            let files = scan_dir(site.path());
            hash_with_cache(
                db.conn_mut(),
                site.path(),
                &files,
                DigestKind::CfBlake3,
                &no_progress(),
                &CancellationToken::new(),
            )
            .unwrap()
        };
        assert_eq!(run(&mut db).files_read, 2);
        std::fs::write(site.path().join("b.html"), "b, edited").unwrap();
        old(&site.path().join("b.html"));
        let again = run(&mut db);
        assert_eq!((again.files_read, again.cache_hits), (1, 1));
        assert_eq!(
            again.digests[1],
            super::super::hash_bytes(b"b, edited", DigestKind::CfBlake3, "html")
        );
    }

    #[test]
    fn just_modified_files_are_not_cached() {
        let data = tempfile::tempdir().unwrap();
        let mut db = History::open(data.path()).unwrap();
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("fresh.html"), "x").unwrap();
        for _ in 0..2 {
            let files = scan_dir(site.path());
            let out = hash_with_cache(
                db.conn_mut(),
                site.path(),
                &files,
                DigestKind::Sha1,
                &no_progress(),
                &CancellationToken::new(),
            )
            .unwrap();
            assert_eq!(
                out.files_read, 1,
                "a file written just now must be read every time"
            );
        }
    }

    #[test]
    fn deleted_files_are_forgotten() {
        let data = tempfile::tempdir().unwrap();
        let mut db = History::open(data.path()).unwrap();
        let site = tempfile::tempdir().unwrap();
        for name in ["a.html", "b.html"] {
            std::fs::write(site.path().join(name), name).unwrap();
            old(&site.path().join(name));
        }
        let files = scan_dir(site.path());
        hash_with_cache(
            db.conn_mut(),
            site.path(),
            &files,
            DigestKind::Sha1,
            &no_progress(),
            &CancellationToken::new(),
        )
        .unwrap();
        std::fs::remove_file(site.path().join("a.html")).unwrap();
        let files = scan_dir(site.path());
        hash_with_cache(
            db.conn_mut(),
            site.path(),
            &files,
            DigestKind::Sha1,
            &no_progress(),
            &CancellationToken::new(),
        )
        .unwrap();
        assert_eq!(
            load(db.conn_mut(), site.path(), DigestKind::Sha1)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn prefix_range_excludes_sibling_folders() {
        let (low, high) = prefix_range(Path::new("/a/site"));
        assert!("/a/site/x" >= low.as_str() && "/a/site/x" < high.as_str());
        assert!(!("/a/site-2/x" >= low.as_str() && "/a/site-2/x" < high.as_str()));
    }
}
