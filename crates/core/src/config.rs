//! Settings read from the environment once, at start-up (`DESIGN.md`, "Contracts").
//!
//! Taking a snapshot keeps the engine testable (tests build an [`Env`] by hand) and means a
//! secret read from the environment is read in one place.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The environment variables Sitedrop reads: its own, and those each platform's descriptor
/// names (a test in `provider::descriptor` checks that none is missing). Which platform reads
/// which, and what they mean, is the platform's business.
pub const VARS: &[&str] = &[
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_BASE_URL",
    "NETLIFY_AUTH_TOKEN",
    "NETLIFY_API_URL",
    "VERCEL_TOKEN",
    "VERCEL_ORG_ID",
    "VERCEL_API_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_AMPLIFY",
    "SITEDROP_DATA_DIR",
    "SITEDROP_SITE_RESOLVE",
    "SITEDROP_LOCAL_PORT",
    "SSL_CERT_FILE",
];

/// A snapshot of the variables in [`VARS`].
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: several of these are secrets.
        f.debug_struct("Env")
            .field("set", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// Reads the process environment. Empty values count as unset.
    pub fn from_process() -> Env {
        Env::from_pairs(
            VARS.iter()
                .filter_map(|name| Some((*name, std::env::var(name).ok()?))),
        )
    }

    /// Builds an environment from pairs (tests, and faces that override a value).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        Env { vars }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.trim())
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_string(), value.into());
    }

    /// `SITEDROP_DATA_DIR`, else the OS data folder (`~/.local/share/sitedrop` on Linux).
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = self.get("SITEDROP_DATA_DIR") {
            return PathBuf::from(dir);
        }
        default_data_dir()
    }

    /// `SITEDROP_SITE_RESOLVE=HOST:PORT`: verification connects there over plain HTTP,
    /// keeping the Host header (a testing knob).
    pub fn site_resolve(&self) -> Option<SocketAddr> {
        self.get("SITEDROP_SITE_RESOLVE")?.parse().ok()
    }

    /// The port of this computer's local sites (`SITEDROP_LOCAL_PORT`, default 4780).
    pub fn local_port(&self) -> u16 {
        self.get("SITEDROP_LOCAL_PORT")
            .and_then(|p| p.parse().ok())
            .unwrap_or(DEFAULT_LOCAL_PORT)
    }
}

/// The port local sites are served on unless `SITEDROP_LOCAL_PORT` says otherwise.
pub const DEFAULT_LOCAL_PORT: u16 = 4780;

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("sitedrop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_not_values() {
        let env = Env::from_pairs([("NETLIFY_AUTH_TOKEN", "nfp_secret")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("NETLIFY_AUTH_TOKEN") && !shown.contains("nfp_secret"));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::from_pairs([("VERCEL_TOKEN", "  ")]);
        assert_eq!(env.get("VERCEL_TOKEN"), None);
    }
}
