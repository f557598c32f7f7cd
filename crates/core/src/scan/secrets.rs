//! The secret guard: files that look like credentials are held back unless the user allows them.
//!
//! Static sites are often built in a project folder, and a stray `.env` or SSH key published to
//! a public URL is the costliest mistake a deploy tool can make. The guard matches names only
//! (no file is read during a scan), errs towards holding back, and always says what it held.

use serde::Serialize;

use crate::relpath::RelPath;

/// What the user allowed the guard to let through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecretPolicy {
    /// Hold back everything that looks secret (the default).
    #[default]
    HoldBack,
    /// Publish these paths even though they look secret (exact relative paths).
    Allow(Vec<String>),
    /// Publish everything; the user said so explicitly.
    AllowAll,
}

impl SecretPolicy {
    fn allows(&self, path: &RelPath) -> bool {
        match self {
            SecretPolicy::HoldBack => false,
            SecretPolicy::AllowAll => true,
            SecretPolicy::Allow(paths) => {
                paths.iter().any(|p| p.trim_matches('/') == path.as_str())
            }
        }
    }
}

/// A file or folder the guard kept out of the deploy, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldBack {
    pub path: RelPath,
    pub reason: &'static str,
}

/// Why a name looks like a secret, or `None` when it does not.
pub fn secret_reason(name: &str, is_dir: bool) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if is_dir {
        return match lower.as_str() {
            ".git" | ".hg" | ".svn" => Some("version-control history"),
            ".ssh" | ".gnupg" => Some("keys folder"),
            ".aws" => Some("cloud credentials folder"),
            _ => None,
        };
    }
    if lower == ".env" || lower.starts_with(".env.") {
        return Some("environment file, often holds passwords");
    }
    if ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"]
        .iter()
        .any(|k| lower.starts_with(k))
    {
        return Some("SSH key");
    }
    if [
        ".pem",
        ".key",
        ".p12",
        ".pfx",
        ".keystore",
        ".jks",
        ".ppk",
        ".kdbx",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
    {
        return Some("private key or certificate store");
    }
    match lower.as_str() {
        ".npmrc" | ".pypirc" | ".netrc" | ".git-credentials" | ".dockercfg" => {
            Some("credentials file")
        }
        ".htpasswd" => Some("password file"),
        "credentials" | "credentials.json" | "service-account.json" => Some("credentials file"),
        ".sitedrop-secret" => Some("credentials file"),
        _ => None,
    }
}

/// Decides one entry: `Some(HeldBack)` when the guard keeps it out.
pub fn check(path: &RelPath, is_dir: bool, policy: &SecretPolicy) -> Option<HeldBack> {
    let reason = secret_reason(path.file_name(), is_dir)?;
    if policy.allows(path) {
        return None;
    }
    Some(HeldBack {
        path: path.clone(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_what_looks_like_secrets() {
        for name in [
            ".env",
            ".env.local",
            ".ENV.production",
            "id_rsa",
            "id_ed25519.pub",
            "server.pem",
            "tls.key",
            ".npmrc",
            ".htpasswd",
        ] {
            assert!(secret_reason(name, false).is_some(), "{name}");
        }
        assert!(secret_reason(".git", true).is_some());
    }

    #[test]
    fn lets_ordinary_files_through() {
        for name in [
            "index.html",
            "environment.js",
            "keyboard.css",
            "monkey.png",
            "envelope.svg",
            "key.html",
        ] {
            assert_eq!(secret_reason(name, false), None, "{name}");
        }
        assert_eq!(secret_reason("git", true), None);
    }

    #[test]
    fn an_explicit_allow_lets_one_file_through() {
        let env = RelPath::new("config/.env");
        let allow = SecretPolicy::Allow(vec!["config/.env".into()]);
        assert_eq!(check(&env, false, &allow), None);
        assert!(check(&RelPath::new(".env"), false, &allow).is_some());
        assert_eq!(check(&env, false, &SecretPolicy::AllowAll), None);
    }
}
