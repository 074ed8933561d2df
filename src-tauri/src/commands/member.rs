use super::{CmdResult, Service};
use datalinks_core::ConnectionId;
use datalinks_service::MemberOverview;

#[tauri::command]
pub async fn member_overview(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<MemberOverview> {
    service.member_overview(connection).await
}
