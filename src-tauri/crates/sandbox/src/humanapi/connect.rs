//! The Connect stand-in (docs/providers/human-api.md, "Connect"): the CDN script defining
//! `window.HumanConnect`, the Connect page it frames (`hapi-connect.humanapi.co/?token=…`) and the
//! page's own endpoints.
//!
//! Contract of the page, for people and WebDriver tests (switch into the iframe
//! `[data-testid=hc-frame]`, or open `<base_url>?token=…` as a top-level window):
//! - `hc-status`: `data-status` is `SUCCESS`, `SESSION_TOKEN_INVALID`, `SESSION_TOKEN_EXPIRED` or
//!   `MISSING_SESSION_TOKEN`; sources are listed only on `SUCCESS`.
//! - `hc-row-<source id>` (with `data-connected="true|false"`) per source, holding the button
//!   `hc-connect-source` or `hc-disconnect-source`, whose `data-source-id` names the source.
//! - `hc-close`: closes Connect with the current status.
//!
//! Connecting takes one click (no login at the source, unlike the real Connect). Each change is
//! kept server side and posted to the parent (or opener) as `hapi-connect-connect-source` /
//! `hapi-connect-disconnect-source` with status `CONNECTED_SOURCE` / `DISCONNECTED_SOURCE` ([INF]
//! for the latter); closing posts `hapi-connect-close`. Every message also carries
//! `sessionResults{connectedSources, disconnectedSources, requestedSources}`,
//! `currentConnections` and `requestedProviders`. A token that expires while Connect is open turns
//! the status to `SESSION_TOKEN_EXPIRED` at the next click. An invalid token shows an error and waits
//! for `hc-close` rather than closing by itself ([INF]).
//!
//! The Connect 1.x page (`/legacy/`) is the same page: its session's `sessionTokenObject` goes to
//! `finish` when `hc-close` is clicked after a source was connected, and otherwise `close()` is
//! called ([INF]: docs/providers/human-api.md, "The legacy Connect 1.x flow", says `finish`
//! follows connecting, not how 1.x closes).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::seed::{source_by_id, Source, SOURCES};
use super::state::{Human, HumanApi, TokenCheck, TokenKind};
use crate::state::token_digest;
use crate::text::escape_html;
use crate::urls::Params;

const CONNECT_SCRIPT: &str = include_str!("connect.js");
const WIDGET_SCRIPT: &str = include_str!("widget.js");

/// `GET /humanapi-connect-client@latest.js` (the CDN), with Connect's base URL set to this server.
pub async fn script(State(hapi): State<Arc<HumanApi>>) -> Response {
    script_response(&hapi, false)
}

/// `GET /connect.js`: the Connect 1.x script (`connect.humanapi.co/connect.js`;
/// docs/providers/human-api.md, "The legacy Connect 1.x flow").
pub async fn legacy_script(State(hapi): State<Arc<HumanApi>>) -> Response {
    script_response(&hapi, true)
}

fn script_response(hapi: &HumanApi, legacy: bool) -> Response {
    let script = CONNECT_SCRIPT
        .replace("__BASE_URL__", &hapi.origin)
        .replace("__LEGACY__", if legacy { "true" } else { "false" });
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        script,
    )
        .into_response()
}

/// What a Connect token stands for.
enum Launch {
    Human(String),
    Refused(&'static str),
}

fn launch(hapi: &HumanApi, token: Option<&str>) -> Launch {
    let Some(token) = token else {
        return Launch::Refused("MISSING_SESSION_TOKEN");
    };
    match hapi
        .store()
        .check(token, &[TokenKind::Session, TokenKind::Id])
    {
        TokenCheck::Valid(human_id) => Launch::Human(human_id),
        TokenCheck::Expired => Launch::Refused("SESSION_TOKEN_EXPIRED"),
        TokenCheck::Unknown => Launch::Refused("SESSION_TOKEN_INVALID"),
    }
}

fn source_json(source: &Source) -> Value {
    json!({ "name": source.name, "id": source.id })
}

fn current_connections(human: &Human) -> Vec<Value> {
    human
        .connections
        .iter()
        .map(|connection| source_json(connection.source))
        .collect()
}

/// `GET /?token=…`: the Connect page.
pub async fn page(State(hapi): State<Arc<HumanApi>>, uri: Uri) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let token = query.non_empty("token");
    hapi.store().stats.connect_launches += 1;
    let (status, connections) = match launch(&hapi, token) {
        Launch::Human(human_id) => {
            let store = hapi.store();
            let connections = store
                .human(&human_id)
                .map(current_connections)
                .unwrap_or_default();
            ("SUCCESS", connections)
        }
        Launch::Refused(status) => (status, Vec::new()),
    };
    render_page(status, token.unwrap_or_default(), connections, None)
}

/// `GET /legacy/?clientId=…&clientUserId=…&publicToken=…`: the Connect 1.x page. An empty
/// `publicToken` starts a new user; a user's current one reopens Connect for them (edit mode).
/// The page starts a session whose `sessionTokenObject` Connect hands to `finish` once a source
/// was connected. The refusal statuses are this sandbox's own ([INF]).
pub async fn legacy_page(State(hapi): State<Arc<HumanApi>>, uri: Uri) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let client_user_id = query.non_empty("clientUserId");
    let public_token = query.non_empty("publicToken");
    let mut store = hapi.store();
    store.stats.connect_launches += 1;
    let refused = |status| render_page(status, "", Vec::new(), None);
    if query.non_empty("clientId") != Some(hapi.app.client_id.as_str()) {
        return refused("INVALID_CLIENT_ID");
    }
    let Some(client_user_id) = client_user_id else {
        return refused("MISSING_CLIENT_USER_ID");
    };
    let human = store.human_for(client_user_id);
    if public_token.is_some_and(|token| token_digest(token) != human.public_token_digest) {
        return refused("INVALID_PUBLIC_TOKEN");
    }
    let (human_id, connections) = (human.human_id.clone(), current_connections(human));
    let (session_token, _) = store.issue(TokenKind::Session, &human_id);
    let session_token_object = json!({
        "humanId": human_id,
        "clientId": hapi.app.client_id,
        "sessionToken": session_token,
    });
    render_page(
        "SUCCESS",
        &session_token,
        connections,
        Some(session_token_object),
    )
}

/// The data a Connect page hands its script (the JSON of `#hc-data`), for tests that drive the
/// page without a browser.
pub fn page_data(html: &str) -> Option<Value> {
    let start = html.find(DATA_ELEMENT)? + DATA_ELEMENT.len();
    let end = start + html[start..].find("</script>")?;
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).ok()
}

const DATA_ELEMENT: &str = "<script id=\"hc-data\" type=\"application/json\">";

fn render_page(
    status: &str,
    token: &str,
    connections: Vec<Value>,
    session_token_object: Option<Value>,
) -> Response {
    let data = json!({
        "status": status,
        "token": token,
        "sources": SOURCES.iter().map(source_json).collect::<Vec<_>>(),
        "currentConnections": connections,
        "sessionTokenObject": session_token_object,
        "messages": {
            "SUCCESS": "Connect your health data.",
            "SESSION_TOKEN_INVALID": "This Connect link is not valid.",
            "SESSION_TOKEN_EXPIRED": "This Connect session has expired.",
            "MISSING_SESSION_TOKEN": "No session token was given.",
            "INVALID_CLIENT_ID": "This app is not known to Human API.",
            "MISSING_CLIENT_USER_ID": "No clientUserId was given.",
            "INVALID_PUBLIC_TOKEN": "This public token is not the user's current one.",
        },
    });
    // `</` cannot end the script element early once escaped.
    let data = data.to_string().replace("</", "<\\/");
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Human API Connect (sandbox)</title>\n\
<style>body{{font-family:sans-serif;margin:24px}}li{{margin:8px 0}}.sandbox-banner{{color:#a33}}</style>\n</head>\n<body>\n\
<p class=\"sandbox-banner\">Human API sandbox: a simulator for testing, not the real Human API.</p>\n\
<h1>Connect</h1>\n<p data-testid=\"hc-status\" data-status=\"{status}\"></p>\n<ul data-testid=\"hc-sources\"></ul>\n\
<p><button type=\"button\" data-testid=\"hc-close\">Close</button></p>\n\
{DATA_ELEMENT}{data}</script>\n<script>{WIDGET_SCRIPT}</script>\n</body>\n</html>\n",
        status = escape_html(status),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `POST /_connect/sources/{id}/{connect|disconnect}` with JSON `{"token": …}`: the page's clicks.
pub async fn change_source(
    State(hapi): State<Arc<HumanApi>>,
    Path((source_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| {
            body.get("token")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|token| !token.is_empty());
    let human_id = match launch(&hapi, token.as_deref()) {
        Launch::Human(human_id) => human_id,
        Launch::Refused(status) => {
            return (StatusCode::UNAUTHORIZED, Json(json!({ "status": status }))).into_response()
        }
    };
    let Some(source) = source_by_id(&source_id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "status": "UNKNOWN_SOURCE" })),
        )
            .into_response();
    };
    let mut store = hapi.store();
    let status = match action.as_str() {
        "connect" => {
            store.connect(&human_id, source);
            "CONNECTED_SOURCE"
        }
        "disconnect" => {
            store.disconnect(&human_id, source);
            "DISCONNECTED_SOURCE"
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "status": "UNKNOWN_ACTION" })),
            )
                .into_response()
        }
    };
    let connections = store
        .human(&human_id)
        .map(current_connections)
        .unwrap_or_default();
    Json(json!({
        "status": status,
        "source": source_json(source),
        "currentConnections": connections,
    }))
    .into_response()
}
