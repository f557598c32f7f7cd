//! Walks a folder and decides which files make up the site.
//!
//! Built on the `ignore` crate's parallel walker (the one ripgrep uses): fast on 20,000-file
//! sites, gitignore syntax for `.sitedropignore`, and loop detection when following links.
//!
//! Edges, deliberately:
//! - Symbolic links are followed only when they resolve inside the folder. A link leaving it
//!   (it could publish `~/.ssh`) or one that points nowhere is skipped with a warning; a link
//!   back up to an ancestor (a loop) is skipped with a warning.
//! - A folder that cannot be listed fails the scan: publishing a site with a hole in it
//!   silently is worse than stopping. An unreadable *file* is caught when it is hashed.
//! - Names that are not valid UTF-8 cannot be written in any platform's manifest; they are
//!   skipped with a warning naming them.

pub mod rules;
pub mod secrets;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{DirEntry, WalkBuilder, WalkState};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressSink};
use crate::relpath::RelPath;
pub use rules::ScanRules;
pub use secrets::{HeldBack, SecretPolicy};

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub rules: ScanRules,
    pub secrets: SecretPolicy,
}

/// One file of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: RelPath,
    /// Where to read it (through the link, for a followed symlink).
    pub abs: PathBuf,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch; with size and inode it keys the
    /// digest cache.
    pub modified_ns: i64,
    pub inode: u64,
}

/// Something the scan skipped that the person should hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanWarning {
    SymlinkOutside { path: String },
    SymlinkLoop { path: String },
    BrokenSymlink { path: String },
    NotUtf8 { path: String },
    NotARegularFile { path: String },
    DuplicateName { path: String },
    BadIgnoreRule { detail: String },
}

impl std::fmt::Display for ScanWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanWarning::SymlinkOutside { path } => {
                write!(f, "Skipped {path}: it is a link to something outside the folder.")
            }
            ScanWarning::SymlinkLoop { path } => {
                write!(f, "Skipped {path}: it is a link that loops back to a folder above it.")
            }
            ScanWarning::BrokenSymlink { path } => {
                write!(f, "Skipped {path}: it is a link to something that does not exist.")
            }
            ScanWarning::NotUtf8 { path } => write!(
                f,
                "Skipped {path}: its name is not valid text (UTF-8), so no platform can serve it. Rename it to publish it."
            ),
            ScanWarning::NotARegularFile { path } => {
                write!(f, "Skipped {path}: it is not a regular file (a pipe, socket or device).")
            }
            ScanWarning::DuplicateName { path } => write!(
                f,
                "Skipped a second file named {path}: two names differ only in how accents are encoded."
            ),
            ScanWarning::BadIgnoreRule { detail } => write!(f, "An ignore rule was not understood: {detail}"),
        }
    }
}

/// The files of a site, sorted by path, and what was left out.
#[derive(Debug, Clone, Default)]
pub struct FileSet {
    pub root: PathBuf,
    pub files: Vec<FileEntry>,
    pub total_bytes: u64,
    /// Top-most entries skipped by Sitedrop's and the platform's rules (a skipped folder is one
    /// entry). Entries listed in `.sitedropignore` are not repeated here.
    pub ignored: Vec<RelPath>,
    pub held_back: Vec<HeldBack>,
    pub warnings: Vec<ScanWarning>,
}

impl FileSet {
    /// A short digest of what would be published: every kept file's path, size, modification
    /// time and inode. Equal fingerprints mean a deploy would publish the same thing.
    pub fn fingerprint(&self) -> String {
        let mut h = blake3::Hasher::new();
        for f in &self.files {
            h.update(f.path.as_str().as_bytes());
            h.update(&[0]);
            h.update(&f.size.to_le_bytes());
            h.update(&f.modified_ns.to_le_bytes());
            h.update(&f.inode.to_le_bytes());
        }
        h.finalize().to_hex()[..32].to_string()
    }

    /// Fails when a file cannot be published at all because its name is not valid text:
    /// skipping it would publish an incomplete site without the person noticing.
    pub fn ensure_names_publishable(&self, platform: crate::platform::Platform) -> Result<()> {
        let bad: Vec<&str> = self
            .warnings
            .iter()
            .filter_map(|w| match w {
                ScanWarning::NotUtf8 { path } => Some(path.as_str()),
                _ => None,
            })
            .collect();
        match bad.first() {
            None => Ok(()),
            Some(first) => Err(Error::BadFileName {
                platform,
                path: first.to_string(),
                reason: format!(
                    "its name is not valid text (UTF-8), so no web server can serve it{}",
                    if bad.len() > 1 {
                        format!(" ({} such files)", bad.len())
                    } else {
                        String::new()
                    }
                ),
            }),
        }
    }

    /// Fails with a sentence that says what was left out when nothing is left to publish.
    pub fn ensure_not_empty(&self) -> Result<()> {
        if !self.files.is_empty() {
            return Ok(());
        }
        let mut left_out = Vec::new();
        if !self.held_back.is_empty() {
            left_out.push(format!(
                "{} held back as possible secrets",
                self.held_back.len()
            ));
        }
        if !self.ignored.is_empty() {
            left_out.push(format!("{} ignored", self.ignored.len()));
        }
        if !self.warnings.is_empty() {
            left_out.push(format!("{} skipped", self.warnings.len()));
        }
        let detail = if left_out.is_empty() {
            String::new()
        } else {
            format!(" ({})", left_out.join(", "))
        };
        Err(Error::EmptyFolder {
            folder: self.root.clone(),
            detail,
        })
    }
}

/// Checks that `folder` is a folder Sitedrop can deploy, with a sentence when it is not.
pub fn check_folder(folder: &Path) -> Result<()> {
    match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::NotAFolder(folder.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::FolderMissing(folder.to_path_buf()))
        }
        Err(e) => Err(Error::Unreadable {
            path: folder.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Walks `folder` and returns the site's files. Blocking: call it off the async runtime.
pub fn scan(
    folder: &Path,
    options: &ScanOptions,
    progress: &ProgressSink,
    cancel: &CancellationToken,
) -> Result<FileSet> {
    check_folder(folder)?;
    let canonical_root = folder.canonicalize().map_err(|e| Error::Unreadable {
        path: folder.display().to_string(),
        reason: e.to_string(),
    })?;
    let patterns = build_patterns(folder, &options.rules)?;
    let notes = Arc::new(Mutex::new(Notes::default()));

    let mut builder = WalkBuilder::new(folder);
    builder
        .standard_filters(false)
        .follow_links(true)
        .threads(std::thread::available_parallelism().map_or(2, |n| n.get()));
    for name in &options.rules.ignore_files {
        builder.add_custom_ignore_filename(name);
    }
    let filter = EntryFilter {
        root: folder.to_path_buf(),
        canonical_root,
        rules: options.rules.clone(),
        patterns,
        secrets: options.secrets.clone(),
        notes: notes.clone(),
    };
    builder.filter_entry(move |entry| filter.keep(entry));

    let found_files = AtomicU64::new(0);
    let found_bytes = AtomicU64::new(0);
    let collected = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        let notes = notes.clone();
        let (found_files, found_bytes, collected) = (&found_files, &found_bytes, &collected);
        Box::new(move |result| {
            if cancel.is_cancelled() {
                return WalkState::Quit;
            }
            match result {
                Ok(entry) => {
                    if let Some(file) = file_entry(folder, &entry, &notes) {
                        let n = found_files.fetch_add(1, Ordering::Relaxed) + 1;
                        let bytes = found_bytes.fetch_add(file.size, Ordering::Relaxed) + file.size;
                        if n % 1000 == 0 {
                            progress(Progress::Scanning { files: n, bytes });
                        }
                        lock(collected).push(file);
                    }
                }
                Err(err) => lock(&notes).walk_error(folder, err),
            }
            WalkState::Continue
        })
    });
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let notes = std::mem::take(&mut *lock(&notes));
    if let Some(err) = notes.fatal {
        return Err(err);
    }
    let mut files = collected.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let mut warnings = notes.warnings;
    let mut seen = HashSet::new();
    files.retain(|f| {
        let fresh = seen.insert(f.path.clone());
        if !fresh {
            warnings.push(ScanWarning::DuplicateName {
                path: f.path.to_string(),
            });
        }
        fresh
    });
    let total_bytes = files.iter().map(|f| f.size).sum();
    let mut ignored = notes.ignored;
    ignored.sort();
    let mut held_back = notes.held_back;
    held_back.sort_by(|a, b| a.path.cmp(&b.path));
    warnings.sort_by_key(|w| w.to_string());
    let set = FileSet {
        root: folder.to_path_buf(),
        files,
        total_bytes,
        ignored,
        held_back,
        warnings,
    };
    progress(Progress::Scanned {
        files: set.files.len() as u64,
        bytes: set.total_bytes,
        ignored: set.ignored.len() as u64,
        held_back: set.held_back.len() as u64,
    });
    Ok(set)
}

/// What the filter and the visitors learn along the way.
#[derive(Default)]
struct Notes {
    ignored: Vec<RelPath>,
    held_back: Vec<HeldBack>,
    warnings: Vec<ScanWarning>,
    fatal: Option<Error>,
}

impl Notes {
    fn walk_error(&mut self, root: &Path, err: ignore::Error) {
        let (path, inner) = unwrap_error(err);
        let shown = path
            .as_deref()
            .map(|p| {
                RelPath::from_fs(root, p).map_or_else(|| p.display().to_string(), |r| r.to_string())
            })
            .unwrap_or_default();
        match inner {
            ignore::Error::Loop { .. } => {
                self.warnings.push(ScanWarning::SymlinkLoop { path: shown })
            }
            ignore::Error::Io(io) if is_link_loop(&io) => {
                self.warnings.push(ScanWarning::SymlinkLoop { path: shown })
            }
            ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => self
                .warnings
                .push(ScanWarning::BrokenSymlink { path: shown }),
            ignore::Error::Io(io) => {
                if self.fatal.is_none() {
                    let reason = match io.kind() {
                        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                        _ => io.to_string(),
                    };
                    self.fatal = Some(Error::Unreadable {
                        path: shown,
                        reason,
                    });
                }
            }
            other => self.warnings.push(ScanWarning::BadIgnoreRule {
                detail: other.to_string(),
            }),
        }
    }
}

/// A link that points (eventually) at itself: `ELOOP`, "too many levels of symbolic links".
fn is_link_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Peels the path and depth wrappers off a walker error.
fn unwrap_error(err: ignore::Error) -> (Option<PathBuf>, ignore::Error) {
    let mut path = None;
    let mut err = err;
    loop {
        err = match err {
            ignore::Error::WithPath { path: p, err } => {
                path.get_or_insert(p);
                *err
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                *err
            }
            ignore::Error::Loop { ref child, .. } => {
                path.get_or_insert(child.clone());
                return (path, err);
            }
            ignore::Error::Partial(mut errs) if errs.len() == 1 => errs.remove(0),
            other => return (path, other),
        };
    }
}

/// The per-entry decision, shared by the walker's threads.
struct EntryFilter {
    root: PathBuf,
    canonical_root: PathBuf,
    rules: ScanRules,
    patterns: Gitignore,
    secrets: SecretPolicy,
    notes: Arc<Mutex<Notes>>,
}

impl EntryFilter {
    fn keep(&self, entry: &DirEntry) -> bool {
        if entry.depth() == 0 {
            return true;
        }
        let Some(rel) = RelPath::from_fs(&self.root, entry.path()) else {
            let shown = entry
                .path()
                .strip_prefix(&self.root)
                .unwrap_or(entry.path());
            lock(&self.notes).warnings.push(ScanWarning::NotUtf8 {
                path: shown.to_string_lossy().into_owned(),
            });
            return false;
        };
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let name = rel.file_name();
        if self.rules.default_ignores && rules::is_default_ignored(name) {
            lock(&self.notes).ignored.push(rel);
            return false;
        }
        if !is_dir && self.rules.is_ignore_file(name) {
            return false;
        }
        if self.patterns.matched(rel.as_str(), is_dir).is_ignore() {
            lock(&self.notes).ignored.push(rel);
            return false;
        }
        if let Some(held) = secrets::check(&rel, is_dir, &self.secrets) {
            lock(&self.notes).held_back.push(held);
            return false;
        }
        if entry.path_is_symlink() {
            match entry.path().canonicalize() {
                Ok(target) if target.starts_with(&self.canonical_root) => {}
                Ok(_) => {
                    lock(&self.notes)
                        .warnings
                        .push(ScanWarning::SymlinkOutside {
                            path: rel.to_string(),
                        });
                    return false;
                }
                Err(e) if is_link_loop(&e) => {
                    lock(&self.notes).warnings.push(ScanWarning::SymlinkLoop {
                        path: rel.to_string(),
                    });
                    return false;
                }
                Err(_) => {
                    lock(&self.notes).warnings.push(ScanWarning::BrokenSymlink {
                        path: rel.to_string(),
                    });
                    return false;
                }
            }
        }
        true
    }
}

/// Turns a walked entry into a file of the site, or `None` for folders and special files.
fn file_entry(root: &Path, entry: &DirEntry, notes: &Mutex<Notes>) -> Option<FileEntry> {
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        return None;
    }
    let path = RelPath::from_fs(root, entry.path())?;
    if !file_type.is_file() {
        lock(notes).warnings.push(ScanWarning::NotARegularFile {
            path: path.to_string(),
        });
        return None;
    }
    let meta = match entry.metadata() {
        Ok(meta) => meta,
        Err(err) => {
            lock(notes).walk_error(root, err);
            return None;
        }
    };
    let (modified_ns, inode) = file_identity(&meta);
    Some(FileEntry {
        path,
        abs: entry.path().to_path_buf(),
        size: meta.len(),
        modified_ns,
        inode,
    })
}

/// Modification time (ns) and inode: with the size, what tells an unchanged file.
pub(crate) fn file_identity(meta: &std::fs::Metadata) -> (i64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (
            meta.mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.mtime_nsec()),
            meta.ino(),
        )
    }
    #[cfg(not(unix))]
    {
        let ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        (ns, 0)
    }
}

fn build_patterns(root: &Path, rules: &ScanRules) -> Result<Gitignore> {
    let mut builder = GitignoreBuilder::new(root);
    for pattern in &rules.patterns {
        builder
            .add_line(None, pattern)
            .map_err(|e| Error::Invalid(format!("Bad ignore pattern {pattern}: {e}")))?;
    }
    builder
        .build()
        .map_err(|e| Error::Invalid(format!("Bad ignore patterns: {e}")))
}

/// Locks a mutex, recovering the data if a walker thread panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
