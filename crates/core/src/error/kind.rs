//! [`ErrorKind`]: the stable, machine-readable code of an error, as a type.
//!
//! One list for every face. The UI (`ui/errors.js`) branches on these codes, the CLI prints
//! them in `--json`, and the history stores them in `deployments.error_kind`, so a code, once
//! released, keeps its spelling forever: each variant names its code explicitly below rather
//! than deriving it from the variant's name, and renaming a variant changes nothing a face sees.
//! A face's own failures (the desktop shell's browser opener) are listed here too, so the UI
//! has one list to check against (`src-tauri`'s tests compare `ui/errors.js` with it).

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// Declares the enum, its code for each variant, and the list of all of them from one table,
/// so the three can never disagree.
macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, )*) => {
        /// The stable code of an error (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in the order they are declared.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant),*];

            /// The code as faces and the history spell it (`token_invalid`, `rate_limited`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( ErrorKind::$variant => $code, )*
                }
            }
        }
    };
}

error_kinds! {
    // ---- the folder -------------------------------------------------------------------------
    FolderMissing => "folder_missing",
    NotAFolder => "not_a_folder",
    EmptyFolder => "empty_folder",
    Unreadable => "unreadable",
    FileTooLarge => "file_too_large",
    TooManyFiles => "too_many_files",
    BadFileName => "bad_file_name",
    FileChanged => "file_changed",
    // ---- credentials --------------------------------------------------------------------------
    NoCredentials => "no_credentials",
    TokenInvalid => "token_invalid",
    TokenExpired => "token_expired",
    PermissionMissing => "permission_missing",
    AccountNotFound => "account_not_found",
    AccountChoiceNeeded => "account_choice_needed",
    ProjectChoiceNeeded => "project_choice_needed",
    // ---- the keychain -------------------------------------------------------------------------
    KeychainUnavailable => "keychain_unavailable",
    KeychainLocked => "keychain_locked",
    KeychainTimeout => "keychain_timeout",
    KeychainCorrupt => "keychain_corrupt",
    KeychainError => "keychain_error",
    // ---- the platform -------------------------------------------------------------------------
    ProjectNameInvalid => "project_name_invalid",
    ProjectNameTaken => "project_name_taken",
    NotFound => "not_found",
    RateLimited => "rate_limited",
    QuotaExhausted => "quota_exhausted",
    ServerError => "server_error",
    Rejected => "rejected",
    BadResponse => "bad_response",
    Network => "network",
    DeployFailed => "deploy_failed",
    VerifyFailed => "verify_failed",
    LimitExceeded => "limit_exceeded",
    Unsupported => "unsupported",
    // ---- the deploy itself --------------------------------------------------------------------
    Cancelled => "cancelled",
    DeployInProgress => "deploy_in_progress",
    UnknownDeployment => "unknown_deployment",
    Invalid => "invalid",
    Internal => "internal",
    /// Never an [`Error`](super::Error): the history's word for a deploy whose process died
    /// before it finished (see `history::deployments`).
    Interrupted => "interrupted",
    // ---- this computer ------------------------------------------------------------------------
    DataDir => "data_dir",
    Storage => "storage",
    Io => "io",
    // ---- the desktop shell's own --------------------------------------------------------------
    /// The system browser could not be started.
    BrowserFailed => "browser_failed",
    /// The page asked to open an address that is not a web address.
    AddressRefused => "address_refused",
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code this build does not know (written by a newer Sitedrop, or mistyped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error kind {0:?}")]
pub struct UnknownErrorKind(pub String);

impl FromStr for ErrorKind {
    type Err = UnknownErrorKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownErrorKind(s.to_string()))
    }
}

/// Serialises as its code, the string faces have always received.
impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

impl ToSql for ErrorKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ErrorKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Lets a test say `assert_eq!(err.kind(), "network")`, as it reads in the UI and the CLI.
impl PartialEq<&str> for ErrorKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl From<ErrorKind> for String {
    fn from(kind: ErrorKind) -> String {
        kind.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_serialises_to_its_code_and_back() {
        for &kind in ErrorKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, serde_json::Value::from(kind.as_str()));
            assert_eq!(serde_json::from_value::<ErrorKind>(json).unwrap(), kind);
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(kind));
        }
    }

    #[test]
    fn codes_are_distinct_snake_case_words() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let code = kind.as_str();
            assert!(seen.insert(code), "{code} twice");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn an_unknown_code_is_refused_by_name() {
        let err = "teapot".parse::<ErrorKind>().unwrap_err();
        assert_eq!(err.to_string(), "unknown error kind \"teapot\"");
    }

    /// The codes released before the kind was a type, spelled out: none may change.
    #[test]
    fn released_codes_keep_their_spelling() {
        let released = [
            "folder_missing",
            "not_a_folder",
            "empty_folder",
            "unreadable",
            "file_too_large",
            "too_many_files",
            "bad_file_name",
            "file_changed",
            "no_credentials",
            "token_invalid",
            "token_expired",
            "permission_missing",
            "account_not_found",
            "account_choice_needed",
            "project_choice_needed",
            "keychain_unavailable",
            "keychain_locked",
            "keychain_timeout",
            "keychain_corrupt",
            "keychain_error",
            "project_name_invalid",
            "project_name_taken",
            "not_found",
            "rate_limited",
            "quota_exhausted",
            "server_error",
            "rejected",
            "bad_response",
            "network",
            "deploy_failed",
            "verify_failed",
            "limit_exceeded",
            "unsupported",
            "cancelled",
            "deploy_in_progress",
            "unknown_deployment",
            "invalid",
            "internal",
            "interrupted",
            "data_dir",
            "storage",
            "io",
            "browser_failed",
            "address_refused",
        ];
        let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(codes, released);
    }
}
