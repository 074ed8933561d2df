use super::{CmdResult, Service};
use datalinks_core::ConnectionId;
use datalinks_service::{DeleteTargetInput, DownloadSummary, UploadInput, UploadedFile};

/// Downloads the given files (all of them when `file_ids` is empty) into the download folder;
/// progress arrives as "download-progress" events.
#[tauri::command]
pub async fn download_files(
    service: Service<'_>,
    connection: ConnectionId,
    file_ids: Vec<u64>,
) -> CmdResult<DownloadSummary> {
    let folder = service.download_folder()?;
    service.download_files(connection, file_ids, &folder).await
}

#[tauri::command]
pub fn cancel_downloads(service: Service<'_>) -> bool {
    service.cancel_downloads()
}

#[tauri::command]
pub fn get_download_folder(service: Service<'_>) -> CmdResult<String> {
    Ok(service.download_folder()?.display().to_string())
}

#[tauri::command]
pub fn set_download_folder(service: Service<'_>, folder: String) -> CmdResult<String> {
    Ok(service.set_download_folder(&folder)?.display().to_string())
}

/// Uploads a local file with its metadata; progress arrives as "upload-progress" events.
#[tauri::command]
pub async fn upload_file(
    service: Service<'_>,
    connection: ConnectionId,
    input: UploadInput,
) -> CmdResult<UploadedFile> {
    service.upload_file(connection, input).await
}

/// Deletes the member's files that the project uploaded; returns the deleted ids.
#[tauri::command]
pub async fn delete_files(
    service: Service<'_>,
    connection: ConnectionId,
    target: DeleteTargetInput,
) -> CmdResult<Vec<u64>> {
    service.delete_files(connection, target).await
}
