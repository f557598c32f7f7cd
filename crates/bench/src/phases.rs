//! The engine's own phases on a site, in process: a cold scan, hashing on all cores without
//! a cache (SHA-1 and Cloudflare's BLAKE3), and the no-change rescan a redeploy does (scan +
//! digest cache, every file a hit).

use std::path::Path;

use sitedrop_core::hash::{cache, hash_files, DigestKind};
use sitedrop_core::history::History;
use sitedrop_core::progress::no_progress;
use sitedrop_core::scan::{scan, FileSet, ScanOptions};
use sitedrop_core::CancellationToken;

use crate::sites::{self, SiteSpec};
use crate::{median, timed, Row};

pub fn bench_site(root: &Path, spec: SiteSpec, runs: usize) -> Vec<Row> {
    let label = format!("{} ({} files)", spec.name, spec.total_files());
    let paths = sites::walk(root).expect("list the site");
    let total: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let files = paths.len() as u64;
    let row = |what, time, note: String| Row {
        site: label.clone(),
        what,
        time,
        bytes: total,
        files,
        note,
    };
    let mut rows = Vec::new();

    // Warm the page cache once, so every measurement below reads from memory.
    crate::floor::read_all(&paths);
    let set = do_scan(root);
    rows.push(row(
        "scan (cold walk, all cores)",
        median(runs, || timed(|| drop(do_scan(root)))),
        String::new(),
    ));
    let empty = Default::default();
    for (what, kind) in [
        ("hash SHA-1, all cores, no cache", DigestKind::Sha1),
        (
            "hash Cloudflare BLAKE3, all cores, no cache",
            DigestKind::CfBlake3,
        ),
    ] {
        let t = median(runs, || {
            timed(|| {
                drop(
                    hash_files(
                        &set.files,
                        kind,
                        &empty,
                        &no_progress(),
                        &CancellationToken::new(),
                    )
                    .expect("hash"),
                )
            })
        });
        rows.push(row(what, t, String::new()));
    }

    // The redeploy path: scan, then every digest from the cache.
    let data = std::env::temp_dir().join(format!("sitedrop-bench-db-{}", std::process::id()));
    let mut history = History::open(&data).expect("open history");
    cache::hash_with_cache(
        history.conn_mut(),
        root,
        &set.files,
        DigestKind::Sha1,
        &no_progress(),
        &CancellationToken::new(),
    )
    .expect("warm the cache");
    let mut hits = 0;
    let t = median(runs, || {
        timed(|| {
            let set = do_scan(root);
            let known =
                cache::load(history.conn_mut(), root, DigestKind::Sha1).expect("load cache");
            let out = hash_files(
                &set.files,
                DigestKind::Sha1,
                &known,
                &no_progress(),
                &CancellationToken::new(),
            )
            .expect("hash");
            hits = out.cache_hits;
        })
    });
    rows.push(row(
        "no-change rescan (scan + warm digest cache)",
        t,
        format!("{hits}/{files} cache hits"),
    ));
    let _ = std::fs::remove_dir_all(&data);
    rows
}

fn do_scan(root: &Path) -> FileSet {
    scan(
        root,
        &ScanOptions::default(),
        &no_progress(),
        &CancellationToken::new(),
    )
    .expect("scan")
}
