//! `make bench`: Sitedrop's deploys next to this machine's floor, measured in the same run.
//!
//! For each generated site (blog, docs, media) the floor comes first: reading the bytes (one
//! thread), `sha1sum` over them (one core), and sending as many bytes to the emulator in one
//! HTTP stream. Then the release `sitedrop` binary deploys the site to every platform through
//! a freshly started emulator: cold (nothing on the platform, no digest cache), unchanged,
//! and with one file changed — timed end to end from spawn to exit, with its peak resident
//! memory and the requests the emulator logged. The engine's own phases (scan, hashing, the
//! no-change rescan) and the watch loop's change-to-live latency follow.
//!
//! `make bench` writes the report to `BENCHMARKS.md` too; `make bench-quick` runs smaller
//! sites once each and only prints.

mod cli_run;
mod deploys;
mod emulator;
mod floor;
mod phases;
mod report;
mod sites;
mod watch_latency;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sites::{SiteSpec, BLOG, DOCS, MEDIA};

/// One row of the engine-phases table.
pub struct Row {
    pub site: String,
    pub what: &'static str,
    pub time: Duration,
    pub bytes: u64,
    pub files: u64,
    pub note: String,
}

/// The options `make bench` and `make bench-quick` pass, and a few for working on one part.
struct Options {
    quick: bool,
    /// Deploy rounds per site and platform.
    rounds: usize,
    /// Runs per floor and engine-phase figure.
    runs: usize,
    sites: Vec<String>,
    platforms: Vec<&'static str>,
    write: bool,
    watch: bool,
}

impl Options {
    fn parse() -> Options {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1).cloned())
        };
        let quick = args.iter().any(|a| a == "--quick");
        let list = |name: &str, all: &[&'static str]| -> Vec<&'static str> {
            match value(name) {
                Some(v) => all
                    .iter()
                    .copied()
                    .filter(|p| v.split(',').any(|w| w == *p))
                    .collect(),
                None => all.to_vec(),
            }
        };
        Options {
            quick,
            rounds: value("--rounds")
                .and_then(|r| r.parse().ok())
                .unwrap_or(if quick { 1 } else { 3 }),
            runs: if quick { 3 } else { 5 },
            sites: list("--sites", &["blog", "docs", "media"])
                .into_iter()
                .map(String::from)
                .collect(),
            platforms: list("--platforms", &deploys::PLATFORMS),
            write: !quick && !args.iter().any(|a| a == "--no-write"),
            watch: !args.iter().any(|a| a == "--no-watch"),
        }
    }
}

fn main() {
    let options = Options::parse();
    let started = Instant::now();
    let base =
        PathBuf::from(std::env::var("SITEDROP_BENCH_DIR").unwrap_or_else(|_| "bench-sites".into()));
    let setup = setup(&base);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let load_before = report::load_average();

    let mut report = report::Report {
        quick: options.quick,
        machine: report::machine(),
        ..Default::default()
    };
    for spec in [BLOG, DOCS, MEDIA] {
        if !options.sites.iter().any(|s| s == spec.name) {
            continue;
        }
        let spec = if options.quick { spec.quick() } else { spec };
        let root = generated(&base, spec);
        eprintln!("{}: the floor…", spec.name);
        report
            .floors
            .push(measure_floor(&setup, &rt, &root, spec, options.runs));
        for platform in &options.platforms {
            // Vercel takes at most 15,000 files per deployment (specs/vercel.md §4).
            let (spec, root, note) = if *platform == "vercel" && spec.total_files() > 15_000 {
                let capped = spec.capped(15_000);
                (
                    capped,
                    generated(&base, capped),
                    Some(
                        "Vercel takes at most 15,000 files per deployment: its first 15,000 files"
                            .to_string(),
                    ),
                )
            } else {
                (spec, root.clone(), None)
            };
            eprintln!("{}: deploying to {platform}…", spec.name);
            let mut result = deploys::bench(&setup, &rt, &root, spec, platform, options.rounds);
            result.note = result.note.or(note);
            if let Some(e) = result
                .cold
                .error()
                .or(result.unchanged.error())
                .or(result.changed.error())
            {
                eprintln!("  failed: {e}");
            }
            report.deploys.push(result);
        }
        eprintln!("{}: the engine's phases…", spec.name);
        report
            .phases
            .extend(phases::bench_site(&root, spec, options.runs));
    }

    if options.watch {
        let docs = if options.quick { DOCS.quick() } else { DOCS };
        let root = generated(&base, docs);
        let edits = if options.quick { 5 } else { 10 };
        let idle = std::time::Duration::from_secs(if options.quick { 10 } else { 30 });
        eprintln!(
            "measuring change-to-live latency ({edits} edits), then {} idle seconds…",
            idle.as_secs()
        );
        report.watch = Some(rt.block_on(watch_latency::measure(&root, edits, idle)));
    }
    let _ = std::fs::remove_dir_all(&setup.state_base);
    let _ = std::fs::remove_dir_all(&setup.data_base);

    report.load = (load_before, report::load_average());
    report.elapsed = started.elapsed();
    let text = report.render();
    println!("{text}");
    if options.write {
        // The analysis below the marker is written by people; a new run keeps it.
        let kept = std::fs::read_to_string("BENCHMARKS.md")
            .ok()
            .and_then(|old| old.find(report::ANALYSIS).map(|at| old[at..].to_string()))
            .unwrap_or_default();
        let text = if kept.is_empty() {
            text
        } else {
            format!("{text}\n{kept}")
        };
        std::fs::write("BENCHMARKS.md", text).expect("write BENCHMARKS.md");
        eprintln!("written to BENCHMARKS.md");
    }
}

fn setup(base: &Path) -> Setup {
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().expect("binary folder");
    let sitedrop = dir.join("sitedrop");
    let emulator = dir.join("sitedrop-emulator");
    for bin in [&sitedrop, &emulator] {
        assert!(
            bin.exists(),
            "{} is missing: build it first (cargo build --release -p sitedrop-cli -p sitedrop-emulator)",
            bin.display()
        );
    }
    let shm = Path::new("/dev/shm");
    let scratch = format!("sitedrop-bench-{}", std::process::id());
    Setup {
        sitedrop,
        emulator,
        state_base: if shm.is_dir() {
            shm.join(&scratch)
        } else {
            std::env::temp_dir().join(&scratch)
        },
        data_base: base.join(format!("work-{}", std::process::id())),
    }
}

use deploys::Setup;

fn generated(base: &Path, spec: SiteSpec) -> PathBuf {
    eprintln!(
        "{} site: {} files, ~{} MB",
        spec.name,
        spec.total_files(),
        spec.total_hint() / 1_000_000
    );
    sites::generate(base, spec).expect("generate the site")
}

fn measure_floor(
    setup: &Setup,
    rt: &tokio::runtime::Runtime,
    root: &Path,
    spec: SiteSpec,
    runs: usize,
) -> report::Floor {
    let paths = sites::walk(root).expect("list the site");
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    // Warm the page cache once, so every measurement reads from memory, as deploys do.
    floor::read_all(&paths);
    let read = median(runs, || timed(|| floor::read_all(&paths)));
    let sha1sum = median(runs, || floor::sha1sum(&paths));
    let state = setup.state_base.join("floor");
    let emu = emulator::Emulator::start(&setup.emulator, &state).expect("start the emulator");
    let transfer = median(runs, || rt.block_on(floor::transfer(emu.port, bytes)));
    emu.stop();
    report::Floor {
        site: spec.name.to_string(),
        files: paths.len() as u64,
        bytes,
        read,
        sha1sum,
        transfer,
    }
}

pub fn timed(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

pub fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}
