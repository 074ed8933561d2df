// Each test binary uses a different part of this module.
#![allow(dead_code)]

//! A service wired to an in-process sandbox, an in-memory keyring and a scripted person at
//! the "system browser".

pub mod hapi;

use datalinks_core::{
    ConnectionId, ConnectionState, ConnectionView, ConnectionsOverview, Error, Provider,
    RegistrationId, Result, SignInState, SignInTarget, Transport,
};
use datalinks_sandbox::humanapi::{HumanApiConfig, RunningHumanApi};
use datalinks_sandbox::opencollective::{OpenCollectiveConfig, RunningOpenCollective};
use datalinks_sandbox::person::{Answer, Person};
use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use datalinks_service::{
    ConnectLaunch, ConnectWidget, Datalinks, DownloadProgress, Host, HumanApiOptions,
    ListingProgressView, OpenCollectiveOptions, ProviderOptions, ProviderSettingsInput, Report,
    ServiceEvent, UploadProgress,
};
use datalinks_vault::MemoryStore;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::Notify;

pub struct TestHost {
    pub answer: Mutex<Option<Answer>>,
    /// Who signs in on the provider's pages (both sandboxes take the password "sandbox").
    pub username: Mutex<&'static str>,
    pub events: Mutex<Vec<ServiceEvent>>,
    pub download_progress: Mutex<Vec<DownloadProgress>>,
    pub upload_progress: Mutex<Vec<UploadProgress>>,
    pub listing: Mutex<Vec<ListingProgressView>>,
    changed: Notify,
    service: OnceLock<Weak<Datalinks>>,
}

impl Host for TestHost {
    /// Plays the person: answers the sandbox's pages, then lets the browser follow the
    /// redirect to the loopback port, or hands a deep link to the app as the OS would.
    fn open_in_browser(&self, url: &str) -> Result<()> {
        let Some(answer) = *self.answer.lock().unwrap() else {
            return Ok(());
        };
        let url = url.to_owned();
        let service = self.service.get().cloned();
        let person = Person::new(*self.username.lock().unwrap(), "sandbox");
        tokio::spawn(async move {
            let redirect = person
                .answer(&url, answer)
                .await
                .expect("the sandbox pages work");
            if redirect.starts_with("http://127.0.0.1") {
                let page = reqwest::get(&redirect)
                    .await
                    .expect("the loopback listener answers");
                assert!(page.status().is_success());
            } else if let Some(service) = service.and_then(|s| s.upgrade()) {
                service.handle_deep_link(&redirect).await;
            }
        });
        Ok(())
    }

    fn emit(&self, event: ServiceEvent) {
        self.events.lock().unwrap().push(event);
        self.changed.notify_waiters();
    }
}

impl TestHost {
    /// A report that keeps what it is told in `list`, as the window's channel would show it.
    fn recorder<T: Send + 'static>(
        self: &Arc<Self>,
        list: fn(&TestHost) -> &Mutex<Vec<T>>,
    ) -> Report<T> {
        let host = self.clone();
        Arc::new(move |update| {
            list(&host).lock().unwrap().push(update);
            host.changed.notify_waiters();
        })
    }
}

pub struct Harness {
    pub service: Arc<Datalinks>,
    pub host: Arc<TestHost>,
    pub secrets: Arc<MemoryStore>,
    sandbox: Option<RunningSandbox>,
    open_collective: Option<RunningOpenCollective>,
    human_api: Option<RunningHumanApi>,
    pub data_dir: std::path::PathBuf,
}

pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        extra_redirect_schemes: vec!["datalinks".into()],
        ..SandboxConfig::default()
    }
}

impl Harness {
    pub async fn new(config: SandboxConfig) -> Self {
        let sandbox = datalinks_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self::around(Some(sandbox), None, "alice")
    }

    /// A service beside an Open Collective sandbox only, where the person signs in as "ada".
    pub async fn open_collective(config: OpenCollectiveConfig) -> Self {
        let oc = datalinks_sandbox::opencollective::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self::around(
            None,
            Some(oc),
            datalinks_sandbox::opencollective::SEEDED_SLUG,
        )
    }

    /// A service beside a Human API sandbox only.
    pub async fn human_api(config: HumanApiConfig) -> Self {
        let hapi = datalinks_sandbox::humanapi::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut harness = Self::around(None, None, "unused");
        harness.human_api = Some(hapi);
        harness
    }

    pub fn hapi(&self) -> &RunningHumanApi {
        self.human_api
            .as_ref()
            .expect("the Human API sandbox is running")
    }

    /// Human API settings for the sandbox's app, linking `email`.
    pub fn hapi_settings(&self, legacy_flow: bool) -> ProviderSettingsInput {
        let hapi = self.hapi();
        let base = hapi.base_url().to_string();
        ProviderSettingsInput {
            client_id: hapi.client_id().into(),
            client_secret: Some(hapi.client_secret().into()),
            base_url: base.clone(),
            transport: Transport::Loopback,
            personal_token: None,
            options: ProviderOptions::HumanApi(HumanApiOptions {
                email: Some("ada@example.org".into()),
                connect_script_url: hapi.connect_script_url().to_string(),
                auth_url: base.clone(),
                data_api_url: hapi.data_api_url().to_string(),
                legacy_url: base,
                legacy_flow,
                legacy_connect_script_url: hapi.legacy_connect_script_url().to_string(),
            }),
        }
    }

    /// A service with no sandbox of the test's own (for the built-in one).
    pub fn without_sandbox() -> Self {
        Self::around(None, None, datalinks_sandbox::opencollective::SEEDED_SLUG)
    }

    fn around(
        sandbox: Option<RunningSandbox>,
        open_collective: Option<RunningOpenCollective>,
        username: &'static str,
    ) -> Self {
        let data_dir = std::env::temp_dir().join(format!(
            "datalinks-service-test-{}",
            datalinks_oauth::random_state()
        ));
        let host = Arc::new(TestHost {
            answer: Mutex::new(Some(Answer::Authorize)),
            username: Mutex::new(username),
            events: Mutex::default(),
            download_progress: Mutex::default(),
            upload_progress: Mutex::default(),
            listing: Mutex::default(),
            changed: Notify::new(),
            service: OnceLock::new(),
        });
        let secrets = Arc::new(MemoryStore::new());
        let service = Datalinks::open(&data_dir, secrets.clone(), host.clone()).unwrap();
        host.service.set(Arc::downgrade(&service)).unwrap();
        Self {
            service,
            host,
            secrets,
            sandbox,
            open_collective,
            human_api: None,
            data_dir,
        }
    }

    /// Enters the sandbox's credentials as a person would in Settings.
    /// A service beside a sandbox made from `config`, set up with it, and its project opened in
    /// the researcher console (the master token held for the session).
    pub async fn with_open_project(config: SandboxConfig) -> Self {
        let harness = Self::new(config).await;
        harness.configure(Transport::Loopback).await;
        harness
            .service
            .open_project(harness.sandbox().master_access_token(), false)
            .await
            .unwrap();
        harness
    }

    /// Uploads one small file, `result.txt`, to `member` through the console.
    pub async fn upload_result(&self, member: &str) -> datalinks_service::ProjectUploadReport {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("result.txt"), b"result").unwrap();
        let csv = tempfile::tempdir().unwrap();
        std::fs::write(
            csv.path().join("meta.csv"),
            "filename,description,tags\nresult.txt,Study result,\"result,summary\"\n",
        )
        .unwrap();
        self.service
            .upload_to_members(
                datalinks_service::ProjectUploadRequest {
                    member: Some(member.to_owned()),
                    mode: datalinks_service::UploadModeInput::Default,
                    max_size: None,
                },
                folder.path().to_owned(),
                csv.path().join("meta.csv"),
            )
            .await
            .unwrap()
    }

    pub async fn configure(&self, transport: Transport) {
        let input = ProviderSettingsInput {
            client_id: self.sandbox().client_id().into(),
            client_secret: Some(self.sandbox().client_secret().into()),
            base_url: self.sandbox().base_url().to_string(),
            transport,
            personal_token: None,
            options: ProviderOptions::OpenHumans,
        };
        self.service
            .save_provider_settings(Provider::OpenHumans, input)
            .await
            .unwrap();
    }

    pub fn oc(&self) -> &RunningOpenCollective {
        self.open_collective
            .as_ref()
            .expect("the Open Collective sandbox is running")
    }

    /// Open Collective settings for the sandbox's app; `client_secret: None` is a PKCE-only app.
    pub fn oc_settings(&self, client_secret: Option<&str>) -> ProviderSettingsInput {
        let base_url = self.oc().base_url().to_string();
        ProviderSettingsInput {
            client_id: self.oc().client_id().into(),
            client_secret: client_secret.map(str::to_owned),
            base_url: base_url.clone(),
            transport: Transport::DeepLink,
            personal_token: None,
            options: ProviderOptions::OpenCollective(OpenCollectiveOptions {
                api_url: base_url,
                ..OpenCollectiveOptions::default()
            }),
        }
    }

    /// Saves Open Collective settings and connects through the deep link, which must succeed.
    pub async fn connect_oc(&self, input: ProviderSettingsInput) -> ConnectionView {
        self.service
            .save_provider_settings(Provider::OpenCollective, input)
            .await
            .unwrap();
        self.connect_provider(Provider::OpenCollective).await
    }

    pub fn sandbox(&self) -> &RunningSandbox {
        self.sandbox.as_ref().expect("the sandbox is running")
    }

    /// Stops the sandbox: the provider is down.
    pub async fn stop_sandbox(&mut self) {
        self.sandbox.take().expect("running").shutdown().await;
    }

    /// A harness whose Open Humans connection is already connected through `transport`.
    pub async fn connected(transport: Transport) -> Self {
        Self::connected_to(sandbox_config(), transport).await
    }

    /// A harness connected to a sandbox started with `config`.
    pub async fn connected_to(config: SandboxConfig, transport: Transport) -> Self {
        let harness = Self::new(config).await;
        harness.configure(transport).await;
        harness.connect_successfully().await;
        harness
    }

    /// Connects and insists that the connection ends up connected.
    pub async fn connect_successfully(&self) -> ConnectionView {
        self.connect_provider(Provider::OpenHumans).await
    }

    /// The registration new `provider` accounts sign in through: the person's own, else the
    /// sandbox's.
    pub fn registration(&self, provider: Provider) -> RegistrationId {
        self.service
            .sign_in_registration(provider, false)
            .or_else(|_| self.service.sign_in_registration(provider, true))
            .expect("the provider is set up")
    }

    /// Starts a deep-link connection that nobody answers in the browser; returns the authorize
    /// URL it waits on.
    pub async fn start_unanswered_deep_link(&self) -> String {
        self.configure(Transport::DeepLink).await;
        *self.host.answer.lock().unwrap() = None;
        let registration = self.registration(Provider::OpenHumans);
        let overview = self
            .service
            .connect(SignInTarget::NewAccount { registration }, None)
            .await
            .unwrap();
        match waiting(&overview, registration) {
            Some(url) => url,
            None => panic!("waiting"),
        }
    }

    /// Connects a new account of `provider` with its saved settings, the browser answering as
    /// the person would, and checks that it ends connected.
    pub async fn connect_provider(&self, provider: Provider) -> ConnectionView {
        let connected = self.sign_in(provider).await;
        let view = connected.unwrap_or_else(|e| panic!("{provider} did not connect: {e:?}"));
        assert_eq!(
            view.state,
            ConnectionState::Connected,
            "{:?}",
            view.last_error
        );
        view
    }

    /// Signs a new account of `provider` in and returns how the sign-in ended.
    pub async fn sign_in(&self, provider: Provider) -> Result<ConnectionView> {
        let registration = self.registration(provider);
        self.sign_in_with(SignInTarget::NewAccount { registration }, registration)
            .await
    }

    /// Starts the sign-in `target` (through `registration`) and waits for its end.
    pub async fn sign_in_with(
        &self,
        target: SignInTarget,
        registration: RegistrationId,
    ) -> Result<ConnectionView> {
        self.clear_events();
        self.service.connect(target, None).await?;
        let outcome = self.wait_for_sign_in(registration).await;
        match outcome {
            Ok(id) => Ok(self.service.connection(id).await.unwrap()),
            Err(err) => Err(err),
        }
    }

    /// A second start over the same data folder and keyring, as after quitting the app.
    pub fn restarted(&self) -> Arc<Datalinks> {
        Datalinks::open(&self.data_dir, self.secrets.clone(), self.host.clone()).unwrap()
    }

    /// The first connection of `provider`.
    pub fn conn(&self, provider: Provider) -> ConnectionId {
        first_connection(&self.service.overview().unwrap(), provider)
            .unwrap_or_else(|| panic!("no {provider} connection"))
            .id
    }

    /// The first Open Humans connection as the service shows it now.
    pub async fn connection_view(&self) -> ConnectionView {
        self.service
            .connection(self.conn(Provider::OpenHumans))
            .await
            .unwrap()
    }

    /// Signs a new Open Humans account in and returns how it ended.
    pub async fn connect(&self) -> Result<ConnectionView> {
        self.sign_in(Provider::OpenHumans).await
    }

    /// Waits (at most 10 s) for the sign-in through `registration` to end.
    pub async fn wait_for_sign_in(&self, registration: RegistrationId) -> Result<ConnectionId> {
        self.wait_for("the sign-in ended", |host| {
            host.events.lock().unwrap().iter().find_map(|e| match e {
                ServiceEvent::SignInEnded {
                    registration: from,
                    outcome,
                } if *from == registration => Some(outcome.clone()),
                _ => None,
            })
        })
        .await
    }

    /// Waits (at most 10 s) for a connections-changed event whose overview satisfies `done`.
    pub async fn wait_for_overview(
        &self,
        done: impl Fn(&ConnectionsOverview) -> bool,
    ) -> ConnectionsOverview {
        self.wait_for("the connections reached the expected state", |host| {
            let last = host
                .events
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find_map(|e| match e {
                    ServiceEvent::ConnectionsChanged(overview) => Some(overview.clone()),
                    _ => None,
                });
            last.filter(|o| done(o))
        })
        .await
    }

    /// Where a download's progress goes: `host.download_progress`.
    pub fn download_report(&self) -> Report<DownloadProgress> {
        self.host.recorder(|host| &host.download_progress)
    }

    /// Where an upload's progress goes: `host.upload_progress`.
    pub fn upload_report(&self) -> Report<UploadProgress> {
        self.host.recorder(|host| &host.upload_progress)
    }

    /// Where a member listing's pages go: `host.listing`.
    pub fn listing_report(&self) -> Report<ListingProgressView> {
        self.host.recorder(|host| &host.listing)
    }

    /// Waits (at most 10 s) for a download progress report that satisfies `wanted`.
    pub async fn wait_for_progress(
        &self,
        wanted: impl Fn(&DownloadProgress) -> bool,
    ) -> DownloadProgress {
        self.wait_for("the download reached the expected progress", |host| {
            let reports = host.download_progress.lock().unwrap();
            reports.iter().find(|p| wanted(p)).cloned()
        })
        .await
    }

    /// Waits (at most 10 s) for the first upload progress report.
    pub async fn wait_for_upload_progress(&self) -> UploadProgress {
        self.wait_for("an upload progress report", |host| {
            host.upload_progress.lock().unwrap().first().cloned()
        })
        .await
    }

    pub async fn wait_for_notice(&self) -> Error {
        self.wait_for("a notice", |host| {
            host.events.lock().unwrap().iter().find_map(|e| match e {
                ServiceEvent::Notice(error) => Some(error.clone()),
                _ => None,
            })
        })
        .await
    }

    /// Waits (at most 10 s) until `found` finds something in what the host received.
    async fn wait_for<T>(&self, what: &str, found: impl Fn(&TestHost) -> Option<T>) -> T {
        let wait = async {
            loop {
                let changed = self.host.changed.notified();
                if let Some(value) = found(&self.host) {
                    return value;
                }
                changed.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting: {what}"))
    }

    /// The identity a connection's tokens are kept under.
    pub fn account_identity(&self, connection: ConnectionId) -> datalinks_core::AccountIdentity {
        self.service
            .account_identity(connection)
            .expect("the connection exists")
    }

    /// The keyring keys of every token set held, of any connection.
    pub fn token_keys(&self) -> Vec<String> {
        let mut keys = self.secrets.keys();
        keys.retain(|key| key.ends_with("/tokens"));
        keys
    }

    /// The tokens the keyring holds for the first connection of `provider`.
    pub fn stored_tokens(&self, provider: Provider) -> Option<datalinks_vault::TokenSet> {
        let account = self.account_identity(self.conn(provider));
        datalinks_vault::Vault::new(self.secrets.clone())
            .tokens(&account)
            .unwrap()
    }

    pub fn clear_events(&self) {
        self.host.events.lock().unwrap().clear();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The first connection of `provider` in an overview.
pub fn first_connection(
    overview: &ConnectionsOverview,
    provider: Provider,
) -> Option<&ConnectionView> {
    overview.connections().find(|c| c.provider == provider)
}

/// The authorize URL the registration's sign-in waits on, if it waits.
pub fn waiting(overview: &ConnectionsOverview, registration: RegistrationId) -> Option<String> {
    overview
        .sign_ins()
        .find(|s| s.registration.id == registration)
        .and_then(|s| match &s.state {
            SignInState::Waiting { authorize_url, .. } => Some(authorize_url.clone()),
            _ => None,
        })
}

/// The Connect 2.x token of a launch.
pub fn connect_token(launch: &ConnectLaunch) -> &str {
    match &launch.widget {
        ConnectWidget::Current { token } => token.expose(),
        ConnectWidget::Legacy { .. } => panic!("a Connect 2.x launch"),
    }
}
