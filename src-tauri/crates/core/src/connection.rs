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

/// The local id of an app registration (a provider's server addresses and client id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(transparent)]
#[ts(export, type = "number")]
pub struct RegistrationId(pub i64);

/// The local id of a connection (one account at one registration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(transparent)]
#[ts(export, type = "number")]
pub struct ConnectionId(pub i64);

impl std::fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a sign-in is for: a new account at a registration, or connecting an existing
/// connection again (its own registration, even one the settings have since moved away from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum SignInTarget {
    NewAccount { registration: RegistrationId },
    Reconnect { connection: ConnectionId },
}

/// An app registration as people see it. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RegistrationSummary {
    pub id: RegistrationId,
    pub provider: Provider,
    /// The server's address, or "built-in sandbox".
    pub server: String,
    /// Empty when the registration has none (a personal token only).
    pub client_id: String,
    pub sandbox: bool,
    /// True once the settings moved to another server or client id: its connections stay bound
    /// to it, still usable, and new sign-ins use the new registration.
    pub retired: bool,
}

/// Where signing in to a registration stands.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum SignInState {
    /// Nothing open: "Connect" starts a sign-in.
    Ready,
    /// An authorization attempt is open in the system browser.
    Waiting {
        authorize_url: String,
        transport: Transport,
        /// Unix seconds after which the attempt's `state` is no longer accepted.
        #[ts(type = "number")]
        expires_at: i64,
        /// The connection this attempt connects again, if it is not for a new account.
        reconnecting: Option<ConnectionId>,
        /// What may keep this attempt from coming back, for the waiting panel.
        hints: Vec<WaitingHint>,
    },
    /// Human API Connect is open in its own window; its results are accepted until `expires_at`.
    ConnectWindowOpen {
        #[ts(type = "number")]
        expires_at: i64,
        reconnecting: Option<ConnectionId>,
    },
}

/// Something that may keep an open sign-in from coming back, known from its settings, and what
/// the app can do about it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WaitingHint {
    pub text: String,
    pub remedy: Option<Remedy>,
}

/// A change the app can make for the person when a hint applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Remedy {
    /// Cancel the attempt, switch the setup to the loopback redirect and sign in again.
    UseLoopback,
}

/// A registration new accounts can sign in through, and where that stands.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SignInView {
    pub registration: RegistrationSummary,
    pub state: SignInState,
    /// The last sign-in problem (declined, refused callback, failed exchange), until the next
    /// attempt.
    pub last_error: Option<Error>,
}

/// What authenticates a connection's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CredentialKind {
    /// OAuth tokens from a browser sign-in.
    OAuth,
    /// A token the person pasted in (Open Collective).
    PersonalToken,
    /// Access tokens the app mints for a person it linked (Human API Connect).
    Minted,
}

/// Where a connection stands, as the UI and `datalinks status` show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ConnectionState {
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

/// One account's connection as shown on the connections page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ConnectionView {
    pub id: ConnectionId,
    pub provider: Provider,
    pub registration: RegistrationSummary,
    pub account: AccountSummary,
    pub credential: CredentialKind,
    pub state: ConnectionState,
    /// Unix seconds when the current access token expires (not secret).
    #[ts(type = "number | null")]
    pub token_expires_at: Option<i64>,
    /// The last problem worth showing (a provider error), until the next success.
    pub last_error: Option<Error>,
}

/// One provider's registrations that take sign-ins, and its connections.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProviderConnections {
    pub provider: Provider,
    /// The registration the settings describe and, once tried, the sandbox's. Empty when the
    /// provider is not set up.
    pub sign_ins: Vec<SignInView>,
    pub connections: Vec<ConnectionView>,
}

/// Every provider's connections, in the order providers are shown.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ConnectionsOverview {
    /// Increases with every overview the service makes. A command's answer and an event can
    /// reach the window in either order, so the window keeps the overview of the highest
    /// revision and drops an older one that arrives later.
    #[ts(type = "number")]
    pub revision: u64,
    pub providers: Vec<ProviderConnections>,
    /// Where the secrets live, e.g. "OS keyring (Secret Service)".
    pub secret_location: String,
}

impl ConnectionsOverview {
    pub fn connections(&self) -> impl Iterator<Item = &ConnectionView> {
        self.providers.iter().flat_map(|p| &p.connections)
    }

    pub fn sign_ins(&self) -> impl Iterator<Item = &SignInView> {
        self.providers.iter().flat_map(|p| &p.sign_ins)
    }
}
