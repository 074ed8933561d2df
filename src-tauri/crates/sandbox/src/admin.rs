//! `/_sandbox/…`: knobs for tests that run the sandbox out of process. Not part of Open Humans.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::{Sandbox, Stats};
use crate::urls::Params;

pub async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Json<Stats> {
    Json(sandbox.store().stats.clone())
}

pub async fn expire_tokens(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let expired = sandbox.expire_access_tokens();
    Json(json!({ "expired": expired })).into_response()
}

/// `POST /_sandbox/fail-token-requests?count=N`
pub async fn fail_token_requests(State(sandbox): State<Arc<Sandbox>>, uri: Uri) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let Some(count) = query.get("count").and_then(|count| count.parse().ok()) else {
        return (
            StatusCode::BAD_REQUEST,
            "count must be a non-negative integer",
        )
            .into_response();
    };
    sandbox.store().token_failures_left = count;
    Json(json!({ "failures_left": count })).into_response()
}

/// `POST /_sandbox/deauthorize?username=alice`: the member withdraws from the project on Open Humans.
pub async fn deauthorize(State(sandbox): State<Arc<Sandbox>>, uri: Uri) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let member = query
        .get("username")
        .and_then(|username| sandbox.world.member_by_username(username));
    match member {
        Some(member) => {
            sandbox.store().deauthorize(member);
            Json(json!({ "deauthorized": true })).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such member").into_response(),
    }
}
