//! "Try with the sandbox": the built-in Open Humans, Open Collective and Human API simulators, run
//! in-process, with their credentials filled in so a new user can try everything without a
//! provider account.

use crate::options::{HumanApiOptions, OpenCollectiveOptions, LOOPBACK_PATH};
use crate::{Datalinks, ProviderOptions, ProviderSettingsView, DEEP_LINK_REDIRECT_URI};
use datalinks_core::{
    now_unix, Error, Provider, Result, SecretString, Transport, DEEP_LINK_SCHEME,
};
use datalinks_oauth::loopback_redirect_uri;
use datalinks_sandbox::humanapi::{HumanApiConfig, RunningHumanApi};
use datalinks_sandbox::opencollective::{OpenCollectiveConfig, RunningOpenCollective};
use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use datalinks_store::ProviderSettings;
use std::net::{Ipv4Addr, SocketAddr};

/// The simulators, each on its own port like the real providers' hosts.
pub(crate) struct Sandboxes {
    open_humans: RunningSandbox,
    open_collective: RunningOpenCollective,
    human_api: RunningHumanApi,
}

/// Who the Human API sandbox links until the person enters their own email.
const SANDBOX_EMAIL: &str = "sandbox.person@example.org";

impl Sandboxes {
    fn base_url(&self, provider: Provider) -> Option<String> {
        let url = match provider {
            Provider::OpenHumans => self.open_humans.base_url(),
            Provider::OpenCollective => self.open_collective.base_url(),
            Provider::HumanApi => self.human_api.base_url(),
        };
        Some(url.as_str().trim_end_matches('/').to_owned())
    }
}

/// What the sandbox registers for a provider and how settings reach it.
struct SandboxApp {
    base_url: String,
    client_id: String,
    client_secret: SecretString,
    /// The provider's own settings pointing at the sandbox; what the person chose is kept.
    options: ProviderOptions,
}

impl Datalinks {
    /// Starts the sandbox (once) and points the settings of every provider at it. Returns
    /// the Open Humans settings.
    pub async fn start_sandbox(&self) -> Result<ProviderSettingsView> {
        let apps = {
            let mut running = self.sandbox.lock().await;
            if running.is_none() {
                *running = Some(self.launch_sandbox(0, 0, 0).await?);
            }
            let sandboxes = running.as_ref().expect("just started");
            let app = |provider, client_id: &str, client_secret: &str, options| SandboxApp {
                base_url: sandboxes.base_url(provider).unwrap_or_default(),
                client_id: client_id.to_owned(),
                client_secret: SecretString::new(client_secret),
                options,
            };
            let (oc, hapi) = (&sandboxes.open_collective, &sandboxes.human_api);
            let hapi_base = sandboxes.base_url(Provider::HumanApi).unwrap_or_default();
            [
                (
                    Provider::OpenHumans,
                    app(
                        Provider::OpenHumans,
                        sandboxes.open_humans.client_id(),
                        sandboxes.open_humans.client_secret(),
                        ProviderOptions::OpenHumans,
                    ),
                ),
                (
                    Provider::OpenCollective,
                    app(
                        Provider::OpenCollective,
                        oc.client_id(),
                        oc.client_secret(),
                        ProviderOptions::OpenCollective(OpenCollectiveOptions {
                            api_url: sandboxes
                                .base_url(Provider::OpenCollective)
                                .unwrap_or_default(),
                            loopback_port: None,
                            ..OpenCollectiveOptions::default()
                        }),
                    ),
                ),
                (
                    Provider::HumanApi,
                    app(
                        Provider::HumanApi,
                        hapi.client_id(),
                        hapi.client_secret(),
                        ProviderOptions::HumanApi(HumanApiOptions {
                            client_user_id: None,
                            email: Some(SANDBOX_EMAIL.to_owned()),
                            connect_script_url: hapi.connect_script_url().to_string(),
                            auth_url: hapi_base.clone(),
                            data_api_url: hapi.data_api_url().to_string(),
                            legacy_url: hapi_base,
                            legacy_flow: false,
                            legacy_connect_script_url: hapi.legacy_connect_script_url().to_string(),
                        }),
                    ),
                ),
            ]
        };
        for (provider, app) in apps {
            self.use_sandbox_app(provider, app).await?;
        }
        self.provider_settings(Provider::OpenHumans)
            .await?
            .ok_or_else(|| Error::internal("sandbox settings vanished"))
    }

    async fn use_sandbox_app(&self, provider: Provider, app: SandboxApp) -> Result<()> {
        let previous = self
            .store
            .provider_settings(provider)?
            .filter(|p| p.sandbox);
        // What the person chose is kept; new Open Collective settings use the deep link.
        let transport = previous.as_ref().map_or(
            match provider {
                Provider::OpenCollective => Transport::DeepLink,
                _ => Transport::Loopback,
            },
            |p| p.transport,
        );
        let kept = previous.as_ref().map(|p| self.options(p)).transpose()?;
        let options = match (app.options, kept) {
            (
                ProviderOptions::OpenCollective(fresh),
                Some(ProviderOptions::OpenCollective(kept)),
            ) => ProviderOptions::OpenCollective(OpenCollectiveOptions {
                scopes: kept.scopes,
                scope_separator: kept.scope_separator,
                loopback_port: kept.loopback_port,
                ..fresh
            }),
            (ProviderOptions::HumanApi(fresh), Some(ProviderOptions::HumanApi(kept))) => {
                ProviderOptions::HumanApi(HumanApiOptions {
                    client_user_id: kept.client_user_id,
                    email: kept.email.or(fresh.email),
                    legacy_flow: kept.legacy_flow,
                    ..fresh
                })
            }
            (fresh, _) => fresh,
        };
        let secret = app.client_secret;
        self.vault_call(move |v| v.set_client_secret(provider, &secret))
            .await?;
        let settings = ProviderSettings {
            provider,
            client_id: app.client_id,
            base_url: app.base_url.clone(),
            transport,
            loopback_path: LOOPBACK_PATH.to_owned(),
            sandbox: true,
            updated_at: now_unix(),
            options: options.to_column(),
        };
        self.store.save_provider_settings(&settings)?;
        self.register_sandbox_callback(&settings).await?;
        self.store.record_event(
            provider,
            "sandbox_started",
            &format!("Using the built-in sandbox at {}.", app.base_url),
        )?;
        self.announce(provider).await;
        Ok(())
    }

    /// At start-up: when settings point at the sandbox, start it again, on its old ports when
    /// free. Each simulator keeps its grants (and Human API its users and their sources) in a
    /// state file under the data folder, so every connection carries on.
    pub async fn resume_sandbox(&self) -> Result<()> {
        let sandbox_port = |provider| -> Result<Option<u16>> {
            Ok(self
                .store
                .provider_settings(provider)?
                .filter(|s| s.sandbox)
                .map(|s| {
                    url::Url::parse(&s.base_url)
                        .ok()
                        .and_then(|u| u.port())
                        .unwrap_or(0)
                }))
        };
        let ports = [
            sandbox_port(Provider::OpenHumans)?,
            sandbox_port(Provider::OpenCollective)?,
            sandbox_port(Provider::HumanApi)?,
        ];
        if ports.iter().all(Option::is_none) {
            return Ok(());
        }
        let [oh, oc, hapi] = ports.map(|port| port.unwrap_or(0));
        let sandboxes = match self.launch_sandbox(oh, oc, hapi).await {
            Ok(sandboxes) => sandboxes,
            Err(_) => self.launch_sandbox(0, 0, 0).await?,
        };
        *self.sandbox.lock().await = Some(sandboxes);
        self.start_sandbox().await.map(|_| ())
    }

    /// Registers with the Open Collective sandbox the callback URL these settings connect with,
    /// as a developer edits their Open Collective app when they change transport or port (it
    /// compares the whole URL). Open Humans takes any loopback port and the deep link as they are.
    pub(crate) async fn register_sandbox_callback(
        &self,
        settings: &ProviderSettings,
    ) -> Result<()> {
        if settings.provider != Provider::OpenCollective || !settings.sandbox {
            return Ok(());
        }
        let callback = match (settings.transport, self.options(settings)?) {
            (Transport::DeepLink, _) => DEEP_LINK_REDIRECT_URI.to_owned(),
            (Transport::Loopback, ProviderOptions::OpenCollective(options)) => {
                // Without a port, connecting says what is missing.
                let Some(port) = options.loopback_port else {
                    return Ok(());
                };
                loopback_redirect_uri(port, &settings.loopback_path)
            }
            _ => {
                return Err(Error::internal(
                    "Open Collective settings of another provider",
                ))
            }
        };
        if let Some(sandboxes) = self.sandbox.lock().await.as_ref() {
            sandboxes
                .open_collective
                .set_callback_url(&callback)
                .map_err(Error::internal)?;
        }
        Ok(())
    }

    pub(crate) async fn sandbox_base_url(&self, provider: Provider) -> Option<String> {
        let running = self.sandbox.lock().await;
        running.as_ref().and_then(|s| s.base_url(provider))
    }

    async fn launch_sandbox(
        &self,
        oh_port: u16,
        oc_port: u16,
        hapi_port: u16,
    ) -> Result<Sandboxes> {
        let folder = self.data_dir.join("sandbox");
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::storage(format!("Could not create {}: {e}", folder.display())))?;
        let config = SandboxConfig {
            extra_redirect_schemes: vec![DEEP_LINK_SCHEME.to_owned()],
            state_file: Some(folder.join("openhumans.json")),
            ..SandboxConfig::default()
        };
        let failed =
            |e: std::io::Error| Error::internal(format!("The sandbox could not start: {e}"));
        let open_humans =
            datalinks_sandbox::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, oh_port)))
                .await
                .map_err(failed)?;
        let open_collective = datalinks_sandbox::opencollective::start(
            OpenCollectiveConfig {
                callback_url: DEEP_LINK_REDIRECT_URI.to_owned(),
                state_file: Some(folder.join("opencollective.json")),
                ..OpenCollectiveConfig::default()
            },
            SocketAddr::from((Ipv4Addr::LOCALHOST, oc_port)),
        )
        .await
        .map_err(failed)?;
        let human_api = datalinks_sandbox::humanapi::start(
            HumanApiConfig {
                state_file: Some(folder.join("humanapi.json")),
                ..HumanApiConfig::default()
            },
            SocketAddr::from((Ipv4Addr::LOCALHOST, hapi_port)),
        )
        .await
        .map_err(failed)?;
        Ok(Sandboxes {
            open_humans,
            open_collective,
            human_api,
        })
    }
}
