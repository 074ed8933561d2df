//! Mutable server state (sessions, codes, the authorization, user tokens, rate windows) and counters.
//!
//! Tokens are kept by their digest, as in the Open Humans simulator: the optional state file, which
//! keeps the grants across restarts of the app, never holds a usable token.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::config::{OpenCollectiveConfig, TokenResponseShape};
use super::world::{random_hex, World};
use crate::state::token_digest;
use crate::state_file::{self, Persist, PersistentGuard, PersistentMutex};

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

/// OC's `OAuthAuthorization` of the seeded user for the seeded app.
#[derive(Serialize, Deserialize)]
pub struct Authorization {
    pub scopes: Vec<String>,
    pub expires_at: SystemTime,
}

/// OC's `UserToken` for the seeded user and the seeded application.
#[derive(Serialize, Deserialize)]
pub struct UserToken {
    /// [`token_digest`] of the inner `oauth__…` token carried in the JWT's `access_token` claim.
    access_token: String,
    pub access_token_expires_at: SystemTime,
    /// [`token_digest`] of the refresh token.
    refresh_token: Option<String>,
    pub refresh_token_expires_at: SystemTime,
    pub scopes: Vec<String>,
}

/// What outlives a restart: the authorization and the user tokens.
#[derive(Default, Serialize, Deserialize)]
pub struct Grants {
    pub authorization: Option<Authorization>,
    user_tokens: Vec<UserToken>,
    /// Digests of the inner tokens of every JWT handed out, and of those whose JWT the sandbox
    /// treats as expired.
    signed_tokens: Vec<String>,
    expired_jwts: HashSet<String>,
}

/// The state file's content: the grants, and the seed of the world they belong to.
#[derive(Serialize, Deserialize)]
struct Saved<G> {
    seed: u64,
    grants: G,
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
    seed: u64,
    pub sessions: HashSet<String>,
    pub codes: HashMap<String, AuthorizationCode>,
    pub grants: Grants,
    rate_windows: HashMap<String, RateWindow>,
    /// The seeded personal token reached the expiry its owner chose.
    pub personal_token_expired: bool,
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
        let grants = &mut self.grants;
        self.stats.tokens_replaced += grants.user_tokens.len() as u64;
        grants.user_tokens.clear();
        let now = SystemTime::now();
        let mut rng = rand::rng();
        let inner_access_token = format!("oauth__{}", random_hex(&mut rng, 32));
        let refresh_token = (settings.token_response_shape == TokenResponseShape::Current)
            .then(|| format!("oauth_refresh__{}", random_hex(&mut rng, 32)));
        let access_token = token_digest(&inner_access_token);
        grants.signed_tokens.push(access_token.clone());
        grants.user_tokens.push(UserToken {
            access_token,
            access_token_expires_at: now + settings.access_token_lifetime,
            refresh_token: refresh_token.as_deref().map(token_digest),
            refresh_token_expires_at: now + settings.refresh_token_lifetime,
            scopes: scopes.clone(),
        });
        IssuedToken {
            inner_access_token,
            refresh_token,
            scopes,
            issued_at: now,
        }
    }

    pub fn user_token(&self, inner_access_token: &str) -> Option<&UserToken> {
        let digest = token_digest(inner_access_token);
        self.grants
            .user_tokens
            .iter()
            .find(|token| token.access_token == digest)
    }

    pub fn user_token_by_refresh_token(&self, refresh_token: &str) -> Option<&UserToken> {
        let digest = token_digest(refresh_token);
        self.grants
            .user_tokens
            .iter()
            .find(|token| token.refresh_token.as_ref() == Some(&digest))
    }

    /// Whether the JWT carrying `inner_access_token` counts as past its `exp`.
    pub fn jwt_expired(&self, inner_access_token: &str) -> bool {
        self.grants
            .expired_jwts
            .contains(&token_digest(inner_access_token))
    }

    /// Every JWT handed out so far counts as past its `exp`; how many there are.
    pub fn expire_access_tokens(&mut self) -> usize {
        let grants = &mut self.grants;
        grants
            .expired_jwts
            .extend(grants.signed_tokens.iter().cloned());
        grants.signed_tokens.len()
    }

    /// Every code not yet exchanged is past its 5 minutes; how many there are.
    pub fn expire_codes(&mut self) -> usize {
        let past = SystemTime::now() - Duration::from_secs(1);
        for code in self.codes.values_mut() {
            code.expires_at = past;
        }
        self.codes.len()
    }

    /// Every stored user token is past its own expiry while its JWT is not: GraphQL then treats
    /// the caller as anonymous (`me` is `null`).
    pub fn expire_stored_access_tokens(&mut self) -> usize {
        let past = SystemTime::now() - Duration::from_secs(1);
        for token in &mut self.grants.user_tokens {
            token.access_token_expires_at = past;
        }
        self.grants.user_tokens.len()
    }

    /// Every refresh token is past its expiry: refreshing answers `invalid_grant` "refresh token
    /// has expired".
    pub fn expire_refresh_tokens(&mut self) -> usize {
        let past = SystemTime::now() - Duration::from_secs(1);
        for token in &mut self.grants.user_tokens {
            token.refresh_token_expires_at = past;
        }
        self.grants.user_tokens.len()
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

impl Persist for Store {
    fn persisted(&self) -> impl Serialize + '_ {
        Saved {
            seed: self.seed,
            grants: &self.grants,
        }
    }
}

pub struct OpenCollective {
    pub world: World,
    /// The lifetimes, limits and response shape it was started with.
    pub settings: OpenCollectiveConfig,
    /// The application's single `callbackUrl`, normalized; its developer may change it.
    callback_url: Mutex<String>,
    store: PersistentMutex<Store>,
}

impl OpenCollective {
    pub fn new(config: &OpenCollectiveConfig, callback_url: String) -> OpenCollective {
        let same_world = |saved: &Saved<Grants>| saved.seed == config.seed;
        let grants = state_file::load(config.state_file.as_deref(), same_world)
            .map(|saved| saved.grants)
            .unwrap_or_default();
        let store = Store {
            seed: config.seed,
            sessions: HashSet::new(),
            codes: HashMap::new(),
            grants,
            rate_windows: HashMap::new(),
            personal_token_expired: false,
            stats: Stats::default(),
        };
        OpenCollective {
            world: World::generate(config),
            settings: config.clone(),
            callback_url: Mutex::new(callback_url),
            store: PersistentMutex::new(store, config.state_file.clone()),
        }
    }

    /// The locked store; on release it saves the state file, when there is one.
    pub fn store(&self) -> PersistentGuard<'_, Store> {
        self.store.lock()
    }

    pub fn callback_url(&self) -> String {
        self.callback_url.lock().unwrap().clone()
    }

    pub fn set_callback_url(&self, callback_url: String) {
        *self.callback_url.lock().unwrap() = callback_url;
    }
}
