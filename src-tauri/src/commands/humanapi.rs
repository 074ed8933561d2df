use super::{CmdResult, Service};
use crate::dialogs::{self, Dialog};
use datalinks_core::ConnectionId;
use datalinks_service::{
    ConnectedSource, Datalinks, HapiActivity, HapiPage, HapiProfile, HapiReport, HapiSource,
    SavedReport,
};
use tauri::WebviewWindow;

#[tauri::command]
pub fn hapi_connected_sources(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<Vec<ConnectedSource>> {
    service.hapi_connected_sources(connection)
}

#[tauri::command]
pub async fn hapi_profile(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<HapiProfile> {
    service.hapi_profile(connection).await
}

#[tauri::command]
pub async fn hapi_sources(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<Vec<HapiSource>> {
    service.hapi_sources(connection).await
}

#[tauri::command]
pub async fn hapi_reports(
    service: Service<'_>,
    connection: ConnectionId,
    offset: u64,
) -> CmdResult<HapiPage<HapiReport>> {
    service.hapi_reports(connection, offset).await
}

/// Asks where to save a report as PDF with the system's save dialog, then writes it there;
/// nothing when the person cancels. The path never comes from the web UI.
#[tauri::command]
pub async fn hapi_save_report_pdf(
    window: WebviewWindow,
    service: Service<'_>,
    connection: ConnectionId,
    report_id: String,
) -> CmdResult<Option<SavedReport>> {
    let pdf = Dialog::Save {
        name: &Datalinks::hapi_report_pdf_name(&report_id),
        filter: ("PDF", &["pdf"]),
    };
    let title = "Save the report as PDF";
    let folder = service.download_folder()?;
    let Some(path) = dialogs::choose(&window, title, pdf, Some(&folder)).await? else {
        return Ok(None);
    };
    service
        .hapi_save_report_pdf(connection, &report_id, &path)
        .await
        .map(Some)
}

#[tauri::command]
pub async fn hapi_activities(
    service: Service<'_>,
    connection: ConnectionId,
    offset: u64,
) -> CmdResult<HapiPage<HapiActivity>> {
    service.hapi_activities(connection, offset).await
}
