//! Connect's payloads as the sandbox's Connect page produces them. Without a browser, the tests do
//! what the page's script does: click through `/_connect/sources/…` and post the same message.

use datalinks_humanapi::{
    parse_connect_event, CloseStatus, ConnectEvent, ConnectOutcome, SourceRef,
};
use serde_json::{json, Value};

use crate::{setup, source_id, Setup};

/// The session so far, kept like the Connect page keeps it.
#[derive(Default)]
struct ConnectSession {
    connected: Vec<Value>,
    disconnected: Vec<Value>,
    current: Value,
}

impl ConnectSession {
    /// The message body the page posts, without its `type`: what `HumanConnect.on` listeners get.
    fn payload(&self, status: &str) -> String {
        json!({
            "status": status,
            "sessionResults": {
                "connectedSources": self.connected,
                "disconnectedSources": self.disconnected,
                "requestedSources": [],
            },
            "currentConnections": self.current,
            "requestedProviders": [],
        })
        .to_string()
    }

    /// A click on a source's button; returns the status the page posts with.
    async fn click(&mut self, setup: &Setup, token: &str, source: &str, action: &str) -> String {
        let url = setup
            .hapi
            .base_url()
            .join(&format!("_connect/sources/{}/{action}", source_id(source)))
            .unwrap();
        let body: Value = reqwest::Client::new()
            .post(url)
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.current = body["currentConnections"].clone();
        match action {
            "connect" => self.connected.push(body["source"].clone()),
            _ => self.disconnected.push(body["source"].clone()),
        }
        body["status"].as_str().unwrap().to_string()
    }
}

/// The status the Connect page shows for `token` (its `hc-status` element).
async fn page_status(setup: &Setup, token: &str) -> String {
    let page = reqwest::get(setup.hapi.connect_page_url(token))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("data-status=\"").unwrap() + "data-status=\"".len();
    page[start..].split('"').next().unwrap().to_string()
}

fn source(name: &str) -> SourceRef {
    SourceRef {
        id: source_id(name).to_string(),
        name: name.to_string(),
    }
}

#[tokio::test]
async fn a_connect_session_as_the_sandbox_reports_it() {
    let setup = setup().await;
    let token = setup
        .auth
        .connect_token("eve", "eve@example.org")
        .await
        .unwrap();
    let token = token.token().expose();
    assert_eq!(page_status(&setup, token).await, "SUCCESS");
    let mut session = ConnectSession::default();

    let status = session.click(&setup, token, "Fitbit", "connect").await;
    let connected = parse_connect_event("connect", &session.payload(&status)).unwrap();
    assert_eq!(connected.outcome, ConnectOutcome::SourceConnected);
    assert_eq!(connected.connected_sources, [source("Fitbit")]);

    let status = session
        .click(&setup, token, "Starfleet Pharmacy", "connect")
        .await;
    parse_connect_event("connect", &session.payload(&status)).unwrap();
    let status = session.click(&setup, token, "Fitbit", "disconnect").await;
    let disconnected = parse_connect_event("disconnect", &session.payload(&status)).unwrap();
    assert_eq!(disconnected.outcome, ConnectOutcome::SourceDisconnected);
    assert_eq!(disconnected.disconnected_sources, [source("Fitbit")]);

    let closed = parse_connect_event("close", &session.payload("SUCCESS")).unwrap();
    assert_eq!(
        closed,
        ConnectEvent {
            outcome: ConnectOutcome::Closed(CloseStatus::Success),
            connected_sources: vec![source("Fitbit"), source("Starfleet Pharmacy")],
            disconnected_sources: vec![source("Fitbit")],
            current_connections: vec![source("Starfleet Pharmacy")],
        }
    );
    let server_side: Vec<String> = setup
        .hapi
        .connected_sources("eve")
        .into_iter()
        .map(|s| s.id)
        .collect();
    let reported: Vec<String> = closed
        .current_connections
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(reported, server_side);
}

#[tokio::test]
async fn connect_closing_on_a_bad_token_is_reported_with_its_status() {
    let setup = setup().await;
    let token = setup
        .auth
        .connect_token("frank", "frank@example.org")
        .await
        .unwrap();
    let token = token.token().expose().to_string();
    setup.hapi.expire_tokens();
    let empty = ConnectSession {
        current: json!([]),
        ..ConnectSession::default()
    };
    for (token, expected) in [
        (token.as_str(), CloseStatus::SessionTokenExpired),
        ("not-a-token", CloseStatus::SessionTokenInvalid),
        ("", CloseStatus::MissingSessionToken),
    ] {
        let status = page_status(&setup, token).await;
        let event = parse_connect_event("close", &empty.payload(&status)).unwrap();
        assert_eq!(event.outcome, ConnectOutcome::Closed(expected), "{status}");
    }
}

#[test]
fn the_web_guide_sample_is_accepted_and_raw_messages_are_not() {
    // The Web Guide's onClose sample (docs/providers/human-api.md, "Connect"), its trailing comma
    // after `disconnectedSources` removed.
    let sample = r#"{
        "status": "SUCCESS",
        "sessionResults": {
            "connectedSources": [
                {"name": "Starfleet Pharmacy", "id": "5b1daf3f079c652eaf41fd23"},
                {"name": "Cleveland Clinic", "id": "54dc427aaa6b4cb7d6203061"}
            ],
            "disconnectedSources": []
        },
        "currentConnections": [
            {"name": "Starfleet Pharmacy", "id": "5b1daf3f079c652eaf41fd23"},
            {"name": "Cleveland Clinic", "id": "54dc427aaa6b4cb7d6203061"}
        ]
    }"#;
    let event = parse_connect_event("close", sample).unwrap();
    assert_eq!(event.current_connections.len(), 2);
    // The raw postMessage data still carries `type`: only the listener payload is accepted.
    let mut raw: Value = serde_json::from_str(sample).unwrap();
    raw["type"] = json!("hapi-connect-close");
    assert!(parse_connect_event("close", &raw.to_string()).is_err());
}
