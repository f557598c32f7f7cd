use super::*;
use crate::error::Error;
use crate::platform::{Environment, Platform};
use crate::progress::Phase;

fn new_deploy(site_id: i64) -> NewDeployment<'static> {
    NewDeployment {
        site_id,
        trigger: Trigger::Manual,
        environment: Environment::Production,
        message: None,
        rollback_of: None,
    }
}

#[test]
fn opening_creates_the_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path()).unwrap();
    let version: i64 = history
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, migrations::latest());
    let mode: String = history
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    history.integrity_check().unwrap();
}

#[test]
fn history_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (site_id, deploy_id) = {
        let history = History::open(dir.path()).unwrap();
        let site = history
            .site_for(std::path::Path::new("/home/ann/blog"), Platform::Netlify)
            .unwrap();
        history
            .set_site_project(site.id, "ann-blog", Some("site-123"), None)
            .unwrap();
        let id = history.start_deployment(&new_deploy(site.id)).unwrap();
        history.set_totals(id, 12, 3456).unwrap();
        history
            .set_remote(id, Some("dep-1"), Some("https://ann-blog.netlify.app"))
            .unwrap();
        history.finish_live(id).unwrap();
        (site.id, id)
    };
    let history = History::open(dir.path()).unwrap();
    let site = history.site(site_id).unwrap().unwrap();
    assert_eq!(site.project.as_deref(), Some("ann-blog"));
    assert_eq!(site.remote_id.as_deref(), Some("site-123"));
    let d = history.deployment(deploy_id).unwrap().unwrap();
    assert_eq!(
        (d.status, d.files_total, d.bytes_total),
        (DeployStatus::Live, 12, 3456)
    );
    assert_eq!(d.url.as_deref(), Some("https://ann-blog.netlify.app"));
    assert_eq!(d.phase, "done");
    assert!(d.duration_ms.is_some());
    assert_eq!(
        history
            .site_for(std::path::Path::new("/home/ann/blog"), Platform::Netlify)
            .unwrap()
            .id,
        site_id
    );
}

#[test]
fn a_running_row_left_by_a_dead_process_becomes_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let history = History::open(dir.path()).unwrap();
        let site = history
            .site_for(std::path::Path::new("/s"), Platform::Local)
            .unwrap();
        let id = history.start_deployment(&new_deploy(site.id)).unwrap();
        history.set_phase(id, Phase::Upload).unwrap();
        id
        // No site lock was held: as after a crash.
    };
    let history = History::open(dir.path()).unwrap();
    let d = history.deployment(id).unwrap().unwrap();
    assert_eq!(d.status, DeployStatus::Interrupted);
    assert_eq!(d.phase, "upload", "the row keeps where it stopped");
    assert_eq!(d.error_kind.as_deref(), Some("interrupted"));
    assert!(d
        .error_message
        .unwrap()
        .contains("stopped before this deploy finished"));
}

#[test]
fn a_running_row_whose_deploy_is_alive_stays_running() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path()).unwrap();
    let site = history
        .site_for(std::path::Path::new("/s"), Platform::Local)
        .unwrap();
    let _lock = lock::SiteLock::try_acquire(dir.path(), site.id)
        .unwrap()
        .unwrap();
    let id = history.start_deployment(&new_deploy(site.id)).unwrap();
    // Another process (the CLI while the app deploys) opens the history meanwhile.
    let other = History::open(dir.path()).unwrap();
    assert_eq!(
        other.deployment(id).unwrap().unwrap().status,
        DeployStatus::Running
    );
}

#[test]
fn failures_and_cancels_are_recorded_with_kind_and_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path()).unwrap();
    let site = history
        .site_for(std::path::Path::new("/s"), Platform::Netlify)
        .unwrap();
    let failed = history.start_deployment(&new_deploy(site.id)).unwrap();
    history
        .finish_failed(
            failed,
            &Error::TokenExpired {
                platform: Platform::Netlify,
            },
        )
        .unwrap();
    let cancelled = history.start_deployment(&new_deploy(site.id)).unwrap();
    history.finish_failed(cancelled, &Error::Cancelled).unwrap();
    let rows = history.deployments(Some(site.id), 10).unwrap();
    assert_eq!(rows.len(), 2);
    let f = history.deployment(failed).unwrap().unwrap();
    assert_eq!(
        (f.status, f.error_kind.as_deref()),
        (DeployStatus::Failed, Some("token_expired"))
    );
    assert!(f.error_message.unwrap().contains("expired or was revoked"));
    assert_eq!(
        history.deployment(cancelled).unwrap().unwrap().status,
        DeployStatus::Cancelled
    );
}

#[test]
fn accounts_hold_no_secrets_and_the_latest_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path()).unwrap();
    let a = history
        .save_account(
            Platform::CloudflareWorkers,
            "ann@example.com",
            Some("acc1"),
            "cloudflare-pages:1",
        )
        .unwrap();
    assert_eq!(
        a.platform,
        Platform::CloudflarePages,
        "both Cloudflare products share accounts"
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = history
        .save_account(
            Platform::CloudflarePages,
            "Team",
            Some("acc2"),
            "cloudflare-pages:2",
        )
        .unwrap();
    assert_eq!(
        history
            .default_account(Platform::CloudflareWorkers)
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    history.remove_account(b.id).unwrap();
    assert_eq!(
        history
            .default_account(Platform::CloudflarePages)
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    let columns: Vec<String> = history
        .conn
        .prepare("SELECT name FROM pragma_table_info('accounts')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        !columns.iter().any(|c| c.contains("token") || c == "secret"),
        "{columns:?}"
    );
}

#[test]
fn a_database_from_a_newer_sitedrop_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    drop(History::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = History::open(dir.path()).err().unwrap();
    assert_eq!(err.kind(), "data_dir");
    assert!(err.to_string().contains("newer Sitedrop"), "{err}");
}

#[test]
fn an_unusable_data_folder_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = History::open(&file).err().unwrap();
    assert_eq!(err.kind(), "data_dir");
    assert!(
        err.to_string().contains("could not use its data folder"),
        "{err}"
    );
}

#[test]
fn several_processes_opening_a_new_data_folder_at_once_all_succeed() {
    // The app and the CLI (or two CI jobs) starting together on a fresh data folder used to
    // race on the first migration: "table accounts already exists".
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (path, barrier) = (dir.path().to_path_buf(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    History::open(&path).map(|_| ())
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
        }
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, migrations::latest());
    }
}

#[test]
fn a_history_from_before_content_digests_keeps_its_deploys_and_their_rollback_links() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrations::migrate_to(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO sites (id, folder, platform, created_at) VALUES (1, '/home/ann/blog', 'amplify', 0);
             INSERT INTO deployments (id, site_id, status, phase, trigger, environment, started_at, finished_at, remote_id)
               VALUES (1, 1, 'live', 'done', 'manual', 'production', 10, 20, 'job-1');
             INSERT INTO deployments (id, site_id, status, phase, trigger, environment, started_at, finished_at, rollback_of)
               VALUES (2, 1, 'live', 'done', 'rollback', 'production', 30, 40, 1);",
        )
        .unwrap();
    }
    let history = History::open(dir.path()).unwrap();
    let rows = history.deployments(Some(1), 10).unwrap();
    assert_eq!(rows.len(), 2);
    let rollback = history.deployment(2).unwrap().unwrap();
    assert_eq!(
        rollback.rollback_of,
        Some(1),
        "the link survives the rebuild"
    );
    assert_eq!(rollback.content_digest, None);
    let first = history.deployment(1).unwrap().unwrap();
    assert_eq!(first.remote_id.as_deref(), Some("job-1"));
    // The new status is accepted, and the digest recorded.
    let id = history.start_deployment(&new_deploy(1)).unwrap();
    history.set_content_digest(id, "abc").unwrap();
    history.finish_unchanged(id).unwrap();
    let row = history.deployment(id).unwrap().unwrap();
    assert_eq!(
        (row.status, row.content_digest.as_deref()),
        (DeployStatus::Unchanged, Some("abc"))
    );
    history.integrity_check().unwrap();
    let violations: i64 = history
        .conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(violations, 0);
}
