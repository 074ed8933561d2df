//! The researcher console. The master token comes in once, with `open_project`, and never
//! goes back to the window. Bulk-download progress arrives as "download-progress" events with
//! `run: "project"`, listing progress as "project-listing"; `cancel_downloads` stops a run.

use super::{CmdResult, Service};
use datalinks_service::{
    DeleteTargetInput, FileGroup, MessagePreview, MessageRequest, ProjectDownloadRequest,
    ProjectDownloadSummary, ProjectMembers, ProjectStats, ProjectUploadReport,
    ProjectUploadRequest, ProjectView,
};

#[tauri::command]
pub async fn open_project(
    service: Service<'_>,
    master_token: String,
    remember: bool,
) -> CmdResult<ProjectView> {
    service.open_project(master_token, remember).await
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
pub async fn project_members(service: Service<'_>, refresh: bool) -> CmdResult<ProjectMembers> {
    service.project_members(refresh).await
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
    request: ProjectDownloadRequest,
) -> CmdResult<ProjectDownloadSummary> {
    service.download_project_files(request).await
}

#[tauri::command]
pub async fn export_project_metadata(service: Service<'_>, path: String) -> CmdResult<u32> {
    service.export_project_metadata(&path).await
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
    request: ProjectUploadRequest,
) -> CmdResult<ProjectUploadReport> {
    service.upload_to_members(request).await
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
