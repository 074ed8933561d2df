use crate::{keyring_unavailable, SecretStore};
use datalinks_core::{Error, Result, SecretString, APP_IDENTIFIER};
use keyring_core::api::CredentialStore;
use keyring_core::Entry;
#[cfg(any(target_os = "linux", windows))]
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The OS keyring, with one entry per key:
/// - Linux: the Secret Service (GNOME Keyring, KWallet, KeePassXC) over D-Bus, an item with
///   attributes `service` = [`APP_IDENTIFIER`] and `username` = the key, labelled
///   `Datalinks: <key>`.
/// - macOS: the login keychain (Keychain Services), a generic password with service
///   [`APP_IDENTIFIER`] and account = the key.
/// - Windows: the Credential Manager, a generic credential named `<key>.<APP_IDENTIFIER>` with
///   user name = the key, kept on this computer only (local persistence: it does not roam with
///   a domain profile).
///
/// Other systems have no store: every call fails with `keyring_unavailable`.
///
/// Construction never fails: the connection is opened on first use, and any failure reported
/// as `keyring_unavailable` drops it so the next call (a Retry) connects afresh, for example
/// after the person unlocked the keyring or a restarted daemon replaced the old session.
///
/// Calls block (D-Bus round trips on Linux, system calls elsewhere) and need no async runtime;
/// call them from plain threads or `spawn_blocking`.
pub struct KeyringStore {
    connection: Mutex<Option<Arc<CredentialStore>>>,
}

impl KeyringStore {
    pub fn new() -> Self {
        Self {
            connection: Mutex::new(None),
        }
    }

    fn entry(&self, key: &str) -> Result<(Arc<CredentialStore>, Entry)> {
        let store = self.connect()?;
        let entry = build_entry(store.as_ref(), key)
            .map_err(|err| Error::internal(format!("Invalid keyring entry name {key:?}: {err}")))?;
        Ok((store, entry))
    }

    fn connect(&self) -> Result<Arc<CredentialStore>> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(store) = connection.as_ref() {
            return Ok(store.clone());
        }
        let store = open_platform_store().map_err(|err| keyring_unavailable(&describe(&err)))?;
        *connection = Some(store.clone());
        Ok(store)
    }

    /// Maps a keyring failure to our error, dropping the connection when the keyring itself
    /// is the problem so that the next call reconnects.
    fn fail(&self, used: &Arc<CredentialStore>, key: &str, err: keyring_core::Error) -> Error {
        use keyring_core::Error as K;
        match err {
            K::BadEncoding(_) => Error::internal(format!(
                "The keyring entry {key:?} of {APP_IDENTIFIER} is not valid text. It was left in place."
            )),
            K::Ambiguous(entries) => Error::internal(format!(
                "{} keyring entries match {key:?} of {APP_IDENTIFIER}; remove the duplicates, \
                 e.g. with `secret-tool search --all service {APP_IDENTIFIER}`. Nothing was deleted.",
                entries.len()
            )),
            other => {
                let mut connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if connection.as_ref().is_some_and(|current| Arc::ptr_eq(current, used)) {
                    *connection = None;
                }
                keyring_unavailable(&describe(&other))
            }
        }
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        let (store, entry) = self.entry(key)?;
        match entry.get_password() {
            Ok(value) => Ok(Some(SecretString::new(value))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(err) => Err(self.fail(&store, key, err)),
        }
    }

    fn set(&self, key: &str, value: &SecretString) -> Result<()> {
        let (store, entry) = self.entry(key)?;
        entry
            .set_password(value.expose())
            .map_err(|err| self.fail(&store, key, err))
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let (store, entry) = self.entry(key)?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(err) => Err(self.fail(&store, key, err)),
        }
    }

    fn location(&self) -> String {
        let keyring = if cfg!(target_os = "linux") {
            "OS keyring (Secret Service)"
        } else if cfg!(target_os = "macos") {
            "OS keyring (macOS Keychain)"
        } else if cfg!(windows) {
            "OS keyring (Windows Credential Manager)"
        } else {
            "OS keyring"
        };
        keyring.to_owned()
    }
}

#[cfg(target_os = "linux")]
fn open_platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

/// The login keychain. The `keychain` module (Keychain Services) works for any app; the
/// `protected` one needs a provisioning profile, which a Developer ID-signed app has not.
#[cfg(target_os = "macos")]
fn open_platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

/// Target names `<user>.<service>`, the store's default (keyring v3's too).
#[cfg(windows)]
fn open_platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn open_platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NotSupportedByStore(
        "this build has no keyring backend for this operating system".to_owned(),
    ))
}

/// The entry for `key`. Each store takes only its own modifiers (an unknown one is an error).
fn build_entry(store: &CredentialStore, key: &str) -> keyring_core::Result<Entry> {
    #[cfg(target_os = "linux")]
    {
        // The label is what keyring managers such as Seahorse show.
        let label = format!("Datalinks: {key}");
        let modifiers = HashMap::from([("label", label.as_str())]);
        store.build(APP_IDENTIFIER, key, Some(&modifiers))
    }
    #[cfg(windows)]
    {
        // Tokens belong to this computer: not the default Enterprise persistence, which roams.
        let modifiers = HashMap::from([("persistence", "Local")]);
        store.build(APP_IDENTIFIER, key, Some(&modifiers))
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        store.build(APP_IDENTIFIER, key, None)
    }
}

/// A short cause for people: what kind of failure, then the platform's own words.
fn describe(err: &keyring_core::Error) -> String {
    use keyring_core::Error as K;
    match err {
        K::NoStorageAccess(cause) => format!("access refused — is it locked? {cause}"),
        K::PlatformFailure(cause) => format!("could not reach it: {cause}"),
        other => other.to_string(),
    }
}
