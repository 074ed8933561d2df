//! Shared by the real-keyring tests: they run against the session's Secret Service when one
//! is usable and otherwise say so and pass, unless `DATALINKS_REQUIRE_KEYRING=1` (CI) makes
//! a missing keyring a failure.

use datalinks_core::SecretString;
use datalinks_vault::{KeyringStore, SecretStore};
use std::io::Write;

pub fn keyring_required() -> bool {
    std::env::var("DATALINKS_REQUIRE_KEYRING").is_ok_and(|value| value == "1")
}

/// Written straight to stderr: the test harness captures `eprintln!` of passing tests.
pub fn announce(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A key unique to this test process, so runs never touch each other's or the app's entries.
pub fn test_key(name: &str) -> String {
    format!("datalinks-vault-test/{}/{name}", std::process::id())
}

/// A store that just completed a write and a delete, or `None` after announcing the skip.
pub fn usable_keyring(test: &str) -> Option<KeyringStore> {
    let store = KeyringStore::new();
    let probe = test_key(&format!("{test}-probe"));
    match store
        .set(&probe, &SecretString::new("probe"))
        .and_then(|()| store.delete(&probe))
    {
        Ok(_) => Some(store),
        Err(err) if keyring_required() => {
            panic!("DATALINKS_REQUIRE_KEYRING=1 but the Secret Service is not usable: {err}")
        }
        Err(err) => {
            announce(&format!(
                "{test}: skipped: no Secret Service ({})",
                err.message
            ));
            None
        }
    }
}

/// Deletes the listed entries when a test ends, passed or not.
pub struct Cleanup<'a> {
    pub store: &'a KeyringStore,
    pub keys: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for key in &self.keys {
            let _ = self.store.delete(key);
        }
    }
}
