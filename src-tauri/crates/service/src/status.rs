//! Where each connection stands, and the bookkeeping around every authenticated call:
//! refresh on expiry or 401, quick retries, then "unreachable, will retry" with backoff.

use crate::{Datalinks, ServiceEvent};
use datalinks_core::{
    now_unix, ConnectionState, ConnectionView, Error, ErrorCode, Provider, Result, SecretString,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Pauses between the quick retries of a call that found the provider unreachable.
const QUICK_RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(500), Duration::from_millis(1500)];
/// The first background retry after the quick retries failed; doubles up to the maximum.
const BACKGROUND_RETRY_FIRST_SECS: i64 = 15;
const BACKGROUND_RETRY_MAX_SECS: i64 = 600;

/// Live, non-persisted health of a connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Health {
    unreachable: Option<Unreachable>,
    keyring: Option<String>,
    pub(crate) last_error: Option<Error>,
}

#[derive(Debug, Clone, PartialEq)]
struct Unreachable {
    message: String,
    retry_at: i64,
    failures: u32,
    /// The provider answered 429: we wait as long as it asked rather than back off blindly.
    rate_limited: bool,
}

/// An error of a provider's API client, as the token bookkeeping needs to see it.
pub(crate) trait ProviderFailure: Into<Error> {
    /// The access token was refused as expired or invalid: refresh, then try once more.
    fn token_rejected(&self) -> bool;
    /// How long the provider asked us to wait before the next call (HTTP 429).
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl ProviderFailure for datalinks_openhumans::ApiError {
    fn token_rejected(&self) -> bool {
        matches!(self, Self::TokenRejected { .. })
    }
}

impl ProviderFailure for datalinks_opencollective::ApiError {
    fn token_rejected(&self) -> bool {
        matches!(self, Self::TokenExpired)
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// What authenticates a call: an OAuth access token from the keeper, or a personal token.
#[derive(Debug, Clone)]
pub(crate) enum Credential {
    OAuth(SecretString),
    PersonalToken(SecretString),
}

impl Credential {
    pub(crate) fn secret(&self) -> &SecretString {
        match self {
            Self::OAuth(token) | Self::PersonalToken(token) => token,
        }
    }
}

/// How a connection gets a new access token: OAuth refresh, or (Human API) minting one.
enum Renewal {
    Refresh(Box<datalinks_oauth::OAuthClient>),
    Mint,
}

/// A failed call, with how long the provider asked us to wait.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl Failure {
    fn from_provider<E: ProviderFailure>(err: E) -> Self {
        let retry_after = err.retry_after();
        Self {
            error: err.into(),
            retry_after,
        }
    }
}

impl Datalinks {
    pub(crate) fn health(&self, provider: Provider) -> Health {
        self.health
            .lock()
            .unwrap()
            .get(&provider)
            .cloned()
            .unwrap_or_default()
    }

    fn update_health(&self, provider: Provider, change: impl FnOnce(&mut Health)) {
        change(self.health.lock().unwrap().entry(provider).or_default());
    }

    /// Shows `error` on the provider's card until the next success.
    pub(crate) fn set_last_error(&self, provider: Provider, error: Option<Error>) {
        self.update_health(provider, |h| h.last_error = error);
    }

    pub async fn list_connections(&self) -> Result<Vec<ConnectionView>> {
        let mut views = Vec::new();
        for provider in Provider::ALL {
            views.push(self.connection(provider).await?);
        }
        Ok(views)
    }

    pub async fn connection(&self, provider: Provider) -> Result<ConnectionView> {
        let settings = self.store.provider_settings(provider)?;
        let account = self.store.account(provider)?;
        let health = self.health(provider);
        let mut view = ConnectionView {
            provider,
            state: ConnectionState::Disconnected,
            sandbox: settings.as_ref().is_some_and(|s| s.sandbox),
            account: account.as_ref().map(account_summary),
            token_expires_at: account.as_ref().and_then(|a| a.token_expires_at),
            secret_location: self.vault.location(),
            last_error: health.last_error.clone(),
        };
        view.state = match self.has_credentials(provider).await {
            _ if settings.is_none() => ConnectionState::NotConfigured,
            Err(err) if err.code == ErrorCode::KeyringUnavailable => {
                ConnectionState::KeyringUnavailable {
                    message: err.message,
                }
            }
            Err(err) => return Err(err),
            Ok(false) => ConnectionState::NotConfigured,
            Ok(true) => match (
                self.attempts.current(provider),
                self.connect_window_open(provider),
                account,
            ) {
                (Some(attempt), _, _) => ConnectionState::Waiting {
                    authorize_url: attempt.authorize_url,
                    transport: attempt.transport,
                    expires_at: attempt.expires_at,
                },
                (None, Some(expires_at), _) => ConnectionState::ConnectWindowOpen { expires_at },
                (None, None, None) => ConnectionState::Disconnected,
                (None, None, Some(account)) => {
                    match (account.reconnect_reason, health.keyring, health.unreachable) {
                        (Some(reason), _, _) => ConnectionState::ReconnectNeeded { reason },
                        (None, Some(message), _) => ConnectionState::KeyringUnavailable { message },
                        (None, None, Some(down)) if down.rate_limited => {
                            ConnectionState::RateLimited {
                                message: down.message,
                                retry_at: down.retry_at,
                            }
                        }
                        (None, None, Some(down)) => ConnectionState::Unreachable {
                            message: down.message,
                            retry_at: down.retry_at,
                        },
                        (None, None, None) => ConnectionState::Connected,
                    }
                }
            },
        };
        Ok(view)
    }

    /// Whether the app credentials a connection needs are stored: Open Humans needs its client
    /// secret; Open Collective a client ID (PKCE works without a secret) or a personal token.
    async fn has_credentials(&self, provider: Provider) -> Result<bool> {
        match provider {
            Provider::OpenCollective => {
                let has_client_id = self
                    .store
                    .provider_settings(provider)?
                    .is_some_and(|s| !s.client_id.is_empty());
                Ok(self.personal_token(provider).await?.is_some() || has_client_id)
            }
            _ => Ok(self
                .vault_call(move |v| v.client_secret(provider))
                .await?
                .is_some()),
        }
    }

    /// Tells the host that a connection changed.
    pub(crate) async fn announce(&self, provider: Provider) {
        match self.connection(provider).await {
            Ok(view) => self.host.emit(ServiceEvent::ConnectionChanged(view)),
            Err(err) => self.host.emit(ServiceEvent::Notice(err)),
        }
    }

    /// Runs a provider API call with a valid credential: a stored personal token as is, else an
    /// OAuth access token, refreshed when it is about to expire or the provider rejects it.
    /// Retries briefly when the provider is unreachable, and records the outcome in the
    /// connection's state.
    pub(crate) async fn with_token<T, E, F, Fut>(
        self: &Arc<Self>,
        provider: Provider,
        call: F,
    ) -> Result<T>
    where
        E: ProviderFailure,
        F: Fn(Credential) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut delays = QUICK_RETRY_DELAYS.iter();
        let outcome = loop {
            match self.call_once(provider, &call).await {
                Err(failure) if failure.error.code == ErrorCode::Unreachable => {
                    match delays.next() {
                        Some(delay) => tokio::time::sleep(*delay).await,
                        None => break Err(failure),
                    }
                }
                other => break other,
            }
        };
        self.record_outcome(provider, outcome.as_ref().err()).await;
        outcome.map_err(|failure| failure.error)
    }

    async fn call_once<T, E, F, Fut>(&self, provider: Provider, call: &F) -> Result<T, Failure>
    where
        E: ProviderFailure,
        F: Fn(Credential) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(token) = self.personal_token(provider).await? {
            return call(Credential::PersonalToken(token))
                .await
                .map_err(Failure::from_provider);
        }
        let renewal = match provider {
            Provider::HumanApi => Renewal::Mint,
            _ => Renewal::Refresh(Box::new(self.oauth_client(provider).await?)),
        };
        let token = self.access_token(provider, &renewal, None).await?;
        match call(Credential::OAuth(token.clone())).await {
            Err(err) if err.token_rejected() => {
                let token = self.access_token(provider, &renewal, Some(&token)).await?;
                call(Credential::OAuth(token))
                    .await
                    .map_err(Failure::from_provider)
            }
            other => other.map_err(Failure::from_provider),
        }
    }

    /// A valid access token from the keeper, renewed when about to expire or after the
    /// provider rejected `rejected`.
    async fn access_token(
        &self,
        provider: Provider,
        renewal: &Renewal,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString> {
        let keeper = self.keeper(provider);
        match renewal {
            Renewal::Refresh(client) => {
                let refresh = |token: SecretString| async move { client.refresh(&token).await };
                match rejected {
                    None => keeper.access_token(refresh).await,
                    Some(token) => keeper.access_token_after_rejection(token, refresh).await,
                }
            }
            Renewal::Mint => {
                let mint = || self.hapi_mint_access_token();
                match rejected {
                    None => keeper.access_token_minting(mint).await,
                    Some(token) => {
                        keeper
                            .access_token_minting_after_rejection(token, mint)
                            .await
                    }
                }
            }
        }
    }

    /// Updates the stored and live state after an authenticated call, and schedules a
    /// background retry when the provider was unreachable.
    async fn record_outcome(self: &Arc<Self>, provider: Provider, failure: Option<&Failure>) {
        let retry_after = failure.and_then(|f| f.retry_after);
        match failure.map(|f| &f.error) {
            None => {
                // A healthy call changes nothing unless it ended a problem or renewed the
                // token: say so only then, so long runs of calls stay quiet.
                let mut recovered = false;
                self.update_health(provider, |h| {
                    recovered = std::mem::take(h) != Health::default()
                });
                let stored = self
                    .store
                    .account(provider)
                    .ok()
                    .flatten()
                    .and_then(|a| a.token_expires_at);
                let current = self
                    .keeper(provider)
                    .current()
                    .await
                    .ok()
                    .flatten()
                    .map(|t| t.expires_at)
                    // i64::MAX stands for "no expiry known" (legacy Human API tokens).
                    .filter(|&at| at != i64::MAX);
                if current.is_some() && current != stored {
                    let _ = self.store.set_token_expiry(provider, current);
                } else if !recovered {
                    return;
                }
            }
            Some(err) if err.code == ErrorCode::ReconnectNeeded => {
                let _ = self
                    .store
                    .set_reconnect_reason(provider, Some(&err.message));
                let _ = self
                    .store
                    .record_event(provider, "reconnect_needed", &err.message);
            }
            Some(err) if err.code == ErrorCode::KeyringUnavailable => {
                self.update_health(provider, |h| h.keyring = Some(err.message.clone()));
            }
            Some(err) if matches!(err.code, ErrorCode::Unreachable | ErrorCode::RateLimited) => {
                let mut retry_in = BACKGROUND_RETRY_FIRST_SECS;
                self.update_health(provider, |h| {
                    let failures = h.unreachable.as_ref().map_or(0, |u| u.failures) + 1;
                    retry_in = match retry_after {
                        Some(wait) => i64::try_from(wait.as_secs()).unwrap_or(i64::MAX).max(1),
                        None => (BACKGROUND_RETRY_FIRST_SECS << (failures - 1).min(6))
                            .min(BACKGROUND_RETRY_MAX_SECS),
                    };
                    h.unreachable = Some(Unreachable {
                        message: err.message.clone(),
                        retry_at: now_unix() + retry_in,
                        failures,
                        rate_limited: err.code == ErrorCode::RateLimited,
                    });
                });
                self.schedule_retry(provider, Duration::from_secs(retry_in as u64));
            }
            Some(_) => {}
        }
        self.announce(provider).await;
    }

    /// Checks the connection again after `delay`, unless something else already did. Boxed
    /// with an explicit `Send` because the check can schedule the next one (recursion).
    fn schedule_retry(self: &Arc<Self>, provider: Provider, delay: Duration) {
        let service = Arc::clone(self);
        let check: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
            tokio::time::sleep(delay).await;
            if service.health(provider).unreachable.is_some() {
                let _ = service.check(provider).await;
            }
        });
        tokio::spawn(check);
    }

    /// Re-checks a connection now: reads the keyring again and calls the provider.
    pub async fn retry(self: &Arc<Self>, provider: Provider) -> Result<ConnectionView> {
        self.update_health(provider, |h| *h = Health::default());
        self.keeper(provider).reload().await;
        let connected = self
            .store
            .account(provider)?
            .is_some_and(|a| a.reconnect_reason.is_none());
        if connected {
            // The outcome is recorded in the connection's state, which is what we return.
            let _ = self.check(provider).await;
        }
        self.connection(provider).await
    }

    /// One authenticated call that shows whether the connection works.
    async fn check(self: &Arc<Self>, provider: Provider) -> Result<()> {
        match provider {
            Provider::OpenHumans => self.member_overview().await.map(drop),
            Provider::OpenCollective => self.oc_me().await.map(drop),
            Provider::HumanApi => self.hapi_profile().await.map(drop),
        }
    }
}

fn account_summary(record: &datalinks_store::AccountRecord) -> datalinks_core::AccountSummary {
    datalinks_core::AccountSummary {
        account_id: record.account_id.clone(),
        username: record.username.clone(),
        connected_at: record.connected_at,
    }
}
