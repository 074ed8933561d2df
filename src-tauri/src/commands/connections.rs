use super::{CmdResult, Service};
use crate::connect_window;
use datalinks_core::{ConnectionId, ConnectionsOverview, RegistrationId, SignInTarget};
use datalinks_service::{DisconnectReceipt, HistoryEvent};

#[tauri::command]
pub async fn list_connections(service: Service<'_>) -> CmdResult<ConnectionsOverview> {
    service.list_connections().await
}

/// Signs a new account in, or an existing connection again, through the system browser.
#[tauri::command]
pub async fn connect(service: Service<'_>, target: SignInTarget) -> CmdResult<ConnectionsOverview> {
    service.connect(target, None).await
}

/// Also closes a Human API Connect window of the registration, whose attempt this ends.
#[tauri::command]
pub async fn cancel_connect(
    app: tauri::AppHandle,
    service: Service<'_>,
    registration: RegistrationId,
) -> CmdResult<ConnectionsOverview> {
    let overview = service.cancel_connect(registration).await?;
    connect_window::close_unless_open(&app, &service);
    Ok(overview)
}

/// A waiting hint's remedy: switches the registration to the loopback redirect and signs in again.
#[tauri::command]
pub async fn use_loopback(
    service: Service<'_>,
    registration: RegistrationId,
) -> CmdResult<ConnectionsOverview> {
    service.use_loopback(registration).await
}

#[tauri::command]
pub async fn retry(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<ConnectionsOverview> {
    service.retry(connection).await
}

#[tauri::command]
pub async fn disconnect(
    app: tauri::AppHandle,
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<DisconnectReceipt> {
    let receipt = service.disconnect(connection).await?;
    connect_window::close_unless_open(&app, &service);
    Ok(receipt)
}

#[tauri::command]
pub async fn history(
    service: Service<'_>,
    connection: ConnectionId,
) -> CmdResult<Vec<HistoryEvent>> {
    service.history(connection).await
}

#[tauri::command]
pub async fn registration_history(
    service: Service<'_>,
    registration: RegistrationId,
) -> CmdResult<Vec<HistoryEvent>> {
    service.registration_history(registration).await
}

/// Opens a page a disconnect receipt linked to, in the system browser.
#[tauri::command]
pub fn open_receipt_link(service: Service<'_>, url: String) -> CmdResult<()> {
    service.open_receipt_link(&url)
}

/// Opens Human API Connect in its own window for a new person or an existing connection; its
/// token goes to that window only.
#[tauri::command]
pub async fn hapi_open_connect(
    app: tauri::AppHandle,
    service: Service<'_>,
    target: SignInTarget,
) -> CmdResult<ConnectionsOverview> {
    connect_window::open(&app, &service, target).await
}
