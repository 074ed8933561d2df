use crate::{keyring_unavailable, SecretStore};
use datalinks_core::{Result, SecretString};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// An in-memory [`SecretStore`] for tests, with knobs that make it fail like a locked keyring.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    entries: HashMap<String, SecretString>,
    unavailable: Option<String>,
    fail_writes: bool,
    /// How long each call takes, as a D-Bus round trip to a real keyring does.
    latency: std::time::Duration,
    reads: usize,
    writes: usize,
    /// Every value ever stored, so tests can look for any secret the app has held.
    written: Vec<SecretString>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Some(reason)` makes every call fail with `keyring_unavailable`; `None` restores it.
    pub fn set_unavailable(&self, reason: Option<String>) {
        self.lock().unavailable = reason;
    }

    /// Makes `set` and `delete` fail with `keyring_unavailable` while reads keep working.
    pub fn fail_writes(&self, fail: bool) {
        self.lock().fail_writes = fail;
    }

    /// Makes every call block the calling thread for `latency`, like a slow keyring daemon.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.lock().latency = latency;
    }

    fn wait(&self) {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
    }

    /// Number of `get` calls so far, failed ones included.
    pub fn reads(&self) -> usize {
        self.lock().reads
    }

    /// Number of `set` and `delete` calls so far, failed ones included.
    pub fn writes(&self) -> usize {
        self.lock().writes
    }

    /// Whether an entry exists, without counting as a read or obeying the failure knobs.
    pub fn contains(&self, key: &str) -> bool {
        self.lock().entries.contains_key(key)
    }

    /// Every key with an entry, sorted, without counting as reads.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().entries.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Every value ever stored, deleted and replaced ones included, in order.
    pub fn every_value_written(&self) -> Vec<String> {
        let state = self.lock();
        state
            .written
            .iter()
            .map(|v| v.expose().to_owned())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A panicking test thread must not hide the entries from the assertions that follow.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MemoryState {
    fn check_available(&self) -> Result<()> {
        match &self.unavailable {
            Some(reason) => Err(keyring_unavailable(reason)),
            None => Ok(()),
        }
    }

    fn check_writable(&self) -> Result<()> {
        self.check_available()?;
        if self.fail_writes {
            return Err(keyring_unavailable("the keyring refused the write"));
        }
        Ok(())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        self.wait();
        let mut state = self.lock();
        state.reads += 1;
        state.check_available()?;
        Ok(state.entries.get(key).cloned())
    }

    fn set(&self, key: &str, value: &SecretString) -> Result<()> {
        self.wait();
        let mut state = self.lock();
        state.writes += 1;
        state.check_writable()?;
        state.entries.insert(key.to_owned(), value.clone());
        state.written.push(value.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        self.wait();
        let mut state = self.lock();
        state.writes += 1;
        state.check_writable()?;
        Ok(state.entries.remove(key).is_some())
    }

    fn location(&self) -> String {
        "in-memory test store".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datalinks_core::ErrorCode;

    #[test]
    fn round_trip_and_counters() {
        let store = MemoryStore::new();
        assert_eq!(store.get("a").unwrap(), None);
        store.set("a", &SecretString::new("one")).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "one");
        store.set("a", &SecretString::new("two")).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "two");
        assert!(store.delete("a").unwrap());
        assert!(!store.delete("a").unwrap());
        assert_eq!(store.get("a").unwrap(), None);
        assert_eq!((store.reads(), store.writes()), (4, 4));
    }

    #[test]
    fn unavailable_store_fails_every_call_and_keeps_entries() {
        let store = MemoryStore::new();
        store.set("a", &SecretString::new("kept")).unwrap();
        store.set_unavailable(Some("locked".into()));

        for err in [
            store.get("a").unwrap_err(),
            store.set("a", &SecretString::new("new")).unwrap_err(),
            store.delete("a").unwrap_err(),
        ] {
            assert_eq!(err.code, ErrorCode::KeyringUnavailable);
            assert!(err.message.contains("locked"), "{}", err.message);
            assert!(
                err.message.contains("Nothing was deleted"),
                "{}",
                err.message
            );
        }

        store.set_unavailable(None);
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "kept");
    }

    #[test]
    fn failing_writes_still_allow_reads() {
        let store = MemoryStore::new();
        store.set("a", &SecretString::new("kept")).unwrap();
        store.fail_writes(true);
        assert_eq!(
            store.set("a", &SecretString::new("new")).unwrap_err().code,
            ErrorCode::KeyringUnavailable
        );
        assert_eq!(
            store.delete("a").unwrap_err().code,
            ErrorCode::KeyringUnavailable
        );
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "kept");
        store.fail_writes(false);
        assert!(store.delete("a").unwrap());
        assert!(!store.contains("a"));
    }
}
