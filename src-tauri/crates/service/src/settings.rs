//! A provider's app credentials: secrets go to the keyring, the rest to SQLite.

use crate::{Datalinks, ProviderOptions, ProviderSettingsInput, ProviderSettingsView};
use datalinks_core::{now_unix, Error, ErrorCode, Provider, Result, SecretString};
use datalinks_openhumans::parse_base_url;
use datalinks_store::ProviderSettings;
use std::sync::Arc;

use crate::options::LOOPBACK_PATH;

/// A server address as stored: validated, without a trailing slash.
fn normalized_url(raw: &str) -> Result<String> {
    Ok(parse_base_url(raw)?
        .as_str()
        .trim_end_matches('/')
        .to_owned())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Datalinks {
    pub(crate) fn settings_or_error(&self, provider: Provider) -> Result<ProviderSettings> {
        self.store.provider_settings(provider)?.ok_or_else(|| {
            Error::new(ErrorCode::NotConfigured, format!("{provider} is not set up yet: enter the project's credentials in Settings, or try the sandbox."))
        })
    }

    /// The provider's own settings, the defaults when none are stored.
    pub(crate) fn options(&self, settings: &ProviderSettings) -> Result<ProviderOptions> {
        ProviderOptions::from_column(settings.provider, &settings.options)
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
        let has_personal_token = self.personal_token(provider).await?.is_some();
        let options = self.options(&settings)?;
        Ok(Some(view(
            settings,
            options,
            has_client_secret,
            has_personal_token,
        )))
    }

    /// The personal token the person pasted in (Open Collective only; other providers have none
    /// and never touch the keyring for it).
    pub(crate) async fn personal_token(&self, provider: Provider) -> Result<Option<SecretString>> {
        if provider != Provider::OpenCollective {
            return Ok(None);
        }
        self.vault_call(move |v| v.personal_token(provider)).await
    }

    pub async fn save_provider_settings(
        self: &Arc<Self>,
        provider: Provider,
        input: ProviderSettingsInput,
    ) -> Result<ProviderSettingsView> {
        if input.options.provider() != provider {
            return Err(Error::invalid_input(format!(
                "These settings belong to {}, not {provider}.",
                input.options.provider()
            )));
        }
        let options = validated_options(input.options)?;
        let new_personal_token = non_empty(input.personal_token);
        if new_personal_token.is_some() && provider != Provider::OpenCollective {
            return Err(Error::invalid_input(format!(
                "{provider} has no personal tokens."
            )));
        }
        let client_id = input.client_id.trim().to_owned();
        if client_id.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(
                "The client ID must be a single word with no spaces.",
            ));
        }
        let base_url = match &options {
            ProviderOptions::HumanApi(hapi) => hapi.auth_url.clone(),
            _ => normalized_url(&input.base_url)?,
        };

        if let Some(secret) = non_empty(input.client_secret) {
            let secret = SecretString::new(secret);
            self.vault_call(move |v| v.set_client_secret(provider, &secret))
                .await?;
        }
        let has_secret = self
            .vault_call(move |v| v.client_secret(provider))
            .await?
            .is_some();
        let personal_token_changed = match new_personal_token {
            Some(token) => {
                let token = SecretString::new(token);
                self.vault_call(move |v| v.set_personal_token(provider, &token))
                    .await?;
                true
            }
            None => false,
        };
        let has_personal_token = self.personal_token(provider).await?.is_some();
        match provider {
            // Open Collective exchanges codes with PKCE alone, and a personal token needs no app.
            Provider::OpenCollective if client_id.is_empty() && !has_personal_token => {
                return Err(Error::invalid_input(
                    "Enter the client ID of your Open Collective app, or paste a personal token.",
                ))
            }
            Provider::OpenCollective => {}
            _ if client_id.is_empty() => {
                return Err(Error::invalid_input(
                    "The client ID must be a single word with no spaces.",
                ))
            }
            _ if !has_secret => {
                return Err(Error::invalid_input(format!(
                    "Enter the client secret: {provider} apps are confidential clients and always need it."
                )))
            }
            _ => {}
        }

        let previous = self.store.provider_settings(provider)?;
        let sandbox = self
            .sandbox_base_url(provider)
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
            options: options.to_column(),
        };
        self.store.save_provider_settings(&settings)?;
        self.register_sandbox_callback(&settings).await?;
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
        if personal_token_changed {
            // A new token is checked at once: the card then shows who it belongs to.
            self.connect_with_personal_token(provider).await?;
        }
        self.announce(provider).await;
        Ok(view(settings, options, has_secret, has_personal_token))
    }
}

fn validated_options(options: ProviderOptions) -> Result<ProviderOptions> {
    Ok(match options {
        ProviderOptions::OpenCollective(mut oc) => {
            oc.api_url = normalized_url(&oc.api_url)?;
            if oc.loopback_port == Some(0) {
                return Err(Error::invalid_input(
                    "The loopback port must be between 1 and 65535: Open Collective needs the exact callback URL.",
                ));
            }
            let mut seen = Vec::new();
            oc.scopes.retain(|scope| {
                let first = !seen.contains(scope);
                seen.push(*scope);
                first
            });
            ProviderOptions::OpenCollective(oc)
        }
        ProviderOptions::HumanApi(mut hapi) => {
            hapi.connect_script_url = normalized_url(&hapi.connect_script_url)?;
            hapi.auth_url = normalized_url(&hapi.auth_url)?;
            hapi.data_api_url = normalized_url(&hapi.data_api_url)?;
            hapi.legacy_url = normalized_url(&hapi.legacy_url)?;
            hapi.legacy_connect_script_url = normalized_url(&hapi.legacy_connect_script_url)?;
            hapi.email = non_empty(hapi.email);
            hapi.client_user_id = non_empty(hapi.client_user_id);
            ProviderOptions::HumanApi(hapi)
        }
        ProviderOptions::OpenHumans => ProviderOptions::OpenHumans,
    })
}

fn view(
    settings: ProviderSettings,
    options: ProviderOptions,
    has_client_secret: bool,
    has_personal_token: bool,
) -> ProviderSettingsView {
    ProviderSettingsView {
        provider: settings.provider,
        client_id: settings.client_id,
        base_url: settings.base_url,
        transport: settings.transport,
        loopback_path: settings.loopback_path,
        has_client_secret,
        has_personal_token,
        sandbox: settings.sandbox,
        options,
    }
}
