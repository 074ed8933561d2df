//! The client against the in-process Human API sandbox (docs/providers/human-api.md).

mod connect_events;
mod data_api;
mod legacy;
mod tokens;

use datalinks_core::{now_unix, ClientSecret};
use datalinks_humanapi::{AuthClient, Config, DataApi, MintedAccessToken};
use datalinks_sandbox::humanapi::{self, HumanApiConfig, RunningHumanApi, SOURCES};

pub struct Setup {
    pub hapi: RunningHumanApi,
    pub auth: AuthClient,
    pub data: DataApi,
}

pub async fn setup() -> Setup {
    setup_with(HumanApiConfig::default()).await
}

pub async fn setup_with(sandbox: HumanApiConfig) -> Setup {
    let hapi = humanapi::start(sandbox, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("Human API sandbox starts");
    let config = config_for(&hapi, hapi.client_secret());
    let http = reqwest::Client::new();
    let auth = AuthClient::new(http.clone(), config).unwrap();
    let data = DataApi::new(http, hapi.data_api_url()).unwrap();
    Setup { hapi, auth, data }
}

/// The sandbox serves every Human API host on one origin.
pub fn config_for(hapi: &RunningHumanApi, client_secret: &str) -> Config {
    Config {
        auth_base_url: hapi.base_url(),
        legacy_base_url: hapi.base_url(),
        data_api_url: hapi.data_api_url(),
        connect_script_url: hapi.connect_script_url(),
        legacy_connect_script_url: hapi.legacy_connect_script_url(),
        client_id: hapi.client_id().to_string(),
        client_secret: ClientSecret::new(client_secret),
    }
}

/// The id of the sandbox source called `name`.
pub fn source_id(name: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|source| source.name == name)
        .expect("a seeded source")
        .id
}

/// A user who went through Connect and connected `sources`, with a fresh access token.
pub async fn connected_user(setup: &Setup, user: &str, sources: &[&str]) -> MintedAccessToken {
    setup
        .auth
        .connect_token(user, &format!("{user}@example.org"))
        .await
        .unwrap();
    for source in sources {
        assert!(setup.hapi.connect_source(user, source_id(source)));
    }
    setup.auth.access_token(user).await.unwrap()
}

/// `expires_at` is `seconds` from now, give or take a slow test machine.
pub fn assert_lifetime(expires_at: i64, seconds: i64) {
    let left = expires_at - now_unix();
    assert!((seconds - 5..=seconds).contains(&left), "{left} s left");
}
