//! Signing in through the system browser: open the authorize page, take the redirect back
//! (loopback or deep link), exchange the code with the exact client the attempt started with,
//! learn who signed in, and keep the tokens under that account's name.

use crate::audit::actions;
use crate::providers::adapter;
use crate::registrations::Registration;
use crate::{Datalinks, ServiceEvent};
use datalinks_core::{
    AuthorizationCode, ConnectionId, ConnectionsOverview, CredentialKind, Error, ErrorCode,
    RegistrationId, Result, SignInTarget, Transport, WaitingHint,
};
use datalinks_oauth::{
    parse_callback, random_state, CallbackTarget, LoopbackListener, LoopbackReply, OAuthClient,
    PendingAttempt, PkceVerifier, Redirect, ATTEMPT_LIFETIME_SECS,
};
use datalinks_store::{ConnectionRecord, EventScope, NewConnection};
use datalinks_vault::TokenSet;
use std::sync::Arc;

/// The redirect URI of the deep-link transport.
pub const DEEP_LINK_REDIRECT_URI: &str = "datalinks://oauth/callback";

const PAGE_DONE: &str = "<!doctype html><meta charset=utf-8><title>Datalinks</title><h1>Datalinks received your answer</h1><p>You can close this tab and return to Datalinks.</p>";

fn page(title: &str, text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<!doctype html><meta charset=utf-8><title>Datalinks</title><h1>{}</h1><p>{}</p>",
        escape(title),
        escape(text)
    )
}

/// What an open browser sign-in needs to finish: the registration as it was when the attempt
/// started and the exact client built for it, so a settings change meanwhile cannot send the
/// code or the secret elsewhere.
pub(crate) struct SignIn {
    registration: Registration,
    client: OAuthClient,
    /// The connection this attempt connects again, if it is not for a new account.
    pub(crate) reconnect: Option<ConnectionId>,
    /// What may keep the attempt from coming back, known when it started.
    pub(crate) hints: Vec<WaitingHint>,
}

impl Datalinks {
    /// The registration's OAuth client, with its client secret when one is stored.
    pub(crate) async fn oauth_client(&self, registration: &Registration) -> Result<OAuthClient> {
        let secret = self.client_secret(registration).await?;
        adapter(registration.record.provider).oauth_client(&self.http, registration, secret)
    }

    /// The registration a sign-in goes through, and the connection it reconnects, if any.
    pub(crate) async fn sign_in_target(
        &self,
        target: SignInTarget,
    ) -> Result<(Registration, Option<ConnectionRecord>)> {
        match target {
            SignInTarget::NewAccount { registration } => {
                let registration = self.registration(registration).await?;
                if registration.record.retired {
                    return Err(Error::invalid_input(format!(
                        "The settings of {} have changed since; new accounts connect with the current settings.",
                        registration.identity
                    )));
                }
                Ok((registration, None))
            }
            SignInTarget::Reconnect { connection } => {
                let (registration, connection) = self.connection_for_use(connection).await?;
                Ok((registration, Some(connection)))
            }
        }
    }

    /// Starts signing in: opens the authorize page in the system browser and waits for the
    /// redirect, through the registration's transport unless `transport` overrides it (the
    /// CLI cannot receive deep links, so it always listens on loopback).
    pub async fn connect(
        self: &Arc<Self>,
        target: SignInTarget,
        transport: Option<Transport>,
    ) -> Result<ConnectionsOverview> {
        let (registration, reconnect) = self.sign_in_target(target).await?;
        let adapter = adapter(registration.record.provider);
        if !adapter.signs_in_through_browser() {
            return Err(Error::invalid_input(format!(
                "{} does not sign in through the browser: open Connect from its card.",
                registration.record.provider
            )));
        }
        if !adapter.takes_sign_ins(&registration.settings) {
            return Err(Error::new(
                ErrorCode::NotConfigured,
                format!(
                    "No {} client ID is set: enter your app's client ID in Settings, or use a personal token.",
                    registration.record.provider
                ),
            ));
        }
        let id = registration.id();
        let transport = transport.unwrap_or(registration.settings.transport);
        let client = self.oauth_client(&registration).await?;
        self.stop_listener(id);

        let listener = match transport {
            Transport::Loopback => {
                Some(LoopbackListener::bind_port(adapter.loopback_port(&registration)?).await?)
            }
            Transport::DeepLink => None,
        };
        let redirect_uri = match &listener {
            Some(listener) => listener.redirect_uri(crate::LOOPBACK_PATH),
            None => DEEP_LINK_REDIRECT_URI.to_owned(),
        };
        if registration.record.sandbox {
            adapter.expect_sandbox_redirect(&*self.sandboxes().await?, &redirect_uri)?;
        }
        let state = random_state();
        let verifier = PkceVerifier::generate();
        let url =
            adapter.authorize_url(&registration, &client, &redirect_uri, &state, &verifier)?;
        let scope = self.registration_scope(&registration);
        let hints = adapter.waiting_hints(&registration, transport);
        self.attempts.insert(
            id,
            PendingAttempt {
                state,
                verifier,
                redirect_uri: redirect_uri.clone(),
                transport,
                authorize_url: url.to_string(),
                expires_at: datalinks_core::now_unix() + ATTEMPT_LIFETIME_SECS,
                context: SignIn {
                    registration,
                    client,
                    reconnect: reconnect.map(|c| c.id),
                    hints,
                },
            },
        );
        self.set_sign_in_error(id, None);
        if let Some(listener) = listener {
            self.spawn_listener(id, listener, redirect_uri)?;
        }
        let opened = self.host.open_in_browser(url.as_str());
        let provider = adapter.provider();
        let detail = match &opened {
            Ok(()) => format!("Opened the {provider} sign-in page in the browser."),
            Err(_) => format!(
                "The browser did not open the {provider} sign-in page; the link can be copied instead."
            ),
        };
        if let Err(err) = opened {
            self.set_sign_in_error(
                id,
                Some(Error::new(
                    err.code,
                    format!("{} Copy the link and open it in your browser.", err.message),
                )),
            );
        }
        let _ = self.store.record_event(scope, "authorize_started", &detail);
        self.announce().await;
        self.overview()
    }

    /// Cancels the registration's open sign-in: its `state` is no longer accepted, its
    /// listener stops, and a Connect window of it closes.
    pub async fn cancel_connect(
        &self,
        registration: RegistrationId,
    ) -> Result<ConnectionsOverview> {
        let record = self.registration_record(registration)?;
        self.stop_listener(registration);
        let window_closed = self.end_connect_window_of(registration);
        if self.attempts.cancel(&registration) || window_closed {
            let _ = self.store.record_event(
                EventScope {
                    provider: record.provider,
                    registration: Some(registration),
                    connection: None,
                },
                "authorize_cancelled",
                "Connecting was cancelled.",
            );
        }
        self.announce().await;
        self.overview()
    }

    /// The answer to a waiting hint's [`Remedy::UseLoopback`](datalinks_core::Remedy): ends the
    /// registration's open attempt, makes the loopback redirect its transport and signs in again
    /// for the same account or connection.
    pub async fn use_loopback(
        self: &Arc<Self>,
        registration: RegistrationId,
    ) -> Result<ConnectionsOverview> {
        let reconnect = self
            .attempts
            .inspect(&registration, |attempt| attempt.context.reconnect)
            .ok_or_else(|| Error::invalid_input("No sign-in of this setup is waiting any more."))?;
        let mut record = self.registration_record(registration)?;
        self.stop_listener(registration);
        self.attempts.cancel(&registration);
        record.transport = Transport::Loopback;
        self.store.update_registration(&record)?;
        self.forget_cached(registration);
        self.store.record_event(
            EventScope {
                provider: record.provider,
                registration: Some(registration),
                connection: None,
            },
            "settings_saved",
            "Switched to the local-address redirect, and signing in again.",
        )?;
        let target = match reconnect {
            Some(connection) => SignInTarget::Reconnect { connection },
            None => SignInTarget::NewAccount { registration },
        };
        self.connect(target, None).await
    }

    /// Handles a `datalinks://…` URL handed over by the OS (second instance or cold start).
    /// Every outcome is reported through events; nothing here can crash the app.
    pub async fn handle_deep_link(self: &Arc<Self>, raw: &str) {
        let target = CallbackTarget::from_redirect_uri(DEEP_LINK_REDIRECT_URI)
            .expect("constant is a valid URL");
        let redirect = match parse_callback(raw, &target) {
            Ok(redirect) => redirect,
            Err(err) => return self.host.emit(ServiceEvent::Notice(err)),
        };
        // Never the query: it carries the code and the state.
        log::info!("a deep link to {DEEP_LINK_REDIRECT_URI} arrived from the OS");
        let (registration, attempt) = match self.attempts.take(redirect.state()) {
            Ok(taken) => taken,
            Err(err) => return self.host.emit(ServiceEvent::Notice(err)),
        };
        if attempt.transport != Transport::DeepLink {
            self.stop_listener(registration);
            return self
                .end_sign_in(
                    registration,
                    Err(Error::new(ErrorCode::CallbackRefused, "The sign-in answer arrived as a deep link, but this attempt expected the loopback redirect. Connect again.")),
                )
                .await;
        }
        self.finish(registration, attempt, redirect).await;
    }

    fn spawn_listener(
        self: &Arc<Self>,
        registration: RegistrationId,
        listener: LoopbackListener,
        redirect_uri: String,
    ) -> Result<()> {
        let target = CallbackTarget::from_redirect_uri(&redirect_uri)?;
        let service = Arc::clone(self);
        let task = tokio::spawn(listener.serve(move |url| {
            let service = Arc::clone(&service);
            let target = target.clone();
            async move {
                service
                    .on_loopback_request(registration, &url, &target)
                    .await
            }
        }));
        if let Some(old) = self.listeners.lock().unwrap().insert(registration, task) {
            old.abort();
        }
        Ok(())
    }

    /// One request to the loopback listener of `registration`'s attempt.
    async fn on_loopback_request(
        self: &Arc<Self>,
        registration: RegistrationId,
        url: &str,
        target: &CallbackTarget,
    ) -> LoopbackReply {
        let redirect = match parse_callback(url, target) {
            Ok(redirect) => redirect,
            Err(err) => {
                // Browsers ask for /favicon.ico; only report requests on the callback path.
                let path = url::Url::parse(url)
                    .map(|u| u.path().to_owned())
                    .unwrap_or_default();
                if path == target.path() {
                    self.host.emit(ServiceEvent::Notice(err.clone()));
                }
                return LoopbackReply::KeepListening {
                    status: 400,
                    page: page("Not a sign-in answer", &err.message),
                };
            }
        };
        let refused = |err: Error| {
            self.host.emit(ServiceEvent::Notice(err.clone()));
            LoopbackReply::KeepListening {
                status: 400,
                page: page("Sign-in answer refused", &err.message),
            }
        };
        match self.attempts.take(redirect.state()) {
            // The same checks as a deep link: the attempt this listener waits for, over loopback.
            Ok((owner, attempt))
                if owner == registration && attempt.transport == Transport::Loopback =>
            {
                let service = Arc::clone(self);
                tokio::spawn(async move { service.finish(owner, attempt, redirect).await });
                LoopbackReply::Done {
                    page: PAGE_DONE.to_owned(),
                }
            }
            Ok((owner, _)) => {
                let err = Error::new(
                    ErrorCode::CallbackRefused,
                    "The sign-in answer arrived at another sign-in's local address. Connect again.",
                );
                let service = Arc::clone(self);
                let ended = err.clone();
                tokio::spawn(async move { service.end_sign_in(owner, Err(ended)).await });
                refused(err)
            }
            Err(err) => refused(err),
        }
    }

    fn stop_listener(&self, registration: RegistrationId) {
        if let Some(task) = self.listeners.lock().unwrap().remove(&registration) {
            task.abort();
        }
    }

    /// Completes an attempt whose redirect arrived, and reports the result.
    async fn finish(
        self: &Arc<Self>,
        registration: RegistrationId,
        attempt: PendingAttempt<SignIn>,
        redirect: Redirect,
    ) {
        let outcome = match redirect {
            Redirect::Denied {
                error, description, ..
            } => Err(denied(
                attempt.context.registration.record.provider,
                &error,
                description.as_deref(),
            )),
            Redirect::Code { code, .. } => {
                let started = self.audit.now_ms();
                let completing = self.complete(&attempt, &code);
                let completed = self
                    .audited_at(Some(registration), None, actions::CONNECT, completing)
                    .await;
                if let Ok(connection) = &completed {
                    self.attribute_sign_in_requests(registration, started, *connection);
                }
                completed
            }
        };
        self.end_sign_in(registration, outcome).await;
    }

    /// Records how a sign-in ended and tells the host.
    pub(crate) async fn end_sign_in(
        &self,
        registration: RegistrationId,
        outcome: Result<ConnectionId>,
    ) {
        if let Ok(record) = self.registration_record(registration) {
            let provider = record.provider;
            match &outcome {
                Ok(_) => self.set_sign_in_error(registration, None),
                Err(err) => {
                    let _ = self.store.record_event(
                        EventScope {
                            provider,
                            registration: Some(registration),
                            connection: None,
                        },
                        "connect_failed",
                        &err.message,
                    );
                    self.set_sign_in_error(registration, Some(err.clone()));
                }
            }
            log::info!("{provider}: sign-in completed; reporting it");
        }
        self.host.emit(ServiceEvent::SignInEnded {
            registration,
            outcome,
        });
        self.announce().await;
    }

    async fn complete(
        self: &Arc<Self>,
        attempt: &PendingAttempt<SignIn>,
        code: &AuthorizationCode,
    ) -> Result<ConnectionId> {
        let sign_in = &attempt.context;
        let registration = &sign_in.registration;
        let provider = registration.record.provider;
        // Each step is logged (never a secret), so a sign-in that stalls shows where.
        log::info!("{provider}: exchanging the authorization code");
        let mut tokens = sign_in
            .client
            .exchange_code(code, &attempt.redirect_uri, &attempt.verifier)
            .await
            .map_err(|err| adapter(provider).exchange_failed(registration, err))?;
        if !sign_in.client.can_refresh() {
            // Unusable without the client secret; without it the expired token asks to reconnect.
            tokens.refresh_token = None;
        }
        log::info!("{provider}: code exchanged; identifying the account");
        // Nothing is kept until the account is known, so a failure here leaves no tokens behind.
        let identity = match adapter(provider)
            .identify(self, registration, &tokens.access_token)
            .await
        {
            Ok(identity) => identity,
            Err(err) => {
                let revoked = revoke_unkept(&sign_in.client, &tokens).await;
                return Err(Error::new(
                    err.code,
                    format!("{provider} let you in, but the account could not be read, so nothing was kept{revoked}: {} Connect again.", err.message),
                ));
            }
        };
        log::info!("{provider}: account identified; keeping the tokens in the keyring");
        let account = registration.account(&identity.account_id);
        let expires_at = tokens.expires_at;
        self.vault_call(move |vault| vault.set_tokens(&account, &tokens))
            .await?;
        let id = self.store.save_connection(&NewConnection {
            registration_id: registration.id(),
            account_id: identity.account_id.clone(),
            username: identity.username,
            credential: CredentialKind::OAuth,
            details: identity.details.to_string(),
            token_expires_at: expires_at,
        })?;
        self.forget_connection_state(id);
        let mut summary = identity.summary;
        if let Some(wanted) = sign_in.reconnect.filter(|&wanted| wanted != id) {
            summary += &format!(" That is another account than connection {wanted}, which still needs connecting again; this one was added beside it.");
        }
        self.store.record_event(
            self.connection_scope(registration, id),
            "connected",
            &summary,
        )?;
        log::info!("{provider}: tokens kept and the connection saved");
        Ok(id)
    }

    /// The history scope of a registration's own events.
    pub(crate) fn registration_scope(&self, registration: &Registration) -> EventScope {
        EventScope {
            provider: registration.record.provider,
            registration: Some(registration.id()),
            connection: None,
        }
    }

    /// The history scope of a connection's events.
    pub(crate) fn connection_scope(
        &self,
        registration: &Registration,
        connection: ConnectionId,
    ) -> EventScope {
        EventScope {
            connection: Some(connection),
            ..self.registration_scope(registration)
        }
    }

    /// Shows `error` with the registration's sign-in until its next attempt.
    /// Keeps the registration's last sign-in problem in the store, so it stays on its card
    /// (and in `datalinks status`) until the next attempt, across processes.
    pub(crate) fn set_sign_in_error(&self, registration: RegistrationId, error: Option<Error>) {
        if let Err(err) = self.store.set_sign_in_problem(registration, error.as_ref()) {
            log::warn!("the last sign-in problem could not be kept: {err}");
        }
    }
}

/// Withdraws tokens that were issued but will not be kept, where the provider lets apps; says
/// so for the person's message.
async fn revoke_unkept(client: &OAuthClient, tokens: &TokenSet) -> &'static str {
    if !client.can_revoke() {
        return "";
    }
    // Revoking the refresh token withdraws its access token too (RFC 7009 §2.1).
    let revoked = match &tokens.refresh_token {
        Some(refresh) => client.revoke_refresh_token(refresh).await,
        None => client.revoke_access_token(&tokens.access_token).await,
    };
    match revoked {
        Ok(()) => " and the new tokens were revoked",
        Err(err) => {
            log::warn!("tokens of a sign-in that did not complete could not be revoked: {err}");
            ""
        }
    }
}

fn denied(provider: datalinks_core::Provider, error: &str, description: Option<&str>) -> Error {
    let detail = description.map(|d| format!(" ({d})")).unwrap_or_default();
    if error == "access_denied" {
        Error::new(
            ErrorCode::AuthorizationDenied,
            format!(
                "Access to {provider} was declined in the browser{detail}. Nothing was changed."
            ),
        )
    } else {
        Error::new(
            ErrorCode::AuthorizationDenied,
            format!("{provider} returned an error: {error}{detail}."),
        )
    }
}
