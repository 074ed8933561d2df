use crate::{Error, Provider};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How the authorization redirect comes back to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Transport {
    /// A one-shot listener on `http://127.0.0.1:<ephemeral port>/<path>` (RFC 8252 §7.3).
    Loopback,
    /// The OS hands `datalinks://oauth/callback?…` to the running app (single-instance).
    DeepLink,
}

/// Where a connection stands, as the UI and `datalinks status` show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ConnectionState {
    /// The provider's app credentials are missing.
    NotConfigured,
    /// Configured, not connected.
    Disconnected,
    /// An authorization attempt is open in the system browser.
    Waiting {
        authorize_url: String,
        transport: Transport,
        /// Unix seconds after which the attempt's `state` is no longer accepted.
        #[ts(type = "number")]
        expires_at: i64,
    },
    /// Human API Connect is open in its own window; its results are accepted until `expires_at`.
    ConnectWindowOpen {
        #[ts(type = "number")]
        expires_at: i64,
    },
    Connected,
    /// The grant was revoked or expired (`invalid_grant`): account, settings and history are kept.
    ReconnectNeeded {
        reason: String,
    },
    /// Network failure or a 5xx: tokens are untouched; `retry_at` is when we try again.
    Unreachable {
        message: String,
        #[ts(type = "number")]
        retry_at: i64,
    },
    /// The provider answered HTTP 429: no calls until `retry_at`, as long as it asked.
    RateLimited {
        message: String,
        #[ts(type = "number")]
        retry_at: i64,
    },
    /// The keyring could not be read or written. Nothing was deleted.
    KeyringUnavailable {
        message: String,
    },
}

/// Who the connected person is to the provider (non-secret, kept in SQLite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AccountSummary {
    /// Provider-side account id (Open Humans: the 8-digit project member id).
    pub account_id: String,
    pub username: Option<String>,
    #[ts(type = "number")]
    pub connected_at: i64,
}

/// One provider's connection as shown on the connections page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ConnectionView {
    pub provider: Provider,
    pub state: ConnectionState,
    /// True when the provider's credentials point at the built-in sandbox.
    pub sandbox: bool,
    pub account: Option<AccountSummary>,
    /// Unix seconds when the current access token expires (not secret).
    #[ts(type = "number | null")]
    pub token_expires_at: Option<i64>,
    /// Where the secrets live, e.g. "OS keyring (Secret Service)".
    pub secret_location: String,
    /// The last problem worth showing (a refused callback, a provider error).
    pub last_error: Option<Error>,
}
