use super::{CmdResult, Service};
use datalinks_core::ConnectionId;
use datalinks_opencollective::{Scope, ScopeDescription};
use datalinks_service::{OcExpense, OcMembership, OcOverview, OcPage, OcTransaction};

#[tauri::command]
pub async fn oc_overview(service: Service<'_>, connection: ConnectionId) -> CmdResult<OcOverview> {
    service.oc_overview(connection).await
}

#[tauri::command]
pub async fn oc_memberships(
    service: Service<'_>,
    connection: ConnectionId,
    offset: u32,
) -> CmdResult<OcPage<OcMembership>> {
    service.oc_memberships(connection, offset).await
}

#[tauri::command]
pub async fn oc_transactions(
    service: Service<'_>,
    connection: ConnectionId,
    offset: u32,
) -> CmdResult<OcPage<OcTransaction>> {
    service.oc_transactions(connection, offset).await
}

#[tauri::command]
pub async fn oc_expenses(
    service: Service<'_>,
    connection: ConnectionId,
    offset: u32,
) -> CmdResult<OcPage<OcExpense>> {
    service.oc_expenses(connection, offset).await
}

/// Every scope the consent page knows, with what it allows, for the scope chooser.
#[tauri::command]
pub fn oc_scopes() -> Vec<ScopeDescription> {
    Scope::catalogue()
}
