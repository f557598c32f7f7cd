//! One deploy per site at a time, across processes, and proof of life for running rows.
//!
//! A deploy holds an exclusive advisory lock on `locks/site-<id>.lock` in the data folder for
//! its whole run. The operating system releases the lock when the process dies, however it
//! dies (even SIGKILL), so "the row says running but nobody holds the lock" reliably means the
//! deploy was interrupted.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held for the duration of one site's deploy; dropping it releases the lock.
#[derive(Debug)]
pub struct SiteLock {
    _file: File,
}

fn lock_path(data_dir: &Path, site_id: i64) -> PathBuf {
    data_dir.join("locks").join(format!("site-{site_id}.lock"))
}

fn open(data_dir: &Path, site_id: i64) -> Result<File> {
    let path = lock_path(data_dir, site_id);
    let dir = data_dir.join("locks");
    std::fs::create_dir_all(&dir).map_err(|e| Error::DataDir {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::DataDir {
            path,
            reason: e.to_string(),
        })
}

impl SiteLock {
    /// Takes the site's lock, or `Ok(None)` when another deploy holds it.
    pub fn try_acquire(data_dir: &Path, site_id: i64) -> Result<Option<SiteLock>> {
        let file = open(data_dir, site_id)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SiteLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::DataDir {
                path: lock_path(data_dir, site_id),
                reason: e.to_string(),
            }),
        }
    }
}

/// True when some process (this one included) is deploying the site right now.
pub fn is_held(data_dir: &Path, site_id: i64) -> Result<bool> {
    Ok(SiteLock::try_acquire(data_dir, site_id)?.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_deploy_of_the_same_site_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let first = SiteLock::try_acquire(dir.path(), 7).unwrap().expect("free");
        assert!(SiteLock::try_acquire(dir.path(), 7).unwrap().is_none());
        assert!(is_held(dir.path(), 7).unwrap());
        assert!(
            SiteLock::try_acquire(dir.path(), 8).unwrap().is_some(),
            "other sites are independent"
        );
        drop(first);
        assert!(!is_held(dir.path(), 7).unwrap());
    }
}
