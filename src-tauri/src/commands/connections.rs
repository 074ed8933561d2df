use super::{CmdResult, Service};
use crate::connect_window;
use datalinks_core::{ConnectionView, Provider};
use datalinks_service::{DisconnectReceipt, HistoryEvent};

#[tauri::command]
pub async fn list_connections(service: Service<'_>) -> CmdResult<Vec<ConnectionView>> {
    service.list_connections().await
}

#[tauri::command]
pub async fn connect(service: Service<'_>, provider: Provider) -> CmdResult<ConnectionView> {
    service.connect(provider, None).await
}

/// Also closes the Human API Connect window, whose attempt this ends.
#[tauri::command]
pub async fn cancel_connect(
    app: tauri::AppHandle,
    service: Service<'_>,
    provider: Provider,
) -> CmdResult<ConnectionView> {
    let view = service.cancel_connect(provider).await?;
    if provider == Provider::HumanApi {
        connect_window::close(&app);
    }
    Ok(view)
}

#[tauri::command]
pub async fn retry(service: Service<'_>, provider: Provider) -> CmdResult<ConnectionView> {
    service.retry(provider).await
}

#[tauri::command]
pub async fn disconnect(
    app: tauri::AppHandle,
    service: Service<'_>,
    provider: Provider,
) -> CmdResult<DisconnectReceipt> {
    if provider == Provider::HumanApi {
        connect_window::close(&app);
    }
    service.disconnect(provider).await
}

#[tauri::command]
pub async fn history(service: Service<'_>, provider: Provider) -> CmdResult<Vec<HistoryEvent>> {
    service.history(provider).await
}

/// Opens a page a disconnect receipt linked to, in the system browser.
#[tauri::command]
pub fn open_receipt_link(service: Service<'_>, url: String) -> CmdResult<()> {
    service.open_receipt_link(&url)
}
