//! Deterministic benchmark sites: the same bytes on every machine for a given seed.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A site to generate.
#[derive(Debug, Clone, Copy)]
pub struct SiteSpec {
    pub name: &'static str,
    pub files: usize,
    /// Each file's size is drawn uniformly from this range.
    pub min_size: usize,
    pub max_size: usize,
    pub seed: u64,
}

/// 20,000 files of 1–4 KB: a documentation site.
pub const DOCS: SiteSpec = SiteSpec {
    name: "docs",
    files: 20_000,
    min_size: 1024,
    max_size: 4096,
    seed: 2,
};
/// 60 files of 18 MB: about 1 GB of media.
pub const MEDIA: SiteSpec = SiteSpec {
    name: "media",
    files: 60,
    min_size: 18 * 1024 * 1024,
    max_size: 18 * 1024 * 1024,
    seed: 3,
};

impl SiteSpec {
    /// A smaller variant for quick runs.
    pub fn quick(self) -> SiteSpec {
        SiteSpec {
            files: (self.files / 4).max(10),
            name: self.name,
            ..self
        }
    }

    pub fn total_hint(&self) -> u64 {
        (self.files as u64) * ((self.min_size + self.max_size) as u64 / 2)
    }
}

/// SplitMix64: fast, seedable, enough for filler bytes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            lo
        } else {
            lo + (self.next() % (hi - lo + 1) as u64) as usize
        }
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Generates the site under `base` unless an identical one is already there; returns its root.
pub fn generate(base: &Path, spec: SiteSpec) -> std::io::Result<PathBuf> {
    let root = base.join(format!("{}-{}-{}", spec.name, spec.files, spec.seed));
    // The marker lives beside the site, not in it, so it is never part of what is measured.
    let marker = base.join(format!(
        "{}-{}-{}.complete",
        spec.name, spec.files, spec.seed
    ));
    if marker.exists() {
        return Ok(root);
    }
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let mut rng = Rng::new(spec.seed);
    let mut buf = Vec::new();
    for i in 0..spec.files {
        let size = rng.range(spec.min_size, spec.max_size);
        let dir = root.join(format!("section-{:03}", i / 200));
        std::fs::create_dir_all(&dir)?;
        let ext = ["html", "css", "js", "png", "svg"][i % 5];
        buf.resize(size, 0);
        rng.fill(&mut buf);
        if ext != "png" {
            // Text files: printable bytes, as a real docs site would have.
            for b in buf.iter_mut() {
                *b = b"abcdefghijklmnopqrstuvwxyz <>/=\n"[(*b % 32) as usize];
            }
        }
        let mut f = std::fs::File::create(dir.join(format!("page-{i:05}.{ext}")))?;
        f.write_all(&buf)?;
    }
    std::fs::write(
        root.join("index.html"),
        b"<!doctype html><h1>Benchmark site</h1>\n",
    )?;
    // Age the files so the digest cache does not treat them as just written ("racy").
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in walk(&root)? {
        std::fs::File::options()
            .write(true)
            .open(&entry)?
            .set_modified(old)?;
    }
    std::fs::write(&marker, b"")?;
    Ok(root)
}

/// Every regular file under `root`, sorted.
pub fn walk(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}
