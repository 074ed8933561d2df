//! The system's file and folder dialogs, opened from Rust. They are the only way a path gets from
//! the window to the service: the page asks for a dialog and gets back an id for what the person
//! chose (`Picks`), or the result of using it, never a say in which path is used.

use datalinks_core::{Error, Result};
use datalinks_service::PickPurpose;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::{Manager, WebviewWindow};
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder};
use tokio::sync::oneshot;

/// One dialog at a time, so a page cannot stack them up.
#[derive(Default)]
pub struct DialogOpen(AtomicBool);

pub enum Dialog<'a> {
    /// An existing file, optionally of one type: (type name, extensions).
    OpenFile(Option<(&'a str, &'a [&'a str])>),
    Folder,
    /// A file to write, proposed under this name.
    Save {
        name: &'a str,
        filter: (&'a str, &'a [&'a str]),
    },
}

/// What the dialog for each use of a chosen path asks.
pub fn for_purpose(purpose: PickPurpose) -> (&'static str, Dialog<'static>) {
    match purpose {
        PickPurpose::UploadFile => ("Choose a file to upload", Dialog::OpenFile(None)),
        PickPurpose::UploadFolder => ("Choose the folder to upload from", Dialog::Folder),
        PickPurpose::UploadMetadata => (
            "Choose the metadata CSV",
            Dialog::OpenFile(Some(("CSV", &["csv"]))),
        ),
        PickPurpose::ProjectDownloadFolder => ("Choose where to download to", Dialog::Folder),
    }
}

/// Shows a dialog over `window`, starting in `start` (else the home folder); `None` when the
/// person cancels.
pub async fn choose(
    window: &WebviewWindow,
    title: &str,
    dialog: Dialog<'_>,
    start: Option<&Path>,
) -> Result<Option<PathBuf>> {
    let open = window.state::<DialogOpen>();
    if open.0.swap(true, Ordering::SeqCst) {
        return Err(Error::invalid_input(
            "A file dialog is already open; finish with it first.",
        ));
    }
    let _closed = Closed(&open.0);
    let mut builder: FileDialogBuilder<_> =
        window.dialog().file().set_parent(window).set_title(title);
    // A folder that does not exist yet (the download folder before the first download) starts
    // the dialog in the nearest one that does; no folder, in the home folder (GTK would start in
    // "Recent", where a typed path cannot be chosen).
    let home = window.path().home_dir().ok();
    let start = start.or(home.as_deref());
    if let Some(start) = start.and_then(|folder| folder.ancestors().find(|f| f.is_dir())) {
        builder = builder.set_directory(start);
    }
    let (chosen_tx, chosen) = oneshot::channel();
    let send = move |path| {
        let _ = chosen_tx.send(path);
    };
    match dialog {
        Dialog::OpenFile(filter) => {
            if let Some((name, extensions)) = filter {
                builder = builder.add_filter(name, extensions);
            }
            builder.pick_file(send)
        }
        Dialog::Folder => builder.set_can_create_directories(true).pick_folder(send),
        Dialog::Save {
            name,
            filter: (kind, extensions),
        } => builder
            .set_file_name(name)
            .add_filter(kind, extensions)
            .save_file(send),
    }
    let Some(path) = chosen.await.ok().flatten() else {
        return Ok(None);
    };
    path.into_path()
        .map(Some)
        .map_err(|e| Error::invalid_input(format!("The chosen file is not a local path: {e}")))
}

struct Closed<'a>(&'a AtomicBool);

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
