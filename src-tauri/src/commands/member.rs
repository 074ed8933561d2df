use super::{CmdResult, Service};
use datalinks_service::MemberOverview;

#[tauri::command]
pub async fn member_overview(service: Service<'_>) -> CmdResult<MemberOverview> {
    service.member_overview().await
}
