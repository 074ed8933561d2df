//! Mutable server state (sessions, codes, the authorization, user tokens, rate windows) and counters.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::config::{OpenCollectiveConfig, TokenResponseShape};
use super::world::{random_hex, World};

/// Counters for tests: what clients asked of the sandbox so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `POST /oauth/token` with `grant_type=authorization_code` (including failed ones).
    pub token_requests_authorization_code: u64,
    /// `POST /oauth/token` with `grant_type=refresh_token` (including failed ones).
    pub token_requests_refresh_token: u64,
    /// `POST /oauth/token` with a missing or other `grant_type`.
    pub token_requests_other: u64,
    pub codes_issued: u64,
    pub codes_exchanged: u64,
    pub successful_refreshes: u64,
    /// User tokens deleted by the one-token-per-(user, app) policy or by a refresh.
    pub tokens_replaced: u64,
    /// Requests to `/graphql/v2`, including refused ones.
    pub graphql_requests: u64,
    /// GraphQL requests answered as anonymous although they carried a token.
    pub graphql_unrecognized_tokens: u64,
    /// GraphQL requests refused with 401 `jwt_expired`.
    pub graphql_expired_tokens: u64,
    /// GraphQL requests refused with 429.
    pub graphql_rate_limited: u64,
}

pub struct AuthorizationCode {
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// S256 challenge.
    pub code_challenge: Option<String>,
    pub expires_at: SystemTime,
}

/// OC's `UserToken` for the seeded user and the seeded application.
pub struct UserToken {
    /// The inner `oauth__…` token carried in the JWT's `access_token` claim.
    pub access_token: String,
    pub access_token_expires_at: SystemTime,
    pub refresh_token: Option<String>,
    pub refresh_token_expires_at: SystemTime,
    pub scopes: Vec<String>,
}

pub struct IssuedToken {
    pub inner_access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: SystemTime,
}

struct RateWindow {
    started: Instant,
    count: u32,
}

pub struct Store {
    pub sessions: HashSet<String>,
    pub codes: HashMap<String, AuthorizationCode>,
    /// OC's `OAuthAuthorization` of the seeded user for the seeded app: its scopes and expiry.
    pub authorization: Option<(Vec<String>, SystemTime)>,
    pub user_tokens: Vec<UserToken>,
    /// Inner tokens of every JWT handed out, and those whose JWT the sandbox treats as expired.
    signed_tokens: Vec<String>,
    pub expired_jwts: HashSet<String>,
    rate_windows: HashMap<String, RateWindow>,
    pub stats: Stats,
}

impl Store {
    /// OC's `model.saveToken`: the "1 token only policy" deletes every token of the user for
    /// the app before the new one is stored.
    pub fn save_token(
        &mut self,
        scopes: Vec<String>,
        settings: &OpenCollectiveConfig,
    ) -> IssuedToken {
        self.stats.tokens_replaced += self.user_tokens.len() as u64;
        self.user_tokens.clear();
        let now = SystemTime::now();
        let mut rng = rand::rng();
        let inner_access_token = format!("oauth__{}", random_hex(&mut rng, 32));
        let refresh_token = (settings.token_response_shape == TokenResponseShape::Current)
            .then(|| format!("oauth_refresh__{}", random_hex(&mut rng, 32)));
        self.user_tokens.push(UserToken {
            access_token: inner_access_token.clone(),
            access_token_expires_at: now + settings.access_token_lifetime,
            refresh_token: refresh_token.clone(),
            refresh_token_expires_at: now + settings.refresh_token_lifetime,
            scopes: scopes.clone(),
        });
        self.signed_tokens.push(inner_access_token.clone());
        IssuedToken {
            inner_access_token,
            refresh_token,
            scopes,
            issued_at: now,
        }
    }

    pub fn user_token(&self, inner_access_token: &str) -> Option<&UserToken> {
        self.user_tokens
            .iter()
            .find(|token| token.access_token == inner_access_token)
    }

    /// Counts a request against `key`'s budget; false when the budget is spent.
    pub fn within_rate_limit(&mut self, key: String, limit: u32, window: Duration) -> bool {
        let now = Instant::now();
        let entry = self.rate_windows.entry(key).or_insert(RateWindow {
            started: now,
            count: 0,
        });
        if now.duration_since(entry.started) >= window {
            *entry = RateWindow {
                started: now,
                count: 0,
            };
        }
        entry.count += 1;
        entry.count <= limit
    }
}

pub struct OpenCollective {
    pub world: World,
    /// The lifetimes, limits and response shape it was started with. The callback URL in force
    /// is the normalized `world.application.callback_url`.
    pub settings: OpenCollectiveConfig,
    store: Mutex<Store>,
}

impl OpenCollective {
    pub fn new(config: &OpenCollectiveConfig, callback_url: String) -> OpenCollective {
        let store = Store {
            sessions: HashSet::new(),
            codes: HashMap::new(),
            authorization: None,
            user_tokens: Vec::new(),
            signed_tokens: Vec::new(),
            expired_jwts: HashSet::new(),
            rate_windows: HashMap::new(),
            stats: Stats::default(),
        };
        OpenCollective {
            world: World::generate(config, callback_url),
            settings: config.clone(),
            store: Mutex::new(store),
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every JWT handed out so far counts as past its `exp`.
    pub fn expire_access_tokens(&self) {
        let mut store = self.store();
        let signed = store.signed_tokens.clone();
        store.expired_jwts.extend(signed);
    }
}
