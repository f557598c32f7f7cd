//! Netlify's rules for file paths (`specs/netlify.md §3`, §6): which files a deploy carries,
//! which names it refuses, and how a path is written into an upload URL.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::scan::FileSet;

/// What JavaScript's `encodeURI` leaves alone besides letters and digits
/// (ECMA-262 `uriReserved`, `uriUnreserved` and `#`). netlify-cli writes file paths into upload
/// URLs with `encodeURI` (§6), so space, `%`, non-ASCII and `"<>\^`{|}` are escaped while
/// `; , / ? : @ & = + $ #` stay as they are.
const ENCODE_URI: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b';')
    .remove(b',')
    .remove(b'/')
    .remove(b'?')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'+')
    .remove(b'$')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'#');

/// `encodeURI(path)`, exactly as netlify-cli puts a manifest path after `/files/`
/// (`specs/netlify.md §6`; the server decodes it once and keeps `+`).
pub fn encode_uri(path: &str) -> String {
    utf8_percent_encode(path, ENCODE_URI).to_string()
}

/// Refuses names Netlify cannot publish before anything is sent: `#` and `?` end the path
/// part of a URL, and netlify-cli aborts on them ("Deployed filenames cannot contain # or ?
/// characters", `specs/netlify.md §3.3`).
pub fn check_files(platform: Platform, files: &FileSet) -> Result<()> {
    let bad: Vec<&str> = files
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| p.contains(['#', '?']))
        .collect();
    let Some(first) = bad.first() else {
        return Ok(());
    };
    let rest = &bad[1..];
    let others = match rest.len() {
        0 => String::new(),
        1 => format!(" (so does {})", rest[0]),
        n => {
            let named = rest[..n.min(3)].join(", ");
            let more = if n > 3 {
                format!(" and {} more", n - 3)
            } else {
                String::new()
            };
            format!(" (so do {named}{more})")
        }
    };
    Err(Error::BadFileName {
        platform,
        path: first.to_string(),
        reason: format!("Netlify does not accept # or ? in file names{others}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relpath::RelPath;
    use crate::scan::FileEntry;
    use std::path::PathBuf;

    #[test]
    fn paths_are_encoded_like_encode_uri() {
        // The table of specs/netlify.md §6, observed on the wire from netlify-cli 27.10.2.
        assert_eq!(encode_uri("café.html"), "caf%C3%A9.html");
        assert_eq!(encode_uri("100%.txt"), "100%25.txt");
        assert_eq!(encode_uri("my file.txt"), "my%20file.txt");
        assert_eq!(encode_uri("a+b&c=d.txt"), "a+b&c=d.txt");
        assert_eq!(
            encode_uri(".well-known/security.txt"),
            ".well-known/security.txt"
        );
        assert_eq!(
            encode_uri("/x/☃ \"<>\\^`{|}"),
            "/x/%E2%98%83%20%22%3C%3E%5C%5E%60%7B%7C%7D"
        );
        assert_eq!(
            encode_uri("a;b,c:d@e$f!g~h*i'j(k)l"),
            "a;b,c:d@e$f!g~h*i'j(k)l"
        );
    }

    fn set(paths: &[&str]) -> FileSet {
        FileSet {
            files: paths
                .iter()
                .map(|p| FileEntry {
                    path: RelPath::new(*p),
                    abs: PathBuf::from(p),
                    size: 1,
                    modified_ns: 0,
                    inode: 0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn hash_and_question_mark_are_refused_naming_the_file() {
        assert!(check_files(Platform::Netlify, &set(&["a.html", "b c.txt"])).is_ok());
        let err = check_files(Platform::Netlify, &set(&["a.html", "notes#1.txt"])).unwrap_err();
        assert_eq!(err.kind(), "bad_file_name");
        assert!(err.to_string().contains("notes#1.txt"), "{err}");
        let err = check_files(
            Platform::Netlify,
            &set(&["a?.txt", "b#.txt", "c?.txt", "d?.txt", "e?.txt", "f?.txt"]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("a?.txt") && err.contains("so do b#.txt, c?.txt, d?.txt and 2 more"),
            "{err}"
        );
    }
}
