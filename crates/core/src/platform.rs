//! The places a folder can go, by name. What each of them allows and needs is declared by
//! its provider ([`crate::provider::descriptor`]); this module only names them, so it depends
//! on nothing else in the crate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A deploy target. The id strings are the CLI's `--to` values and are stored in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    CloudflarePages,
    CloudflareWorkers,
    Netlify,
    Vercel,
    Amplify,
    /// "This computer": a private preview served by Sitedrop itself.
    Local,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::CloudflarePages,
        Platform::CloudflareWorkers,
        Platform::Netlify,
        Platform::Vercel,
        Platform::Amplify,
        Platform::Local,
    ];

    /// The stable id: `cloudflare-pages`, `netlify`, `local`, …
    pub fn id(self) -> &'static str {
        match self {
            Platform::CloudflarePages => "cloudflare-pages",
            Platform::CloudflareWorkers => "cloudflare-workers",
            Platform::Netlify => "netlify",
            Platform::Vercel => "vercel",
            Platform::Amplify => "amplify",
            Platform::Local => "local",
        }
    }

    /// The name people know it by.
    pub fn name(self) -> &'static str {
        match self {
            Platform::CloudflarePages => "Cloudflare Pages",
            Platform::CloudflareWorkers => "Cloudflare Workers",
            Platform::Netlify => "Netlify",
            Platform::Vercel => "Vercel",
            Platform::Amplify => "AWS Amplify",
            Platform::Local => "This computer",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A platform name Sitedrop does not know. Its own type, so that this module needs nothing
/// from [`crate::error`] (which names platforms in its messages); it becomes an
/// [`crate::Error::Invalid`] there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{given}\" is not a platform Sitedrop knows. Choose one of: {known}.")]
pub struct UnknownPlatform {
    given: String,
    known: String,
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "cloudflare" | "pages" | "cf-pages" => "cloudflare-pages",
            "workers" | "cf-workers" => "cloudflare-workers",
            "aws" | "aws-amplify" => "amplify",
            "this-computer" | "computer" | "preview" => "local",
            other => other,
        };
        Platform::ALL
            .into_iter()
            .find(|p| p.id() == alias)
            .ok_or_else(|| UnknownPlatform {
                given: s.to_string(),
                known: Platform::ALL.map(|p| p.id()).join(", "),
            })
    }
}

/// Limits a platform puts on one deployment (each platform's are in its descriptor). `None` means no documented limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub max_file_size: Option<u64>,
    pub max_files: Option<u64>,
}

/// Where a deploy lands on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// The site's public address.
    #[default]
    Production,
    /// A separate address that leaves production as it was.
    Preview,
}

impl Environment {
    pub fn id(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Preview => "preview",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.id().parse::<Platform>().unwrap(), p);
        }
    }

    #[test]
    fn unknown_platform_lists_the_known_ones() {
        let err = "heroku".parse::<Platform>().unwrap_err().to_string();
        assert!(
            err.contains("cloudflare-pages, cloudflare-workers, netlify"),
            "{err}"
        );
    }
}
