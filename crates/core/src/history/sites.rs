//! Sites: a folder, where it goes, and what the platform calls it.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{now_ms, History};
use crate::error::Result;
use crate::platform::Platform;

/// A folder remembered with its platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: i64,
    pub folder: PathBuf,
    pub platform: Platform,
    /// The project / site / app name on the platform, once known.
    pub project: Option<String>,
    /// The platform's own id for it (Netlify site id, Amplify app id, …).
    pub remote_id: Option<String>,
    pub account_id: Option<i64>,
    /// The production address.
    pub url: Option<String>,
    pub watch: bool,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, folder, platform, project, remote_id, account_id, url, watch, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Site> {
    let platform: String = row.get(2)?;
    Ok(Site {
        id: row.get(0)?,
        folder: PathBuf::from(row.get::<_, String>(1)?),
        platform: platform
            .parse()
            .map_err(|e: crate::platform::UnknownPlatform| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    e.to_string().into(),
                )
            })?,
        project: row.get(3)?,
        remote_id: row.get(4)?,
        account_id: row.get(5)?,
        url: row.get(6)?,
        watch: row.get(7)?,
        created_at: row.get(8)?,
    })
}

impl History {
    /// The site for (folder, platform), created on first use.
    pub fn site_for(&self, folder: &Path, platform: Platform) -> Result<Site> {
        let folder_text = folder.to_string_lossy();
        self.conn.execute(
            "INSERT INTO sites (folder, platform, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (folder, platform) DO NOTHING",
            params![folder_text, platform.id(), now_ms()],
        )?;
        let site = self.conn.query_row(
            &format!("SELECT {COLUMNS} FROM sites WHERE folder = ?1 AND platform = ?2"),
            params![folder_text, platform.id()],
            from_row,
        )?;
        Ok(site)
    }

    pub fn site(&self, id: i64) -> Result<Option<Site>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM sites WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// Every site, most recently deployed first.
    pub fn sites(&self) -> Result<Vec<Site>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM sites s ORDER BY
               (SELECT MAX(started_at) FROM deployments d WHERE d.site_id = s.id) DESC NULLS LAST, id DESC"
        ))?;
        let sites = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(sites)
    }

    /// Records what the platform calls the site once a deploy has found or created it.
    pub fn set_site_project(
        &self,
        site_id: i64,
        project: &str,
        remote_id: Option<&str>,
        account_id: Option<i64>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE sites SET project = ?2, remote_id = COALESCE(?3, remote_id),
                              account_id = COALESCE(?4, account_id) WHERE id = ?1",
            params![site_id, project, remote_id, account_id],
        )?;
        Ok(())
    }

    pub fn set_site_url(&self, site_id: i64, url: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sites SET url = ?2 WHERE id = ?1",
            params![site_id, url],
        )?;
        Ok(())
    }

    pub fn set_site_watch(&self, site_id: i64, watch: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE sites SET watch = ?2 WHERE id = ?1",
            params![site_id, watch],
        )?;
        Ok(())
    }

    /// The fingerprint of what the site's last live deploy published.
    pub fn site_fingerprint(&self, site_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT fingerprint FROM sites WHERE id = ?1",
                [site_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    pub fn set_site_fingerprint(&self, site_id: i64, fingerprint: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sites SET fingerprint = ?2 WHERE id = ?1",
            params![site_id, fingerprint],
        )?;
        Ok(())
    }

    /// Forgets a site and its deploy history (nothing on the platform is touched).
    pub fn remove_site(&self, site_id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM sites WHERE id = ?1", [site_id])?;
        Ok(())
    }
}
