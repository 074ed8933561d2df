//! `/_sandbox/…`: knobs for tests that run the sandbox out of process, as Open Humans' sandbox
//! has them. Not part of Open Collective. Each expiry answers `{"expired": <how many>}`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::state::{OpenCollective, Stats, Store};

pub async fn stats(State(oc): State<Arc<OpenCollective>>) -> Json<Stats> {
    Json(oc.store().stats.clone())
}

fn expired(oc: &OpenCollective, expire: impl FnOnce(&mut Store) -> usize) -> Json<Value> {
    Json(json!({ "expired": expire(&mut oc.store()) }))
}

/// `POST /_sandbox/expire-codes`: codes not yet exchanged are past their lifetime.
pub async fn expire_codes(State(oc): State<Arc<OpenCollective>>) -> Json<Value> {
    expired(&oc, Store::expire_codes)
}

/// `POST /_sandbox/expire-tokens`: the stored user tokens are past their expiry while their JWTs
/// are not, so GraphQL answers `me: null`.
pub async fn expire_tokens(State(oc): State<Arc<OpenCollective>>) -> Json<Value> {
    expired(&oc, Store::expire_stored_access_tokens)
}

/// `POST /_sandbox/expire-jwts`: every JWT is past its `exp`, so GraphQL answers 401 `jwt_expired`.
pub async fn expire_jwts(State(oc): State<Arc<OpenCollective>>) -> Json<Value> {
    expired(&oc, Store::expire_access_tokens)
}

/// `POST /_sandbox/expire-refresh-tokens`
pub async fn expire_refresh_tokens(State(oc): State<Arc<OpenCollective>>) -> Json<Value> {
    expired(&oc, Store::expire_refresh_tokens)
}

/// `POST /_sandbox/expire-personal-token`
pub async fn expire_personal_token(State(oc): State<Arc<OpenCollective>>) -> Json<Value> {
    expired(&oc, |store| {
        store.personal_token_expired = true;
        1
    })
}
