//! Human API: Connect in its own window, the sources the person linked there, the Data API
//! viewer, and the legacy 1.x finalize flow.
//!
//! Every token is minted here. The only one that leaves Rust is the short-lived session (3600 s)
//! or id (86400 s) token Connect opens with, and it goes only to the Connect window (the shell
//! puts it in that page's URL fragment), never to the main UI or over IPC. Connect's results come
//! back over an untrusted channel, so [`Datalinks::apply_connect_event`] accepts them only for the
//! Connect window that is open, and only in the exact documented shape.

use crate::audit::actions;
use crate::providers::HumanApi;
use crate::registrations::Registration;
use crate::{
    wrong_provider, Datalinks, HapiActivity, HapiPage, HapiProfile, HapiReport, HapiSource,
    SavedReport,
};
use datalinks_core::{
    now_unix, ConnectionId, CredentialKind, Error, ErrorCode, Provider, PublicToken,
    RegistrationId, Result, SecretString, SignInState, SignInTarget,
};
use datalinks_humanapi::{
    self as hapi, CloseStatus, ConnectOutcome, ConnectToken, HumanApiError, PageRequest,
    ReportFormat, SourceRef, WellnessList,
};
use datalinks_oauth::random_state;
use datalinks_store::{ConnectedSource, ConnectionRecord, EventScope, NewConnection};
use datalinks_vault::TokenSet;
use std::path::Path;
use std::sync::Arc;
use url::Url;

/// Items per page of the reports and the wellness list.
pub const HAPI_PAGE_SIZE: u32 = 25;

/// The Connect window reports each result by navigating here; Rust intercepts the navigation
/// and it never happens. `.invalid` is reserved and can never resolve (RFC 2606).
pub const CONNECT_RESULT_URL: &str = "https://datalinks.invalid/connect-result";

/// Where production Connect frames its page (docs/providers/human-api.md, "Connect").
const CONNECT_PAGE_ORIGIN: &str = "https://hapi-connect.humanapi.co";

/// Longest a Connect window is listened to, even when its token lives longer (id tokens).
const CONNECT_WINDOW_SECS: i64 = 3600;

/// The Connect window that is open: its results are accepted only under this id, until it
/// closes or expires, and only for the person it was opened for.
#[derive(Debug, Clone)]
pub(crate) struct ConnectAttempt {
    id: String,
    expires_at: i64,
    registration: RegistrationId,
    /// Our id of the person at Human API: the connection's account id.
    client_user_id: String,
    email: Option<String>,
    /// The connection this window links more sources for, if any.
    reconnect: Option<ConnectionId>,
    /// From the session token; an id token (returning user) does not say.
    human_id: Option<String>,
    /// Connect 1.x, which reports `finish` and `close` instead of the 2.x events.
    legacy: bool,
    /// Results of this window refused so far.
    refused: u32,
}

/// What the shell needs to open the Connect window. Not serializable: it holds the token.
#[derive(Debug)]
pub struct ConnectLaunch {
    pub attempt_id: String,
    /// Whom the window links: our id of the person at Human API (not secret).
    pub client_user_id: String,
    pub widget: ConnectWidget,
    pub script_url: Url,
    /// Origins the window may load besides its own page: the script's and Connect's page.
    pub allowed_origins: Vec<url::Origin>,
    pub expires_at: i64,
}

/// How the Connect window's page opens Connect; for the Connect window only.
#[derive(Debug)]
pub enum ConnectWidget {
    /// Connect 2.x with a session or id token.
    Current { token: SecretString },
    /// Connect 1.x: `HumanConnect.open({clientId, clientUserId, publicToken, finish, close})`,
    /// with the public token of the last finalize (empty for a new user).
    Legacy {
        client_id: String,
        client_user_id: String,
        public_token: Option<PublicToken>,
    },
}

impl ConnectLaunch {
    /// The page's parameters (for its URL fragment): `token=…`, or for Connect 1.x
    /// `flow=legacy&clientId=…&clientUserId=…&publicToken=…`.
    pub fn page_parameters(&self) -> String {
        let mut parameters = url::form_urlencoded::Serializer::new(String::new());
        match &self.widget {
            ConnectWidget::Current { token } => parameters.append_pair("token", token.expose()),
            ConnectWidget::Legacy {
                client_id,
                client_user_id,
                public_token,
            } => parameters
                .append_pair("flow", "legacy")
                .append_pair("clientId", client_id)
                .append_pair("clientUserId", client_user_id)
                .append_pair(
                    "publicToken",
                    public_token.as_ref().map_or("", PublicToken::expose),
                ),
        };
        parameters.finish()
    }
}

/// How Connect opens for a new attempt.
struct Opening {
    widget: ConnectWidget,
    human_id: Option<String>,
    expires_at: i64,
    /// For the history: which Connect, with what.
    described: &'static str,
}

impl Datalinks {
    fn hapi_config(
        registration: &Registration,
        client_secret: datalinks_core::ClientSecret,
    ) -> Result<hapi::Config> {
        let options = HumanApi::options(&registration.settings)?;
        let parse = |raw: &str| {
            Url::parse(raw).map_err(|e| Error::invalid_input(format!("{raw:?} is not a URL: {e}")))
        };
        Ok(hapi::Config {
            auth_base_url: parse(&options.auth_url)?,
            legacy_base_url: parse(&options.legacy_url)?,
            data_api_url: parse(&options.data_api_url)?,
            connect_script_url: parse(&options.connect_script_url)?,
            legacy_connect_script_url: parse(&options.legacy_connect_script_url)?,
            client_id: registration.settings.client_id.clone(),
            client_secret,
        })
    }

    /// The registration's auth service client, with its client secret.
    async fn hapi_auth(&self, registration: &Registration) -> Result<hapi::AuthClient> {
        let secret = self.required_client_secret(registration).await?;
        hapi::AuthClient::new(self.http.clone(), Self::hapi_config(registration, secret)?)
    }

    /// The Data API of a Human API connection's registration.
    async fn hapi_data_api(&self, connection: ConnectionId) -> Result<hapi::DataApi> {
        let (registration, record) = self.connection_for_use(connection).await?;
        if record.provider != Provider::HumanApi {
            return Err(wrong_provider(record.provider, Provider::HumanApi));
        }
        let url = Url::parse(&HumanApi::options(&registration.settings)?.data_api_url)
            .map_err(|e| Error::invalid_input(format!("The Data API URL is not a URL: {e}")))?;
        hapi::DataApi::new(self.http.clone(), url)
    }

    /// A new access token (type access, 86400 s) for the connection's person.
    pub(crate) async fn hapi_mint_access_token(
        &self,
        registration: &Registration,
        connection: &ConnectionRecord,
    ) -> Result<TokenSet> {
        if HumanApi::options(&registration.settings)?.legacy_flow {
            return Err(Error::new(
                ErrorCode::ReconnectNeeded,
                "The legacy Human API access token was refused: connect through Connect 1.x and finalize again.",
            ));
        }
        let auth = self.hapi_auth(registration).await?;
        let access = auth.access_token(&connection.account_id).await?;
        Ok(TokenSet {
            access_token: access.token,
            refresh_token: access.refresh_token,
            expires_at: Some(access.expires_at),
            scope: None,
        })
    }

    /// Opens a Connect attempt for a new person (the email in the registration's settings; one
    /// of its connections when it is already theirs) or for an existing connection: mints a
    /// session token, or an id token when Human API says the person already connected a source
    /// (HTTP 403); with the legacy flow, Connect 1.x opens with the person's public token
    /// instead. Any earlier attempt is retired.
    pub async fn hapi_start_connect(
        self: &Arc<Self>,
        target: SignInTarget,
    ) -> Result<ConnectLaunch> {
        let (registration, reconnect) = self.sign_in_target(target).await?;
        if registration.record.provider != Provider::HumanApi {
            return Err(wrong_provider(
                registration.record.provider,
                Provider::HumanApi,
            ));
        }
        let options = HumanApi::options(&registration.settings)?.clone();
        // The person the window is for: the connection given, or the registration's
        // connection of the email the settings name, or someone new.
        let person = match reconnect {
            Some(connection) => Some(connection),
            None => {
                let email = options.email.as_deref().ok_or_else(|| {
                    Error::invalid_input(
                        "Enter the email of the person to link in the Human API settings first.",
                    )
                })?;
                self.store
                    .connections(datalinks_store::ConnectionFilter::Registration(
                        registration.id(),
                    ))?
                    .into_iter()
                    .find(|c| c.username.as_deref() == Some(email))
            }
        };
        let (client_user_id, email) = match &person {
            Some(connection) => (connection.account_id.clone(), connection.username.clone()),
            None => {
                let email = options.email.clone().unwrap_or_default();
                (client_user_id_for(&registration, &email), Some(email))
            }
        };
        let auth = self.hapi_auth(&registration).await?;
        let opening = async {
            if options.legacy_flow {
                self.open_legacy(&auth, &registration, person.as_ref(), &client_user_id)
                    .await
            } else {
                self.open_current(&auth, &client_user_id, email.clone())
                    .await
            }
        };
        let opened = self
            .audited_at(
                Some(registration.id()),
                person.as_ref().map(|c| c.id),
                actions::CONNECT,
                opening,
            )
            .await;
        let Opening {
            widget,
            human_id,
            expires_at,
            described,
        } = match opened {
            Ok(opening) => opening,
            Err(err) => {
                self.set_sign_in_error(registration.id(), Some(err.clone()));
                self.announce().await;
                return Err(err);
            }
        };
        let attempt = ConnectAttempt {
            id: random_state(),
            expires_at,
            registration: registration.id(),
            client_user_id,
            email,
            reconnect: person.map(|c| c.id),
            human_id,
            legacy: options.legacy_flow,
            refused: 0,
        };
        *self.connect_window.lock().unwrap() = Some(attempt.clone());
        self.set_sign_in_error(registration.id(), None);
        self.store.record_event(
            self.registration_scope(&registration),
            "connect_opened",
            &format!("Opened Human API {described}."),
        )?;
        self.announce().await;
        let config = auth.config();
        let script_url = if attempt.legacy {
            config.legacy_connect_script_url.clone()
        } else {
            config.connect_script_url.clone()
        };
        let mut allowed_origins = vec![script_url.origin()];
        let page_origin = Url::parse(CONNECT_PAGE_ORIGIN)
            .expect("constant URL")
            .origin();
        if !attempt.legacy && !allowed_origins.contains(&page_origin) {
            allowed_origins.push(page_origin);
        }
        Ok(ConnectLaunch {
            attempt_id: attempt.id,
            client_user_id: attempt.client_user_id,
            widget,
            script_url,
            allowed_origins,
            expires_at: attempt.expires_at,
        })
    }

    /// Connect 2.x: a session token, or an id token once the person connected a source.
    async fn open_current(
        &self,
        auth: &hapi::AuthClient,
        client_user_id: &str,
        email: Option<String>,
    ) -> Result<Opening> {
        let email = email.ok_or_else(|| {
            Error::invalid_input(
                "Enter the email of the person to link in the Human API settings first.",
            )
        })?;
        let token = auth.connect_token(client_user_id, &email).await?;
        let (human_id, described) = match &token {
            ConnectToken::Session { human_id, .. } => (
                Some(human_id.clone()),
                "Connect with a session token (new user)",
            ),
            ConnectToken::Id { .. } => (
                None,
                "Connect with an id token (a source is already connected)",
            ),
        };
        Ok(Opening {
            expires_at: token.expires_at().min(now_unix() + CONNECT_WINDOW_SECS),
            widget: ConnectWidget::Current {
                token: token.token().clone(),
            },
            human_id,
            described,
        })
    }

    /// Connect 1.x: no token is minted; it opens with the connection's kept public token,
    /// recovered first when the keyring lost it.
    async fn open_legacy(
        &self,
        auth: &hapi::AuthClient,
        registration: &Registration,
        connection: Option<&ConnectionRecord>,
        client_user_id: &str,
    ) -> Result<Opening> {
        let human_id = connection.and_then(human_id_of);
        let public_token = match connection {
            None => None,
            Some(connection) => {
                let account = registration.account(&connection.account_id);
                let kept = self
                    .vault_call(move |vault| vault.public_token(&account))
                    .await?;
                match (kept, &human_id) {
                    (None, Some(human_id)) => Some(
                        self.recover_public_token(auth, registration, connection, human_id)
                            .await?,
                    ),
                    (kept, _) => kept,
                }
            }
        };
        Ok(Opening {
            widget: ConnectWidget::Legacy {
                client_id: registration.settings.client_id.clone(),
                client_user_id: client_user_id.to_owned(),
                public_token,
            },
            human_id,
            expires_at: now_unix() + CONNECT_WINDOW_SECS,
            described: "Connect 1.x (legacy flow)",
        })
    }

    /// The registration's Connect window as a sign-in state, while one is open.
    pub(crate) fn connect_window_state(&self, registration: RegistrationId) -> Option<SignInState> {
        let now = now_unix();
        self.connect_window
            .lock()
            .unwrap()
            .as_ref()
            .filter(|a| a.registration == registration && a.expires_at >= now)
            .map(|a| SignInState::ConnectWindowOpen {
                expires_at: a.expires_at,
                reconnecting: a.reconnect,
            })
    }

    /// Ends the registration's Connect attempt without a result; returns whether one was open.
    pub(crate) fn end_connect_window_of(&self, registration: RegistrationId) -> bool {
        let mut open = self.connect_window.lock().unwrap();
        let ours = open
            .as_ref()
            .is_some_and(|a| a.registration == registration);
        ours && open.take().is_some()
    }

    /// Ends a Connect attempt that links more sources for `connection`.
    pub(crate) fn end_connect_window_for(&self, connection: ConnectionId) {
        let mut open = self.connect_window.lock().unwrap();
        if open
            .as_ref()
            .is_some_and(|a| a.reconnect == Some(connection))
        {
            open.take();
        }
    }

    /// Ends the open Connect attempt, whatever it was for.
    fn end_connect_window(&self) {
        self.connect_window.lock().unwrap().take();
    }

    fn attempt_scope(&self, attempt: &ConnectAttempt) -> EventScope {
        EventScope {
            provider: Provider::HumanApi,
            registration: Some(attempt.registration),
            connection: attempt.reconnect,
        }
    }

    /// The Connect window of `attempt_id` was closed: its attempt ends, unless a result already
    /// ended it or a newer window replaced it.
    pub async fn hapi_connect_window_closed(&self, attempt_id: &str) {
        let ended = {
            let mut open = self.connect_window.lock().unwrap();
            let ours = open.as_ref().is_some_and(|a| a.id == attempt_id);
            if ours {
                open.take()
            } else {
                None
            }
        };
        if let Some(attempt) = ended {
            let _ = self.store.record_event(
                self.attempt_scope(&attempt),
                "connect_cancelled",
                "The Human API Connect window was closed before Connect reported back.",
            );
            self.announce().await;
        }
    }

    /// Whether results of the Connect window `attempt_id` are still accepted; once not, the
    /// window has nothing left to do.
    pub fn hapi_connect_attempt_open(&self, attempt_id: &str) -> bool {
        self.open_attempt(attempt_id).is_ok()
    }

    /// Whether a navigation of the Connect window goes to [`CONNECT_RESULT_URL`].
    pub fn is_connect_result(url: &Url) -> bool {
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        bare.as_str() == CONNECT_RESULT_URL
    }

    /// Applies one navigation of the Connect window to [`CONNECT_RESULT_URL`]:
    /// `?kind=connect|disconnect|close&event=<JSON payload>`.
    pub async fn apply_connect_result(self: &Arc<Self>, attempt_id: &str, url: &Url) -> Result<()> {
        let refused = |why: &str| {
            Error::new(
                ErrorCode::CallbackRefused,
                format!("A Human API Connect result was refused: {why}."),
            )
        };
        // Percent-encoding at most triples the payload; refuse anything longer before decoding.
        if url.as_str().len() > 3 * hapi::MAX_CONNECT_EVENT_BYTES + 256 {
            return Err(refused("it is too large"));
        }
        let (mut kind, mut event) = (None, None);
        for (name, value) in url.query_pairs() {
            let slot = match name.as_ref() {
                "kind" => &mut kind,
                "event" => &mut event,
                _ => return Err(refused("it carries an unknown parameter")),
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(refused("it repeats a parameter"));
            }
        }
        match (kind, event) {
            (Some(kind), Some(event)) => self.apply_connect_event(attempt_id, &kind, &event).await,
            _ => Err(refused("it lacks its kind or event")),
        }
    }

    /// Records one Connect event for the open Connect window `attempt_id`: `connect`,
    /// `disconnect` or `close` from Connect 2.x, `finish`, `error` or `close` from Connect 1.x,
    /// with `json` its payload. Refused when no such window is open or the payload is not
    /// exactly the documented shape; closing ends the attempt.
    pub async fn apply_connect_event(
        self: &Arc<Self>,
        attempt_id: &str,
        kind: &str,
        json: &str,
    ) -> Result<()> {
        let attempt = self.open_attempt(attempt_id);
        let outcome = match &attempt {
            Ok(attempt) => {
                let recording = async {
                    if attempt.legacy {
                        self.record_legacy_event(attempt, kind, json).await
                    } else {
                        self.record_connect_event(attempt, kind, json).await
                    }
                };
                self.audited_at(
                    Some(attempt.registration),
                    attempt.reconnect,
                    actions::CONNECT,
                    recording,
                )
                .await
            }
            Err(err) => Err(err.clone()),
        };
        if let (Err(err), Ok(attempt)) = (&outcome, &attempt) {
            self.refused_result(attempt, err);
        }
        self.announce().await;
        outcome
    }

    /// Counts a refused result of the open window. Script in that window can send any number:
    /// the first goes to the history, and the log hears of the count as it doubles, never of
    /// the content.
    fn refused_result(&self, attempt: &ConnectAttempt, err: &Error) {
        let count = {
            let mut open = self.connect_window.lock().unwrap();
            match open.as_mut().filter(|a| a.id == attempt.id) {
                Some(open) => {
                    open.refused += 1;
                    open.refused
                }
                None => attempt.refused + 1,
            }
        };
        if count == 1 {
            let _ = self.store.record_event(
                self.attempt_scope(attempt),
                "connect_event_refused",
                &format!(
                    "Refused a result from the Human API Connect window ({}).",
                    err.code.as_str()
                ),
            );
        }
        if count.is_power_of_two() {
            log::warn!(
                "Human API Connect: {count} result(s) from the window refused so far (last: {})",
                err.code.as_str()
            );
        }
        self.set_sign_in_error(attempt.registration, Some(err.clone()));
    }

    fn open_attempt(&self, attempt_id: &str) -> Result<ConnectAttempt> {
        self.connect_window
            .lock()
            .unwrap()
            .clone()
            .filter(|a| a.id == attempt_id && a.expires_at >= now_unix())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::StateMismatch,
                    "This Human API Connect result does not belong to the Connect window Datalinks has open (it may be old, already closed, or not from Connect). Nothing was changed.",
                )
            })
    }

    /// Connect 1.x ends with `finish(err, sessionTokenObject)` once the person connected a
    /// source (docs/providers/human-api.md, "The legacy Connect 1.x flow"), or with `close()`.
    /// The object is finalized with the client secret, so a forged one gains nothing: Human API
    /// verifies its session token.
    async fn record_legacy_event(
        self: &Arc<Self>,
        attempt: &ConnectAttempt,
        kind: &str,
        json: &str,
    ) -> Result<()> {
        match kind {
            "finish" => {
                let connection = self.hapi_finalize_legacy(attempt, json).await?;
                self.end_connect_window();
                // `finish` does not say which sources; the Data API does.
                self.hapi_sources(connection).await.map(drop)
            }
            "error" => {
                let message = serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let shown: String = message.chars().take(200).collect();
                // `finish` ends Connect 1.x, with an error as without ([INF]).
                self.end_connect_window();
                let error = Error::new(
                    ErrorCode::ProviderError,
                    format!("Human API Connect 1.x ended with an error: {shown}"),
                );
                self.set_sign_in_error(attempt.registration, Some(error.clone()));
                self.store
                    .record_event(self.attempt_scope(attempt), "connect_closed", &error.message)
            }
            "close" => {
                self.end_connect_window();
                self.store.record_event(
                    self.attempt_scope(attempt),
                    "connect_closed",
                    "Human API Connect 1.x was closed.",
                )
            }
            _ => Err(Error::new(
                ErrorCode::CallbackRefused,
                "A Human API Connect 1.x result was refused: Connect 1.x reports only finish, error and close.",
            )),
        }
    }

    async fn record_connect_event(
        self: &Arc<Self>,
        attempt: &ConnectAttempt,
        kind: &str,
        json: &str,
    ) -> Result<()> {
        let event = hapi::parse_connect_event(kind, json)?;
        let names = |sources: &[SourceRef]| {
            sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match event.outcome {
            ConnectOutcome::SourceConnected | ConnectOutcome::SourceDisconnected => {
                let connection = self.confirm_sources(attempt).await?;
                let (kind, verb, changed) = match event.outcome {
                    ConnectOutcome::SourceConnected => {
                        ("source_connected", "Connected", &event.connected_sources)
                    }
                    _ => (
                        "source_disconnected",
                        "Disconnected",
                        &event.disconnected_sources,
                    ),
                };
                self.set_sign_in_error(attempt.registration, None);
                let scope = EventScope {
                    connection: connection.or(attempt.reconnect),
                    ..self.attempt_scope(attempt)
                };
                self.store.record_event(
                    scope,
                    kind,
                    &format!("{verb} {} in Human API Connect.", names(changed)),
                )
            }
            ConnectOutcome::Closed(status) => {
                self.end_connect_window();
                let message = match status {
                    CloseStatus::Success => {
                        let connection = self.confirm_sources(attempt).await?;
                        self.set_sign_in_error(attempt.registration, None);
                        let scope = EventScope {
                            connection: connection.or(attempt.reconnect),
                            ..self.attempt_scope(attempt)
                        };
                        return self.store.record_event(
                            scope,
                            "connect_closed",
                            &format!(
                                "Human API Connect was closed; {} source(s) connected.",
                                event.current_connections.len()
                            ),
                        );
                    }
                    CloseStatus::SessionTokenExpired => {
                        "Human API Connect closed because its session expired. Open Connect again."
                    }
                    CloseStatus::SessionTokenInvalid => {
                        "Human API Connect did not accept its session token. Open Connect again."
                    }
                    CloseStatus::MissingSessionToken => {
                        "Human API Connect opened without a session token. Open Connect again."
                    }
                };
                let error = Error::new(ErrorCode::ProviderError, message);
                self.set_sign_in_error(attempt.registration, Some(error));
                self.store
                    .record_event(self.attempt_scope(attempt), "connect_closed", message)
            }
        }
    }

    /// What a Connect result says, as the Data API confirms it: the window's own report is
    /// untrusted, so the person's sources are stored as Human API lists them, and the person
    /// becomes a connection only once Human API issues an access token for them (which it does
    /// only with a source connected). Returns the connection, once it exists.
    async fn confirm_sources(
        self: &Arc<Self>,
        attempt: &ConnectAttempt,
    ) -> Result<Option<ConnectionId>> {
        let existing = self
            .store
            .connection_of(attempt.registration, &attempt.client_user_id)?;
        let connection = match existing {
            Some(id) => id,
            None => {
                let registration = self.registration(attempt.registration).await?;
                let auth = self.hapi_auth(&registration).await?;
                let access = match auth.access_token(&attempt.client_user_id).await {
                    Ok(access) => access,
                    Err(HumanApiError::NoConnectedSource) => return Ok(None),
                    Err(err) => return Err(err.into()),
                };
                let account = registration.account(&attempt.client_user_id);
                let tokens = TokenSet {
                    access_token: access.token,
                    refresh_token: access.refresh_token,
                    expires_at: Some(access.expires_at),
                    scope: None,
                };
                self.vault_call(move |vault| vault.set_tokens(&account, &tokens))
                    .await?;
                self.store.save_connection(&NewConnection {
                    registration_id: attempt.registration,
                    account_id: attempt.client_user_id.clone(),
                    username: attempt.email.clone(),
                    credential: CredentialKind::Minted,
                    details: serde_json::json!({ "human_id": attempt.human_id }).to_string(),
                    token_expires_at: Some(access.expires_at),
                })?
            }
        };
        self.hapi_sources(connection).await?;
        Ok(Some(connection))
    }

    /// The sources the person linked, as the Data API last listed them.
    pub fn hapi_connected_sources(&self, connection: ConnectionId) -> Result<Vec<ConnectedSource>> {
        self.store.connection_sources(connection)
    }

    pub async fn hapi_profile(self: &Arc<Self>, connection: ConnectionId) -> Result<HapiProfile> {
        let api = self.hapi_data_api(connection).await?;
        let profile = self
            .with_token(connection, actions::HEALTH_DATA_VIEW, |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(HumanApiError::Failed)?;
                    api.profile(token).await
                }
            })
            .await?;
        Ok(HapiProfile {
            human_id: profile.human_id,
            email: profile.email,
            created_at: profile.created_at,
            updated_at: profile.updated_at,
        })
    }

    /// Every connected source with its sync status; also brings the stored list up to date.
    pub async fn hapi_sources(
        self: &Arc<Self>,
        connection: ConnectionId,
    ) -> Result<Vec<HapiSource>> {
        let api = self.hapi_data_api(connection).await?;
        let sources = self
            .with_token(connection, actions::HEALTH_DATA_VIEW, |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(HumanApiError::Failed)?;
                    api.sources(token).await
                }
            })
            .await?;
        let stored: Vec<ConnectedSource> = sources
            .iter()
            .map(|s| ConnectedSource {
                id: s.id.clone(),
                name: s.source_name.clone(),
            })
            .collect();
        self.store.replace_connection_sources(connection, &stored)?;
        if !stored.is_empty() {
            // Human API lists a source: what it issues access for. Only this can end a
            // "reconnect needed", never a report of the Connect window.
            self.store.set_reconnect_reason(connection, None)?;
        }
        Ok(sources
            .into_iter()
            .map(|s| HapiSource {
                id: s.id,
                source: s.source,
                name: s.source_name,
                connected_since: s.connected_since,
                history_sync: s.history_sync.status,
                oldest_date: s.history_sync.oldest_date,
                sync_status: s.sync_status.status,
                sync_details: s.sync_status.details,
                synched_at: s.sync_status.synched_at,
                newest_date: s.sync_status.newest_date,
            })
            .collect())
    }

    /// The person's medical reports, from `offset`.
    pub async fn hapi_reports(
        self: &Arc<Self>,
        connection: ConnectionId,
        offset: u64,
    ) -> Result<HapiPage<HapiReport>> {
        let api = self.hapi_data_api(connection).await?;
        let page = self
            .with_token(connection, actions::HEALTH_DATA_VIEW, |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(HumanApiError::Failed)?;
                    api.reports(token, window(offset)).await
                }
            })
            .await?;
        Ok(page_of(page, |r| HapiReport {
            id: r.id,
            name: r.name,
            kind: r.kind,
            sources: r.sources.into_iter().map(|s| s.name).collect(),
            created_at: r.created_at,
        }))
    }

    /// Saves a report as PDF at `dest` (an absolute path); returns its size in bytes.
    pub async fn hapi_save_report_pdf(
        self: &Arc<Self>,
        connection: ConnectionId,
        report_id: &str,
        dest: &Path,
    ) -> Result<SavedReport> {
        if !dest.is_absolute() || dest.file_name().is_none() {
            return Err(Error::invalid_input(
                "Give the full path of the PDF file to write, for example /home/me/report.pdf.",
            ));
        }
        if !dest.parent().is_some_and(Path::is_dir) {
            return Err(Error::invalid_input(format!(
                "The folder of {} does not exist.",
                dest.display()
            )));
        }
        let api = self.hapi_data_api(connection).await?;
        let bytes = self
            .with_token(connection, actions::HEALTH_DATA_VIEW, |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(HumanApiError::Failed)?;
                    api.download_report(token, report_id, ReportFormat::Pdf, dest)
                        .await
                }
            })
            .await?;
        self.record_for(
            connection,
            "report_saved",
            &format!(
                "Saved report {report_id} as {} ({bytes} bytes).",
                dest.display()
            ),
        )?;
        Ok(SavedReport {
            path: dest.display().to_string(),
            bytes,
        })
    }

    /// The file name a save dialog suggests for a report's PDF.
    pub fn hapi_report_pdf_name(report_id: &str) -> String {
        let id: String = report_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(64)
            .collect();
        format!("human-api-report-{id}.pdf")
    }

    /// Daily activity summaries, newest first, from `offset`.
    pub async fn hapi_activities(
        self: &Arc<Self>,
        connection: ConnectionId,
        offset: u64,
    ) -> Result<HapiPage<HapiActivity>> {
        let api = self.hapi_data_api(connection).await?;
        let page = self
            .with_token(connection, actions::HEALTH_DATA_VIEW, |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(HumanApiError::Failed)?;
                    api.wellness(token, WellnessList::ActivitySummaries, window(offset))
                        .await
                }
            })
            .await?;
        Ok(page_of(page, |record| {
            let text = |field: &str| record.details.get(field).and_then(|v| v.as_str());
            let number = |field: &str| record.details.get(field).and_then(|v| v.as_u64());
            HapiActivity {
                date: text("date").unwrap_or(&record.created_at).to_owned(),
                steps: number("steps"),
                distance: number("distance"),
                calories: number("calories"),
                id: record.id,
                source: record.source,
            }
        }))
    }

    /// Legacy 1.x flow: signs the Connect 1.x popup's `sessionTokenObject` with the client
    /// secret and keeps the access token and the public token in the keyring, under the person
    /// the window was opened for.
    async fn hapi_finalize_legacy(
        self: &Arc<Self>,
        attempt: &ConnectAttempt,
        session_token_object: &str,
    ) -> Result<ConnectionId> {
        let registration = self.registration(attempt.registration).await?;
        let auth = self.hapi_auth(&registration).await?;
        let tokens = auth.finalize_legacy(session_token_object).await?;
        if tokens.client_user_id != attempt.client_user_id {
            return Err(Error::new(
                ErrorCode::CallbackRefused,
                "Human API finalized Connect 1.x for another person than the window was opened for; nothing was kept.",
            ));
        }
        let account = registration.account(&tokens.client_user_id);
        let (access_token, public_token) = (tokens.access_token, tokens.public_token);
        self.vault_call(move |vault| {
            // Legacy access tokens carry no lifetime: used until Human API refuses them.
            vault.set_tokens(
                &account,
                &TokenSet {
                    access_token,
                    refresh_token: None,
                    expires_at: None,
                    scope: None,
                },
            )?;
            vault.set_public_token(&account, &public_token)
        })
        .await?;
        let id = self.store.save_connection(&NewConnection {
            registration_id: registration.id(),
            account_id: tokens.client_user_id,
            username: attempt.email.clone(),
            credential: CredentialKind::Minted,
            details: serde_json::json!({ "human_id": tokens.human_id }).to_string(),
            token_expires_at: None,
        })?;
        self.forget_connection_state(id);
        self.set_sign_in_error(registration.id(), None);
        self.store.record_event(
            self.connection_scope(&registration, id),
            "connected",
            &format!(
                "Finalized the legacy Connect session of human {}.",
                tokens.human_id
            ),
        )?;
        self.announce().await;
        Ok(id)
    }

    /// Legacy 1.x flow: asks Human API for a new public token when the kept one is lost (the
    /// keyring entry was deleted), and keeps it.
    async fn recover_public_token(
        &self,
        auth: &hapi::AuthClient,
        registration: &Registration,
        connection: &ConnectionRecord,
        human_id: &str,
    ) -> Result<PublicToken> {
        let public_token = auth.recover_public_token(human_id).await?;
        let kept = public_token.clone();
        let account = registration.account(&connection.account_id);
        self.vault_call(move |vault| vault.set_public_token(&account, &kept))
            .await?;
        self.record_for(
            connection.id,
            "public_token_recovered",
            "The legacy public token was missing from the keyring; Human API issued a new one.",
        )?;
        Ok(public_token)
    }
}

/// Our id of the person with `email` at Human API, the same every time they are linked
/// through this registration, so connecting them again after a disconnect finds the person
/// (and their sources) Human API already has. A digest, so the id itself says nothing.
fn client_user_id_for(registration: &Registration, email: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(registration.identity.fingerprint().as_bytes());
    digest.update(b"\n");
    digest.update(email.trim().to_lowercase().as_bytes());
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.finalize());
    format!("datalinks-{}", &encoded[..22])
}

/// The humanId Human API gave for a connection's person, if it is known.
fn human_id_of(connection: &ConnectionRecord) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&connection.details)
        .ok()?
        .get("human_id")?
        .as_str()
        .map(str::to_owned)
}

fn window(offset: u64) -> PageRequest {
    PageRequest::new(HAPI_PAGE_SIZE, offset)
}

fn page_of<S, T>(page: hapi::Page<S>, item: impl Fn(S) -> T) -> HapiPage<T> {
    let next_offset = page.next_request().map(|next| next.offset());
    HapiPage {
        offset: page.request.offset(),
        total: page.total,
        items: page.items.into_iter().map(item).collect(),
        next_offset,
    }
}
