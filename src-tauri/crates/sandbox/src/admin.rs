//! `/_sandbox/…`: knobs for tests that run the sandbox out of process. Not part of Open Humans.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::faults::Faults;
use crate::state::{RemovedMember, Sandbox, SentMessage, Stats};
use crate::text::drf_datetime;
use crate::urls::Params;

pub async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Json<Stats> {
    Json(sandbox.store().stats.clone())
}

pub async fn expire_tokens(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let expired = sandbox.expire_access_tokens();
    Json(json!({ "expired": expired })).into_response()
}

/// `POST /_sandbox/expire-codes`: codes not yet exchanged are past their lifetime.
pub async fn expire_codes(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let mut store = sandbox.store();
    let now = SystemTime::now();
    for grant in store.grants.values_mut() {
        grant.expires_at = grant.expires_at.min(now);
    }
    Json(json!({ "expired": store.grants.len() })).into_response()
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

/// `POST /_sandbox/deauthorize?username=alice[&erasure_requested=true][&remove_datafiles=true]`:
/// the member leaves the project on Open Humans, with the leave page's two boxes (ask the
/// project to erase their data; remove the files the project uploaded), which sends the
/// project's webhook.
pub async fn deauthorize(State(sandbox): State<Arc<Sandbox>>, uri: Uri) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let member = query
        .get("username")
        .and_then(|username| sandbox.world.member_by_username(username));
    let erasure_requested = match query.get("erasure_requested") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "erasure_requested is true or false",
            )
                .into_response()
        }
    };
    let Some(member) = member else {
        return (StatusCode::NOT_FOUND, "no such member").into_response();
    };
    sandbox.store().deauthorize(member);
    let project_member_id = &sandbox.world.members[member].project_member_id;
    crate::webhook::notify_departure(&sandbox, project_member_id, erasure_requested).await;
    Json(json!({ "deauthorized": true })).into_response()
}

/// The master token as the project page shows it.
fn master_token_view(sandbox: &Sandbox) -> Response {
    let store = sandbox.store();
    Json(json!({
        "master_access_token": store.master_token.token,
        "expires_at": drf_datetime(store.master_token.expires_at),
    }))
    .into_response()
}

/// `GET /_sandbox/master-token`
pub async fn master_token(State(sandbox): State<Arc<Sandbox>>) -> Response {
    master_token_view(&sandbox)
}

/// `POST /_sandbox/refresh-master-token`: the owner refreshes the token on the website.
pub async fn refresh_master_token(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let lifetime = sandbox.master_token_lifetime;
    sandbox.store().refresh_master_token(lifetime);
    master_token_view(&sandbox)
}

/// `POST /_sandbox/expire-master-token`
pub async fn expire_master_token(State(sandbox): State<Arc<Sandbox>>) -> Response {
    sandbox.store().master_token.expires_at = SystemTime::now();
    master_token_view(&sandbox)
}

/// `GET /_sandbox/messages`: every email the messaging API sent, oldest first.
pub async fn messages(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<SentMessage>> {
    Json(sandbox.store().messages.clone())
}

/// `GET /_sandbox/removed-members`
pub async fn removed_members(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<RemovedMember>> {
    Json(sandbox.store().removed_members.clone())
}

/// `GET /_sandbox/faults`
pub async fn faults(State(sandbox): State<Arc<Sandbox>>) -> Json<Faults> {
    Json(sandbox.store().faults.clone())
}

/// `POST /_sandbox/faults` with a JSON `Faults` (missing fields are off): replaces the knobs.
pub async fn set_faults(
    State(sandbox): State<Arc<Sandbox>>,
    Json(faults): Json<Faults>,
) -> Json<Faults> {
    sandbox.store().faults = faults.clone();
    Json(faults)
}
