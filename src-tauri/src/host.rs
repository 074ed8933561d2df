//! How the service reaches the desktop: the system browser and events to the UI. Progress of
//! long work does not come this way: it goes to the channel of the command that started it.

use datalinks_core::{Error, ErrorCode, Result, DEEP_LINK_SCHEME};
use datalinks_service::{Host, ServiceEvent};
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
            ServiceEvent::DeparturesChanged => self.app.emit("departures-changed", ()),
        };
        if let Err(err) = sent {
            log::warn!("could not send an event to the window: {err}");
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
