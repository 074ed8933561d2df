//! The consent ledger: for every connection, who can see what, since when, through which app
//! registration, where its secrets are kept and what this computer holds of it; and the same
//! for the researcher's open project. Everything is read from what Datalinks keeps or can ask
//! the provider; what a provider does not tell apps is said so (docs/ledger.md).

use crate::audit::actions;
use crate::providers::adapter;
use crate::registrations::Registration;
use crate::{Datalinks, ProjectView};
use datalinks_core::ConnectionView;
use datalinks_core::{ConnectionId, CredentialKind, Error, ErrorCode, Result};
use datalinks_store::{ConnectionFilter, ConnectionRecord};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ts_rs::TS;

/// Everything the ledger shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ConsentLedger {
    pub connections: Vec<LedgerEntry>,
    /// The researcher's open project, if one is open.
    pub project: Option<ProjectLedger>,
    /// Where secrets are kept, e.g. "OS keyring (Secret Service)".
    pub secret_location: String,
}

/// One connection in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LedgerEntry {
    /// The connection as its card shows it: provider, account, registration, state, expiry.
    pub connection: ConnectionView,
    /// What the account granted, as the provider tells apps.
    pub grants: Vec<Grant>,
    /// Why what was granted could not be read just now (the rest of the entry stands).
    pub grants_error: Option<Error>,
    /// When Datalinks last made a request for the connection (Unix milliseconds).
    #[ts(type = "number | null")]
    pub last_used_ms: Option<i64>,
    pub secrets: SecretsHeld,
    /// Files downloaded for the connection on this computer, if any.
    pub local_copies: Option<LocalCopies>,
    /// The provider's page where the person withdraws the access themselves.
    pub revoke_page: Option<String>,
}

/// One thing a connection was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Grant {
    pub label: String,
    pub value: String,
    /// The provider does not tell apps this; `value` says so and where to look.
    pub unknown: bool,
}

impl Grant {
    pub(crate) fn known(label: &str, value: impl Into<String>) -> Self {
        Self {
            label: label.to_owned(),
            value: value.into(),
            unknown: false,
        }
    }

    pub(crate) fn unknown(label: &str, why: impl Into<String>) -> Self {
        Self {
            unknown: true,
            ..Self::known(label, why)
        }
    }
}

/// What Datalinks holds to act for the connection, and whether it can read it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SecretsHeld {
    /// In words: "an access token and a refresh token", "your personal token", …
    pub what: String,
    /// Whether the app registration's client secret is kept too (under the registration).
    pub client_secret: bool,
    /// Why the keyring could not be read just now; nothing is lost.
    pub problem: Option<String>,
}

/// Downloaded files kept on this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LocalCopies {
    pub folder: String,
    #[ts(type = "number")]
    pub files: u64,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// The researcher's open project in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectLedger {
    /// The project, with the master token's expiry and whether it is kept in the keyring.
    pub project: ProjectView,
    /// When Datalinks last made a request for the project (Unix milliseconds).
    #[ts(type = "number | null")]
    pub last_used_ms: Option<i64>,
    /// What the project's download folder holds.
    pub local_copies: Option<LocalCopies>,
}

/// What deleting a connection's local copies did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LocalCopiesDeleted {
    pub summary: String,
    #[ts(type = "number")]
    pub files: u64,
    #[ts(type = "number")]
    pub bytes: u64,
}

impl Datalinks {
    /// The ledger of every connection and of the open project. Asks each provider what was
    /// granted; a provider that cannot be asked now leaves its entry with what is known.
    pub async fn consent_ledger(self: &Arc<Self>) -> Result<ConsentLedger> {
        let records = self.store.connections(ConnectionFilter::All)?;
        let entries = records.iter().map(|record| self.ledger_entry(record));
        let connections = futures::future::join_all(entries)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        let project = match self.open_project_view() {
            Ok(project) => Some(self.project_ledger(project).await?),
            Err(_) => None,
        };
        Ok(ConsentLedger {
            connections,
            project,
            secret_location: self.vault.location(),
        })
    }

    async fn ledger_entry(self: &Arc<Self>, record: &ConnectionRecord) -> Result<LedgerEntry> {
        let connection = self.connection(record.id).await?;
        let registration = self.registration(record.registration_id).await?;
        let adapter = adapter(record.provider);
        let asking = adapter.grants(self, &registration, record);
        let (grants, grants_error) =
            match datalinks_http::audit::action(actions::LEDGER, asking).await {
                Ok(grants) => (grants, None),
                Err(err) => (Vec::new(), Some(err)),
            };
        let revoke_page = adapter.revoke_page(&registration, record);
        if let Some(page) = &revoke_page {
            self.receipt_links.lock().unwrap().insert(page.clone());
        }
        let local_copies = match adapter.local_copies(self, record)? {
            Some(folder) => measure(folder).await?,
            None => None,
        };
        Ok(LedgerEntry {
            connection,
            grants,
            grants_error,
            last_used_ms: self.store.last_request_for(record.id)?,
            secrets: self.secrets_held(&registration, record).await,
            local_copies,
            revoke_page,
        })
    }

    async fn secrets_held(
        &self,
        registration: &Registration,
        record: &ConnectionRecord,
    ) -> SecretsHeld {
        let account = registration.account(&record.account_id);
        let (what, problem) = if record.credential == CredentialKind::PersonalToken {
            let read = self
                .vault_call(move |vault| vault.personal_token(&account))
                .await;
            match read {
                Ok(Some(_)) => ("your personal token".to_owned(), None),
                Ok(None) => ("nothing: the personal token is gone".to_owned(), None),
                Err(err) => ("your personal token".to_owned(), Some(err.message)),
            }
        } else {
            match self.vault_call(move |vault| vault.tokens(&account)).await {
                Ok(Some(tokens)) if tokens.refresh_token.is_some() => {
                    ("an access token and a refresh token".to_owned(), None)
                }
                Ok(Some(_)) => ("an access token".to_owned(), None),
                Ok(None) => ("nothing: its tokens are gone".to_owned(), None),
                Err(err) => ("its tokens".to_owned(), Some(err.message)),
            }
        };
        SecretsHeld {
            what,
            client_secret: registration.record.has_client_secret,
            problem,
        }
    }

    async fn project_ledger(&self, project: ProjectView) -> Result<ProjectLedger> {
        let local_copies = measure(PathBuf::from(&project.download_folder)).await?;
        Ok(ProjectLedger {
            last_used_ms: self.store.last_project_request()?,
            project,
            local_copies,
        })
    }

    /// Deletes the files downloaded for a connection on this computer (its folder under the
    /// download folder); nothing at the provider changes.
    pub async fn delete_local_copies(
        self: &Arc<Self>,
        connection: ConnectionId,
    ) -> Result<LocalCopiesDeleted> {
        let record = self
            .store
            .connection(connection)?
            .ok_or_else(|| crate::no_such_connection(connection))?;
        let Some(folder) = adapter(record.provider).local_copies(self, &record)? else {
            return Err(Error::new(
                ErrorCode::NotFound,
                "Datalinks keeps no local copies for this connection.",
            ));
        };
        let removed =
            tokio::task::spawn_blocking(move || crate::departures::remove_folder(&folder))
                .await
                .map_err(|err| Error::internal(format!("deleting local copies failed: {err}")))??;
        self.record_for(connection, "local_copies_deleted", &removed.summary)?;
        Ok(LocalCopiesDeleted {
            summary: removed.summary,
            files: removed.items.len() as u64,
            bytes: removed.bytes,
        })
    }
}

/// What `folder` holds, if it exists; read off the async workers, since it may hold thousands
/// of files.
async fn measure(folder: PathBuf) -> Result<Option<LocalCopies>> {
    tokio::task::spawn_blocking(move || measure_now(&folder))
        .await
        .map_err(|err| Error::internal(format!("measuring local copies failed: {err}")))?
}

fn measure_now(folder: &Path) -> Result<Option<LocalCopies>> {
    match crate::departures::folder_contents(folder) {
        Ok(contents) => Ok(contents.map(|(items, bytes)| LocalCopies {
            folder: folder.display().to_string(),
            files: items.len() as u64,
            bytes,
        })),
        // Not a folder, or unreadable: the ledger still shows everything else.
        Err(err) => {
            log::warn!(
                "the local copies in {} could not be measured: {err}",
                folder.display()
            );
            Ok(None)
        }
    }
}
