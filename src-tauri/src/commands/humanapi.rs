use super::{CmdResult, Service};
use crate::connect_window;
use datalinks_core::ConnectionView;
use datalinks_service::{
    ConnectedSource, HapiActivity, HapiPage, HapiProfile, HapiReport, HapiSource,
};
use std::path::PathBuf;

/// Opens Human API Connect in its own window; the token goes to that window only.
#[tauri::command]
pub async fn hapi_open_connect(
    app: tauri::AppHandle,
    service: Service<'_>,
) -> CmdResult<ConnectionView> {
    connect_window::open(&app, &service).await
}

#[tauri::command]
pub fn hapi_connected_sources(service: Service<'_>) -> CmdResult<Vec<ConnectedSource>> {
    service.hapi_connected_sources()
}

#[tauri::command]
pub async fn hapi_profile(service: Service<'_>) -> CmdResult<HapiProfile> {
    service.hapi_profile().await
}

#[tauri::command]
pub async fn hapi_sources(service: Service<'_>) -> CmdResult<Vec<HapiSource>> {
    service.hapi_sources().await
}

#[tauri::command]
pub async fn hapi_reports(service: Service<'_>, offset: u64) -> CmdResult<HapiPage<HapiReport>> {
    service.hapi_reports(offset).await
}

/// Writes a report as PDF to `path` (a full path the person typed); returns its size in bytes.
#[tauri::command]
pub async fn hapi_save_report_pdf(
    service: Service<'_>,
    report_id: String,
    path: PathBuf,
) -> CmdResult<u64> {
    service.hapi_save_report_pdf(&report_id, &path).await
}

#[tauri::command]
pub async fn hapi_activities(
    service: Service<'_>,
    offset: u64,
) -> CmdResult<HapiPage<HapiActivity>> {
    service.hapi_activities(offset).await
}

/// Legacy 1.x: finalizes the Connect 1.x popup's `sessionTokenObject` (JSON).
#[tauri::command]
pub async fn hapi_finalize_legacy(
    service: Service<'_>,
    session_token_object: String,
) -> CmdResult<()> {
    service.hapi_finalize_legacy(&session_token_object).await
}

#[tauri::command]
pub async fn hapi_recover_public_token(service: Service<'_>) -> CmdResult<()> {
    service.hapi_recover_public_token().await
}
