use super::{CmdResult, Service};
use datalinks_core::{ConnectionsOverview, Provider};
use datalinks_service::{ProviderSettingsInput, ProviderSettingsView, SandboxSettingsInput};

#[tauri::command]
pub async fn get_provider_settings(
    service: Service<'_>,
    provider: Provider,
) -> CmdResult<ProviderSettingsView> {
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
pub async fn save_sandbox_settings(
    service: Service<'_>,
    provider: Provider,
    input: SandboxSettingsInput,
) -> CmdResult<ProviderSettingsView> {
    service.save_sandbox_settings(provider, input).await
}

#[tauri::command]
pub async fn start_sandbox(service: Service<'_>) -> CmdResult<ConnectionsOverview> {
    service.start_sandbox().await
}
