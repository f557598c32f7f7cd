//! Deploys of a generated site to each platform through the emulator: cold, unchanged, and
//! with one file changed, by the release `sitedrop` binary.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli_run::{self, DeployRun};
use crate::emulator::{self, Emulator, Requests};
use crate::sites::{self, SiteSpec};

/// The platforms of the table, by their CLI names.
pub const PLATFORMS: [&str; 5] = [
    "cloudflare-pages",
    "cloudflare-workers",
    "netlify",
    "vercel",
    "amplify",
];

/// Where the binaries and scratch folders are.
pub struct Setup {
    pub sitedrop: PathBuf,
    pub emulator: PathBuf,
    /// Emulator state (blobs, unpacked sites): in RAM where possible, so the emulator's own
    /// storage does not stand in for the network.
    pub state_base: PathBuf,
    /// Sitedrop's data folders (history, digest cache, Amplify's zip): on disk, as a
    /// person's would be.
    pub data_base: PathBuf,
}

/// One kind of deploy, over several runs.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub runs: Vec<DeployRun>,
    pub requests: Requests,
}

impl Series {
    /// The median run by wall time.
    pub fn median(&self) -> Option<&DeployRun> {
        let mut ok: Vec<&DeployRun> = self.runs.iter().filter(|r| r.error.is_none()).collect();
        ok.sort_by_key(|r| r.wall);
        ok.get(ok.len() / 2).copied()
    }

    pub fn max_rss(&self) -> u64 {
        self.runs.iter().map(|r| r.max_rss).max().unwrap_or(0)
    }

    pub fn error(&self) -> Option<&str> {
        self.runs.iter().find_map(|r| r.error.as_deref())
    }
}

/// All figures of one site on one platform.
#[derive(Debug, Clone, Default)]
pub struct PlatformResult {
    pub site: String,
    pub platform: &'static str,
    pub files: u64,
    pub bytes: u64,
    pub cold: Series,
    pub unchanged: Series,
    pub changed: Series,
    /// Why the workload differs from the site's (a platform's file cap).
    pub note: Option<String>,
}

impl PlatformResult {
    pub fn max_rss(&self) -> u64 {
        self.cold
            .max_rss()
            .max(self.unchanged.max_rss())
            .max(self.changed.max_rss())
    }
}

/// Runs `runs` rounds of cold, unchanged and one-file-changed deploys of `spec` (generated at
/// `root`) to `platform`, each round on a freshly started emulator and a fresh data folder.
pub fn bench(
    setup: &Setup,
    rt: &tokio::runtime::Runtime,
    root: &Path,
    spec: SiteSpec,
    platform: &'static str,
    runs: usize,
) -> PlatformResult {
    let paths = sites::walk(root).unwrap_or_default();
    let bytes = paths
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let mut result = PlatformResult {
        site: spec.name.to_string(),
        platform,
        files: paths.len() as u64,
        bytes,
        ..Default::default()
    };
    // The deploys read from the page cache, as the floor does.
    crate::floor::read_all(&paths);
    let project = format!("bench-{}", spec.name);
    let edited = root.join(sites::rel_path(&spec, 0));
    for round in 0..runs {
        let tag = format!("{}-{platform}-{round}-{}", spec.name, std::process::id());
        let state = setup.state_base.join(format!("emu-{tag}"));
        let data = setup.data_base.join(format!("data-{tag}"));
        let emu = match Emulator::start(&setup.emulator, &state) {
            Ok(e) => e,
            Err(e) => {
                result.note = Some(format!("the emulator did not start: {e}"));
                return result;
            }
        };
        let env = emulator::client_env(emu.port);
        let once = |series: &mut Series| {
            rt.block_on(emu.clear_log());
            let server_cpu = emu.cpu();
            let mut run = cli_run::deploy(&setup.sitedrop, root, platform, &project, &data, &env);
            run.server_cpu = emu.cpu().saturating_sub(server_cpu);
            series.requests = rt.block_on(emu.requests());
            let failed = run.error.is_some();
            series.runs.push(run);
            !failed
        };
        let ok = once(&mut result.cold) && once(&mut result.unchanged) && {
            let edit = Edit::apply(&edited, round);
            let ok = once(&mut result.changed);
            drop(edit);
            ok
        };
        emu.stop();
        let _ = std::fs::remove_dir_all(&data);
        if !ok {
            break;
        }
    }
    result
}

/// One file's first bytes overwritten (same size, so only the content changes), put back
/// with its old modification time when dropped.
struct Edit {
    path: PathBuf,
    original: Vec<u8>,
}

impl Edit {
    fn apply(path: &Path, round: usize) -> Option<Edit> {
        let mut f = std::fs::File::options()
            .read(true)
            .write(true)
            .open(path)
            .ok()?;
        let mut original = vec![0u8; 32];
        let n = f.read(&mut original).ok()?;
        original.truncate(n);
        let mut marker = format!("<!-- edit {round} {} -->", std::process::id()).into_bytes();
        marker.resize(n, b' ');
        f.seek(SeekFrom::Start(0)).ok()?;
        f.write_all(&marker).ok()?;
        Some(Edit {
            path: path.to_path_buf(),
            original,
        })
    }
}

impl Drop for Edit {
    fn drop(&mut self) {
        if let Ok(mut f) = std::fs::File::options().write(true).open(&self.path) {
            let _ = f.write_all(&self.original);
        }
        let _ = sites::age(&self.path);
    }
}

/// Bytes per second as MB/s.
pub fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64().max(1e-9)
}
