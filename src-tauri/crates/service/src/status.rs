//! Where each connection stands, and the bookkeeping around every authenticated call: refresh
//! (or mint) on expiry or 401, a few tries under the retry policy, then "unreachable, will retry"
//! with backoff.

use crate::audit::actions;
use crate::providers::{adapter, adapters};
use crate::registrations::{settings_of, summary_of, Registration};
use crate::{no_such_connection, Datalinks, ServiceEvent};
use datalinks_core::{
    now_unix, AccessToken, AccountSummary, ConnectionId, ConnectionState, ConnectionView,
    ConnectionsOverview, CredentialKind, Error, ErrorCode, PersonalToken, ProviderConnections,
    RegistrationSummary, Result, SignInState, SignInView,
};
use datalinks_http::{RetryPolicy, Retryable, Verdict};
use datalinks_oauth::TokenKeeper;
use datalinks_store::{ConnectionFilter, ConnectionRecord, RegistrationRecord};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The first background retry after a call's own tries failed; doubles up to the maximum.
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
    /// The access token was refused as expired or invalid: renew it, then try once more.
    fn token_rejected(&self) -> bool;
    /// The access token was answered as unknown rather than refused, which is also how a token
    /// past its stored expiry looks: worth one refresh when a refresh token is in hand.
    fn token_unrecognized(&self) -> bool {
        false
    }
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
    /// `me: null` (docs/providers/open-collective.md, "GraphQL").
    fn token_unrecognized(&self) -> bool {
        matches!(self, Self::AccessRemoved)
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl ProviderFailure for datalinks_humanapi::HumanApiError {
    fn token_rejected(&self) -> bool {
        matches!(self, Self::TokenRejected { .. })
    }
}

/// What authenticates a call: an access token from the connection's keeper, or the personal
/// token the person pasted in.
#[derive(Debug, Clone)]
pub(crate) enum Credential {
    OAuth(AccessToken),
    PersonalToken(PersonalToken),
}

impl Credential {
    /// The access token of a provider that has no personal tokens.
    pub(crate) fn access_token(&self) -> Result<&AccessToken> {
        match self {
            Self::OAuth(token) => Ok(token),
            Self::PersonalToken(_) => Err(Error::internal(
                "a personal token for a provider that has none",
            )),
        }
    }
}

/// A failed call, with how long the provider asked us to wait.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

/// An unreachable provider is tried again at once, a few times; a rate limit is waited out in
/// the background, as the connection's state says.
impl Retryable for Failure {
    fn verdict(&self) -> Verdict {
        match self.error.code {
            ErrorCode::Unreachable => Verdict::Again,
            _ => Verdict::Final,
        }
    }
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
    pub(crate) fn health(&self, id: ConnectionId) -> Health {
        self.health
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    fn update_health(&self, id: ConnectionId, change: impl FnOnce(&mut Health)) {
        change(self.health.lock().unwrap().entry(id).or_default());
    }

    /// Shows `error` on the connection's card until the next success.
    pub(crate) fn set_last_error(&self, id: ConnectionId, error: Option<Error>) {
        self.update_health(id, |h| h.last_error = error);
    }

    /// Forgets what is kept in memory about a connection (its tokens, health), after it was
    /// connected again or removed.
    pub(crate) fn forget_connection_state(&self, id: ConnectionId) {
        self.keepers.lock().unwrap().remove(&id);
        self.personal_tokens.lock().unwrap().remove(&id);
        self.health.lock().unwrap().remove(&id);
    }

    /// Every provider's sign-ins and connections, from the database and memory alone: listing
    /// never reads the keyring or calls a provider.
    pub fn overview(&self) -> Result<ConnectionsOverview> {
        // Numbered before anything is read, so a later number never shows an earlier state.
        let revision = 1 + self
            .overview_revision
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let registrations = self.store.registrations(None)?;
        let connections = self.store.connections(ConnectionFilter::All)?;
        let summary = |id| {
            registrations
                .iter()
                .find(|r| r.id == id)
                .map(summary_of)
                .ok_or_else(|| Error::internal("a connection without its registration"))
        };
        let providers = adapters()
            .map(|adapter| {
                let provider = adapter.provider();
                let mut sign_ins = Vec::new();
                for record in registrations.iter().filter(|r| r.provider == provider) {
                    let view = self.sign_in_view(record);
                    // An earlier setup takes no new accounts, but a reconnect of one of its
                    // connections is shown while it is open or until its problem is replaced.
                    let shown = if record.retired {
                        view.state != SignInState::Ready || view.last_error.is_some()
                    } else {
                        adapter.takes_sign_ins(&settings_of(record)?)
                    };
                    if shown {
                        sign_ins.push(view);
                    }
                }
                // The person's own setup first, then the sandbox.
                sign_ins.sort_by_key(|s| s.registration.sandbox);
                let connections = connections
                    .iter()
                    .filter(|c| c.provider == provider)
                    .map(|c| Ok(self.connection_view(c, summary(c.registration_id)?)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(ProviderConnections {
                    provider,
                    sign_ins,
                    connections,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConnectionsOverview {
            revision,
            providers,
            secret_location: self.vault.location(),
        })
    }

    pub async fn list_connections(&self) -> Result<ConnectionsOverview> {
        self.overview()
    }

    /// One connection as the connections page shows it.
    pub async fn connection(&self, id: ConnectionId) -> Result<ConnectionView> {
        let record = self
            .store
            .connection(id)?
            .ok_or_else(|| no_such_connection(id))?;
        let registration = self.registration_record(record.registration_id)?;
        Ok(self.connection_view(&record, summary_of(&registration)))
    }

    fn sign_in_view(&self, record: &RegistrationRecord) -> SignInView {
        let waiting = self.attempts.inspect(&record.id, |a| SignInState::Waiting {
            authorize_url: a.authorize_url.clone(),
            transport: a.transport,
            expires_at: a.expires_at,
            reconnecting: a.context.reconnect,
            hints: a.context.hints.clone(),
        });
        let state = waiting
            .or_else(|| self.connect_window_state(record.id))
            .unwrap_or(SignInState::Ready);
        SignInView {
            registration: summary_of(record),
            state,
            last_error: self.store.sign_in_problem(record.id).ok().flatten(),
        }
    }

    fn connection_view(
        &self,
        record: &ConnectionRecord,
        registration: RegistrationSummary,
    ) -> ConnectionView {
        let health = self.health(record.id);
        let state = match (&record.reconnect_reason, health.keyring, health.unreachable) {
            (Some(reason), _, _) => ConnectionState::ReconnectNeeded {
                reason: reason.clone(),
            },
            (None, Some(message), _) => ConnectionState::KeyringUnavailable { message },
            (None, None, Some(down)) if down.rate_limited => ConnectionState::RateLimited {
                message: down.message,
                retry_at: down.retry_at,
            },
            (None, None, Some(down)) => ConnectionState::Unreachable {
                message: down.message,
                retry_at: down.retry_at,
            },
            (None, None, None) => ConnectionState::Connected,
        };
        ConnectionView {
            id: record.id,
            provider: record.provider,
            registration,
            account: AccountSummary {
                account_id: record.account_id.clone(),
                username: record.username.clone(),
                connected_at: record.connected_at,
            },
            credential: record.credential,
            state,
            token_expires_at: record.token_expires_at,
            last_error: health.last_error,
        }
    }

    /// Tells the host how the connections look now.
    pub(crate) async fn announce(&self) {
        match self.overview() {
            Ok(overview) => self.host.emit(ServiceEvent::ConnectionsChanged(overview)),
            Err(err) => self.host.emit(ServiceEvent::Notice(err)),
        }
    }

    /// The connection's token keeper, made on first use.
    fn keeper(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Arc<TokenKeeper> {
        self.keepers
            .lock()
            .unwrap()
            .entry(connection.id)
            .or_insert_with(|| {
                let account = registration.account(&connection.account_id);
                // One lock file per connection, named like its token entry.
                let name = datalinks_vault::SecretOwner::Account(&account)
                    .key(datalinks_vault::SecretKind::Tokens)
                    .replace('/', "-");
                let lock_file = self.data_dir.join("locks").join(format!("{name}.lock"));
                Arc::new(TokenKeeper::new(
                    account,
                    self.vault.clone(),
                    Some(lock_file),
                ))
            })
            .clone()
    }

    /// The connection's personal token, read from the keyring once.
    async fn personal_token(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Result<PersonalToken> {
        if let Some(token) = self.personal_tokens.lock().unwrap().get(&connection.id) {
            return Ok(token.clone());
        }
        let account = registration.account(&connection.account_id);
        let token = self
            .vault_call(move |vault| vault.personal_token(&account))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ReconnectNeeded,
                    "The personal token of this connection is no longer in the keyring. Paste it again in Settings.",
                )
            })?;
        self.personal_tokens
            .lock()
            .unwrap()
            .insert(connection.id, token.clone());
        Ok(token)
    }

    /// Runs a provider API call for a connection with a valid credential: its personal token
    /// as is, else an access token, renewed when it is about to expire or the provider rejects
    /// it. Retries briefly when the provider is unreachable, and records the outcome in the
    /// connection's state. Its requests go to the audit log as caused by `action`, unless the work
    /// around it named another cause.
    pub(crate) async fn with_token<T, E, F, Fut>(
        self: &Arc<Self>,
        id: ConnectionId,
        action: &'static str,
        call: F,
    ) -> Result<T>
    where
        E: ProviderFailure,
        F: Fn(Credential) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (registration, connection) = match self.connection_for_use(id).await {
            Ok(found) => found,
            Err(error) => {
                self.record_outcome(id, Some(&Failure::from(error.clone())))
                    .await;
                return Err(error);
            }
        };
        let subject = crate::audit::connection_subject(&registration.record, &connection);
        let outcome = self
            .audit
            .scope(
                subject,
                datalinks_http::audit::default_action(
                    action,
                    RetryPolicy::REQUEST.run(|| self.call_once(&registration, &connection, &call)),
                ),
            )
            .await;
        self.record_outcome(id, outcome.as_ref().err()).await;
        outcome.map_err(|failure| failure.error)
    }

    async fn call_once<T, E, F, Fut>(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
        call: &F,
    ) -> Result<T, Failure>
    where
        E: ProviderFailure,
        F: Fn(Credential) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if connection.credential == CredentialKind::PersonalToken {
            let token = self.personal_token(registration, connection).await?;
            return call(Credential::PersonalToken(token))
                .await
                .map_err(Failure::from_provider);
        }
        let token = self.access_token(registration, connection, None).await?;
        match call(Credential::OAuth(token.clone())).await {
            Err(err) if err.token_rejected() => {
                let token = self
                    .access_token(registration, connection, Some(&token))
                    .await?;
                call(Credential::OAuth(token))
                    .await
                    .map_err(Failure::from_provider)
            }
            Err(err)
                if err.token_unrecognized() && self.can_refresh(registration, connection).await =>
            {
                // A refresh tells a token that only expired from one that was withdrawn or
                // replaced; when it fails, the provider's own answer says more.
                match self
                    .access_token(registration, connection, Some(&token))
                    .await
                {
                    Ok(token) => call(Credential::OAuth(token))
                        .await
                        .map_err(Failure::from_provider),
                    Err(renewal) if renewal.code == ErrorCode::ReconnectNeeded => {
                        Err(Failure::from_provider(err))
                    }
                    Err(renewal) => Err(renewal.into()),
                }
            }
            other => other.map_err(Failure::from_provider),
        }
    }

    /// Whether the connection holds a refresh token its registration can use.
    async fn can_refresh(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> bool {
        let has_refresh_token = matches!(
            self.keeper(registration, connection).current().await,
            Ok(Some(tokens)) if tokens.refresh_token.is_some()
        );
        has_refresh_token && connection.credential == CredentialKind::OAuth
    }

    /// A valid access token from the connection's keeper, renewed when about to expire or
    /// after the provider rejected `rejected`: refreshed with the registration's own client,
    /// or minted by providers that mint.
    async fn access_token(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
        rejected: Option<&AccessToken>,
    ) -> Result<AccessToken> {
        let keeper = self.keeper(registration, connection);
        let adapter = adapter(connection.provider);
        if connection.credential == CredentialKind::Minted {
            let mint = || {
                datalinks_http::audit::action(actions::REFRESH, async {
                    adapter
                        .mint(self, registration, connection)
                        .await
                        .unwrap_or_else(|| {
                            Err(Error::internal(
                                "a minted connection of a provider that does not mint",
                            ))
                        })
                })
            };
            return match rejected {
                None => keeper.access_token_minting(mint).await,
                Some(token) => {
                    keeper
                        .access_token_minting_after_rejection(token, mint)
                        .await
                }
            };
        }
        let refresh = |token| {
            datalinks_http::audit::action(actions::REFRESH, async move {
                let client = self.oauth_client(registration).await?;
                client
                    .refresh(&token)
                    .await
                    .map_err(|err| datalinks_oauth::refresh_failed(connection.provider, err))
            })
        };
        match rejected {
            None => keeper.access_token(refresh).await,
            Some(token) => keeper.access_token_after_rejection(token, refresh).await,
        }
    }

    /// Updates the stored and live state after an authenticated call, and schedules a
    /// background retry when the provider was unreachable.
    async fn record_outcome(self: &Arc<Self>, id: ConnectionId, failure: Option<&Failure>) {
        let retry_after = failure.and_then(|f| f.retry_after);
        match failure.map(|f| &f.error) {
            None => {
                // A healthy call changes nothing unless it ended a problem or renewed the
                // token: say so only then, so long runs of calls stay quiet.
                let mut recovered = false;
                self.update_health(id, |h| recovered = std::mem::take(h) != Health::default());
                let stored = self
                    .store
                    .connection(id)
                    .ok()
                    .flatten()
                    .and_then(|c| c.token_expires_at);
                let keeper = self.keepers.lock().unwrap().get(&id).cloned();
                let current = match keeper {
                    Some(keeper) => keeper
                        .current()
                        .await
                        .ok()
                        .flatten()
                        .and_then(|t| t.expires_at),
                    None => None,
                };
                if current.is_some() && current != stored {
                    let _ = self.store.set_token_expiry(id, current);
                } else if !recovered {
                    return;
                }
            }
            Some(err) if err.code == ErrorCode::ReconnectNeeded => {
                if let Ok(Some(connection)) = self.store.connection(id) {
                    let _ = self.store.set_reconnect_reason(id, Some(&err.message));
                    if let Ok(registration) = self.registration_record(connection.registration_id) {
                        let scope = datalinks_store::EventScope {
                            provider: registration.provider,
                            registration: Some(registration.id),
                            connection: Some(id),
                        };
                        let _ = self
                            .store
                            .record_event(scope, "reconnect_needed", &err.message);
                    }
                }
            }
            Some(err) if err.code == ErrorCode::KeyringUnavailable => {
                self.update_health(id, |h| h.keyring = Some(err.message.clone()));
            }
            Some(err) if matches!(err.code, ErrorCode::Unreachable | ErrorCode::RateLimited) => {
                let mut retry_in = BACKGROUND_RETRY_FIRST_SECS;
                self.update_health(id, |h| {
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
                self.schedule_retry(id, Duration::from_secs(retry_in as u64));
            }
            // Anything else stays on the card until the next success.
            Some(err) => self.set_last_error(id, Some(err.clone())),
        }
        self.announce().await;
    }

    /// Checks the connection again after `delay`, unless something else already did. Boxed
    /// with an explicit `Send` because the check can schedule the next one (recursion).
    fn schedule_retry(self: &Arc<Self>, id: ConnectionId, delay: Duration) {
        let service = Arc::clone(self);
        let check: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
            tokio::time::sleep(delay).await;
            if service.health(id).unreachable.is_some() {
                let _ = datalinks_http::audit::action(actions::RETRY, service.check(id)).await;
            }
        });
        tokio::spawn(check);
    }

    /// Re-checks a connection now: reads the keyring again and calls the provider.
    pub async fn retry(self: &Arc<Self>, id: ConnectionId) -> Result<ConnectionsOverview> {
        let record = self
            .store
            .connection(id)?
            .ok_or_else(|| no_such_connection(id))?;
        self.forget_connection_state(id);
        self.forget_cached(record.registration_id);
        if record.reconnect_reason.is_none() {
            // The outcome is recorded in the connection's state, which is what we return.
            let _ = datalinks_http::audit::action(actions::RETRY, self.check(id)).await;
        }
        self.overview()
    }

    /// One authenticated call that shows whether the connection works.
    async fn check(self: &Arc<Self>, id: ConnectionId) -> Result<()> {
        let record = self
            .store
            .connection(id)?
            .ok_or_else(|| no_such_connection(id))?;
        adapter(record.provider).check(self, id).await
    }
}
