//! A faithful simulator of Open Collective's OAuth server and GraphQL v2 API for a personal
//! account (docs/providers/open-collective.md, docs/sandbox.md), served on its own port like a
//! separate host: the frontend's authorize page (sign-in and consent as plain HTML forms),
//! `POST /oauth/token` (node-oauth2-server 5.3.0 with OC's model) and `POST /graphql/v2`. An
//! optional state file keeps the authorization and the user tokens across restarts.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use datalinks_sandbox::opencollective;
//! let oc = opencollective::start(Default::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{} {}", oc.authorize_url(), oc.client_id());
//! oc.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod authorize;
mod config;
mod graphql;
mod jwt;
mod pages;
mod state;
mod token;
mod world;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Router};
use url::Url;

use crate::server::{bind, Server};

pub use config::{OpenCollectiveConfig, TokenResponseShape};
pub use state::Stats;
pub use world::{
    ALL_SCOPES, CONSENT_SCOPES, PERSONAL_TOKEN_SCOPES, SEEDED_EMAIL, SEEDED_PASSWORD, SEEDED_SLUG,
};

use state::OpenCollective;

pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// Where the consent page's form goes: a stand-in for the page's script, which calls the API.
pub const DECISION_PATH: &str = "/oauth/authorize/decision";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const GRAPHQL_PATH: &str = "/graphql/v2";
/// The website's path to the same API, which its documentation gives.
pub const WEBSITE_GRAPHQL_PATH: &str = "/api/graphql/v2";

/// OC stores `callbackUrl` as `new URL(v).toString()`, which the WHATWG parser reproduces.
fn normalized_callback_url(raw: &str) -> Result<String, String> {
    Url::parse(raw)
        .map(String::from)
        .map_err(|error| format!("callback URL {raw:?}: {error}"))
}

/// An Open Collective sandbox serving on a local port. Dropping it stops the server too.
pub struct RunningOpenCollective {
    open_collective: Arc<OpenCollective>,
    server: Server,
}

/// Binds `addr` (port 0 picks a free port) and serves until shut down. Fails with
/// `InvalidInput` when `config.callback_url` is not a URL.
pub async fn start(
    config: OpenCollectiveConfig,
    addr: SocketAddr,
) -> io::Result<RunningOpenCollective> {
    let callback_url = normalized_callback_url(&config.callback_url)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let (listener, origin) = bind(addr).await?;
    let open_collective = Arc::new(OpenCollective::new(&config, callback_url));
    let server = Server::serve(
        listener,
        &origin,
        router(open_collective.clone()),
        config.admin_key.clone(),
    )?;
    Ok(RunningOpenCollective {
        open_collective,
        server,
    })
}

fn router(open_collective: Arc<OpenCollective>) -> Router {
    Router::new()
        .route(
            "/signin",
            get(authorize::signin_page).post(authorize::signin_submit),
        )
        .route(
            AUTHORIZE_PATH,
            get(authorize::authorize_page).post(authorize::authorize_api),
        )
        .route(DECISION_PATH, post(authorize::authorize_decision))
        .route(TOKEN_PATH, post(token::token))
        .route(GRAPHQL_PATH, post(graphql::graphql))
        .route(WEBSITE_GRAPHQL_PATH, post(graphql::graphql))
        .route("/_sandbox/stats", get(admin::stats))
        .route("/_sandbox/expire-codes", post(admin::expire_codes))
        .route("/_sandbox/expire-tokens", post(admin::expire_tokens))
        .route("/_sandbox/expire-jwts", post(admin::expire_jwts))
        .route(
            "/_sandbox/expire-refresh-tokens",
            post(admin::expire_refresh_tokens),
        )
        .route(
            "/_sandbox/expire-personal-token",
            post(admin::expire_personal_token),
        )
        .layer(Extension(graphql::schema()))
        .with_state(open_collective)
}

impl RunningOpenCollective {
    /// `http://127.0.0.1:<port>/`: the frontend and the API are both served here.
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

    /// The authorize page, without parameters.
    pub fn authorize_url(&self) -> Url {
        self.server.endpoint(AUTHORIZE_PATH)
    }

    pub fn token_url(&self) -> Url {
        self.server.endpoint(TOKEN_PATH)
    }

    pub fn graphql_url(&self) -> Url {
        self.server.endpoint(GRAPHQL_PATH)
    }

    /// 20 hex characters.
    pub fn client_id(&self) -> &str {
        &self.open_collective.world.application.client_id
    }

    /// 40 hex characters.
    pub fn client_secret(&self) -> &str {
        &self.open_collective.world.application.client_secret
    }

    /// The application's single `callbackUrl`, normalized (`http://127.0.0.1:53682` becomes
    /// `http://127.0.0.1:53682/`).
    pub fn registered_callback_url(&self) -> String {
        self.open_collective.callback_url()
    }

    /// Registers another callback URL, as the app's developer does on its settings page; codes
    /// are then issued and exchanged for that URL only. Fails when `callback_url` is not a URL.
    pub fn set_callback_url(&self, callback_url: &str) -> Result<(), String> {
        let normalized = normalized_callback_url(callback_url)?;
        self.open_collective.set_callback_url(normalized);
        Ok(())
    }

    /// The seeded user's personal token (header `Personal-Token`), with `PERSONAL_TOKEN_SCOPES`.
    pub fn personal_token(&self) -> &str {
        &self.open_collective.world.personal_token
    }

    /// The personal token reaches the expiry chosen when it was created: Open Collective then
    /// answers it with 401 `Expired Personal Token (Api Key)`.
    pub fn expire_personal_token(&self) {
        self.open_collective.store().personal_token_expired = true;
    }

    pub fn stats(&self) -> Stats {
        self.open_collective.store().stats.clone()
    }

    /// Every access token handed out so far is past its `exp`: the next GraphQL call with it is
    /// answered 401 `jwt_expired`. Refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.open_collective.store().expire_access_tokens();
    }

    /// Every user token is past its stored expiry while its JWT is still valid: GraphQL answers
    /// such a caller anonymously, so `me` is `null` (no 401).
    pub fn expire_stored_access_tokens(&self) {
        self.open_collective.store().expire_stored_access_tokens();
    }

    /// Every refresh token is past its expiry.
    pub fn expire_refresh_tokens(&self) {
        self.open_collective.store().expire_refresh_tokens();
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
