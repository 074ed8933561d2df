//! Open Humans: OAuth2 with a confidential client (HTTP Basic), PKCE, RFC 7009 revocation of
//! both tokens, and exchange-member to learn who signed in (docs/providers/open-humans.md).

use super::{Adapter, Identity, SandboxApp};
use crate::audit::actions;
use crate::disconnect::step;
use crate::registrations::{Registration, RegistrationSettings};
use crate::sandbox::Sandboxes;
use crate::settings::normalized_url;
use crate::{Datalinks, Grant, ProviderOptions, ReceiptStep, StepOutcome};
use async_trait::async_trait;
use datalinks_core::{
    AccessToken, ClientSecret, ConnectionId, Error, ErrorCode, Provider, Remedy, Result, Transport,
    WaitingHint,
};
use datalinks_oauth::{OAuthClient, PkceVerifier};
use datalinks_openhumans::{ApiClient, ApiError};
use datalinks_store::ConnectionRecord;
use datalinks_vault::TokenSet;
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

pub(crate) struct OpenHumans;

impl OpenHumans {
    /// The project API of a registration's server.
    pub(crate) fn api(service: &Datalinks, registration: &Registration) -> Result<ApiClient> {
        Ok(ApiClient::new(
            service.http.clone(),
            datalinks_core::server_url(&registration.settings.base_url)?,
        ))
    }
}

#[async_trait]
impl Adapter for OpenHumans {
    fn provider(&self) -> Provider {
        Provider::OpenHumans
    }

    fn default_options(&self) -> ProviderOptions {
        ProviderOptions::OpenHumans
    }

    /// Open Humans has no options of its own.
    fn options_from(&self, _column: &str) -> serde_json::Result<ProviderOptions> {
        Ok(ProviderOptions::OpenHumans)
    }

    fn env_prefix(&self) -> &'static str {
        "DATALINKS_OH"
    }

    fn default_base_url(&self) -> &'static str {
        datalinks_openhumans::DEFAULT_BASE_URL
    }

    fn normalize(&self, settings: RegistrationSettings) -> Result<RegistrationSettings> {
        if settings.client_id.is_empty() {
            return Err(Error::invalid_input(
                "Enter the client ID of your Open Humans project (from its OAuth2 settings).",
            ));
        }
        Ok(RegistrationSettings {
            base_url: normalized_url(&settings.base_url)?,
            options: ProviderOptions::OpenHumans,
            ..settings
        })
    }

    fn servers(&self, settings: &RegistrationSettings) -> Vec<String> {
        vec![settings.base_url.clone()]
    }

    fn sandbox_app(&self, sandboxes: &Sandboxes) -> SandboxApp {
        SandboxApp {
            client_id: sandboxes.open_humans.client_id().to_owned(),
            client_secret: ClientSecret::new(sandboxes.open_humans.client_secret()),
        }
    }

    fn point_at_sandbox(&self, sandboxes: &Sandboxes, settings: &mut RegistrationSettings) {
        settings.base_url = Sandboxes::address(&sandboxes.open_humans.base_url());
    }

    fn oauth_client(
        &self,
        http: &reqwest::Client,
        registration: &Registration,
        secret: Option<ClientSecret>,
    ) -> Result<OAuthClient> {
        let secret = secret.ok_or_else(|| {
            Error::new(
                ErrorCode::NotConfigured,
                "Open Humans projects are confidential clients: enter the client secret in Settings.",
            )
        })?;
        Ok(datalinks_openhumans::oauth_client(
            http.clone(),
            &datalinks_core::server_url(&registration.settings.base_url)?,
            registration.settings.client_id.clone(),
            secret,
        ))
    }

    fn authorize_url(
        &self,
        registration: &Registration,
        client: &OAuthClient,
        redirect_uri: &str,
        state: &str,
        verifier: &PkceVerifier,
    ) -> Result<Url> {
        let page = datalinks_openhumans::authorize_endpoint(&datalinks_core::server_url(
            &registration.settings.base_url,
        )?);
        client.authorize_url(&page, redirect_uri, state, verifier, &[])
    }

    /// Open Humans refuses custom schemes unless its operators allowed them; its page then
    /// says "Bad Request (400)" and nothing comes back (docs/providers/open-humans.md,
    /// "Signing in").
    fn waiting_hints(
        &self,
        _registration: &Registration,
        transport: Transport,
    ) -> Vec<WaitingHint> {
        match transport {
            Transport::DeepLink => vec![WaitingHint {
                text: "Open Humans servers usually refuse datalinks:// redirects: if the page in your browser says “Bad Request (400)”, nothing will come back here. Use the local address instead.".into(),
                remedy: Some(Remedy::UseLoopback),
            }],
            Transport::Loopback => Vec::new(),
        }
    }

    async fn identify(
        &self,
        service: &Datalinks,
        registration: &Registration,
        token: &AccessToken,
    ) -> Result<Identity> {
        let member = Self::api(service, registration)?
            .exchange_member(token)
            .await?;
        Ok(Identity {
            summary: format!(
                "Connected as project member {} ({} files shared).",
                member.project_member_id, member.count
            ),
            account_id: member.project_member_id,
            username: member.username,
            details: serde_json::json!({}),
        })
    }

    async fn revoke(
        &self,
        service: &Datalinks,
        registration: &Registration,
        _connection: &ConnectionRecord,
        tokens: Option<&TokenSet>,
    ) -> Vec<ReceiptStep> {
        let Some(tokens) = tokens else {
            return vec![step(
                "Revoke tokens",
                StepOutcome::Skipped,
                "No tokens were stored.",
            )];
        };
        let client = match service.oauth_client(registration).await {
            Ok(client) => client,
            Err(e) => return vec![step("Revoke tokens", StepOutcome::Failed, e.message)],
        };
        let hint = "revoke access on Open Humans' website (Manage connections)";
        let outcome = |label: &str, result: std::result::Result<(), _>| match result {
            Ok(()) => step(
                label,
                StepOutcome::Done,
                "Open Humans accepted the revocation.",
            ),
            Err(e) => step(label, StepOutcome::Failed, format!("{e}; {hint}.")),
        };
        let mut steps = vec![outcome(
            "Revoke the access token",
            client.revoke_access_token(&tokens.access_token).await,
        )];
        steps.push(match &tokens.refresh_token {
            Some(refresh) => outcome(
                "Revoke the refresh token",
                client.revoke_refresh_token(refresh).await,
            ),
            None => step(
                "Revoke the refresh token",
                StepOutcome::Skipped,
                "There was no such token.",
            ),
        });
        steps
    }

    async fn check(&self, service: &Arc<Datalinks>, connection: ConnectionId) -> Result<()> {
        service.member_overview(connection).await.map(drop)
    }

    async fn grants(
        &self,
        service: &Arc<Datalinks>,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Result<Vec<Grant>> {
        let api = Self::api(service, registration)?;
        let project = service
            .with_token(connection.id, actions::LEDGER, |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(ApiError::Failed)?;
                    api.project(token).await
                }
            })
            .await?;
        let member = service.member(connection.id, &api).await?;
        let sources = service
            .source_names(connection.id, &api, &member.sources_shared)
            .await;
        let username = match (project.request_username_access, &member.username) {
            (true, Some(username)) => format!("shared: the project sees “{username}”"),
            (true, None) => "asked for, but Open Humans did not send it".to_owned(),
            (false, _) => "not shared".to_owned(),
        };
        Ok(vec![
            Grant::known("Project", project.name),
            Grant::known(
                "Sources shared with it",
                if sources.is_empty() {
                    "none".to_owned()
                } else {
                    sources.join(", ")
                },
            ),
            Grant::known("Your username", username),
            Grant::known(
                "Files it can read",
                format!("{} files from the shared sources and its own", member.files.len()),
            ),
            Grant::unknown(
                "Messages",
                "Open Humans no longer tells apps whether a project may message you; see Manage connections on Open Humans.",
            ),
        ])
    }

    fn revoke_page(
        &self,
        registration: &Registration,
        _connection: &ConnectionRecord,
    ) -> Option<String> {
        let base = registration.settings.base_url.trim_end_matches('/');
        Some(format!("{base}/member/me/connections/"))
    }

    fn local_copies(
        &self,
        service: &Datalinks,
        connection: &ConnectionRecord,
    ) -> Result<Option<PathBuf>> {
        // Member downloads go to `<download folder>/<project member id>` (download.rs).
        Ok(Some(service.download_folder()?.join(
            datalinks_openhumans::download::names::file_name(&connection.account_id),
        )))
    }
}
