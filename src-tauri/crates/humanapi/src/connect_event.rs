//! Connect's results (docs/providers/human-api.md, "Connect") as the isolated Connect webview
//! forwards them: the payload `HumanConnect.on("connect" | "disconnect" | "close", …)` hands to
//! its listener. The channel is untrusted, so anything that is not exactly that shape is refused.

use std::collections::HashSet;
use std::str::FromStr;

use datalinks_core::{Error, ErrorCode, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// A real payload lists a handful of sources; this leaves ample room and bounds the parse.
pub const MAX_CONNECT_EVENT_BYTES: usize = 64 * 1024;
const MAX_SOURCE_NAME_CHARS: usize = 200;

/// Which `HumanConnect.on` event fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectEventKind {
    Connect,
    Disconnect,
    Close,
}

impl FromStr for ConnectEventKind {
    type Err = Error;

    fn from_str(kind: &str) -> Result<Self> {
        match kind {
            "connect" => Ok(Self::Connect),
            "disconnect" => Ok(Self::Disconnect),
            "close" => Ok(Self::Close),
            _ => Err(refused("its kind is not connect, disconnect or close")),
        }
    }
}

/// How Connect was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseStatus {
    Success,
    SessionTokenInvalid,
    SessionTokenExpired,
    MissingSessionToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectOutcome {
    SourceConnected,
    SourceDisconnected,
    Closed(CloseStatus),
}

/// A data source as Connect names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub id: String,
    pub name: String,
}

/// One checked Connect event. The session lists cover the whole Connect session so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectEvent {
    pub outcome: ConnectOutcome,
    pub connected_sources: Vec<SourceRef>,
    pub disconnected_sources: Vec<SourceRef>,
    pub current_connections: Vec<SourceRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum WireStatus {
    Success,
    SessionTokenInvalid,
    SessionTokenExpired,
    MissingSessionToken,
    ConnectedSource,
    DisconnectedSource,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WirePayload {
    status: WireStatus,
    session_results: WireSessionResults,
    current_connections: Vec<SourceRef>,
    // Documented but unused by Datalinks, and their element shape is not pinned down: accepted
    // (within the size limit) and dropped.
    #[serde(default, rename = "requestedProviders")]
    _requested_providers: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireSessionResults {
    connected_sources: Vec<SourceRef>,
    disconnected_sources: Vec<SourceRef>,
    #[serde(default, rename = "requestedSources")]
    _requested_sources: Vec<IgnoredAny>,
}

/// Checks one Connect event: `kind` is the `HumanConnect.on` event name, `json` its payload.
pub fn parse_connect_event(kind: &str, json: &str) -> Result<ConnectEvent> {
    let kind: ConnectEventKind = kind.parse()?;
    if json.len() > MAX_CONNECT_EVENT_BYTES {
        return Err(refused(&format!(
            "it is larger than {MAX_CONNECT_EVENT_BYTES} bytes"
        )));
    }
    let payload: WirePayload =
        // Only the position: serde's message can quote the payload.
        serde_json::from_str(json).map_err(|e| {
            refused(&format!(
                "it is malformed (at line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
    let outcome = match (kind, payload.status) {
        (ConnectEventKind::Connect, WireStatus::ConnectedSource) => ConnectOutcome::SourceConnected,
        (ConnectEventKind::Disconnect, WireStatus::DisconnectedSource) => {
            ConnectOutcome::SourceDisconnected
        }
        (ConnectEventKind::Close, WireStatus::Success) => {
            ConnectOutcome::Closed(CloseStatus::Success)
        }
        (ConnectEventKind::Close, WireStatus::SessionTokenInvalid) => {
            ConnectOutcome::Closed(CloseStatus::SessionTokenInvalid)
        }
        (ConnectEventKind::Close, WireStatus::SessionTokenExpired) => {
            ConnectOutcome::Closed(CloseStatus::SessionTokenExpired)
        }
        (ConnectEventKind::Close, WireStatus::MissingSessionToken) => {
            ConnectOutcome::Closed(CloseStatus::MissingSessionToken)
        }
        _ => return Err(refused("its status does not belong to its kind")),
    };
    let results = payload.session_results;
    let event = ConnectEvent {
        outcome,
        connected_sources: results.connected_sources,
        disconnected_sources: results.disconnected_sources,
        current_connections: payload.current_connections,
    };
    check_sources(&event)?;
    Ok(event)
}

fn check_sources(event: &ConnectEvent) -> Result<()> {
    let lists = [
        &event.connected_sources,
        &event.disconnected_sources,
        &event.current_connections,
    ];
    if let Some(bad) = lists
        .iter()
        .flat_map(|list| list.iter())
        .find(|s| !is_plausible(s))
    {
        return Err(refused(&format!(
            "source {:?} has no 24-hex-digit id or no printable name",
            bad.id.chars().take(40).collect::<String>()
        )));
    }
    let mut seen = HashSet::new();
    if !event.current_connections.iter().all(|s| seen.insert(&s.id)) {
        return Err(refused("it lists a current connection twice"));
    }
    let announced = match event.outcome {
        ConnectOutcome::SourceConnected => &event.connected_sources,
        ConnectOutcome::SourceDisconnected => &event.disconnected_sources,
        ConnectOutcome::Closed(_) => return Ok(()),
    };
    if announced.is_empty() {
        return Err(refused("it announces a change but lists no source"));
    }
    Ok(())
}

fn is_plausible(source: &SourceRef) -> bool {
    let name = source.name.trim();
    is_lower_hex(&source.id, 24..=24)
        && !name.is_empty()
        && source.name.chars().count() <= MAX_SOURCE_NAME_CHARS
        && !source.name.chars().any(char::is_control)
}

/// Human ids are 24 (legacy docs) or 32 (current docs) lower-case hex digits.
pub(crate) fn is_human_id(value: &str) -> bool {
    is_lower_hex(value, 24..=32)
}

fn is_lower_hex(value: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn refused(why: &str) -> Error {
    Error::new(
        ErrorCode::CallbackRefused,
        format!("A Human API Connect event was refused: {why}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const PHARMACY: &str = "5b1daf3f079c652eaf41fd23";

    fn close_payload(status: &str) -> Value {
        json!({
            "status": status,
            "sessionResults": {
                "connectedSources": [{"name": "Starfleet Pharmacy", "id": PHARMACY}],
                "disconnectedSources": [],
                "requestedSources": []
            },
            "currentConnections": [{"name": "Starfleet Pharmacy", "id": PHARMACY}],
            "requestedProviders": []
        })
    }

    fn parse(kind: &str, payload: &Value) -> Result<ConnectEvent> {
        parse_connect_event(kind, &payload.to_string())
    }

    #[test]
    fn every_close_status_is_known() {
        for (status, expected) in [
            ("SUCCESS", CloseStatus::Success),
            ("SESSION_TOKEN_INVALID", CloseStatus::SessionTokenInvalid),
            ("SESSION_TOKEN_EXPIRED", CloseStatus::SessionTokenExpired),
            ("MISSING_SESSION_TOKEN", CloseStatus::MissingSessionToken),
        ] {
            let event = parse("close", &close_payload(status)).unwrap();
            assert_eq!(event.outcome, ConnectOutcome::Closed(expected));
        }
    }

    #[test]
    fn unknown_kind_and_status_are_refused() {
        let error = parse("open", &close_payload("SUCCESS")).unwrap_err();
        assert_eq!(error.code, ErrorCode::CallbackRefused);
        assert!(parse("close", &close_payload("GRANTED")).is_err());
        assert!(parse("close", &close_payload("success")).is_err());
        // A status of another event kind.
        assert!(parse("close", &close_payload("CONNECTED_SOURCE")).is_err());
        assert!(parse("connect", &close_payload("SUCCESS")).is_err());
    }

    #[test]
    fn missing_and_unknown_fields_are_refused() {
        let mut payload = close_payload("SUCCESS");
        payload
            .as_object_mut()
            .unwrap()
            .remove("currentConnections");
        assert!(parse("close", &payload).is_err());

        let mut payload = close_payload("SUCCESS");
        payload["sessionResults"]
            .as_object_mut()
            .unwrap()
            .remove("disconnectedSources");
        assert!(parse("close", &payload).is_err());

        let mut payload = close_payload("SUCCESS");
        payload["redirect"] = json!("https://evil.example");
        assert!(parse("close", &payload).is_err());

        let mut payload = close_payload("SUCCESS");
        payload["currentConnections"][0]["token"] = json!("x");
        assert!(parse("close", &payload).is_err());

        let mut payload = close_payload("SUCCESS");
        payload["requestedProviders"] = json!("not a list");
        assert!(parse("close", &payload).is_err());

        // The 1.x shape.
        let legacy =
            json!({"sessionResults": {"connected": [], "disconnected": []}, "connections": []});
        assert!(parse("close", &legacy).is_err());
    }

    #[test]
    fn malformed_and_duplicate_keys_are_refused() {
        for raw in [
            "",
            "null",
            "[]",
            "{\"status\":\"SUCCESS\"",
            r#"{"status":"SUCCESS","status":"SUCCESS","sessionResults":{"connectedSources":[],"disconnectedSources":[]},"currentConnections":[]}"#,
        ] {
            assert!(parse_connect_event("close", raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn implausible_sources_are_refused() {
        for (id, name) in [
            ("5b1daf3f079c652eaf41fd2", "Short id"),
            ("5B1DAF3F079C652EAF41FD23", "Upper case"),
            ("5b1daf3f079c652eaf41fd2z", "Not hex"),
            ("../../../../etc/passwd000", "Path"),
            (PHARMACY, ""),
            (PHARMACY, "Line\nbreak"),
            (PHARMACY, &"x".repeat(MAX_SOURCE_NAME_CHARS + 1)),
        ] {
            let mut payload = close_payload("SUCCESS");
            payload["currentConnections"] = json!([{"id": id, "name": name}]);
            assert!(parse("close", &payload).is_err(), "{id} {name:?}");
        }
        let mut twice = close_payload("SUCCESS");
        twice["currentConnections"] = json!([
            {"id": PHARMACY, "name": "Starfleet Pharmacy"},
            {"id": PHARMACY, "name": "Starfleet Pharmacy"}
        ]);
        assert!(parse("close", &twice).is_err());
    }

    #[test]
    fn a_change_event_must_name_its_source() {
        let mut payload = close_payload("CONNECTED_SOURCE");
        payload["sessionResults"]["connectedSources"] = json!([]);
        assert!(parse("connect", &payload).is_err());
        let mut payload = close_payload("DISCONNECTED_SOURCE");
        payload["sessionResults"]["disconnectedSources"] =
            json!([{"name": "Starfleet Pharmacy", "id": PHARMACY}]);
        let event = parse("disconnect", &payload).unwrap();
        assert_eq!(event.outcome, ConnectOutcome::SourceDisconnected);
    }

    #[test]
    fn oversized_payloads_are_refused_before_parsing() {
        let mut payload = close_payload("SUCCESS");
        payload["requestedProviders"] = json!(["x".repeat(MAX_CONNECT_EVENT_BYTES)]);
        let error = parse("close", &payload).unwrap_err();
        assert!(error.message.contains("larger than"), "{}", error.message);
    }

    #[test]
    fn human_ids_are_hex_of_a_known_length() {
        assert!(is_human_id("52867cbede3155565f000a0d"));
        assert!(is_human_id("70a1fd8fb4935296647f340dddf7dad6"));
        assert!(!is_human_id("70a1fd8fb4935296647f340dddf7dad6a"));
        assert!(!is_human_id("not-a-human-id-at-all-no"));
    }
}
