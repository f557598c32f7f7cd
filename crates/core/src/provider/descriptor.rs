//! What each platform declares about itself, once, in its own folder (`provider/<platform>/`):
//! its limits, what a scan leaves out, where its API is and which variable moves it, how its
//! credentials are read from the environment, how its provider is built, and the one
//! pipeline special case (a site this computer serves). Shared code — the engine, the
//! pipeline, a watch — asks the [`Descriptor`] instead of matching on the platform, so a sixth
//! platform is one folder and one arm in [`Platform::descriptor`].
//!
//! The shape follows object_store's per-cloud builders, each of which knows its own
//! environment variables and defaults (`AmazonS3Builder::from_env`): the knowledge lives with
//! the cloud, and the shared code only asks.

use super::Provider;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::platform::{Limits, Platform};
use crate::scan::{FileSet, ScanRules};
use crate::secrets::{CredentialKind, ResolvedCredentials};

/// A platform's static facts. Each provider module holds one as a `const DESCRIPTOR`.
pub struct Descriptor {
    pub platform: Platform,
    /// The platform whose connected accounts this one uses (the keychain groups both
    /// Cloudflare products under one account).
    pub account_platform: Platform,
    /// Per-file size and file-count limits known before any request (`specs/README.md`,
    /// "Limits and client behaviour across platforms"). A provider may relax them once it
    /// knows the account ([`Provider::limits`]).
    pub limits: Limits,
    /// Ignore files (gitignore syntax) read besides `.sitedropignore`.
    pub ignore_files: &'static [&'static str],
    /// Gitignore-syntax patterns the platform never publishes, relative to the folder.
    pub ignore_patterns: &'static [&'static str],
    /// Where the API is, and the variable that moves it (`DESIGN.md`, "Credentials and
    /// endpoints"). `None` for a platform without one.
    pub api: Option<ApiBase>,
    /// What the credentials are.
    pub credentials: CredentialKind,
    /// The environment variables holding the secret, as messages name them.
    pub secret_vars: &'static str,
    /// Every environment variable the platform reads (checked against `config::VARS`).
    pub env_vars: &'static [&'static str],
    /// Credentials from the environment, which win over the keychain.
    pub read_env: fn(&Env) -> Option<ResolvedCredentials>,
    /// Platform rules on the scanned files, checked before anything is sent (e.g. Netlify
    /// refuses `#` and `?` in names).
    pub check_files: fn(&FileSet) -> Result<()>,
    /// Builds the provider (`None`: no credentials are connected; most then refuse with
    /// [`Descriptor::no_credentials`]).
    pub build: BuildProvider,
    /// Publishing needs Sitedrop's own server for this computer's sites to be running.
    pub served_here: bool,
}

/// How a descriptor builds its provider.
pub type BuildProvider = fn(Option<ResolvedCredentials>, &Env) -> Result<Box<dyn Provider>>;

/// An API's address: a default, overridden by an environment variable.
pub struct ApiBase {
    pub var: &'static str,
    /// The address without the override; `region` is the AWS region where there is one.
    pub default: fn(region: Option<&str>) -> String,
}

impl Descriptor {
    /// The rules a scan for this platform uses: Sitedrop's defaults plus the platform's. This
    /// is the one place they are put together, so a deploy, a watch's change check, the
    /// app's preview of a folder and `sitedrop preview` all agree on what a site holds.
    pub fn scan_rules(&self) -> ScanRules {
        let mut rules = ScanRules::default();
        rules
            .ignore_files
            .extend(self.ignore_files.iter().map(|f| f.to_string()));
        rules
            .patterns
            .extend(self.ignore_patterns.iter().map(|p| p.to_string()));
        rules
    }

    /// The API base URL, the override applied and trailing slashes dropped. Empty for a
    /// platform without an API.
    pub fn api_base(&self, env: &Env, region: Option<&str>) -> String {
        let Some(api) = &self.api else {
            return String::new();
        };
        env.get(api.var)
            .map(|v| v.trim_end_matches('/').to_string())
            .unwrap_or_else(|| (api.default)(region))
    }

    /// Credentials from the environment, if they are set there.
    pub fn credentials_from_env(&self, env: &Env) -> Option<ResolvedCredentials> {
        (self.read_env)(env)
    }

    /// The sentence that says how to connect an account.
    pub fn no_credentials(&self) -> Error {
        Error::NoCredentials {
            platform: self.platform,
            env: self.secret_vars,
        }
    }
}

impl Platform {
    /// The platform's static facts, declared in its provider's folder.
    pub fn descriptor(self) -> &'static Descriptor {
        match self {
            Platform::CloudflarePages => &super::cloudflare::PAGES,
            Platform::CloudflareWorkers => &super::cloudflare::WORKERS,
            Platform::Netlify => &super::netlify::DESCRIPTOR,
            Platform::Vercel => &super::vercel::DESCRIPTOR,
            Platform::Amplify => &super::amplify::DESCRIPTOR,
            Platform::Local => &super::local::DESCRIPTOR,
        }
    }

    /// Per-file size and file-count limits checked before a byte is sent.
    pub fn limits(self) -> Limits {
        self.descriptor().limits
    }

    /// The keychain groups both Cloudflare products under one account.
    pub fn account_platform(self) -> Platform {
        self.descriptor().account_platform
    }

    /// Platforms whose credentials are one API token (the others: AWS keys, or none).
    pub fn uses_token(self) -> bool {
        self.descriptor().credentials == CredentialKind::Token
    }
}

/// For descriptors of platforms without rules on file names.
pub(crate) fn any_files(_files: &FileSet) -> Result<()> {
    Ok(())
}

/// For descriptors of platforms without credentials.
pub(crate) fn no_env(_env: &Env) -> Option<ResolvedCredentials> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::CredentialSource;

    #[test]
    fn every_platform_describes_itself() {
        for p in Platform::ALL {
            assert_eq!(p.descriptor().platform, p);
        }
    }

    #[test]
    fn every_variable_a_platform_reads_is_snapshotted() {
        for p in Platform::ALL {
            let d = p.descriptor();
            let named = d.env_vars.iter().chain(d.api.as_ref().map(|a| &a.var));
            for var in named {
                assert!(crate::config::VARS.contains(var), "{p:?} reads {var}");
            }
        }
    }

    #[test]
    fn overrides_win_and_trailing_slashes_go() {
        let env = Env::from_pairs([("NETLIFY_API_URL", "http://127.0.0.1:9/api/v1/")]);
        assert_eq!(
            Platform::Netlify.descriptor().api_base(&env, None),
            "http://127.0.0.1:9/api/v1"
        );
        assert_eq!(
            Platform::Vercel.descriptor().api_base(&env, None),
            "https://api.vercel.com"
        );
        assert_eq!(
            Platform::Amplify
                .descriptor()
                .api_base(&env, Some("eu-west-1")),
            "https://amplify.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn env_tokens_win_and_carry_the_account() {
        let env = Env::from_pairs([
            ("CLOUDFLARE_API_TOKEN", "cf"),
            ("CLOUDFLARE_ACCOUNT_ID", "acc"),
        ]);
        let r = Platform::CloudflareWorkers
            .descriptor()
            .credentials_from_env(&env)
            .unwrap();
        assert_eq!(r.source, CredentialSource::Env("CLOUDFLARE_API_TOKEN"));
        assert_eq!(r.account_ref.as_deref(), Some("acc"));
        assert!(Platform::Netlify
            .descriptor()
            .credentials_from_env(&env)
            .is_none());
    }
}
