//! Mutable server state (sessions, codes, tokens, download keys) and counters.
//!
//! Tokens are kept by their SHA-256 digest, as a careful server would: the optional state file
//! (which lets the sandbox keep its grants across restarts of the app) never holds a usable token.

use crate::webhook::{Delivery, WebhookSettings};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::SandboxConfig;
use crate::faults::{BodyFault, Faults};
use crate::redirect_uri::BUILTIN_REDIRECT_SCHEMES;
use crate::seed::{mix, World};
use crate::state_file::{self, Persist, PersistentGuard, PersistentMutex};
use crate::text::{generate_token, random_alphanumeric};

/// Stream of the seed that drives fault injection.
const FAULT_STREAM: u64 = 0xFA_0175;

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
    /// Emails sent through the messaging API (one per recipient).
    pub messages_sent: u64,
    /// Members removed through the remove-members API.
    pub members_removed: u64,
    /// Files created by an upload request (direct step 1, or the simple upload).
    pub uploads_started: u64,
    /// Files made visible: direct uploads completed, plus simple uploads.
    pub uploads_completed: u64,
    pub files_deleted: u64,
    /// Requests that a fault knob failed, delayed answers not counted.
    pub faults_injected: u64,
}

/// The project's master access token, as the project owner sees it on the website.
pub struct MasterToken {
    pub token: String,
    pub expires_at: SystemTime,
}

/// A file the project uploaded for a member (`ProjectDataFile`).
pub struct ProjectFile {
    pub member: usize,
    pub basename: String,
    pub created: SystemTime,
    pub metadata: serde_json::Value,
    pub object_key: String,
    /// `None` until the bytes reach storage.
    pub bytes: Option<Bytes>,
    /// Hidden from every API until completed.
    pub completed: bool,
}

/// A pre-signed storage URL for the upload PUT.
pub struct UploadLink {
    pub file_id: u64,
    pub object_key: String,
    pub expires_at: SystemTime,
}

/// An email the messaging API sent, as Open Humans composes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    pub project_member_id: String,
    pub username: String,
    pub from: String,
    pub reply_to: String,
    pub subject: String,
    /// The message with `{{ PROJECT_MEMBER_ID }}` filled in.
    pub body: String,
}

/// A member the project removed (`leave_project(done_by="project-coordinator")`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemovedMember {
    pub project_member_id: String,
    pub username: String,
    pub done_by: String,
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

/// The key tokens are stored under.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize, Deserialize)]
pub struct AccessToken {
    pub member: usize,
    pub scopes: Vec<String>,
    pub expires_at: SystemTime,
}

#[derive(Serialize, Deserialize)]
pub struct RefreshToken {
    pub member: usize,
    pub scopes: Vec<String>,
    /// Digest of the access token issued with it; cleared when that token is revoked on its
    /// own (DOT's `on_delete=SET_NULL`).
    pub access_token: Option<String>,
}

pub struct DownloadKey {
    pub file_id: u64,
    pub expires_at: SystemTime,
}

/// Short-lived entries by name (download keys, storage links), forgotten once expired. They are
/// pruned from the oldest, so minting one costs the same however many are alive: a listing of
/// 50,000 members mints 600,000 keys, and walking every live key for each would make the
/// simulator, not the client, what a benchmark measures.
pub struct Expiring<V> {
    entries: HashMap<String, V>,
    by_expiry: std::collections::VecDeque<(SystemTime, String)>,
}

impl<V> Default for Expiring<V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: std::collections::VecDeque::new(),
        }
    }
}

impl<V> Expiring<V> {
    /// Adds `value` under `name` until `expires_at`, first forgetting what expired by `now`.
    pub fn insert(&mut self, name: String, value: V, expires_at: SystemTime, now: SystemTime) {
        while self.by_expiry.front().is_some_and(|(at, _)| *at <= now) {
            let (_, expired) = self.by_expiry.pop_front().expect("checked above");
            self.entries.remove(&expired);
        }
        self.by_expiry.push_back((expires_at, name.clone()));
        self.entries.insert(name, value);
    }

    /// The entry named `name`, unless it has been forgotten; callers check its expiry.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.entries.get(name)
    }
}

pub struct StorageLink {
    pub file_id: u64,
    pub object_key: String,
    pub expires_at: SystemTime,
}

/// A member's standing in the seeded project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// What the state file keeps: grants that outlive a restart.
#[derive(Serialize, Deserialize)]
struct Persisted {
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
    memberships: Vec<Membership>,
}

#[derive(Serialize)]
struct PersistedRef<'a> {
    access_tokens: &'a HashMap<String, AccessToken>,
    refresh_tokens: &'a HashMap<String, RefreshToken>,
    memberships: &'a [Membership],
}

pub struct Store {
    pub access_token_lifetime: Duration,
    pub code_lifetime: Duration,
    pub token_failures_left: u32,
    pub sessions: HashMap<String, usize>,
    pub grants: HashMap<String, Grant>,
    /// Keyed by [`token_digest`].
    access_tokens: HashMap<String, AccessToken>,
    /// Keyed by [`token_digest`].
    refresh_tokens: HashMap<String, RefreshToken>,
    pub download_keys: Expiring<DownloadKey>,
    pub storage_links: Expiring<StorageLink>,
    pub memberships: Vec<Membership>,
    pub master_token: MasterToken,
    /// Uploaded files by id, completed or not.
    pub project_files: HashMap<u64, ProjectFile>,
    pub next_file_id: u64,
    pub upload_links: HashMap<String, UploadLink>,
    pub messages: Vec<SentMessage>,
    pub removed_members: Vec<RemovedMember>,
    pub webhook: WebhookSettings,
    pub webhook_deliveries: Vec<Delivery>,
    pub faults: Faults,
    fault_rng: StdRng,
    pub stats: Stats,
}

impl Store {
    pub fn issue_tokens(&mut self, member: usize, scopes: Vec<String>) -> IssuedTokens {
        let access_token = generate_token();
        let refresh_token = generate_token();
        let scope = scopes.join(" ");
        self.access_tokens.insert(
            token_digest(&access_token),
            AccessToken {
                member,
                scopes: scopes.clone(),
                expires_at: SystemTime::now() + self.access_token_lifetime,
            },
        );
        self.refresh_tokens.insert(
            token_digest(&refresh_token),
            RefreshToken {
                member,
                scopes,
                access_token: Some(token_digest(&access_token)),
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
        match self.access_tokens.get(&token_digest(token)) {
            None => AccessTokenStatus::Unknown,
            // DOT: expired when `now >= expires`.
            Some(found) if SystemTime::now() >= found.expires_at => AccessTokenStatus::Expired,
            Some(found) => AccessTokenStatus::Valid(found.member),
        }
    }

    /// DOT `AccessToken.revoke()`: the token is deleted; a refresh token issued with it survives.
    pub fn revoke_access_token(&mut self, token: &str) -> bool {
        let digest = token_digest(token);
        if self.access_tokens.remove(&digest).is_none() {
            return false;
        }
        for refresh in self.refresh_tokens.values_mut() {
            if refresh.access_token.as_deref() == Some(digest.as_str()) {
                refresh.access_token = None;
            }
        }
        true
    }

    /// DOT `RefreshToken.revoke()`: the refresh token dies together with its access token.
    pub fn refresh_token(&self, token: &str) -> Option<&RefreshToken> {
        self.refresh_tokens.get(&token_digest(token))
    }

    pub fn revoke_refresh_token(&mut self, token: &str) -> bool {
        match self.refresh_tokens.remove(&token_digest(token)) {
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

    /// Makes every access token expired now; returns how many there were.
    pub fn expire_access_tokens(&mut self) -> usize {
        let now = SystemTime::now();
        for token in self.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
        self.access_tokens.len()
    }

    /// Draws whether a request subject to a fault `rate` fails (no draw when the rate is 0).
    pub fn roll_fault(&mut self, rate: f64) -> bool {
        let fails = rate > 0.0 && self.fault_rng.random_bool(rate.min(1.0));
        if fails {
            self.stats.faults_injected += 1;
        }
        fails
    }

    /// How a storage body of `length` bytes misbehaves, if it does (a cut or a stall past the
    /// end of the body is no fault).
    pub fn take_body_fault(&mut self, length: u64) -> Option<BodyFault> {
        let fault = self.faults.storage_body_fault?;
        let past_the_end = match fault {
            BodyFault::Cut { after } | BodyFault::Stall { after } => after >= length,
            BodyFault::LengthTooShort { by } => by >= length,
            _ => false,
        };
        if self.faults.storage_body_faults == 0 || past_the_end {
            return None;
        }
        self.faults.storage_body_faults -= 1;
        self.stats.faults_injected += 1;
        Some(fault)
    }

    /// A new master token, valid for `lifetime` (the owner pressing "refresh" on the website).
    pub fn refresh_master_token(&mut self, lifetime: Duration) -> String {
        self.master_token = MasterToken {
            token: random_alphanumeric(&mut rand::rng(), 64),
            expires_at: SystemTime::now() + lifetime,
        };
        self.master_token.token.clone()
    }

    /// Open Humans deauthorization: every token of the member is deleted.
    pub fn deauthorize(&mut self, member: usize) {
        self.access_tokens.retain(|_, token| token.member != member);
        self.refresh_tokens
            .retain(|_, token| token.member != member);
        self.memberships[member].authorized = false;
    }
}

impl Persist for Store {
    fn persisted(&self) -> impl Serialize + '_ {
        PersistedRef {
            access_tokens: &self.access_tokens,
            refresh_tokens: &self.refresh_tokens,
            memberships: &self.memberships,
        }
    }
}

pub struct Sandbox {
    pub world: World,
    /// `http://host:port`, used for every absolute URL the server hands out.
    pub origin: String,
    pub allowed_redirect_schemes: Vec<String>,
    pub download_key_lifetime: Duration,
    pub storage_url_lifetime: Duration,
    pub master_token_lifetime: Duration,
    pub seeded_md5: bool,
    /// MD5s of seeded files, computed when first listed.
    pub md5_cache: Mutex<HashMap<u64, String>>,
    store: PersistentMutex<Store>,
}

impl Sandbox {
    pub fn new(config: &SandboxConfig, origin: String) -> Sandbox {
        let world = World::generate(config);
        let mut allowed_redirect_schemes: Vec<String> =
            BUILTIN_REDIRECT_SCHEMES.map(String::from).to_vec();
        allowed_redirect_schemes.extend(config.extra_redirect_schemes.iter().cloned());
        // The seeded alice joins on the consent page; the other seeded members already have.
        let mut memberships: Vec<Membership> = (0..world.members.len())
            .map(|index| Membership {
                authorized: index != 0,
                hidden: false,
            })
            .collect();
        let mut access_tokens = HashMap::new();
        let mut refresh_tokens = HashMap::new();
        // A state file is taken back only for a project of as many members.
        let same_world = |saved: &Persisted| saved.memberships.len() == memberships.len();
        if let Some(saved) = state_file::load(config.state_file.as_deref(), same_world) {
            (access_tokens, refresh_tokens, memberships) =
                (saved.access_tokens, saved.refresh_tokens, saved.memberships);
        }
        let store = Store {
            access_token_lifetime: config.access_token_lifetime,
            code_lifetime: config.code_lifetime,
            token_failures_left: config.token_endpoint_failures,
            sessions: HashMap::new(),
            grants: HashMap::new(),
            access_tokens,
            refresh_tokens,
            download_keys: Expiring::default(),
            storage_links: Expiring::default(),
            memberships,
            master_token: MasterToken {
                token: world.project.master_access_token.clone(),
                expires_at: SystemTime::now() + config.master_token_lifetime,
            },
            project_files: HashMap::new(),
            next_file_id: world.next_file_id(),
            upload_links: HashMap::new(),
            messages: Vec::new(),
            removed_members: Vec::new(),
            webhook: WebhookSettings::default(),
            webhook_deliveries: Vec::new(),
            faults: config.faults.clone(),
            fault_rng: StdRng::seed_from_u64(mix(config.seed, FAULT_STREAM)),
            stats: Stats::default(),
        };
        Sandbox {
            world,
            origin,
            allowed_redirect_schemes,
            download_key_lifetime: config.download_key_lifetime,
            storage_url_lifetime: config.storage_url_lifetime,
            master_token_lifetime: config.master_token_lifetime,
            seeded_md5: config.seeded_md5,
            md5_cache: Mutex::new(HashMap::new()),
            store: PersistentMutex::new(store, config.state_file.clone()),
        }
    }

    /// The locked store; on release it saves the state file, when there is one.
    pub fn store(&self) -> PersistentGuard<'_, Store> {
        self.store.lock()
    }

    /// Makes every access token expired now; returns how many there were.
    pub fn expire_access_tokens(&self) -> usize {
        self.store().expire_access_tokens()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_forgotten_when_the_next_one_is_minted() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |secs| start + Duration::from_secs(secs);
        let mut keys = Expiring::default();
        keys.insert("old".into(), 1, at(10), start);
        keys.insert("newer".into(), 2, at(20), start);
        assert_eq!(keys.get("old"), Some(&1));

        keys.insert("latest".into(), 3, at(40), at(15));
        assert_eq!(keys.get("old"), None, "expired at 10, forgotten at 15");
        assert_eq!(keys.get("newer"), Some(&2));
        assert_eq!(keys.get("latest"), Some(&3));
    }
}
