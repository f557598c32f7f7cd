//! `make bench`: Sitedrop's figures next to this machine's floor, measured in the same run.
//!
//! The floor is what the work fundamentally costs here: reading the same bytes (one thread),
//! and `sha1sum` over them (one core, the usual reference for hashing). Sitedrop's figures:
//! a cold scan, hashing on all cores without a cache, and the no-change rescan a redeploy does
//! (scan + digest cache, every file a hit). Each figure is the median of several runs, with
//! the files in the page cache (as they are right after a build or an edit).

mod sites;
mod watch_latency;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sitedrop_core::hash::{cache, hash_files, DigestKind};
use sitedrop_core::history::History;
use sitedrop_core::progress::no_progress;
use sitedrop_core::scan::{scan, FileSet, ScanOptions};
use sitedrop_core::CancellationToken;

use sites::{SiteSpec, DOCS, MEDIA};

struct Row {
    site: String,
    what: &'static str,
    time: Duration,
    bytes: u64,
    files: u64,
    note: String,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 3 } else { 5 };
    let base =
        PathBuf::from(std::env::var("SITEDROP_BENCH_DIR").unwrap_or_else(|_| "bench-sites".into()));
    let specs: Vec<SiteSpec> = if quick {
        vec![DOCS.quick(), MEDIA.quick()]
    } else {
        vec![DOCS, MEDIA]
    };

    println!(
        "# Sitedrop benchmarks{}\n",
        if quick { " (quick)" } else { "" }
    );
    println!("{}\n", machine());
    let mut rows = Vec::new();
    for spec in specs {
        eprintln!(
            "generating {} ({} files, ~{} MB)…",
            spec.name,
            spec.files,
            spec.total_hint() / 1_000_000
        );
        let root = sites::generate(&base, spec).expect("generate the site");
        rows.extend(bench_site(&root, spec, runs));
    }
    print_table(&rows);

    let docs = if quick { DOCS.quick() } else { DOCS };
    let root = sites::generate(&base, docs).expect("generate the site");
    let edits = if quick { 5 } else { 10 };
    eprintln!("measuring change-to-live latency ({edits} edits)…");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let latency = runtime.block_on(watch_latency::measure(&root, edits));
    let mut sorted = latency.samples.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    println!(
        "\nWatch, {} files, this computer: change-to-live median {:.0} ms over {} edits (min {:.0}, max {:.0}); settle window {:.0} ms, so {:.0} ms beyond it (target ≤ 1000 ms).",
        latency.files,
        median.as_secs_f64() * 1000.0,
        sorted.len(),
        sorted[0].as_secs_f64() * 1000.0,
        sorted[sorted.len() - 1].as_secs_f64() * 1000.0,
        latency.settle.as_secs_f64() * 1000.0,
        median.saturating_sub(latency.settle).as_secs_f64() * 1000.0
    );
}

fn bench_site(root: &Path, spec: SiteSpec, runs: usize) -> Vec<Row> {
    let label = format!("{} ({} files)", spec.name, spec.files);
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
    read_all(&paths);
    rows.push(row(
        "floor: read the bytes (1 thread)",
        median(runs, || timed(|| read_all(&paths))),
        String::new(),
    ));
    rows.push(row(
        "floor: sha1sum (1 core)",
        median(runs, || sha1sum(&paths)),
        String::new(),
    ));

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

fn read_all(paths: &[PathBuf]) {
    let mut buf = vec![0u8; 256 * 1024];
    for p in paths {
        let mut f = std::fs::File::open(p).expect("open");
        while f.read(&mut buf).expect("read") > 0 {}
    }
}

/// `sha1sum` over every file, fed the list on stdin (too many for one command line).
fn sha1sum(paths: &[PathBuf]) -> Duration {
    let started = Instant::now();
    let mut child = Command::new("xargs")
        .args(["-0", "sha1sum"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run sha1sum (coreutils)");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for p in paths {
            stdin
                .write_all(p.as_os_str().as_encoded_bytes())
                .expect("write");
            stdin.write_all(b"\0").expect("write");
        }
    }
    child.wait().expect("sha1sum");
    started.elapsed()
}

fn timed(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}

fn print_table(rows: &[Row]) {
    println!("| site | measure | time | MB/s | files/s | note |");
    println!("|---|---|---:|---:|---:|---|");
    for r in rows {
        let secs = r.time.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {:.1} ms | {:.0} | {:.0} | {} |",
            r.site,
            r.what,
            secs * 1000.0,
            r.bytes as f64 / 1e6 / secs,
            r.files as f64 / secs,
            r.note
        );
    }
}

/// CPU model, cores and memory, for the report.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']))
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map_or(String::from("?"), |kb| {
            format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    format!("Machine: {model}, {cores} cores, {mem} RAM. Files in the page cache; medians of several runs.")
}
