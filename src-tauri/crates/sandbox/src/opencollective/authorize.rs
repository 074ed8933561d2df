//! Signing in and the authorize page: the Open Collective frontend over the API's
//! `POST /oauth/authorize` (node-oauth2-server 5.3.0 with `allowEmptyState`;
//! docs/providers/open-collective.md, "Signing in", "The authorize handler").
//! The API answers the frontend with JSON; here the page performs the navigation it would.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::jwt::{self, Claims};
use super::pages;
use super::state::{Authorization, AuthorizationCode, OpenCollective};
use super::world::{random_hex, ALL_SCOPES, CONSENT_SCOPES, SEEDED_PASSWORD};
use crate::text::unix_seconds;
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

/// What the consent page keeps of `scope`: the names it knows, each once (it drops the others).
fn consent_page_scopes(params: &Params) -> Vec<String> {
    parse_scopes(params.get("scope").unwrap_or(""))
        .into_iter()
        .filter(|scope| CONSENT_SCOPES.iter().any(|(known, _)| known == scope))
        .fold(Vec::new(), |mut kept, scope| {
            if !kept.contains(&scope) {
                kept.push(scope);
            }
            kept
        })
}

/// What the API makes of `scope`: the library splits it on whitespace only, and the database
/// refuses a name Open Collective does not define when the code is saved, which the library
/// answers as a `server_error` (docs/sandbox.md, "Open Collective's authorize API").
fn api_scopes(params: &Params) -> Result<Vec<String>, AuthorizeError> {
    let scopes: Vec<String> = params
        .get("scope")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    match scopes
        .iter()
        .find(|scope| !ALL_SCOPES.contains(&scope.as_str()))
    {
        Some(unknown) => Err(AuthorizeError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "server_error",
            description: format!("Server error: invalid scope {unknown:?}"),
        }),
        None => Ok(scopes),
    }
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

/// The rest of the handler, once the user is known, keeping `scopes`.
fn parse_request(
    oc: &OpenCollective,
    params: &Params,
    scopes: Vec<String>,
) -> Result<AuthorizeRequest, AuthorizeError> {
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
    let code_challenge = match params.non_empty("code_challenge") {
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

/// The request's redirect URI with `params`, then its `state` if it had one.
fn redirect_location(request: &AuthorizeRequest, params: &[(&str, &str)]) -> String {
    let state = request.state.as_deref().map(|state| ("state", state));
    let query: Vec<String> = params
        .iter()
        .chain(state.as_ref())
        .map(|(name, value)| format!("{name}={}", escape_query(value)))
        .collect();
    let uri = &request.redirect_uri;
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.join("&"))
}

/// OC's `saveAuthorizationCode`: stores the code and (re)creates the user's authorization;
/// the redirect URI carrying the code.
fn approve(oc: &OpenCollective, request: AuthorizeRequest) -> String {
    let code = random_hex(&mut rand::rng(), 32);
    let back = redirect_location(&request, &[("code", &code)]);
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

/// How long a sign-in lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A sign-in's session token: a JWT like the user's `user.jwt()` with `scope: "session"`, which
/// the frontend keeps and sends to the API as `Authorization: Bearer`.
fn open_session(oc: &OpenCollective) -> String {
    let iat = unix_seconds(SystemTime::now());
    let claims = Claims {
        sub: oc.world.user.legacy_id.to_string(),
        scope: "session".into(),
        access_token: String::new(),
        email: oc.world.email.clone(),
        iat,
        exp: iat + SESSION_LIFETIME.as_secs(),
    };
    let token = jwt::sign(&oc.world.jwt_key, &claims);
    oc.store().sessions.insert(token.clone());
    token
}

/// A session token this sandbox issued and that has not expired.
fn is_session(oc: &OpenCollective, token: &str) -> bool {
    let now = unix_seconds(SystemTime::now());
    oc.store().sessions.contains(token)
        && jwt::verify(&oc.world.jwt_key, token)
            .is_some_and(|claims| claims.scope == "session" && claims.exp > now)
}

/// The session token the frontend keeps for the signed-in user (here, in a cookie).
fn cookie_session(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == SESSION_COOKIE).then_some(value))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

fn signin_redirect(next: &str) -> Response {
    let location = format!("/signin?next={}", quote_plus(next));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn redirect_to(location: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Why the API did not authorize.
enum Refusal {
    /// No valid session token: the library's `UnauthorizedRequestError`.
    NoUser,
    Invalid(AuthorizeError),
}

/// The API's `POST /oauth/authorize` for the user of `session`, in the handler's order (the
/// client, the user, the rest of the request, `allowed`, the scopes): the redirect URI to send
/// the browser to, with the code or `access_denied`.
fn authorize(
    oc: &OpenCollective,
    params: &Params,
    session: Option<&str>,
) -> Result<String, Refusal> {
    check_client(oc, params).map_err(Refusal::Invalid)?;
    if !session.is_some_and(|token| is_session(oc, token)) {
        return Err(Refusal::NoUser);
    }
    let request = parse_request(oc, params, Vec::new()).map_err(Refusal::Invalid)?;
    if params.get("allowed") == Some("false") {
        return Ok(redirect_location(
            &request,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "Access denied: user denied access to application",
                ),
            ],
        ));
    }
    let scopes = api_scopes(params).map_err(Refusal::Invalid)?;
    Ok(approve(oc, AuthorizeRequest { scopes, ..request }))
}

/// `POST /oauth/authorize` on the API, which the consent page's script calls with the user's
/// session token as Bearer and the parameters in the query string or a form body: 200 with
/// `{"redirect_uri": …}` (the frontend then navigates there), 401 with an empty body and
/// `WWW-Authenticate: Bearer realm="service"` without a valid session, or the error as JSON.
pub async fn authorize_api(
    State(oc): State<Arc<OpenCollective>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = Params::from_query(uri.query().unwrap_or(""));
    params.extend(Params::from_form(&headers, &body));
    match authorize(&oc, &params, bearer(&headers)) {
        Ok(redirect_uri) => Json(json!({ "redirect_uri": redirect_uri })).into_response(),
        Err(Refusal::NoUser) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, r#"Bearer realm="service""#)],
        )
            .into_response(),
        Err(Refusal::Invalid(error)) => (
            error.status,
            Json(json!({ "error": error.error, "error_description": error.description })),
        )
            .into_response(),
    }
}

/// What the page's script does with the API's answer: navigate to the redirect URI, show the
/// error on the page, or send a signed-out user to sign in and back to `next`.
fn follow(answer: Result<String, Refusal>, next: &str) -> Response {
    match answer {
        Ok(redirect_uri) => redirect_to(redirect_uri),
        Err(Refusal::NoUser) => signin_redirect(next),
        Err(Refusal::Invalid(error)) => error.into_response(),
    }
}

/// `GET /oauth/authorize`: the frontend's consent page.
pub async fn authorize_page(
    State(oc): State<Arc<OpenCollective>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(uri.query().unwrap_or(""));
    let next = uri.path_and_query().map_or("/", |p| p.as_str());
    let session = cookie_session(&headers).filter(|token| is_session(&oc, token));
    let Some(session) = session else {
        // The page checks the client before it asks the user to sign in.
        return match check_client(&oc, &params) {
            Ok(()) => signin_redirect(next),
            Err(error) => error.into_response(),
        };
    };
    // The page authorizes at once when the user's authorization for the app has not expired.
    let authorized = oc
        .store()
        .grants
        .authorization
        .as_ref()
        .is_some_and(|authorization| authorization.expires_at > SystemTime::now());
    if authorized {
        let forwarded = consent_page_forwarding(&oc, &params);
        return follow(authorize(&oc, &forwarded, Some(session)), next);
    }
    let request = check_client(&oc, &params)
        .and_then(|()| parse_request(&oc, &params, consent_page_scopes(&params)));
    match request {
        Ok(request) => {
            let forwards_pkce = oc.settings.consent_page_forwards_pkce;
            let forwarded = AuthorizeRequest {
                code_challenge: request.code_challenge.filter(|_| forwards_pkce),
                ..request
            };
            pages::consent(
                &oc.world.application.name,
                &oc.world.user.slug,
                &forwarded,
                scope_separator(&oc),
            )
        }
        Err(error) => error.into_response(),
    }
}

/// How the consent page joins the scopes it passes on: older pages with commas.
fn scope_separator(oc: &OpenCollective) -> &'static str {
    if oc.settings.consent_page_joins_scopes_with_commas {
        ","
    } else {
        " "
    }
}

/// The parameters the consent page passes on to the API: the scopes it kept (joined as its
/// version does) and, unless it is an older page, the PKCE challenge.
fn consent_page_forwarding(oc: &OpenCollective, params: &Params) -> Params {
    let mut forwarded = Params::from_pairs(
        params
            .pairs()
            .iter()
            .filter(|(name, _)| name != "scope")
            .filter(|(name, _)| {
                oc.settings.consent_page_forwards_pkce || !name.starts_with("code_challenge")
            })
            .cloned()
            .collect(),
    );
    forwarded.push(
        "scope",
        &consent_page_scopes(params).join(scope_separator(oc)),
    );
    forwarded
}

/// `POST /oauth/authorize/decision`: the consent form, standing in for the page's script, which
/// calls the API with the signed-in user's session token and `allowed=false` for Cancel.
pub async fn authorize_decision(
    State(oc): State<Arc<OpenCollective>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    let mut params = Params::from_pairs(
        form.pairs()
            .iter()
            .filter(|(name, _)| name != "decision")
            .cloned()
            .collect(),
    );
    if form.get("decision") != Some("Authorize") {
        params.push("allowed", "false");
    }
    follow(authorize(&oc, &params, cookie_session(&headers)), "/")
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
    let session = open_session(&oc);
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
