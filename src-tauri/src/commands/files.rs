use super::{to_channel, CmdResult, Service};
use crate::dialogs::{self, Dialog};
use datalinks_core::ConnectionId;
use datalinks_service::{
    DeleteTargetInput, DownloadProgress, DownloadSummary, PickId, PickPurpose, PickedPath, Picks,
    UploadInput, UploadProgress, UploadedFile,
};
use tauri::ipc::Channel;
use tauri::{State, WebviewWindow};

/// Lets the person choose a file or folder for `purpose` in the system's dialog; the page gets
/// an id to use it by (nothing when the person cancels).
#[tauri::command]
pub async fn choose_path(
    window: WebviewWindow,
    picks: State<'_, Picks>,
    purpose: PickPurpose,
) -> CmdResult<Option<PickedPath>> {
    let (title, dialog) = dialogs::for_purpose(purpose);
    let chosen = dialogs::choose(&window, title, dialog, None).await?;
    Ok(chosen.map(|path| picks.remember(purpose, path)))
}

/// Downloads the given files (all of them when `file_ids` is empty) into the download folder;
/// progress arrives on `on_progress`.
#[tauri::command]
pub async fn download_files(
    service: Service<'_>,
    connection: ConnectionId,
    file_ids: Vec<u64>,
    on_progress: Channel<DownloadProgress>,
) -> CmdResult<DownloadSummary> {
    let folder = service.download_folder()?;
    let report = to_channel(on_progress);
    service
        .download_files(connection, file_ids, &folder, report)
        .await
}

#[tauri::command]
pub fn cancel_downloads(service: Service<'_>) -> bool {
    service.cancel_downloads()
}

#[tauri::command]
pub fn get_download_folder(service: Service<'_>) -> CmdResult<String> {
    Ok(service.download_folder()?.display().to_string())
}

/// Lets the person choose the download folder in the system's dialog and keeps it; the new
/// folder, or nothing when the person cancels.
#[tauri::command]
pub async fn choose_download_folder(
    window: WebviewWindow,
    service: Service<'_>,
) -> CmdResult<Option<String>> {
    let current = service.download_folder()?;
    let title = "Choose the download folder";
    let Some(folder) = dialogs::choose(&window, title, Dialog::Folder, Some(&current)).await?
    else {
        return Ok(None);
    };
    Ok(Some(
        service.set_download_folder(&folder)?.display().to_string(),
    ))
}

/// Uploads a local file with its metadata; progress arrives on `on_progress`.
#[tauri::command]
pub async fn upload_file(
    service: Service<'_>,
    picks: State<'_, Picks>,
    connection: ConnectionId,
    file: PickId,
    input: UploadInput,
    on_progress: Channel<UploadProgress>,
) -> CmdResult<UploadedFile> {
    let path = picks.path(&file, PickPurpose::UploadFile)?;
    let report = to_channel(on_progress);
    service.upload_file(connection, &path, input, report).await
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
