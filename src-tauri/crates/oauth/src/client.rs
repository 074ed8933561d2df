//! The token endpoint (RFC 6749 §4.1.3, §6), the revocation endpoint (RFC 7009) and the authorize
//! URL, on the `oauth2` crate. Its types stay inside this file: callers use our redacting secret
//! types, and oauth2 talks HTTP through [`Bridge`], our reqwest client.

use crate::PkceVerifier;
use datalinks_core::{
    now_unix, AccessToken, AuthorizationCode, ClientSecret, Error, ErrorCode, RefreshToken,
};
use datalinks_vault::TokenSet;
use oauth2::basic::{BasicClient, BasicTokenIntrospectionResponse};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, ClientId, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, RedirectUrl, RequestTokenError,
    RevocationUrl, StandardRevocableToken, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
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

/// oauth2's client as we configure it: our token response and error types, a token endpoint,
/// and a revocation endpoint where the provider has one.
type Oauth2Client<HasRevocationUrl = EndpointMaybeSet, HasTokenUrl = EndpointSet> = oauth2::Client<
    EndpointErrorBody,
    IssuedTokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    EndpointErrorBody,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasRevocationUrl,
    HasTokenUrl,
>;

/// An OAuth client talking to a token endpoint (RFC 6749 §4.1.3, §6) and, where the provider
/// has one, a revocation endpoint (RFC 7009). Requests are form-encoded.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    oauth2: Oauth2Client,
    /// Where revocation requests go. oauth2 holds its `https` spelling (see [`as_https`]).
    revoke_url: Option<Url>,
    confidential: bool,
    /// Whether the authorize URL carries a PKCE challenge and the code exchange its verifier.
    pkce: bool,
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
        let (secret, auth_type) = match authentication {
            ClientAuthentication::Basic(secret) => (Some(secret), AuthType::BasicAuth),
            ClientAuthentication::Body(secret) => (Some(secret), AuthType::RequestBody),
            ClientAuthentication::PkceOnly => (None, AuthType::RequestBody),
        };
        let confidential = secret.is_some();
        let mut oauth2 =
            Oauth2Client::<EndpointNotSet, EndpointNotSet>::new(ClientId::new(client_id))
                .set_auth_type(auth_type)
                .set_token_uri(TokenUrl::from_url(token_url))
                .set_revocation_url_option(
                    revoke_url
                        .as_ref()
                        .and_then(as_https)
                        .map(RevocationUrl::from_url),
                );
        if let Some(secret) = secret {
            oauth2 =
                oauth2.set_client_secret(oauth2::ClientSecret::new(secret.expose().to_owned()));
        }
        Self {
            http,
            oauth2,
            revoke_url,
            confidential,
            pkce: true,
        }
    }

    /// The same client without PKCE, for a server whose consent page drops `code_challenge`
    /// and then refuses the verifier. Only a confidential client can do without it: the client
    /// secret is then all that proves the code exchange is ours.
    pub fn without_pkce(self) -> Result<Self, Error> {
        if !self.confidential {
            return Err(Error::invalid_input(
                "Without PKCE the code exchange needs the client secret.",
            ));
        }
        Ok(Self {
            pkce: false,
            ..self
        })
    }

    /// Whether a refresh can succeed: refreshing needs client authentication (RFC 6749 §6),
    /// which a PKCE-only client cannot give.
    pub fn can_refresh(&self) -> bool {
        self.confidential
    }

    /// Whether the provider has a revocation endpoint.
    pub fn can_revoke(&self) -> bool {
        self.revoke_url.is_some()
    }

    /// The authorize URL (RFC 6749 §4.1.1, RFC 7636 §4.3): `authorize_url` with its own query
    /// and path kept, then `response_type=code`, `client_id`, `state`, the S256 `code_challenge`
    /// of `challenge_from` and `code_challenge_method=S256` (unless the client goes
    /// [without PKCE](Self::without_pkce)), `redirect_uri`, and `extra` as given.
    /// Scopes go in `extra`, joined as the provider wants them (Open Collective takes commas):
    /// oauth2's own scope list is always space-joined. `extra` must not repeat a parameter this
    /// method sets.
    pub fn authorize_url(
        &self,
        authorize_url: &Url,
        redirect_uri: &str,
        state: &str,
        challenge_from: &PkceVerifier,
        extra: &[(&str, &str)],
    ) -> Result<Url, Error> {
        const SET_HERE: [&str; 6] = [
            "response_type",
            "client_id",
            "state",
            "code_challenge",
            "code_challenge_method",
            "redirect_uri",
        ];
        debug_assert!(
            extra.iter().all(|(name, _)| !SET_HERE.contains(name)),
            "extra authorize parameters must not repeat the ones authorize_url sets"
        );
        let redirect_uri = redirect_url(redirect_uri).map_err(|detail| {
            Error::invalid_input(format!("The authorize URL cannot be built: {detail}."))
        })?;
        let client = BasicClient::new(self.oauth2.client_id().clone())
            .set_auth_uri(AuthUrl::from_url(authorize_url.clone()));
        let mut request = client
            .authorize_url(|| CsrfToken::new(state.to_owned()))
            .set_redirect_uri(Cow::Owned(redirect_uri));
        if self.pkce {
            request = request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(
                &oauth2_verifier(challenge_from),
            ));
        }
        for (name, value) in extra {
            request = request.add_extra_param(*name, *value);
        }
        Ok(request.url().0)
    }

    pub async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        redirect_uri: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenSet, TokenEndpointError> {
        let redirect_uri = redirect_url(redirect_uri).map_err(TokenEndpointError::Unreachable)?;
        let bridge = Bridge::new(&self.http, None);
        let mut request = self
            .oauth2
            .exchange_code(oauth2::AuthorizationCode::new(code.expose().to_owned()))
            .set_redirect_uri(Cow::Owned(redirect_uri));
        if self.pkce {
            request = request.set_pkce_verifier(oauth2_verifier(verifier));
        }
        let answer = request.request_async(&bridge).await;
        token_set(answer.map_err(|e| endpoint_error(e, bridge.status()))?)
    }

    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<TokenSet, TokenEndpointError> {
        let refresh_token = oauth2::RefreshToken::new(refresh_token.expose().to_owned());
        let bridge = Bridge::new(&self.http, None);
        let answer = self
            .oauth2
            .exchange_refresh_token(&refresh_token)
            .request_async(&bridge)
            .await;
        token_set(answer.map_err(|e| endpoint_error(e, bridge.status()))?)
    }

    /// Revokes an access token (RFC 7009). Unknown tokens count as revoked, as the RFC says.
    pub async fn revoke_access_token(&self, token: &AccessToken) -> Result<(), TokenEndpointError> {
        let token = oauth2::AccessToken::new(token.expose().to_owned());
        self.revoke(StandardRevocableToken::AccessToken(token))
            .await
    }

    /// Revokes a refresh token (RFC 7009).
    pub async fn revoke_refresh_token(
        &self,
        token: &RefreshToken,
    ) -> Result<(), TokenEndpointError> {
        let token = oauth2::RefreshToken::new(token.expose().to_owned());
        self.revoke(StandardRevocableToken::RefreshToken(token))
            .await
    }

    /// `token` and its `token_type_hint` (`access_token` or `refresh_token`), with the client's
    /// authentication.
    async fn revoke(&self, token: StandardRevocableToken) -> Result<(), TokenEndpointError> {
        let target = self
            .revoke_url
            .as_ref()
            .ok_or(TokenEndpointError::RevocationUnsupported)?;
        let request = self.oauth2.revoke_token(token).map_err(|e| {
            TokenEndpointError::Unreachable(format!("the revocation endpoint cannot be used: {e}"))
        })?;
        let bridge = Bridge::new(&self.http, Some(target));
        let answer = request.request_async(&bridge).await;
        answer.map_err(|e| endpoint_error(e, bridge.status()))
    }
}

/// oauth2 refuses a revocation endpoint that is not `https` (RFC 7009 §2). Datalinks also talks
/// to local servers over plain `http` (the sandbox, a developer's own Open Humans), whose
/// revocation worked before and must go on working; so oauth2 is handed the `https` spelling of
/// the URL to build its request, and [`Bridge`] sends that request to the real URL. An `https`
/// endpoint is used as it is. Any other scheme cannot be revoked at (`None`).
fn as_https(url: &Url) -> Option<Url> {
    match url.scheme() {
        "https" => Some(url.clone()),
        "http" => {
            let mut https = url.clone();
            https.set_scheme("https").ok()?;
            Some(https)
        }
        _ => None,
    }
}

/// The redirect URI exactly as given: oauth2 checks that it parses but sends the original
/// string, which matters to providers that compare it as a whole (Open Collective).
fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, String> {
    RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| {
        format!("the redirect URI {redirect_uri:?} is not a valid URL ({e}), so nothing was sent")
    })
}

/// A copy of the verifier's value in oauth2's type, dropped with the request that sends it.
/// [`PkceVerifier`] itself is never cloned.
fn oauth2_verifier(verifier: &PkceVerifier) -> oauth2::PkceCodeVerifier {
    oauth2::PkceCodeVerifier::new(verifier.secret().expose().to_owned())
}

/// oauth2's HTTP client: the `http::Request` oauth2 builds, sent with our reqwest client.
///
/// It also keeps what oauth2's errors lose: the HTTP status of the answer, which
/// [`TokenEndpointError::Rejected`] reports. One `Bridge` serves one request.
///
/// It owns what it holds (a reqwest client is a handle): with a borrowed one, the compiler could
/// not show that the futures of [`OAuthClient`]'s methods are `Send`.
struct Bridge {
    http: reqwest::Client,
    /// Where to send instead of the request's own URI (see [`as_https`]).
    send_to: Option<Url>,
    /// The status of the answer; 0 until there is one.
    status: AtomicU16,
}

/// The bridge's only error: no usable answer (transport failure, timeout, 5xx, a redirect).
#[derive(Debug)]
struct Unreachable(String);

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

impl Bridge {
    fn new(http: &reqwest::Client, send_to: Option<&Url>) -> Self {
        Self {
            http: http.clone(),
            send_to: send_to.cloned(),
            status: AtomicU16::new(0),
        }
    }

    fn status(&self) -> Option<u16> {
        Some(self.status.load(Ordering::Relaxed)).filter(|status| *status != 0)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Unreachable> {
        let (parts, body) = request.into_parts();
        let url = match &self.send_to {
            Some(url) => url.clone(),
            None => Url::parse(&parts.uri.to_string())
                .map_err(|e| Unreachable(format!("the endpoint URL is not valid: {e}")))?,
        };
        // The body holds the code, verifier, refresh token or client secret, and must never
        // follow a redirect to wherever a `Location` points. The reqwest client we are given
        // may follow redirects (reqwest's default follows up to 10, resending the body on 307
        // and 308; callers are to give it a no-redirect policy, but this must not depend on
        // that): a `Body::wrap`ped body is a stream that reqwest cannot copy, so a 307 or 308
        // comes back to us unfollowed, and a 301, 302 or 303, which reqwest follows as a GET
        // without a body, is refused below.
        let body = String::from_utf8(body)
            .map_err(|_| Unreachable("the request body is not form-encoded text".into()))?;
        let request = self
            .http
            .request(parts.method, url.clone())
            .headers(parts.headers)
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(reqwest::Body::wrap(body));
        let response = datalinks_http::send(request)
            .await
            .map_err(|e| Unreachable(datalinks_http::describe(&e)))?;
        if response.url() != &url {
            return Err(Unreachable(
                "the endpoint redirected the request elsewhere, which Datalinks does not follow"
                    .into(),
            ));
        }
        let status = response.status();
        self.status.store(status.as_u16(), Ordering::Relaxed);
        // A provider's 5xx is an outage, whatever its body says; never "your grant is gone".
        if status.is_server_error() {
            return Err(Unreachable(format!("HTTP {}", status.as_u16())));
        }
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| Unreachable(e.without_url().to_string()))?;
        let mut answer = HttpResponse::new(body.to_vec());
        // oauth2 takes only 200 as success; like our client always did, take any 2xx (a 204
        // from a revocation endpoint is a success).
        *answer.status_mut() = if status.is_success() {
            http::StatusCode::OK
        } else {
            status
        };
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

impl<'c> AsyncHttpClient<'c> for Bridge {
    type Error = Unreachable;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Unreachable>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// What a token endpoint answers, in the shapes providers use: `token_type`, `expires_in`,
/// `refresh_token` and `scope` may each be missing (Open Collective's older answers had only
/// `access_token`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "IssuedTokensAsSent")]
struct IssuedTokens {
    access_token: oauth2::AccessToken,
    token_type: IssuedTokenType,
    refresh_token: Option<oauth2::RefreshToken>,
    expires_in: Option<i64>,
    /// As the provider wrote it.
    scope: Option<String>,
    /// `scope` split on spaces, for oauth2's [`oauth2::TokenResponse::scopes`].
    #[serde(skip)]
    scopes: Option<Vec<oauth2::Scope>>,
}

#[derive(Deserialize)]
struct IssuedTokensAsSent {
    access_token: oauth2::AccessToken,
    token_type: Option<String>,
    refresh_token: Option<oauth2::RefreshToken>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

impl From<IssuedTokensAsSent> for IssuedTokens {
    fn from(sent: IssuedTokensAsSent) -> Self {
        let scopes = sent.scope.as_ref().map(|scope| {
            scope
                .split_ascii_whitespace()
                .map(|s| oauth2::Scope::new(s.to_owned()))
                .collect()
        });
        Self {
            access_token: sent.access_token,
            token_type: IssuedTokenType(sent.token_type),
            refresh_token: sent.refresh_token,
            expires_in: sent.expires_in,
            scope: sent.scope,
            scopes,
        }
    }
}

/// The `token_type` of an answer, if it has one; checked by [`bearer_only`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct IssuedTokenType(Option<String>);

impl oauth2::TokenType for IssuedTokenType {}

impl oauth2::TokenResponse for IssuedTokens {
    type TokenType = IssuedTokenType;

    fn access_token(&self) -> &oauth2::AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &IssuedTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in
            .map(|secs| Duration::from_secs(secs.max(0).unsigned_abs()))
    }
    fn refresh_token(&self) -> Option<&oauth2::RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<oauth2::Scope>> {
        self.scopes.as_ref()
    }
}

fn token_set(tokens: IssuedTokens) -> Result<TokenSet, TokenEndpointError> {
    bearer_only(tokens.token_type.0)?;
    Ok(TokenSet {
        access_token: AccessToken::new(tokens.access_token.into_secret()),
        refresh_token: tokens
            .refresh_token
            .map(|token| RefreshToken::new(token.into_secret())),
        // A provider that omits expires_in gives no lifetime; the token is used until a 401
        // says otherwise.
        // A negative or absurd lifetime from the server is clamped, never an overflow.
        expires_at: tokens
            .expires_in
            .map(|secs| now_unix().saturating_add(secs.max(0))),
        scope: tokens.scope,
    })
}

/// Reads a token endpoint's successful answer as the client does (oauth2 parses it into the
/// same type), for the fuzz target and tests: any bytes give a token set or an error.
pub fn parse_token_response(body: &[u8]) -> Result<TokenSet, TokenEndpointError> {
    let tokens: IssuedTokens = serde_json::from_slice(body).map_err(|e| {
        TokenEndpointError::Unreachable(format!(
            "unreadable token response (at line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    token_set(tokens)
}

/// An OAuth error answer (RFC 6749 §5.2, RFC 7009 §2.2.1), with any `error` code.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct EndpointErrorBody {
    error: String,
    error_description: Option<String>,
}

impl fmt::Display for EndpointErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.error, suffix(&self.error_description))
    }
}

impl oauth2::ErrorResponse for EndpointErrorBody {}

/// What went wrong, from oauth2's error and the status the bridge saw. Messages name what was
/// wrong with an answer, never its body (which may hold a token).
fn endpoint_error(
    error: RequestTokenError<Unreachable, EndpointErrorBody>,
    status: Option<u16>,
) -> TokenEndpointError {
    match (error, status) {
        (RequestTokenError::Request(Unreachable(detail)), _) => {
            TokenEndpointError::Unreachable(detail)
        }
        (RequestTokenError::ServerResponse(body), Some(status)) => match body.error.as_str() {
            "invalid_grant" => TokenEndpointError::InvalidGrant {
                description: body.error_description,
            },
            "invalid_client" => TokenEndpointError::InvalidClient,
            _ => TokenEndpointError::Rejected {
                status,
                error: body.error,
                description: body.error_description,
            },
        },
        // A 2xx whose body is not a token response.
        (RequestTokenError::Parse(e, _body), Some(status)) if is_success(status) => {
            TokenEndpointError::Unreachable(format!("unreadable token response (at {})", e.path()))
        }
        (RequestTokenError::Other(detail), Some(status)) if is_success(status) => {
            TokenEndpointError::Unreachable(format!("unreadable token response: {detail}"))
        }
        // A 3xx or 4xx whose body is not an OAuth error.
        (RequestTokenError::Parse(..) | RequestTokenError::Other(_), Some(status)) => {
            TokenEndpointError::Rejected {
                status,
                error: "unexpected response".into(),
                description: None,
            }
        }
        // oauth2 could not build the request: nothing was sent.
        (RequestTokenError::Other(detail), None) => TokenEndpointError::Unreachable(detail),
        (RequestTokenError::ServerResponse(_) | RequestTokenError::Parse(..), None) => {
            TokenEndpointError::Unreachable("no answer".into())
        }
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

const UNSUPPORTED_TOKEN_TYPE: &str =
    "Datalinks only uses bearer tokens, and this server issued another type";

/// RFC 6749 §7.1: a client must not use a token whose type it does not understand. The type
/// is case-insensitive (Open Collective's docs say "bearer", its server "Bearer").
fn bearer_only(token_type: Option<String>) -> Result<(), TokenEndpointError> {
    match token_type {
        Some(token_type) if !token_type.eq_ignore_ascii_case("bearer") => {
            Err(TokenEndpointError::Rejected {
                status: 200,
                error: "unsupported_token_type".into(),
                // The server's word is not quoted: it is the server's text, and may be anything.
                description: Some(UNSUPPORTED_TOKEN_TYPE.into()),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, Uri};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use std::sync::{Arc, Mutex};

    /// Every character RFC 6749 §2.3.1's form-encoding changes: `:` `+` `%` and a space.
    const SECRET: &str = "a:b+c%d e";
    const CLIENT_ID: &str = "my client";
    const ACCESS: &str = "secret-access-token-value";

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

    /// A request the test server received.
    #[derive(Clone, Debug)]
    struct Seen {
        method: Method,
        path: String,
        headers: HeaderMap,
        body: String,
    }

    impl Seen {
        fn form(&self) -> Vec<(String, String)> {
            url::form_urlencoded::parse(self.body.as_bytes())
                .into_owned()
                .collect()
        }
        fn field(&self, name: &str) -> Option<String> {
            self.form()
                .into_iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
        }
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).map(|v| v.to_str().unwrap())
        }
    }

    struct Reply {
        status: u16,
        content_type: &'static str,
        body: String,
        location: Option<&'static str>,
    }

    fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.into(),
            location: None,
        }
    }

    fn redirect(status: u16, location: &'static str) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: String::new(),
            location: Some(location),
        }
    }

    /// A local HTTP server that records every request and answers by path.
    struct Server {
        base: Url,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        fn url(&self, path: &str) -> Url {
            self.base.join(path).unwrap()
        }
        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
        fn only_request(&self) -> Seen {
            let seen = self.seen();
            assert_eq!(seen.len(), 1, "{seen:?}");
            seen[0].clone()
        }
    }

    async fn serve(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(reply);
        let recorder = seen.clone();
        let router = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (seen, reply) = (recorder.clone(), reply.clone());
                async move {
                    seen.lock().unwrap().push(Seen {
                        method,
                        path: uri.path().to_owned(),
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let reply = reply(uri.path());
                    let mut response = axum::response::Response::builder()
                        .status(reply.status)
                        .header("content-type", reply.content_type);
                    if let Some(location) = reply.location {
                        response = response.header("location", location);
                    }
                    response.body(axum::body::Body::from(reply.body)).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server {
            base: Url::parse(&format!("http://{addr}/")).unwrap(),
            seen,
        }
    }

    /// A client whose token endpoint is `token_path` and revocation endpoint `/revoke` on
    /// `server`, with reqwest's default client, which follows redirects.
    fn client_at(
        server: &Server,
        token_path: &str,
        authentication: ClientAuthentication,
    ) -> OAuthClient {
        OAuthClient::with_authentication(
            reqwest::Client::new(),
            server.url(token_path),
            Some(server.url("/revoke")),
            CLIENT_ID.into(),
            authentication,
        )
    }

    fn basic() -> ClientAuthentication {
        ClientAuthentication::Basic(ClientSecret::new(SECRET))
    }

    async fn refresh_answered_with(body: &'static str) -> Result<TokenSet, TokenEndpointError> {
        let server = serve(move |_| json(200, body)).await;
        client_at(&server, "/token", basic())
            .refresh(&RefreshToken::new("old-refresh"))
            .await
    }

    fn assert_expires_in(tokens: &TokenSet, secs: i64) {
        let expires_at = tokens.expires_at.expect("an expiry");
        let expected = now_unix() + secs;
        assert!(
            (expected - 5..=expected).contains(&expires_at),
            "{expires_at}"
        );
    }

    #[tokio::test]
    async fn a_token_response_without_token_type_is_a_bearer_token() {
        let tokens = refresh_answered_with(
            r#"{"access_token":"secret-access-token-value","refresh_token":"new-refresh","expires_in":3600}"#,
        )
        .await
        .expect("no token_type is taken as bearer");
        assert_eq!(tokens.access_token.expose(), ACCESS);
        assert_expires_in(&tokens, 3600);
        assert_eq!(tokens.refresh_token.unwrap().expose(), "new-refresh");

        // Open Collective before 2025-06-30: nothing but the access token.
        let tokens = refresh_answered_with(r#"{"access_token":"secret-access-token-value"}"#)
            .await
            .expect("an access token alone is a token response");
        assert_eq!(tokens.access_token.expose(), ACCESS);
        assert!(tokens.refresh_token.is_none());
        assert_eq!(tokens.expires_at, None);
        assert_eq!(tokens.scope, None);
    }

    #[tokio::test]
    async fn a_token_response_without_expires_in_gives_tokens_without_expiry() {
        let tokens = refresh_answered_with(
            r#"{"access_token":"secret-access-token-value","token_type":"bearer","refresh_token":"new-refresh"}"#,
        )
        .await
        .unwrap();
        assert_eq!(tokens.expires_at, None, "no lifetime is made up");
        assert_eq!(tokens.refresh_token.unwrap().expose(), "new-refresh");
    }

    #[tokio::test]
    async fn a_token_response_without_refresh_token_keeps_none() {
        let tokens = refresh_answered_with(
            r#"{"access_token":"secret-access-token-value","token_type":"Bearer","expires_in":60,"scope":"email account"}"#,
        )
        .await
        .unwrap();
        assert!(tokens.refresh_token.is_none());
        assert_expires_in(&tokens, 60);
        assert_eq!(tokens.scope.as_deref(), Some("email account"));
    }

    #[tokio::test]
    async fn a_mac_token_is_refused_as_an_unsupported_token_type() {
        let error = refresh_answered_with(
            r#"{"access_token":"secret-access-token-value","token_type":"MAC","expires_in":60}"#,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                &error,
                TokenEndpointError::Rejected { status: 200, error, .. } if error == "unsupported_token_type"
            ),
            "{error:?}"
        );
        assert!(!Error::from(error).message.contains(ACCESS));
    }

    #[tokio::test]
    async fn a_503_is_unreachable_whatever_its_body_says() {
        // The body claims invalid_grant: reading it would tell the person to reconnect.
        let server = serve(|_| json(503, r#"{"error":"invalid_grant"}"#)).await;
        let client = client_at(&server, "/token", basic());
        let unreachable = TokenEndpointError::Unreachable("HTTP 503".into());
        let code = AuthorizationCode::new("the-code");
        let verifier = PkceVerifier::generate();
        assert_eq!(
            client
                .exchange_code(&code, "http://127.0.0.1/callback", &verifier)
                .await
                .unwrap_err(),
            unreachable
        );
        let refresh_token = RefreshToken::new("old-refresh");
        assert_eq!(
            client.refresh(&refresh_token).await.unwrap_err(),
            unreachable
        );
        assert_eq!(
            client
                .revoke_refresh_token(&refresh_token)
                .await
                .unwrap_err(),
            unreachable
        );
        assert_eq!(server.seen().len(), 3);
    }

    #[tokio::test]
    async fn basic_authentication_form_encodes_the_client_id_and_secret() {
        let server = serve(|_| json(200, r#"{"access_token":"at","token_type":"bearer"}"#)).await;
        client_at(&server, "/token", basic())
            .refresh(&RefreshToken::new("old-refresh"))
            .await
            .unwrap();
        let seen = server.only_request();
        let credentials = seen
            .header("authorization")
            .and_then(|value| value.strip_prefix("Basic "))
            .expect("HTTP Basic");
        let credentials = String::from_utf8(STANDARD.decode(credentials).unwrap()).unwrap();
        assert_eq!(credentials, "my+client:a%3Ab%2Bc%25d+e");
        assert_eq!(
            seen.form(),
            [
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), "old-refresh".to_owned()),
            ],
            "the client is only in the header"
        );
        // A body of known length, as form posts always had (some servers cannot read chunked
        // request bodies).
        assert_eq!(seen.header("transfer-encoding"), None);
        assert_eq!(
            seen.header("content-length"),
            Some(seen.body.len().to_string().as_str())
        );
        assert_eq!(
            seen.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(seen.header("accept"), Some("application/json"));
    }

    #[tokio::test]
    async fn body_and_pkce_only_authentication_put_the_client_in_the_form() {
        let server = serve(|_| json(200, r#"{"access_token":"at","token_type":"bearer"}"#)).await;
        // Open Collective compares the redirect URI as a string: it must go as given.
        let redirect_uri = "http://127.0.0.1:8765";
        for (authentication, secret) in [
            (
                ClientAuthentication::Body(ClientSecret::new(SECRET)),
                Some(SECRET),
            ),
            (ClientAuthentication::PkceOnly, None),
        ] {
            let client = client_at(&server, "/token", authentication);
            assert_eq!(client.can_refresh(), secret.is_some());
            let verifier = PkceVerifier::generate();
            client
                .exchange_code(&AuthorizationCode::new("the-code"), redirect_uri, &verifier)
                .await
                .unwrap();
            let seen = server.seen().pop().unwrap();
            assert_eq!(seen.header("authorization"), None);
            assert_eq!(
                seen.field("grant_type").as_deref(),
                Some("authorization_code")
            );
            assert_eq!(seen.field("code").as_deref(), Some("the-code"));
            assert_eq!(seen.field("redirect_uri").as_deref(), Some(redirect_uri));
            assert_eq!(
                seen.field("code_verifier").as_deref(),
                Some(verifier.secret().expose())
            );
            assert_eq!(seen.field("client_id").as_deref(), Some(CLIENT_ID));
            assert_eq!(seen.field("client_secret").as_deref(), secret);
        }
    }

    #[tokio::test]
    async fn a_client_without_pkce_sends_neither_challenge_nor_verifier_and_needs_its_secret() {
        let server = serve(|_| json(200, r#"{"access_token":"at","token_type":"bearer"}"#)).await;
        assert!(client_at(&server, "/token", ClientAuthentication::PkceOnly)
            .without_pkce()
            .is_err());
        let client = client_at(
            &server,
            "/token",
            ClientAuthentication::Body(ClientSecret::new(SECRET)),
        )
        .without_pkce()
        .unwrap();
        let verifier = PkceVerifier::generate();
        let endpoint = Url::parse("https://example.org/oauth/authorize").unwrap();
        let url = client
            .authorize_url(&endpoint, "http://127.0.0.1:8765", "s", &verifier, &[])
            .unwrap();
        let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(
            names,
            ["response_type", "client_id", "state", "redirect_uri"]
        );
        client
            .exchange_code(
                &AuthorizationCode::new("c"),
                "http://127.0.0.1:8765",
                &verifier,
            )
            .await
            .unwrap();
        let seen = server.seen().pop().unwrap();
        assert_eq!(seen.field("code_verifier"), None);
        assert_eq!(seen.field("client_secret").as_deref(), Some(SECRET));
    }

    #[tokio::test]
    async fn errors_are_mapped_with_their_status_and_never_show_the_answer() {
        let server = serve(|path| match path {
            "/grant" => json(
                400,
                r#"{"error":"invalid_grant","error_description":"Code expired"}"#,
            ),
            "/client" => json(401, r#"{"error":"invalid_client"}"#),
            "/scope" => json(
                400,
                r#"{"error":"invalid_scope","error_description":"nope"}"#,
            ),
            "/html" => Reply {
                status: 403,
                content_type: "text/html",
                body: "<html>Forbidden</html>".into(),
                location: None,
            },
            "/empty" => json(401, ""),
            // A 200 that is not a token response, but holds a token.
            _ => json(200, r#"{"token":"secret-access-token-value"}"#),
        })
        .await;
        let refresh_at = |path: &'static str| {
            let client = client_at(&server, path, basic());
            async move { client.refresh(&RefreshToken::new("old-refresh")).await }
        };
        assert_eq!(
            refresh_at("/grant").await.unwrap_err(),
            TokenEndpointError::InvalidGrant {
                description: Some("Code expired".into())
            }
        );
        assert_eq!(
            refresh_at("/client").await.unwrap_err(),
            TokenEndpointError::InvalidClient
        );
        assert_eq!(
            refresh_at("/scope").await.unwrap_err(),
            TokenEndpointError::Rejected {
                status: 400,
                error: "invalid_scope".into(),
                description: Some("nope".into())
            }
        );
        for (path, status) in [("/html", 403), ("/empty", 401)] {
            assert_eq!(
                refresh_at(path).await.unwrap_err(),
                TokenEndpointError::Rejected {
                    status,
                    error: "unexpected response".into(),
                    description: None
                }
            );
        }
        let error = refresh_at("/unreadable").await.unwrap_err();
        assert!(
            matches!(&error, TokenEndpointError::Unreachable(detail) if detail.starts_with("unreadable token response")),
            "{error:?}"
        );
        let message = Error::from(error).message;
        assert!(!message.contains(ACCESS), "{message}");
        assert!(!message.contains("old-refresh") && !message.contains(SECRET));
    }

    #[tokio::test]
    async fn redirects_are_never_followed_with_the_body() {
        let server = serve(|path| match path {
            "/token-307" => redirect(307, "/elsewhere"),
            "/token-308" => redirect(308, "/elsewhere"),
            "/token-302" => redirect(302, "/elsewhere"),
            _ => json(200, r#"{"access_token":"at","token_type":"bearer"}"#),
        })
        .await;
        let verifier = PkceVerifier::generate();
        let code = AuthorizationCode::new("the-code");
        for status in [307, 308] {
            let client = client_at(&server, &format!("/token-{status}"), basic());
            assert_eq!(
                client
                    .exchange_code(&code, "http://127.0.0.1/callback", &verifier)
                    .await
                    .unwrap_err(),
                TokenEndpointError::Rejected {
                    status,
                    error: "unexpected response".into(),
                    description: None
                }
            );
        }
        assert!(server.seen().iter().all(|seen| seen.path != "/elsewhere"));

        // reqwest's default policy follows a 302 as a GET without a body: its answer is not
        // taken for the token endpoint's.
        let client = client_at(&server, "/token-302", basic());
        assert!(matches!(
            client
                .exchange_code(&code, "http://127.0.0.1/callback", &verifier)
                .await,
            Err(TokenEndpointError::Unreachable(_))
        ));
        for seen in server
            .seen()
            .iter()
            .filter(|seen| seen.path == "/elsewhere")
        {
            assert_eq!((&seen.method, seen.body.as_str()), (&Method::GET, ""));
        }
    }

    #[tokio::test]
    async fn revocation_sends_the_token_and_its_hint_over_plain_http_too() {
        let server = serve(|path| match path {
            "/revoke" => json(200, ""),
            _ => json(400, r#"{"error":"unsupported_token_type"}"#),
        })
        .await;
        let client = client_at(&server, "/token", basic());
        assert!(client.can_revoke());
        client
            .revoke_access_token(&AccessToken::new(ACCESS))
            .await
            .unwrap();
        client
            .revoke_refresh_token(&RefreshToken::new("old-refresh"))
            .await
            .unwrap();
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        for (seen, (token, hint)) in seen
            .iter()
            .zip([(ACCESS, "access_token"), ("old-refresh", "refresh_token")])
        {
            assert_eq!(
                (&seen.method, seen.path.as_str()),
                (&Method::POST, "/revoke")
            );
            assert_eq!(
                seen.form(),
                [
                    ("token".to_owned(), token.to_owned()),
                    ("token_type_hint".to_owned(), hint.to_owned()),
                ]
            );
            assert!(seen.header("authorization").unwrap().starts_with("Basic "));
        }

        // Errors from a revocation endpoint are read like the token endpoint's.
        let elsewhere = OAuthClient::new(
            reqwest::Client::new(),
            server.url("/token"),
            server.url("/other"),
            CLIENT_ID.into(),
            ClientSecret::new(SECRET),
        );
        assert_eq!(
            elsewhere
                .revoke_access_token(&AccessToken::new(ACCESS))
                .await
                .unwrap_err(),
            TokenEndpointError::Rejected {
                status: 400,
                error: "unsupported_token_type".into(),
                description: None
            }
        );
    }

    #[tokio::test]
    async fn a_204_from_the_revocation_endpoint_is_a_success() {
        let server = serve(|_| Reply {
            status: 204,
            content_type: "text/plain",
            body: String::new(),
            location: None,
        })
        .await;
        client_at(&server, "/token", basic())
            .revoke_access_token(&AccessToken::new(ACCESS))
            .await
            .expect("any 2xx is a success, as RFC 7009 servers answer");
    }

    #[test]
    fn the_authorize_url_carries_every_parameter_after_the_endpoints_own_query() {
        let client = OAuthClient::with_authentication(
            reqwest::Client::new(),
            Url::parse("https://api.example.org/oauth/token").unwrap(),
            None,
            CLIENT_ID.into(),
            ClientAuthentication::PkceOnly,
        );
        let endpoint =
            Url::parse("https://example.org/prefix/oauth/authorize?tenant=a%20b").unwrap();
        let verifier = PkceVerifier::generate();
        let url = client
            .authorize_url(
                &endpoint,
                "http://127.0.0.1:8765",
                "the-state",
                &verifier,
                &[("scope", "email,account")],
            )
            .unwrap();
        assert_eq!(
            (url.scheme(), url.host_str(), url.path()),
            ("https", Some("example.org"), "/prefix/oauth/authorize")
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let expected = [
            ("tenant", "a b"),
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("state", "the-state"),
            ("code_challenge", &verifier.s256_challenge()),
            ("code_challenge_method", "S256"),
            ("redirect_uri", "http://127.0.0.1:8765"),
            ("scope", "email,account"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(pairs, expected);
        assert!(!url.as_str().contains(verifier.secret().expose()));
    }

    #[test]
    fn the_clients_futures_can_be_spawned() {
        fn send<T: Send>(_: T) {}
        let client = OAuthClient::with_authentication(
            reqwest::Client::new(),
            Url::parse("http://127.0.0.1:9/token").unwrap(),
            None,
            CLIENT_ID.into(),
            ClientAuthentication::PkceOnly,
        );
        let (code, verifier) = (AuthorizationCode::new("c"), PkceVerifier::generate());
        let (access, refresh) = (AccessToken::new("a"), RefreshToken::new("r"));
        send(client.exchange_code(&code, "http://127.0.0.1/callback", &verifier));
        send(client.refresh(&refresh));
        send(client.revoke_access_token(&access));
        send(client.revoke_refresh_token(&refresh));
    }

    #[test]
    fn an_absurd_lifetime_is_clamped_not_an_overflow() {
        let huge =
            parse_token_response(br#"{"access_token":"a","expires_in":9223372036854775807}"#)
                .unwrap();
        assert_eq!(huge.expires_at, Some(i64::MAX));
        let negative = parse_token_response(br#"{"access_token":"a","expires_in":-5}"#).unwrap();
        assert!(negative.expires_at.unwrap() <= now_unix());
        assert!(parse_token_response(b"\xff not json").is_err());
    }

    #[test]
    fn an_unsupported_token_type_is_refused_without_quoting_it() {
        // A server may put anything there, its access token included.
        let body = br#"{"access_token":"atac0ss_token","token_type":"atac0ss_token"}"#;
        let err = parse_token_response(body).unwrap_err().to_string();
        assert!(err.contains("only uses bearer tokens"), "{err}");
        assert!(!err.contains("atac0ss_token"), "{err}");
    }
}
