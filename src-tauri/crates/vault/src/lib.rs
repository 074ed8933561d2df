//! Datalinks secrets: the OS keyring behind a small [`SecretStore`] trait, and a typed
//! [`Vault`] on top that keeps each secret under the registration and account it belongs to.
//!
//! There is no plaintext fallback: when the keyring is locked, missing or refuses access,
//! every call fails with `keyring_unavailable` and nothing is deleted.

mod keyring_store;
mod memory;
mod vault;

pub use keyring_store::KeyringStore;
pub use memory::MemoryStore;
pub use vault::{legacy_key, SecretKind, SecretOwner, TokenSet, Vault};

use datalinks_core::{Error, Result, SecretString};

/// A place that keeps secrets by key. Implementations block (D-Bus round trips), so async
/// callers wrap calls in `spawn_blocking`.
pub trait SecretStore: Send + Sync {
    /// `Ok(None)` when there is no entry for `key`.
    fn get(&self, key: &str) -> Result<Option<SecretString>>;
    /// Creates or replaces the entry for `key`.
    fn set(&self, key: &str, value: &SecretString) -> Result<()>;
    /// `Ok(false)` when there was no entry to delete.
    fn delete(&self, key: &str) -> Result<bool>;
    /// Where the secrets live, in words for people, e.g. "OS keyring (Secret Service)".
    fn location(&self) -> String;
}

/// The one `keyring_unavailable` message, so every store explains the problem the same way.
pub(crate) fn keyring_unavailable(detail: &str) -> Error {
    Error::keyring(format!(
        "The OS keyring is locked or unavailable ({detail}). Nothing was deleted — unlock it and retry."
    ))
}
