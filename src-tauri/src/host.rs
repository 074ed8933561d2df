//! How the service reaches the desktop: the system browser and events to the UI.

use datalinks_core::{Error, ErrorCode, Result, DEEP_LINK_SCHEME};
use datalinks_service::{DownloadProgress, Host, ServiceEvent, UploadProgress};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_opener::OpenerExt;

pub struct TauriHost {
    app: AppHandle,
}

impl TauriHost {
    pub fn new(app: AppHandle) -> Self {
        Self { app }
    }
}

impl Host for TauriHost {
    fn open_in_browser(&self, url: &str) -> Result<()> {
        self.app
            .opener()
            .open_url(url, None::<&str>)
            .map_err(|e| Error::internal(format!("Could not open the system browser ({e}).")))
    }

    fn emit(&self, event: ServiceEvent) {
        let sent = match event {
            ServiceEvent::ConnectionsChanged(overview) => {
                self.app.emit("connections-changed", overview)
            }
            // The overview that follows carries the outcome: a new card, or the sign-in's error.
            ServiceEvent::SignInEnded { .. } => Ok(()),
            ServiceEvent::Notice(error) => {
                log::info!("notice: {error}");
                self.app.emit("notice", error)
            }
            ServiceEvent::ProjectListing(progress) => self.app.emit("project-listing", progress),
        };
        if let Err(err) = sent {
            log::warn!("could not send an event to the window: {err}");
        }
    }

    fn download_progress(&self, progress: &DownloadProgress) {
        if let Err(err) = self.app.emit("download-progress", progress) {
            log::warn!("could not send download progress to the window: {err}");
        }
    }

    fn upload_progress(&self, progress: &UploadProgress) {
        if let Err(err) = self.app.emit("upload-progress", progress) {
            log::warn!("could not send upload progress to the window: {err}");
        }
    }
}

/// A second launch with arguments that are not a `datalinks:` link (the deep-link plugin
/// ignores those) is reported rather than silently dropped.
pub fn report_stray_arguments(app: &AppHandle, argv: &[String]) {
    let prefix = format!("{DEEP_LINK_SCHEME}:");
    for arg in argv.iter().skip(1).filter(|a| !a.starts_with(&prefix)) {
        let shown: String = arg.chars().take(80).collect();
        let notice = Error::new(
            ErrorCode::CallbackRefused,
            format!("Ignored an unexpected launch argument: {shown:?}"),
        );
        let _ = app.emit("notice", notice);
    }
}

pub fn focus_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
