//! A simulator of Human API (docs/providers/human-api.md), on its own port like a separate host.
//! Real Human API spreads its roles over several hosts; here they share one port with distinct
//! paths:
//! - `auth.humanapi.co`: `POST /v1/connect/token` (session, id and access tokens);
//! - `user.humanapi.co` (legacy): `POST /v1/connect/tokens` and `POST /v1/connect/publictokens`;
//! - `api.humanapi.co`: the Data API under `/v1/human/...`;
//! - `cdn.humanapi.co`: `GET /humanapi-connect-client@latest.js`;
//! - `hapi-connect.humanapi.co`: the Connect page at `GET /?token=…`, plus `/_connect/...` for its
//!   buttons;
//! - `connect.humanapi.co` (legacy): the Connect 1.x script at `GET /connect.js`, which frames
//!   its page `GET /legacy/?clientId=…&clientUserId=…&publicToken=…`;
//! - `/_sandbox/stats` and `POST /_sandbox/expire-tokens` for out-of-process tests (not Human API).
//!
//! An optional state file keeps the app's users, their connected sources and their tokens across
//! restarts.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use datalinks_sandbox::humanapi;
//! let hapi = humanapi::start(Default::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{} {}", hapi.token_url(), hapi.connect_script_url());
//! hapi.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod connect;
mod data;
mod pdf;
mod records;
mod seed;
mod state;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use url::Url;

use crate::server;
use crate::urls::Params;

pub use config::HumanApiConfig;
pub use connect::page_data as connect_page_data;
pub use seed::{Source, SOURCES};
pub use state::{HumanApiStats, DEMO_ACCESS_TOKEN};

use records::WellnessList;
use state::{HumanApi, TokenKind};

pub const TOKEN_PATH: &str = "/v1/connect/token";
pub const LEGACY_TOKENS_PATH: &str = "/v1/connect/tokens";
pub const LEGACY_PUBLIC_TOKENS_PATH: &str = "/v1/connect/publictokens";
pub const DATA_API_PATH: &str = "/v1/human";
pub const CONNECT_SCRIPT_PATH: &str = "/humanapi-connect-client@latest.js";
pub const LEGACY_CONNECT_SCRIPT_PATH: &str = "/connect.js";

/// A source connected by a user, as Connect reports it (`{name, id}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectedSource {
    pub id: String,
    pub name: String,
}

/// A Human API sandbox serving on a local port. Dropping it stops the server too.
pub struct RunningHumanApi {
    hapi: Arc<HumanApi>,
    server: server::Server,
}

/// Binds `addr` (port 0 picks a free port) and serves the Human API sandbox until shut down.
pub async fn start(config: HumanApiConfig, addr: SocketAddr) -> io::Result<RunningHumanApi> {
    let (listener, origin) = server::bind(addr).await?;
    let hapi = Arc::new(HumanApi::new(&config, origin.clone()));
    let server = server::Server::serve(
        listener,
        &origin,
        router(hapi.clone()),
        config.admin_key.clone(),
    )?;
    Ok(RunningHumanApi { hapi, server })
}

fn router(hapi: Arc<HumanApi>) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(auth::connect_token))
        .route(LEGACY_TOKENS_PATH, post(auth::legacy_finalize))
        .route(LEGACY_PUBLIC_TOKENS_PATH, post(auth::legacy_public_token))
        .route("/v1/human/profile", get(data::profile))
        .route("/v1/human/sources", get(data::sources))
        .route(
            "/v1/human/activities/summaries",
            data::wellness(WellnessList::ActivitySummaries),
        )
        .route("/v1/human/sleeps", data::wellness(WellnessList::Sleeps))
        .route(
            "/v1/human/heart_rate/readings",
            data::wellness(WellnessList::HeartRateReadings),
        )
        .route("/v1/human/medical/reports", get(data::report_list))
        .route("/v1/human/medical/reports/{id}", get(data::report))
        .route("/v1/human/medical/reports/{id}/raw", get(data::report_raw))
        .route(CONNECT_SCRIPT_PATH, get(connect::script))
        .route("/", get(connect::page))
        .route(LEGACY_CONNECT_SCRIPT_PATH, get(connect::legacy_script))
        .route("/legacy/", get(connect::legacy_page))
        .route(
            "/_connect/sources/{id}/{action}",
            post(connect::change_source),
        )
        .route("/_sandbox/stats", get(admin_stats))
        .route("/_sandbox/expire-tokens", post(admin_expire_tokens))
        .with_state(hapi)
}

async fn admin_stats(State(hapi): State<Arc<HumanApi>>) -> Json<HumanApiStats> {
    Json(hapi.store().stats.clone())
}

/// `POST /_sandbox/expire-tokens[?kind=session|id|access]`: every token issued so far, or those
/// of one kind, expires now.
async fn admin_expire_tokens(State(hapi): State<Arc<HumanApi>>, uri: Uri) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let kind = match query.get("kind") {
        None => None,
        Some("session") => Some(TokenKind::Session),
        Some("id") => Some(TokenKind::Id),
        Some("access") => Some(TokenKind::Access),
        Some(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "kind must be session, id or access",
            )
                .into_response()
        }
    };
    let expired = hapi.store().expire_tokens(kind);
    Json(json!({ "expired": expired })).into_response()
}

impl RunningHumanApi {
    /// `http://127.0.0.1:<port>/`: also Connect's base URL (the `baseURL` option).
    pub fn base_url(&self) -> Url {
        self.server.base_url().clone()
    }

    /// `METHOD /path` of every request Datalinks (by its User-Agent) sent so far, in order.
    pub fn app_requests(&self) -> Vec<String> {
        self.server.app_requests()
    }

    /// The key the `/_sandbox/…` endpoints take in `X-Sandbox-Key`.
    pub fn admin_key(&self) -> &str {
        self.server.admin_key()
    }

    /// `POST` here for session, id and access tokens.
    pub fn token_url(&self) -> Url {
        self.server.endpoint(TOKEN_PATH)
    }

    /// The Data API root, `…/v1/human`.
    pub fn data_api_url(&self) -> Url {
        self.server.endpoint(DATA_API_PATH)
    }

    /// The script to load with `<script src>`; it defines `window.HumanConnect`.
    pub fn connect_script_url(&self) -> Url {
        self.server.endpoint(CONNECT_SCRIPT_PATH)
    }

    /// The Connect 1.x script; it defines `window.HumanConnect` with the 1.x `open` options.
    pub fn legacy_connect_script_url(&self) -> Url {
        self.server.endpoint(LEGACY_CONNECT_SCRIPT_PATH)
    }

    /// The Connect page for `token`, as the script frames it (or to open as a top-level window).
    pub fn connect_page_url(&self, token: &str) -> Url {
        let mut url = self.base_url();
        url.query_pairs_mut().append_pair("token", token);
        url
    }

    pub fn client_id(&self) -> &str {
        &self.hapi.app.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.hapi.app.client_secret
    }

    pub fn stats(&self) -> HumanApiStats {
        self.hapi.store().stats.clone()
    }

    /// Every session, id and access token issued so far expires now (Connect then reports
    /// `SESSION_TOKEN_EXPIRED` and the Data API answers 401). The `demo` token is not affected.
    pub fn expire_tokens(&self) {
        self.hapi.store().expire_tokens(None);
    }

    /// The `human_id` of an app user, once a session token was requested for them.
    pub fn human_id(&self, client_user_id: &str) -> Option<String> {
        let store = self.hapi.store();
        Some(
            store
                .human_by_client_user_id(client_user_id)?
                .human_id
                .clone(),
        )
    }

    /// The user's current connections, in the order they were made (empty for an unknown user).
    pub fn connected_sources(&self, client_user_id: &str) -> Vec<ConnectedSource> {
        let store = self.hapi.store();
        store
            .human_by_client_user_id(client_user_id)
            .map(|human| {
                human
                    .connections
                    .iter()
                    .map(|connection| ConnectedSource {
                        id: connection.source.id.to_string(),
                        name: connection.source.name.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Connects a source as if the user had clicked it in Connect. False for an unknown user or
    /// source, or a source already connected.
    pub fn connect_source(&self, client_user_id: &str, source_id: &str) -> bool {
        self.change_source(client_user_id, source_id, true)
    }

    /// Disconnects a source as if the user had clicked "Disconnect" in Connect.
    pub fn disconnect_source(&self, client_user_id: &str, source_id: &str) -> bool {
        self.change_source(client_user_id, source_id, false)
    }

    fn change_source(&self, client_user_id: &str, source_id: &str, connect: bool) -> bool {
        let Some(source) = seed::source_by_id(source_id) else {
            return false;
        };
        let mut store = self.hapi.store();
        let Some(human_id) = store
            .human_by_client_user_id(client_user_id)
            .map(|human| human.human_id.clone())
        else {
            return false;
        };
        if connect {
            store.connect(&human_id, source)
        } else {
            store.disconnect(&human_id, source)
        }
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
