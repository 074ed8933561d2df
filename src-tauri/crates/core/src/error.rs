use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable error codes. The UI and scripts branch on these, so never rename one:
/// add a new code instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// Input from the user or a caller was malformed.
    InvalidInput,
    /// The provider's app credentials are not configured yet.
    NotConfigured,
    /// The OS keyring is locked, missing or refused access. Nothing was deleted.
    KeyringUnavailable,
    /// A callback (deep link or loopback request) was refused: wrong scheme, host, path or shape.
    CallbackRefused,
    /// A callback's `state` matched no pending attempt (expired, used, or forged).
    StateMismatch,
    /// The person declined, or the provider returned an `error` on the redirect.
    AuthorizationDenied,
    /// The provider answered with an error we can show but not fix automatically.
    ProviderError,
    /// The grant is gone (`invalid_grant`): the person must connect again.
    ReconnectNeeded,
    /// Network failure or 5xx: tokens are untouched and we will retry.
    Unreachable,
    /// The provider asked us to slow down (HTTP 429): we wait as long as it says, then retry.
    RateLimited,
    /// The thing asked for does not exist.
    NotFound,
    /// The local database failed.
    Storage,
    /// The person cancelled the operation.
    Cancelled,
    /// A bug or an impossible state.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::NotConfigured => "not_configured",
            Self::KeyringUnavailable => "keyring_unavailable",
            Self::CallbackRefused => "callback_refused",
            Self::StateMismatch => "state_mismatch",
            Self::AuthorizationDenied => "authorization_denied",
            Self::ProviderError => "provider_error",
            Self::ReconnectNeeded => "reconnect_needed",
            Self::Unreachable => "unreachable",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::Storage => "storage",
            Self::Cancelled => "cancelled",
            Self::Internal => "internal",
        }
    }
}

/// The one error type that crosses crate boundaries and reaches the UI as `{code, message}`.
/// Messages are written for people and must never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message} ({})", code.as_str())]
#[ts(export)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Storage, message)
    }
    pub fn keyring(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::KeyringUnavailable, message)
    }
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unreachable, message)
    }
    pub fn provider(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ProviderError, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_code_and_message() {
        let json = serde_json::to_value(Error::keyring("keyring unavailable")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "keyring_unavailable", "message": "keyring unavailable"})
        );
    }

    #[test]
    fn every_code_serializes_to_its_stable_name() {
        use ErrorCode::*;
        for code in [
            InvalidInput,
            NotConfigured,
            KeyringUnavailable,
            CallbackRefused,
            StateMismatch,
            AuthorizationDenied,
            ProviderError,
            ReconnectNeeded,
            Unreachable,
            RateLimited,
            NotFound,
            Storage,
            Cancelled,
            Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
