//! Numbered schema migrations. Append only: a released migration is never edited.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// Migration N (1-based) brings `user_version` from N-1 to N.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE accounts (
        id            INTEGER PRIMARY KEY,
        platform      TEXT NOT NULL,
        label         TEXT NOT NULL,           -- what the UI shows: account name or email
        account_ref   TEXT,                    -- Cloudflare account id, Vercel team, AWS region
        secret_key    TEXT NOT NULL UNIQUE,    -- the keychain entry's name, never the secret
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER
    );
    CREATE TABLE sites (
        id            INTEGER PRIMARY KEY,
        folder        TEXT NOT NULL,
        platform      TEXT NOT NULL,
        project       TEXT,                    -- name on the platform
        remote_id     TEXT,                    -- the platform's id for it
        account_id    INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        url           TEXT,                    -- production address
        watch         INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        UNIQUE (folder, platform)
    );
    CREATE TABLE deployments (
        id              INTEGER PRIMARY KEY,
        site_id         INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        status          TEXT NOT NULL
                        CHECK (status IN ('running', 'live', 'failed', 'cancelled', 'interrupted')),
        phase           TEXT NOT NULL,
        trigger         TEXT NOT NULL,
        environment     TEXT NOT NULL,
        message         TEXT,
        remote_id       TEXT,
        url             TEXT,
        files_total     INTEGER NOT NULL DEFAULT 0,
        files_uploaded  INTEGER NOT NULL DEFAULT 0,
        bytes_total     INTEGER NOT NULL DEFAULT 0,
        bytes_uploaded  INTEGER NOT NULL DEFAULT 0,
        started_at      INTEGER NOT NULL,
        finished_at     INTEGER,
        scan_ms         INTEGER,
        hash_ms         INTEGER,
        upload_ms       INTEGER,
        publish_ms      INTEGER,
        verify_ms       INTEGER,
        error_kind      TEXT,
        error_message   TEXT,
        rollback_of     INTEGER REFERENCES deployments(id) ON DELETE SET NULL
    );
    CREATE INDEX deployments_by_site ON deployments (site_id, started_at DESC);
    CREATE INDEX deployments_running ON deployments (status) WHERE status = 'running';
    CREATE TABLE file_digests (
        path          TEXT NOT NULL,
        algorithm     TEXT NOT NULL,
        size          INTEGER NOT NULL,
        modified_ns   INTEGER NOT NULL,
        inode         INTEGER NOT NULL,
        digest        TEXT NOT NULL,
        PRIMARY KEY (path, algorithm)
    ) WITHOUT ROWID;
    ",
    // 2: what the last live deploy published, so watching can tell a real change.
    "ALTER TABLE sites ADD COLUMN fingerprint TEXT;",
    // 3: what each deploy published, by content (`Manifest::content_digest`), so publishing an
    // unchanged folder again can be recognised from the digests; and the status `unchanged`
    // (no new deployment was made). SQLite cannot change a CHECK constraint in place, so the
    // table is rebuilt. The new table's self-reference names the new table, so dropping the
    // old one does not null the copied `rollback_of` links; the rename then rewrites it.
    "
    CREATE TABLE deployments_new (
        id              INTEGER PRIMARY KEY,
        site_id         INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        status          TEXT NOT NULL
                        CHECK (status IN ('running', 'live', 'failed', 'cancelled', 'interrupted',
                                          'unchanged')),
        phase           TEXT NOT NULL,
        trigger         TEXT NOT NULL,
        environment     TEXT NOT NULL,
        message         TEXT,
        remote_id       TEXT,
        url             TEXT,
        files_total     INTEGER NOT NULL DEFAULT 0,
        files_uploaded  INTEGER NOT NULL DEFAULT 0,
        bytes_total     INTEGER NOT NULL DEFAULT 0,
        bytes_uploaded  INTEGER NOT NULL DEFAULT 0,
        started_at      INTEGER NOT NULL,
        finished_at     INTEGER,
        scan_ms         INTEGER,
        hash_ms         INTEGER,
        upload_ms       INTEGER,
        publish_ms      INTEGER,
        verify_ms       INTEGER,
        error_kind      TEXT,
        error_message   TEXT,
        rollback_of     INTEGER REFERENCES deployments_new(id) ON DELETE SET NULL,
        content_digest  TEXT
    );
    INSERT INTO deployments_new (id, site_id, status, phase, trigger, environment, message,
        remote_id, url, files_total, files_uploaded, bytes_total, bytes_uploaded, started_at,
        finished_at, scan_ms, hash_ms, upload_ms, publish_ms, verify_ms, error_kind,
        error_message, rollback_of)
    SELECT id, site_id, status, phase, trigger, environment, message,
        remote_id, url, files_total, files_uploaded, bytes_total, bytes_uploaded, started_at,
        finished_at, scan_ms, hash_ms, upload_ms, publish_ms, verify_ms, error_kind,
        error_message, rollback_of
    FROM deployments;
    DROP TABLE deployments;
    ALTER TABLE deployments_new RENAME TO deployments;
    CREATE INDEX deployments_by_site ON deployments (site_id, started_at DESC);
    CREATE INDEX deployments_running ON deployments (status) WHERE status = 'running';
    ",
];

/// Applies every migration the database has not seen, each in its own transaction.
///
/// Several Sitedrops may open a new data folder at once (the app and the CLI, two CI jobs):
/// each migration takes the write lock first (`BEGIN IMMEDIATE`) and reads the version again
/// under it, so a migration another process has just applied is skipped, not repeated.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version = |conn: &Connection| -> Result<usize> {
        let current = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if current > MIGRATIONS.len() {
            return Err(Error::Storage(format!(
                "the history was written by a newer Sitedrop (schema {current}, this one knows {}); update Sitedrop",
                MIGRATIONS.len()
            )));
        }
        Ok(current)
    };
    let current = version(conn)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version(&tx)? > index {
            continue; // applied by another process meanwhile; the transaction rolls back
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema version this build writes.
#[cfg(test)]
pub fn latest() -> usize {
    MIGRATIONS.len()
}

/// Brings a new database to schema `version` only, as an older Sitedrop left it.
#[cfg(test)]
pub fn migrate_to(conn: &mut Connection, version: usize) -> Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().take(version) {
        conn.execute_batch(sql)?;
        conn.pragma_update(None, "user_version", (index + 1) as i64)?;
    }
    Ok(())
}
