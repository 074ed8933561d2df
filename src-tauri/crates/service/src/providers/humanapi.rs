//! Human API: no browser sign-in. People link sources in Human API Connect, in a window of its
//! own (`humanapi.rs` has that flow); the app mints access tokens for each linked person with
//! the client secret, and apps cannot revoke them (docs/providers/human-api.md).

use super::{Adapter, SandboxApp};
use crate::disconnect::step;
use crate::registrations::{Registration, RegistrationSettings};
use crate::sandbox::Sandboxes;
use crate::settings::{non_empty, normalized_url};
use crate::{Datalinks, Grant, HumanApiOptions, ProviderOptions, ReceiptStep, StepOutcome};
use async_trait::async_trait;
use datalinks_core::{ClientSecret, ConnectionId, Error, Provider, Result};
use datalinks_store::ConnectionRecord;
use datalinks_vault::TokenSet;
use std::sync::Arc;

pub(crate) struct HumanApi;

/// Who the Human API sandbox links until the person enters another email.
const SANDBOX_EMAIL: &str = "sandbox.person@example.org";

impl HumanApi {
    pub(crate) fn options(settings: &RegistrationSettings) -> Result<&HumanApiOptions> {
        match &settings.options {
            ProviderOptions::HumanApi(options) => Ok(options),
            _ => Err(Error::internal("Human API settings of another provider")),
        }
    }
}

#[async_trait]
impl Adapter for HumanApi {
    fn provider(&self) -> Provider {
        Provider::HumanApi
    }

    fn default_options(&self) -> ProviderOptions {
        ProviderOptions::HumanApi(HumanApiOptions::default())
    }

    fn options_from(&self, column: &str) -> serde_json::Result<ProviderOptions> {
        serde_json::from_str(column).map(ProviderOptions::HumanApi)
    }

    fn env_prefix(&self) -> &'static str {
        "DATALINKS_HAPI"
    }

    fn default_base_url(&self) -> &'static str {
        datalinks_humanapi::DEFAULT_AUTH_BASE_URL
    }

    /// The auth service (`auth_url`) is also the registration's server address.
    fn normalize(&self, settings: RegistrationSettings) -> Result<RegistrationSettings> {
        if settings.client_id.is_empty() {
            return Err(Error::invalid_input(
                "Enter the client ID of your Human API app (from the Human API portal).",
            ));
        }
        let ProviderOptions::HumanApi(mut options) = settings.options else {
            return Err(Error::invalid_input(
                "These settings do not belong to Human API.",
            ));
        };
        options.connect_script_url = normalized_url(&options.connect_script_url)?;
        options.auth_url = normalized_url(&options.auth_url)?;
        options.data_api_url = normalized_url(&options.data_api_url)?;
        options.legacy_url = normalized_url(&options.legacy_url)?;
        options.legacy_connect_script_url = normalized_url(&options.legacy_connect_script_url)?;
        options.email = non_empty(options.email);
        Ok(RegistrationSettings {
            base_url: options.auth_url.clone(),
            options: ProviderOptions::HumanApi(options),
            ..settings
        })
    }

    /// Every host that gets the client secret, a token, or (the Connect scripts) the page a
    /// session token is handed to.
    fn servers(&self, settings: &RegistrationSettings) -> Vec<String> {
        match Self::options(settings) {
            Ok(o) => vec![
                o.auth_url.clone(),
                o.data_api_url.clone(),
                o.legacy_url.clone(),
                o.connect_script_url.clone(),
                o.legacy_connect_script_url.clone(),
            ],
            Err(_) => vec![settings.base_url.clone()],
        }
    }

    /// The sandbox links its test person until the person enters another email.
    fn sandbox_options(&self) -> ProviderOptions {
        ProviderOptions::HumanApi(HumanApiOptions {
            email: Some(SANDBOX_EMAIL.to_owned()),
            ..HumanApiOptions::default()
        })
    }

    fn sandbox_app(&self, sandboxes: &Sandboxes) -> SandboxApp {
        SandboxApp {
            client_id: sandboxes.human_api.client_id().to_owned(),
            client_secret: ClientSecret::new(sandboxes.human_api.client_secret()),
        }
    }

    fn point_at_sandbox(&self, sandboxes: &Sandboxes, settings: &mut RegistrationSettings) {
        let hapi = &sandboxes.human_api;
        let base = Sandboxes::address(&hapi.base_url());
        settings.base_url = base.clone();
        if let ProviderOptions::HumanApi(options) = &mut settings.options {
            options.auth_url = base.clone();
            options.legacy_url = base;
            options.data_api_url = Sandboxes::address(&hapi.data_api_url());
            options.connect_script_url = Sandboxes::address(&hapi.connect_script_url());
            options.legacy_connect_script_url =
                Sandboxes::address(&hapi.legacy_connect_script_url());
        }
    }

    fn signs_in_through_browser(&self) -> bool {
        false
    }

    async fn mint(
        &self,
        service: &Datalinks,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Option<Result<TokenSet>> {
        Some(
            service
                .hapi_mint_access_token(registration, connection)
                .await,
        )
    }

    async fn revoke(
        &self,
        _service: &Datalinks,
        _registration: &Registration,
        connection: &ConnectionRecord,
        _tokens: Option<&TokenSet>,
    ) -> Vec<ReceiptStep> {
        vec![step(
            "Revoke access",
            StepOutcome::Skipped,
            format!(
                "Human API gives apps no way to revoke a user's tokens; the last access token expires within 24 hours. To remove this person (client user id {}) and their data at Human API too, delete the user in the Human API portal, or disconnect each source in Connect first.",
                connection.account_id
            ),
        )]
    }

    async fn check(&self, service: &Arc<Datalinks>, connection: ConnectionId) -> Result<()> {
        service.hapi_profile(connection).await.map(drop)
    }

    async fn grants(
        &self,
        service: &Arc<Datalinks>,
        _registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Result<Vec<Grant>> {
        let sources = service.hapi_sources(connection.id).await?;
        let revoking = Grant::unknown(
            "Withdrawing it",
            "Human API has no page for this: disconnect each source in Connect (Connect on the card), or ask the app's owner to delete you in the Human API portal.",
        );
        if sources.is_empty() {
            return Ok(vec![Grant::known("Linked sources", "none"), revoking]);
        }
        Ok(sources
            .into_iter()
            .map(|source| {
                let synced = match &source.synched_at {
                    Some(at) => format!("last synced {at}"),
                    None => "not synced yet".to_owned(),
                };
                Grant::known(
                    &source.name,
                    format!(
                        "linked since {}; sync {}, {synced}",
                        source.connected_since, source.sync_status
                    ),
                )
            })
            .chain([revoking])
            .collect())
    }
}
