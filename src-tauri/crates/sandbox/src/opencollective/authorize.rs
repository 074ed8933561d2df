//! Signing in and the authorize page: the Open Collective frontend over the API's
//! `POST /oauth/authorize` (node-oauth2-server 5.3.0 with `allowEmptyState`;
//! docs/providers/open-collective.md, "Signing in", "The authorize handler").
//! The API answers the frontend with JSON; here the page performs the navigation it would.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::pages;
use super::state::{Authorization, AuthorizationCode, OpenCollective};
use super::world::{random_hex, CONSENT_SCOPES, SEEDED_PASSWORD};
use crate::urls::{quote_plus, Params};

const SESSION_COOKIE: &str = "oc_sandbox_session";

/// A validated authorization request.
pub struct AuthorizeRequest {
    pub client_id: String,
    /// The requested URI, or the application's `callbackUrl` when none was named.
    pub redirect_uri: String,
    /// Only the scopes the consent screen knows (it drops the others).
    pub scopes: Vec<String>,
    pub state: Option<String>,
    /// Always S256.
    pub code_challenge: Option<String>,
}

pub struct AuthorizeError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl AuthorizeError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        AuthorizeError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    fn into_response(self) -> Response {
        pages::authorize_error(self.status, self.error, &self.description)
    }
}

/// RFC 6749's VSCHAR: printable ASCII.
pub fn is_vschar(value: &str) -> bool {
    value.bytes().all(|byte| (0x20..=0x7e).contains(&byte))
}

/// A parameter node-oauth2-server requires, or the `invalid_request` description when it is
/// missing (or empty) or not VSCHAR.
pub fn required_vschar<'a>(params: &'a Params, name: &str) -> Result<&'a str, String> {
    let value = params
        .non_empty(name)
        .ok_or_else(|| format!("Missing parameter: `{name}`"))?;
    if !is_vschar(value) {
        return Err(format!("Invalid parameter: `{name}`"));
    }
    Ok(value)
}

/// node-oauth2-server's `is.uri`: a scheme followed by `:`.
pub fn is_uri(value: &str) -> bool {
    let Some((scheme, _)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

/// RFC 7636 `code-verifier` / `code-challenge` syntax: 43 to 128 unreserved characters.
pub fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

/// OC's `parseScopes`: split on commas or whitespace.
pub fn parse_scopes(scope: &str) -> Vec<String> {
    scope
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|scope| !scope.is_empty())
        .map(str::to_string)
        .collect()
}

/// The handler's `getClient`, which runs before the user is looked at.
fn check_client(oc: &OpenCollective, params: &Params) -> Result<(), AuthorizeError> {
    let application = &oc.world.application;
    let client_id = required_vschar(params, "client_id")
        .map_err(|description| AuthorizeError::new("invalid_request", description))?;
    let redirect_uri = params.non_empty("redirect_uri");
    if redirect_uri.is_some_and(|uri| !is_uri(uri)) {
        return Err(AuthorizeError::new(
            "invalid_request",
            "Invalid request: `redirect_uri` is not a valid URI",
        ));
    }
    if client_id != application.client_id {
        return Err(AuthorizeError::new("invalid_client", "Invalid client"));
    }
    if redirect_uri.is_some_and(|uri| uri != oc.callback_url()) {
        return Err(AuthorizeError::new(
            "invalid_client",
            "Invalid client: `redirect_uri` does not match client value",
        ));
    }
    Ok(())
}

/// The rest of the handler, once the user is known.
fn parse_request(oc: &OpenCollective, params: &Params) -> Result<AuthorizeRequest, AuthorizeError> {
    let state = params.non_empty("state");
    if state.is_some_and(|state| !is_vschar(state)) {
        return Err(AuthorizeError::new(
            "invalid_request",
            "Invalid parameter: `state`",
        ));
    }
    match params.non_empty("response_type") {
        None => {
            return Err(AuthorizeError::new(
                "invalid_request",
                "Missing parameter: `response_type`",
            ))
        }
        Some("code") => {}
        Some(_) => {
            return Err(AuthorizeError::new(
                "unsupported_response_type",
                "Unsupported response type: `response_type` is not supported",
            ))
        }
    }
    let forwarded_challenge = params
        .non_empty("code_challenge")
        .filter(|_| oc.settings.consent_page_forwards_pkce);
    let code_challenge = match forwarded_challenge {
        None => None,
        Some(challenge) => {
            let method = params.non_empty("code_challenge_method").unwrap_or("S256");
            if method == "plain" {
                return Err(AuthorizeError::new(
                    "invalid_request",
                    r#"`code_challenge_method` "plain" is not allowed; use "S256""#,
                ));
            }
            if method != "S256" {
                return Err(AuthorizeError::new(
                    "invalid_request",
                    format!("Invalid request: transform algorithm '{method}' not supported"),
                ));
            }
            if !is_pkce_string(challenge) {
                return Err(AuthorizeError::new(
                    "invalid_request",
                    "Invalid parameter: `code_challenge`",
                ));
            }
            Some(challenge.to_string())
        }
    };
    let scopes = parse_scopes(params.get("scope").unwrap_or(""))
        .into_iter()
        .filter(|scope| CONSENT_SCOPES.iter().any(|(known, _)| known == scope))
        .fold(Vec::new(), |mut kept, scope| {
            if !kept.contains(&scope) {
                kept.push(scope);
            }
            kept
        });
    Ok(AuthorizeRequest {
        client_id: oc.world.application.client_id.clone(),
        redirect_uri: params
            .non_empty("redirect_uri")
            .map_or_else(|| oc.callback_url(), str::to_string),
        scopes,
        state: state.map(str::to_string),
        code_challenge,
    })
}

/// Node's `querystring.escape` (like `encodeURIComponent`): `%20` for spaces.
fn escape_query(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Back to the request's redirect URI with `params`, then its `state` if it had one.
fn redirect_back(request: &AuthorizeRequest, params: &[(&str, &str)]) -> Response {
    let state = request.state.as_deref().map(|state| ("state", state));
    let query: Vec<String> = params
        .iter()
        .chain(state.as_ref())
        .map(|(name, value)| format!("{name}={}", escape_query(value)))
        .collect();
    let uri = &request.redirect_uri;
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{separator}{}", query.join("&"));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// OC's `saveAuthorizationCode`: stores the code and (re)creates the user's authorization.
fn approve(oc: &OpenCollective, request: AuthorizeRequest) -> Response {
    let code = random_hex(&mut rand::rng(), 32);
    let back = redirect_back(&request, &[("code", &code)]);
    let now = SystemTime::now();
    let mut store = oc.store();
    store.codes.insert(
        code,
        AuthorizationCode {
            redirect_uri: request.redirect_uri,
            scopes: request.scopes.clone(),
            code_challenge: request.code_challenge,
            expires_at: now + oc.settings.code_lifetime,
        },
    );
    store.grants.authorization = Some(Authorization {
        scopes: request.scopes,
        expires_at: now + oc.settings.access_token_lifetime,
    });
    store.stats.codes_issued += 1;
    back
}

fn signed_in(oc: &OpenCollective, headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == SESSION_COOKIE && oc.store().sessions.contains(value))
}

fn signin_redirect(next: &str) -> Response {
    let location = format!("/signin?next={}", quote_plus(next));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The handler's checks in its order (the client, the session, the rest of the request), then
/// `answer` for a request that passes them. A signed-out user is sent to sign in, then to `next`.
fn when_valid(
    oc: &OpenCollective,
    params: &Params,
    headers: &HeaderMap,
    next: &str,
    answer: impl FnOnce(AuthorizeRequest) -> Response,
) -> Response {
    if let Err(error) = check_client(oc, params) {
        return error.into_response();
    }
    if !signed_in(oc, headers) {
        return signin_redirect(next);
    }
    match parse_request(oc, params) {
        Ok(request) => answer(request),
        Err(error) => error.into_response(),
    }
}

/// `GET /oauth/authorize`
pub async fn authorize_page(
    State(oc): State<Arc<OpenCollective>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(uri.query().unwrap_or(""));
    let next = uri.path_and_query().map_or("/", |p| p.as_str());
    when_valid(&oc, &params, &headers, next, |request| {
        // The frontend authorizes at once when the user's authorization for the app has not
        // expired.
        let authorized = oc
            .store()
            .grants
            .authorization
            .as_ref()
            .is_some_and(|authorization| authorization.expires_at > SystemTime::now());
        if authorized {
            return approve(&oc, request);
        }
        pages::consent(&oc.world.application.name, &oc.world.user.slug, &request)
    })
}

/// `POST /oauth/authorize` (the consent form).
pub async fn authorize_decision(
    State(oc): State<Arc<OpenCollective>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    when_valid(&oc, &form, &headers, "/", |request| {
        if form.get("decision") == Some("Authorize") {
            return approve(&oc, request);
        }
        redirect_back(
            &request,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "Access denied: user denied access to application",
                ),
            ],
        )
    })
}

/// Only same-site paths are followed after signing in.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") => path,
        _ => "/",
    }
}

/// `GET /signin`
pub async fn signin_page(uri: Uri) -> Response {
    let params = Params::from_query(uri.query().unwrap_or(""));
    pages::signin(safe_next(params.get("next")), None)
}

/// `POST /signin`: the seeded account, by slug or email, with the sandbox password.
pub async fn signin_submit(
    State(oc): State<Arc<OpenCollective>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    let next = safe_next(form.get("next"));
    let known_user = form
        .get("username")
        .is_some_and(|name| name == oc.world.user.slug || name == oc.world.email);
    if !known_user || form.get("password") != Some(SEEDED_PASSWORD) {
        return pages::signin(next, Some("Unknown username or wrong password."));
    }
    let session = random_hex(&mut rand::rng(), 16);
    oc.store().sessions.insert(session.clone());
    let cookie = format!("{SESSION_COOKIE}={session}; HttpOnly; Path=/; SameSite=Lax");
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, next.to_string()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response()
}
