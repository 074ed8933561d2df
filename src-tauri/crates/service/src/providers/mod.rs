//! One adapter per provider, behind [`Adapter`]. The service never asks which provider it is
//! dealing with: what differs between providers is said here, once, in the provider's own file.
//!
//! Adding a provider: its adapter file in this folder, its line in [`ADAPTERS`], its variant of
//! [`datalinks_core::Provider`] and of [`crate::ProviderOptions`], its simulator in the sandbox
//! crate (started in `sandbox.rs`), and its entry in the UI's `providers.ts`.

mod humanapi;
mod opencollective;
mod openhumans;

use crate::registrations::{Registration, RegistrationSettings};
use crate::sandbox::Sandboxes;
use crate::{Datalinks, Grant, ProviderOptions, ReceiptStep};
use async_trait::async_trait;
use datalinks_core::{
    AccessToken, ClientSecret, ConnectionId, Error, Provider, Result, Transport, WaitingHint,
};
use datalinks_oauth::{OAuthClient, PkceVerifier, TokenEndpointError};
use datalinks_store::ConnectionRecord;
use datalinks_vault::TokenSet;
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

pub(crate) use humanapi::HumanApi;
pub(crate) use opencollective::OpenCollective;
pub(crate) use openhumans::OpenHumans;

/// Every provider Datalinks connects to, in the order they are shown.
static ADAPTERS: [&dyn Adapter; 3] = [
    &openhumans::OpenHumans,
    &opencollective::OpenCollective,
    &humanapi::HumanApi,
];

/// The adapter of `provider`.
pub(crate) fn adapter(provider: Provider) -> &'static dyn Adapter {
    *ADAPTERS
        .iter()
        .find(|adapter| adapter.provider() == provider)
        .expect("every provider has an adapter")
}

/// How a provider is set up from the command line, when nothing is stored.
pub struct ProviderDefaults {
    pub env_prefix: &'static str,
    pub base_url: &'static str,
}

impl ProviderDefaults {
    pub fn of(provider: Provider) -> Self {
        let adapter = adapter(provider);
        Self {
            env_prefix: adapter.env_prefix(),
            base_url: adapter.default_base_url(),
        }
    }
}

/// Every adapter, in display order.
pub(crate) fn adapters() -> impl Iterator<Item = &'static dyn Adapter> {
    ADAPTERS.iter().copied()
}

/// Who a fresh access token belongs to.
pub(crate) struct Identity {
    pub account_id: String,
    pub username: Option<String>,
    /// Provider facts kept with the connection, as a JSON object.
    pub details: serde_json::Value,
    /// For the history: whom it connected.
    pub summary: String,
}

/// The client id and secret the built-in sandbox registers for a provider.
pub(crate) struct SandboxApp {
    pub client_id: String,
    pub client_secret: ClientSecret,
}

/// What differs between providers. Methods a provider has no use for keep their defaults.
#[async_trait]
pub(crate) trait Adapter: Send + Sync {
    fn provider(&self) -> Provider;

    // ---- settings ----

    /// The options a new registration starts with.
    fn default_options(&self) -> ProviderOptions;

    /// The provider's options from their stored JSON object (`{}` reads as the defaults).
    fn options_from(&self, column: &str) -> serde_json::Result<ProviderOptions>;

    /// Whether the person can paste a token made on the provider's website instead of
    /// signing in.
    fn takes_personal_tokens(&self) -> bool {
        false
    }

    /// The prefix of the environment variables that set the provider up from the command line
    /// (`<prefix>_BASE_URL`, `<prefix>_CLIENT_ID`, `<prefix>_CLIENT_SECRET`).
    fn env_prefix(&self) -> &'static str;

    /// The public service's address, where sign-ins go unless settings say otherwise.
    fn default_base_url(&self) -> &'static str;

    /// Checks what the Settings form entered and returns it normalized.
    fn normalize(&self, settings: RegistrationSettings) -> Result<RegistrationSettings>;

    /// The server addresses a registration with these settings sends its secrets to, in a
    /// fixed order: changing any of them (or the client id) makes another registration.
    fn servers(&self, settings: &RegistrationSettings) -> Vec<String>;

    /// Why a registration with these settings cannot work without a client secret; `None`
    /// when it can.
    fn client_secret_needed(&self, _settings: &RegistrationSettings) -> Option<String> {
        Some(format!(
            "{} apps are confidential clients and always need it.",
            self.provider()
        ))
    }

    /// Whether new accounts can sign in through a registration with these settings.
    fn takes_sign_ins(&self, _settings: &RegistrationSettings) -> bool {
        true
    }

    /// The options a new sandbox registration starts with.
    fn sandbox_options(&self) -> ProviderOptions {
        self.default_options()
    }

    /// How the redirect comes back for a new registration, the sandbox's included.
    fn default_transport(&self) -> Transport {
        Transport::Loopback
    }

    /// The app the built-in sandbox registers for this provider.
    fn sandbox_app(&self, sandboxes: &Sandboxes) -> SandboxApp;

    /// Points a sandbox registration's settings at the running sandbox's servers.
    fn point_at_sandbox(&self, sandboxes: &Sandboxes, settings: &mut RegistrationSettings);

    // ---- signing in through the system browser ----

    /// Whether people sign in through the system browser (OAuth); otherwise in a window of
    /// the provider's own (Human API Connect).
    fn signs_in_through_browser(&self) -> bool {
        true
    }

    /// The OAuth client of a registration (token and revocation endpoints, client
    /// authentication), with its client secret when one is stored.
    fn oauth_client(
        &self,
        _http: &reqwest::Client,
        _registration: &Registration,
        _secret: Option<ClientSecret>,
    ) -> Result<OAuthClient> {
        Err(no_browser_sign_in(self.provider()))
    }

    /// The authorize page for an attempt, with its state and PKCE challenge.
    fn authorize_url(
        &self,
        _registration: &Registration,
        _client: &OAuthClient,
        _redirect_uri: &str,
        _state: &str,
        _verifier: &PkceVerifier,
    ) -> Result<Url> {
        Err(no_browser_sign_in(self.provider()))
    }

    /// The loopback port to listen on; 0 picks a free one.
    fn loopback_port(&self, _registration: &Registration) -> Result<u16> {
        Ok(0)
    }

    /// Before a sign-in on the sandbox: tells the simulator the redirect the attempt uses, as a
    /// developer registers it with the provider.
    fn expect_sandbox_redirect(&self, _sandboxes: &Sandboxes, _redirect_uri: &str) -> Result<()> {
        Ok(())
    }

    /// What may keep an attempt through `transport` from coming back, for the waiting panel.
    fn waiting_hints(
        &self,
        _registration: &Registration,
        _transport: Transport,
    ) -> Vec<WaitingHint> {
        Vec::new()
    }

    /// What a refused code exchange means for the person, with what the provider's settings
    /// could do about it.
    fn exchange_failed(&self, _registration: &Registration, err: TokenEndpointError) -> Error {
        err.into()
    }

    /// Who a fresh access token belongs to.
    async fn identify(
        &self,
        _service: &Datalinks,
        _registration: &Registration,
        _token: &AccessToken,
    ) -> Result<Identity> {
        Err(no_browser_sign_in(self.provider()))
    }

    // ---- using a connection ----

    /// A new access token for a connection whose provider mints them instead of refreshing
    /// (Human API); `None` for OAuth providers, which refresh.
    async fn mint(
        &self,
        _service: &Datalinks,
        _registration: &Registration,
        _connection: &ConnectionRecord,
    ) -> Option<Result<TokenSet>> {
        None
    }

    /// Withdraws the connection's access at the provider, as far as the provider lets apps, and
    /// says what was done and what the person can do on the provider's website.
    async fn revoke(
        &self,
        service: &Datalinks,
        registration: &Registration,
        connection: &ConnectionRecord,
        tokens: Option<&TokenSet>,
    ) -> Vec<ReceiptStep>;

    /// One authenticated call that shows whether the connection works.
    async fn check(&self, service: &Arc<Datalinks>, connection: ConnectionId) -> Result<()>;

    // ---- the consent ledger ----

    /// What the connection was granted, as far as the provider tells apps; what it does not
    /// tell is a [`Grant::unknown`] that says so.
    async fn grants(
        &self,
        service: &Arc<Datalinks>,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Result<Vec<Grant>>;

    /// The provider's page where the person withdraws the connection's access themselves.
    fn revoke_page(
        &self,
        _registration: &Registration,
        _connection: &ConnectionRecord,
    ) -> Option<String> {
        None
    }

    /// The folder on this computer that holds the connection's downloaded files.
    fn local_copies(
        &self,
        _service: &Datalinks,
        _connection: &ConnectionRecord,
    ) -> Result<Option<PathBuf>> {
        Ok(None)
    }
}

/// Human API has no OAuth sign-in: people link it in its Connect window.
fn no_browser_sign_in(provider: Provider) -> Error {
    Error::invalid_input(format!(
        "{provider} does not sign in through the browser: open Connect from its card."
    ))
}
