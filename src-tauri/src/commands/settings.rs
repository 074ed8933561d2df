use super::{CmdResult, Service};
use datalinks_core::Provider;
use datalinks_service::{ProviderSettingsInput, ProviderSettingsView};

#[tauri::command]
pub async fn get_provider_settings(
    service: Service<'_>,
    provider: Provider,
) -> CmdResult<Option<ProviderSettingsView>> {
    service.provider_settings(provider).await
}

#[tauri::command]
pub async fn save_provider_settings(
    service: Service<'_>,
    provider: Provider,
    input: ProviderSettingsInput,
) -> CmdResult<ProviderSettingsView> {
    service.save_provider_settings(provider, input).await
}

#[tauri::command]
pub async fn start_sandbox(service: Service<'_>) -> CmdResult<ProviderSettingsView> {
    service.start_sandbox().await
}
