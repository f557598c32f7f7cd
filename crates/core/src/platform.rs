//! The places a folder can go, and what each of them allows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

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

    /// Platforms whose credentials are one API token (the others: AWS keys, or none).
    pub fn uses_token(self) -> bool {
        !matches!(self, Platform::Amplify | Platform::Local)
    }

    /// The keychain groups both Cloudflare products under one account.
    pub fn account_platform(self) -> Platform {
        match self {
            Platform::CloudflareWorkers => Platform::CloudflarePages,
            other => other,
        }
    }

    /// Per-file size and file-count limits checked before a byte is sent (`specs/README.md`,
    /// "Limits and client behaviour across platforms").
    pub fn limits(self) -> Limits {
        const MIB: u64 = 1024 * 1024;
        match self {
            // 25 MiB per file; the Pages count comes from the upload JWT, 20,000 until then.
            Platform::CloudflarePages => Limits {
                max_file_size: Some(25 * MIB),
                max_files: Some(20_000),
            },
            // The server enforces 20,000 (Free) / 100,000 (Paid); the client cannot know the
            // plan, so only the per-file size is checked up front.
            Platform::CloudflareWorkers => Limits {
                max_file_size: Some(25 * MIB),
                max_files: None,
            },
            Platform::Netlify => Limits {
                max_file_size: None,
                max_files: None,
            },
            Platform::Vercel => Limits {
                max_file_size: None,
                max_files: Some(15_000),
            },
            // One zip of at most 5 GB: enforced on the zip, not per file.
            Platform::Amplify => Limits {
                max_file_size: None,
                max_files: None,
            },
            Platform::Local => Limits {
                max_file_size: None,
                max_files: None,
            },
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Platform {
    type Err = Error;

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
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "\"{s}\" is not a platform Sitedrop knows. Choose one of: {}.",
                    Platform::ALL.map(|p| p.id()).join(", ")
                ))
            })
    }
}

/// Limits a platform puts on one deployment. `None` means no documented limit.
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
