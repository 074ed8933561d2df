//! Datalinks use cases. The Tauri shell and the CLI are thin layers over [`Datalinks`].

mod connect;
mod disconnect;
mod download;
mod humanapi;
mod member;
mod opencollective;
mod options;
mod progress;
mod project_views;
mod research;
mod sandbox;
mod settings;
mod status;
mod upload;
mod views;

pub use connect::DEEP_LINK_REDIRECT_URI;
pub use datalinks_store::{ConnectedSource, HistoryEvent};
pub use humanapi::{ConnectLaunch, ConnectWidget, CONNECT_RESULT_URL, HAPI_PAGE_SIZE};
pub use opencollective::OC_PAGE_SIZE;
pub use options::{HumanApiOptions, OpenCollectiveOptions, ProviderOptions, LOOPBACK_PATH};
pub use project_views::*;
pub use views::*;

use datalinks_core::{Error, Provider, Result};
use datalinks_oauth::{PendingAttempts, TokenKeeper};
use datalinks_store::Store;
use datalinks_vault::{SecretStore, Vault};
use status::Health;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the service tells its host (the Tauri shell or the CLI) as things happen.
#[derive(Debug, Clone)]
pub enum ServiceEvent {
    ConnectionChanged(datalinks_core::ConnectionView),
    /// Something worth showing that belongs to no single connection (a refused deep link).
    Notice(Error),
    /// How far listing a project's members has come.
    ProjectListing(ListingProgressView),
}

/// What the service needs from the program it runs in.
pub trait Host: Send + Sync + 'static {
    /// Opens a URL in the system browser.
    fn open_in_browser(&self, url: &str) -> Result<()>;
    fn emit(&self, event: ServiceEvent);
    /// Where a running download stands; often, so a host without a progress display ignores it.
    fn download_progress(&self, _progress: &DownloadProgress) {}
    /// Where a running upload stands; as often as `download_progress`.
    fn upload_progress(&self, _progress: &UploadProgress) {}
}

/// The name of the SQLite file in the app data folder.
pub const DATABASE_FILE: &str = "datalinks.sqlite3";

pub struct Datalinks {
    data_dir: PathBuf,
    store: Store,
    vault: Vault,
    host: Arc<dyn Host>,
    http: reqwest::Client,
    /// For file transfers: no overall time limit, only one on each read.
    download_http: reqwest::Client,
    attempts: PendingAttempts,
    keepers: HashMap<Provider, TokenKeeper>,
    /// Loopback listeners of open attempts, aborted on cancel or a new attempt.
    listeners: Mutex<HashMap<Provider, tokio::task::JoinHandle<()>>>,
    /// Live, non-persisted health of each connection (unreachable, keyring trouble, last error).
    health: Mutex<HashMap<Provider, Health>>,
    sandbox: tokio::sync::Mutex<Option<sandbox::Sandboxes>>,
    /// Cancels the running download, if one is running.
    download_run: Mutex<Option<tokio_util::sync::CancellationToken>>,
    /// The researcher's open project, if any.
    project_session: Mutex<Option<research::ProjectSession>>,
    /// Held while the open project's members are listed, so concurrent callers share one listing.
    project_listing: tokio::sync::Mutex<()>,
    /// Provider pages that disconnect receipts linked to: the only pages `open_receipt_link` opens.
    receipt_links: Mutex<std::collections::HashSet<String>>,
    /// The open Human API Connect window, if any.
    connect_window: Mutex<Option<humanapi::ConnectAttempt>>,
}

impl Datalinks {
    /// Opens the service over the app data folder and a secret store (the OS keyring in the
    /// app and CLI; an in-memory store in tests).
    pub fn open(
        data_dir: &Path,
        secrets: Arc<dyn SecretStore>,
        host: Arc<dyn Host>,
    ) -> Result<Arc<Self>> {
        let store = Store::open(data_dir.join(DATABASE_FILE))?;
        let vault = Vault::new(secrets);
        let http = http_client()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::internal(format!("HTTP client: {e}")))?;
        let download_http = http_client()
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::internal(format!("HTTP client: {e}")))?;
        let keepers = Provider::ALL
            .into_iter()
            .map(|p| (p, TokenKeeper::new(p, vault.clone())))
            .collect();
        Ok(Arc::new(Self {
            data_dir: data_dir.to_owned(),
            store,
            vault,
            host,
            http,
            download_http,
            attempts: PendingAttempts::default(),
            keepers,
            listeners: Mutex::default(),
            health: Mutex::default(),
            sandbox: tokio::sync::Mutex::default(),
            download_run: Mutex::default(),
            project_session: Mutex::default(),
            project_listing: tokio::sync::Mutex::default(),
            receipt_links: Mutex::default(),
            connect_window: Mutex::default(),
        }))
    }

    fn keeper(&self, provider: Provider) -> &TokenKeeper {
        &self.keepers[&provider]
    }

    /// Runs a blocking keyring call off the async workers.
    async fn vault_call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Vault) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || f(&vault))
            .await
            .map_err(|e| Error::internal(format!("keyring task failed: {e}")))?
    }

    pub async fn history(&self, provider: Provider) -> Result<Vec<HistoryEvent>> {
        self.store.history(provider, 200)
    }
}

fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("Datalinks/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
}
