use std::fs;
use std::path::Path;

use super::*;
use crate::platform::Platform;
use crate::progress::no_progress;

fn write(root: &Path, rel: &str, body: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

fn scan_with(root: &Path, options: &ScanOptions) -> Result<FileSet> {
    scan(root, options, &no_progress(), &CancellationToken::new())
}

fn paths(set: &FileSet) -> Vec<&str> {
    set.files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn lists_files_with_relative_slash_paths_sorted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "<h1>hi</h1>");
    write(dir.path(), "css/site.css", "body{}");
    write(dir.path(), "a/b/c/deep.txt", "deep");
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(
        paths(&set),
        ["a/b/c/deep.txt", "css/site.css", "index.html"]
    );
    assert_eq!(set.total_bytes, 11 + 6 + 4);
    assert!(set.ignored.is_empty() && set.held_back.is_empty() && set.warnings.is_empty());
}

#[test]
fn each_default_ignore_is_skipped_at_any_depth() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "x");
    for name in [
        "node_modules/pkg/index.js",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        "__MACOSX/._index.html",
    ] {
        write(dir.path(), name, "x");
        write(dir.path(), &format!("sub/{name}"), "x");
    }
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["index.html"]);
    let ignored: Vec<_> = set.ignored.iter().map(|p| p.as_str()).collect();
    assert_eq!(
        ignored,
        [
            ".DS_Store",
            "Thumbs.db",
            "__MACOSX",
            "desktop.ini",
            "node_modules",
            "sub/.DS_Store",
            "sub/Thumbs.db",
            "sub/__MACOSX",
            "sub/desktop.ini",
            "sub/node_modules",
        ]
    );
}

#[test]
fn editor_temp_files_are_never_published() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "index.html",
        ".index.html.swp",
        "index.html~",
        "4913",
        ".#index.html",
        "#index.html#",
        "a.crdownload",
    ] {
        write(dir.path(), name, "x");
    }
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["index.html"]);
    assert_eq!(set.ignored.len(), 6);
}

#[test]
fn git_folder_is_held_back_and_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "x");
    write(dir.path(), ".git/config", "[core]");
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["index.html"]);
    assert_eq!(
        set.held_back,
        [HeldBack {
            path: RelPath::new(".git"),
            reason: "version-control history"
        }]
    );
}

#[test]
fn sitedropignore_uses_gitignore_syntax_in_every_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".sitedropignore",
        "*.map\n/drafts/\n!keep.map\n",
    );
    write(dir.path(), "app.js", "x");
    write(dir.path(), "app.js.map", "x");
    write(dir.path(), "keep.map", "x");
    write(dir.path(), "drafts/post.html", "x");
    write(dir.path(), "blog/drafts/post.html", "x");
    write(dir.path(), "blog/.sitedropignore", "secret-*.html\n");
    write(dir.path(), "blog/secret-plan.html", "x");
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["app.js", "blog/drafts/post.html", "keep.map"]);
}

#[test]
fn secret_guard_holds_back_env_and_keys_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "x");
    write(dir.path(), ".env", "API_KEY=1");
    write(dir.path(), "config/.env.production", "API_KEY=2");
    write(dir.path(), "id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----");
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["index.html"]);
    let held: Vec<_> = set.held_back.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(held, [".env", "config/.env.production", "id_rsa"]);

    let allow_one = ScanOptions {
        secrets: SecretPolicy::Allow(vec!["config/.env.production".into()]),
        ..Default::default()
    };
    let set = scan_with(dir.path(), &allow_one).unwrap();
    assert_eq!(paths(&set), ["config/.env.production", "index.html"]);

    let allow_all = ScanOptions {
        secrets: SecretPolicy::AllowAll,
        ..Default::default()
    };
    assert_eq!(scan_with(dir.path(), &allow_all).unwrap().files.len(), 4);
}

#[cfg(unix)]
#[test]
fn symlink_inside_the_folder_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "real/page.html", "page");
    std::os::unix::fs::symlink("real/page.html", dir.path().join("link.html")).unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("alias")).unwrap();
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(
        paths(&set),
        ["alias/page.html", "link.html", "real/page.html"]
    );
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let link = set
        .files
        .iter()
        .find(|f| f.path.as_str() == "link.html")
        .unwrap();
    assert_eq!(link.size, 4);
}

#[cfg(unix)]
#[test]
fn symlink_leaving_the_folder_is_skipped_with_a_warning() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", "do not publish");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "x");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("leakdir")).unwrap();
    std::os::unix::fs::symlink("../../etc", dir.path().join("up")).unwrap();
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["index.html"]);
    assert_eq!(
        set.warnings,
        [
            ScanWarning::SymlinkOutside {
                path: "leak.txt".into()
            },
            ScanWarning::SymlinkOutside {
                path: "leakdir".into()
            },
            ScanWarning::SymlinkOutside { path: "up".into() },
        ]
    );
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/index.html", "x");
    std::os::unix::fs::symlink("..", dir.path().join("a/loop")).unwrap();
    std::os::unix::fs::symlink("self", dir.path().join("self")).unwrap();
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["a/index.html"]);
    assert!(
        set.warnings.contains(&ScanWarning::SymlinkLoop {
            path: "a/loop".into()
        }),
        "{:?}",
        set.warnings
    );
    assert!(
        set.warnings.contains(&ScanWarning::SymlinkLoop {
            path: "self".into()
        }),
        "{:?}",
        set.warnings
    );
    std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).unwrap();
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert!(
        set.warnings.contains(&ScanWarning::BrokenSymlink {
            path: "dangling".into()
        }),
        "{:?}",
        set.warnings
    );
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_are_skipped_with_a_warning() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "x");
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9.html");
    fs::write(dir.path().join(bad), "latin-1 name").unwrap();
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), ["index.html"]);
    assert_eq!(
        set.warnings,
        [ScanWarning::NotUtf8 {
            path: "caf\u{fffd}.html".into()
        }]
    );
}

#[test]
fn pages_rules_skip_top_level_config_but_not_nested_copies() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "index.html",
        "_headers",
        "_redirects",
        "_worker.js",
        "functions/api.js",
        "sub/_headers",
        "sub/functions/x.js",
    ] {
        write(dir.path(), name, "x");
    }
    let options = ScanOptions {
        rules: Platform::CloudflarePages.descriptor().scan_rules(),
        ..Default::default()
    };
    let set = scan_with(dir.path(), &options).unwrap();
    assert_eq!(
        paths(&set),
        ["index.html", "sub/_headers", "sub/functions/x.js"]
    );
}

#[test]
fn workers_rules_read_assetsignore() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".assetsignore", "*.txt\n");
    write(dir.path(), "index.html", "x");
    write(dir.path(), "notes.txt", "x");
    let options = ScanOptions {
        rules: Platform::CloudflareWorkers.descriptor().scan_rules(),
        ..Default::default()
    };
    assert_eq!(
        paths(&scan_with(dir.path(), &options).unwrap()),
        ["index.html"]
    );
    // Other platforms do not read it, but never publish it either.
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&set), [".assetsignore", "index.html", "notes.txt"]);
}

#[test]
fn missing_folder_and_file_instead_of_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = scan_with(&missing, &ScanOptions::default()).unwrap_err();
    assert_eq!(err.kind(), "folder_missing");
    assert!(err.to_string().contains("does not exist"), "{err}");

    write(dir.path(), "page.html", "x");
    let err = scan_with(&dir.path().join("page.html"), &ScanOptions::default()).unwrap_err();
    assert_eq!(err.kind(), "not_a_folder");
    assert!(err.to_string().contains("is a file, not a folder"), "{err}");
}

#[test]
fn empty_folder_says_what_was_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let set = scan_with(dir.path(), &ScanOptions::default()).unwrap();
    let err = set.ensure_not_empty().unwrap_err();
    assert_eq!(err.kind(), "empty_folder");
    assert!(
        err.to_string().contains("has nothing to publish. Add"),
        "{err}"
    );

    write(dir.path(), ".env", "x");
    write(dir.path(), "node_modules/a.js", "x");
    let err = scan_with(dir.path(), &ScanOptions::default())
        .unwrap()
        .ensure_not_empty()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("(1 held back as possible secrets, 1 ignored)"),
        "{err}"
    );
}

#[test]
fn scan_reports_progress_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2500 {
        write(dir.path(), &format!("p/{i}.html"), "x");
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink: ProgressSink = {
        let events = events.clone();
        Arc::new(move |p| events.lock().unwrap().push(p))
    };
    scan(
        dir.path(),
        &ScanOptions::default(),
        &sink,
        &CancellationToken::new(),
    )
    .unwrap();
    let events = events.lock().unwrap();
    let scanning = events
        .iter()
        .filter(|e| matches!(e, Progress::Scanning { .. }))
        .count();
    assert_eq!(scanning, 2);
    assert_eq!(
        events.last(),
        Some(&Progress::Scanned {
            files: 2500,
            bytes: 2500,
            ignored: 0,
            held_back: 0
        })
    );
}

#[test]
fn a_cancelled_scan_stops() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "x");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = scan(dir.path(), &ScanOptions::default(), &no_progress(), &cancel).unwrap_err();
    assert_eq!(err.kind(), "cancelled");
}
