//! Human API helpers shared by the tests: settings for the sandbox's app, and Connect as the
//! person works it.

use super::Harness;
use datalinks_core::{Provider, SignInTarget};
use datalinks_sandbox::humanapi::{HumanApiConfig, SOURCES};
use datalinks_service::ConnectLaunch;
use serde_json::json;

const HAPI: Provider = Provider::HumanApi;

/// A Human API sandbox with the sandbox's app saved in the settings.
pub async fn configured(legacy_flow: bool) -> Harness {
    let harness = Harness::human_api(HumanApiConfig::default()).await;
    harness
        .service
        .save_provider_settings(HAPI, harness.hapi_settings(legacy_flow))
        .await
        .unwrap();
    harness
}

/// Opens Connect for the person the settings name.
pub async fn start(harness: &Harness) -> ConnectLaunch {
    let registration = harness.registration(HAPI);
    harness
        .service
        .hapi_start_connect(SignInTarget::NewAccount { registration })
        .await
        .unwrap()
}

/// The payload Connect hands its `onConnectSource` / `onDisconnectSource` / `onClose`
/// listeners, with the person's connections as the sandbox holds them.
pub fn payload(harness: &Harness, user: &str, status: &str, connected: &[usize]) -> String {
    let source = |i: &usize| json!({"name": SOURCES[*i].name, "id": SOURCES[*i].id});
    let current: Vec<_> = harness
        .hapi()
        .connected_sources(user)
        .into_iter()
        .map(|s| json!({"name": s.name, "id": s.id}))
        .collect();
    json!({
        "status": status,
        "sessionResults": {
            "connectedSources": connected.iter().map(source).collect::<Vec<_>>(),
            "disconnectedSources": [],
            "requestedSources": [],
        },
        "currentConnections": current,
        "requestedProviders": [],
    })
    .to_string()
}

/// Opens Connect, connects `sources` in it, and closes it, as the person would.
pub async fn connect_sources(harness: &Harness, sources: &[usize]) -> ConnectLaunch {
    let launch = start(harness).await;
    let user = launch.client_user_id.clone();
    for i in sources {
        assert!(harness.hapi().connect_source(&user, SOURCES[*i].id));
        let event = payload(harness, &user, "CONNECTED_SOURCE", &[*i]);
        harness
            .service
            .apply_connect_event(&launch.attempt_id, "connect", &event)
            .await
            .unwrap();
    }
    let closed = payload(harness, &user, "SUCCESS", sources);
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "close", &closed)
        .await
        .unwrap();
    launch
}
