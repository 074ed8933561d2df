//! Secrets from releases before registrations, which kept one entry per provider
//! (`openhumans/tokens`, `opencollective/personal_token`, …). The database migration turned each
//! provider's settings into a registration and its account into a connection, flagged
//! `legacy_keyring`; the first time either is used, its secrets move to the names of their
//! identity (written under the new name, then deleted under the old), and the flag is cleared.
//! A locked keyring leaves everything as it is, to be moved on the next use.

use crate::registrations::Registration;
use crate::Datalinks;
use datalinks_core::{CredentialKind, RegistrationIdentity, Result};
use datalinks_store::{ConnectionRecord, RegistrationRecord};
use datalinks_vault::{legacy_key, SecretKind, SecretOwner};

impl Datalinks {
    /// Moves the registration's client secret to its new name; returns the record as it is now.
    pub(crate) async fn migrate_registration_secrets(
        &self,
        mut record: RegistrationRecord,
        identity: &RegistrationIdentity,
    ) -> Result<RegistrationRecord> {
        if !record.legacy_keyring {
            return Ok(record);
        }
        let provider = record.provider;
        let identity = identity.clone();
        let has_client_secret = self
            .vault_call(move |vault| {
                let owner = SecretOwner::Registration(&identity);
                let legacy = legacy_key(provider, SecretKind::ClientSecret);
                let moved = vault.adopt_legacy(&legacy, owner, SecretKind::ClientSecret)?;
                Ok(moved || vault.client_secret(&identity)?.is_some())
            })
            .await?;
        record.has_client_secret = has_client_secret;
        record.legacy_keyring = false;
        self.store.update_registration(&record)?;
        log::info!("{provider}: moved the registration's secrets to their per-registration names");
        Ok(record)
    }

    /// Moves the connection's tokens, personal token and public token to their new names;
    /// returns the record as it is now (a moved personal token makes it a personal-token
    /// connection, as the old release used it instead of OAuth).
    pub(crate) async fn migrate_connection_secrets(
        &self,
        registration: &Registration,
        mut connection: ConnectionRecord,
    ) -> Result<ConnectionRecord> {
        if !connection.legacy_keyring {
            return Ok(connection);
        }
        let provider = connection.provider;
        let account = registration.account(&connection.account_id);
        let moved_personal_token = self
            .vault_call(move |vault| {
                let owner = SecretOwner::Account(&account);
                let adopt = |kind| vault.adopt_legacy(&legacy_key(provider, kind), owner, kind);
                adopt(SecretKind::Tokens)?;
                adopt(SecretKind::PublicToken)?;
                adopt(SecretKind::PersonalToken)
            })
            .await?;
        if moved_personal_token {
            connection.credential = CredentialKind::PersonalToken;
        }
        self.store
            .set_connection_migrated(connection.id, connection.credential)?;
        connection.legacy_keyring = false;
        log::info!("{provider}: moved the connection's secrets to their per-account names");
        Ok(connection)
    }
}
