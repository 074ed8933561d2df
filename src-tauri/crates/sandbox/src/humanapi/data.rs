//! The Data API (`api.humanapi.co/v1/human`; docs/providers/human-api.md, "Data API"): Bearer (or
//! legacy `?access_token=`) authentication, bare JSON arrays paged with `limit`/`offset` and
//! counted in `X-Total-Count`.
//! Only sources whose first sync has finished contribute data.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Json;
use serde_json::{json, Value};
use time::Date;

use super::auth::ApiError;
use super::pdf;
use super::records::{self, Record, Report, WellnessList};
use super::seed::Source;
use super::state::{HumanApi, TokenCheck, TokenKind};
use crate::http::bearer_or_query_token;
use crate::text::{drf_datetime, escape_html};
use crate::urls::Params;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// The authenticated human: id and synced sources.
pub struct Caller {
    human_id: String,
    sources: Vec<&'static Source>,
}

/// Every Data API request authenticates first, counted in the stats.
impl FromRequestParts<Arc<HumanApi>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        hapi: &Arc<HumanApi>,
    ) -> Result<Caller, ApiError> {
        authenticate(hapi, &query_of(&parts.uri), &parts.headers)
    }
}

fn authenticate(hapi: &HumanApi, query: &Params, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let mut store = hapi.store();
    store.stats.data_api_calls += 1;
    let refusal = match bearer_or_query_token(headers, query)
        .map(|token| store.check(token, &[TokenKind::Access, TokenKind::LegacyAccess]))
    {
        Some(TokenCheck::Valid(human_id)) => {
            if let Some(human) = store.human(&human_id) {
                return Ok(Caller {
                    sources: human.synced_sources(hapi.sync_duration),
                    human_id,
                });
            }
            "Invalid access token."
        }
        Some(TokenCheck::Expired) => "The access token has expired.",
        Some(TokenCheck::Unknown) => "Invalid access token.",
        None => "An access token is required.",
    };
    store.stats.data_api_auth_failures += 1;
    // [INF] the status is documented only as "unauthorized"; the body shape is unknown.
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        refusal,
    ))
}

fn query_of(uri: &Uri) -> Params {
    Params::from_query(uri.query().unwrap_or(""))
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// `limit` (default 50, at most 500: larger values are capped, [INF]) and `offset` (default 0).
fn paging(query: &Params) -> Result<(usize, usize), ApiError> {
    let number = |name: &str, default: usize| match query.non_empty(name) {
        None => Ok(default),
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| bad_request(format!("{name} must be a non-negative integer."))),
    };
    Ok((
        number("limit", DEFAULT_LIMIT)?.min(MAX_LIMIT),
        number("offset", 0)?,
    ))
}

fn date_param(query: &Params, name: &str) -> Result<Option<Date>, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    query
        .non_empty(name)
        .map(|value| {
            Date::parse(value, format)
                .map_err(|_| bad_request(format!("{name} must be YYYY-MM-DD.")))
        })
        .transpose()
}

/// A bare array with the total in `X-Total-Count`.
fn page(items: Vec<Value>, total: usize) -> Response {
    (
        [("x-total-count", total.to_string())],
        Json(Value::Array(items)),
    )
        .into_response()
}

/// The `(limit, offset)` window of `all`, as a page counting all of them.
fn window_of<T>(
    all: Vec<T>,
    (limit, offset): (usize, usize),
    item: impl FnMut(T) -> Value,
) -> Response {
    let total = all.len();
    let items = all.into_iter().skip(offset).take(limit).map(item).collect();
    page(items, total)
}

/// `GET /v1/human/profile` ([INF] fields).
pub async fn profile(
    State(hapi): State<Arc<HumanApi>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let store = hapi.store();
    let Some(human) = store.human(&caller.human_id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "No such human.",
        ));
    };
    Ok(Json(json!({
        "humanId": human.human_id,
        "email": human.email,
        "createdAt": drf_datetime(human.created_at),
        "updatedAt": drf_datetime(human.updated_at),
    }))
    .into_response())
}

/// `GET /v1/human/sources`: every connected source with its sync status, synced or not.
pub async fn sources(
    State(hapi): State<Arc<HumanApi>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let store = hapi.store();
    let Some(human) = store.human(&caller.human_id) else {
        return Ok(page(Vec::new(), 0));
    };
    let items: Vec<Value> = human
        .connections
        .iter()
        .map(|connection| {
            let source = connection.source;
            let synced = caller.sources.iter().any(|s| s.id == source.id);
            let (status, synched_at, newest) = if synced {
                let synched_at = drf_datetime(connection.connected_at + hapi.sync_duration);
                (
                    "completed",
                    Value::from(synched_at),
                    Value::from(hapi.data_end_date.to_string()),
                )
            } else {
                ("pending", Value::Null, Value::Null)
            };
            let oldest = hapi
                .data_end_date
                .saturating_sub(time::Duration::days(i64::from(hapi.wellness_days.max(1)) - 1));
            json!({
                "id": source.id,
                "source": source.slug,
                "sourceName": source.name,
                "connectedSince": drf_datetime(connection.connected_at),
                "historySync": {
                    "status": status,
                    "oldestDate": if synced { Value::from(oldest.to_string()) } else { Value::Null },
                },
                "syncStatus": {
                    "status": status,
                    "details": if synced { "Sync completed" } else { "Sync in progress" },
                    "synchedAt": synched_at,
                    "newestDate": newest,
                },
                "resync": { "active": false },
                "organization": {
                    "id": source.id,
                    "name": source.organization,
                    "href": hapi.url(&format!("/v1/human/medical/organizations/{}", source.id)),
                },
                "expectedSyncDuration": hapi.sync_duration.as_secs(),
                "supportedDataTypes": if source.medical { json!(["medical"]) } else { json!(["activities", "sleeps", "heart_rate"]) },
                "devices": [],
            })
        })
        .collect();
    let total = items.len();
    Ok(page(items, total))
}

/// `GET` of one wellness list (activity summaries, sleeps or heart rate readings).
pub fn wellness(list: WellnessList) -> MethodRouter<Arc<HumanApi>> {
    get(
        move |State(hapi): State<Arc<HumanApi>>, caller: Caller, uri: Uri| async move {
            wellness_list(&hapi, &caller, &query_of(&uri), list)
        },
    )
}

/// A wellness list, filtered by `source` (slug or id) and `start_date`/`end_date`.
fn wellness_list(
    hapi: &HumanApi,
    caller: &Caller,
    query: &Params,
    list: WellnessList,
) -> Result<Response, ApiError> {
    let window = paging(query)?;
    let start = date_param(query, "start_date")?;
    let end = date_param(query, "end_date")?;
    let wanted_source = query.non_empty("source");
    let matching: Vec<Record> = records::wellness(hapi, &caller.human_id, &caller.sources, list)
        .into_iter()
        .filter(|record| {
            wanted_source
                .is_none_or(|wanted| wanted == record.source.slug || wanted == record.source.id)
                && start.is_none_or(|start| record.date >= start)
                && end.is_none_or(|end| record.date <= end)
        })
        .collect();
    Ok(window_of(matching, window, |record| record.body))
}

/// `GET /v1/human/medical/reports`.
pub async fn report_list(
    State(hapi): State<Arc<HumanApi>>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let window = paging(&query_of(&uri))?;
    let all = records::reports(&hapi, &caller.human_id, &caller.sources);
    Ok(window_of(all, window, |report| {
        report.summary(&caller.human_id)
    }))
}

fn find_report(hapi: &HumanApi, caller: &Caller, id: &str) -> Result<Report, ApiError> {
    records::reports(hapi, &caller.human_id, &caller.sources)
        .into_iter()
        .find(|report| report.id == id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "NotFound", "No such report."))
}

/// `GET /v1/human/medical/reports/{id}`.
pub async fn report(
    State(hapi): State<Arc<HumanApi>>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let report = find_report(&hapi, &caller, &id)?;
    Ok(Json(report.summary(&caller.human_id)).into_response())
}

/// `GET /v1/human/medical/reports/{id}/raw?format=pdf|json|html`. A missing or other format is
/// refused with 400 ([INF]).
pub async fn report_raw(
    State(hapi): State<Arc<HumanApi>>,
    Path(id): Path<String>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = query_of(&uri);
    let report = find_report(&hapi, &caller, &id)?;
    let sections = report.sections(hapi.seed, &caller.human_id);
    Ok(match query.get("format") {
        Some("json") => Json(json!({
            "id": report.id,
            "humanId": caller.human_id,
            "name": report.name,
            "type": report.kind,
            "createdAt": report.created_at,
            "sections": sections.iter().map(|(title, entries)| json!({"title": title, "entries": entries})).collect::<Vec<_>>(),
        }))
        .into_response(),
        Some("html") => {
            let mut html = format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n</head>\n<body>\n<h1>{0}</h1>\n<p>Created {1}</p>\n",
                escape_html(&report.name),
                escape_html(&report.created_at)
            );
            for (title, entries) in &sections {
                html.push_str(&format!("<h2>{}</h2>\n<ul>\n", escape_html(title)));
                for entry in entries {
                    html.push_str(&format!("<li>{}</li>\n", escape_html(entry)));
                }
                html.push_str("</ul>\n");
            }
            html.push_str("</body>\n</html>\n");
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }
        Some("pdf") => {
            let mut lines = vec![report.name.clone(), format!("Created {}", report.created_at), String::new()];
            for (title, entries) in &sections {
                lines.push(title.to_string());
                lines.extend(entries.iter().map(|entry| format!("  - {entry}")));
                lines.push(String::new());
            }
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("inline; filename=\"{}.pdf\"", report.id),
                    ),
                ],
                pdf::text_document(&lines),
            )
                .into_response()
        }
        _ => return Err(bad_request("format must be one of pdf, json, html.".to_string())),
    })
}
