//! Human API as Datalinks talks to it (docs/providers/human-api.md).
//!
//! Every token is minted here, in Rust: the client secret goes only into request bodies sent to
//! the configured auth hosts, never into an error, a log line or a webview. Connect runs in an
//! isolated webview whose results arrive over an untrusted channel, so
//! [`parse_connect_event`] checks them strictly before the app acts on them.

mod auth;
mod config;
mod connect_event;
mod data;
mod error;

pub use auth::{AuthClient, ConnectToken, LegacyTokens, MintedAccessToken};
pub use config::{
    Config, DEFAULT_AUTH_BASE_URL, DEFAULT_CONNECT_SCRIPT_URL, DEFAULT_DATA_API_URL,
    DEFAULT_LEGACY_BASE_URL, DEFAULT_LEGACY_CONNECT_SCRIPT_URL,
};
pub use connect_event::{
    parse_connect_event, CloseStatus, ConnectEvent, ConnectEventKind, ConnectOutcome, SourceRef,
    MAX_CONNECT_EVENT_BYTES,
};
pub use data::{
    DataApi, HistorySync, Page, PageRequest, Profile, Report, ReportFormat, SourceStatus,
    SyncStatus, WellnessList, WellnessRecord,
};
pub use error::HumanApiError;
