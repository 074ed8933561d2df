//! A provider's app credentials: the client secret goes to the keyring, the rest to SQLite.

use crate::{Datalinks, ProviderSettingsInput, ProviderSettingsView};
use datalinks_core::{now_unix, Error, ErrorCode, Provider, Result, SecretString};
use datalinks_openhumans::parse_base_url;
use datalinks_store::ProviderSettings;

/// The path of the loopback redirect; register `http://127.0.0.1/callback` with Open Humans.
pub const LOOPBACK_PATH: &str = "/callback";

impl Datalinks {
    pub(crate) fn settings_or_error(&self, provider: Provider) -> Result<ProviderSettings> {
        self.store.provider_settings(provider)?.ok_or_else(|| {
            Error::new(ErrorCode::NotConfigured, format!("{provider} is not set up yet: enter the project's credentials in Settings, or try the sandbox."))
        })
    }

    pub async fn provider_settings(
        &self,
        provider: Provider,
    ) -> Result<Option<ProviderSettingsView>> {
        let Some(settings) = self.store.provider_settings(provider)? else {
            return Ok(None);
        };
        let has_client_secret = self
            .vault_call(move |v| v.client_secret(provider))
            .await?
            .is_some();
        Ok(Some(view(settings, has_client_secret)))
    }

    pub async fn save_provider_settings(
        &self,
        provider: Provider,
        input: ProviderSettingsInput,
    ) -> Result<ProviderSettingsView> {
        let client_id = input.client_id.trim().to_owned();
        if client_id.is_empty() || client_id.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(
                "The client ID must be a single word with no spaces.",
            ));
        }
        let base_url = parse_base_url(&input.base_url)?
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let new_secret = input
            .client_secret
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let has_secret = match new_secret {
            Some(secret) => {
                let secret = SecretString::new(secret);
                self.vault_call(move |v| v.set_client_secret(provider, &secret))
                    .await?;
                true
            }
            None => self
                .vault_call(move |v| v.client_secret(provider))
                .await?
                .is_some(),
        };
        if !has_secret {
            return Err(Error::invalid_input("Enter the client secret: Open Humans projects are confidential clients and always need it."));
        }

        let previous = self.store.provider_settings(provider)?;
        let sandbox = self
            .sandbox_base_url()
            .await
            .is_some_and(|url| url == base_url);
        let settings = ProviderSettings {
            provider,
            client_id,
            base_url,
            transport: input.transport,
            loopback_path: LOOPBACK_PATH.to_owned(),
            sandbox,
            updated_at: now_unix(),
        };
        self.store.save_provider_settings(&settings)?;
        let project_changed = previous
            .is_some_and(|p| p.client_id != settings.client_id || p.base_url != settings.base_url);
        if project_changed && self.store.account(provider)?.is_some() {
            self.store.set_reconnect_reason(provider, Some("The project settings changed; connect again to link this account to the new project."))?;
        }
        self.store.record_event(
            provider,
            "settings_saved",
            &format!("Settings saved (server {}).", settings.base_url),
        )?;
        self.announce(provider).await;
        Ok(view(settings, true))
    }
}

fn view(settings: ProviderSettings, has_client_secret: bool) -> ProviderSettingsView {
    ProviderSettingsView {
        provider: settings.provider,
        client_id: settings.client_id,
        base_url: settings.base_url,
        transport: settings.transport,
        loopback_path: settings.loopback_path,
        has_client_secret,
        sandbox: settings.sandbox,
    }
}
