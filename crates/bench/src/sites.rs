//! Deterministic benchmark sites: the same bytes on every machine for a given seed.

use std::io::Write;
use std::path::{Path, PathBuf};

/// One kind of file in a site: its extension and size range. Text kinds are printable bytes
/// (they compress as real pages do); the others are random bytes (as images and video are).
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub ext: &'static str,
    pub min_size: usize,
    pub max_size: usize,
    pub text: bool,
}

const fn kind(ext: &'static str, min_size: usize, max_size: usize, text: bool) -> Kind {
    Kind {
        ext,
        min_size,
        max_size,
        text,
    }
}

/// A site to generate.
#[derive(Debug, Clone, Copy)]
pub struct SiteSpec {
    pub name: &'static str,
    /// Pages and assets, not counting the small `index.html` every site gets.
    pub files: usize,
    /// File `i` is of kind `kinds[i % kinds.len()]`; its size is drawn uniformly from the
    /// kind's range.
    pub kinds: &'static [Kind],
    pub seed: u64,
}

const KIB: usize = 1024;

/// About 1,000 files and 50 MB: a blog with pages, styles, scripts and pictures.
pub const BLOG: SiteSpec = SiteSpec {
    name: "blog",
    files: 999,
    kinds: &[
        kind("html", 4 * KIB, 40 * KIB, true),
        kind("jpg", 30 * KIB, 130 * KIB, false),
        kind("html", 4 * KIB, 40 * KIB, true),
        kind("css", 8 * KIB, 60 * KIB, true),
        kind("jpg", 30 * KIB, 130 * KIB, false),
        kind("html", 4 * KIB, 40 * KIB, true),
        kind("js", 20 * KIB, 200 * KIB, true),
        kind("png", 10 * KIB, 100 * KIB, false),
        kind("html", 4 * KIB, 40 * KIB, true),
        kind("jpg", 30 * KIB, 130 * KIB, false),
    ],
    seed: 1,
};

/// 20,000 files of 1–4 KB: a documentation site.
pub const DOCS: SiteSpec = SiteSpec {
    name: "docs",
    files: 19_999,
    kinds: &[
        kind("html", KIB, 4 * KIB, true),
        kind("css", KIB, 4 * KIB, true),
        kind("js", KIB, 4 * KIB, true),
        kind("png", KIB, 4 * KIB, false),
        kind("svg", KIB, 4 * KIB, true),
    ],
    seed: 2,
};

/// 60 files of 18 MiB: about 1 GB of video, audio and pictures.
pub const MEDIA: SiteSpec = SiteSpec {
    name: "media",
    files: 60,
    kinds: &[
        kind("mp4", 18 * KIB * KIB, 18 * KIB * KIB, false),
        kind("jpg", 18 * KIB * KIB, 18 * KIB * KIB, false),
        kind("webm", 18 * KIB * KIB, 18 * KIB * KIB, false),
    ],
    seed: 3,
};

impl SiteSpec {
    /// A smaller variant for quick runs: a quarter of the files, the same kinds.
    pub fn quick(self) -> SiteSpec {
        SiteSpec {
            files: (self.files / 4).max(10),
            ..self
        }
    }

    /// The same site cut to `total` files in all (for a platform's file cap).
    pub fn capped(self, total: usize) -> SiteSpec {
        SiteSpec {
            files: self.files.min(total.saturating_sub(1)),
            ..self
        }
    }

    /// Files in the generated folder, `index.html` included.
    pub fn total_files(&self) -> usize {
        self.files + 1
    }

    pub fn total_hint(&self) -> u64 {
        (0..self.files)
            .map(|i| {
                let k = self.kinds[i % self.kinds.len()];
                ((k.min_size + k.max_size) / 2) as u64
            })
            .sum()
    }

    /// The folder name: name, file count and seed, so variants never collide.
    pub fn dir_name(&self) -> String {
        format!("{}-{}-{}", self.name, self.total_files(), self.seed)
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

/// Where file `i` of a site lives, relative to its root.
pub fn rel_path(spec: &SiteSpec, i: usize) -> String {
    let ext = spec.kinds[i % spec.kinds.len()].ext;
    format!("section-{:03}/page-{i:05}.{ext}", i / 200)
}

/// Generates the site under `base` unless an identical one is already there; returns its root.
pub fn generate(base: &Path, spec: SiteSpec) -> std::io::Result<PathBuf> {
    let root = base.join(spec.dir_name());
    // The marker lives beside the site, not in it, so it is never part of what is measured.
    let marker = base.join(format!("{}.complete", spec.dir_name()));
    if marker.exists() {
        return Ok(root);
    }
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let mut rng = Rng::new(spec.seed);
    let mut buf = Vec::new();
    for i in 0..spec.files {
        let kind = spec.kinds[i % spec.kinds.len()];
        let size = rng.range(kind.min_size, kind.max_size);
        let path = root.join(rel_path(&spec, i));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        buf.resize(size, 0);
        rng.fill(&mut buf);
        if kind.text {
            // Text files: printable bytes, as a real site would have.
            for b in buf.iter_mut() {
                *b = b"abcdefghijklmnopqrstuvwxyz <>/=\n"[(*b % 32) as usize];
            }
        }
        std::fs::File::create(&path)?.write_all(&buf)?;
    }
    std::fs::write(
        root.join("index.html"),
        b"<!doctype html><h1>Benchmark site</h1>\n",
    )?;
    // Age the files so the digest cache does not treat them as just written ("racy").
    for entry in walk(&root)? {
        age(&entry)?;
    }
    std::fs::write(&marker, b"")?;
    Ok(root)
}

/// Puts a file's modification time an hour back, outside the digest cache's racy window.
pub fn age(path: &Path) -> std::io::Result<()> {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(old)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_have_the_sizes_the_issue_names() {
        assert_eq!(BLOG.total_files(), 1000);
        let blog_mb = BLOG.total_hint() as f64 / 1e6;
        assert!((45.0..60.0).contains(&blog_mb), "{blog_mb}");
        assert_eq!(DOCS.total_files(), 20_000);
        assert_eq!(MEDIA.files, 60);
        assert_eq!(MEDIA.total_hint(), 60 * 18 * 1024 * 1024);
        assert_eq!(DOCS.capped(15_000).total_files(), 15_000);
    }

    #[test]
    fn generation_is_deterministic() {
        let spec = SiteSpec {
            name: "t",
            files: 12,
            kinds: BLOG.kinds,
            seed: 9,
        };
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ra = generate(a.path(), spec).unwrap();
        let rb = generate(b.path(), spec).unwrap();
        let fa = walk(&ra).unwrap();
        assert_eq!(fa.len(), 13);
        for f in fa {
            let rel = f.strip_prefix(&ra).unwrap();
            assert_eq!(
                std::fs::read(&f).unwrap(),
                std::fs::read(rb.join(rel)).unwrap()
            );
        }
    }
}
