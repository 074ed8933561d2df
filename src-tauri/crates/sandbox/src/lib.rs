//! A faithful simulator of the Open Humans server (OAuth2 authorize/token/revoke, the direct-sharing
//! API for members and for researchers with the master token: members list, messaging, removal,
//! uploads, deletion, and file downloads), following docs/providers/open-humans.md and
//! docs/sandbox.md, with knobs for sized worlds and injected faults, and an optional state file
//! that keeps grants across restarts. It runs in-process for tests and for people who want to try
//! Datalinks without an Open Humans account.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = datalinks_sandbox::start(Default::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{} {}", sandbox.base_url(), sandbox.client_id());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod api;
mod config;
mod content;
mod download;
mod faults;
mod files;
mod form;
mod http;
pub mod humanapi;
mod members;
mod messaging;
mod oauth;
pub mod opencollective;
mod pages;
pub mod person;
mod redirect_uri;
mod seed;
mod server;
mod session;
mod state;
mod state_file;
mod text;
mod upload;
mod urls;
mod webhook;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode, Uri};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use url::Url;

pub use config::SandboxConfig;
pub use faults::{BodyFault, Faults};
pub use redirect_uri::BUILTIN_REDIRECT_SCHEMES;
pub use seed::{ALL_SCOPES, SEEDED_PASSWORD, SEEDED_USERNAME};
pub use server::ADMIN_KEY_HEADER;
pub use state::{Membership, RemovedMember, SentMessage, Stats};

use state::Sandbox;

/// Path of the authorize page, relative to the base URL.
pub const AUTHORIZE_PATH: &str = "/direct-sharing/projects/oauth2/authorize/";
pub const TOKEN_PATH: &str = "/oauth2/token/";
pub const REVOKE_PATH: &str = "/oauth2/revoke_token/";
pub const EXCHANGE_MEMBER_PATH: &str = "/api/direct-sharing/project/exchange-member/";
pub const PROJECT_PATH: &str = "/api/direct-sharing/project/";
pub const MEMBERS_PATH: &str = "/api/direct-sharing/project/members/";
pub const MESSAGE_PATH: &str = "/api/direct-sharing/project/message/";
pub const REMOVE_MEMBERS_PATH: &str = "/api/direct-sharing/project/remove-members/";
pub const UPLOAD_PATH: &str = "/api/direct-sharing/project/files/upload/";
pub const DIRECT_UPLOAD_PATH: &str = "/api/direct-sharing/project/files/upload/direct/";
pub const UPLOAD_COMPLETE_PATH: &str = "/api/direct-sharing/project/files/upload/complete/";
pub const DELETE_FILES_PATH: &str = "/api/direct-sharing/project/files/delete/";

/// Paths that Django's `APPEND_SLASH` redirects to when asked without their trailing slash.
const SLASHED_PATHS: [&str; 13] = [
    "/account/login/",
    AUTHORIZE_PATH,
    TOKEN_PATH,
    REVOKE_PATH,
    EXCHANGE_MEMBER_PATH,
    PROJECT_PATH,
    MEMBERS_PATH,
    MESSAGE_PATH,
    REMOVE_MEMBERS_PATH,
    UPLOAD_PATH,
    DIRECT_UPLOAD_PATH,
    UPLOAD_COMPLETE_PATH,
    DELETE_FILES_PATH,
];

/// The seeded member a person logs in as on the authorize page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededMember {
    pub username: String,
    pub password: String,
    pub project_member_id: String,
    pub sources_shared: Vec<String>,
    pub file_count: usize,
}

/// A sandbox serving on a local port. Dropping it stops the server too.
pub struct RunningSandbox {
    sandbox: Arc<Sandbox>,
    server: server::Server,
}

/// Binds `addr` (port 0 picks a free port) and serves the sandbox until shut down.
pub async fn start(config: SandboxConfig, addr: SocketAddr) -> io::Result<RunningSandbox> {
    let (listener, origin) = server::bind(addr).await?;
    let sandbox = Arc::new(Sandbox::new(&config, origin.clone()));
    let server = server::Server::serve(
        listener,
        &origin,
        router(sandbox.clone()),
        config.admin_key.clone(),
    )?;
    Ok(RunningSandbox { sandbox, server })
}

fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/", get(session::home))
        .route(
            "/account/login/",
            get(session::login_page).post(session::login_submit),
        )
        .route(
            AUTHORIZE_PATH,
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/member/me/connections/", get(session::connections_page))
        .route("/member/me/connections/leave/", post(session::leave_submit))
        .route(TOKEN_PATH, post(oauth::token))
        .route(REVOKE_PATH, post(oauth::revoke_token))
        .route(
            EXCHANGE_MEMBER_PATH,
            any(api::exchange_member).layer(map_response(api::allow_get)),
        )
        .route(
            PROJECT_PATH,
            any(api::project).layer(map_response(api::allow_get)),
        )
        .route("/api/public/project/{id}/", get(api::public_project))
        .route(
            MEMBERS_PATH,
            any(members::members).layer(map_response(api::allow_get)),
        )
        .route(
            MESSAGE_PATH,
            any(messaging::message).layer(map_response(api::allow_post)),
        )
        .route(
            REMOVE_MEMBERS_PATH,
            any(messaging::remove_members).layer(map_response(api::allow_post)),
        )
        .route(
            UPLOAD_PATH,
            any(upload::simple_upload)
                .layer(DefaultBodyLimit::disable())
                .layer(map_response(api::allow_post)),
        )
        .route(
            DIRECT_UPLOAD_PATH,
            any(upload::direct_upload).layer(map_response(api::allow_post)),
        )
        .route(
            UPLOAD_COMPLETE_PATH,
            any(upload::complete_upload).layer(map_response(api::allow_post)),
        )
        .route(
            DELETE_FILES_PATH,
            any(upload::delete_files).layer(map_response(api::allow_post)),
        )
        .route(
            "/data-management/datafile-download/{id}/",
            get(download::datafile_download),
        )
        .route(
            "/_storage/{*object_key}",
            get(download::storage_object)
                .put(upload::storage_put)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/_sandbox/stats", get(admin::stats))
        .route("/_sandbox/expire-tokens", post(admin::expire_tokens))
        .route("/_sandbox/expire-codes", post(admin::expire_codes))
        .route(
            "/_sandbox/fail-token-requests",
            post(admin::fail_token_requests),
        )
        .route("/_sandbox/deauthorize", post(admin::deauthorize))
        .route("/_sandbox/master-token", get(admin::master_token))
        .route(
            "/_sandbox/refresh-master-token",
            post(admin::refresh_master_token),
        )
        .route(
            "/_sandbox/expire-master-token",
            post(admin::expire_master_token),
        )
        .route("/_sandbox/messages", get(admin::messages))
        .route("/_sandbox/removed-members", get(admin::removed_members))
        .route(
            "/_sandbox/webhook",
            get(webhook::settings).post(webhook::set_settings),
        )
        .route("/_sandbox/webhook-deliveries", get(webhook::deliveries))
        .route(
            "/_sandbox/faults",
            get(admin::faults).post(admin::set_faults),
        )
        .fallback(append_slash)
        .layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            faults::inject,
        ))
        .with_state(sandbox)
}

/// Django's `APPEND_SLASH`: a known path without its trailing slash is redirected (301) to it.
async fn append_slash(uri: Uri) -> Response {
    let slashed = format!("{}/", uri.path());
    if !SLASHED_PATHS.contains(&slashed.as_str()) {
        return pages::not_found();
    }
    let location = match uri.query() {
        Some(query) => format!("{slashed}?{query}"),
        None => slashed,
    };
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response()
}

impl RunningSandbox {
    /// `http://127.0.0.1:<port>/` (the loopback address when bound to an unspecified one).
    pub fn base_url(&self) -> Url {
        self.server.base_url().clone()
    }

    /// `METHOD /path` of every request Datalinks (by its User-Agent) sent so far, in order.
    pub fn app_requests(&self) -> Vec<String> {
        self.server.app_requests()
    }

    /// The key the `/_sandbox/…` endpoints take in [`ADMIN_KEY_HEADER`].
    pub fn admin_key(&self) -> &str {
        self.server.admin_key()
    }

    pub fn authorize_url(&self) -> Url {
        self.endpoint(AUTHORIZE_PATH)
    }

    pub fn token_url(&self) -> Url {
        self.endpoint(TOKEN_PATH)
    }

    pub fn revoke_url(&self) -> Url {
        self.endpoint(REVOKE_PATH)
    }

    fn endpoint(&self, path: &str) -> Url {
        self.server.endpoint(path)
    }

    pub fn client_id(&self) -> &str {
        &self.sandbox.world.project.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.sandbox.world.project.client_secret
    }

    /// The project's master access token: 64 alphanumerics, valid for
    /// `SandboxConfig::master_token_lifetime` (24 h) from start or from the last refresh.
    pub fn master_access_token(&self) -> String {
        self.sandbox.store().master_token.token.clone()
    }

    pub fn master_token_expires_at(&self) -> SystemTime {
        self.sandbox.store().master_token.expires_at
    }

    /// The project owner refreshes the master token on the website: a new token, valid for the
    /// configured lifetime; the old one is unknown from now on ("Invalid token."). Returns it.
    pub fn refresh_master_token(&self) -> String {
        let lifetime = self.sandbox.master_token_lifetime;
        self.sandbox.store().refresh_master_token(lifetime)
    }

    /// The master token expires now ("Expired token.") until refreshed.
    pub fn expire_master_token(&self) {
        self.sandbox.store().master_token.expires_at = SystemTime::now();
    }

    /// The project member id of a seeded member, `None` for an unknown username.
    pub fn project_member_id(&self, username: &str) -> Option<String> {
        let member = self.sandbox.world.member_by_username(username)?;
        Some(self.sandbox.world.members[member].project_member_id.clone())
    }

    /// Every email the messaging API sent, oldest first (one per recipient).
    pub fn messages(&self) -> Vec<SentMessage> {
        self.sandbox.store().messages.clone()
    }

    /// Members removed through the remove-members API, in order.
    pub fn removed_members(&self) -> Vec<RemovedMember> {
        self.sandbox.store().removed_members.clone()
    }

    pub fn faults(&self) -> Faults {
        self.sandbox.store().faults.clone()
    }

    /// Replaces the fault knobs (the draws continue from the seeded generator).
    pub fn set_faults(&self, faults: Faults) {
        self.sandbox.store().faults = faults;
    }

    /// `http://127.0.0.1/callback` (any port) and `datalinks://oauth/callback` (only usable when
    /// `datalinks` is in `SandboxConfig::extra_redirect_schemes`). The first is the default.
    pub fn registered_redirect_uris(&self) -> Vec<String> {
        self.sandbox.world.project.redirect_uris.clone()
    }

    /// `alice`, the member people log in as.
    pub fn seeded_member(&self) -> SeededMember {
        let world = &self.sandbox.world;
        let alice = &world.members[0];
        SeededMember {
            username: alice.username.clone(),
            password: SEEDED_PASSWORD.to_string(),
            project_member_id: alice.project_member_id.clone(),
            sources_shared: world.sources.iter().map(|s| s.id_label()).collect(),
            file_count: self.sandbox.member_files(0).len(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.sandbox.store().stats.clone()
    }

    /// Every access token issued so far expires now: the API answers "Expired token." and
    /// auto-approval stops; refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.sandbox.expire_access_tokens();
    }

    /// Lifetime of access tokens issued from now on (`expires_in`).
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.sandbox.store().access_token_lifetime = lifetime;
    }

    /// Lifetime of authorization codes issued from now on.
    pub fn set_code_lifetime(&self, lifetime: Duration) {
        self.sandbox.store().code_lifetime = lifetime;
    }

    /// The next `count` token requests get 503 `temporarily_unavailable`.
    pub fn fail_token_requests(&self, count: u32) {
        self.sandbox.store().token_failures_left = count;
    }

    /// The member withdraws from the project on Open Humans: all their tokens are deleted.
    /// Returns false for an unknown username.
    pub fn deauthorize(&self, username: &str) -> bool {
        match self.sandbox.world.member_by_username(username) {
            Some(member) => {
                self.sandbox.store().deauthorize(member);
                true
            }
            None => false,
        }
    }

    /// The member's standing in the project, `None` for an unknown username.
    pub fn membership(&self, username: &str) -> Option<Membership> {
        let member = self.sandbox.world.member_by_username(username)?;
        Some(self.sandbox.store().memberships[member])
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
