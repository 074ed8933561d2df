//! Server-side state: the app's users ("humans"), the sources each one has connected, issued
//! tokens, and counters.
//!
//! Tokens are kept by their digest, as in the Open Humans simulator: the optional state file, which
//! keeps the humans and their tokens across restarts of the app, never holds a usable token.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::config::HumanApiConfig;
use super::seed::{derived_hex, random_hex, App, Source, SOURCES};
use crate::state::token_digest;
use crate::state_file::{self, Persist, PersistentGuard, PersistentMutex};

/// The Data API's documented demo token (docs/providers/human-api.md, "Data API").
pub const DEMO_ACCESS_TOKEN: &str = "demo";
const DEMO_CLIENT_USER_ID: &str = "demo";
static DEMO_ACCESS_TOKEN_DIGEST: LazyLock<String> =
    LazyLock::new(|| token_digest(DEMO_ACCESS_TOKEN));

/// Counters for tests: what clients asked of the sandbox so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HumanApiStats {
    /// `POST /v1/connect/token` by `type` (including refused requests).
    pub session_token_requests: u64,
    pub id_token_requests: u64,
    pub access_token_requests: u64,
    /// Token requests with a missing or unknown `type`, or a body that is not JSON.
    pub other_token_requests: u64,
    /// Token requests answered with an error status.
    pub token_requests_refused: u64,
    /// Legacy `POST /v1/connect/tokens`.
    pub legacy_finalize_requests: u64,
    /// Legacy `POST /v1/connect/publictokens`.
    pub public_token_requests: u64,
    /// Connect pages served (`GET /?token=…`), whatever the token.
    pub connect_launches: u64,
    pub sources_connected: u64,
    pub sources_disconnected: u64,
    /// Requests to `/v1/human/...`, including refused ones.
    pub data_api_calls: u64,
    /// Data API requests refused with 401.
    pub data_api_auth_failures: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    Session,
    Id,
    Access,
    /// `accessToken` of the legacy finalize flow; it has no documented lifetime.
    LegacyAccess,
}

#[derive(Serialize, Deserialize)]
struct IssuedToken {
    kind: TokenKind,
    human_id: String,
    expires_at: Option<SystemTime>,
}

pub enum TokenCheck {
    Valid(String),
    Expired,
    Unknown,
}

#[derive(Serialize, Deserialize)]
pub struct Connection {
    #[serde(with = "source_id")]
    pub source: &'static Source,
    pub connected_at: SystemTime,
}

/// A source is saved as its id.
mod source_id {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::humanapi::seed::{source_by_id, Source};

    pub fn serialize<S: Serializer>(source: &&Source, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(source.id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<&'static Source, D::Error> {
        let id = String::deserialize(deserializer)?;
        source_by_id(&id).ok_or_else(|| D::Error::custom(format!("unknown source {id}")))
    }
}

#[derive(Serialize, Deserialize)]
pub struct Human {
    pub human_id: String,
    pub client_user_id: String,
    pub email: Option<String>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub connections: Vec<Connection>,
    /// Once a source was connected the user is a "returning user": no more session tokens.
    pub ever_connected: bool,
    /// [`token_digest`] of the legacy `publicToken`, which each finalize and recovery replaces
    /// (a finalize follows connecting a source: docs/providers/human-api.md, "The legacy Connect
    /// 1.x flow"). Only the digest is kept, as for the other tokens, so the state file holds none.
    pub public_token_digest: String,
}

impl Human {
    pub fn is_connected(&self, source: &Source) -> bool {
        self.connections.iter().any(|c| c.source.id == source.id)
    }

    /// Connections whose first sync has finished, so their data is served.
    pub fn synced_sources(&self, sync_duration: Duration) -> Vec<&'static Source> {
        let now = SystemTime::now();
        self.connections
            .iter()
            .filter(|c| c.connected_at + sync_duration <= now)
            .map(|c| c.source)
            .collect()
    }
}

fn new_human(human_id: String, client_user_id: &str) -> Human {
    let now = SystemTime::now();
    Human {
        human_id,
        client_user_id: client_user_id.to_string(),
        email: None,
        created_at: now,
        updated_at: now,
        connections: Vec::new(),
        ever_connected: false,
        // No public token is handed out before the first finalize.
        public_token_digest: String::new(),
    }
}

/// The state file's content: the app's users and the tokens issued to them, in the world of
/// `seed` (the demo human and token are seeded anew).
#[derive(Serialize, Deserialize)]
struct Saved<H, T> {
    seed: u64,
    humans: Vec<H>,
    /// `(digest, token)` pairs.
    tokens: Vec<T>,
}

pub struct Store {
    seed: u64,
    pub session_token_lifetime: Duration,
    pub id_token_lifetime: Duration,
    pub access_token_lifetime: Duration,
    humans: HashMap<String, Human>,
    human_by_client_user_id: HashMap<String, String>,
    /// Keyed by [`token_digest`].
    tokens: HashMap<String, IssuedToken>,
    pub stats: HumanApiStats,
}

impl Store {
    pub fn human(&self, human_id: &str) -> Option<&Human> {
        self.humans.get(human_id)
    }

    pub fn human_by_client_user_id(&self, client_user_id: &str) -> Option<&Human> {
        self.human_by_client_user_id
            .get(client_user_id)
            .and_then(|human_id| self.humans.get(human_id))
    }

    /// The human for `client_user_id`, created on first use with an id derived from the seed.
    pub fn human_for(&mut self, client_user_id: &str) -> &mut Human {
        let human_id = derived_hex(self.seed, &["human", client_user_id], 32);
        self.human_by_client_user_id
            .insert(client_user_id.to_string(), human_id.clone());
        self.humans
            .entry(human_id.clone())
            .or_insert_with(|| new_human(human_id, client_user_id))
    }

    pub fn issue(&mut self, kind: TokenKind, human_id: &str) -> (String, Duration) {
        let lifetime = match kind {
            TokenKind::Session => Some(self.session_token_lifetime),
            TokenKind::Id => Some(self.id_token_lifetime),
            TokenKind::Access => Some(self.access_token_lifetime),
            TokenKind::LegacyAccess => None,
        };
        let token = match kind {
            TokenKind::Session | TokenKind::Id => random_hex(&mut rand::rng(), 16),
            TokenKind::Access | TokenKind::LegacyAccess => random_hex(&mut rand::rng(), 20),
        };
        self.tokens.insert(
            token_digest(&token),
            IssuedToken {
                kind,
                human_id: human_id.to_string(),
                expires_at: lifetime.map(|lifetime| SystemTime::now() + lifetime),
            },
        );
        (token, lifetime.unwrap_or_default())
    }

    /// Whether `token` is one of `kinds`, and if so whether it is still valid.
    pub fn check(&self, token: &str, kinds: &[TokenKind]) -> TokenCheck {
        match self.tokens.get(&token_digest(token)) {
            Some(found) if kinds.contains(&found.kind) => match found.expires_at {
                Some(expires_at) if SystemTime::now() >= expires_at => TokenCheck::Expired,
                _ => TokenCheck::Valid(found.human_id.clone()),
            },
            _ => TokenCheck::Unknown,
        }
    }

    /// Connects `source` for the human; false when it already was connected.
    pub fn connect(&mut self, human_id: &str, source: &'static Source) -> bool {
        let Some(human) = self.humans.get_mut(human_id) else {
            return false;
        };
        if human.is_connected(source) {
            return false;
        }
        let now = SystemTime::now();
        human.connections.push(Connection {
            source,
            connected_at: now,
        });
        human.ever_connected = true;
        human.updated_at = now;
        self.stats.sources_connected += 1;
        true
    }

    /// Disconnects `source`; false when it was not connected. Tokens stay valid
    /// (docs/providers/human-api.md, "The legacy Connect 1.x flow").
    pub fn disconnect(&mut self, human_id: &str, source: &Source) -> bool {
        let Some(human) = self.humans.get_mut(human_id) else {
            return false;
        };
        let before = human.connections.len();
        human.connections.retain(|c| c.source.id != source.id);
        if human.connections.len() == before {
            return false;
        }
        human.updated_at = SystemTime::now();
        self.stats.sources_disconnected += 1;
        true
    }

    /// A new legacy public token for the human; the one before stops opening Connect.
    pub fn issue_public_token(&mut self, human_id: &str) -> Option<String> {
        let human = self.humans.get_mut(human_id)?;
        let public_token = random_hex(&mut rand::rng(), 16);
        human.public_token_digest = token_digest(&public_token);
        Some(public_token)
    }

    /// Every token issued so far, or only those of `kind`, expires now (the demo token is not
    /// issued, so it stays); how many did.
    pub fn expire_tokens(&mut self, kind: Option<TokenKind>) -> usize {
        let now = SystemTime::now();
        let mut expired = 0;
        for (digest, issued) in self.tokens.iter_mut() {
            if *digest != *DEMO_ACCESS_TOKEN_DIGEST && kind.is_none_or(|kind| kind == issued.kind) {
                issued.expires_at = Some(issued.expires_at.map_or(now, |at| at.min(now)));
                expired += 1;
            }
        }
        expired
    }
}

impl Persist for Store {
    /// The app's users (those reached through a `client_user_id`) and every token but `demo`.
    fn persisted(&self) -> impl Serialize + '_ {
        Saved {
            seed: self.seed,
            humans: self
                .human_by_client_user_id
                .values()
                .filter_map(|human_id| self.humans.get(human_id))
                .collect(),
            tokens: self
                .tokens
                .iter()
                .filter(|(digest, _)| **digest != *DEMO_ACCESS_TOKEN_DIGEST)
                .collect(),
        }
    }
}

pub struct HumanApi {
    pub app: App,
    pub seed: u64,
    /// `http://host:port`, used for every absolute URL the server hands out.
    pub origin: String,
    pub sync_duration: Duration,
    pub wellness_days: u32,
    pub data_end_date: time::Date,
    store: PersistentMutex<Store>,
}

impl HumanApi {
    pub fn new(config: &HumanApiConfig, origin: String) -> HumanApi {
        let mut store = Store {
            seed: config.seed,
            session_token_lifetime: config.session_token_lifetime,
            id_token_lifetime: config.id_token_lifetime,
            access_token_lifetime: config.access_token_lifetime,
            humans: HashMap::new(),
            human_by_client_user_id: HashMap::new(),
            tokens: HashMap::new(),
            stats: HumanApiStats::default(),
        };
        // The demo human has every source connected and is reachable only through `demo`.
        let demo_id = derived_hex(config.seed, &["demo human"], 32);
        let mut demo = new_human(demo_id.clone(), DEMO_CLIENT_USER_ID);
        let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        demo.connections = SOURCES
            .iter()
            .map(|source| Connection {
                source,
                connected_at: long_ago,
            })
            .collect();
        demo.ever_connected = true;
        store.humans.insert(demo_id.clone(), demo);
        store.tokens.insert(
            DEMO_ACCESS_TOKEN_DIGEST.clone(),
            IssuedToken {
                kind: TokenKind::Access,
                human_id: demo_id,
                expires_at: None,
            },
        );
        let same_world = |saved: &Saved<Human, (String, IssuedToken)>| saved.seed == config.seed;
        if let Some(saved) = state_file::load(config.state_file.as_deref(), same_world) {
            for human in saved.humans {
                store
                    .human_by_client_user_id
                    .insert(human.client_user_id.clone(), human.human_id.clone());
                store.humans.insert(human.human_id.clone(), human);
            }
            store.tokens.extend(saved.tokens);
        }
        HumanApi {
            app: App::generate(config.seed),
            seed: config.seed,
            origin,
            sync_duration: config.sync_duration,
            wellness_days: config.wellness_days,
            data_end_date: config.data_end_date,
            store: PersistentMutex::new(store, config.state_file.clone()),
        }
    }

    /// The locked store; on release it saves the state file, when there is one.
    pub fn store(&self) -> PersistentGuard<'_, Store> {
        self.store.lock()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}
