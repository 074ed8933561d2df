//! App registrations as the service uses them: the stored record, its settings with their
//! provider options, the identity its secrets are kept under, and the client secret read once
//! when an exchange or a refresh needs it.

use crate::providers::adapter;
use crate::{no_such_connection, Datalinks, ProviderOptions};
use datalinks_core::{
    AccountIdentity, ClientSecret, ConnectionId, Error, ErrorCode, RegistrationId,
    RegistrationIdentity, RegistrationSummary, Result, Transport,
};
use datalinks_store::{ConnectionRecord, RegistrationRecord};

/// What a registration is set up with: the identity fields (client id and servers) and how
/// sign-ins work with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegistrationSettings {
    pub client_id: String,
    /// Normalized, without a trailing slash; for a sandbox registration, where the running
    /// sandbox is.
    pub base_url: String,
    pub transport: Transport,
    pub options: ProviderOptions,
}

/// A registration ready to be used: its settings point at the servers its secrets go to.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub record: RegistrationRecord,
    pub settings: RegistrationSettings,
    pub identity: RegistrationIdentity,
}

impl Registration {
    pub fn id(&self) -> RegistrationId {
        self.record.id
    }

    pub fn account(&self, account_id: &str) -> AccountIdentity {
        self.identity.account(account_id)
    }
}

/// The stored settings of a registration, as the provider's adapter reads them.
pub(crate) fn settings_of(record: &RegistrationRecord) -> Result<RegistrationSettings> {
    Ok(RegistrationSettings {
        client_id: record.client_id.clone(),
        base_url: record.base_url.clone(),
        transport: record.transport,
        options: ProviderOptions::from_column(record.provider, &record.options)?,
    })
}

/// The identity a stored registration's secrets are kept under. A sandbox registration names
/// no address: it is wherever the running sandbox is.
pub(crate) fn identity_of(record: &RegistrationRecord) -> Result<RegistrationIdentity> {
    if record.sandbox {
        return Ok(RegistrationIdentity::sandbox(
            record.provider,
            &record.client_id,
        ));
    }
    let servers = adapter(record.provider).servers(&settings_of(record)?);
    Ok(RegistrationIdentity::new(
        record.provider,
        &record.client_id,
        servers,
    ))
}

/// How a registration is shown.
pub(crate) fn summary_of(record: &RegistrationRecord) -> RegistrationSummary {
    RegistrationSummary {
        id: record.id,
        provider: record.provider,
        server: if record.sandbox {
            "built-in sandbox".to_owned()
        } else {
            record.base_url.clone()
        },
        client_id: record.client_id.clone(),
        sandbox: record.sandbox,
        retired: record.retired,
    }
}

impl Datalinks {
    pub(crate) fn registration_record(&self, id: RegistrationId) -> Result<RegistrationRecord> {
        self.store.registration(id)?.ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("There is no app registration {id}: its settings may have changed. Reload the page."),
            )
        })
    }

    /// The registration `id`, ready to be used: a sandbox registration starts the sandbox.
    pub(crate) async fn registration(&self, id: RegistrationId) -> Result<Registration> {
        let record = self.registration_record(id)?;
        self.resolve(record).await
    }

    pub(crate) async fn resolve(&self, record: RegistrationRecord) -> Result<Registration> {
        let mut settings = settings_of(&record)?;
        let identity = identity_of(&record)?;
        if record.sandbox {
            let sandboxes = self.sandboxes().await?;
            adapter(record.provider).point_at_sandbox(&sandboxes, &mut settings);
        }
        let record = self.migrate_registration_secrets(record, &identity).await?;
        Ok(Registration {
            record,
            settings,
            identity,
        })
    }

    /// The connection `id` and its registration, ready to be used; secrets kept under their
    /// names from before registrations move to their new names first.
    pub(crate) async fn connection_for_use(
        &self,
        id: ConnectionId,
    ) -> Result<(Registration, ConnectionRecord)> {
        let connection = self
            .store
            .connection(id)?
            .ok_or_else(|| no_such_connection(id))?;
        let registration = self.registration(connection.registration_id).await?;
        let connection = self
            .migrate_connection_secrets(&registration, connection)
            .await?;
        Ok((registration, connection))
    }

    /// The registration's client secret, if one is stored: read from the keyring once, then
    /// kept in memory until the registration's settings change.
    pub(crate) async fn client_secret(
        &self,
        registration: &Registration,
    ) -> Result<Option<ClientSecret>> {
        if !registration.record.has_client_secret {
            return Ok(None);
        }
        let id = registration.id();
        if let Some(secret) = self.client_secrets.lock().unwrap().get(&id) {
            return Ok(Some(secret.clone()));
        }
        let identity = registration.identity.clone();
        let secret = self
            .vault_call(move |vault| vault.client_secret(&identity))
            .await?;
        if let Some(secret) = &secret {
            self.client_secrets
                .lock()
                .unwrap()
                .insert(id, secret.clone());
        }
        Ok(secret)
    }

    /// The identity a connection's secrets are kept under: its registration and its account.
    pub fn account_identity(&self, id: ConnectionId) -> Result<AccountIdentity> {
        let connection = self
            .store
            .connection(id)?
            .ok_or_else(|| no_such_connection(id))?;
        let registration = self.registration_record(connection.registration_id)?;
        Ok(identity_of(&registration)?.account(connection.account_id))
    }

    /// The client secret a confidential client cannot work without.
    pub(crate) async fn required_client_secret(
        &self,
        registration: &Registration,
    ) -> Result<ClientSecret> {
        self.client_secret(registration).await?.ok_or_else(|| {
            Error::new(
                ErrorCode::NotConfigured,
                format!(
                    "No client secret is stored for {}. Enter it in Settings.",
                    registration.identity
                ),
            )
        })
    }

    /// Forgets what is cached about a registration, after its settings changed.
    pub(crate) fn forget_cached(&self, id: RegistrationId) {
        self.client_secrets.lock().unwrap().remove(&id);
    }
}
