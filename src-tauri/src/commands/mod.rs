//! IPC commands, one file per domain. Each is a few lines over `datalinks-service`; errors
//! reach the UI as `{code, message}`.

pub mod connections;
pub mod departures;
pub mod files;
pub mod humanapi;
pub mod ledger;
pub mod member;
pub mod opencollective;
pub mod project;
pub mod settings;

use datalinks_service::{Datalinks, Report};
use serde::Serialize;
use std::sync::Arc;
use tauri::ipc::Channel;

pub type Service<'a> = tauri::State<'a, Arc<Datalinks>>;
pub type CmdResult<T> = Result<T, datalinks_core::Error>;

/// Long work's progress, sent to the channel the window passed with the command that started it.
fn to_channel<T: Serialize + Clone + Send + Sync + 'static>(channel: Channel<T>) -> Report<T> {
    Arc::new(move |update| {
        if let Err(err) = channel.send(update) {
            log::warn!("could not send progress to the window: {err}");
        }
    })
}
