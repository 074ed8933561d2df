//! "Try with the sandbox": the built-in Open Humans simulator, run in-process, with its
//! credentials filled in so a new user can try everything without a provider account.

use crate::settings::LOOPBACK_PATH;
use crate::{Datalinks, ProviderSettingsView};
use datalinks_core::{
    now_unix, Error, Provider, Result, SecretString, Transport, DEEP_LINK_SCHEME,
};
use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use datalinks_store::ProviderSettings;
use std::net::{Ipv4Addr, SocketAddr};

impl Datalinks {
    /// Starts the sandbox (once) and points Open Humans settings at it.
    pub async fn start_sandbox(&self) -> Result<ProviderSettingsView> {
        let previous = self.store.provider_settings(Provider::OpenHumans)?;
        let transport = previous
            .as_ref()
            .filter(|p| p.sandbox)
            .map_or(Transport::Loopback, |p| p.transport);
        let (base_url, client_id, client_secret) = {
            let mut running = self.sandbox.lock().await;
            if running.is_none() {
                *running = Some(self.launch_sandbox(0).await?);
            }
            let sandbox = running.as_ref().expect("just started");
            (
                sandbox.base_url().as_str().trim_end_matches('/').to_owned(),
                sandbox.client_id().to_owned(),
                sandbox.client_secret().to_owned(),
            )
        };
        let secret = SecretString::new(client_secret);
        self.vault_call(move |v| v.set_client_secret(Provider::OpenHumans, &secret))
            .await?;
        self.store.save_provider_settings(&ProviderSettings {
            provider: Provider::OpenHumans,
            client_id,
            base_url: base_url.clone(),
            transport,
            loopback_path: LOOPBACK_PATH.to_owned(),
            sandbox: true,
            updated_at: now_unix(),
        })?;
        self.store.record_event(
            Provider::OpenHumans,
            "sandbox_started",
            &format!("Using the built-in sandbox at {base_url}."),
        )?;
        self.announce(Provider::OpenHumans).await;
        self.provider_settings(Provider::OpenHumans)
            .await?
            .ok_or_else(|| Error::internal("sandbox settings vanished"))
    }

    /// At start-up: when the settings point at the sandbox, start it again, on its old port
    /// when free. It keeps its grants in a state file, so the connection carries on.
    pub async fn resume_sandbox(&self) -> Result<()> {
        let Some(settings) = self
            .store
            .provider_settings(Provider::OpenHumans)?
            .filter(|s| s.sandbox)
        else {
            return Ok(());
        };
        let port = url::Url::parse(&settings.base_url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(0);
        let sandbox = match self.launch_sandbox(port).await {
            Ok(sandbox) => sandbox,
            Err(_) => self.launch_sandbox(0).await?,
        };
        *self.sandbox.lock().await = Some(sandbox);
        self.start_sandbox().await.map(|_| ())
    }

    pub(crate) async fn sandbox_base_url(&self) -> Option<String> {
        let running = self.sandbox.lock().await;
        running
            .as_ref()
            .map(|s| s.base_url().as_str().trim_end_matches('/').to_owned())
    }
}

impl Datalinks {
    async fn launch_sandbox(&self, port: u16) -> Result<RunningSandbox> {
        let folder = self.data_dir.join("sandbox");
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::storage(format!("Could not create {}: {e}", folder.display())))?;
        let config = SandboxConfig {
            extra_redirect_schemes: vec![DEEP_LINK_SCHEME.to_owned()],
            state_file: Some(folder.join("openhumans.json")),
            ..SandboxConfig::default()
        };
        datalinks_sandbox::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|e| Error::internal(format!("The sandbox could not start: {e}")))
    }
}
