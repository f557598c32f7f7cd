//! Deployments: one row per deploy, written at start and kept truthful at every phase.

use std::path::PathBuf;
use std::str::FromStr;

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{lock, now_ms, History};
use crate::error::{Error, Result};
use crate::platform::{Environment, Platform};
use crate::progress::Phase;

/// Where a deploy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    Running,
    Live,
    Failed,
    Cancelled,
    /// The process died mid-deploy (crash, power loss, SIGKILL).
    Interrupted,
    /// The folder was exactly what the live deploy already serves, on a platform where
    /// publishing it again would send every byte again (Amplify): no new deployment was made.
    Unchanged,
}

impl DeployStatus {
    pub fn id(self) -> &'static str {
        match self {
            DeployStatus::Running => "running",
            DeployStatus::Live => "live",
            DeployStatus::Failed => "failed",
            DeployStatus::Cancelled => "cancelled",
            DeployStatus::Interrupted => "interrupted",
            DeployStatus::Unchanged => "unchanged",
        }
    }
}

impl FromStr for DeployStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "running" => DeployStatus::Running,
            "live" => DeployStatus::Live,
            "failed" => DeployStatus::Failed,
            "cancelled" => DeployStatus::Cancelled,
            "interrupted" => DeployStatus::Interrupted,
            "unchanged" => DeployStatus::Unchanged,
            other => return Err(Error::Storage(format!("unknown deploy status {other}"))),
        })
    }
}

/// What started a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A person clicked Deploy or ran `sitedrop deploy`.
    Manual,
    /// The folder changed while watched.
    Watch,
    /// A rollback to an earlier deploy.
    Rollback,
}

impl Trigger {
    pub fn id(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Watch => "watch",
            Trigger::Rollback => "rollback",
        }
    }
}

/// How long each part of a deploy took, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Timings {
    pub scan_ms: Option<i64>,
    pub hash_ms: Option<i64>,
    pub upload_ms: Option<i64>,
    pub publish_ms: Option<i64>,
    pub verify_ms: Option<i64>,
}

/// A deploy as the history remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentRecord {
    pub id: i64,
    pub site_id: i64,
    pub folder: PathBuf,
    pub platform: Platform,
    pub project: Option<String>,
    pub status: DeployStatus,
    pub phase: String,
    pub trigger: String,
    pub environment: String,
    pub message: Option<String>,
    /// The platform's id for this deployment (used for rollback).
    pub remote_id: Option<String>,
    pub url: Option<String>,
    pub files_total: i64,
    pub files_uploaded: i64,
    pub bytes_total: i64,
    pub bytes_uploaded: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub timings: Timings,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub rollback_of: Option<i64>,
    /// What the deploy published, by content ([`crate::provider::Manifest::content_digest`]).
    pub content_digest: Option<String>,
}

/// What is known when a deploy starts.
#[derive(Debug, Clone)]
pub struct NewDeployment<'a> {
    pub site_id: i64,
    pub trigger: Trigger,
    pub environment: Environment,
    pub message: Option<&'a str>,
    pub rollback_of: Option<i64>,
}

const COLUMNS: &str =
    "d.id, d.site_id, s.folder, s.platform, s.project, d.status, d.phase, d.trigger,
    d.environment, d.message, d.remote_id, d.url, d.files_total, d.files_uploaded, d.bytes_total,
    d.bytes_uploaded, d.started_at, d.finished_at, d.scan_ms, d.hash_ms, d.upload_ms,
    d.publish_ms, d.verify_ms, d.error_kind, d.error_message, d.rollback_of, d.content_digest";

fn from_row(row: &Row<'_>) -> rusqlite::Result<DeploymentRecord> {
    let bad = |i, e: Error| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    };
    let started_at: i64 = row.get(16)?;
    let finished_at: Option<i64> = row.get(17)?;
    Ok(DeploymentRecord {
        id: row.get(0)?,
        site_id: row.get(1)?,
        folder: PathBuf::from(row.get::<_, String>(2)?),
        platform: row.get::<_, String>(3)?.parse().map_err(|e| bad(3, e))?,
        project: row.get(4)?,
        status: row.get::<_, String>(5)?.parse().map_err(|e| bad(5, e))?,
        phase: row.get(6)?,
        trigger: row.get(7)?,
        environment: row.get(8)?,
        message: row.get(9)?,
        remote_id: row.get(10)?,
        url: row.get(11)?,
        files_total: row.get(12)?,
        files_uploaded: row.get(13)?,
        bytes_total: row.get(14)?,
        bytes_uploaded: row.get(15)?,
        started_at,
        finished_at,
        duration_ms: finished_at.map(|f| f - started_at),
        timings: Timings {
            scan_ms: row.get(18)?,
            hash_ms: row.get(19)?,
            upload_ms: row.get(20)?,
            publish_ms: row.get(21)?,
            verify_ms: row.get(22)?,
        },
        error_kind: row.get(23)?,
        error_message: row.get(24)?,
        rollback_of: row.get(25)?,
        content_digest: row.get(26)?,
    })
}

impl History {
    /// Writes the row for a deploy that is starting; returns its id.
    pub fn start_deployment(&self, new: &NewDeployment<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO deployments (site_id, status, phase, trigger, environment, message, started_at, rollback_of)
             VALUES (?1, 'running', 'scan', ?2, ?3, ?4, ?5, ?6)",
            params![new.site_id, new.trigger.id(), new.environment.id(), new.message, now_ms(), new.rollback_of],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_phase(&self, id: i64, phase: Phase) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET phase = ?2 WHERE id = ?1",
            params![id, phase.id()],
        )?;
        Ok(())
    }

    /// Records the size of the deploy once the folder is scanned.
    pub fn set_totals(&self, id: i64, files: u64, bytes: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET files_total = ?2, bytes_total = ?3 WHERE id = ?1",
            params![id, files as i64, bytes as i64],
        )?;
        Ok(())
    }

    /// Records how much has been uploaded so far.
    pub fn set_uploaded(&self, id: i64, files: u64, bytes: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET files_uploaded = ?2, bytes_uploaded = ?3 WHERE id = ?1",
            params![id, files as i64, bytes as i64],
        )?;
        Ok(())
    }

    /// Records the platform's id and address for the deployment as soon as they are known.
    pub fn set_remote(&self, id: i64, remote_id: Option<&str>, url: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET remote_id = COALESCE(?2, remote_id), url = COALESCE(?3, url) WHERE id = ?1",
            params![id, remote_id, url],
        )?;
        Ok(())
    }

    pub fn set_timings(&self, id: i64, t: &Timings) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET scan_ms = ?2, hash_ms = ?3, upload_ms = ?4, publish_ms = ?5, verify_ms = ?6
             WHERE id = ?1",
            params![id, t.scan_ms, t.hash_ms, t.upload_ms, t.publish_ms, t.verify_ms],
        )?;
        Ok(())
    }

    /// Marks the deploy live.
    pub fn finish_live(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET status = 'live', phase = 'done', finished_at = ?2,
                    error_kind = NULL, error_message = NULL WHERE id = ?1",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    /// Marks the deploy failed or cancelled, with the error a person saw.
    pub fn finish_failed(&self, id: i64, error: &Error) -> Result<()> {
        let status = if matches!(
            error,
            Error::Cancelled | Error::CancelledWhilePublishing { .. }
        ) {
            DeployStatus::Cancelled
        } else {
            DeployStatus::Failed
        };
        self.conn.execute(
            "UPDATE deployments SET status = ?2, finished_at = ?3, error_kind = ?4, error_message = ?5 WHERE id = ?1",
            params![id, status.id(), now_ms(), error.kind(), error.to_string()],
        )?;
        Ok(())
    }

    pub fn deployment(&self, id: i64) -> Result<Option<DeploymentRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM deployments d JOIN sites s ON s.id = d.site_id WHERE d.id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// The newest deploys first, across all sites or for one.
    pub fn deployments(&self, site_id: Option<i64>, limit: usize) -> Result<Vec<DeploymentRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM deployments d JOIN sites s ON s.id = d.site_id
             WHERE ?1 IS NULL OR d.site_id = ?1 ORDER BY d.started_at DESC, d.id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![site_id, limit as i64], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records what a deploy publishes, by content.
    pub fn set_content_digest(&self, id: i64, digest: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET content_digest = ?2 WHERE id = ?1",
            params![id, digest],
        )?;
        Ok(())
    }

    /// Ends a deploy that made no new deployment because the live one already serves the
    /// folder: the row points at that deployment.
    pub fn finish_unchanged(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE deployments SET status = 'unchanged', phase = 'done', finished_at = ?2
             WHERE id = ?1",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    /// The live deploy a site serves now in `environment`, if the history knows it.
    pub fn current_live(
        &self,
        site_id: i64,
        environment: Environment,
    ) -> Result<Option<DeploymentRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM deployments d JOIN sites s ON s.id = d.site_id
                     WHERE d.site_id = ?1 AND d.status = 'live' AND d.environment = ?2
                     ORDER BY d.finished_at DESC, d.id DESC LIMIT 1"
                ),
                params![site_id, environment.id()],
                from_row,
            )
            .optional()?)
    }

    /// The live production deploy a site serves now, if the history knows it.
    pub fn current_production(&self, site_id: i64) -> Result<Option<DeploymentRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM deployments d JOIN sites s ON s.id = d.site_id
                     WHERE d.site_id = ?1 AND d.status = 'live' AND d.environment = 'production'
                     ORDER BY d.finished_at DESC, d.id DESC LIMIT 1"
                ),
                [site_id],
                from_row,
            )
            .optional()?)
    }

    /// Rows left `running` by a process that is gone become `interrupted` (see [`lock`]).
    pub(super) fn mark_interrupted(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, site_id FROM deployments WHERE status = 'running'")?;
        let running: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, site_id) in running {
            if lock::is_held(&self.data_dir, site_id)? {
                continue;
            }
            self.conn.execute(
                "UPDATE deployments SET status = 'interrupted', finished_at = COALESCE(finished_at, ?2),
                        error_kind = 'interrupted',
                        error_message = 'Sitedrop stopped before this deploy finished (it was closed or crashed). Deploy again: files already uploaded are not sent twice.'
                 WHERE id = ?1 AND status = 'running'",
                params![id, now_ms()],
            )?;
        }
        Ok(())
    }
}
