use datalinks_core::{Error, ErrorCode};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Why a Human API call failed. What a caller acts on has its own variant; everything else is a
/// coded [`Error`]. Messages never contain the client secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HumanApiError {
    /// HTTP 401 from the auth service or a legacy endpoint: wrong client id or secret.
    #[error("Human API refused the client id and secret. Check them in the Human API settings.")]
    BadCredentials,
    /// HTTP 404: Human API does not know this `client_user_id` or `humanId`.
    #[error("Human API does not know this user yet: open Connect to start.")]
    UnknownUser,
    /// HTTP 403 on an access-token request: the user has no connected source (any more).
    #[error("This user has no source connected in Human API: open Connect and connect one.")]
    NoConnectedSource,
    /// HTTP 401 from the Data API (or a stale Connect session token): mint a new token.
    #[error("Human API no longer accepts this token ({detail}).")]
    TokenRejected { detail: String },
    /// A network failure or a 5xx answer.
    #[error("Human API could not be reached: {detail}.")]
    Unreachable { detail: String },
    #[error(transparent)]
    Failed(Error),
}

impl HumanApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadCredentials => ErrorCode::NotConfigured,
            Self::UnknownUser => ErrorCode::NotFound,
            Self::NoConnectedSource | Self::TokenRejected { .. } => ErrorCode::ReconnectNeeded,
            Self::Unreachable { .. } => ErrorCode::Unreachable,
            Self::Failed(error) => error.code,
        }
    }
}

impl From<HumanApiError> for Error {
    fn from(error: HumanApiError) -> Self {
        match error {
            HumanApiError::Failed(error) => error,
            other => Error::new(other.code(), other.to_string()),
        }
    }
}

pub(crate) fn network_failure(error: reqwest::Error) -> HumanApiError {
    let detail = datalinks_http::describe(&error);
    if datalinks_http::is_refused_redirect(&error) {
        return HumanApiError::Failed(Error::provider(format!(
            "Human API's answer was not followed: {detail}."
        )));
    }
    HumanApiError::Unreachable { detail }
}

/// A status that no call gives a meaning of its own.
pub(crate) fn unexpected_status(status: StatusCode, detail: &str) -> HumanApiError {
    if status.is_server_error() {
        return HumanApiError::Unreachable {
            detail: format!("HTTP {}", status.as_u16()),
        };
    }
    HumanApiError::Failed(Error::provider(format!(
        "Human API answered HTTP {}: {detail}",
        status.as_u16()
    )))
}

/// Error bodies are undocumented; the old clients expect `{"status":"error","name","message"}`.
#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// The error body's `message`, else the start of the body, scrubbed of anything secret.
pub(crate) async fn error_detail(response: Response) -> String {
    let body = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<ErrorBody>(&body)
        .map(|error| error.message)
        .unwrap_or(body);
    datalinks_http::excerpt(&detail, &[])
}

pub(crate) async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, HumanApiError> {
    response.json().await.map_err(|e| {
        HumanApiError::Failed(Error::provider(format!(
            "Human API sent a response Datalinks does not understand: {}.",
            e.without_url()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_errors_map_to_stable_codes() {
        let rejected = HumanApiError::TokenRejected {
            detail: "The access token has expired.".into(),
        };
        let error = Error::from(rejected);
        assert_eq!(error.code, ErrorCode::ReconnectNeeded);
        assert!(error.message.contains("has expired"));
        assert_eq!(
            Error::from(HumanApiError::BadCredentials).code,
            ErrorCode::NotConfigured
        );
        assert_eq!(
            Error::from(HumanApiError::UnknownUser).code,
            ErrorCode::NotFound
        );
        let storage = Error::storage("disk full");
        assert_eq!(Error::from(HumanApiError::Failed(storage.clone())), storage);
    }

    #[test]
    fn server_errors_count_as_unreachable() {
        assert_eq!(
            unexpected_status(StatusCode::BAD_GATEWAY, "").code(),
            ErrorCode::Unreachable
        );
        assert_eq!(
            unexpected_status(StatusCode::BAD_REQUEST, "type is required.").code(),
            ErrorCode::ProviderError
        );
    }
}
