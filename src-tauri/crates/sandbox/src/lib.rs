//! A faithful simulator of the Open Humans server (OAuth2 authorize/token/revoke, the direct-sharing
//! API and file downloads), following /work/shared/reference/providers.md §A1–A4. It runs in-process
//! for tests and for people who want to try Datalinks without an Open Humans account.
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
mod download;
pub mod humanapi;
mod oauth;
pub mod opencollective;
mod pages;
pub mod person;
mod redirect_uri;
mod seed;
mod server;
mod session;
mod state;
mod text;
mod urls;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use url::Url;

pub use config::SandboxConfig;
pub use redirect_uri::BUILTIN_REDIRECT_SCHEMES;
pub use seed::{ALL_SCOPES, SEEDED_PASSWORD, SEEDED_USERNAME};
pub use state::{Membership, Stats};

use state::Sandbox;

/// Path of the authorize page, relative to the base URL.
pub const AUTHORIZE_PATH: &str = "/direct-sharing/projects/oauth2/authorize/";
pub const TOKEN_PATH: &str = "/oauth2/token/";
pub const REVOKE_PATH: &str = "/oauth2/revoke_token/";
pub const EXCHANGE_MEMBER_PATH: &str = "/api/direct-sharing/project/exchange-member/";

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
    let server = server::Server::serve(listener, &origin, router(sandbox.clone()))?;
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
        .route(TOKEN_PATH, post(oauth::token))
        .route(REVOKE_PATH, post(oauth::revoke_token))
        .route(EXCHANGE_MEMBER_PATH, any(api::exchange_member))
        .route("/api/direct-sharing/project/", any(api::project))
        .route(
            "/data-management/datafile-download/{id}/",
            get(download::datafile_download),
        )
        .route("/_storage/{*object_key}", get(download::storage_object))
        .route("/_sandbox/stats", get(admin::stats))
        .route("/_sandbox/expire-tokens", post(admin::expire_tokens))
        .route(
            "/_sandbox/fail-token-requests",
            post(admin::fail_token_requests),
        )
        .route("/_sandbox/deauthorize", post(admin::deauthorize))
        .fallback(append_slash)
        .with_state(sandbox)
}

/// Django's `APPEND_SLASH`: a known path without its trailing slash is redirected (301) to it.
async fn append_slash(uri: Uri) -> Response {
    const SLASHED_PATHS: [&str; 6] = [
        "/account/login/",
        AUTHORIZE_PATH,
        TOKEN_PATH,
        REVOKE_PATH,
        EXCHANGE_MEMBER_PATH,
        "/api/direct-sharing/project/",
    ];
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

    /// The project's master access token (valid 24 h from start by default).
    pub fn master_access_token(&self) -> &str {
        &self.sandbox.world.project.master_access_token
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
            file_count: world.member_files(0).len(),
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
