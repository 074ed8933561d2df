//! Mutable server state (sessions, codes, tokens, download keys) and counters.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::SandboxConfig;
use crate::redirect_uri::BUILTIN_REDIRECT_SCHEMES;
use crate::seed::World;
use crate::text::generate_token;

/// Counters for tests: what clients asked of the sandbox so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `POST /oauth2/token/` with `grant_type=authorization_code` (including failed ones).
    pub token_requests_authorization_code: u64,
    /// `POST /oauth2/token/` with `grant_type=refresh_token` (including failed ones).
    pub token_requests_refresh_token: u64,
    /// `POST /oauth2/token/` with a missing or other `grant_type`.
    pub token_requests_other: u64,
    /// Token requests answered 503 because of the failure knob (also counted above).
    pub token_requests_unavailable: u64,
    pub codes_exchanged: u64,
    pub successful_refreshes: u64,
    /// `POST /oauth2/revoke_token/` requests, whatever their outcome.
    pub revocation_requests: u64,
    /// Access or refresh tokens that a revocation request actually found and revoked.
    pub tokens_revoked: u64,
    /// Requests to `/api/direct-sharing/...`, including refused ones.
    pub api_calls: u64,
    /// API requests refused with 401.
    pub api_auth_failures: u64,
    /// Download URLs redirected to storage.
    pub downloads: u64,
}

pub struct Grant {
    pub member: usize,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub expires_at: SystemTime,
}

pub struct CodeChallenge {
    pub challenge: String,
    /// `plain` or `S256`.
    pub method: String,
}

pub struct AccessToken {
    pub member: usize,
    pub scopes: Vec<String>,
    pub expires_at: SystemTime,
}

pub struct RefreshToken {
    pub member: usize,
    pub scopes: Vec<String>,
    /// Cleared when the access token is revoked on its own (DOT's `on_delete=SET_NULL`).
    pub access_token: Option<String>,
}

pub struct DownloadKey {
    pub file_id: u64,
    pub expires_at: SystemTime,
}

pub struct StorageLink {
    pub file_id: u64,
    pub object_key: String,
    pub expires_at: SystemTime,
}

/// A member's standing in the seeded project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    /// Joined through the consent page (or seeded as joined) and not deauthorized since.
    pub authorized: bool,
    /// The `hide-membership` checkbox was ticked on the last consent.
    pub hidden: bool,
}

pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
}

pub enum AccessTokenStatus {
    Valid(usize),
    Expired,
    Unknown,
}

pub struct Store {
    pub access_token_lifetime: Duration,
    pub code_lifetime: Duration,
    pub token_failures_left: u32,
    pub sessions: HashMap<String, usize>,
    pub grants: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub download_keys: HashMap<String, DownloadKey>,
    pub storage_links: HashMap<String, StorageLink>,
    pub memberships: Vec<Membership>,
    pub stats: Stats,
}

impl Store {
    pub fn issue_tokens(&mut self, member: usize, scopes: Vec<String>) -> IssuedTokens {
        let access_token = generate_token();
        let refresh_token = generate_token();
        let scope = scopes.join(" ");
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                member,
                scopes: scopes.clone(),
                expires_at: SystemTime::now() + self.access_token_lifetime,
            },
        );
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshToken {
                member,
                scopes,
                access_token: Some(access_token.clone()),
            },
        );
        IssuedTokens {
            access_token,
            refresh_token,
            expires_in: self.access_token_lifetime.as_secs(),
            scope,
        }
    }

    pub fn access_token_status(&self, token: &str) -> AccessTokenStatus {
        match self.access_tokens.get(token) {
            None => AccessTokenStatus::Unknown,
            // DOT: expired when `now >= expires`.
            Some(found) if SystemTime::now() >= found.expires_at => AccessTokenStatus::Expired,
            Some(found) => AccessTokenStatus::Valid(found.member),
        }
    }

    /// DOT `AccessToken.revoke()`: the token is deleted; a refresh token issued with it survives.
    pub fn revoke_access_token(&mut self, token: &str) -> bool {
        if self.access_tokens.remove(token).is_none() {
            return false;
        }
        for refresh in self.refresh_tokens.values_mut() {
            if refresh.access_token.as_deref() == Some(token) {
                refresh.access_token = None;
            }
        }
        true
    }

    /// DOT `RefreshToken.revoke()`: the refresh token dies together with its access token.
    pub fn revoke_refresh_token(&mut self, token: &str) -> bool {
        match self.refresh_tokens.remove(token) {
            Some(refresh) => {
                if let Some(access) = refresh.access_token {
                    self.access_tokens.remove(&access);
                }
                true
            }
            None => false,
        }
    }

    /// Whether the member holds an unexpired access token covering `scopes` (DOT's auto-approval).
    pub fn has_token_covering(&self, member: usize, scopes: &[String]) -> bool {
        let now = SystemTime::now();
        self.access_tokens.values().any(|token| {
            token.member == member
                && token.expires_at > now
                && scopes.iter().all(|scope| token.scopes.contains(scope))
        })
    }

    /// Open Humans deauthorization: every token of the member is deleted.
    pub fn deauthorize(&mut self, member: usize) {
        self.access_tokens.retain(|_, token| token.member != member);
        self.refresh_tokens
            .retain(|_, token| token.member != member);
        self.memberships[member].authorized = false;
    }
}

pub struct Sandbox {
    pub world: World,
    /// `http://host:port`, used for every absolute URL the server hands out.
    pub origin: String,
    pub allowed_redirect_schemes: Vec<String>,
    pub download_key_lifetime: Duration,
    pub storage_url_lifetime: Duration,
    pub master_token_expires_at: SystemTime,
    store: Mutex<Store>,
}

impl Sandbox {
    pub fn new(config: &SandboxConfig, origin: String) -> Sandbox {
        let world = World::generate(config);
        let mut allowed_redirect_schemes: Vec<String> =
            BUILTIN_REDIRECT_SCHEMES.map(String::from).to_vec();
        allowed_redirect_schemes.extend(config.extra_redirect_schemes.iter().cloned());
        // The seeded alice joins on the consent page; the other seeded members already have.
        let memberships = (0..world.members.len())
            .map(|index| Membership {
                authorized: index != 0,
                hidden: false,
            })
            .collect();
        let store = Store {
            access_token_lifetime: config.access_token_lifetime,
            code_lifetime: config.code_lifetime,
            token_failures_left: config.token_endpoint_failures,
            sessions: HashMap::new(),
            grants: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            download_keys: HashMap::new(),
            storage_links: HashMap::new(),
            memberships,
            stats: Stats::default(),
        };
        Sandbox {
            world,
            origin,
            allowed_redirect_schemes,
            download_key_lifetime: config.download_key_lifetime,
            storage_url_lifetime: config.storage_url_lifetime,
            master_token_expires_at: SystemTime::now() + config.master_token_lifetime,
            store: Mutex::new(store),
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes every access token expired now; returns how many there were.
    pub fn expire_access_tokens(&self) -> usize {
        let now = SystemTime::now();
        let mut store = self.store();
        for token in store.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
        store.access_tokens.len()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}
