//! The engine's one error type.
//!
//! Every variant renders as a sentence a person can act on (what happened, what to do next)
//! and carries a stable [`Error::kind`] code ([`ErrorKind`]) that the faces branch on (`token_invalid`,
//! `file_too_large`, `rate_limited`, …). Messages never contain a credential: errors are built
//! from status codes, platform error codes and our own words, never from request headers.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::platform::Platform;

mod kind;
pub use kind::{ErrorKind, UnknownErrorKind};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in words a person can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the folder -------------------------------------------------------------------------
    #[error("The folder {} does not exist. Check the path, or choose the folder again.", .0.display())]
    FolderMissing(PathBuf),

    #[error("{} is a file, not a folder. Choose the folder that holds your site's files.", .0.display())]
    NotAFolder(PathBuf),

    #[error("The folder {} has nothing to publish{}. Add your site's files (at least an index.html) and try again.", .folder.display(), .detail)]
    EmptyFolder { folder: PathBuf, detail: String },

    #[error("Sitedrop cannot read {path}: {reason}. Make it readable, or list it in .sitedropignore, and try again.")]
    Unreadable { path: String, reason: String },

    #[error("{platform} accepts files up to {limit} each. Too large: {}. Remove {} or list {} in .sitedropignore, then deploy again.",
        list_files(.files), them(.files.len()), them(.files.len()))]
    FileTooLarge {
        platform: Platform,
        limit: ByteSize,
        files: Vec<(String, u64)>,
    },

    #[error("{platform} accepts at most {limit} files in one deploy, and this folder has {count}. Check that you chose the built site (often a dist/ or build/ folder), or list what is not needed in .sitedropignore.")]
    TooManyFiles {
        platform: Platform,
        limit: u64,
        count: u64,
    },

    #[error("{platform} cannot publish {path}: {reason}. Rename it and try again.")]
    BadFileName {
        platform: Platform,
        path: String,
        reason: String,
    },

    #[error("A file changed while it was being uploaded: {path}. Wait until your files stop changing, then deploy again.")]
    FileChanged { path: String },

    // ---- credentials --------------------------------------------------------------------------
    #[error("No {platform} account is connected. Connect one with a token (in the app, or `sitedrop login {}`), or set {env}.", platform.id())]
    NoCredentials {
        platform: Platform,
        env: &'static str,
    },

    #[error("{platform} did not accept the token: {detail}. Check that it was copied whole, or create a new one and connect the account again.")]
    TokenInvalid { platform: Platform, detail: String },

    #[error("{platform} says this token has expired or was revoked. Create a new token and connect the account again.")]
    TokenExpired { platform: Platform },

    #[error("The {platform} token works but lacks a permission: {permission}. Edit the token to add it (or create a new one), then connect the account again.")]
    PermissionMissing {
        platform: Platform,
        permission: String,
    },

    #[error("{platform} has no account {account}. Check the account id, or leave it out to pick from your accounts.")]
    AccountNotFound { platform: Platform, account: String },

    #[error("This {platform} token can reach several accounts ({}). Choose one.", .options.iter().map(|(id, name)| format!("{name} [{id}]")).collect::<Vec<_>>().join(", "))]
    AccountChoiceNeeded {
        platform: Platform,
        options: Vec<(String, String)>,
    },

    #[error("Several {platform} {what}s are called \"{name}\" ({}). Choose one by its id.", .options.iter().map(|(id, name)| format!("{name} [{id}]")).collect::<Vec<_>>().join(", "))]
    ProjectChoiceNeeded {
        platform: Platform,
        what: &'static str,
        name: String,
        options: Vec<(String, String)>,
    },

    #[error("{0}")]
    Keychain(#[from] crate::secrets::KeychainError),

    // ---- the platform -------------------------------------------------------------------------
    #[error("{platform} refused the name \"{name}\": {reason}. Choose another name.")]
    ProjectNameInvalid {
        platform: Platform,
        name: String,
        reason: String,
    },

    #[error("The name \"{name}\" is already taken on {platform}. Choose another name.")]
    ProjectNameTaken { platform: Platform, name: String },

    #[error("{platform} has no {what} called \"{name}\". It may have been deleted; deploy again to create it.")]
    NotFound {
        platform: Platform,
        what: &'static str,
        name: String,
    },

    #[error("{platform} is limiting how fast Sitedrop may send requests. {}", retry_sentence(.retry_at))]
    RateLimited {
        platform: Platform,
        retry_at: Option<SystemTime>,
    },

    #[error("{platform}'s {quota} is used up. {}", reset_sentence(.resets_at))]
    QuotaExhausted {
        platform: Platform,
        quota: String,
        resets_at: Option<SystemTime>,
    },

    #[error("{platform} answered with an error ({detail}). This is usually temporary: try again in a few minutes.")]
    Server { platform: Platform, detail: String },

    #[error("{platform} refused the request: {}", sentence(.detail))]
    Rejected { platform: Platform, detail: String },

    #[error("{platform} sent an answer Sitedrop could not understand ({detail}). Try again; if it keeps happening, the platform may be having problems.")]
    BadResponse { platform: Platform, detail: String },

    #[error("Could not reach {platform}: {detail}. Check your internet connection and try again.")]
    Network { platform: Platform, detail: String },

    #[error("{platform} could not publish the site: {}", sentence(.detail))]
    DeployFailed { platform: Platform, detail: String },

    #[error("The site was published, but {url} does not serve your files yet ({detail}). It may need a minute; open the link to check.")]
    VerifyFailed { url: String, detail: String },

    #[error("{platform} limits this: {}", sentence(.detail))]
    LimitExceeded { platform: Platform, detail: String },

    #[error("{0}")]
    Unsupported(String),

    // ---- the deploy itself --------------------------------------------------------------------
    #[error("The deploy was cancelled. Nothing was published.")]
    Cancelled,

    #[error("The deploy was cancelled while {platform} was already publishing it, so it may still go live. Check the site, or deploy again.")]
    CancelledWhilePublishing { platform: Platform },

    #[error("Another deploy of {} is already running. Wait for it to finish, then try again.", .folder.display())]
    DeployInProgress { folder: PathBuf },

    #[error("There is no deploy #{0} in the history.")]
    UnknownDeployment(i64),

    #[error("{0}")]
    Invalid(String),

    /// A fault in Sitedrop itself, not in what the person gave it.
    #[error("Something went wrong inside Sitedrop ({0}). Try again; if it keeps happening, please report it.")]
    Internal(String),

    // ---- this computer ------------------------------------------------------------------------
    #[error("Sitedrop could not use its data folder {}: {reason}. Check that the disk has free space and that the folder is writable.", .path.display())]
    DataDir { path: PathBuf, reason: String },

    #[error("Sitedrop could not update its history database: {0}. Check that the disk has free space; your files were not changed.")]
    Storage(String),

    /// The same as [`Error::Storage`], with SQLite's own error kept as the cause (it names a
    /// table or a constraint, never a credential: no secret is ever written to the history).
    #[error("Sitedrop could not update its history database: {0}. Check that the disk has free space; your files were not changed.")]
    Database(#[source] rusqlite::Error),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The stable, machine-readable code for the UI, the CLI's `--json` and the history table.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::FolderMissing(_) => ErrorKind::FolderMissing,
            Error::NotAFolder(_) => ErrorKind::NotAFolder,
            Error::EmptyFolder { .. } => ErrorKind::EmptyFolder,
            Error::Unreadable { .. } => ErrorKind::Unreadable,
            Error::FileTooLarge { .. } => ErrorKind::FileTooLarge,
            Error::TooManyFiles { .. } => ErrorKind::TooManyFiles,
            Error::BadFileName { .. } => ErrorKind::BadFileName,
            Error::FileChanged { .. } => ErrorKind::FileChanged,
            Error::NoCredentials { .. } => ErrorKind::NoCredentials,
            Error::TokenInvalid { .. } => ErrorKind::TokenInvalid,
            Error::TokenExpired { .. } => ErrorKind::TokenExpired,
            Error::PermissionMissing { .. } => ErrorKind::PermissionMissing,
            Error::AccountNotFound { .. } => ErrorKind::AccountNotFound,
            Error::AccountChoiceNeeded { .. } => ErrorKind::AccountChoiceNeeded,
            Error::ProjectChoiceNeeded { .. } => ErrorKind::ProjectChoiceNeeded,
            Error::Keychain(e) => e.kind(),
            Error::ProjectNameInvalid { .. } => ErrorKind::ProjectNameInvalid,
            Error::ProjectNameTaken { .. } => ErrorKind::ProjectNameTaken,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::QuotaExhausted { .. } => ErrorKind::QuotaExhausted,
            Error::Server { .. } => ErrorKind::ServerError,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::BadResponse { .. } => ErrorKind::BadResponse,
            Error::Network { .. } => ErrorKind::Network,
            Error::DeployFailed { .. } => ErrorKind::DeployFailed,
            Error::VerifyFailed { .. } => ErrorKind::VerifyFailed,
            Error::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Cancelled | Error::CancelledWhilePublishing { .. } => ErrorKind::Cancelled,
            Error::DeployInProgress { .. } => ErrorKind::DeployInProgress,
            Error::UnknownDeployment(_) => ErrorKind::UnknownDeployment,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Internal(_) => ErrorKind::Internal,
            Error::DataDir { .. } => ErrorKind::DataDir,
            Error::Storage(_) | Error::Database(_) => ErrorKind::Storage,
            Error::Io { .. } => ErrorKind::Io,
        }
    }

    /// True when the problem is in what the user gave us (folder, files, names, credentials),
    /// so the CLI exits 2; false when the deploy itself failed (exit 1).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::FolderMissing(_)
                | Error::NotAFolder(_)
                | Error::EmptyFolder { .. }
                | Error::Unreadable { .. }
                | Error::FileTooLarge { .. }
                | Error::TooManyFiles { .. }
                | Error::BadFileName { .. }
                | Error::NoCredentials { .. }
                | Error::TokenInvalid { .. }
                | Error::TokenExpired { .. }
                | Error::PermissionMissing { .. }
                | Error::AccountNotFound { .. }
                | Error::AccountChoiceNeeded { .. }
                | Error::ProjectChoiceNeeded { .. }
                | Error::Keychain(_)
                | Error::ProjectNameInvalid { .. }
                | Error::ProjectNameTaken { .. }
                | Error::UnknownDeployment(_)
                | Error::Invalid(_)
                | Error::DataDir { .. }
        )
    }

    /// How the retry policy should treat this error (see [`crate::retry`]).
    pub fn retry_hint(&self) -> RetryHint {
        match self {
            Error::RateLimited { retry_at, .. } => match retry_at {
                Some(at) => RetryHint::At(*at),
                None => RetryHint::Backoff,
            },
            Error::Server { .. } | Error::Network { .. } | Error::BadResponse { .. } => {
                RetryHint::Backoff
            }
            _ => RetryHint::Never,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<crate::platform::UnknownPlatform> for Error {
    fn from(e: crate::platform::UnknownPlatform) -> Self {
        Error::Invalid(e.to_string())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Database(e)
    }
}

/// What a failed operation tells the retry loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryHint {
    /// Permanent: retrying cannot help (bad input, bad token, 4xx).
    Never,
    /// Transient: retry after the policy's backoff.
    Backoff,
    /// The server named the moment it will accept requests again.
    At(SystemTime),
}

/// A byte count that prints the way people read sizes ("25 MiB", "1.5 GiB").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} {}", self.0, UNITS[0])
        } else if value.fract() < 0.05 || value >= 100.0 {
            write!(f, "{value:.0} {}", UNITS[unit])
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

/// Ends a detail that closes a message as a sentence (details are often a platform's own words,
/// or a clause with its next step, without the final stop).
fn sentence(detail: &str) -> String {
    let trimmed = detail.trim_end();
    if trimmed.ends_with(['.', '!', '?']) {
        trimmed.to_string()
    } else {
        format!("{trimmed}.")
    }
}

fn them(n: usize) -> &'static str {
    if n == 1 {
        "it"
    } else {
        "them"
    }
}

/// Names at most five files, with sizes, so a message stays readable for a huge folder.
fn list_files(files: &[(String, u64)]) -> String {
    let mut shown: Vec<String> = files
        .iter()
        .take(5)
        .map(|(p, s)| format!("{p} ({})", ByteSize(*s)))
        .collect();
    if files.len() > 5 {
        shown.push(format!("and {} more", files.len() - 5));
    }
    shown.join(", ")
}

/// "Try again at 14:05 (in 3 minutes)." from a server's reset time.
fn retry_sentence(at: &Option<SystemTime>) -> String {
    match at {
        Some(at) => format!("Try again {}.", when(*at)),
        None => "Wait a minute and try again.".to_string(),
    }
}

fn reset_sentence(at: &Option<SystemTime>) -> String {
    match at {
        Some(at) => format!("It resets {}; deploy again then.", when(*at)),
        None => "Wait until it resets (usually within a day), then deploy again.".to_string(),
    }
}

/// Describes a moment relative to now: "in 40 seconds", "at 14:05 UTC (in 3 hours)".
pub fn when(at: SystemTime) -> String {
    // httpdate cannot format years past 9999; nothing we say is that far off anyway.
    let at = at.min(SystemTime::now() + Duration::from_secs(10 * 365 * 24 * 3600));
    let wait = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    let secs = wait.as_secs();
    let relative = if secs < 90 {
        format!("in {} seconds", secs.max(1))
    } else if secs < 90 * 60 {
        format!("in {} minutes", secs.div_ceil(60))
    } else {
        format!("in {} hours", secs.div_ceil(3600))
    };
    let clock = httpdate::fmt_http_date(at);
    // "Sat, 21 Nov 2026 14:05:00 GMT" -> "14:05 UTC"
    let hhmm = clock.split(' ').nth(4).map(|t| &t[..5]).unwrap_or("");
    if secs < 90 || hhmm.is_empty() {
        relative
    } else {
        format!("at {hhmm} UTC ({relative})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_like_people_write_them() {
        assert_eq!(ByteSize(0).to_string(), "0 bytes");
        assert_eq!(ByteSize(1023).to_string(), "1023 bytes");
        assert_eq!(ByteSize(26_214_400).to_string(), "25 MiB");
        assert_eq!(ByteSize(1536 * 1024 * 1024).to_string(), "1.5 GiB");
    }

    #[test]
    fn too_large_names_the_files() {
        let e = Error::FileTooLarge {
            platform: Platform::CloudflarePages,
            limit: ByteSize(26_214_400),
            files: vec![("video/intro.mp4".into(), 30 * 1024 * 1024)],
        };
        let msg = e.to_string();
        assert!(msg.contains("video/intro.mp4 (30 MiB)"), "{msg}");
        assert!(msg.contains("up to 25 MiB"), "{msg}");
        assert_eq!(e.kind(), "file_too_large");
        assert!(e.is_input_error());
    }

    #[test]
    fn a_reset_time_far_in_the_future_is_described_without_panicking() {
        let far = std::time::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        let e = Error::QuotaExhausted {
            platform: Platform::Vercel,
            quota: "daily upload quota".into(),
            resets_at: Some(far),
        };
        assert!(e.to_string().contains("in "), "{e}");
    }

    #[test]
    fn details_that_end_a_message_end_as_a_sentence() {
        let e = Error::DeployFailed {
            platform: Platform::CloudflareWorkers,
            detail: "the upload session expired. Deploy again".into(),
        };
        assert!(e.to_string().ends_with("Deploy again."), "{e}");
        let e = Error::Rejected {
            platform: Platform::Netlify,
            detail: "Site name must be unique.".into(),
        };
        assert!(e.to_string().ends_with("unique."), "{e}");
    }

    #[test]
    fn list_of_many_files_is_cut_short() {
        let files: Vec<_> = (0..8).map(|i| (format!("f{i}"), 1)).collect();
        assert!(list_files(&files).ends_with("and 3 more"));
    }
}
