//! Open Collective: OAuth2 on the website (authorize page) and the API host (token endpoint,
//! GraphQL), PKCE with or without a client secret, or a personal token instead; no way for apps
//! to revoke (docs/providers/open-collective.md).

use super::{Adapter, Identity, SandboxApp};
use crate::disconnect::step;
use crate::registrations::{Registration, RegistrationSettings};
use crate::sandbox::Sandboxes;
use crate::settings::normalized_url;
use crate::{Datalinks, Grant, OpenCollectiveOptions, ProviderOptions, ReceiptStep, StepOutcome};
use async_trait::async_trait;
use datalinks_core::{
    AccessToken, ClientSecret, ConnectionId, CredentialKind, Error, ErrorCode, Provider, Result,
    Transport, WaitingHint,
};
use datalinks_oauth::{OAuthClient, PkceVerifier, TokenEndpointError};
use datalinks_opencollective as oc;
use datalinks_store::ConnectionRecord;
use datalinks_vault::TokenSet;
use std::sync::Arc;
use url::Url;

pub(crate) struct OpenCollective;

impl OpenCollective {
    /// The registration's Open Collective options.
    pub(crate) fn options(settings: &RegistrationSettings) -> Result<&OpenCollectiveOptions> {
        match &settings.options {
            ProviderOptions::OpenCollective(options) => Ok(options),
            _ => Err(Error::internal(
                "Open Collective settings of another provider",
            )),
        }
    }

    /// Where the registration's website and API are.
    pub(crate) fn hosts(settings: &RegistrationSettings) -> Result<oc::Hosts> {
        Ok(oc::Hosts::new(
            datalinks_core::server_url(&settings.base_url)?,
            datalinks_core::server_url(&Self::options(settings)?.api_url)?,
        ))
    }

    /// Where a person withdraws an app's access on the website, since apps cannot: authorized
    /// OAuth apps are listed under the account's admin pages, personal tokens under "For
    /// developers".
    fn revoke_page_at(website: &str, slug: Option<&str>, personal_token: bool) -> String {
        let website = website.trim_end_matches('/');
        match (slug, personal_token) {
            (Some(slug), true) => format!("{website}/{slug}/admin/for-developers"),
            (Some(slug), false) => format!("{website}/{slug}/admin/authorized-apps"),
            (None, _) => website.to_owned(),
        }
    }
}

#[async_trait]
impl Adapter for OpenCollective {
    fn provider(&self) -> Provider {
        Provider::OpenCollective
    }

    fn default_options(&self) -> ProviderOptions {
        ProviderOptions::OpenCollective(OpenCollectiveOptions::default())
    }

    fn options_from(&self, column: &str) -> serde_json::Result<ProviderOptions> {
        serde_json::from_str(column).map(ProviderOptions::OpenCollective)
    }

    fn takes_personal_tokens(&self) -> bool {
        true
    }

    fn env_prefix(&self) -> &'static str {
        "DATALINKS_OC"
    }

    fn default_base_url(&self) -> &'static str {
        oc::WEBSITE_URL
    }

    fn normalize(&self, settings: RegistrationSettings) -> Result<RegistrationSettings> {
        let ProviderOptions::OpenCollective(mut options) = settings.options else {
            return Err(Error::invalid_input(
                "These settings do not belong to Open Collective.",
            ));
        };
        options.api_url = normalized_url(&options.api_url)?;
        if options.loopback_port == Some(0) {
            return Err(Error::invalid_input(
                "The loopback port must be between 1 and 65535: Open Collective needs the exact callback URL.",
            ));
        }
        let mut seen = Vec::new();
        options.scopes.retain(|scope| {
            let first = !seen.contains(scope);
            seen.push(*scope);
            first
        });
        Ok(RegistrationSettings {
            base_url: normalized_url(&settings.base_url)?,
            options: ProviderOptions::OpenCollective(options),
            ..settings
        })
    }

    fn servers(&self, settings: &RegistrationSettings) -> Vec<String> {
        let api = Self::options(settings)
            .map(|o| o.api_url.clone())
            .unwrap_or_default();
        vec![settings.base_url.clone(), api]
    }

    /// A code exchange with PKCE needs no secret (only refreshing does); without PKCE the
    /// secret is all that proves it.
    fn client_secret_needed(&self, settings: &RegistrationSettings) -> Option<String> {
        let pkce = Self::options(settings).map_or(true, |options| options.pkce);
        (!pkce && !settings.client_id.is_empty()).then(|| {
            "without PKCE, Open Collective takes the code only from a client that sends its secret."
                .to_owned()
        })
    }

    /// Without a client id only personal tokens connect.
    fn takes_sign_ins(&self, settings: &RegistrationSettings) -> bool {
        !settings.client_id.is_empty()
    }

    fn default_transport(&self) -> Transport {
        Transport::DeepLink
    }

    fn sandbox_app(&self, sandboxes: &Sandboxes) -> SandboxApp {
        SandboxApp {
            client_id: sandboxes.open_collective.client_id().to_owned(),
            client_secret: ClientSecret::new(sandboxes.open_collective.client_secret()),
        }
    }

    fn point_at_sandbox(&self, sandboxes: &Sandboxes, settings: &mut RegistrationSettings) {
        let address = Sandboxes::address(&sandboxes.open_collective.base_url());
        settings.base_url = address.clone();
        if let ProviderOptions::OpenCollective(options) = &mut settings.options {
            options.api_url = address;
        }
    }

    fn oauth_client(
        &self,
        http: &reqwest::Client,
        registration: &Registration,
        secret: Option<ClientSecret>,
    ) -> Result<OAuthClient> {
        let client = oc::oauth_client(
            http.clone(),
            &Self::hosts(&registration.settings)?,
            registration.settings.client_id.clone(),
            secret,
        );
        if Self::options(&registration.settings)?.pkce {
            Ok(client)
        } else {
            client.without_pkce().map_err(|_| {
                Error::new(
                    ErrorCode::NotConfigured,
                    "This Open Collective setup connects without PKCE, which needs the client secret: enter it in Settings.",
                )
            })
        }
    }

    fn authorize_url(
        &self,
        registration: &Registration,
        client: &OAuthClient,
        redirect_uri: &str,
        state: &str,
        verifier: &PkceVerifier,
    ) -> Result<Url> {
        let settings = &registration.settings;
        let options = Self::options(settings)?;
        let scope = oc::scope_parameter(&options.scopes, options.scope_separator);
        let extra: Vec<(&str, &str)> = scope.iter().map(|s| ("scope", s.as_str())).collect();
        let page = Self::hosts(settings)?.authorize_url();
        client.authorize_url(&page, redirect_uri, state, verifier, &extra)
    }

    /// Open Collective compares the whole redirect URI with the one registered callback, so a
    /// loopback sign-in needs the fixed port registered with the app. The sandbox registers
    /// whatever port the attempt listens on.
    fn loopback_port(&self, registration: &Registration) -> Result<u16> {
        match Self::options(&registration.settings)?.loopback_port {
            Some(port) => Ok(port),
            None if registration.record.sandbox => Ok(0),
            None => Err(Error::invalid_input(
                "Open Collective compares the whole callback URL, so the local-address transport needs a fixed port: set it in Settings to the port of the callback registered with your app.",
            )),
        }
    }

    fn waiting_hints(
        &self,
        registration: &Registration,
        _transport: Transport,
    ) -> Vec<WaitingHint> {
        let several_scopes =
            Self::options(&registration.settings).is_ok_and(|options| options.scopes.len() > 1);
        if !several_scopes {
            return Vec::new();
        }
        vec![WaitingHint {
            text: "If Open Collective shows an error page instead of asking for your approval, its consent page may not read several scopes at once: asking only for “email” in Settings avoids it.".into(),
            remedy: None,
        }]
    }

    fn exchange_failed(&self, _registration: &Registration, err: TokenEndpointError) -> Error {
        let verifier_refused = matches!(
            &err,
            TokenEndpointError::InvalidGrant { description: Some(description) }
                if description.contains("code verifier")
        );
        if !verifier_refused {
            return err.into();
        }
        // Older consent pages do not pass the PKCE challenge on (docs/providers/open-collective.md, "Signing in").
        Error::new(
            ErrorCode::ProviderError,
            format!("Open Collective refused the sign-in's PKCE proof ({err}). Its consent page may not pass PKCE on: in Settings, turn off “Prove sign-ins with PKCE”, enter the client secret, and connect again."),
        )
    }

    fn expect_sandbox_redirect(&self, sandboxes: &Sandboxes, redirect_uri: &str) -> Result<()> {
        sandboxes
            .open_collective
            .set_callback_url(redirect_uri)
            .map_err(Error::internal)
    }

    async fn identify(
        &self,
        service: &Datalinks,
        registration: &Registration,
        token: &AccessToken,
    ) -> Result<Identity> {
        let api = oc::ApiClient::new(service.http.clone(), &Self::hosts(&registration.settings)?);
        let me = api.me(&oc::Credential::OAuth(token.clone())).await?;
        Ok(Identity {
            summary: format!(
                "Connected as {} (@{}).",
                me.name.as_deref().unwrap_or(&me.slug),
                me.slug
            ),
            account_id: me.id,
            username: Some(me.slug),
            details: serde_json::json!({}),
        })
    }

    async fn revoke(
        &self,
        service: &Datalinks,
        registration: &Registration,
        connection: &ConnectionRecord,
        _tokens: Option<&TokenSet>,
    ) -> Vec<ReceiptStep> {
        let personal_token = connection.credential == CredentialKind::PersonalToken;
        let link = Self::revoke_page_at(
            &registration.settings.base_url,
            connection.username.as_deref(),
            personal_token,
        );
        service.receipt_links.lock().unwrap().insert(link.clone());
        vec![ReceiptStep {
            link: Some(link.clone()),
            ..step(
                "Revoke access",
                StepOutcome::Skipped,
                format!("Open Collective gives apps no way to revoke their own access. Datalinks forgets its tokens below; to withdraw access on Open Collective too, open {link}."),
            )
        }]
    }

    async fn check(&self, service: &Arc<Datalinks>, connection: ConnectionId) -> Result<()> {
        service.oc_me(connection).await.map(drop)
    }

    async fn grants(
        &self,
        service: &Arc<Datalinks>,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Result<Vec<Grant>> {
        let account = service.oc_me(connection.id).await?;
        let mut grants = vec![Grant::known(
            "Account",
            match &account.name {
                Some(name) => format!("{name} ({})", account.slug),
                None => account.slug.clone(),
            },
        )];
        if connection.credential == CredentialKind::PersonalToken {
            grants.push(Grant::unknown(
                "Scopes",
                "A personal token has the scopes chosen when it was made; Open Collective does not tell apps which. See For developers on Open Collective.",
            ));
            return Ok(grants);
        }
        let identity = registration.account(&connection.account_id);
        let tokens = service
            .vault_call(move |vault| vault.tokens(&identity))
            .await?;
        // The token answer's `scope` is what was granted; without one, what was asked for.
        let granted: Vec<oc::Scope> = match tokens.and_then(|t| t.scope) {
            Some(scope) => scope
                .split([' ', ','])
                .filter_map(oc::Scope::from_name)
                .collect(),
            None => Self::options(&registration.settings)?.scopes.clone(),
        };
        grants.push(Grant::known(
            "Without any scope",
            "your public profile, memberships, transactions and expenses",
        ));
        grants.extend(
            granted
                .into_iter()
                .map(|scope| Grant::known(scope.as_str(), scope.explanation())),
        );
        Ok(grants)
    }

    fn revoke_page(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Option<String> {
        Some(Self::revoke_page_at(
            &registration.settings.base_url,
            connection.username.as_deref(),
            connection.credential == CredentialKind::PersonalToken,
        ))
    }
}
