//! A provider's registrations as the Settings page edits them. Secrets go to the keyring under
//! the registration they belong to, the rest to SQLite. Changing the server address or the
//! client ID makes a new registration: the connections made with the old one stay bound to it
//! (still usable, shown as an earlier setup) and its secrets are never sent to the new server.

use crate::providers::adapter;
use crate::registrations::{identity_of, settings_of, summary_of, RegistrationSettings};
use crate::{
    Datalinks, ProviderSettingsInput, ProviderSettingsView, RegistrationDefaults,
    RegistrationListing, RegistrationSettingsView, SandboxSettingsInput, LOOPBACK_PATH,
};
use datalinks_core::{
    AccountSummary, ClientSecret, Error, PersonalToken, Provider, RegistrationId,
    RegistrationIdentity, Result,
};
use datalinks_store::{ConnectionFilter, EventScope, NewRegistration, RegistrationRecord};
use datalinks_vault::{SecretKind, SecretOwner};
use std::sync::Arc;

/// A server address as stored: validated, without a trailing slash.
pub(crate) fn normalized_url(raw: &str) -> Result<String> {
    Ok(datalinks_core::server_url(raw)?
        .as_str()
        .trim_end_matches('/')
        .to_owned())
}

pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn settings_view(record: &RegistrationRecord) -> Result<RegistrationSettingsView> {
    let settings = settings_of(record)?;
    Ok(RegistrationSettingsView {
        registration: summary_of(record),
        client_id: settings.client_id,
        base_url: settings.base_url,
        transport: settings.transport,
        loopback_path: LOOPBACK_PATH.to_owned(),
        has_client_secret: record.has_client_secret,
        options: settings.options,
    })
}

impl Datalinks {
    /// The provider's registrations as the Settings page shows them. Reads no secret.
    pub async fn provider_settings(&self, provider: Provider) -> Result<ProviderSettingsView> {
        let registrations = self.store.registrations(Some(provider))?;
        let connections = self
            .store
            .connections(ConnectionFilter::Provider(provider))?;
        let current = |sandbox: bool| {
            registrations
                .iter()
                .find(|r| r.sandbox == sandbox && !r.retired)
                .map(settings_view)
                .transpose()
        };
        let listing = registrations
            .iter()
            .map(|record| RegistrationListing {
                registration: summary_of(record),
                accounts: connections
                    .iter()
                    .filter(|c| c.registration_id == record.id)
                    .map(|c| AccountSummary {
                        account_id: c.account_id.clone(),
                        username: c.username.clone(),
                        connected_at: c.connected_at,
                    })
                    .collect(),
            })
            .collect();
        Ok(ProviderSettingsView {
            provider,
            own: current(false)?,
            sandbox: current(true)?,
            registrations: listing,
            defaults: RegistrationDefaults {
                base_url: adapter(provider).default_base_url().to_owned(),
                transport: adapter(provider).default_transport(),
                options: adapter(provider).default_options(),
            },
        })
    }

    /// Saves the person's own registration of `provider`. Another server address or client ID
    /// than before is another registration: it needs its own client secret, and the old one
    /// keeps its connections. A personal token connects its account at once.
    pub async fn save_provider_settings(
        self: &Arc<Self>,
        provider: Provider,
        input: ProviderSettingsInput,
    ) -> Result<ProviderSettingsView> {
        if input.options.provider() != provider {
            return Err(Error::invalid_input(format!(
                "These settings belong to {}, not {provider}.",
                input.options.provider()
            )));
        }
        let adapter = adapter(provider);
        let client_id = input.client_id.trim().to_owned();
        if client_id.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(
                "The client ID must be a single word with no spaces.",
            ));
        }
        let personal_token = non_empty(input.personal_token).map(PersonalToken::new);
        if personal_token.is_some() && !adapter.takes_personal_tokens() {
            return Err(Error::invalid_input(format!(
                "{provider} has no personal tokens."
            )));
        }
        let settings = adapter.normalize(RegistrationSettings {
            client_id: client_id.clone(),
            base_url: input.base_url,
            transport: input.transport,
            options: input.options,
        })?;
        let identity = RegistrationIdentity::new(provider, &client_id, adapter.servers(&settings));
        let own: Vec<RegistrationRecord> = self
            .store
            .registrations(Some(provider))?
            .into_iter()
            .filter(|r| !r.sandbox)
            .collect();
        let previous = own.iter().find(|r| !r.retired).cloned();
        let mut matching = None;
        for record in &own {
            if identity_of(record)? == identity {
                // An earlier setup of the same identity: its secrets are moved to their
                // per-registration names before anything looks for them.
                matching = Some(
                    self.migrate_registration_secrets(record.clone(), &identity)
                        .await?,
                );
            }
        }

        let secret = non_empty(input.client_secret).map(ClientSecret::new);
        let has_secret = secret.is_some() || matching.as_ref().is_some_and(|r| r.has_client_secret);
        if let Some(reason) = adapter
            .client_secret_needed(&settings)
            .filter(|_| !has_secret)
        {
            let elsewhere = previous
                .as_ref()
                .filter(|p| p.has_client_secret)
                .map(|p| identity_of(p).map(|old| format!(" The secret saved for {old} belongs to that server and client ID, and is never sent anywhere else.")))
                .transpose()?
                .unwrap_or_default();
            return Err(Error::invalid_input(format!(
                "Enter the client secret: {reason}{elsewhere}"
            )));
        }
        let has_personal_tokens = match &matching {
            Some(record) => self
                .store
                .connections(ConnectionFilter::Registration(record.id))?
                .iter()
                .any(|c| c.credential == datalinks_core::CredentialKind::PersonalToken),
            None => false,
        };
        if !adapter.takes_sign_ins(&settings) && personal_token.is_none() && !has_personal_tokens {
            return Err(Error::invalid_input(
                "Enter the client ID of your Open Collective app, or paste a personal token.",
            ));
        }

        // The keyring first: if it fails, nothing in the database has changed.
        if let Some(secret) = secret {
            let identity = identity.clone();
            self.vault_call(move |vault| vault.set_client_secret(&identity, &secret))
                .await?;
        }
        let id = match matching {
            Some(mut record) => {
                record.transport = settings.transport;
                record.options = settings.options.to_column();
                record.has_client_secret = has_secret;
                record.retired = false;
                self.store.update_registration(&record)?;
                record.id
            }
            None => self.store.insert_registration(&NewRegistration {
                provider,
                client_id,
                base_url: settings.base_url.clone(),
                transport: settings.transport,
                options: settings.options.to_column(),
                sandbox: false,
                has_client_secret: has_secret,
            })?,
        };
        self.forget_cached(id);
        let scope = EventScope {
            provider,
            registration: Some(id),
            connection: None,
        };
        self.store.record_event(
            scope,
            "settings_saved",
            &format!("Settings saved ({identity})."),
        )?;
        if let Some(previous) = previous.filter(|p| p.id != id) {
            self.retire(previous, &identity).await?;
        }
        if let Some(token) = personal_token {
            // A new token is checked at once: the card then shows who it belongs to.
            self.connect_with_personal_token(id, token).await?;
        }
        self.announce().await;
        self.provider_settings(provider).await
    }

    /// Saves what the person may change about the sandbox's registration of `provider`.
    pub async fn save_sandbox_settings(
        &self,
        provider: Provider,
        input: SandboxSettingsInput,
    ) -> Result<ProviderSettingsView> {
        let mut record = self
            .store
            .registrations(Some(provider))?
            .into_iter()
            .find(|r| r.sandbox && !r.retired)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "{provider} has no sandbox set up yet: click \"Try with the sandbox\" first."
                ))
            })?;
        if input.options.provider() != provider {
            return Err(Error::invalid_input(format!(
                "These settings belong to {}, not {provider}.",
                input.options.provider()
            )));
        }
        // Checked against where the sandbox runs; its addresses are never stored.
        let running = self.resolve(record.clone()).await?.settings;
        let settings = adapter(provider).normalize(RegistrationSettings {
            transport: input.transport,
            options: input.options,
            ..running
        })?;
        record.transport = settings.transport;
        record.options = settings.options.to_column();
        self.store.update_registration(&record)?;
        self.forget_cached(record.id);
        self.store.record_event(
            EventScope {
                provider,
                registration: Some(record.id),
                connection: None,
            },
            "settings_saved",
            "Sandbox settings saved.",
        )?;
        self.announce().await;
        self.provider_settings(provider).await
    }

    /// The settings moved away from `previous` to `now`: with connections it stays, retired and
    /// bound to them; without any it goes, with its secret.
    async fn retire(
        &self,
        mut previous: RegistrationRecord,
        now: &RegistrationIdentity,
    ) -> Result<()> {
        let scope = EventScope {
            provider: previous.provider,
            registration: Some(previous.id),
            connection: None,
        };
        let connections = self
            .store
            .connections(ConnectionFilter::Registration(previous.id))?
            .len();
        self.forget_cached(previous.id);
        if connections == 0 && self.remove_unused_registration(&previous).await {
            return Ok(());
        }
        previous.retired = true;
        self.store.update_registration(&previous)?;
        self.store.record_event(
            scope,
            "registration_retired",
            &format!(
                "The settings now point at {now}. The {connections} connection(s) made with this setup stay bound to it and are never sent elsewhere."
            ),
        )
    }

    /// Deletes a registration nothing is connected through, and its client secret; false (and
    /// nothing deleted) when the keyring cannot delete the secret, so it is not left behind
    /// without a record.
    pub(crate) async fn remove_unused_registration(&self, record: &RegistrationRecord) -> bool {
        let identity = match identity_of(record) {
            Ok(identity) => identity,
            Err(_) => return false,
        };
        let deleted = self
            .vault_call(move |vault| {
                vault.delete(
                    SecretOwner::Registration(&identity),
                    SecretKind::ClientSecret,
                )
            })
            .await;
        if let Err(err) = deleted {
            log::warn!("kept an unused registration whose secret could not be deleted: {err}");
            return false;
        }
        self.forget_cached(record.id);
        self.store.remove_registration(record.id).unwrap_or(false)
    }

    /// The registration new accounts of `provider` sign in through: the person's own, or with
    /// `sandbox` the sandbox's.
    pub fn sign_in_registration(
        &self,
        provider: Provider,
        sandbox: bool,
    ) -> Result<RegistrationId> {
        self.store
            .registrations(Some(provider))?
            .into_iter()
            .find(|r| r.sandbox == sandbox && !r.retired)
            .map(|r| r.id)
            .ok_or_else(|| {
                Error::new(
                    datalinks_core::ErrorCode::NotConfigured,
                    if sandbox {
                        format!("{provider}'s sandbox is not set up yet: try the sandbox first.")
                    } else {
                        format!("{provider} is not set up yet: enter the project's credentials in Settings, or try the sandbox.")
                    },
                )
            })
    }
}
