//! Paths inside the deployed folder, as every platform wants them.

use std::fmt;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A file's path relative to the deployed folder: `/`-separated, no leading slash, Unicode NFC
/// (macOS hands out NFD names; platforms and browsers expect NFC).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RelPath(String);

impl RelPath {
    /// Builds the relative path of `path` under `root`. `None` when `path` is not under `root`
    /// or a component is not valid UTF-8 (such names cannot travel in any platform's manifest).
    pub fn from_fs(root: &Path, path: &Path) -> Option<RelPath> {
        let rel = path.strip_prefix(root).ok()?;
        let mut parts = Vec::new();
        for component in rel.components() {
            match component {
                Component::Normal(name) => parts.push(name.to_str()?.nfc().collect::<String>()),
                Component::CurDir => {}
                _ => return None,
            }
        }
        if parts.is_empty() {
            return None;
        }
        Some(RelPath(parts.join("/")))
    }

    /// Wraps a string already in manifest form (tests, stored manifests).
    pub fn new(s: impl Into<String>) -> RelPath {
        let s: String = s.into();
        RelPath(s.trim_start_matches('/').nfc().collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last component: `css/site.css` → `site.css`.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The extension as `Path::extension` sees it, without the dot; `""` when there is none.
    /// (`specs/cloudflare.md` §2: `.htaccess` and `README` have none, `a.tar.gz` has `gz`.)
    pub fn extension(&self) -> &str {
        Path::new(self.file_name())
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
    }

    /// The path with a leading slash, as Cloudflare manifests and URLs write it.
    pub fn with_leading_slash(&self) -> String {
        format!("/{}", self.0)
    }

    /// True for a file at the top of the folder.
    pub fn is_top_level(&self) -> bool {
        !self.0.contains('/')
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn relative_paths_use_slashes_and_nfc() {
        let root = PathBuf::from("/site");
        let nfd = "cafe\u{301}.html"; // "café" decomposed, as macOS writes it
        let rel = RelPath::from_fs(&root, &root.join("docs").join(nfd)).unwrap();
        assert_eq!(rel.as_str(), "docs/caf\u{e9}.html");
        assert_eq!(rel.file_name(), "caf\u{e9}.html");
    }

    #[test]
    fn extensions_follow_the_cloudflare_table() {
        for (name, ext) in [
            (".htaccess", ""),
            ("README", ""),
            ("a.", ""),
            ("a.tar.gz", "gz"),
            ("IMG.JPG", "JPG"),
            ("..b", "b"),
            ("x/.env.local", "local"),
        ] {
            assert_eq!(RelPath::new(name).extension(), ext, "{name}");
        }
    }

    #[test]
    fn the_root_itself_is_not_a_relative_path() {
        assert_eq!(
            RelPath::from_fs(Path::new("/site"), Path::new("/site")),
            None
        );
        assert_eq!(
            RelPath::from_fs(Path::new("/site"), Path::new("/other/x")),
            None
        );
    }
}
