//! The optional JSON state file in which a simulator keeps what a connection needs to carry on
//! across restarts of the app. It is read once at start, and written again (to a temporary file
//! renamed over it) whenever a lock on the state is released with that part changed.

use std::io::ErrorKind;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// State of which a part outlives restarts.
pub trait Persist {
    /// The part the state file keeps.
    fn persisted(&self) -> impl Serialize + '_;
}

/// Reads a state file. `None` for no file, and, with a message on stderr, for one that cannot be
/// read or that `same_world` refuses (saved by a simulator of another seed or size).
pub fn load<T: DeserializeOwned>(
    file: Option<&Path>,
    same_world: impl FnOnce(&T) -> bool,
) -> Option<T> {
    let file = file?;
    let read = std::fs::read_to_string(file);
    if matches!(&read, Err(error) if error.kind() == ErrorKind::NotFound) {
        return None;
    }
    let parsed = read
        .map_err(|error| error.to_string())
        .and_then(|text| serde_json::from_str::<T>(&text).map_err(|error| error.to_string()));
    match parsed {
        Ok(saved) if same_world(&saved) => Some(saved),
        Ok(_) => {
            eprintln!(
                "sandbox: ignoring state file {} of another sandbox world",
                file.display()
            );
            None
        }
        Err(error) => {
            eprintln!(
                "sandbox: ignoring unreadable state file {}: {error}",
                file.display()
            );
            None
        }
    }
}

/// A mutex whose state is saved to its state file, when it has one, as each lock is released.
pub struct PersistentMutex<T> {
    slot: Mutex<Slot<T>>,
    file: Option<PathBuf>,
}

struct Slot<T> {
    state: T,
    /// The state file's content as last written, to write only on change.
    written: String,
}

impl<T: Persist> PersistentMutex<T> {
    pub fn new(state: T, file: Option<PathBuf>) -> Self {
        PersistentMutex {
            slot: Mutex::new(Slot {
                state,
                written: String::new(),
            }),
            file,
        }
    }

    pub fn lock(&self) -> PersistentGuard<'_, T> {
        PersistentGuard {
            slot: self
                .slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            file: self.file.as_deref(),
        }
    }
}

pub struct PersistentGuard<'a, T: Persist> {
    slot: MutexGuard<'a, Slot<T>>,
    file: Option<&'a Path>,
}

impl<T: Persist> Deref for PersistentGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.slot.state
    }
}

impl<T: Persist> DerefMut for PersistentGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.slot.state
    }
}

impl<T: Persist> Drop for PersistentGuard<'_, T> {
    fn drop(&mut self) {
        let Some(file) = self.file else {
            return;
        };
        let slot = &mut *self.slot;
        let text =
            serde_json::to_string(&slot.state.persisted()).expect("the sandbox state serializes");
        if text == slot.written {
            return;
        }
        let temporary = file.with_extension("tmp");
        let written =
            std::fs::write(&temporary, &text).and_then(|()| std::fs::rename(&temporary, file));
        match written {
            Ok(()) => slot.written = text,
            Err(error) => eprintln!("sandbox: could not save {}: {error}", file.display()),
        }
    }
}
