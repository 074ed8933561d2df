//! Connecting: authorize in the system browser, take the redirect back (loopback or deep
//! link), exchange the code, store the tokens, and learn who the person is.

use crate::{Datalinks, ProviderOptions, ServiceEvent};
use datalinks_core::{
    now_unix, ConnectionView, Error, ErrorCode, Provider, Result, SecretString, Transport,
};
use datalinks_oauth::{
    parse_callback, random_state, CallbackTarget, LoopbackListener, LoopbackReply, OAuthClient,
    PendingAttempt, PkceVerifier, Redirect, ATTEMPT_LIFETIME_SECS,
};
use datalinks_opencollective::{AuthorizeRequest, Credential};
use datalinks_openhumans::{parse_base_url, ApiClient};
use datalinks_store::{AccountRecord, ProviderSettings};
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

impl Datalinks {
    /// The provider's OAuth client with its credentials from settings and the keyring.
    pub(crate) async fn oauth_client(&self, provider: Provider) -> Result<OAuthClient> {
        let settings = self.settings_or_error(provider)?;
        match self.options(&settings)? {
            ProviderOptions::OpenHumans => {
                let secret = self.client_secret(provider).await?;
                Ok(datalinks_openhumans::oauth_client(
                    self.http.clone(),
                    &parse_base_url(&settings.base_url)?,
                    settings.client_id,
                    secret,
                ))
            }
            ProviderOptions::OpenCollective(oc) => {
                if settings.client_id.is_empty() {
                    return Err(Error::new(
                        ErrorCode::NotConfigured,
                        "No Open Collective client ID is set: enter your app's client ID in Settings, or use a personal token.",
                    ));
                }
                let hosts = crate::opencollective::hosts(&settings, &oc)?;
                // Optional: with PKCE the code exchange needs no secret, but refreshing does.
                let secret = self.vault_call(move |v| v.client_secret(provider)).await?;
                Ok(datalinks_opencollective::oauth_client(
                    self.http.clone(),
                    &hosts,
                    settings.client_id,
                    secret,
                ))
            }
            ProviderOptions::HumanApi(_) => Err(not_oauth(provider)),
        }
    }

    pub(crate) async fn client_secret(&self, provider: Provider) -> Result<SecretString> {
        self.vault_call(move |v| v.client_secret(provider))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NotConfigured,
                    format!("No {provider} client secret is stored. Enter it in Settings."),
                )
            })
    }

    pub(crate) fn api_client(&self, provider: Provider) -> Result<ApiClient> {
        let settings = self.settings_or_error(provider)?;
        Ok(ApiClient::new(
            self.http.clone(),
            parse_base_url(&settings.base_url)?,
        ))
    }

    /// Starts connecting: opens the authorize page in the system browser and waits for the
    /// redirect, through the configured transport unless `transport` overrides it (the CLI
    /// cannot receive deep links, so it always listens on loopback). Returns the connection
    /// in its waiting state.
    pub async fn connect(
        self: &Arc<Self>,
        provider: Provider,
        transport: Option<Transport>,
    ) -> Result<ConnectionView> {
        let mut settings = self.settings_or_error(provider)?;
        settings.transport = transport.unwrap_or(settings.transport);
        let options = self.options(&settings)?;
        self.oauth_client(provider).await?;
        self.stop_listener(provider);

        let listener = match settings.transport {
            Transport::Loopback => {
                Some(LoopbackListener::bind_port(loopback_port(&options)?).await?)
            }
            Transport::DeepLink => None,
        };
        let redirect_uri = match &listener {
            Some(listener) => listener.redirect_uri(&settings.loopback_path),
            None => DEEP_LINK_REDIRECT_URI.to_owned(),
        };
        let state = random_state();
        let verifier = PkceVerifier::generate();
        let url = authorize_url(
            &settings,
            &options,
            &redirect_uri,
            &state,
            &verifier.s256_challenge(),
        )?;
        let attempt = PendingAttempt {
            provider,
            state,
            verifier,
            redirect_uri: redirect_uri.clone(),
            transport: settings.transport,
            authorize_url: url.to_string(),
            expires_at: now_unix() + ATTEMPT_LIFETIME_SECS,
        };
        self.attempts.insert(attempt);
        self.set_last_error(provider, None);
        if let Some(listener) = listener {
            self.spawn_listener(provider, listener, redirect_uri)?;
        }
        if let Err(err) = self.host.open_in_browser(url.as_str()) {
            self.set_last_error(
                provider,
                Some(Error::new(
                    err.code,
                    format!("{} Copy the link and open it in your browser.", err.message),
                )),
            );
        }
        let _ = self.store.record_event(
            provider,
            "authorize_started",
            &format!("Opened the {provider} sign-in page in the browser."),
        );
        let view = self.connection(provider).await?;
        self.host
            .emit(ServiceEvent::ConnectionChanged(view.clone()));
        Ok(view)
    }

    /// Cancels an open attempt: its `state` is no longer accepted and its listener stops.
    pub async fn cancel_connect(&self, provider: Provider) -> Result<ConnectionView> {
        self.stop_listener(provider);
        let window_closed = provider == Provider::HumanApi && self.end_connect_window();
        if self.attempts.cancel(provider) || window_closed {
            let _ = self.store.record_event(
                provider,
                "authorize_cancelled",
                "Connecting was cancelled.",
            );
        }
        let view = self.connection(provider).await?;
        self.host
            .emit(ServiceEvent::ConnectionChanged(view.clone()));
        Ok(view)
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
        let attempt = match self.attempts.take(redirect.state()) {
            Ok(attempt) => attempt,
            Err(err) => return self.host.emit(ServiceEvent::Notice(err)),
        };
        if attempt.transport != Transport::DeepLink {
            self.stop_listener(attempt.provider);
            self.set_last_error(
                attempt.provider,
                Some(Error::new(ErrorCode::CallbackRefused, "The sign-in answer arrived as a deep link, but this attempt expected the loopback redirect. Connect again.")),
            );
            return self.announce(attempt.provider).await;
        }
        self.finish(attempt, redirect).await;
    }

    fn spawn_listener(
        self: &Arc<Self>,
        provider: Provider,
        listener: LoopbackListener,
        redirect_uri: String,
    ) -> Result<()> {
        let target = CallbackTarget::from_redirect_uri(&redirect_uri)?;
        let service = Arc::clone(self);
        let task = tokio::spawn(listener.serve(move |url| {
            let service = Arc::clone(&service);
            let target = target.clone();
            async move { service.on_loopback_request(&url, &target).await }
        }));
        if let Some(old) = self.listeners.lock().unwrap().insert(provider, task) {
            old.abort();
        }
        Ok(())
    }

    async fn on_loopback_request(
        self: &Arc<Self>,
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
        match self.attempts.take(redirect.state()) {
            Ok(attempt) => {
                let service = Arc::clone(self);
                tokio::spawn(async move { service.finish(attempt, redirect).await });
                LoopbackReply::Done {
                    page: PAGE_DONE.to_owned(),
                }
            }
            Err(err) => {
                self.host.emit(ServiceEvent::Notice(err.clone()));
                LoopbackReply::KeepListening {
                    status: 400,
                    page: page("Sign-in answer refused", &err.message),
                }
            }
        }
    }

    fn stop_listener(&self, provider: Provider) {
        if let Some(task) = self.listeners.lock().unwrap().remove(&provider) {
            task.abort();
        }
    }

    /// Completes an attempt whose redirect arrived, and reports the result.
    async fn finish(self: &Arc<Self>, attempt: PendingAttempt, redirect: Redirect) {
        let provider = attempt.provider;
        let outcome = match redirect {
            Redirect::Denied {
                error, description, ..
            } => Err(denied(provider, &error, description.as_deref())),
            Redirect::Code { code, .. } => self.complete(&attempt, &code).await,
        };
        match outcome {
            Ok(summary) => {
                self.set_last_error(provider, None);
                let _ = self.store.record_event(provider, "connected", &summary);
            }
            Err(err) => {
                let _ = self
                    .store
                    .record_event(provider, "connect_failed", &err.message);
                self.set_last_error(provider, Some(err));
            }
        }
        log::info!("{provider}: sign-in completed; reporting it");
        self.announce(provider).await;
    }

    async fn complete(self: &Arc<Self>, attempt: &PendingAttempt, code: &str) -> Result<String> {
        let provider = attempt.provider;
        // Each step is logged (never a secret), so a sign-in that stalls shows where.
        log::info!("{provider}: exchanging the authorization code");
        let client = self.oauth_client(provider).await?;
        let mut tokens = client
            .exchange_code(code, &attempt.redirect_uri, &attempt.verifier)
            .await?;
        if !client.can_refresh() {
            // Unusable without the client secret; without it the expired token asks to reconnect.
            tokens.refresh_token = None;
        }
        // Open Collective's older responses carry no expires_in: no expiry is known.
        let expires_at = (tokens.expires_at != i64::MAX).then_some(tokens.expires_at);
        let access_token = tokens.access_token.clone();
        log::info!("{provider}: code exchanged; keeping the tokens in the keyring");
        self.keeper(provider).store(tokens).await?;
        log::info!("{provider}: tokens kept; identifying the account");
        let identity = self.identify(provider, access_token).await?;
        log::info!("{provider}: account identified; saving it");
        self.store.save_account(&AccountRecord {
            provider,
            account_id: identity.account_id,
            username: identity.username,
            connected_at: now_unix(),
            token_expires_at: expires_at,
            reconnect_reason: None,
        })?;
        Ok(identity.summary)
    }

    /// Who a fresh access token belongs to.
    async fn identify(&self, provider: Provider, access_token: SecretString) -> Result<Identity> {
        match provider {
            Provider::OpenCollective => {
                let me = self.oc_api()?.me(&Credential::OAuth(access_token)).await?;
                Ok(Identity {
                    summary: format!(
                        "Connected as {} (@{}).",
                        me.name.as_deref().unwrap_or(&me.slug),
                        me.slug
                    ),
                    account_id: me.id,
                    username: Some(me.slug),
                })
            }
            Provider::OpenHumans => {
                let member = self
                    .api_client(provider)?
                    .exchange_member(&access_token)
                    .await?;
                Ok(Identity {
                    summary: format!(
                        "Connected as project member {} ({} files shared).",
                        member.project_member_id, member.count
                    ),
                    account_id: member.project_member_id,
                    username: member.username,
                })
            }
            Provider::HumanApi => Err(not_oauth(provider)),
        }
    }
}

struct Identity {
    account_id: String,
    username: Option<String>,
    summary: String,
}

/// Human API has no OAuth: people link it in its Connect window.
fn not_oauth(provider: Provider) -> Error {
    Error::invalid_input(format!(
        "{provider} does not sign in through the browser: open Connect from its card."
    ))
}

/// The loopback port: any free one, except for Open Collective, which compares the whole
/// redirect URI with the registered callback.
fn loopback_port(options: &ProviderOptions) -> Result<u16> {
    match options {
        ProviderOptions::OpenCollective(oc) => oc.loopback_port.ok_or_else(|| {
            Error::invalid_input(
                "Open Collective compares the whole callback URL, so the local-address transport needs a fixed port: set it in Settings to the port of the callback registered with your app.",
            )
        }),
        _ => Ok(0),
    }
}

fn authorize_url(
    settings: &ProviderSettings,
    options: &ProviderOptions,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
) -> Result<url::Url> {
    match options {
        ProviderOptions::OpenHumans => Ok(datalinks_openhumans::authorize_url(
            &parse_base_url(&settings.base_url)?,
            &settings.client_id,
            redirect_uri,
            state,
            code_challenge,
        )),
        ProviderOptions::OpenCollective(oc) => Ok(AuthorizeRequest {
            client_id: &settings.client_id,
            redirect_uri,
            state,
            code_challenge,
            scopes: &oc.scopes,
            scope_separator: oc.scope_separator,
        }
        .url(&crate::opencollective::hosts(settings, oc)?)),
        ProviderOptions::HumanApi(_) => Err(not_oauth(settings.provider)),
    }
}

fn denied(provider: Provider, error: &str, description: Option<&str>) -> Error {
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
