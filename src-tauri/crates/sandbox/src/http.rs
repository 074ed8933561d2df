//! Request headers read the same way by several simulated providers.

use axum::http::{header, HeaderMap};

use crate::urls::Params;

/// Whether the request's `Content-Type`, parameters aside, is `media_type` (case-insensitive).
pub fn has_media_type(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|sent| sent.trim().eq_ignore_ascii_case(media_type))
}

/// The token of an `Authorization: Bearer …` header, else the `access_token` query parameter.
pub fn bearer_or_query_token<'a>(headers: &'a HeaderMap, query: &'a Params) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .or_else(|| query.non_empty("access_token"))
}
