//! IPC commands, one file per domain. Each is a few lines over `datalinks-service`; errors
//! reach the UI as `{code, message}`.

pub mod connections;
pub mod files;
pub mod humanapi;
pub mod member;
pub mod opencollective;
pub mod project;
pub mod settings;

use datalinks_service::Datalinks;
use std::sync::Arc;

pub type Service<'a> = tauri::State<'a, Arc<Datalinks>>;
pub type CmdResult<T> = Result<T, datalinks_core::Error>;
