use super::{CmdResult, Service};
use datalinks_core::{ConnectionId, Error};
use datalinks_service::{
    ConnectedSource, Datalinks, HapiActivity, HapiPage, HapiProfile, HapiReport, HapiSource,
    SavedReport,
};
use tauri::WebviewWindow;
use tauri_plugin_dialog::DialogExt;
use tokio::sync::oneshot;

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
    let (chosen_tx, chosen) = oneshot::channel();
    window
        .dialog()
        .file()
        .set_parent(&window)
        .set_title("Save the report as PDF")
        .set_directory(service.download_folder()?)
        .set_file_name(Datalinks::hapi_report_pdf_name(&report_id))
        .add_filter("PDF", &["pdf"])
        .save_file(move |path| {
            let _ = chosen_tx.send(path);
        });
    let Some(path) = chosen.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| Error::invalid_input(format!("The chosen file is not a local path: {e}")))?;
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
