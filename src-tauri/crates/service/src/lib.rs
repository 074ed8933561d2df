//! Datalinks use cases. The Tauri shell and the CLI are thin layers over [`Datalinks`].
//!
//! Connections are the heart of it: each provider has one adapter (`providers/`) behind the
//! [`providers::Adapter`] trait, and everything else — registrations, sign-ins, tokens, health,
//! disconnecting — is provider-neutral and works through it. Every secret belongs to a
//! registration (server addresses and client id) and, for tokens, an account; it is read from
//! the keyring under a name derived from that identity, so it can only reach the servers it
//! was issued by.

mod audit;
mod checklist;
mod console;
mod departures;
mod disconnect;
mod download;
mod humanapi;
mod ledger;
mod member;
mod migrate;
mod opencollective;
mod options;
mod picks;
mod progress;
mod project_views;
mod providers;
mod registrations;
mod research;
mod sandbox;
mod settings;
mod sign_in;
mod status;
mod upload;
mod views;

pub use audit::{AuditPage, AuditRecorder, Subject, AUDIT_PAGE};
pub use checklist::{
    read_checklist, ChecklistItem, ChecklistStep, ConsoleScreen, ProjectChecklist, ProjectStanding,
    UNAPPROVED_MEMBER_CAP,
};
pub use console::{ResearchConsole, DEFAULT_CONCURRENCY};
pub use datalinks_store::{AuditEntry, AuditFacets, AuditFilter, ConnectedSource, HistoryEvent};
pub use datalinks_store::{Departure, DepartureReceipt, DepartureSource, ProjectKey};
pub use departures::{
    check_delivery, project_key_at, DepartureInbox, OnArrival, ReceiverSettings, ReceiverView,
    WebhookCheck, WebhookReceiver,
};
pub use humanapi::{ConnectLaunch, ConnectWidget, CONNECT_RESULT_URL, HAPI_PAGE_SIZE};
pub use ledger::{
    ConsentLedger, Grant, LedgerEntry, LocalCopies, LocalCopiesDeleted, ProjectLedger, SecretsHeld,
};
pub use opencollective::OC_PAGE_SIZE;
pub use options::{HumanApiOptions, OpenCollectiveOptions, ProviderOptions, LOOPBACK_PATH};
pub use picks::{PickId, PickPurpose, PickedPath, Picks};
pub use project_views::*;
pub use providers::ProviderDefaults;
pub use sign_in::DEEP_LINK_REDIRECT_URI;
pub use views::*;

use datalinks_core::{
    ConnectionId, ConnectionsOverview, Error, ErrorCode, Provider, RegistrationId, Result,
};
use datalinks_oauth::{PendingAttempts, TokenKeeper};
use datalinks_store::{HistoryFilter, Store};
use datalinks_vault::{SecretStore, Vault};
use status::Health;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the service tells its host (the Tauri shell or the CLI) as things happen.
#[derive(Debug, Clone)]
pub enum ServiceEvent {
    /// Something about the connections changed; this is how they all look now.
    ConnectionsChanged(ConnectionsOverview),
    /// A sign-in ended: the connection it made or connected again, or why it failed.
    SignInEnded {
        registration: RegistrationId,
        outcome: std::result::Result<ConnectionId, Error>,
    },
    /// Something worth showing that belongs to no single connection (a refused deep link).
    Notice(Error),
    /// The open project's departures inbox changed (a webhook arrived, an entry was handled).
    DeparturesChanged,
}

/// Where long work stands, told to whoever started it: the app passes each command's
/// `tauri::ipc::Channel`, tests record. Called often, at a bounded rate.
pub type Report<T> = Arc<dyn Fn(T) + Send + Sync>;

/// What the service needs from the program it runs in.
pub trait Host: Send + Sync + 'static {
    /// Opens a URL in the system browser.
    fn open_in_browser(&self, url: &str) -> Result<()>;
    fn emit(&self, event: ServiceEvent);
}

/// The name of the SQLite file in the app data folder.
pub const DATABASE_FILE: &str = "datalinks.sqlite3";

pub struct Datalinks {
    data_dir: PathBuf,
    store: Arc<Store>,
    vault: Vault,
    host: Arc<dyn Host>,
    /// Where every request made on someone's behalf is recorded.
    audit: Arc<AuditRecorder>,
    http: reqwest::Client,
    /// For file transfers: no overall time limit, only one on each read.
    download_http: reqwest::Client,
    /// Browser sign-ins waiting for their redirect, one per registration.
    attempts: PendingAttempts<RegistrationId, sign_in::SignIn>,
    /// Loopback listeners of open attempts, aborted on cancel or a new attempt.
    listeners: Mutex<HashMap<RegistrationId, tokio::task::JoinHandle<()>>>,
    /// Each registration's client secret, read from the keyring the first time an exchange or a
    /// refresh needs it, and dropped when the registration's settings change.
    client_secrets: Mutex<HashMap<RegistrationId, datalinks_core::ClientSecret>>,
    /// One token keeper per connection, made on first use.
    keepers: Mutex<HashMap<ConnectionId, Arc<TokenKeeper>>>,
    /// Personal tokens, read from the keyring once per connection.
    personal_tokens: Mutex<HashMap<ConnectionId, datalinks_core::PersonalToken>>,
    /// Live, non-persisted health of each connection (unreachable, keyring trouble, last error).
    health: Mutex<HashMap<ConnectionId, Health>>,
    /// The built-in sandbox, started the first time a sandbox registration is used.
    sandbox: tokio::sync::Mutex<Option<Arc<sandbox::Sandboxes>>>,
    /// Cancels the running download, if one is running.
    download_run: Mutex<Option<tokio_util::sync::CancellationToken>>,
    /// The researcher's open project, if any.
    project_session: Mutex<Option<research::ProjectSession>>,
    /// The open project's webhook receiver, while it is on.
    receiver: Mutex<Option<WebhookReceiver>>,
    /// Held while the open project's members are listed, so concurrent callers share one listing.
    /// Provider pages that disconnect receipts linked to: the only pages `open_receipt_link` opens.
    receipt_links: Mutex<std::collections::HashSet<String>>,
    /// The open Human API Connect window, if any.
    connect_window: Mutex<Option<humanapi::ConnectAttempt>>,
    /// Names of Open Humans sources (`<server> direct-sharing-<id>` → the project's name).
    source_names: Mutex<HashMap<String, String>>,
    /// The revision the last overview was given (see [`ConnectionsOverview::revision`]).
    overview_revision: std::sync::atomic::AtomicU64,
}

impl Datalinks {
    /// Opens the service over the app data folder and a secret store (the OS keyring in the
    /// app and CLI; an in-memory store in tests). Reads nothing from the keyring.
    pub fn open(
        data_dir: &Path,
        secrets: Arc<dyn SecretStore>,
        host: Arc<dyn Host>,
    ) -> Result<Arc<Self>> {
        let store = Arc::new(Store::open(data_dir.join(DATABASE_FILE))?);
        let http = datalinks_http::api();
        let download_http = datalinks_http::transfer();
        Ok(Arc::new(Self {
            data_dir: data_dir.to_owned(),
            audit: AuditRecorder::new(store.clone()),
            store,
            vault: Vault::new(secrets),
            host,
            http,
            download_http,
            attempts: PendingAttempts::default(),
            listeners: Mutex::default(),
            client_secrets: Mutex::default(),
            keepers: Mutex::default(),
            personal_tokens: Mutex::default(),
            health: Mutex::default(),
            receiver: Mutex::default(),
            sandbox: tokio::sync::Mutex::default(),
            download_run: Mutex::default(),
            project_session: Mutex::default(),
            receipt_links: Mutex::default(),
            connect_window: Mutex::default(),
            source_names: Mutex::default(),
            overview_revision: Default::default(),
        }))
    }

    /// Runs a blocking keyring call off the async workers.
    /// The database, for work that outlives a call (the webhook receiver).
    fn store_handle(&self) -> Arc<Store> {
        self.store.clone()
    }

    async fn vault_call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Vault) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || f(&vault))
            .await
            .map_err(|e| Error::internal(format!("keyring task failed: {e}")))?
    }

    /// Appends an event to a connection's history. `detail` must not contain a secret.
    pub(crate) fn record_for(&self, id: ConnectionId, kind: &str, detail: &str) -> Result<()> {
        let connection = self
            .store
            .connection(id)?
            .ok_or_else(|| no_such_connection(id))?;
        self.store.record_event(
            datalinks_store::EventScope {
                provider: connection.provider,
                registration: Some(connection.registration_id),
                connection: Some(id),
            },
            kind,
            detail,
        )
    }

    /// A connection's own events, newest first.
    pub async fn history(&self, connection: ConnectionId) -> Result<Vec<HistoryEvent>> {
        self.store
            .history(HistoryFilter::Connection(connection), 200)
    }

    /// Everything that happened at a registration: sign-ins, settings and its connections'
    /// events, newest first.
    pub async fn registration_history(
        &self,
        registration: RegistrationId,
    ) -> Result<Vec<HistoryEvent>> {
        self.store
            .history(HistoryFilter::Registration(registration), 200)
    }
}

/// The error for a connection id that names nothing (disconnected meanwhile, or never was).
fn no_such_connection(id: ConnectionId) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!("There is no connection {id}: it may have been disconnected. Reload the page."),
    )
}

/// The error for a connection of another provider than the use case serves.
fn wrong_provider(provider: Provider, wanted: Provider) -> Error {
    Error::invalid_input(format!(
        "That is a {provider} connection; this works only with {wanted}."
    ))
}
