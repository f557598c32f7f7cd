//! What a scan leaves out: Sitedrop's default ignores, ignore files, and each platform's rules.

use crate::platform::Platform;

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
    /// The rules a platform adds to Sitedrop's defaults. This is the one place they live, so a
    /// deploy, a watch's change check, the app's preview of a folder and `sitedrop preview`
    /// all agree on what a site holds.
    pub fn for_platform(platform: Platform) -> ScanRules {
        let mut rules = ScanRules::default();
        match platform {
            // specs/cloudflare.md §3.2: these are Pages configuration, never assets; the
            // configuration files travel as their own multipart parts.
            Platform::CloudflarePages => {
                rules.patterns.extend(
                    [
                        "/_worker.js",
                        "/_redirects",
                        "/_headers",
                        "/_routes.json",
                        "/functions",
                        "/.wrangler",
                    ]
                    .map(String::from),
                );
            }
            // specs/cloudflare.md §4.2: `.assetsignore` lists what to leave out, and the top-level
            // `_redirects` / `_headers` travel in the Worker's metadata.
            Platform::CloudflareWorkers => {
                rules.ignore_files.push(".assetsignore".to_string());
                rules
                    .patterns
                    .extend(["/_redirects", "/_headers"].map(String::from));
            }
            // specs/netlify.md §3.3: dotfiles are not deployed, except `.well-known`.
            Platform::Netlify => {
                rules
                    .patterns
                    .extend([".*", "!.well-known"].map(String::from));
            }
            // specs/vercel.md §3.1: the CLI's default ignores and `.vercelignore`, minus what
            // the secret guard already holds back and names (`.git`, `.env*`).
            Platform::Vercel => {
                rules
                    .ignore_files
                    .extend([".vercelignore", ".nowignore"].map(String::from));
                rules.patterns.extend(
                    [
                        ".hg",
                        ".gitmodules",
                        ".svn",
                        ".cache",
                        ".next",
                        ".now",
                        ".vercel",
                        ".npmignore",
                        ".dockerignore",
                        ".gitignore",
                        ".*.swp",
                        ".wafpickle-*",
                        ".lock-wscript",
                        ".venv",
                        ".yarn/cache",
                        ".pnp*",
                        "npm-debug.log",
                        "config.gypi",
                        "__pycache__",
                        "venv",
                        "CVS",
                    ]
                    .map(String::from),
                );
            }
            Platform::Amplify | Platform::Local => {}
        }
        rules
    }

    /// True for the ignore files themselves, which configure the scan and are not published.
    pub fn is_ignore_file(&self, name: &str) -> bool {
        self.ignore_files.iter().any(|f| f == name)
    }
}
