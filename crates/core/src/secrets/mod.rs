//! Secrets: API tokens and AWS keys, kept only in the operating system's keychain.
//!
//! - [`Secret`] wraps a secret string; its `Debug` prints `<redacted>` and it has no `Display`,
//!   so it cannot slip into a log line, an error message or a panic by accident.
//! - [`SecretStore`] is the keychain seen by the engine: [`OsKeychain`] (service `sitedrop`, one
//!   entry per account, through `keyring-core` and the Secret Service on Linux) and
//!   [`MemoryKeychain`] for tests.
//! - Keychain calls can block (D-Bus, an unlock prompt), so [`get`], [`set`] and [`delete`]
//!   run them off the async runtime with a timeout.

mod credentials;
mod keychain;

use std::sync::Arc;
use std::time::Duration;

use crate::error::ErrorKind;

pub use credentials::{
    AwsCredentials, CredentialKind, CredentialSource, Credentials, ResolvedCredentials,
};
pub use keychain::{MemoryKeychain, OsKeychain};

/// The keychain service name every Sitedrop entry is filed under.
pub const SERVICE: &str = "sitedrop";

/// How long a keychain call may take before we tell the user it is stuck (usually locked and
/// waiting for a prompt nobody sees).
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A secret string. Redacted in `Debug`; read it only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Call sites are the few places that put it on the wire or in the
    /// keychain.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

/// Credentials arrive in platforms' answers too (upload JWTs, drop tokens, presigned URLs):
/// reading them straight into a `Secret` means no struct holds one as a plain `String` that a
/// derived `Debug` would print.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// The empty secret (a member the platform left out).
impl Default for Secret {
    fn default() -> Secret {
        Secret(String::new())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Overwrite the bytes so the secret does not linger in freed memory (best effort: the
        // string is never grown after creation, so no reallocation left a copy behind).
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Why the keychain could not be used. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    #[error("The system keychain is not available ({detail}). Sitedrop keeps tokens only in the keychain: start your desktop's keyring (for example GNOME Keyring), or give the token in an environment variable such as NETLIFY_AUTH_TOKEN.")]
    Unavailable { detail: String },
    #[error("The system keychain is locked. Unlock it (log in to your desktop session, or open your keyring app) and try again.")]
    Locked,
    #[error("The system keychain did not answer within {} seconds; it may be waiting for you to unlock it. Unlock it and try again.", KEYCHAIN_TIMEOUT.as_secs())]
    Timeout,
    #[error("The token saved in the keychain could not be read back. Connect the account again.")]
    Corrupt,
    #[error("The system keychain refused the request: {0}")]
    Other(String),
}

impl KeychainError {
    /// The code faces see for this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            KeychainError::Unavailable { .. } => ErrorKind::KeychainUnavailable,
            KeychainError::Locked => ErrorKind::KeychainLocked,
            KeychainError::Timeout => ErrorKind::KeychainTimeout,
            KeychainError::Corrupt => ErrorKind::KeychainCorrupt,
            KeychainError::Other(_) => ErrorKind::KeychainError,
        }
    }
}

/// The keychain as the engine sees it. Calls may block; use the async wrappers below.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Secret>, KeychainError>;
    fn set(&self, key: &str, secret: &Secret) -> Result<(), KeychainError>;
    /// Deleting an entry that does not exist is not an error.
    fn delete(&self, key: &str) -> Result<(), KeychainError>;
}

async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, KeychainError> {
    match tokio::time::timeout(KEYCHAIN_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(KeychainError::Other(format!(
            "keychain task failed: {join}"
        ))),
        Err(_) => Err(KeychainError::Timeout),
    }
}

/// Reads a secret without blocking the async runtime.
pub async fn get(store: &Arc<dyn SecretStore>, key: &str) -> Result<Option<Secret>, KeychainError> {
    let (store, key) = (store.clone(), key.to_string());
    off_runtime(move || store.get(&key)).await
}

/// Stores a secret without blocking the async runtime.
pub async fn set(
    store: &Arc<dyn SecretStore>,
    key: &str,
    secret: Secret,
) -> Result<(), KeychainError> {
    let (store, key) = (store.clone(), key.to_string());
    off_runtime(move || store.set(&key, &secret)).await
}

/// Deletes a secret without blocking the async runtime.
pub async fn delete(store: &Arc<dyn SecretStore>, key: &str) -> Result<(), KeychainError> {
    let (store, key) = (store.clone(), key.to_string());
    off_runtime(move || store.delete(&key)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_secret_is_redacted() {
        let s = Secret::new("sk_live_abcdef");
        assert_eq!(format!("{s:?}"), "<redacted>");
        let creds = Credentials::Token(s);
        assert!(!format!("{creds:?}").contains("sk_live"));
    }

    #[test]
    fn every_type_holding_a_credential_redacts_it_in_debug() {
        let aws = AwsCredentials {
            access_key_id: "AKIDEXAMPLE7Q3Z".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI-secret"),
            session_token: Some(Secret::new("FwoGZXIvYXdzE-session")),
            region: "eu-west-1".into(),
        };
        let env = crate::config::Env::from_pairs([
            ("CLOUDFLARE_API_TOKEN", "cf-token-value"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret"),
        ]);
        let from_answer: Secret =
            serde_json::from_str("\"eyJhbGciOi.eyJleHAi.sig-value\"").unwrap();
        let shown = [
            format!("{:?}", Secret::new("cf-token-value")),
            format!("{:?}", Credentials::Token(Secret::new("cf-token-value"))),
            format!("{:?}", Credentials::Aws(aws.clone())),
            format!("{aws:?}"),
            format!(
                "{:?}",
                ResolvedCredentials {
                    credentials: Credentials::Aws(aws),
                    source: CredentialSource::Env("AWS_ACCESS_KEY_ID"),
                    account_ref: Some("eu-west-1".into()),
                }
            ),
            format!("{env:?}"),
            format!("{from_answer:?}"),
            format!(
                "{:?}",
                crate::Error::from(KeychainError::Other("no such entry".into()))
            ),
        ];
        for (i, text) in shown.iter().enumerate() {
            for secret in [
                "cf-token-value",
                "wJalrXUtnFEMI",
                "FwoGZXIvYXdzE",
                "sig-value",
                "AKIDEXAMPLE7Q3Z",
            ] {
                assert!(!text.contains(secret), "#{i} shows {secret}: {text}");
            }
        }
        assert_eq!(from_answer.expose(), "eyJhbGciOi.eyJleHAi.sig-value");
    }

    #[tokio::test]
    async fn memory_keychain_round_trip_through_the_async_wrappers() {
        let store: Arc<dyn SecretStore> = Arc::new(MemoryKeychain::default());
        assert_eq!(get(&store, "netlify:1").await.unwrap(), None);
        set(&store, "netlify:1", Secret::new("tok")).await.unwrap();
        assert_eq!(
            get(&store, "netlify:1").await.unwrap().unwrap().expose(),
            "tok"
        );
        delete(&store, "netlify:1").await.unwrap();
        delete(&store, "netlify:1").await.unwrap();
        assert_eq!(get(&store, "netlify:1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_locked_keychain_gives_a_clear_error() {
        let store: Arc<dyn SecretStore> = Arc::new(MemoryKeychain::failing(KeychainError::Locked));
        let err = crate::Error::from(get(&store, "x").await.unwrap_err());
        assert_eq!(err.kind(), "keychain_locked");
        assert!(
            err.to_string().contains("keychain is locked. Unlock it"),
            "{err}"
        );
    }

    /// The real Secret Service: `make test-keychain` runs this inside a private D-Bus session
    /// with an unlocked GNOME Keyring (`scripts/with-keyring.sh`).
    #[tokio::test]
    #[ignore = "needs a Secret Service session: make test-keychain"]
    async fn real_keychain_round_trip() {
        let store: Arc<dyn SecretStore> = Arc::new(OsKeychain::new());
        let key = format!("test:{}", std::process::id());
        set(&store, &key, Secret::new("real-keychain-secret"))
            .await
            .unwrap();
        assert_eq!(
            get(&store, &key).await.unwrap().unwrap().expose(),
            "real-keychain-secret"
        );
        delete(&store, &key).await.unwrap();
        assert_eq!(get(&store, &key).await.unwrap(), None);
    }

    /// A Secret Service whose keyring is locked (gnome-keyring started by D-Bus activation,
    /// never unlocked): `make test-keychain` runs this in such a session.
    #[tokio::test]
    #[ignore = "needs a locked Secret Service session: make test-keychain"]
    async fn real_keychain_locked_gives_a_clear_error() {
        let store: Arc<dyn SecretStore> = Arc::new(OsKeychain::new());
        let err = set(&store, "locked-test", Secret::new("x"))
            .await
            .unwrap_err();
        assert_eq!(err, KeychainError::Locked, "{err}");
    }

    /// No session bus at all (a server, a bare container): `make test-keychain` runs this with
    /// the bus variables removed.
    #[tokio::test]
    #[ignore = "needs an environment without a session bus: make test-keychain"]
    async fn real_keychain_absent_gives_a_clear_error() {
        let store: Arc<dyn SecretStore> = Arc::new(OsKeychain::new());
        let err = get(&store, "absent-test").await.unwrap_err();
        assert_eq!(err.kind(), "keychain_unavailable", "{err}");
        assert!(
            err.to_string()
                .contains("environment variable such as NETLIFY_AUTH_TOKEN"),
            "{err}"
        );
    }
}
