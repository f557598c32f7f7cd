//! Project names derived from folder names, valid on every platform.

use std::path::Path;

/// Folder names that say how a site was built, not what it is; the parent names it better
/// (`~/code/blog/dist` → `blog`).
const BUILD_FOLDERS: [&str; 9] = [
    "dist", "build", "out", "public", "_site", "www", "site", "output", "html",
];

/// The name to derive a project name from: the folder's, or its parent's for build folders.
pub fn folder_label(folder: &Path) -> String {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let own = name(folder).unwrap_or_default();
    if BUILD_FOLDERS.contains(&own.to_ascii_lowercase().as_str()) {
        if let Some(parent) = folder.parent().and_then(name) {
            return parent;
        }
    }
    own
}

/// A DNS-label-safe name: lowercase `a-z`, `0-9` and single hyphens, no hyphen at either end,
/// at most `max_len` characters, never empty (`site` when nothing usable is left).
pub fn slug(name: &str, max_len: usize) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'a'..='z' | '0'..='9' => c,
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            _ => '-',
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max_len);
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "site".to_string()
    } else {
        trimmed.to_string()
    }
}

/// `name` with `-suffix`, shortened so the whole stays within `max_len`.
pub fn with_suffix(name: &str, suffix: &str, max_len: usize) -> String {
    let room = max_len.saturating_sub(suffix.len() + 1);
    let base: String = name.chars().take(room).collect();
    format!("{}-{suffix}", base.trim_end_matches('-'))
}

/// A short random suffix for a name that is taken.
pub fn random_suffix() -> String {
    use crate::retry::{Jitter, SplitMix64};
    let mut rng = SplitMix64::from_entropy();
    (0..5)
        .map(|_| {
            let n = (rng.next_unit() * 36.0) as u32;
            std::char::from_digit(n.min(35), 36).unwrap_or('x')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_dns_safe() {
        assert_eq!(slug("My Blog", 58), "my-blog");
        assert_eq!(slug("  --Café  Crème!!--", 58), "cafe-creme");
        assert_eq!(slug("日本語", 58), "site");
        assert_eq!(slug("a".repeat(80).as_str(), 58).len(), 58);
        assert_eq!(slug("ab-----------------cd", 4), "ab-c");
        assert_eq!(slug("abc-def", 4), "abc");
    }

    #[test]
    fn build_folders_take_their_parents_name() {
        assert_eq!(folder_label(Path::new("/home/ann/blog/dist")), "blog");
        assert_eq!(folder_label(Path::new("/home/ann/portfolio")), "portfolio");
    }

    #[test]
    fn suffixes_keep_within_the_limit() {
        let named = with_suffix(&"x".repeat(58), "k3z9q", 58);
        assert_eq!(named.len(), 58);
        assert!(named.ends_with("-k3z9q"));
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
