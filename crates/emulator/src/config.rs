//! Startup configuration ([`Config`]) and the knobs that can change at run time ([`Knobs`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A pair of AWS credentials the emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsCredential {
    /// Access key id (`AKID…`, or `ASIA…` for temporary credentials).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token that must accompany temporary credentials (`X-Amz-Security-Token`).
    pub session_token: Option<String>,
}

/// Everything fixed at start. Every field has a default; see [`Config::default`].
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where blobs and unpacked sites live; `None` = a temporary directory removed on exit.
    pub state_dir: Option<PathBuf>,
    /// Seed for ids and fault probabilities (runs are reproducible with the same seed).
    pub seed: u64,
    /// API token accepted by Cloudflare.
    pub cloudflare_token: String,
    /// API token accepted by Netlify.
    pub netlify_token: String,
    /// API token accepted by Vercel.
    pub vercel_token: String,
    /// A token every platform knows but treats as expired/revoked.
    pub expired_token: String,
    /// A token that is valid but may not deploy (reads work, writes are refused).
    pub readonly_token: String,
    /// The Cloudflare account the token belongs to.
    pub cloudflare_account_id: String,
    /// More Cloudflare accounts the token can see (for account-picker tests).
    pub cloudflare_extra_accounts: Vec<String>,
    /// The account's workers.dev subdomain; `None` = not registered (code 10007).
    pub cloudflare_workers_subdomain: Option<String>,
    /// Long-term AWS credentials.
    pub aws_credentials: Vec<AwsCredential>,
    /// The region this Amplify endpoint serves; requests scoped to another are refused.
    pub aws_region: String,
    /// AWS account id used in ARNs.
    pub aws_account_id: String,
    /// Names already owned by someone else: `(platform, name)`, platform one of
    /// `cloudflare`, `netlify`, `vercel`.
    pub taken_names: Vec<(String, String)>,
    /// Initial run-time knobs.
    pub knobs: Knobs,
    /// Serve HTTPS (HTTP/2 by ALPN, else HTTP/1.1) with a certificate authority made at start
    /// ([`crate::tls`]). Plain HTTP on the same port still reaches sites and `/_emulator/`.
    pub tls: bool,
}

/// Default token for Cloudflare, Netlify and Vercel.
pub const DEFAULT_TOKEN: &str = "sitedrop_test_token";
/// Default expired token.
pub const EXPIRED_TOKEN: &str = "sitedrop_expired_token";
/// Default read-only token.
pub const READONLY_TOKEN: &str = "sitedrop_readonly_token";
/// Default Cloudflare account id.
pub const DEFAULT_CF_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
/// Default AWS access key id.
pub const DEFAULT_AWS_KEY: &str = "AKIDSITEDROPTEST";
/// Default AWS secret.
pub const DEFAULT_AWS_SECRET: &str = "sitedrop-test-secret";
/// Access key of the built-in temporary credentials (needs [`DEFAULT_AWS_SESSION_TOKEN`]).
pub const DEFAULT_AWS_TEMP_KEY: &str = "ASIASITEDROPTEMP";
/// Secret of the built-in temporary credentials.
pub const DEFAULT_AWS_TEMP_SECRET: &str = "sitedrop-temp-secret";
/// Session token of the built-in temporary credentials.
pub const DEFAULT_AWS_SESSION_TOKEN: &str = "sitedrop-session-token";
/// Access key that signs correctly but may not call Amplify (AccessDeniedException).
pub const READONLY_AWS_KEY: &str = "AKIDSITEDROPREADONLY";

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            state_dir: None,
            seed: 0x5173_d20b,
            cloudflare_token: DEFAULT_TOKEN.into(),
            netlify_token: DEFAULT_TOKEN.into(),
            vercel_token: DEFAULT_TOKEN.into(),
            expired_token: EXPIRED_TOKEN.into(),
            readonly_token: READONLY_TOKEN.into(),
            cloudflare_account_id: DEFAULT_CF_ACCOUNT.into(),
            cloudflare_extra_accounts: Vec::new(),
            cloudflare_workers_subdomain: Some("sitedrop".into()),
            aws_credentials: vec![
                AwsCredential {
                    access_key_id: DEFAULT_AWS_KEY.into(),
                    secret_access_key: DEFAULT_AWS_SECRET.into(),
                    session_token: None,
                },
                AwsCredential {
                    access_key_id: DEFAULT_AWS_TEMP_KEY.into(),
                    secret_access_key: DEFAULT_AWS_TEMP_SECRET.into(),
                    session_token: Some(DEFAULT_AWS_SESSION_TOKEN.into()),
                },
                AwsCredential {
                    access_key_id: READONLY_AWS_KEY.into(),
                    secret_access_key: DEFAULT_AWS_SECRET.into(),
                    session_token: None,
                },
            ],
            aws_region: "us-east-1".into(),
            aws_account_id: "123456789012".into(),
            taken_names: Vec::new(),
            knobs: Knobs::default(),
            tls: false,
        }
    }
}

/// Knobs that `POST /_emulator/config` can change while the emulator runs.
/// Durations are milliseconds unless the name says seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Knobs {
    /// Lifetime of the Pages upload JWT (`specs/cloudflare.md §3.3`; real value unconfirmed, ~10 min).
    pub cloudflare_upload_jwt_ttl_secs: u64,
    /// Lifetime of the Workers upload-session JWT (1 h per the docs, `specs/cloudflare.md §4.3`).
    pub cloudflare_workers_jwt_ttl_secs: u64,
    /// `max_file_count_allowed` claim of the Pages JWT and the server-side limit (default 20,000).
    pub cloudflare_pages_max_file_count: u64,
    /// Assets per Workers version (20,000 Free / 100,000 Paid).
    pub cloudflare_workers_max_file_count: u64,
    /// Per-file size limit for Pages and Workers assets (25 MiB).
    pub cloudflare_max_file_size: u64,
    /// Cloudflare global API rate limit per 5 minutes (1200 real); 0 = off (default).
    pub cloudflare_rate_limit_per_5min: u32,
    /// How long a Cloudflare deployment stays in `build`/`active` before `deploy`/`success`.
    pub cloudflare_processing_ms: u64,
    /// Netlify API requests per minute per token (500 real, `specs/netlify.md §11`).
    pub netlify_rate_limit_per_minute: u32,
    /// How long a Netlify deploy stays `processing` once all files are in.
    pub netlify_processing_ms: u64,
    /// Anonymous Drop deploys allowed per day (per emulator); 0 = unlimited.
    pub netlify_drop_daily_limit: u32,
    /// How long an unclaimed Drop site lives (60 min real).
    pub netlify_drop_ttl_secs: u64,
    /// Vercel file uploads per day (5,000 Hobby, 40,000 Pro; `specs/vercel.md §8`).
    pub vercel_daily_upload_quota: u32,
    /// `hobby` or `pro`: decides the quota error name (`api-upload-free` / `api-upload-paid`).
    pub vercel_plan: String,
    /// Maximum `files` entries per Vercel deployment (15,000).
    pub vercel_max_files: u64,
    /// How long a Vercel deployment stays `BUILDING`.
    pub vercel_processing_ms: u64,
    /// How long an Amplify job stays `PENDING` after StartDeployment.
    pub amplify_pending_ms: u64,
    /// How long an Amplify job stays `RUNNING`.
    pub amplify_running_ms: u64,
    /// Apps per region (25 default quota).
    pub amplify_max_apps: u32,
    /// Accepted SigV4 clock skew (AWS: 15 minutes).
    pub amplify_clock_skew_secs: u64,
    /// Maximum window between CreateDeployment and StartDeployment (8 h).
    pub amplify_start_window_secs: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            cloudflare_upload_jwt_ttl_secs: 600,
            cloudflare_workers_jwt_ttl_secs: 3600,
            cloudflare_pages_max_file_count: 20_000,
            cloudflare_workers_max_file_count: 20_000,
            cloudflare_max_file_size: 25 * 1024 * 1024,
            cloudflare_rate_limit_per_5min: 0,
            cloudflare_processing_ms: 0,
            netlify_rate_limit_per_minute: 500,
            netlify_processing_ms: 0,
            netlify_drop_daily_limit: 3,
            netlify_drop_ttl_secs: 3600,
            vercel_daily_upload_quota: 5_000,
            vercel_plan: "hobby".into(),
            vercel_max_files: 15_000,
            vercel_processing_ms: 0,
            amplify_pending_ms: 0,
            amplify_running_ms: 0,
            amplify_max_apps: 25,
            amplify_clock_skew_secs: 900,
            amplify_start_window_secs: 8 * 3600,
        }
    }
}

impl Knobs {
    /// Applies a partial JSON object on top of these knobs.
    pub fn merged(&self, patch: &serde_json::Value) -> Result<Knobs, String> {
        let mut base = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let (Some(obj), Some(p)) = (base.as_object_mut(), patch.as_object()) else {
            return Err("expected a JSON object".into());
        };
        for (k, v) in p {
            if !obj.contains_key(k) {
                return Err(format!("unknown knob `{k}`"));
            }
            obj.insert(k.clone(), v.clone());
        }
        serde_json::from_value(base).map_err(|e| e.to_string())
    }
}
