//! "Try with the sandbox": the built-in Open Humans, Open Collective and Human API simulators,
//! run in-process, each a registration of its own. Trying it never touches the person's own
//! registrations, so leaving it needs nothing restored. A sandbox registration names no server
//! address: the sandbox starts the first time one of its registrations is used, on free ports,
//! and its state files keep every grant across restarts.

use crate::providers::adapters;
use crate::registrations::identity_of;
use crate::{Datalinks, DEEP_LINK_REDIRECT_URI};
use datalinks_core::{ConnectionsOverview, Error, Provider, Result, DEEP_LINK_SCHEME};
use datalinks_sandbox::humanapi::{HumanApiConfig, RunningHumanApi};
use datalinks_sandbox::opencollective::{OpenCollectiveConfig, RunningOpenCollective};
use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use datalinks_store::{EventScope, NewRegistration, RegistrationRecord};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The variable that names the built-in sandbox's admin key (`X-Sandbox-Key`), for tests that
/// drive its `/_sandbox/…` endpoints; without it each run makes its own.
pub const ADMIN_KEY_VARIABLE: &str = "DATALINKS_SANDBOX_ADMIN_KEY";
/// Members of the built-in sandbox's project: alice, who joins when she connects, and 119 who have.
const BUILT_IN_PROJECT_MEMBERS: usize = 120;

/// The simulators, each on its own port like the real providers' hosts.
pub(crate) struct Sandboxes {
    pub open_humans: RunningSandbox,
    pub open_collective: RunningOpenCollective,
    pub human_api: RunningHumanApi,
}

impl Sandboxes {
    /// A simulator's URL as settings store addresses: without the trailing slash.
    pub fn address(url: &url::Url) -> String {
        url.as_str().trim_end_matches('/').to_owned()
    }
}

impl Datalinks {
    /// Sets up the sandbox's registration of every provider (once; trying again changes
    /// nothing that exists) and starts the sandbox.
    pub async fn start_sandbox(&self) -> Result<ConnectionsOverview> {
        let sandboxes = self.sandboxes().await?;
        for adapter in adapters() {
            let provider = adapter.provider();
            let app = adapter.sandbox_app(&sandboxes);
            let existing = self
                .store
                .registrations(Some(provider))?
                .into_iter()
                .find(|r| r.sandbox && r.client_id == app.client_id);
            let record = match existing {
                Some(record) => record,
                None => self.new_sandbox_registration(provider, &app.client_id)?,
            };
            let identity = identity_of(&record)?;
            let secret = app.client_secret;
            self.vault_call(move |vault| vault.set_client_secret(&identity, &secret))
                .await?;
            self.forget_cached(record.id);
        }
        self.announce().await;
        self.overview()
    }

    fn new_sandbox_registration(
        &self,
        provider: Provider,
        client_id: &str,
    ) -> Result<RegistrationRecord> {
        let adapter = crate::providers::adapter(provider);
        let options = adapter.sandbox_options();
        let id = self.store.insert_registration(&NewRegistration {
            provider,
            client_id: client_id.to_owned(),
            base_url: String::new(),
            transport: adapter.default_transport(),
            options: options.to_column(),
            sandbox: true,
            has_client_secret: true,
        })?;
        self.store.record_event(
            EventScope {
                provider,
                registration: Some(id),
                connection: None,
            },
            "sandbox_started",
            "Set up the built-in sandbox: its test accounts connect here, beside your own.",
        )?;
        self.registration_record(id)
    }

    /// The running sandbox, started the first time it is needed.
    pub(crate) async fn sandboxes(&self) -> Result<Arc<Sandboxes>> {
        let mut running = self.sandbox.lock().await;
        if let Some(sandboxes) = running.as_ref() {
            return Ok(sandboxes.clone());
        }
        let started = Arc::new(self.launch_sandbox().await?);
        *running = Some(started.clone());
        Ok(started)
    }

    async fn launch_sandbox(&self) -> Result<Sandboxes> {
        let folder = self.data_dir.join("sandbox");
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::storage(format!("Could not create {}: {e}", folder.display())))?;
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        // The admin endpoints' key: fresh for each run, unless tests name one to drive them.
        let admin_key = std::env::var(ADMIN_KEY_VARIABLE)
            .ok()
            .filter(|k| !k.is_empty());
        let failed =
            |e: std::io::Error| Error::internal(format!("The sandbox could not start: {e}"));
        let open_humans = datalinks_sandbox::start(
            SandboxConfig {
                extra_redirect_schemes: vec![DEEP_LINK_SCHEME.to_owned()],
                state_file: Some(folder.join("openhumans.json")),
                admin_key: admin_key.clone(),
                // Enough members for the console's lists, plots and bulk tools to mean something.
                member_count: BUILT_IN_PROJECT_MEMBERS,
                ..SandboxConfig::default()
            },
            any_port,
        )
        .await
        .map_err(failed)?;
        let open_collective = datalinks_sandbox::opencollective::start(
            OpenCollectiveConfig {
                callback_url: DEEP_LINK_REDIRECT_URI.to_owned(),
                state_file: Some(folder.join("opencollective.json")),
                admin_key: admin_key.clone(),
                ..OpenCollectiveConfig::default()
            },
            any_port,
        )
        .await
        .map_err(failed)?;
        let human_api = datalinks_sandbox::humanapi::start(
            HumanApiConfig {
                state_file: Some(folder.join("humanapi.json")),
                admin_key,
                ..HumanApiConfig::default()
            },
            any_port,
        )
        .await
        .map_err(failed)?;
        log::info!(
            "sandbox: Open Humans at {}, Open Collective at {}, Human API at {}",
            open_humans.base_url(),
            open_collective.base_url(),
            human_api.base_url()
        );
        Ok(Sandboxes {
            open_humans,
            open_collective,
            human_api,
        })
    }
}
