//! The local history: a SQLite file (`sitedrop.db` in the data folder) holding sites, accounts
//! (never their secrets), deployments and the digest cache.
//!
//! Write-ahead logging lets the app and the CLI use it at once. Migrations are numbered SQL
//! scripts; the schema version is SQLite's `user_version`. A deploy row is written when the
//! deploy starts and updated at every phase, so a crash leaves an honest row behind: when the
//! history is opened, rows still `running` whose deploy no longer holds its site lock (see
//! [`lock`]) become `interrupted`.

mod accounts;
mod deployments;
mod health;
pub mod lock;
mod migrations;
mod sites;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use accounts::Account;
pub use deployments::{DeployStatus, DeploymentRecord, NewDeployment, Timings, Trigger};
pub use sites::Site;

use crate::error::{Error, Result};

/// The database file's name inside the data folder.
pub const DB_FILE: &str = "sitedrop.db";

/// An open history database.
pub struct History {
    conn: Connection,
    data_dir: PathBuf,
}

impl History {
    /// Opens (creating if needed) the history in `data_dir`, brings its schema up to date and
    /// marks deploys that died with their process as interrupted.
    pub fn open(data_dir: &Path) -> Result<History> {
        std::fs::create_dir_all(data_dir).map_err(|e| Error::DataDir {
            path: data_dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path).map_err(|e| Error::DataDir {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode = wal_mode(&conn)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // A read-only or network folder can refuse WAL; the rollback journal still works.
            conn.pragma_update(None, "journal_mode", "DELETE")?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn).map_err(|e| match e {
            Error::Storage(reason) => Error::DataDir {
                path: path.clone(),
                reason,
            },
            Error::Database(e) => Error::DataDir {
                path: path.clone(),
                reason: e.to_string(),
            },
            other => other,
        })?;
        let history = History {
            conn,
            data_dir: data_dir.to_path_buf(),
        };
        history.mark_interrupted()?;
        Ok(history)
    }

    /// The folder holding the database, locks and local sites.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Direct access for the digest cache, which shares the file.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Runs `PRAGMA integrity_check`; `Ok` means the file is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(Error::Storage(format!(
                "the history database is damaged: {verdict}"
            )))
        }
    }
}

/// How long a statement waits for another process's lock on the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Switches the database to WAL and returns the journal mode it ended in. Switching a new
/// database takes an exclusive lock that SQLite does not wait for through the busy handler, so
/// a second Sitedrop opening the same new folder at that moment got "database is locked":
/// wait for it here, as long as for any other lock.
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Milliseconds since the Unix epoch, as stored in the database.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests;
