//! The authentication service (`auth.humanapi.co`; docs/providers/human-api.md, "Tokens, all
//! minted with the client secret", "The auth service's answers") and the legacy finalize endpoints
//! (`user.humanapi.co`; "The legacy Connect 1.x flow").
//!
//! Error bodies are not documented ([INF]): every error here is
//! `{"status":"error","name":…,"message":…}`, the shape the old Python client expects of the Data
//! API. Statuses documented: 403 for a session request by a returning user. Inferred ([INF]): 400
//! for a missing field or a body that is not JSON, 401 for unknown app credentials or tokens, 404
//! for an unknown user (one third-party client treats 404 that way), 403 for an access token
//! requested by a user with no connected source.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::seed::refresh_token;
use super::state::{HumanApi, TokenCheck, TokenKind};
use crate::http::has_media_type;

/// An error answer, `{"status":"error","name":…,"message":…}` ([INF]).
pub struct ApiError {
    status: StatusCode,
    name: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, name: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            name,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "status": "error", "name": self.name, "message": self.message })),
        )
            .into_response()
    }
}

pub fn error(status: StatusCode, name: &'static str, message: &str) -> Response {
    ApiError::new(status, name, message).into_response()
}

/// A JSON body as an Express `json()` parser sees it: anything not sent as `application/json`
/// is an empty object.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if !has_media_type(headers, "application/json") {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body is not a JSON object.",
        )),
    }
}

/// The string field `name`; present but not a string counts as missing.
fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

fn missing(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("{name} is required."),
    )
}

fn bad_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Invalid client credentials.",
    )
}

#[derive(Serialize)]
struct SessionTokenResponse {
    session_token: String,
    human_id: String,
    expires_in: u64,
}

#[derive(Serialize)]
struct IdTokenResponse {
    token_type: &'static str,
    id_token: String,
    id_refresh_token: String,
    expires_in: u64,
}

#[derive(Serialize)]
struct AccessTokenResponse {
    access_token: String,
    expires_in: u64,
    token_type: &'static str,
    refresh_token: String,
}

/// `POST /v1/connect/token`.
pub async fn connect_token(
    State(hapi): State<Arc<HumanApi>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = issue_token(&hapi, &headers, &body);
    if !response.status().is_success() {
        hapi.store().stats.token_requests_refused += 1;
    }
    response
}

fn issue_token(hapi: &HumanApi, headers: &HeaderMap, body: &[u8]) -> Response {
    let fields = match json_body(headers, body) {
        Ok(fields) => fields,
        Err(refused) => {
            hapi.store().stats.other_token_requests += 1;
            return refused.into_response();
        }
    };
    let kind = match field(&fields, "type") {
        Some("session") => TokenKind::Session,
        Some("id") => TokenKind::Id,
        Some("access") => TokenKind::Access,
        other => {
            hapi.store().stats.other_token_requests += 1;
            return match other {
                None => missing("type").into_response(),
                Some(_) => error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "type must be one of session, id, access.",
                ),
            };
        }
    };
    let mut store = hapi.store();
    match kind {
        TokenKind::Session => store.stats.session_token_requests += 1,
        TokenKind::Id => store.stats.id_token_requests += 1,
        _ => store.stats.access_token_requests += 1,
    }
    let Some(client_id) = field(&fields, "client_id") else {
        return missing("client_id").into_response();
    };
    let Some(client_user_id) = field(&fields, "client_user_id") else {
        return missing("client_user_id").into_response();
    };
    if client_id != hapi.app.client_id
        || field(&fields, "client_secret") != Some(hapi.app.client_secret.as_str())
    {
        return bad_credentials().into_response();
    }
    match kind {
        TokenKind::Session => {
            let human = store.human_for(client_user_id);
            if human.ever_connected {
                return error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "This user has already connected a source: request an id token (type \"id\").",
                );
            }
            if let Some(email) = field(&fields, "client_user_email") {
                human.email = Some(email.to_string());
            }
            let human_id = human.human_id.clone();
            let (session_token, lifetime) = store.issue(TokenKind::Session, &human_id);
            Json(SessionTokenResponse {
                session_token,
                human_id,
                expires_in: lifetime.as_secs(),
            })
            .into_response()
        }
        TokenKind::Id => {
            let Some(human) = store.human_by_client_user_id(client_user_id) else {
                return unknown_user();
            };
            let human_id = human.human_id.clone();
            let (id_token, lifetime) = store.issue(TokenKind::Id, &human_id);
            Json(IdTokenResponse {
                token_type: "Bearer",
                id_token,
                id_refresh_token: refresh_token("idrt-"),
                expires_in: lifetime.as_secs(),
            })
            .into_response()
        }
        _ => {
            let Some(human) = store.human_by_client_user_id(client_user_id) else {
                return unknown_user();
            };
            if human.connections.is_empty() {
                return error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "This user has no connected source.",
                );
            }
            let human_id = human.human_id.clone();
            let (access_token, lifetime) = store.issue(TokenKind::Access, &human_id);
            Json(AccessTokenResponse {
                access_token,
                expires_in: lifetime.as_secs(),
                token_type: "Bearer",
                refresh_token: refresh_token("atrt-"),
            })
            .into_response()
        }
    }
}

fn unknown_user() -> Response {
    error(StatusCode::NOT_FOUND, "NotFound", "Unknown client_user_id.")
}

/// The JSON body of a legacy endpoint once `humanId`, the app's `clientId` and `clientSecret`
/// and the `also_required` fields are present and the credentials match.
fn legacy_fields(
    hapi: &HumanApi,
    headers: &HeaderMap,
    body: &[u8],
    also_required: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let fields = json_body(headers, body)?;
    let required = ["humanId", "clientId", "clientSecret"];
    if let Some(name) = required
        .iter()
        .chain(also_required)
        .find(|name| field(&fields, name).is_none())
    {
        return Err(missing(name));
    }
    if field(&fields, "clientId") != Some(hapi.app.client_id.as_str())
        || field(&fields, "clientSecret") != Some(hapi.app.client_secret.as_str())
    {
        return Err(bad_credentials());
    }
    Ok(fields)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FinalizeResponse {
    human_id: String,
    access_token: String,
    public_token: String,
    client_id: String,
    client_user_id: String,
}

/// Legacy `POST /v1/connect/tokens`: the popup's `sessionTokenObject` signed with `clientSecret`.
/// The session token may be a session or id token of that human; each call issues a new
/// `accessToken` (earlier ones stay valid, [INF]) and a new `publicToken` (the earlier one no
/// longer opens Connect, [INF]: docs/providers/human-api.md, "The legacy Connect 1.x flow", says
/// both change when a source is connected).
pub async fn legacy_finalize(
    State(hapi): State<Arc<HumanApi>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hapi.store().stats.legacy_finalize_requests += 1;
    let fields = match legacy_fields(&hapi, &headers, &body, &["sessionToken"]) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let field = |name| field(&fields, name).unwrap_or_default();
    let mut store = hapi.store();
    let human_id = field("humanId");
    match store.check(field("sessionToken"), &[TokenKind::Session, TokenKind::Id]) {
        TokenCheck::Valid(owner) if owner == human_id => {}
        TokenCheck::Expired => {
            return error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "The session token has expired.",
            )
        }
        _ => {
            return error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Invalid session token.",
            )
        }
    }
    let (access_token, _) = store.issue(TokenKind::LegacyAccess, human_id);
    let Some(public_token) = store.issue_public_token(human_id) else {
        return unknown_user();
    };
    let Some(human) = store.human(human_id) else {
        return unknown_user();
    };
    Json(FinalizeResponse {
        human_id: human.human_id.clone(),
        access_token,
        public_token,
        client_id: hapi.app.client_id.clone(),
        client_user_id: human.client_user_id.clone(),
    })
    .into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicTokenResponse {
    human_id: String,
    public_token: String,
}

/// Legacy `POST /v1/connect/publictokens`: a new `publicToken` for a user whose token was lost.
pub async fn legacy_public_token(
    State(hapi): State<Arc<HumanApi>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hapi.store().stats.public_token_requests += 1;
    let fields = match legacy_fields(&hapi, &headers, &body, &[]) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let human_id = field(&fields, "humanId").unwrap_or_default();
    match hapi.store().issue_public_token(human_id) {
        Some(public_token) => Json(PublicTokenResponse {
            human_id: human_id.to_string(),
            public_token,
        })
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "NotFound", "Unknown humanId."),
    }
}
