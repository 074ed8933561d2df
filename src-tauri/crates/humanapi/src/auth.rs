//! Minting tokens and the legacy 1.x finalize flow (docs/providers/human-api.md, "The auth
//! service's answers", "The legacy Connect 1.x flow"). Each request carries the client secret in
//! its JSON body, as Human API expects; nothing else sees it.

use datalinks_core::{now_unix, AccessToken, Error, PublicToken, RefreshToken, SecretString};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{endpoint, Config};
use crate::connect_event::is_human_id;
use crate::error::{error_detail, network_failure, read_json, unexpected_status, HumanApiError};

const TOKEN_PATH: [&str; 3] = ["v1", "connect", "token"];
const LEGACY_TOKENS_PATH: [&str; 3] = ["v1", "connect", "tokens"];
const LEGACY_PUBLIC_TOKENS_PATH: [&str; 3] = ["v1", "connect", "publictokens"];
/// A `sessionTokenObject` holds three short strings.
const MAX_SESSION_TOKEN_OBJECT_BYTES: usize = 4 * 1024;

/// What launches Connect for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectToken {
    /// A new user (no source connected yet); lasts 3600 s.
    Session {
        token: SecretString,
        human_id: String,
        expires_at: i64,
    },
    /// A returning user, who already connected a source; lasts 86400 s.
    Id {
        token: SecretString,
        refresh_token: Option<SecretString>,
        expires_at: i64,
    },
}

impl ConnectToken {
    pub fn token(&self) -> &SecretString {
        match self {
            Self::Session { token, .. } | Self::Id { token, .. } => token,
        }
    }

    /// Unix seconds.
    pub fn expires_at(&self) -> i64 {
        match self {
            Self::Session { expires_at, .. } | Self::Id { expires_at, .. } => *expires_at,
        }
    }
}

/// Reads the user's data for 86400 s. Human API does not use the refresh token today: mint a new
/// access token instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedAccessToken {
    pub token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What the legacy finalize endpoint returns. The public token relaunches Connect in edit mode and
/// changes whenever the user connects another source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTokens {
    pub human_id: String,
    pub client_user_id: String,
    pub access_token: AccessToken,
    pub public_token: PublicToken,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenType {
    Session,
    Id,
    Access,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    client_id: &'a str,
    client_user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_user_email: Option<&'a str>,
    client_secret: &'a str,
    #[serde(rename = "type")]
    token_type: &'static str,
}

#[derive(Deserialize)]
struct SessionTokenResponse {
    session_token: SecretString,
    human_id: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct IdTokenResponse {
    id_token: SecretString,
    #[serde(default)]
    id_refresh_token: Option<SecretString>,
    expires_in: i64,
}

#[derive(Deserialize)]
struct AccessTokenResponse {
    access_token: AccessToken,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    expires_in: i64,
}

/// The Connect 1.x popup's `finish` result, as the app received it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SessionTokenObject {
    human_id: String,
    client_id: String,
    session_token: SecretString,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedSessionTokenObject<'a> {
    human_id: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
    session_token: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FinalizeResponse {
    human_id: String,
    access_token: AccessToken,
    public_token: PublicToken,
    client_user_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicTokenRequest<'a> {
    human_id: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicTokenResponse {
    human_id: String,
    public_token: PublicToken,
}

/// The calls whose refusals mean different things.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Token(TokenType),
    LegacyFinalize,
    PublicToken,
}

/// Talks to Human API's authentication service and legacy user endpoints.
#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    config: Config,
}

impl AuthClient {
    pub fn new(http: reqwest::Client, config: Config) -> Result<Self, Error> {
        config.check()?;
        Ok(Self { http, config })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A token to launch Connect: a session token, or, when Human API answers 403 because the
    /// user already connected a source, an id token.
    pub async fn connect_token(
        &self,
        client_user_id: &str,
        email: &str,
    ) -> Result<ConnectToken, HumanApiError> {
        let response = self
            .request_token(TokenType::Session, client_user_id, Some(email))
            .await?;
        if response.status() == StatusCode::FORBIDDEN {
            let response = self
                .request_token(TokenType::Id, client_user_id, None)
                .await?;
            let id: IdTokenResponse = self.answer(Call::Token(TokenType::Id), response).await?;
            return Ok(ConnectToken::Id {
                token: id.id_token,
                refresh_token: id.id_refresh_token,
                expires_at: now_unix() + id.expires_in,
            });
        }
        let session: SessionTokenResponse = self
            .answer(Call::Token(TokenType::Session), response)
            .await?;
        Ok(ConnectToken::Session {
            token: session.session_token,
            human_id: session.human_id,
            expires_at: now_unix() + session.expires_in,
        })
    }

    /// An access token for the Data API; Human API issues one only once the user has connected a
    /// source ([`HumanApiError::NoConnectedSource`] before that).
    pub async fn access_token(
        &self,
        client_user_id: &str,
    ) -> Result<MintedAccessToken, HumanApiError> {
        let response = self
            .request_token(TokenType::Access, client_user_id, None)
            .await?;
        let access: AccessTokenResponse = self
            .answer(Call::Token(TokenType::Access), response)
            .await?;
        Ok(MintedAccessToken {
            token: access.access_token,
            refresh_token: access.refresh_token,
            expires_at: now_unix() + access.expires_in,
        })
    }

    /// Legacy flow: signs the Connect 1.x popup's `sessionTokenObject` (JSON, untrusted) with the
    /// client secret and exchanges it for an access token and a public token.
    pub async fn finalize_legacy(
        &self,
        session_token_object_json: &str,
    ) -> Result<LegacyTokens, HumanApiError> {
        let object = self.parse_session_token_object(session_token_object_json)?;
        let signed = SignedSessionTokenObject {
            human_id: &object.human_id,
            client_id: &self.config.client_id,
            client_secret: self.config.client_secret.expose(),
            session_token: object.session_token.expose(),
        };
        let url = endpoint(&self.config.legacy_base_url, &LEGACY_TOKENS_PATH);
        let response = self.post(url, &signed).await?;
        let tokens: FinalizeResponse = self.answer(Call::LegacyFinalize, response).await?;
        expect_same_human(&object.human_id, &tokens.human_id)?;
        Ok(LegacyTokens {
            human_id: tokens.human_id,
            client_user_id: tokens.client_user_id,
            access_token: tokens.access_token,
            public_token: tokens.public_token,
        })
    }

    /// Legacy flow: a new public token for a user whose last one was lost.
    pub async fn recover_public_token(&self, human_id: &str) -> Result<PublicToken, HumanApiError> {
        if !is_human_id(human_id) {
            return Err(HumanApiError::Failed(Error::invalid_input(
                "A Human API humanId is 24 to 32 lower-case hex digits.",
            )));
        }
        let request = PublicTokenRequest {
            human_id,
            client_id: &self.config.client_id,
            client_secret: self.config.client_secret.expose(),
        };
        let url = endpoint(&self.config.legacy_base_url, &LEGACY_PUBLIC_TOKENS_PATH);
        let response = self.post(url, &request).await?;
        let recovered: PublicTokenResponse = self.answer(Call::PublicToken, response).await?;
        expect_same_human(human_id, &recovered.human_id)?;
        Ok(recovered.public_token)
    }

    fn parse_session_token_object(&self, json: &str) -> Result<SessionTokenObject, HumanApiError> {
        let refuse = |why: String| {
            HumanApiError::Failed(Error::invalid_input(format!(
                "The Connect result cannot be finalized: {why}."
            )))
        };
        if json.len() > MAX_SESSION_TOKEN_OBJECT_BYTES {
            return Err(refuse(format!(
                "it is larger than {MAX_SESSION_TOKEN_OBJECT_BYTES} bytes"
            )));
        }
        let object: SessionTokenObject =
            serde_json::from_str(json).map_err(|e| refuse(e.to_string()))?;
        if !is_human_id(&object.human_id) {
            return Err(refuse("its humanId is not 24 to 32 hex digits".into()));
        }
        // Signing an object meant for another app would hand that app's session our secret.
        if object.client_id != self.config.client_id {
            return Err(refuse("it belongs to another Human API app".into()));
        }
        if object.session_token.is_empty() {
            return Err(refuse("its sessionToken is empty".into()));
        }
        Ok(object)
    }

    async fn request_token(
        &self,
        token_type: TokenType,
        client_user_id: &str,
        email: Option<&str>,
    ) -> Result<Response, HumanApiError> {
        if client_user_id.trim().is_empty() {
            return Err(HumanApiError::Failed(Error::invalid_input(
                "A Human API client user id must not be empty.",
            )));
        }
        let request = TokenRequest {
            client_id: &self.config.client_id,
            client_user_id,
            client_user_email: email,
            client_secret: self.config.client_secret.expose(),
            token_type: match token_type {
                TokenType::Session => "session",
                TokenType::Id => "id",
                TokenType::Access => "access",
            },
        };
        self.post(endpoint(&self.config.auth_base_url, &TOKEN_PATH), &request)
            .await
    }

    async fn post(&self, url: url::Url, body: &impl Serialize) -> Result<Response, HumanApiError> {
        datalinks_http::send(self.http.post(url).json(body))
            .await
            .map_err(network_failure)
    }

    /// A success's JSON, or the refusal as a typed error.
    async fn answer<T: DeserializeOwned>(
        &self,
        call: Call,
        response: Response,
    ) -> Result<T, HumanApiError> {
        let status = response.status();
        if status.is_success() {
            return read_json(response).await;
        }
        let detail = self.without_secret(error_detail(response).await);
        Err(match (status, call) {
            // Here 401 may also mean bad credentials; the detail tells which.
            (StatusCode::UNAUTHORIZED, Call::LegacyFinalize) => {
                HumanApiError::TokenRejected { detail }
            }
            (StatusCode::UNAUTHORIZED, _) => HumanApiError::BadCredentials,
            (StatusCode::NOT_FOUND, _) => HumanApiError::UnknownUser,
            (StatusCode::FORBIDDEN, Call::Token(TokenType::Access)) => {
                HumanApiError::NoConnectedSource
            }
            _ => unexpected_status(status, &detail),
        })
    }

    /// Server messages are shown to people; a server that echoes the request must not leak the
    /// secret through them.
    fn without_secret(&self, detail: String) -> String {
        detail.replace(self.config.client_secret.expose(), "[redacted]")
    }
}

fn expect_same_human(asked: &str, answered: &str) -> Result<(), HumanApiError> {
    if asked == answered {
        return Ok(());
    }
    Err(HumanApiError::Failed(Error::provider(
        "Human API answered for another humanId than the one asked for.",
    )))
}
