//! Files and folders the person chose in a native dialog. The web page never names a path: the
//! shell opens the dialog, remembers what was chosen here, and hands the page an id for it. An id
//! is accepted only for the use it was chosen for, so a file picked to be uploaded can never
//! become a folder to write into.

use datalinks_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use ts_rs::TS;

/// What a chosen path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PickPurpose {
    /// A file of the member's own, read and uploaded to Open Humans.
    UploadFile,
    /// The folder of files a researcher uploads to members.
    UploadFolder,
    /// The metadata CSV that goes with that folder.
    UploadMetadata,
    /// The folder a project download writes into.
    ProjectDownloadFolder,
}

/// A chosen path as the page sees it: an id to send back, and the path to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PickedPath {
    pub id: PickId,
    pub path: String,
}

/// Names one chosen path for as long as the app runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PickId(String);

/// Every path chosen since the app started.
#[derive(Default)]
pub struct Picks {
    next: AtomicU64,
    chosen: Mutex<HashMap<PickId, (PickPurpose, PathBuf)>>,
}

impl Picks {
    /// Remembers a path the person chose in a dialog for `purpose`.
    pub fn remember(&self, purpose: PickPurpose, path: PathBuf) -> PickedPath {
        let id = PickId(format!(
            "pick-{}",
            self.next.fetch_add(1, Ordering::Relaxed) + 1
        ));
        let shown = path.display().to_string();
        self.chosen
            .lock()
            .unwrap()
            .insert(id.clone(), (purpose, path));
        PickedPath { id, path: shown }
    }

    /// The path chosen under `id`, if it was chosen for `purpose`.
    pub fn path(&self, id: &PickId, purpose: PickPurpose) -> Result<PathBuf> {
        match self.chosen.lock().unwrap().get(id) {
            Some((chosen_for, path)) if *chosen_for == purpose => Ok(path.clone()),
            Some(_) => Err(Error::invalid_input(
                "That file or folder was chosen for something else; choose it again here.",
            )),
            None => Err(Error::invalid_input(
                "That file or folder is no longer chosen; choose it again.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pick_is_only_accepted_for_the_use_it_was_chosen_for() {
        let picks = Picks::default();
        let file = picks.remember(
            PickPurpose::UploadFile,
            PathBuf::from("/home/ada/steps.csv"),
        );
        assert_eq!(file.path, "/home/ada/steps.csv");
        assert_eq!(
            picks.path(&file.id, PickPurpose::UploadFile).unwrap(),
            PathBuf::from("/home/ada/steps.csv")
        );
        let err = picks
            .path(&file.id, PickPurpose::ProjectDownloadFolder)
            .unwrap_err();
        assert!(err.message.contains("chosen for something else"), "{err:?}");
    }

    #[test]
    fn an_id_that_no_dialog_gave_is_refused() {
        let picks = Picks::default();
        let made_up = PickId("/home/ada/.ssh/id_ed25519".into());
        let err = picks.path(&made_up, PickPurpose::UploadFile).unwrap_err();
        assert!(err.message.contains("no longer chosen"), "{err:?}");
        let first = picks.remember(PickPurpose::UploadFolder, PathBuf::from("/a"));
        let second = picks.remember(PickPurpose::UploadFolder, PathBuf::from("/b"));
        assert_ne!(first.id, second.id);
    }
}
