//! Health checks in the history: each deploy's sample, each check, and each site's switch and
//! notification state (migration 4; the logic is in [`crate::health`]).

use rusqlite::{params, OptionalExtension, Row};

use super::History;
use crate::error::{Error, Result};
use crate::health::{Alerts, DownReason, HealthCheck, HealthState, SampleFile};

/// Checks older than this are deleted as new ones come: the charts look back 30 days, and a
/// check every ten minutes would otherwise grow the file by ~50 000 rows a year per site.
const KEEP_MS: i64 = 90 * 24 * 3600 * 1000;

const CHECK_COLUMNS: &str = "id, site_id, deployment_id, checked_at, url, state, reason,
    http_status, response_ms, cert_expires_at, matches_deploy, detail";

fn check_from_row(row: &Row<'_>) -> rusqlite::Result<HealthCheck> {
    let bad = |i, e: Error| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    };
    let reason: Option<String> = row.get(6)?;
    Ok(HealthCheck {
        id: row.get(0)?,
        site_id: row.get(1)?,
        deployment_id: row.get(2)?,
        checked_at: row.get(3)?,
        url: row.get(4)?,
        state: row.get::<_, String>(5)?.parse().map_err(|e| bad(5, e))?,
        reason: reason
            .map(|r| r.parse::<DownReason>())
            .transpose()
            .map_err(|e| bad(6, e))?,
        http_status: row.get(7)?,
        response_ms: row.get::<_, Option<i64>>(8)?.map(|ms| ms.max(0) as u64),
        cert_expires_at: row.get(9)?,
        matches_deploy: row.get(10)?,
        detail: row.get(11)?,
    })
}

fn state_col(s: Option<HealthState>) -> Option<&'static str> {
    s.map(HealthState::id)
}

impl History {
    /// Remembers the sample of a deployment that went live.
    pub fn save_deploy_sample(&self, deployment_id: i64, sample: &[SampleFile]) -> Result<()> {
        for f in sample {
            self.conn.execute(
                "INSERT OR REPLACE INTO deploy_samples (deployment_id, path, url_path, size, sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![deployment_id, f.path, f.url_path, f.size as i64, f.sha256],
            )?;
        }
        Ok(())
    }

    /// A rollback serves an earlier deployment's files again: it gets that one's sample.
    pub fn copy_deploy_sample(&self, from_deployment: i64, to_deployment: i64) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO deploy_samples (deployment_id, path, url_path, size, sha256)
             SELECT ?2, path, url_path, size, sha256 FROM deploy_samples WHERE deployment_id = ?1",
            params![from_deployment, to_deployment],
        )?;
        Ok(())
    }

    /// The sample of a deployment, home page first; empty for deploys made before samples were
    /// kept.
    pub fn deploy_sample(&self, deployment_id: i64) -> Result<Vec<SampleFile>> {
        let mut stmt = self.conn.prepare(
            "SELECT path, url_path, size, sha256 FROM deploy_samples WHERE deployment_id = ?1
             ORDER BY url_path != '', path",
        )?;
        let rows = stmt
            .query_map([deployment_id], |r| {
                Ok(SampleFile {
                    path: r.get(0)?,
                    url_path: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    sha256: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Stores a check (its `id` is ignored) and returns it as stored; forgets checks older than
    /// 90 days.
    pub fn record_check(&self, c: &HealthCheck) -> Result<HealthCheck> {
        self.conn.execute(
            "INSERT INTO health_checks (site_id, deployment_id, checked_at, url, state, reason,
                 http_status, response_ms, cert_expires_at, matches_deploy, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                c.site_id,
                c.deployment_id,
                c.checked_at,
                c.url,
                c.state.id(),
                c.reason.map(DownReason::id),
                c.http_status,
                c.response_ms.map(|ms| ms as i64),
                c.cert_expires_at,
                c.matches_deploy,
                c.detail
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        self.conn.execute(
            "DELETE FROM health_checks WHERE site_id = ?1 AND checked_at < ?2",
            params![c.site_id, c.checked_at - KEEP_MS],
        )?;
        Ok(HealthCheck { id, ..c.clone() })
    }

    /// The response times of a site's last `n` checks that were not down, newest first: what
    /// is usual for it.
    pub fn recent_good_ms(&self, site_id: i64, n: usize) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare(
            "SELECT response_ms FROM health_checks
             WHERE site_id = ?1 AND state != 'down' AND response_ms IS NOT NULL
             ORDER BY checked_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![site_id, n as i64], |r| r.get::<_, i64>(0))?
            .map(|r| r.map(|ms| ms.max(0) as u64))
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A site's checks since `since_ms`, oldest first.
    pub fn health_checks(&self, site_id: i64, since_ms: i64) -> Result<Vec<HealthCheck>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {CHECK_COLUMNS} FROM health_checks WHERE site_id = ?1 AND checked_at >= ?2
             ORDER BY checked_at, id"
        ))?;
        let rows = stmt
            .query_map(params![site_id, since_ms], check_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A site's latest check.
    pub fn latest_check(&self, site_id: i64) -> Result<Option<HealthCheck>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {CHECK_COLUMNS} FROM health_checks WHERE site_id = ?1
                     ORDER BY checked_at DESC, id DESC LIMIT 1"
                ),
                [site_id],
                check_from_row,
            )
            .optional()?)
    }

    /// The notification state machine of a site, as the last check left it.
    pub fn alerts(&self, site_id: i64) -> Result<Alerts> {
        let row: Option<(Option<String>, Option<String>, i64)> = self
            .conn
            .query_row(
                "SELECT announced, candidate, streak FROM site_health WHERE site_id = ?1",
                [site_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((announced, candidate, streak)) = row else {
            return Ok(Alerts::default());
        };
        Ok(Alerts {
            announced: announced.map(|s| s.parse()).transpose()?,
            candidate: candidate.map(|s| s.parse()).transpose()?,
            streak: streak.clamp(0, i64::from(u32::MAX)) as u32,
        })
    }

    pub fn set_alerts(&self, site_id: i64, alerts: &Alerts) -> Result<()> {
        self.conn.execute(
            "INSERT INTO site_health (site_id, announced, candidate, streak) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (site_id) DO UPDATE SET announced = ?2, candidate = ?3, streak = ?4",
            params![
                site_id,
                state_col(alerts.announced),
                state_col(alerts.candidate),
                alerts.streak
            ],
        )?;
        Ok(())
    }

    /// Whether a site's periodic checks are switched off (they are on by default).
    pub fn checks_off(&self, site_id: i64) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT checks_off FROM site_health WHERE site_id = ?1",
                [site_id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    pub fn set_checks_off(&self, site_id: i64, off: bool) -> Result<()> {
        self.conn.execute(
            "INSERT INTO site_health (site_id, checks_off) VALUES (?1, ?2)
             ON CONFLICT (site_id) DO UPDATE SET checks_off = ?2",
            params![site_id, off],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{NewDeployment, Trigger};
    use crate::platform::{Environment, Platform};

    fn check(site_id: i64, at: i64, state: HealthState, ms: Option<u64>) -> HealthCheck {
        HealthCheck {
            id: 0,
            site_id,
            deployment_id: None,
            checked_at: at,
            url: "https://blog.netlify.app".into(),
            state,
            reason: (state == HealthState::Down).then_some(DownReason::Http5xx),
            http_status: Some(if state == HealthState::Down { 503 } else { 200 }),
            response_ms: ms,
            cert_expires_at: Some(1_797_552_000_000),
            matches_deploy: Some(true),
            detail: "d".into(),
        }
    }

    #[test]
    fn checks_samples_and_switches_round_trip_and_go_with_their_site() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(dir.path()).unwrap();
        let site = history
            .site_for(std::path::Path::new("/home/ann/blog"), Platform::Netlify)
            .unwrap();
        let deploy = history
            .start_deployment(&NewDeployment {
                site_id: site.id,
                trigger: Trigger::Manual,
                environment: Environment::Production,
                message: None,
                rollback_of: None,
            })
            .unwrap();
        let sample = vec![
            SampleFile {
                path: "a.css".into(),
                url_path: "a.css".into(),
                size: 3,
                sha256: "aa".into(),
            },
            SampleFile {
                path: "index.html".into(),
                url_path: "".into(),
                size: 9,
                sha256: "ii".into(),
            },
        ];
        history.save_deploy_sample(deploy, &sample).unwrap();
        let stored = history.deploy_sample(deploy).unwrap();
        assert_eq!(stored[0].path, "index.html", "home page first");
        assert_eq!(stored.len(), 2);

        let day = 24 * 3600 * 1000;
        let old = history
            .record_check(&check(site.id, 0, HealthState::Up, Some(50)))
            .unwrap();
        history
            .record_check(&check(site.id, 100 * day, HealthState::Down, None))
            .unwrap();
        let last = history
            .record_check(&check(site.id, 100 * day + 1, HealthState::Slow, Some(900)))
            .unwrap();
        assert!(
            history
                .health_checks(site.id, 0)
                .unwrap()
                .iter()
                .all(|c| c.id != old.id),
            "90-day-old checks are dropped"
        );
        assert_eq!(history.latest_check(site.id).unwrap(), Some(last));
        assert_eq!(
            history.recent_good_ms(site.id, 20).unwrap(),
            [900],
            "down checks have no usual time"
        );

        assert!(!history.checks_off(site.id).unwrap(), "on by default");
        history.set_checks_off(site.id, true).unwrap();
        let alerts = Alerts {
            announced: Some(HealthState::Up),
            candidate: Some(HealthState::Down),
            streak: 1,
        };
        history.set_alerts(site.id, &alerts).unwrap();
        assert!(
            history.checks_off(site.id).unwrap(),
            "saving alerts keeps the switch"
        );
        assert_eq!(history.alerts(site.id).unwrap(), alerts);

        history.remove_site(site.id).unwrap();
        assert!(history.health_checks(site.id, 0).unwrap().is_empty());
        assert!(history.deploy_sample(deploy).unwrap().is_empty());
        assert_eq!(history.alerts(site.id).unwrap(), Alerts::default());
    }
}
