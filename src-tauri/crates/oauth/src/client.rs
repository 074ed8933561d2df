use crate::PkceVerifier;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use datalinks_core::{
    now_unix, AccessToken, AuthorizationCode, ClientSecret, Error, ErrorCode, RefreshToken,
};
use datalinks_vault::TokenSet;
use serde::Deserialize;
use std::fmt;
use url::Url;

/// Why the token or revocation endpoint did not give us what we asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEndpointError {
    /// The code or refresh token is expired, used, revoked or wrong (`invalid_grant`).
    InvalidGrant { description: Option<String> },
    /// The client id or secret was refused (`invalid_client`).
    InvalidClient,
    /// Any other OAuth error response.
    Rejected {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// No usable answer: network failure, timeout, 5xx or a body that is not OAuth JSON.
    Unreachable(String),
    /// The provider has no revocation endpoint: access can only be withdrawn on its website.
    RevocationUnsupported,
}

impl fmt::Display for TokenEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidGrant { description } => {
                write!(
                    f,
                    "the grant is no longer valid (invalid_grant{})",
                    suffix(description)
                )
            }
            Self::InvalidClient => {
                f.write_str("the client ID or client secret was refused (invalid_client)")
            }
            Self::Rejected {
                status,
                error,
                description,
            } => {
                write!(
                    f,
                    "the provider refused the request: {error}{} (HTTP {status})",
                    suffix(description)
                )
            }
            Self::Unreachable(detail) => write!(f, "the provider could not be reached: {detail}"),
            Self::RevocationUnsupported => f.write_str(
                "the provider cannot revoke tokens for apps; withdraw access on its website",
            ),
        }
    }
}

fn suffix(description: &Option<String>) -> String {
    description
        .as_ref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

impl From<TokenEndpointError> for Error {
    fn from(err: TokenEndpointError) -> Self {
        let code = match err {
            TokenEndpointError::InvalidGrant { .. } => ErrorCode::ReconnectNeeded,
            TokenEndpointError::InvalidClient => ErrorCode::NotConfigured,
            TokenEndpointError::Rejected { .. } | TokenEndpointError::RevocationUnsupported => {
                ErrorCode::ProviderError
            }
            TokenEndpointError::Unreachable(_) => ErrorCode::Unreachable,
        };
        let mut message = err.to_string();
        message[..1].make_ascii_uppercase();
        Error::new(code, format!("{message}."))
    }
}

/// How the client proves who it is to the token endpoint (RFC 6749 §2.3.1, RFC 7636).
#[derive(Debug, Clone)]
pub enum ClientAuthentication {
    /// `Authorization: Basic` with the form-encoded client id and secret.
    Basic(ClientSecret),
    /// `client_id` and `client_secret` as form fields.
    Body(ClientSecret),
    /// Only `client_id` as a form field: a public client, which can only exchange a code it
    /// proves with its PKCE verifier.
    PkceOnly,
}

/// An OAuth client talking to a token endpoint (RFC 6749 §4.1.3, §6) and, where the provider
/// has one, a revocation endpoint (RFC 7009). Requests are form-encoded.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    token_url: Url,
    revoke_url: Option<Url>,
    client_id: String,
    authentication: ClientAuthentication,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: AccessToken,
    /// Absent from older providers' answers, which are bearer tokens all the same.
    token_type: Option<String>,
    refresh_token: Option<RefreshToken>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    error_description: Option<String>,
}

impl OAuthClient {
    /// A confidential client using HTTP Basic client authentication.
    pub fn new(
        http: reqwest::Client,
        token_url: Url,
        revoke_url: Url,
        client_id: String,
        client_secret: ClientSecret,
    ) -> Self {
        Self::with_authentication(
            http,
            token_url,
            Some(revoke_url),
            client_id,
            ClientAuthentication::Basic(client_secret),
        )
    }

    pub fn with_authentication(
        http: reqwest::Client,
        token_url: Url,
        revoke_url: Option<Url>,
        client_id: String,
        authentication: ClientAuthentication,
    ) -> Self {
        Self {
            http,
            token_url,
            revoke_url,
            client_id,
            authentication,
        }
    }

    /// Whether a refresh can succeed: refreshing needs client authentication (RFC 6749 §6),
    /// which a PKCE-only client cannot give.
    pub fn can_refresh(&self) -> bool {
        !matches!(self.authentication, ClientAuthentication::PkceOnly)
    }

    /// Whether the provider has a revocation endpoint.
    pub fn can_revoke(&self) -> bool {
        self.revoke_url.is_some()
    }

    pub async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        redirect_uri: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenSet, TokenEndpointError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.secret().expose()),
        ];
        self.request_tokens(&form).await
    }

    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<TokenSet, TokenEndpointError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        self.request_tokens(&form).await
    }

    /// Revokes an access token (RFC 7009). Unknown tokens count as revoked, as the RFC says.
    pub async fn revoke_access_token(&self, token: &AccessToken) -> Result<(), TokenEndpointError> {
        self.revoke(token.expose(), "access_token").await
    }

    /// Revokes a refresh token (RFC 7009).
    pub async fn revoke_refresh_token(
        &self,
        token: &RefreshToken,
    ) -> Result<(), TokenEndpointError> {
        self.revoke(token.expose(), "refresh_token").await
    }

    async fn revoke(&self, token: &str, type_hint: &str) -> Result<(), TokenEndpointError> {
        let revoke_url = self
            .revoke_url
            .clone()
            .ok_or(TokenEndpointError::RevocationUnsupported)?;
        let form = [("token", token), ("token_type_hint", type_hint)];
        let response = self.post(revoke_url, &form).await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(error_from(response).await)
    }

    async fn request_tokens(&self, form: &[(&str, &str)]) -> Result<TokenSet, TokenEndpointError> {
        let response = self.post(self.token_url.clone(), form).await?;
        if !response.status().is_success() {
            return Err(error_from(response).await);
        }
        let body: TokenResponse = response.json().await.map_err(|e| {
            TokenEndpointError::Unreachable(format!("unreadable token response: {e}"))
        })?;
        bearer_only(body.token_type)?;
        Ok(TokenSet {
            access_token: body.access_token,
            refresh_token: body.refresh_token,
            // A provider that omits expires_in gives no lifetime; the token is used until a 401
            // says otherwise.
            expires_at: body.expires_in.map(|secs| now_unix() + secs),
            scope: body.scope,
        })
    }

    async fn post(
        &self,
        url: Url,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, TokenEndpointError> {
        let mut form = form.to_vec();
        let request = self.http.post(url);
        let request = match &self.authentication {
            ClientAuthentication::Basic(secret) => request.header(
                reqwest::header::AUTHORIZATION,
                basic_auth(&self.client_id, secret),
            ),
            ClientAuthentication::Body(secret) => {
                form.extend([
                    ("client_id", self.client_id.as_str()),
                    ("client_secret", secret.expose()),
                ]);
                request
            }
            ClientAuthentication::PkceOnly => {
                form.push(("client_id", &self.client_id));
                request
            }
        };
        request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| TokenEndpointError::Unreachable(without_url(e)))
    }
}

/// RFC 6749 §7.1: a client must not use a token whose type it does not understand. The type
/// is case-insensitive (Open Collective's docs say "bearer", its server "Bearer").
fn bearer_only(token_type: Option<String>) -> Result<(), TokenEndpointError> {
    match token_type {
        Some(token_type) if !token_type.eq_ignore_ascii_case("bearer") => {
            Err(TokenEndpointError::Rejected {
                status: 200,
                error: "unsupported_token_type".into(),
                description: Some(format!(
                    "Datalinks only uses bearer tokens, not {token_type:?}"
                )),
            })
        }
        _ => Ok(()),
    }
}

/// RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
fn basic_auth(client_id: &str, secret: &ClientSecret) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret.expose()));
    format!("Basic {}", STANDARD.encode(pair))
}

/// reqwest errors print the request URL; ours carry no secrets in URLs, but keep messages short.
fn without_url(err: reqwest::Error) -> String {
    err.without_url().to_string()
}

async fn error_from(response: reqwest::Response) -> TokenEndpointError {
    let status = response.status().as_u16();
    if status >= 500 {
        return TokenEndpointError::Unreachable(format!("HTTP {status}"));
    }
    match response.json::<ErrorResponse>().await {
        Ok(body) if body.error == "invalid_grant" => TokenEndpointError::InvalidGrant {
            description: body.error_description,
        },
        Ok(body) if body.error == "invalid_client" => TokenEndpointError::InvalidClient,
        Ok(body) => TokenEndpointError::Rejected {
            status,
            error: body.error,
            description: body.error_description,
        },
        Err(_) => TokenEndpointError::Rejected {
            status,
            error: "unexpected response".into(),
            description: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_tokens_in_any_case_or_untyped_are_accepted() {
        for accepted in [None, Some("bearer"), Some("Bearer")] {
            assert_eq!(bearer_only(accepted.map(str::to_owned)), Ok(()));
        }
        assert!(matches!(
            bearer_only(Some("mac".into())),
            Err(TokenEndpointError::Rejected { error, .. }) if error == "unsupported_token_type"
        ));
    }
}
