//! The window's test fixtures start a first setup from the defaults Rust sends; they must be
//! Rust's own, so the UI tests exercise what the app shows.

mod support;

use datalinks_core::Provider;
use serde_json::Value;
use support::{sandbox_config, Harness};

#[tokio::test]
async fn the_uis_fixture_of_first_setup_defaults_is_what_the_service_sends() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../ui/src/test/settings-defaults.json"
    );
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let harness = Harness::new(sandbox_config()).await;
    for provider in [
        Provider::OpenHumans,
        Provider::OpenCollective,
        Provider::HumanApi,
    ] {
        let view = harness.service.provider_settings(provider).await.unwrap();
        let key = serde_json::to_value(provider).unwrap();
        assert_eq!(
            serde_json::to_value(&view.defaults).unwrap(),
            expected[key.as_str().unwrap()],
            "{provider}: update ui/src/test/settings-defaults.json"
        );
    }
}
