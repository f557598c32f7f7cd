//! Keychain implementations: the operating system's, and an in-memory one for tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use keyring_core::{CredentialStore, Entry};

use super::{KeychainError, Secret, SecretStore, SERVICE};

/// The operating system's keychain: the Secret Service (GNOME Keyring, KWallet) on Linux.
///
/// The store is built on first use, not at start-up, because connecting to D-Bus can block
/// and a missing keychain must not stop the app from opening; each call reports it instead.
#[derive(Default)]
pub struct OsKeychain {
    store: OnceLock<Result<Arc<CredentialStore>, KeychainError>>,
}

impl OsKeychain {
    pub fn new() -> OsKeychain {
        OsKeychain::default()
    }

    fn entry(&self, key: &str) -> Result<Entry, KeychainError> {
        let store = self.store.get_or_init(platform_store).clone()?;
        store.build(SERVICE, key, None).map_err(map_error)
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<CredentialStore>, KeychainError> {
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(map_error)
}

#[cfg(not(target_os = "linux"))]
fn platform_store() -> Result<Arc<CredentialStore>, KeychainError> {
    Err(KeychainError::Unavailable {
        detail: "this build supports the Linux Secret Service only".into(),
    })
}

/// Turns a keyring error into ours. Careful: some variants carry the stored bytes (the
/// secret), so only the variant is used, never its contents.
fn map_error(e: keyring_core::Error) -> KeychainError {
    use keyring_core::Error as K;
    match e {
        K::NoStorageAccess(_) => KeychainError::Locked,
        K::PlatformFailure(p) => KeychainError::Unavailable {
            detail: short(&p.to_string()),
        },
        K::NoDefaultStore => KeychainError::Unavailable {
            detail: "no keychain is configured".into(),
        },
        K::BadEncoding(_) | K::BadDataFormat(..) => KeychainError::Corrupt,
        K::NoEntry => KeychainError::Other("no such entry".into()),
        _ => KeychainError::Other("unexpected keychain error".into()),
    }
}

/// Platform errors can be long D-Bus dumps; the first line says enough.
fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s);
    line.chars().take(160).collect()
}

impl SecretStore for OsKeychain {
    fn get(&self, key: &str) -> Result<Option<Secret>, KeychainError> {
        match self.entry(key)?.get_password() {
            Ok(secret) => Ok(Some(Secret::new(secret))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn set(&self, key: &str, secret: &Secret) -> Result<(), KeychainError> {
        self.entry(key)?
            .set_password(secret.expose())
            .map_err(map_error)
    }

    fn delete(&self, key: &str) -> Result<(), KeychainError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}

/// A keychain in memory, for tests; can be told to fail like a locked keychain.
#[derive(Default)]
pub struct MemoryKeychain {
    entries: Mutex<HashMap<String, String>>,
    failure: Option<KeychainError>,
}

impl MemoryKeychain {
    /// A keychain whose every call fails with `error`.
    pub fn failing(error: KeychainError) -> MemoryKeychain {
        MemoryKeychain {
            entries: Mutex::default(),
            failure: Some(error),
        }
    }

    fn check(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, String>>, KeychainError> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        Ok(self.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl SecretStore for MemoryKeychain {
    fn get(&self, key: &str) -> Result<Option<Secret>, KeychainError> {
        Ok(self.check()?.get(key).cloned().map(Secret::new))
    }

    fn set(&self, key: &str, secret: &Secret) -> Result<(), KeychainError> {
        self.check()?
            .insert(key.to_string(), secret.expose().to_string());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), KeychainError> {
        self.check()?.remove(key);
        Ok(())
    }
}
