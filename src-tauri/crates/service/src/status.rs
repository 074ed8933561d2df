//! Where each connection stands, and the bookkeeping around every authenticated call:
//! refresh on expiry or 401, quick retries, then "unreachable, will retry" with backoff.

use crate::{Datalinks, ServiceEvent};
use datalinks_core::{
    now_unix, ConnectionState, ConnectionView, Error, ErrorCode, Provider, Result, SecretString,
};
use datalinks_openhumans::ApiError;
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
        view.state = match self.vault_call(move |v| v.client_secret(provider)).await {
            _ if settings.is_none() => ConnectionState::NotConfigured,
            Err(err) if err.code == ErrorCode::KeyringUnavailable => {
                ConnectionState::KeyringUnavailable {
                    message: err.message,
                }
            }
            Err(err) => return Err(err),
            Ok(None) => ConnectionState::NotConfigured,
            Ok(Some(_)) => match (self.attempts.current(provider), account) {
                (Some(attempt), _) => ConnectionState::Waiting {
                    authorize_url: attempt.authorize_url,
                    transport: attempt.transport,
                    expires_at: attempt.expires_at,
                },
                (None, None) => ConnectionState::Disconnected,
                (None, Some(account)) => {
                    match (account.reconnect_reason, health.keyring, health.unreachable) {
                        (Some(reason), _, _) => ConnectionState::ReconnectNeeded { reason },
                        (None, Some(message), _) => ConnectionState::KeyringUnavailable { message },
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

    /// Tells the host that a connection changed.
    pub(crate) async fn announce(&self, provider: Provider) {
        match self.connection(provider).await {
            Ok(view) => self.host.emit(ServiceEvent::ConnectionChanged(view)),
            Err(err) => self.host.emit(ServiceEvent::Notice(err)),
        }
    }

    /// Runs an Open Humans API call with a valid access token: refreshes when the token is
    /// about to expire or the provider rejects it, retries briefly when the provider is
    /// unreachable, and records the outcome in the connection's state.
    pub(crate) async fn with_token<T, F, Fut>(
        self: &Arc<Self>,
        provider: Provider,
        call: F,
    ) -> Result<T>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut delays = QUICK_RETRY_DELAYS.iter();
        let outcome = loop {
            match self.call_once(provider, &call).await {
                Err(err) if err.code == ErrorCode::Unreachable => match delays.next() {
                    Some(delay) => tokio::time::sleep(*delay).await,
                    None => break Err(err),
                },
                other => break other,
            }
        };
        self.record_outcome(provider, outcome.as_ref().err()).await;
        outcome
    }

    async fn call_once<T, F, Fut>(&self, provider: Provider, call: &F) -> Result<T>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let client = self.oauth_client(provider).await?;
        let refresh = |token: SecretString| {
            let client = client.clone();
            async move { client.refresh(&token).await }
        };
        let keeper = self.keeper(provider);
        let token = keeper.access_token(refresh).await?;
        match call(token.clone()).await {
            Err(ApiError::TokenRejected { .. }) => {
                let token = keeper.access_token_after_rejection(&token, refresh).await?;
                Ok(call(token).await?)
            }
            other => Ok(other?),
        }
    }

    /// Updates the stored and live state after an authenticated call, and schedules a
    /// background retry when the provider was unreachable.
    async fn record_outcome(self: &Arc<Self>, provider: Provider, error: Option<&Error>) {
        match error {
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
                    .map(|t| t.expires_at);
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
            Some(err) if err.code == ErrorCode::Unreachable => {
                let mut retry_in = BACKGROUND_RETRY_FIRST_SECS;
                self.update_health(provider, |h| {
                    let failures = h.unreachable.as_ref().map_or(0, |u| u.failures) + 1;
                    retry_in = (BACKGROUND_RETRY_FIRST_SECS << (failures - 1).min(6))
                        .min(BACKGROUND_RETRY_MAX_SECS);
                    h.unreachable = Some(Unreachable {
                        message: err.message.clone(),
                        retry_at: now_unix() + retry_in,
                        failures,
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
                let _ = service.member_overview().await;
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
            let _ = self.member_overview().await;
        }
        self.connection(provider).await
    }
}

fn account_summary(record: &datalinks_store::AccountRecord) -> datalinks_core::AccountSummary {
    datalinks_core::AccountSummary {
        account_id: record.account_id.clone(),
        username: record.username.clone(),
        connected_at: record.connected_at,
    }
}
