//! The open project's departures inbox: the webhook receiver, the verifier, and the actions
//! taken for members who left. The webhook secret comes in once and never goes back to the
//! window; arrivals are announced with the `departures-changed` event.

use super::{CmdResult, Service};
use datalinks_service::{Departure, DepartureInbox, ReceiverSettings, ReceiverView, WebhookCheck};

#[tauri::command]
pub async fn departures(service: Service<'_>) -> CmdResult<DepartureInbox> {
    service.departures().await
}

#[tauri::command]
pub async fn set_webhook_secret(service: Service<'_>, secret: String) -> CmdResult<ReceiverView> {
    service.set_webhook_secret(&secret).await
}

#[tauri::command]
pub async fn start_webhook_receiver(
    service: Service<'_>,
    settings: ReceiverSettings,
) -> CmdResult<ReceiverView> {
    service.start_webhook_receiver(settings).await
}

#[tauri::command]
pub async fn stop_webhook_receiver(service: Service<'_>) -> CmdResult<ReceiverView> {
    service.stop_webhook_receiver().await
}

#[tauri::command]
pub async fn check_webhook_delivery(
    service: Service<'_>,
    body: String,
    signature: String,
) -> CmdResult<WebhookCheck> {
    service.check_webhook_delivery(&body, &signature).await
}

#[tauri::command]
pub async fn delete_departed_member_files(service: Service<'_>, id: i64) -> CmdResult<Departure> {
    service.delete_departed_member_files(id).await
}

#[tauri::command]
pub async fn delete_departed_member_local_copies(
    service: Service<'_>,
    id: i64,
) -> CmdResult<Departure> {
    service.delete_departed_member_local_copies(id).await
}

#[tauri::command]
pub fn mark_departure_handled(
    service: Service<'_>,
    id: i64,
    note: Option<String>,
) -> CmdResult<Departure> {
    service.mark_departure_handled(id, note)
}
