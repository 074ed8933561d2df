//! The researcher console. The master token comes in once, with `open_project`, and never
//! goes back to the window. Listing and bulk-download progress arrive on the channel passed
//! with the command; `cancel_downloads` stops a run.

use super::{to_channel, CmdResult, Service};
use crate::dialogs::{self, Dialog};
use datalinks_service::{
    ChecklistStep, DeleteTargetInput, DownloadProgress, DownloadSummary, ExportedMetadata,
    FileGroup, ListingProgressView, MemberList, MessagePreview, MessageRequest, PickId,
    PickPurpose, Picks, ProjectChecklist, ProjectDownloadRequest, ProjectMembers, ProjectStats,
    ProjectUploadReport, ProjectUploadRequest, ProjectView,
};
use std::path::PathBuf;
use tauri::ipc::Channel;
use tauri::{State, WebviewWindow};

#[tauri::command]
pub async fn open_project(
    service: Service<'_>,
    master_token: String,
    remember: bool,
) -> CmdResult<ProjectView> {
    service.open_project(master_token, remember).await
}

#[tauri::command]
pub async fn open_sandbox_project(service: Service<'_>) -> CmdResult<ProjectView> {
    service.open_sandbox_project().await
}

#[tauri::command]
pub async fn current_project(service: Service<'_>) -> CmdResult<Option<ProjectView>> {
    service.current_project().await
}

#[tauri::command]
pub async fn close_project(service: Service<'_>, forget: bool) -> CmdResult<()> {
    service.close_project(forget).await
}

#[tauri::command]
pub async fn project_members(
    service: Service<'_>,
    refresh: bool,
    on_page: Channel<ListingProgressView>,
) -> CmdResult<ProjectMembers> {
    service.project_members(refresh, to_channel(on_page)).await
}

#[tauri::command]
pub async fn project_member_files(
    service: Service<'_>,
    project_member_id: String,
) -> CmdResult<Vec<FileGroup>> {
    service.project_member_files(&project_member_id).await
}

#[tauri::command]
pub async fn download_project_files(
    service: Service<'_>,
    picks: State<'_, Picks>,
    request: ProjectDownloadRequest,
    dest: Option<PickId>,
    on_progress: Channel<DownloadProgress>,
) -> CmdResult<DownloadSummary> {
    let dest = dest
        .map(|id| picks.path(&id, PickPurpose::ProjectDownloadFolder))
        .transpose()?;
    let report = to_channel(on_progress);
    service.download_project_files(request, dest, report).await
}

/// The member ids in a list file the person chooses (nothing when they cancel).
#[tauri::command]
pub async fn read_member_list(
    window: WebviewWindow,
    service: Service<'_>,
) -> CmdResult<Option<MemberList>> {
    let title = "Choose a member list";
    let text = Dialog::OpenFile(Some(("Text or CSV", &["txt", "csv"])));
    let Some(path) = dialogs::choose(&window, title, text, None).await? else {
        return Ok(None);
    };
    service.read_member_list(&path).map(Some)
}

/// Writes the file list as a CSV where the person chooses (nothing when they cancel).
#[tauri::command]
pub async fn export_project_metadata(
    window: WebviewWindow,
    service: Service<'_>,
) -> CmdResult<Option<ExportedMetadata>> {
    // Beside the project's downloads.
    let folder = match service.current_project().await? {
        Some(project) => PathBuf::from(project.download_folder),
        None => service.download_folder()?,
    };
    let csv = Dialog::Save {
        name: "metadata.csv",
        filter: ("CSV", &["csv"]),
    };
    let title = "Save the file list as CSV";
    let Some(path) = dialogs::choose(&window, title, csv, Some(&folder)).await? else {
        return Ok(None);
    };
    service.export_project_metadata(&path).await.map(Some)
}

#[tauri::command]
pub async fn preview_message(
    service: Service<'_>,
    request: MessageRequest,
) -> CmdResult<MessagePreview> {
    service.preview_message(&request).await
}

#[tauri::command]
pub async fn send_message(service: Service<'_>, request: MessageRequest) -> CmdResult<u32> {
    service.send_message(&request).await
}

#[tauri::command]
pub async fn upload_to_members(
    service: Service<'_>,
    picks: State<'_, Picks>,
    request: ProjectUploadRequest,
    dir: PickId,
    metadata_csv: PickId,
) -> CmdResult<ProjectUploadReport> {
    let dir = picks.path(&dir, PickPurpose::UploadFolder)?;
    let metadata_csv = picks.path(&metadata_csv, PickPurpose::UploadMetadata)?;
    service.upload_to_members(request, dir, metadata_csv).await
}

#[tauri::command]
pub async fn delete_member_files(
    service: Service<'_>,
    project_member_id: String,
    target: DeleteTargetInput,
) -> CmdResult<Vec<u64>> {
    service
        .delete_member_files(&project_member_id, target)
        .await
}

#[tauri::command]
pub async fn remove_members(
    service: Service<'_>,
    project_member_ids: Vec<String>,
) -> CmdResult<u32> {
    service.remove_members(project_member_ids).await
}

#[tauri::command]
pub async fn project_stats(service: Service<'_>) -> CmdResult<ProjectStats> {
    service.project_stats().await
}

#[tauri::command]
pub fn project_checklist(service: Service<'_>) -> CmdResult<ProjectChecklist> {
    service.project_checklist()
}

#[tauri::command]
pub fn tick_checklist_step(
    service: Service<'_>,
    step: ChecklistStep,
    done: bool,
) -> CmdResult<ProjectChecklist> {
    service.tick_checklist_step(step, done)
}
