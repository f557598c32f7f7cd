//! Platform limits, checked before a byte is sent; errors name the offending files.

use crate::error::{ByteSize, Error, Result};
use crate::platform::{Limits, Platform};
use crate::scan::FileSet;

/// Fails when a file is larger than the platform takes or there are more files than it takes.
pub fn check(set: &FileSet, limits: Limits, platform: Platform) -> Result<()> {
    if let Some(max) = limits.max_file_size {
        let mut too_large: Vec<(String, u64)> = set
            .files
            .iter()
            .filter(|f| f.size > max)
            .map(|f| (f.path.to_string(), f.size))
            .collect();
        if !too_large.is_empty() {
            too_large.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            return Err(Error::FileTooLarge {
                platform,
                limit: ByteSize(max),
                files: too_large,
            });
        }
    }
    if let Some(max) = limits.max_files {
        let count = set.files.len() as u64;
        if count > max {
            return Err(Error::TooManyFiles {
                platform,
                limit: max,
                count,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relpath::RelPath;
    use crate::scan::FileEntry;
    use std::path::PathBuf;

    fn set(sizes: &[(&str, u64)]) -> FileSet {
        FileSet {
            files: sizes
                .iter()
                .map(|(p, s)| FileEntry {
                    path: RelPath::new(*p),
                    abs: PathBuf::from(p),
                    size: *s,
                    modified_ns: 0,
                    inode: 0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn oversized_files_are_named_largest_first() {
        let limits = Platform::CloudflarePages.limits();
        let mib = 1024 * 1024;
        let err = check(
            &set(&[("ok.html", 10), ("a.zip", 26 * mib), ("b.mp4", 40 * mib)]),
            limits,
            Platform::CloudflarePages,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("Too large: b.mp4 (40 MiB), a.zip (26 MiB)"),
            "{msg}"
        );
        assert_eq!(err.kind(), "file_too_large");
    }

    #[test]
    fn a_file_exactly_at_the_limit_is_fine() {
        let at_limit = set(&[("x.bin", 25 * 1024 * 1024)]);
        assert!(check(
            &at_limit,
            Platform::CloudflarePages.limits(),
            Platform::CloudflarePages
        )
        .is_ok());
    }

    #[test]
    fn too_many_files_says_how_many() {
        let many: Vec<(String, u64)> = (0..15_001).map(|i| (format!("{i}.html"), 1)).collect();
        let refs: Vec<(&str, u64)> = many.iter().map(|(p, s)| (p.as_str(), *s)).collect();
        let err = check(&set(&refs), Platform::Vercel.limits(), Platform::Vercel).unwrap_err();
        assert_eq!(err.kind(), "too_many_files");
        assert!(
            err.to_string()
                .contains("at most 15000 files in one deploy, and this folder has 15001"),
            "{err}"
        );
    }
}
