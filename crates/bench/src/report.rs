//! The report: tables in Markdown, the targets of issue 9 checked against the figures, and
//! what a reader needs to trust them (machine, load, date, how to reproduce).

use std::fmt::Write as _;
use std::time::Duration;

use crate::deploys::{mb_per_s, PlatformResult};
use crate::watch_latency::Latency;
use crate::Row;

/// Where the hand-written analysis of `BENCHMARKS.md` begins: everything from this line on is
/// kept when `make bench` rewrites the figures above it.
pub const ANALYSIS: &str = "<!-- analysis: kept by make bench -->";

/// One site's floor.
#[derive(Debug, Clone)]
pub struct Floor {
    pub site: String,
    pub files: u64,
    pub bytes: u64,
    pub read: Duration,
    pub sha1sum: Duration,
    pub transfer: Duration,
}

impl Floor {
    /// Hashing the bytes and sending them: what a deploy cannot beat.
    pub fn hash_and_send(&self) -> Duration {
        self.sha1sum + self.transfer
    }
}

#[derive(Default)]
pub struct Report {
    pub quick: bool,
    pub machine: String,
    pub floors: Vec<Floor>,
    pub deploys: Vec<PlatformResult>,
    pub phases: Vec<Row>,
    pub watch: Option<Latency>,
    pub load: (String, String),
    pub elapsed: Duration,
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

/// A target checked.
struct Check {
    what: String,
    measured: String,
    limit: String,
    met: Option<bool>,
    /// The least wall time this machine's cores allow for the CPU both processes spent on the
    /// measured run (`sitedrop`'s and the emulator's, ÷ cores): when the measured time is
    /// close to it, the machine was saturated, not waiting.
    cpu_bound: Option<Duration>,
}

/// (Our CPU + the emulator's CPU) ÷ cores, for one run.
fn cpu_bound(run: &crate::cli_run::DeployRun) -> Duration {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    (run.cpu + run.server_cpu) / cores
}

impl Report {
    fn floor(&self, site: &str) -> Option<&Floor> {
        self.floors.iter().find(|f| f.site == site)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Sitedrop benchmarks{}\n",
            if self.quick { " (quick)" } else { "" }
        );
        let _ = writeln!(out, "{}  ", self.machine);
        let _ = writeln!(
            out,
            "Date: {}. Load average (1, 5, 15 min) before: {}; after: {}. The whole run took {:.0} s.\n",
            today(),
            self.load.0,
            self.load.1,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "Reproduce: `make bench` (full sizes, three rounds, writes this file) or `make bench-quick` \
             (quarter sizes, one round, prints only). Sites are generated under `bench-sites/` from fixed \
             seeds; the emulator runs as a separate process with its state in RAM (`/dev/shm`), \
             restarted for every round so each cold deploy finds the platform empty; `sitedrop` is the \
             release binary, run as a child process with a fresh data folder per round. Files are in \
             the page cache, as they are right after a build. Times are medians; peak memory is the \
             largest `ru_maxrss` of any run.\n"
        );

        self.render_floors(&mut out);
        self.render_deploys(&mut out);
        self.render_targets(&mut out);
        self.render_phases(&mut out);
        if let Some(w) = &self.watch {
            let mut sorted = w.samples.clone();
            sorted.sort();
            let median = sorted[sorted.len() / 2];
            let _ = writeln!(
                out,
                "\n## Watching\n\n{} files, this computer: change-to-live median {} over {} edits (min {}, max {}); the settle window is {}, so {} beyond it (target ≤ 1000 ms).",
                w.files,
                ms(median),
                sorted.len(),
                ms(sorted[0]),
                ms(sorted[sorted.len() - 1]),
                ms(w.settle),
                ms(median.saturating_sub(w.settle)),
            );
            let _ = writeln!(
                out,
                "\nIdle: after the last edit went live, {} s without changes cost the watching process {:.3} CPU seconds ({:.2}% of one core) and brought {} watch event{}.",
                w.idle.as_secs(),
                w.idle_cpu.as_secs_f64(),
                100.0 * w.idle_cpu.as_secs_f64() / w.idle.as_secs_f64().max(1e-9),
                w.idle_events,
                if w.idle_events == 1 { "" } else { "s" },
            );
        }
        out
    }

    fn render_floors(&self, out: &mut String) {
        let _ = writeln!(out, "## The floor\n");
        let _ = writeln!(
            out,
            "| site | files | size | read (1 thread) | sha1sum (1 core) | send to the emulator (1 stream) | hash + send |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for f in &self.floors {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} ({:.0} MB/s) | {} ({:.0} MB/s) | {} ({:.0} MB/s) | {} |",
                f.site,
                f.files,
                mb(f.bytes),
                ms(f.read),
                mb_per_s(f.bytes, f.read),
                ms(f.sha1sum),
                mb_per_s(f.bytes, f.sha1sum),
                ms(f.transfer),
                mb_per_s(f.bytes, f.transfer),
                ms(f.hash_and_send()),
            );
        }
    }

    fn render_deploys(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Deploys\n");
        let _ = writeln!(
            out,
            "Cold: a new project, nothing uploaded before, no digest cache. Upload: the upload phase alone \
             (from its start to publishing), bytes sent ÷ its time. Requests: API calls and uploads \
             (+ live-site checks), from the emulator's log, for cold / unchanged / one changed.\n"
        );
        let _ = writeln!(
            out,
            "| site | platform | cold | files/s | × floor | upload | unchanged | one changed | peak memory | requests | note |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
        for d in &self.deploys {
            let floor = self.floor(&d.site);
            let requests = format!(
                "{}+{} / {}+{} / {}+{}",
                d.cold.requests.api,
                d.cold.requests.site,
                d.unchanged.requests.api,
                d.unchanged.requests.site,
                d.changed.requests.api,
                d.changed.requests.site
            );
            let error = d
                .cold
                .error()
                .or(d.unchanged.error())
                .or(d.changed.error())
                .map(|e| format!("FAILED: {}", e.replace('|', "/")));
            let note = [d.note.clone(), error]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            let Some(cold) = d.cold.median() else {
                let _ = writeln!(
                    out,
                    "| {} | {} | — | — | — | — | — | — | {} | {requests} | {note} |",
                    d.site,
                    d.platform,
                    mb(d.max_rss())
                );
                continue;
            };
            let upload = cold
                .phase_span("upload", "finish")
                .filter(|_| cold.bytes_uploaded > 0)
                .map(|t| format!("{:.0} MB/s", mb_per_s(cold.bytes_uploaded, t)))
                .unwrap_or_else(|| "—".into());
            let times_floor = floor
                .map(|f| {
                    format!(
                        "{:.2}",
                        cold.wall.as_secs_f64() / f.hash_and_send().as_secs_f64()
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
                d.site,
                d.platform,
                ms(cold.wall),
                d.files as f64 / cold.wall.as_secs_f64(),
                times_floor,
                upload,
                d.unchanged.median().map_or("—".into(), |r| ms(r.wall)),
                d.changed.median().map_or("—".into(), |r| ms(r.wall)),
                mb(d.max_rss()),
                requests,
                note
            );
        }
        self.render_breakdown(out, "cold", |d| &d.cold);
        self.render_breakdown(out, "unchanged", |d| &d.unchanged);
    }

    /// Where one kind of deploy spends its time, phase by phase, and whose CPU it uses.
    fn render_breakdown(
        &self,
        out: &mut String,
        which: &str,
        series: impl Fn(&PlatformResult) -> &crate::deploys::Series,
    ) {
        let _ = writeln!(
            out,
            "\nWhere the {which} deploys' time goes (median run; phases from the `--json` progress, timed from spawn; CPU is user + system time of `sitedrop` and, meanwhile, of the emulator):\n"
        );
        let _ = writeln!(
            out,
            "| site | platform | start → scan | scan + limits | hash | prepare | upload | publish | verify | exit | CPU: sitedrop / emulator |"
        );
        let _ = writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for d in &self.deploys {
            let Some(run) = series(d).median() else {
                continue;
            };
            let span = |a: &str, b: &str| run.phase_span(a, b).map_or("—".into(), ms);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                d.site,
                d.platform,
                run.phase_at("scan").map_or("—".into(), ms),
                span("scan", "hash"),
                span("hash", "prepare"),
                span("prepare", "upload"),
                span("upload", "finish"),
                span("finish", "verify"),
                span("verify", "done"),
                run.phase_at("done")
                    .map_or("—".into(), |t| ms(run.wall.saturating_sub(t))),
                ms(run.cpu),
                ms(run.server_cpu),
            );
        }
    }

    fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let deploys = |site: &'static str| self.deploys.iter().filter(move |d| d.site == site);
        if let Some(floor) = self.floor("blog") {
            let limit = floor.hash_and_send().mul_f64(1.5);
            for d in deploys("blog") {
                let cold = d.cold.median();
                checks.push(Check {
                    what: format!("blog cold, {}", d.platform),
                    measured: cold.map_or("failed".into(), |r| ms(r.wall)),
                    limit: format!("≤ {} (1.5 × hash + send)", ms(limit)),
                    met: Some(cold.is_some_and(|r| r.wall <= limit)),
                    cpu_bound: cold.map(cpu_bound),
                });
            }
        }
        if let Some(floor) = self.floor("docs") {
            for d in deploys("docs") {
                let cold = d.cold.median();
                let per_file = matches!(d.platform, "netlify" | "vercel");
                if per_file {
                    let rate = cold.map_or(0.0, |r| d.files as f64 / r.wall.as_secs_f64());
                    checks.push(Check {
                        what: format!("docs cold, {} (one request per file)", d.platform),
                        measured: format!("{rate:.0} files/s"),
                        limit: "≥ 2000 files/s".into(),
                        met: Some(rate >= 2000.0),
                        cpu_bound: cold.map(cpu_bound),
                    });
                } else {
                    let limit = floor.hash_and_send().mul_f64(3.0);
                    checks.push(Check {
                        what: format!("docs cold, {} (batched)", d.platform),
                        measured: cold.map_or("failed".into(), |r| ms(r.wall)),
                        limit: format!("< {} (3 × hash + send)", ms(limit)),
                        met: Some(cold.is_some_and(|r| r.wall < limit)),
                        cpu_bound: cold.map(cpu_bound),
                    });
                }
                for (series, what, limit) in [
                    (&d.unchanged, "unchanged", Duration::from_millis(300)),
                    (&d.changed, "one file changed", Duration::from_millis(500)),
                ] {
                    let run = series.median();
                    checks.push(Check {
                        what: format!("docs {what}, {}", d.platform),
                        measured: run.map_or("failed".into(), |r| ms(r.wall)),
                        limit: format!("≤ {}", ms(limit)),
                        met: Some(run.is_some_and(|r| r.wall <= limit)),
                        cpu_bound: run.map(cpu_bound),
                    });
                }
            }
        }
        if let Some(floor) = self.floor("media") {
            let floor_rate = mb_per_s(floor.bytes, floor.transfer);
            for d in deploys("media") {
                checks.push(Check {
                    what: format!("media peak memory, {}", d.platform),
                    measured: mb(d.max_rss()),
                    limit: "≤ 150 MB".into(),
                    met: Some(d.max_rss() <= 150 * 1_000_000),
                    cpu_bound: None,
                });
                let cold = d.cold.median();
                let upload = cold.and_then(|r| {
                    r.phase_span("upload", "finish")
                        .map(|t| mb_per_s(r.bytes_uploaded, t))
                });
                let end_to_end = cold.map_or(0.0, |r| mb_per_s(d.bytes, r.wall));
                checks.push(Check {
                    what: format!("media upload throughput, {}", d.platform),
                    measured: format!(
                        "{:.0} MB/s upload phase ({:.0}%), {:.0} MB/s end to end ({:.0}%)",
                        upload.unwrap_or(0.0),
                        100.0 * upload.unwrap_or(0.0) / floor_rate,
                        end_to_end,
                        100.0 * end_to_end / floor_rate
                    ),
                    limit: format!("≥ {:.0} MB/s (60% of one stream)", 0.6 * floor_rate),
                    met: Some(upload.unwrap_or(0.0) >= 0.6 * floor_rate),
                    cpu_bound: cold.map(cpu_bound),
                });
            }
        }
        checks
    }

    fn render_targets(&self, out: &mut String) {
        let checks = self.checks();
        if checks.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "\n## Targets (issue 9){}\n",
            if self.quick {
                " — quick run: smaller sites, indicative only"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "CPU bound: the CPU time `sitedrop` and the emulator spent on that run, divided by the \
             machine's cores — the shortest wall time the run's work allows here, whatever the \
             concurrency (the emulator does the servers' work on the same cores: verifying digests, \
             decoding, storing).\n"
        );
        let _ = writeln!(out, "| target | measured | limit | met | CPU bound |");
        let _ = writeln!(out, "|---|---|---|---|---:|");
        for c in &checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                c.what,
                c.measured,
                c.limit,
                match c.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                },
                c.cpu_bound.map_or("—".into(), ms)
            );
        }
        let met = checks.iter().filter(|c| c.met == Some(true)).count();
        let _ = writeln!(out, "\n{met} of {} targets met.", checks.len());
    }

    fn render_phases(&self, out: &mut String) {
        if self.phases.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n## The engine's phases, in process\n");
        let _ = writeln!(out, "| site | measure | time | MB/s | files/s | note |");
        let _ = writeln!(out, "|---|---|---:|---:|---:|---|");
        for r in &self.phases {
            let secs = r.time.as_secs_f64().max(1e-9);
            let _ = writeln!(
                out,
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
}

/// `/proc/loadavg`'s three averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "?".into())
}

/// Today's date (UTC), from `date`.
fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// CPU model, cores and memory, for the report.
pub fn machine() -> String {
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
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {model}, {cores} cores, {mem} RAM, Linux {}.",
        kernel.trim()
    )
}
