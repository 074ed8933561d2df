//! The Human API sandbox against docs/providers/human-api.md, including the Web Guide's tokens and
//! the legacy finalize flow.

mod common;

use std::time::Duration;

use datalinks_sandbox::humanapi::{self, HumanApiConfig, RunningHumanApi, SOURCES};
use reqwest::{Client, IntoUrl, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

const CLINIC: &str = "5a3f1c2e9d8b7a6f5e4d3c21";
const PHARMACY: &str = "5b1daf3f079c652eaf41fd23";
const FITBIT: &str = "5c2e8b4d1f0a9e7c6b5a4d32";

async fn start(config: HumanApiConfig) -> RunningHumanApi {
    humanapi::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("Human API sandbox starts")
}

async fn post_json(url: impl IntoUrl, body: &Value) -> Response {
    Client::new().post(url).json(body).send().await.unwrap()
}

/// Sends `request` and reads the JSON answer, whatever its status.
async fn json_answer<T: DeserializeOwned>(request: RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}

async fn token_request(hapi: &RunningHumanApi, body: Value) -> Response {
    post_json(hapi.token_url(), &body).await
}

fn credentials(hapi: &RunningHumanApi, user: &str, kind: &str) -> Value {
    json!({
        "client_id": hapi.client_id(),
        "client_user_id": user,
        "client_secret": hapi.client_secret(),
        "type": kind,
    })
}

async fn token(hapi: &RunningHumanApi, user: &str, kind: &str) -> Value {
    let response = token_request(hapi, credentials(hapi, user, kind)).await;
    assert_eq!(response.status(), StatusCode::OK, "type {kind}");
    response.json().await.unwrap()
}

async fn session(hapi: &RunningHumanApi, user: &str) -> Value {
    let mut body = credentials(hapi, user, "session");
    body["client_user_email"] = json!(format!("{user}@example.org"));
    let response = token_request(hapi, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A user who connected `sources`, with a fresh access token.
async fn connected_user(hapi: &RunningHumanApi, user: &str, sources: &[&str]) -> String {
    session(hapi, user).await;
    for source in sources {
        assert!(hapi.connect_source(user, source));
    }
    token(hapi, user, "access").await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn data_request(hapi: &RunningHumanApi, path: &str, access_token: &str) -> RequestBuilder {
    Client::new()
        .get(format!("{}{path}", hapi.data_api_url()))
        .bearer_auth(access_token)
        .header("accept", "application/json")
}

async fn data_get(hapi: &RunningHumanApi, path: &str, access_token: &str) -> Response {
    data_request(hapi, path, access_token).send().await.unwrap()
}

async fn data_json<T: DeserializeOwned>(
    hapi: &RunningHumanApi,
    path: &str,
    access_token: &str,
) -> T {
    json_answer(data_request(hapi, path, access_token)).await
}

/// The `X-Total-Count` of a Data API list.
async fn data_total(hapi: &RunningHumanApi, path: &str, access_token: &str) -> String {
    let response = data_get(hapi, path, access_token).await;
    response.headers()["x-total-count"]
        .to_str()
        .unwrap()
        .to_string()
}

/// Asserts that the raw JSON text names `keys` in this order.
fn assert_key_order(raw: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys.iter().map(|key| raw.find(key).unwrap()).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{raw}");
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn session_token_for_a_new_user() {
    let hapi = start(HumanApiConfig::default()).await;
    let response = token_request(&hapi, {
        let mut body = credentials(&hapi, "user-1", "session");
        body["client_user_email"] = json!("user-1@example.org");
        body
    })
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let raw = response.text().await.unwrap();
    // The web guide's field order.
    assert_key_order(&raw, &["session_token", "human_id", "expires_in"]);
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(keys(&body), ["expires_in", "human_id", "session_token"]);
    assert_eq!(body["expires_in"], 3600);
    let human_id = body["human_id"].as_str().unwrap();
    assert_eq!(human_id.len(), 32);
    assert!(human_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(hapi.human_id("user-1").as_deref(), Some(human_id));

    // Before any source is connected the user may ask again, and stays the same human.
    let again = session(&hapi, "user-1").await;
    assert_eq!(again["human_id"], human_id);
    assert_ne!(again["session_token"], body["session_token"]);
    assert_eq!(hapi.stats().session_token_requests, 2);
}

#[tokio::test]
async fn returning_user_gets_403_for_a_session_then_uses_an_id_token() {
    let hapi = start(HumanApiConfig::default()).await;
    let first = session(&hapi, "user-2").await;
    assert!(hapi.connect_source("user-2", CLINIC));

    let refused = token_request(&hapi, credentials(&hapi, "user-2", "session")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["status"], "error");

    let id = token(&hapi, "user-2", "id").await;
    assert_eq!(
        keys(&id),
        ["expires_in", "id_refresh_token", "id_token", "token_type"]
    );
    assert_eq!(id["token_type"], "Bearer");
    assert_eq!(id["expires_in"], 86400);
    assert!(id["id_refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("idrt-"));

    // The id token launches Connect, which shows the existing connection.
    let id_token = id["id_token"].as_str().unwrap();
    let page = reqwest::get(hapi.connect_page_url(id_token)).await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("data-status=\"SUCCESS\""));
    assert!(html.contains(&format!(
        "{{\"id\":\"{CLINIC}\",\"name\":\"Demo Health Clinic\"}}"
    )));
    assert_eq!(hapi.human_id("user-2").unwrap(), first["human_id"]);

    // Disconnecting everything does not make the user new again.
    assert!(hapi.disconnect_source("user-2", CLINIC));
    let still = token_request(&hapi, credentials(&hapi, "user-2", "session")).await;
    assert_eq!(still.status(), StatusCode::FORBIDDEN);
    let stats = hapi.stats();
    assert_eq!(
        (stats.sources_connected, stats.sources_disconnected),
        (1, 1)
    );
    assert_eq!(stats.token_requests_refused, 2);
}

#[tokio::test]
async fn access_token_needs_a_connected_source() {
    let hapi = start(HumanApiConfig::default()).await;
    let unknown = token_request(&hapi, credentials(&hapi, "nobody", "access")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown_id = token_request(&hapi, credentials(&hapi, "nobody", "id")).await;
    assert_eq!(unknown_id.status(), StatusCode::NOT_FOUND);

    session(&hapi, "user-3").await;
    let no_sources = token_request(&hapi, credentials(&hapi, "user-3", "access")).await;
    assert_eq!(no_sources.status(), StatusCode::FORBIDDEN);

    assert!(hapi.connect_source("user-3", FITBIT));
    let response = token_request(&hapi, credentials(&hapi, "user-3", "access")).await;
    let raw = response.text().await.unwrap();
    assert_key_order(
        &raw,
        &["access_token", "expires_in", "token_type", "refresh_token"],
    );
    let access: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(access["expires_in"], 86400);
    assert_eq!(access["token_type"], "Bearer");
    assert!(access["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("atrt-"));
    let profile = data_get(&hapi, "/profile", access["access_token"].as_str().unwrap()).await;
    assert_eq!(profile.status(), StatusCode::OK);
    let profile: Value = profile.json().await.unwrap();
    assert_eq!(
        profile["humanId"],
        hapi.human_id("user-3").unwrap().as_str()
    );
    assert_eq!(profile["email"], "user-3@example.org");
}

#[tokio::test]
async fn lifetimes_follow_the_config() {
    let hapi = start(HumanApiConfig {
        session_token_lifetime: Duration::from_secs(60),
        id_token_lifetime: Duration::from_secs(120),
        access_token_lifetime: Duration::from_secs(180),
        ..HumanApiConfig::default()
    })
    .await;
    assert_eq!(session(&hapi, "u").await["expires_in"], 60);
    hapi.connect_source("u", FITBIT);
    assert_eq!(token(&hapi, "u", "id").await["expires_in"], 120);
    assert_eq!(token(&hapi, "u", "access").await["expires_in"], 180);
}

#[tokio::test]
async fn bad_credentials_and_bodies_are_refused() {
    let hapi = start(HumanApiConfig::default()).await;
    let mut wrong_secret = credentials(&hapi, "u", "session");
    wrong_secret["client_secret"] = json!("nope");
    let mut no_secret = credentials(&hapi, "u", "session");
    no_secret.as_object_mut().unwrap().remove("client_secret");
    let mut wrong_client = credentials(&hapi, "u", "session");
    wrong_client["client_id"] = json!("0000");
    for body in [wrong_secret, no_secret, wrong_client] {
        let response = token_request(&hapi, body.clone()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(keys(&error), ["message", "name", "status"]);
    }
    for field in ["client_id", "client_user_id", "type"] {
        let mut body = credentials(&hapi, "u", "session");
        body.as_object_mut().unwrap().remove(field);
        let response = token_request(&hapi, body).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "without {field}"
        );
    }
    let mut other_type = credentials(&hapi, "u", "session");
    other_type["type"] = json!("refresh");
    assert_eq!(
        token_request(&hapi, other_type).await.status(),
        StatusCode::BAD_REQUEST
    );

    let client = Client::new();
    let not_json = client
        .post(hapi.token_url())
        .header("content-type", "application/json")
        .body("{client_id")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    // A form body is not read at all, so every field is missing.
    let form = client
        .post(hapi.token_url())
        .form(&[("client_id", hapi.client_id()), ("type", "session")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
    assert_eq!(hapi.human_id("u"), None);
    assert_eq!(hapi.stats().other_token_requests, 4);
}

#[tokio::test]
async fn legacy_finalize_and_public_tokens() {
    let hapi = start(HumanApiConfig::default()).await;
    let started = session(&hapi, "legacy@example.org").await;
    let human_id = started["human_id"].as_str().unwrap();
    let session_token = started["session_token"].as_str().unwrap();
    assert!(hapi.connect_source("legacy@example.org", CLINIC));
    let finalize_url = hapi.base_url().join("v1/connect/tokens").unwrap();
    let signed = json!({
        "humanId": human_id,
        "clientId": hapi.client_id(),
        "clientSecret": hapi.client_secret(),
        "sessionToken": session_token,
    });
    let response = post_json(finalize_url.clone(), &signed).await;
    assert_eq!(response.status(), StatusCode::OK);
    let first: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&first),
        [
            "accessToken",
            "clientId",
            "clientUserId",
            "humanId",
            "publicToken"
        ]
    );
    assert_eq!(first["humanId"], human_id);
    assert_eq!(first["clientId"], hapi.client_id());
    assert_eq!(first["clientUserId"], "legacy@example.org");
    let legacy_access = first["accessToken"].as_str().unwrap();
    // The legacy access token reads data, also as `?access_token=` like the old docs show.
    assert_eq!(
        data_get(&hapi, "/medical/reports", legacy_access)
            .await
            .status(),
        StatusCode::OK
    );
    let by_query = Client::new()
        .get(format!(
            "{}/sources?access_token={legacy_access}",
            hapi.data_api_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);

    // Connecting another source changes the publicToken.
    assert!(hapi.connect_source("legacy@example.org", PHARMACY));
    let second: Value = json_answer(Client::new().post(finalize_url.clone()).json(&signed)).await;
    assert_ne!(second["publicToken"], first["publicToken"]);
    assert_ne!(second["accessToken"], first["accessToken"]);

    let mut unsigned = signed.clone();
    unsigned["clientSecret"] = json!("wrong");
    let refused = post_json(finalize_url.clone(), &unsigned).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let mut foreign = signed.clone();
    foreign["humanId"] = json!("0123456789abcdef0123456789abcdef");
    let refused = post_json(finalize_url.clone(), &foreign).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let public_url = hapi.base_url().join("v1/connect/publictokens").unwrap();
    let recover = json!({
        "humanId": human_id,
        "clientId": hapi.client_id(),
        "clientSecret": hapi.client_secret(),
    });
    let response = post_json(public_url.clone(), &recover).await;
    assert_eq!(response.status(), StatusCode::OK);
    let recovered: Value = response.json().await.unwrap();
    assert_eq!(keys(&recovered), ["humanId", "publicToken"]);
    assert_eq!(recovered["humanId"], human_id);
    assert_ne!(recovered["publicToken"], second["publicToken"]);
    assert_eq!(recovered["publicToken"].as_str().unwrap().len(), 32);
    let mut unknown = recover.clone();
    unknown["humanId"] = json!("ffffffffffffffffffffffffffffffff");
    assert_eq!(
        post_json(public_url, &unknown).await.status(),
        StatusCode::NOT_FOUND
    );

    hapi.expire_tokens();
    let expired = post_json(finalize_url, &signed).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let stats = hapi.stats();
    assert_eq!(
        (stats.legacy_finalize_requests, stats.public_token_requests),
        (5, 2)
    );
}

#[tokio::test]
async fn wellness_lists_page_with_total_count() {
    let hapi = start(HumanApiConfig::default()).await;
    let access = connected_user(&hapi, "walker", &[FITBIT]).await;

    let first = data_get(&hapi, "/activities/summaries", &access).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-total-count"], "90");
    let first: Value = first.json().await.unwrap();
    let items = first.as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert_eq!(items[0]["date"], "2024-12-31");
    for key in [
        "id",
        "humanId",
        "source",
        "sourceData",
        "createdAt",
        "updatedAt",
        "steps",
    ] {
        assert!(items[0].get(key).is_some(), "{key}");
    }
    assert_eq!(items[0]["source"], "fitbit");

    // Walk every page with offset += page length.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = data_get(
            &hapi,
            &format!("/activities/summaries?limit=40&offset={offset}"),
            &access,
        )
        .await;
        let total: usize = page.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let page: Vec<Value> = page.json().await.unwrap();
        offset += page.len();
        seen.extend(page);
        if offset >= total || seen.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 90);
    assert_eq!(&seen[..50], items.as_slice());

    let capped: Vec<Value> = data_json(&hapi, "/heart_rate/readings?limit=1000", &access).await;
    assert_eq!(
        capped.len(),
        360,
        "all 4 readings a day fit under the 500 cap"
    );
    assert_eq!(
        data_total(&hapi, "/heart_rate/readings?limit=100000", &access).await,
        "360"
    );
    assert_eq!(
        data_total(
            &hapi,
            "/sleeps?start_date=2024-12-01&end_date=2024-12-10",
            &access
        )
        .await,
        "10"
    );
    assert_eq!(
        data_get(&hapi, "/sleeps?limit=ten", &access).await.status(),
        StatusCode::BAD_REQUEST
    );

    // A second wellness source adds its records; `source` filters them.
    assert!(hapi.connect_source("walker", "5d3f9c5e2a1b0f8d7c6b5e43"));
    assert_eq!(
        data_total(&hapi, "/activities/summaries", &access).await,
        "180"
    );
    let only = data_get(
        &hapi,
        "/activities/summaries?source=withings&limit=500",
        &access,
    )
    .await;
    assert_eq!(only.headers()["x-total-count"], "90");
    let only: Vec<Value> = only.json().await.unwrap();
    assert!(only.iter().all(|record| record["source"] == "withings"));
}

#[tokio::test]
async fn data_is_deterministic_for_a_seed() {
    let mut runs = Vec::new();
    for seed in [7, 7, 8] {
        let hapi = start(HumanApiConfig {
            seed,
            ..HumanApiConfig::default()
        })
        .await;
        let access = connected_user(&hapi, "same-user", &[FITBIT, CLINIC]).await;
        let sleeps: Value = data_json(&hapi, "/sleeps?limit=5", &access).await;
        let reports: Value = data_json(&hapi, "/medical/reports", &access).await;
        runs.push((hapi.client_id().to_string(), sleeps, reports));
    }
    assert_eq!(runs[0], runs[1]);
    assert_ne!(runs[0].0, runs[2].0);
    assert_ne!(runs[0].1, runs[2].1);
}

#[tokio::test]
async fn sources_report_sync_status() {
    let hapi = start(HumanApiConfig {
        sync_duration: Duration::from_secs(3600),
        ..HumanApiConfig::default()
    })
    .await;
    let access = connected_user(&hapi, "syncing", &[FITBIT]).await;
    let sources: Vec<Value> = data_json(&hapi, "/sources", &access).await;
    assert_eq!(sources.len(), 1);
    let fitbit = &sources[0];
    assert_eq!(fitbit["id"], FITBIT);
    assert_eq!(fitbit["source"], "fitbit");
    assert_eq!(fitbit["sourceName"], "Fitbit");
    assert_eq!(fitbit["syncStatus"]["status"], "pending");
    for key in [
        "connectedSince",
        "historySync",
        "resync",
        "organization",
        "expectedSyncDuration",
    ] {
        assert!(fitbit.get(key).is_some(), "{key}");
    }
    // Until the sync completes there is no data.
    assert_eq!(
        data_total(&hapi, "/activities/summaries", &access).await,
        "0"
    );

    let synced = start(HumanApiConfig::default()).await;
    let access = connected_user(&synced, "synced", &[FITBIT]).await;
    let sources: Vec<Value> = data_json(&synced, "/sources", &access).await;
    assert_eq!(sources[0]["syncStatus"]["status"], "completed");
    assert_eq!(sources[0]["historySync"]["oldestDate"], "2024-10-03");
}

#[tokio::test]
async fn medical_reports_in_three_formats() {
    let hapi = start(HumanApiConfig::default()).await;
    let access = connected_user(&hapi, "patient", &[CLINIC, PHARMACY, FITBIT]).await;
    let response = data_get(&hapi, "/medical/reports", &access).await;
    assert_eq!(response.headers()["x-total-count"], "4");
    let reports: Vec<Value> = response.json().await.unwrap();
    let kinds: Vec<&str> = reports
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unity", "highlights", "ccdraw", "ccdraw"]);
    let id = reports[0]["id"].as_str().unwrap();
    let single: Value = data_json(&hapi, &format!("/medical/reports/{id}"), &access).await;
    assert_eq!(single, reports[0]);

    let pdf = data_get(
        &hapi,
        &format!("/medical/reports/{id}/raw?format=pdf"),
        &access,
    )
    .await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    assert!(bytes.ends_with(b"%%EOF\n"));
    assert!(bytes.windows(11).any(|w| w == b"Unity Repor"));

    let json_report = data_get(
        &hapi,
        &format!("/medical/reports/{id}/raw?format=json"),
        &access,
    )
    .await;
    assert!(json_report.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let json_report: Value = json_report.json().await.unwrap();
    assert_eq!(json_report["id"], id);
    let sections = json_report["sections"].as_array().unwrap();
    assert!(sections.iter().any(|s| s["title"] == "Medications"));
    assert!(json_report.to_string().contains("Starfleet Pharmacy"));

    let html = data_get(
        &hapi,
        &format!("/medical/reports/{id}/raw?format=html"),
        &access,
    )
    .await;
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    let html = html.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<h1>Unity Report</h1>"));

    for query in ["", "?format=xml"] {
        let refused = data_get(&hapi, &format!("/medical/reports/{id}/raw{query}"), &access).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    let missing = data_get(&hapi, "/medical/reports/000000000000000000000000", &access).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // A wellness-only user has no reports.
    let walker = connected_user(&hapi, "walker", &[FITBIT]).await;
    let none = data_get(&hapi, "/medical/reports", &walker).await;
    assert_eq!(none.headers()["x-total-count"], "0");
    assert_eq!(none.json::<Value>().await.unwrap(), json!([]));
}

#[tokio::test]
async fn data_api_refuses_missing_bad_and_expired_tokens() {
    let hapi = start(HumanApiConfig::default()).await;
    let access = connected_user(&hapi, "u", &[FITBIT]).await;
    let client = Client::new();
    let no_token = client
        .get(format!("{}/profile", hapi.data_api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        data_get(&hapi, "/profile", "not-a-token").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Session and id tokens identify the user to Connect but do not read data.
    let id_token = token(&hapi, "u", "id").await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        data_get(&hapi, "/sleeps", &id_token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        data_get(&hapi, "/sleeps", &access).await.status(),
        StatusCode::OK
    );
    hapi.expire_tokens();
    let expired = data_get(&hapi, "/sleeps", &access).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["status"], "error");
    // A fresh access token works again.
    let fresh = token(&hapi, "u", "access").await;
    assert_eq!(
        data_get(&hapi, "/sleeps", fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    let stats = hapi.stats();
    assert_eq!(stats.data_api_calls, 6);
    assert_eq!(stats.data_api_auth_failures, 4);
}

#[tokio::test]
async fn demo_token_returns_demo_data() {
    let hapi = start(HumanApiConfig::default()).await;
    hapi.expire_tokens();
    let sources: Vec<Value> = data_json(&hapi, "/sources", humanapi::DEMO_ACCESS_TOKEN).await;
    assert_eq!(sources.len(), SOURCES.len());
    assert_eq!(data_total(&hapi, "/medical/reports", "demo").await, "4");
}

#[tokio::test]
async fn connect_script_defines_human_connect() {
    let hapi = start(HumanApiConfig::default()).await;
    let response = reqwest::get(hapi.connect_script_url()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    let script = response.text().await.unwrap();
    for needle in [
        "global.HumanConnect = { open: open, on: on }",
        "onClose",
        "onConnectSource",
        "onDisconnectSource",
        "hapi-connect-connect-source",
        "hapi-connect-disconnect-source",
        "hapi-connect-close",
        "The token attribute is required",
        "data-hapi-token",
    ] {
        assert!(script.contains(needle), "{needle}");
    }
    let origin = hapi.base_url().as_str().trim_end_matches('/').to_string();
    assert!(script.contains(&format!("var DEFAULT_BASE_URL = \"{origin}\";")));
    assert!(!script.contains("__BASE_URL__"));
}

async fn connect_page(hapi: &RunningHumanApi, query: &str) -> String {
    let response = reqwest::get(format!("{}{query}", hapi.base_url()))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn connect_page_validates_the_token() {
    let hapi = start(HumanApiConfig::default()).await;
    let started = session(&hapi, "c").await;
    let session_token = started["session_token"].as_str().unwrap();
    let valid = connect_page(&hapi, &format!("?token={session_token}")).await;
    assert!(valid.contains("data-status=\"SUCCESS\""));
    for testid in ["hc-status", "hc-sources", "hc-close"] {
        assert!(
            valid.contains(&format!("data-testid=\"{testid}\"")),
            "{testid}"
        );
    }
    for id in [CLINIC, PHARMACY, FITBIT] {
        assert!(valid.contains(id));
    }
    assert!(valid.contains("\"hc-connect-source\"") && valid.contains("\"hc-disconnect-source\""));
    assert!(valid.contains("\"data-source-id\""));
    assert!(connect_page(&hapi, "")
        .await
        .contains("data-status=\"MISSING_SESSION_TOKEN\""));
    assert!(connect_page(&hapi, "?token=bogus")
        .await
        .contains("data-status=\"SESSION_TOKEN_INVALID\""));
    hapi.expire_tokens();
    let expired = connect_page(&hapi, &format!("?token={session_token}")).await;
    assert!(expired.contains("data-status=\"SESSION_TOKEN_EXPIRED\""));
    assert!(expired.contains("\"currentConnections\":[]"));
    assert_eq!(hapi.stats().connect_launches, 4);
}

fn page_data(html: &str) -> Value {
    humanapi::connect_page_data(html).expect("a Connect page")
}

#[tokio::test]
async fn legacy_connect_page_starts_a_session_to_finalize() {
    let hapi = start(HumanApiConfig::default()).await;
    let script = reqwest::get(hapi.legacy_connect_script_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "var LEGACY = true;",
        "options.finish(null, payload.sessionTokenObject)",
        "options.close()",
        "/legacy/?clientId=",
        "clientId and clientUserId are required",
    ] {
        assert!(script.contains(needle), "{needle}");
    }
    let current = reqwest::get(hapi.connect_script_url()).await.unwrap();
    assert!(current
        .text()
        .await
        .unwrap()
        .contains("var LEGACY = false;"));

    let user = "legacy-page@example.org";
    let open = |public_token: &str| {
        format!(
            "legacy/?clientId={}&clientUserId={user}&publicToken={public_token}",
            hapi.client_id()
        )
    };
    let data = page_data(&connect_page(&hapi, &open("")).await);
    assert_eq!(data["status"], "SUCCESS");
    let session_token_object = data["sessionTokenObject"].clone();
    assert_eq!(
        keys(&session_token_object),
        ["clientId", "humanId", "sessionToken"]
    );
    assert_eq!(session_token_object["clientId"], hapi.client_id());
    assert_eq!(
        session_token_object["humanId"].as_str(),
        hapi.human_id(user).as_deref()
    );
    // The page's buttons act with the session it started.
    assert_eq!(data["token"], session_token_object["sessionToken"]);
    let clicked: Value = json_answer(
        Client::new()
            .post(
                hapi.base_url()
                    .join(&format!("_connect/sources/{CLINIC}/connect"))
                    .unwrap(),
            )
            .json(&json!({ "token": data["token"] })),
    )
    .await;
    assert_eq!(clicked["status"], "CONNECTED_SOURCE");

    let mut signed = session_token_object.clone();
    signed["clientSecret"] = json!(hapi.client_secret());
    let finalize_url = hapi.base_url().join("v1/connect/tokens").unwrap();
    let finalized: Value = json_answer(Client::new().post(finalize_url).json(&signed)).await;
    let sources: Vec<Value> = data_json(
        &hapi,
        "/sources",
        finalized["accessToken"].as_str().unwrap(),
    )
    .await;
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["id"], CLINIC);

    // The current public token reopens Connect for the same user, with their sources.
    let public_token = finalized["publicToken"].as_str().unwrap();
    let edit = page_data(&connect_page(&hapi, &open(public_token)).await);
    assert_eq!(edit["status"], "SUCCESS");
    assert_eq!(
        edit["sessionTokenObject"]["humanId"],
        session_token_object["humanId"]
    );
    assert_eq!(edit["currentConnections"][0]["id"], CLINIC);
    assert_ne!(edit["token"], data["token"]);

    let refused = |html: &str| page_data(html)["status"].as_str().unwrap().to_owned();
    assert_eq!(
        refused(&connect_page(&hapi, &open("0123456789abcdef0123456789abcdef")).await),
        "INVALID_PUBLIC_TOKEN"
    );
    let foreign_app = format!("legacy/?clientId=someone-else&clientUserId={user}");
    assert_eq!(
        refused(&connect_page(&hapi, &foreign_app).await),
        "INVALID_CLIENT_ID"
    );
    let no_user = format!("legacy/?clientId={}", hapi.client_id());
    assert_eq!(
        refused(&connect_page(&hapi, &no_user).await),
        "MISSING_CLIENT_USER_ID"
    );
    assert!(page_data(&connect_page(&hapi, &no_user).await)["sessionTokenObject"].is_null());
}

#[tokio::test]
async fn connect_buttons_change_server_side_connections() {
    let hapi = start(HumanApiConfig::default()).await;
    let session_token = session(&hapi, "clicker").await["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = Client::new();
    let click = |source: &str, action: &str| {
        client
            .post(
                hapi.base_url()
                    .join(&format!("_connect/sources/{source}/{action}"))
                    .unwrap(),
            )
            .json(&json!({ "token": session_token }))
    };
    let connected: Value = json_answer(click(FITBIT, "connect")).await;
    assert_eq!(connected["status"], "CONNECTED_SOURCE");
    assert_eq!(connected["source"], json!({"name": "Fitbit", "id": FITBIT}));
    let connected: Value = json_answer(click(CLINIC, "connect")).await;
    assert_eq!(
        connected["currentConnections"],
        json!([{"name": "Fitbit", "id": FITBIT}, {"name": "Demo Health Clinic", "id": CLINIC}])
    );
    let disconnected: Value = json_answer(click(FITBIT, "disconnect")).await;
    assert_eq!(disconnected["status"], "DISCONNECTED_SOURCE");
    let names: Vec<String> = hapi
        .connected_sources("clicker")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Demo Health Clinic"]);
    // The Data API reflects it.
    let access = token(&hapi, "clicker", "access").await;
    let sources: Vec<Value> =
        data_json(&hapi, "/sources", access["access_token"].as_str().unwrap()).await;
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["id"], CLINIC);

    let unknown = click("ffffffffffffffffffffffff", "connect")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    hapi.expire_tokens();
    let expired = click(PHARMACY, "connect").send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.json::<Value>().await.unwrap()["status"],
        "SESSION_TOKEN_EXPIRED"
    );
    assert_eq!(hapi.connected_sources("clicker").len(), 1);
}

#[tokio::test]
async fn admin_endpoints_for_out_of_process_tests() {
    let hapi = start(HumanApiConfig::default()).await;
    let access = connected_user(&hapi, "admin-user", &[FITBIT]).await;
    let client = Client::new();
    let stats: Value = json_answer(
        client
            .get(hapi.base_url().join("_sandbox/stats").unwrap())
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, hapi.admin_key()),
    )
    .await;
    assert_eq!(stats["session_token_requests"], 1);
    assert_eq!(stats["access_token_requests"], 1);
    let expire = |query: &str| {
        client
            .post(
                hapi.base_url()
                    .join(&format!("_sandbox/expire-tokens{query}"))
                    .unwrap(),
            )
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, hapi.admin_key())
    };
    let sessions: Value = json_answer(expire("?kind=session")).await;
    assert_eq!(sessions["expired"], 1, "only the session token");
    assert_eq!(
        data_get(&hapi, "/profile", &access).await.status(),
        StatusCode::OK
    );
    let unknown = expire("?kind=refresh").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let expired: Value = json_answer(
        client
            .post(hapi.base_url().join("_sandbox/expire-tokens").unwrap())
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, hapi.admin_key()),
    )
    .await;
    assert_eq!(expired["expired"], 2);
    assert_eq!(
        data_get(&hapi, "/profile", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    hapi.shutdown().await;
}

#[tokio::test]
async fn humans_and_tokens_survive_a_restart_through_the_state_file_which_holds_no_token() {
    let state_file = common::fresh_state_file("hapi-restart");
    let config = HumanApiConfig {
        state_file: Some(state_file.clone()),
        sync_duration: Duration::from_secs(3600),
        ..HumanApiConfig::default()
    };
    let first = start(config.clone()).await;
    let access = connected_user(&first, "returning", &[CLINIC]).await;
    let human_id = first.human_id("returning").unwrap();
    let profile: Value = data_json(&first, "/profile", &access).await;
    let sources: Vec<Value> = data_json(&first, "/sources", &access).await;
    let recovered: Value = json_answer(
        Client::new()
            .post(first.base_url().join("v1/connect/publictokens").unwrap())
            .json(&json!({
                "humanId": human_id,
                "clientId": first.client_id(),
                "clientSecret": first.client_secret(),
            })),
    )
    .await;
    let public_token = recovered["publicToken"].as_str().unwrap().to_owned();
    first.shutdown().await;
    let saved = std::fs::read_to_string(&state_file).unwrap();
    assert!(!saved.contains(&access));
    assert!(!saved.contains(&public_token));

    let second = start(config).await;
    assert_eq!(second.human_id("returning").unwrap(), human_id);
    assert_eq!(
        second.connected_sources("returning")[0].id,
        CLINIC,
        "the connection outlived the restart"
    );
    assert_eq!(
        data_json::<Value>(&second, "/profile", &access).await,
        profile,
        "so did the access token"
    );
    let fresh = token(&second, "returning", "access").await;
    assert_eq!(fresh["token_type"], "Bearer");
    let fresh_access = fresh["access_token"].as_str().unwrap();
    // Connected at the same time as before the restart, so the sync is still running.
    let after: Vec<Value> = data_json(&second, "/sources", fresh_access).await;
    assert_eq!(after[0]["id"], CLINIC);
    assert_eq!(after[0]["connectedSince"], sources[0]["connectedSince"]);
    assert_eq!(after[0]["syncStatus"]["status"], "pending");
    // The public token still reopens Connect 1.x for the user.
    let edit = format!(
        "legacy/?clientId={}&clientUserId=returning&publicToken={public_token}",
        second.client_id()
    );
    assert_eq!(
        page_data(&connect_page(&second, &edit).await)["status"],
        "SUCCESS"
    );
    // A returning user still gets no session token.
    let refused = token_request(&second, credentials(&second, "returning", "session")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The demo token is seeded anew, not saved.
    assert_eq!(
        data_get(&second, "/profile", "demo").await.status(),
        StatusCode::OK
    );
    second.shutdown().await;
    assert!(!std::fs::read_to_string(&state_file)
        .unwrap()
        .contains("\"demo\""));
    std::fs::remove_file(&state_file).unwrap();
}

#[tokio::test]
async fn a_state_file_of_another_seed_is_ignored() {
    let state_file = common::fresh_state_file("hapi-other-seed");
    let config = HumanApiConfig {
        state_file: Some(state_file.clone()),
        ..HumanApiConfig::default()
    };
    let first = start(config.clone()).await;
    let access = connected_user(&first, "someone", &[FITBIT]).await;
    first.shutdown().await;

    let other = start(HumanApiConfig { seed: 2, ..config }).await;
    assert_eq!(other.human_id("someone"), None);
    assert_eq!(
        data_get(&other, "/profile", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    other.shutdown().await;
    std::fs::remove_file(&state_file).unwrap();
}
