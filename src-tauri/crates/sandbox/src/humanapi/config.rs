//! `HumanApiConfig::default()` behaves as Human API documents it (docs/providers/human-api.md,
//! "Tokens, all minted with the client secret", "The auth service's answers").

use std::path::PathBuf;
use std::time::Duration;

use time::macros::date;
use time::Date;

#[derive(Clone, Debug)]
pub struct HumanApiConfig {
    /// `expires_in` of `type: "session"` tokens (3600 s).
    pub session_token_lifetime: Duration,
    /// `expires_in` of `type: "id"` tokens (86400 s).
    pub id_token_lifetime: Duration,
    /// `expires_in` of `type: "access"` tokens (86400 s).
    pub access_token_lifetime: Duration,
    /// Credentials, human ids and every Data API record are derived from this.
    pub seed: u64,
    /// Time from connecting a source until its sync completes and its data appears. Human API
    /// does not document it; 0 makes data available at once.
    pub sync_duration: Duration,
    /// Days of wellness data each connected wellness source holds, ending at `data_end_date`.
    pub wellness_days: u32,
    /// Last day of seeded data: fixed, so that records do not depend on when the tests run.
    pub data_end_date: Date,
    /// Where to keep the app's users (their connections) and issued tokens (by their digests)
    /// across restarts; `None` keeps them in memory only.
    pub state_file: Option<PathBuf>,
    /// The key `/_sandbox/…` requests must carry (`X-Sandbox-Key`); a fresh random one when
    /// `None`.
    pub admin_key: Option<String>,
}

impl Default for HumanApiConfig {
    fn default() -> Self {
        HumanApiConfig {
            session_token_lifetime: Duration::from_secs(3600),
            id_token_lifetime: Duration::from_secs(86_400),
            access_token_lifetime: Duration::from_secs(86_400),
            seed: 1,
            sync_duration: Duration::ZERO,
            // More than one page at the default `limit` of 50.
            wellness_days: 90,
            data_end_date: date!(2024 - 12 - 31),
            state_file: None,
            admin_key: None,
        }
    }
}
