//! What a scan leaves out: Sitedrop's default ignores, ignore files, and each platform's rules
//! (declared by the platform, `provider::Descriptor::scan_rules`).

/// Names skipped at any depth on every platform: tool and OS clutter that is never part of a
/// site. (`.git/` is not here: it is held back by the secret guard, which names it.)
pub const DEFAULT_IGNORED_NAMES: [&str; 5] = [
    "node_modules",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    "__MACOSX",
];

/// Names editors and browsers write while saving or downloading (vim's swap files and `4913`
/// probe, Emacs' `~` backups, `.#` locks and `#…#` autosaves, GNOME's `.goutputstream-`,
/// Chrome's `.crdownload`): never part of a site, and never a reason to redeploy.
pub fn is_temp_name(name: &str) -> bool {
    name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swx", ".swo", ".crdownload"]
            .iter()
            .any(|s| name.ends_with(s))
        || name.starts_with(".goutputstream-")
}

/// True for a name Sitedrop leaves out by default at any depth.
pub fn is_default_ignored(name: &str) -> bool {
    DEFAULT_IGNORED_NAMES.contains(&name) || is_temp_name(name)
}

/// Sitedrop's own ignore file, in gitignore syntax, read in every folder of the site.
pub const SITEDROP_IGNORE_FILE: &str = ".sitedropignore";

/// How a scan decides what belongs to the site.
#[derive(Debug, Clone)]
pub struct ScanRules {
    /// Skip [`DEFAULT_IGNORED_NAMES`].
    pub default_ignores: bool,
    /// Ignore files read in every folder (gitignore syntax); they are never published themselves.
    pub ignore_files: Vec<String>,
    /// Gitignore-syntax patterns relative to the folder, e.g. `/_worker.js` (top level only).
    pub patterns: Vec<String>,
}

impl Default for ScanRules {
    fn default() -> Self {
        ScanRules {
            default_ignores: true,
            ignore_files: vec![SITEDROP_IGNORE_FILE.to_string()],
            patterns: Vec::new(),
        }
    }
}

impl ScanRules {
    /// True for the ignore files themselves, which configure the scan and are not published.
    pub fn is_ignore_file(&self, name: &str) -> bool {
        self.ignore_files.iter().any(|f| f == name)
    }
}
