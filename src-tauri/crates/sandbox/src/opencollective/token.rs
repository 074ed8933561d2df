//! `POST /oauth/token`: node-oauth2-server 5.3.0's token handler with Open Collective's model
//! (docs/providers/open-collective.md, "The token endpoint", "Tokens"), in the library's order of
//! checks.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::authorize::{is_pkce_string, is_uri, is_vschar, parse_scopes, required_vschar};
use super::config::TokenResponseShape;
use super::jwt::{self, Claims};
use super::state::{IssuedToken, OpenCollective, Store};
use crate::http::has_media_type;
use crate::text::unix_seconds;
use crate::urls::Params;

struct TokenError {
    error: &'static str,
    description: String,
}

fn error(error: &'static str, description: impl Into<String>) -> TokenError {
    TokenError {
        error,
        description: description.into(),
    }
}

fn invalid_request(description: impl Into<String>) -> TokenError {
    error("invalid_request", description)
}

fn invalid_grant(description: &'static str) -> TokenError {
    error("invalid_grant", description)
}

fn invalid_client(description: &'static str) -> TokenError {
    error("invalid_client", description)
}

const JSON: (header::HeaderName, &str) = (header::CONTENT_TYPE, "application/json; charset=utf-8");

/// The library's token answer: `no-store` and `Pragma: no-cache`.
fn issued(body: String) -> Response {
    (
        StatusCode::OK,
        [
            JSON,
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The library's error answer: `Cache-Control: no-cache` and no `Pragma`
/// (docs/sandbox.md, "Open Collective token answers").
fn refused(status: StatusCode, body: String) -> Response {
    (status, [JSON, (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

impl TokenError {
    /// Every error is a 400, except `invalid_client` when the client sent an `Authorization`
    /// header: then 401 with a Basic challenge.
    fn into_response(self, authorization_header: bool) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        if self.error == "invalid_client" && authorization_header {
            let mut response = refused(StatusCode::UNAUTHORIZED, body.to_string());
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"Service\""),
            );
            return response;
        }
        refused(StatusCode::BAD_REQUEST, body.to_string())
    }
}

/// The `basic-auth` package: `Basic <base64 of id:secret>`, split at the first colon.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `getClientCredentials` then OC's `model.getClient(id, secret)`, which skips the secret check
/// when the library passes none (the PKCE code exchange).
fn authenticate_client(
    oc: &OpenCollective,
    headers: &HeaderMap,
    form: &Params,
) -> Result<(), TokenError> {
    let body_id = form.non_empty("client_id");
    let body_secret = form.non_empty("client_secret");
    let pkce_request = form.get("grant_type") == Some("authorization_code")
        && form.non_empty("code_verifier").is_some();
    let (client_id, client_secret) = if let Some((id, secret)) = basic_credentials(headers) {
        (id, Some(secret))
    } else if let (Some(id), Some(secret)) = (body_id, body_secret) {
        (id.to_string(), Some(secret.to_string()))
    } else if let (true, Some(id)) = (pkce_request, body_id) {
        (id.to_string(), None)
    } else {
        return Err(invalid_client(
            "Invalid client: cannot retrieve client credentials",
        ));
    };
    if !is_vschar(&client_id) {
        return Err(invalid_request("Invalid parameter: `client_id`"));
    }
    if client_secret
        .as_deref()
        .is_some_and(|secret| !is_vschar(secret))
    {
        return Err(invalid_request("Invalid parameter: `client_secret`"));
    }
    let application = &oc.world.application;
    if client_id != application.client_id {
        return Err(invalid_client("Invalid client"));
    }
    if client_secret.is_some_and(|secret| secret != application.client_secret) {
        return Err(invalid_client("Invalid client credentials"));
    }
    Ok(())
}

/// `POST /oauth/token`
pub async fn token(
    State(oc): State<Arc<OpenCollective>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization_header = headers.contains_key(header::AUTHORIZATION);
    let form = Params::from_form(&headers, &body);
    let mut store = oc.store();
    match form.get("grant_type") {
        Some("authorization_code") => store.stats.token_requests_authorization_code += 1,
        Some("refresh_token") => store.stats.token_requests_refresh_token += 1,
        _ => store.stats.token_requests_other += 1,
    }
    match issue(&oc, &mut store, &headers, &form) {
        Ok(token) => issued(success_body(&oc, token)),
        Err(error) => error.into_response(authorization_header),
    }
}

fn issue(
    oc: &OpenCollective,
    store: &mut Store,
    headers: &HeaderMap,
    form: &Params,
) -> Result<IssuedToken, TokenError> {
    if !has_media_type(headers, "application/x-www-form-urlencoded") {
        return Err(invalid_request(
            "Invalid request: content must be application/x-www-form-urlencoded",
        ));
    }
    authenticate_client(oc, headers, form)?;
    let grant_type = form
        .non_empty("grant_type")
        .ok_or_else(|| invalid_request("Missing parameter: `grant_type`"))?;
    // Before refresh tokens existed the application's grants were only `authorization_code`.
    let refresh_granted = oc.settings.token_response_shape == TokenResponseShape::Current;
    match grant_type {
        "authorization_code" => exchange_code(oc, store, form),
        "refresh_token" if refresh_granted => refresh(oc, store, form),
        "refresh_token" | "password" | "client_credentials" => Err(error(
            "unauthorized_client",
            "Unauthorized client: `grant_type` is invalid",
        )),
        _ => Err(error(
            "unsupported_grant_type",
            "Unsupported grant type: `grant_type` is invalid",
        )),
    }
}

fn exchange_code(
    oc: &OpenCollective,
    store: &mut Store,
    form: &Params,
) -> Result<IssuedToken, TokenError> {
    let code = required_vschar(form, "code").map_err(invalid_request)?;
    // Consumed before the redirect URI and PKCE are checked: any failed exchange burns the code
    // (docs/sandbox.md, "Open Collective codes").
    let code = store
        .codes
        .remove(code)
        .ok_or(invalid_grant("Invalid authorization code"))?;
    if SystemTime::now() >= code.expires_at {
        return Err(invalid_grant(
            "Invalid grant: authorization code has expired",
        ));
    }
    // OC always stores the redirect URI on the code, so the request must repeat it exactly.
    let redirect_uri = form.non_empty("redirect_uri").unwrap_or("");
    if !is_uri(redirect_uri) {
        return Err(invalid_request(
            "Invalid request: `redirect_uri` is not a valid URI",
        ));
    }
    if redirect_uri != code.redirect_uri {
        return Err(invalid_request(
            "Invalid request: `redirect_uri` is invalid",
        ));
    }
    let verifier = form.non_empty("code_verifier");
    match (&code.code_challenge, verifier) {
        (Some(_), None) => return Err(invalid_grant("Missing parameter: `code_verifier`")),
        (Some(_), Some(verifier)) if !is_pkce_string(verifier) => {
            return Err(invalid_request("Invalid parameter: `code_verifier`"))
        }
        (Some(challenge), Some(verifier)) => {
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                return Err(invalid_grant("Invalid grant: code verifier is invalid"));
            }
        }
        (None, Some(_)) => return Err(invalid_grant("Invalid grant: code verifier is invalid")),
        (None, None) => {}
    }
    store.stats.codes_exchanged += 1;
    Ok(store.save_token(code.scopes, &oc.settings))
}

fn refresh(
    oc: &OpenCollective,
    store: &mut Store,
    form: &Params,
) -> Result<IssuedToken, TokenError> {
    let refresh_token = required_vschar(form, "refresh_token").map_err(invalid_request)?;
    let existing = store
        .user_token_by_refresh_token(refresh_token)
        .ok_or(invalid_grant("Invalid refresh token"))?;
    if SystemTime::now() >= existing.refresh_token_expires_at {
        return Err(invalid_grant("Invalid grant: refresh token has expired"));
    }
    let scopes = match form.non_empty("scope") {
        None => existing.scopes.clone(),
        Some(scope) => {
            let asked = parse_scopes(scope);
            if !asked.iter().all(|scope| existing.scopes.contains(scope)) {
                return Err(error(
                    "invalid_scope",
                    "Invalid scope: Unable to add extra scopes",
                ));
            }
            asked
        }
    };
    store.stats.successful_refreshes += 1;
    // `saveToken` deletes the old token (and its refresh token) under the one-token policy.
    Ok(store.save_token(scopes, &oc.settings))
}

fn success_body(oc: &OpenCollective, issued: IssuedToken) -> String {
    let iat = unix_seconds(issued.issued_at);
    let claims = Claims {
        sub: oc.world.user.legacy_id.to_string(),
        scope: "oauth".into(),
        access_token: issued.inner_access_token,
        email: oc.world.email.clone(),
        iat,
        exp: iat + oc.settings.access_token_lifetime.as_secs(),
    };
    let access_token = jwt::sign(&oc.world.jwt_key, &claims);
    let scope = issued.scopes.join(" ");
    let expires_in = oc.settings.access_token_lifetime.as_secs();
    let body = match oc.settings.token_response_shape {
        TokenResponseShape::Current => json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": issued.refresh_token,
            "scope": scope,
        }),
        TokenResponseShape::WithoutRefreshToken => json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": scope,
        }),
        TokenResponseShape::AccessTokenOnly => json!({ "access_token": access_token }),
    };
    body.to_string()
}
