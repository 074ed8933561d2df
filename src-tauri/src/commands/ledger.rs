//! The consent ledger and the audit log: who can see what, and every request the app made.

use super::{CmdResult, Service};
use crate::dialogs::{self, Dialog};
use datalinks_core::ConnectionId;
use datalinks_service::{AuditFacets, AuditFilter, AuditPage, ConsentLedger, LocalCopiesDeleted};
use tauri::WebviewWindow;

#[tauri::command]
pub async fn consent_ledger(service: Service<'_>) -> CmdResult<ConsentLedger> {
    service.consent_ledger().await
}

#[tauri::command]
pub async fn delete_local_copies(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<LocalCopiesDeleted> {
    service.delete_local_copies(connection).await
}

#[tauri::command]
pub async fn audit_log(service: Service<'_>, filter: AuditFilter) -> CmdResult<AuditPage> {
    service.audit_page(filter).await
}

#[tauri::command]
pub async fn audit_facets(service: Service<'_>) -> CmdResult<AuditFacets> {
    service.audit_facets().await
}

/// Asks where to save the log as CSV with the system's save dialog, then writes the entries
/// `filter` picks there; how many, or nothing when the person cancels.
#[tauri::command]
pub async fn export_audit_csv(
    window: WebviewWindow,
    service: Service<'_>,
    filter: AuditFilter,
) -> CmdResult<Option<usize>> {
    let csv = Dialog::Save {
        name: "datalinks-audit-log.csv",
        filter: ("CSV", &["csv"]),
    };
    let folder = service.download_folder()?;
    let title = "Save the audit log as CSV";
    let Some(path) = dialogs::choose(&window, title, csv, Some(&folder)).await? else {
        return Ok(None);
    };
    service.export_audit_csv(filter, &path).await.map(Some)
}
