//! The OAuth2 server: Open Humans' authorize view over django-oauth-toolkit 2.4 / oauthlib 3.2.2
//! (docs/providers/open-humans.md, "The authorize page"), the token endpoint ("The token
//! endpoint", "Tokens") and RFC 7009 revocation.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::pages;
use crate::redirect_uri;
use crate::seed::ALL_SCOPES;
use crate::session::{login_redirect, session_member};
use crate::state::{CodeChallenge, Grant, IssuedTokens, Sandbox, Store};
use crate::text::generate_token;
use crate::urls::{add_params_to_uri, unquote_plus, Params};

/// A validated authorization request, as carried in the consent form's hidden fields.
pub struct AuthorizationRequest {
    pub redirect_uri: String,
    pub response_type: String,
    pub state: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<CodeChallenge>,
}

/// oauthlib's `MissingRedirectURIError`, for a request without `redirect_uri`: DOT has a default
/// only for an app that registers exactly one, and the sandbox's app registers two
/// (docs/sandbox.md, "Open Humans redirect URIs").
const MISSING_REDIRECT_URI: &str = "Missing redirect URI.";

enum AuthorizeFailure {
    /// oauthlib's `FatalClientError`: shown on an HTML page, never redirected.
    Fatal(&'static str),
    /// Any other error: redirected to the redirect URI with `error=…`.
    Redirect(String),
}

fn error_redirect(
    redirect_uri: &str,
    error: &str,
    description: Option<&str>,
    state: Option<&str>,
) -> AuthorizeFailure {
    let mut params = vec![("error", error)];
    params.extend(description.map(|d| ("error_description", d)));
    params.extend(state.map(|s| ("state", s)));
    AuthorizeFailure::Redirect(add_params_to_uri(redirect_uri, &params))
}

/// oauthlib's `AuthorizationCodeGrant.validate_authorization_request`, in its order. The caller has
/// already checked `client_id`.
fn validate_authorization(
    sandbox: &Sandbox,
    params: &Params,
    reject_duplicates: bool,
) -> Result<AuthorizationRequest, AuthorizeFailure> {
    if reject_duplicates {
        let duplicated = [
            "client_id",
            "response_type",
            "redirect_uri",
            "scope",
            "state",
        ]
        .into_iter()
        .find(|name| params.is_duplicated(name));
        if let Some(name) = duplicated {
            return Err(AuthorizeFailure::Fatal(match name {
                "client_id" => "Duplicate client_id parameter.",
                "response_type" => "Duplicate response_type parameter.",
                "redirect_uri" => "Duplicate redirect_uri parameter.",
                "scope" => "Duplicate scope parameter.",
                _ => "Duplicate state parameter.",
            }));
        }
    }
    let registered = &sandbox.world.project.redirect_uris;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if !redirect_uri::is_absolute(uri) => {
            return Err(AuthorizeFailure::Fatal("Invalid redirect URI."))
        }
        Some(uri) if !redirect_uri::is_allowed(uri, registered) => {
            return Err(AuthorizeFailure::Fatal("Mismatching redirect URI."))
        }
        Some(uri) => uri.to_string(),
        None => return Err(AuthorizeFailure::Fatal(MISSING_REDIRECT_URI)),
    };
    let state = params.non_empty("state").map(str::to_string);
    let fail = |error: &str, description: Option<&str>| {
        error_redirect(&redirect_uri, error, description, state.as_deref())
    };
    let response_type = match params.get("response_type") {
        None => {
            return Err(fail(
                "invalid_request",
                Some("Missing response_type parameter."),
            ))
        }
        Some("code") => "code".to_string(),
        Some(other) if other.contains("code") || other == "none" => {
            return Err(fail("unauthorized_client", None))
        }
        Some(_) => return Err(fail("unsupported_response_type", None)),
    };
    let code_challenge = match params.non_empty("code_challenge") {
        None => None,
        Some(challenge) => {
            let method = params.non_empty("code_challenge_method").unwrap_or("plain");
            if method != "plain" && method != "S256" {
                return Err(fail(
                    "invalid_request",
                    Some("Transform algorithm not supported."),
                ));
            }
            Some(CodeChallenge {
                challenge: challenge.to_string(),
                method: method.to_string(),
            })
        }
    };
    // An omitted scope means every scope (DOT's `DEFAULT_SCOPES = ["__all__"]`).
    let scopes: Vec<String> = match params.get("scope") {
        None => ALL_SCOPES.map(String::from).to_vec(),
        Some(scope) => scope.trim().split(' ').map(str::to_string).collect(),
    };
    if !scopes
        .iter()
        .all(|scope| ALL_SCOPES.contains(&scope.as_str()))
    {
        return Err(fail("invalid_scope", None));
    }
    Ok(AuthorizationRequest {
        redirect_uri,
        response_type,
        state,
        scopes,
        code_challenge,
    })
}

/// DOT's `OAuth2ResponseRedirect`: a redirect to a scheme outside the allow-list is a 400.
fn redirect(sandbox: &Sandbox, target: &str) -> Response {
    if !redirect_uri::scheme_permitted(target, &sandbox.allowed_redirect_schemes) {
        return pages::bad_request();
    }
    match HeaderValue::from_str(target) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
            ],
        )
            .into_response(),
        Err(_) => pages::bad_request(),
    }
}

fn failure_response(sandbox: &Sandbox, failure: AuthorizeFailure) -> Response {
    match failure {
        AuthorizeFailure::Fatal(description) => pages::oauth_error("invalid_request", description),
        AuthorizeFailure::Redirect(target) => redirect(sandbox, &target),
    }
}

/// Issues a code and redirects. Open Humans appends `&origin=…` to successful redirects only.
fn approve(
    sandbox: &Sandbox,
    member: usize,
    request: AuthorizationRequest,
    query: &Params,
) -> Response {
    let code = generate_token();
    let mut params = vec![("code", code.as_str())];
    params.extend(request.state.as_deref().map(|state| ("state", state)));
    let origin = match query.get("origin") {
        Some("open-humans") => "open-humans",
        _ => "external",
    };
    let target = format!(
        "{}&origin={origin}",
        add_params_to_uri(&request.redirect_uri, &params)
    );
    let mut store = sandbox.store();
    let expires_at = SystemTime::now() + store.code_lifetime;
    store.grants.insert(
        code,
        Grant {
            member,
            redirect_uri: request.redirect_uri,
            scopes: request.scopes,
            code_challenge: request.code_challenge,
            expires_at,
        },
    );
    drop(store);
    redirect(sandbox, &target)
}

/// The authorize pages' never-cache header; the redirects they answer with carry none
/// (docs/sandbox.md, "Open Humans authorize answers").
fn never_cache(mut response: Response) -> Response {
    if response.status().is_redirection() {
        return response;
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private"),
    );
    response
}

/// `GET /direct-sharing/projects/oauth2/authorize/`
pub async fn authorize_page(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    never_cache(show_authorization(&sandbox, &uri, &headers, &query))
}

fn show_authorization(
    sandbox: &Sandbox,
    uri: &Uri,
    headers: &HeaderMap,
    query: &Params,
) -> Response {
    if query.get("client_id") != Some(sandbox.world.project.client_id.as_str()) {
        return pages::not_found();
    }
    let Some(member) = session_member(sandbox, headers) else {
        return login_redirect(uri);
    };
    let request = match validate_authorization(sandbox, query, true) {
        Ok(request) => request,
        Err(failure) => return failure_response(sandbox, failure),
    };
    // DOT `REQUEST_APPROVAL_PROMPT = "auto"`: a member who already holds a live token covering the
    // scopes is sent straight back; any other `approval_prompt` (e.g. `force`) shows the page.
    let auto = query.get("approval_prompt").unwrap_or("auto") == "auto";
    if auto && sandbox.store().has_token_covering(member, &request.scopes) {
        return approve(sandbox, member, request, query);
    }
    let action = uri
        .path_and_query()
        .map_or(uri.path(), |path_and_query| path_and_query.as_str());
    pages::consent(
        sandbox,
        &sandbox.world.members[member].username,
        action,
        &request,
    )
}

/// `POST /direct-sharing/projects/oauth2/authorize/` (the consent form).
pub async fn authorize_decision(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    let query = Params::from_query(uri.query().unwrap_or(""));
    never_cache(decide_authorization(
        &sandbox, &uri, &headers, &form, &query,
    ))
}

fn decide_authorization(
    sandbox: &Sandbox,
    uri: &Uri,
    headers: &HeaderMap,
    form: &Params,
    query: &Params,
) -> Response {
    let Some(member) = session_member(sandbox, headers) else {
        return login_redirect(uri);
    };
    if form.get("client_id") != Some(sandbox.world.project.client_id.as_str()) {
        return pages::not_found();
    }
    let request = match validate_authorization(sandbox, form, false) {
        Ok(request) => request,
        Err(failure) => return failure_response(sandbox, failure),
    };
    // Django's CheckboxInput: absent, empty or "false" means no.
    let allow = form
        .get("allow")
        .is_some_and(|value| !value.is_empty() && !value.eq_ignore_ascii_case("false"));
    if !allow {
        // oauthlib's AccessDeniedError goes through the error path: no `origin` is appended.
        let denied = error_redirect(
            &request.redirect_uri,
            "access_denied",
            None,
            request.state.as_deref(),
        );
        return failure_response(sandbox, denied);
    }
    {
        let mut store = sandbox.store();
        let membership = &mut store.memberships[member];
        membership.authorized = true;
        membership.hidden = form.get("hide-membership").is_some();
    }
    approve(sandbox, member, request, query)
}

struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: Option<&'static str>,
}

impl OAuthError {
    fn new(error: &'static str) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: None,
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        OAuthError {
            description: Some(description),
            ..OAuthError::new("invalid_request")
        }
    }

    fn invalid_client() -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            ..OAuthError::new("invalid_client")
        }
    }

    fn json(&self) -> String {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.error.into());
        if let Some(description) = self.description {
            body.insert("error_description".into(), description.into());
        }
        serde_json::Value::Object(body).to_string()
    }

    /// oauthlib's `OAuth2Error.headers`: a 401 carries `WWW-Authenticate`.
    fn into_response(self, with_default_headers: bool) -> Response {
        let mut response = if with_default_headers {
            json_no_store(self.status, self.json())
        } else {
            // The error escaped oauthlib's header handling.
            django_default_headers(self.status, self.json())
        };
        if self.status == StatusCode::UNAUTHORIZED {
            let mut challenge = format!("Bearer error=\"{}\"", self.error);
            if let Some(description) = self.description {
                challenge.push_str(&format!(", error_description=\"{description}\""));
            }
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// oauthlib's default token endpoint headers.
fn json_no_store(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Django's default content type and no other header: for answers that bypass oauthlib's headers.
fn django_default_headers(status: StatusCode, body: impl IntoResponse) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// DOT `authenticate_client`: HTTP Basic first (both parts `unquote_plus`ed), then the form body.
fn authenticate_client(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    form: &Params,
) -> Result<(), OAuthError> {
    let project = &sandbox.world.project;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| *scheme == "Basic")
        .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|decoded| {
            decoded
                .split_once(':')
                .map(|(id, secret)| (unquote_plus(id), unquote_plus(secret)))
        });
    let in_basic = basic
        .is_some_and(|(id, secret)| id == project.client_id && secret == project.client_secret);
    let in_form = form.get("client_id") == Some(project.client_id.as_str())
        && form.get("client_secret").unwrap_or("") == project.client_secret;
    if in_basic || in_form {
        Ok(())
    } else {
        Err(OAuthError::invalid_client())
    }
}

/// oauthlib refuses token and revocation requests that carry a URL query.
fn refuse_query(uri: &Uri) -> Result<(), OAuthError> {
    match uri.query() {
        Some(query) if !query.is_empty() => Err(OAuthError::invalid_request(
            "URL query parameters are not allowed",
        )),
        _ => Ok(()),
    }
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    token_type: &'static str,
    scope: String,
    refresh_token: String,
}

/// `POST /oauth2/token/`
pub async fn token(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    let mut store = sandbox.store();
    let grant_type = form.get("grant_type");
    match grant_type {
        Some("authorization_code") => store.stats.token_requests_authorization_code += 1,
        Some("refresh_token") => store.stats.token_requests_refresh_token += 1,
        _ => store.stats.token_requests_other += 1,
    }
    if store.token_failures_left > 0 {
        store.token_failures_left -= 1;
        store.stats.token_requests_unavailable += 1;
        // oauthlib's `catch_errors_and_unavailability` answers with no headers of its own.
        return django_default_headers(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"temporarily_unavailable"}"#,
        );
    }
    if let Err(error) = refuse_query(&uri) {
        // Raised before the grant handler, so DOT returns it without oauthlib's default headers.
        return error.into_response(false);
    }
    let outcome = if grant_type == Some("refresh_token") {
        refresh(&sandbox, &mut store, &headers, &form)
    } else {
        // oauthlib routes a missing or unknown grant type to its default handler, authorization_code,
        // which then refuses it.
        exchange_code(&sandbox, &mut store, &headers, &form)
    };
    match outcome {
        Ok(issued) => {
            let body = TokenResponse {
                access_token: issued.access_token,
                expires_in: issued.expires_in,
                token_type: "Bearer",
                scope: issued.scope,
                refresh_token: issued.refresh_token,
            };
            json_no_store(
                StatusCode::OK,
                serde_json::to_string(&body).unwrap_or_default(),
            )
        }
        Err(error) => error.into_response(true),
    }
}

fn exchange_code(
    sandbox: &Sandbox,
    store: &mut Store,
    headers: &HeaderMap,
    form: &Params,
) -> Result<IssuedTokens, OAuthError> {
    if form.get("grant_type") != Some("authorization_code") {
        return Err(OAuthError::new("unsupported_grant_type"));
    }
    let code = form
        .get("code")
        .ok_or(OAuthError::invalid_request("Missing code parameter."))?;
    authenticate_client(sandbox, headers, form)?;
    let now = SystemTime::now();
    let grant = store
        .grants
        .get(code)
        .filter(|grant| now < grant.expires_at)
        .ok_or(OAuthError::new("invalid_grant"))?;
    if let Some(challenge) = &grant.code_challenge {
        let verifier = form
            .get("code_verifier")
            .ok_or(OAuthError::invalid_request("Code verifier required."))?;
        if !verifier_matches(challenge, verifier) {
            return Err(OAuthError::new("invalid_grant"));
        }
    }
    let redirect_uri = form
        .get("redirect_uri")
        .ok_or(OAuthError::invalid_request(MISSING_REDIRECT_URI))?;
    if redirect_uri != grant.redirect_uri {
        return Err(OAuthError::invalid_request("Mismatching redirect URI."));
    }
    let Some(grant) = store.grants.remove(code) else {
        return Err(OAuthError::new("invalid_grant"));
    };
    store.stats.codes_exchanged += 1;
    Ok(store.issue_tokens(grant.member, grant.scopes))
}

fn verifier_matches(challenge: &CodeChallenge, verifier: &str) -> bool {
    match challenge.method.as_str() {
        "S256" => {
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge.challenge
        }
        _ => verifier == challenge.challenge,
    }
}

/// Refresh with DOT's rotation (`ROTATE_REFRESH_TOKEN = True`, no grace period): the old refresh
/// token and its access token are revoked at once.
fn refresh(
    sandbox: &Sandbox,
    store: &mut Store,
    headers: &HeaderMap,
    form: &Params,
) -> Result<IssuedTokens, OAuthError> {
    let refresh_token = form
        .get("refresh_token")
        .ok_or(OAuthError::invalid_request(
            "Missing refresh token parameter.",
        ))?;
    authenticate_client(sandbox, headers, form)?;
    let existing = store
        .refresh_token(refresh_token)
        .ok_or(OAuthError::new("invalid_grant"))?;
    let scopes = match form.non_empty("scope") {
        None => existing.scopes.clone(),
        Some(scope) => {
            let asked: Vec<String> = scope.trim().split(' ').map(str::to_string).collect();
            if !asked.iter().all(|scope| existing.scopes.contains(scope)) {
                return Err(OAuthError::new("invalid_scope"));
            }
            asked
        }
    };
    let member = existing.member;
    store.revoke_refresh_token(refresh_token);
    store.stats.successful_refreshes += 1;
    Ok(store.issue_tokens(member, scopes))
}

/// `POST /oauth2/revoke_token/` (RFC 7009 through oauthlib's RevocationEndpoint).
///
/// DOT's `revoke_token` looks the token up as the hinted type first (access token without a hint),
/// then as the other type. Revoking an access token deletes only that token: the refresh token issued
/// with it stays usable (its link is set to NULL). Revoking a refresh token also deletes its access
/// token. Unknown tokens are answered 200 like known ones.
pub async fn revoke_token(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    let mut store = sandbox.store();
    store.stats.revocation_requests += 1;
    if let Err(error) = refuse_query(&uri) {
        return error.into_response(true);
    }
    let Some(token) = form.non_empty("token") else {
        return OAuthError::invalid_request("Missing token parameter.").into_response(true);
    };
    if let Err(error) = authenticate_client(&sandbox, &headers, &form) {
        return error.into_response(true);
    }
    type Revoke = fn(&mut Store, &str) -> bool;
    let (first, then): (Revoke, Revoke) = if form.get("token_type_hint") == Some("refresh_token") {
        (Store::revoke_refresh_token, Store::revoke_access_token)
    } else {
        (Store::revoke_access_token, Store::revoke_refresh_token)
    };
    let revoked = first(&mut store, token) || then(&mut store, token);
    if revoked {
        store.stats.tokens_revoked += 1;
    }
    django_default_headers(StatusCode::OK, "")
}
