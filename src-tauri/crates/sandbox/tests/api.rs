//! The direct-sharing API and downloads against docs/providers/open-humans.md ("API
//! authentication" to "Project information").

mod common;

use std::time::Duration;

use common::*;
use datalinks_sandbox::SandboxConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn exchange_member_pages_through_all_files() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let member = sandbox.seeded_member();
    let client = plain_client();

    let mut first_url = exchange_member_url(&sandbox);
    first_url
        .query_pairs_mut()
        .append_pair("access_token", &tokens.access_token);
    let response = client.get(first_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], NEVER_CACHE);
    assert_eq!(response.headers()["allow"], "GET, HEAD, OPTIONS");
    let raw = response.text().await.unwrap();
    let keys = [
        "\"count\"",
        "\"next\"",
        "\"previous\"",
        "\"created\"",
        "\"project_member_id\"",
        "\"sources_shared\"",
        "\"username\"",
        "\"data\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|key| raw.find(key).unwrap()).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "key order: {positions:?}"
    );

    let page: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(page["count"], 130);
    assert_eq!(page["data"].as_array().unwrap().len(), 100);
    assert_eq!(page["previous"], Value::Null);
    assert_eq!(page["project_member_id"], member.project_member_id.as_str());
    assert_eq!(page["username"], "alice");
    assert_eq!(page["sources_shared"], json!(member.sources_shared));
    assert!(page["created"].as_str().unwrap().ends_with('Z'));
    let base = sandbox
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let expected_next = format!(
        "{base}/api/direct-sharing/project/exchange-member/?access_token={}&limit=100&offset=100",
        tokens.access_token
    );
    assert_eq!(page["next"], expected_next.as_str());

    let second: Value = client
        .get(page["next"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["data"].as_array().unwrap().len(), 30);
    assert_eq!(second["next"], Value::Null);
    assert_eq!(
        second["previous"],
        format!(
            "{base}/api/direct-sharing/project/exchange-member/?access_token={}&limit=100",
            tokens.access_token
        )
        .as_str()
    );

    let files: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .collect();
    let order: Vec<(String, u64)> = files
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().to_string(),
                f["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "ordered by source, id");
    assert_eq!(
        order
            .iter()
            .map(|(_, id)| id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        130
    );

    let file = files[0];
    let field_names: Vec<&str> = file
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected_fields = vec![
        "id",
        "basename",
        "created",
        "datatypes",
        "download_url",
        "metadata",
        "source",
        "source_project",
    ];
    expected_fields.sort();
    assert_eq!(field_names, expected_fields);
    let id = file["id"].as_u64().unwrap();
    let download = file["download_url"].as_str().unwrap();
    let prefix = format!("{base}/data-management/datafile-download/{id}/?key=");
    assert!(download.starts_with(&prefix), "{download}");
    let key = &download[prefix.len()..];
    assert_eq!(key.len(), 36);
    assert_eq!(key.as_bytes()[14], b'4', "a UUID4 key");
    assert!(member
        .sources_shared
        .contains(&file["source"].as_str().unwrap().to_string()));
    assert!(file["metadata"]["description"].is_string());
    assert!(file["metadata"]["tags"].is_array());
    assert!(file["source_project"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{base}/api/public/project/")));
    assert!(file["datatypes"][0]
        .as_str()
        .unwrap()
        .starts_with(&format!("{base}/api/public/datatype/")));

    // A fresh key on every serialization.
    let again = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    assert_eq!(again["data"][0]["id"], file["id"]);
    assert_ne!(again["data"][0]["download_url"], file["download_url"]);
    assert_eq!(sandbox.stats().api_calls, 3);
}

#[tokio::test]
async fn limit_and_offset() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let page_with_query = |query: &str| {
        let mut url = exchange_member_url(&sandbox);
        url.set_query(Some(query));
        get_json_with_token(url, &tokens.access_token)
    };
    let page = page_with_query("offset=120&limit=50").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 10);
    assert_eq!(page["next"], Value::Null);
    let previous = page["previous"].as_str().unwrap();
    assert!(
        previous.ends_with("/exchange-member/?limit=50&offset=70"),
        "{previous}"
    );
    assert!(
        !previous.contains("access_token"),
        "the token was in a header, not the query"
    );

    // Invalid values fall back to the defaults; there is no maximum.
    let page = page_with_query("limit=0&offset=-3").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 100);
    let page = page_with_query("limit=1000").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 130);
    assert_eq!(page["next"], Value::Null);
}

#[tokio::test]
async fn authentication_errors() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let client = plain_client();
    let url = exchange_member_url(&sandbox);

    let anonymous = client.get(url.clone()).send().await.unwrap();
    assert_eq!(anonymous.headers()["www-authenticate"], REALM_ONLY);
    assert_eq!(anonymous.headers()["allow"], "GET, HEAD, OPTIONS");
    let body = unauthorized(anonymous).await;
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    // An unknown (or rotated-out) token: DOT looked it up, so its challenge names the error.
    let unknown = get_with_token(url.clone(), "nonsense").await;
    assert_eq!(unknown.headers()["www-authenticate"], INVALID_TOKEN);
    assert_eq!(unknown.headers()["allow"], "GET, HEAD, OPTIONS");
    let body = unauthorized(unknown).await;
    assert_eq!(body, json!({"detail": "Invalid token."}));

    // The query parameter wins over the header.
    let mut with_query = url.clone();
    with_query
        .query_pairs_mut()
        .append_pair("access_token", "nonsense");
    let body = unauthorized(get_with_token(with_query, &tokens.access_token).await).await;
    assert_eq!(body, json!({"detail": "Invalid token."}));
    let mut with_query = url.clone();
    with_query
        .query_pairs_mut()
        .append_pair("access_token", &tokens.access_token);
    let response = get_with_token(with_query, "nonsense").await;
    assert_eq!(response.status(), StatusCode::OK);

    sandbox.expire_access_tokens();
    let body = unauthorized(get_with_token(url.clone(), &tokens.access_token).await).await;
    assert_eq!(body, json!({"detail": "Expired token."}));
    let stats = sandbox.stats();
    assert_eq!((stats.api_calls, stats.api_auth_failures), (5, 4));

    // A refresh still works after the forced expiry.
    let response = refresh_request(&sandbox, &tokens.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn methods_other_than_get_are_refused_after_authentication() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let client = plain_client();
    let anonymous = client
        .post(exchange_member_url(&sandbox))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let response = client
        .post(exchange_member_url(&sandbox))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "Method \"POST\" not allowed."})
    );
}

#[tokio::test]
async fn project_info_and_master_token() {
    let sandbox = start_default().await;
    let client = plain_client();
    let tokens = connect(&sandbox).await;
    let project = get_json_with_token(project_url(&sandbox), &tokens.access_token).await;
    assert_eq!(project["type"], "oauth2");
    assert_eq!(
        project["id_label"],
        format!("direct-sharing-{}", project["id"]).as_str()
    );
    assert_eq!(project["request_username_access"], true);
    assert_eq!(
        project["authorized_members"], 1,
        "alice joined on the consent page"
    );
    let member = sandbox.seeded_member();
    let requested: Vec<String> = member
        .sources_shared
        .iter()
        .map(|label| label.replace("direct-sharing-", "/api/public/project/") + "/")
        .collect();
    assert_eq!(project["requested_sources"], json!(requested));

    let master = sandbox.master_access_token().to_string();
    assert_eq!(master.len(), 64);
    let mut url = exchange_member_url(&sandbox);
    url.query_pairs_mut()
        .append_pair("access_token", &master)
        .append_pair("project_member_id", &member.project_member_id);
    let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 130);
    let mut url = exchange_member_url(&sandbox);
    url.query_pairs_mut()
        .append_pair("access_token", &master)
        .append_pair("project_member_id", "00000000x");
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"project_member_id": "project_member_id is invalid"})
    );
}

#[tokio::test]
async fn downloads_take_two_hops() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let client = plain_client();
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    let download_url = page["data"][3]["download_url"]
        .as_str()
        .unwrap()
        .to_string();

    let hop = client.get(&download_url).send().await.unwrap();
    let storage_url = found_location(&hop);
    let key = &download_url[download_url.find("key=").unwrap() + 4..];
    assert!(storage_url.contains(&format!("&x-oh-key={key}")));
    assert!(storage_url.contains(&format!(
        "/member-files/{}/",
        page["data"][3]["source"].as_str().unwrap()
    )));
    assert!(storage_url.contains(&format!(
        "/{}?",
        page["data"][3]["basename"].as_str().unwrap()
    )));
    let object = client.get(&storage_url).send().await.unwrap();
    assert_eq!(object.status(), StatusCode::OK);
    let length: usize = object.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = object.bytes().await.unwrap();
    assert!(length > 0 && bytes.len() == length);
    // The key may be reused within its hour.
    assert_eq!(
        client.get(&download_url).send().await.unwrap().status(),
        StatusCode::FOUND
    );

    let forged = download_url.replace(key, "00000000-0000-4000-8000-000000000000");
    let refused = client.get(&forged).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("<h1>You are not authorized to view this file.</h1>"));
    let missing = client
        .get(
            sandbox
                .base_url()
                .join("/data-management/datafile-download/1/?key=x")
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing
        .text()
        .await
        .unwrap()
        .contains("<h1>This file is unavailable.</h1>"));
    assert_eq!(sandbox.stats().downloads, 2);
}

#[tokio::test]
async fn expired_links_are_refused() {
    let sandbox = start(SandboxConfig {
        download_key_lifetime: Duration::ZERO,
        storage_url_lifetime: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    let tokens = connect(&sandbox).await;
    let client = plain_client();
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    let response = client
        .get(page["data"][0]["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_endpoints_for_out_of_process_tests() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let client = plain_client();
    let admin = |path: &str| sandbox.base_url().join(path).unwrap();
    let key = sandbox.admin_key().to_owned();
    let admin_post = |path: &str| {
        client
            .post(admin(path))
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, &key)
            .send()
    };
    let without_key = client.get(admin("/_sandbox/stats")).send().await.unwrap();
    assert_eq!(without_key.status(), StatusCode::UNAUTHORIZED);
    let stats = json(
        client
            .get(admin("/_sandbox/stats"))
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["token_requests_authorization_code"], 1);

    let expired = json(admin_post("/_sandbox/expire-tokens").await.unwrap()).await;
    assert_eq!(expired, json!({"expired": 1}));
    let body =
        unauthorized(get_with_token(exchange_member_url(&sandbox), &tokens.access_token).await)
            .await;
    assert_eq!(body, json!({"detail": "Expired token."}));

    let response = admin_post("/_sandbox/fail-token-requests?count=1")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        refresh_request(&sandbox, &tokens.refresh_token)
            .await
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    let response = admin_post("/_sandbox/deauthorize?username=alice")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = refresh_request(&sandbox, &tokens.refresh_token).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "deauthorization deletes refresh tokens"
    );
}

#[tokio::test]
async fn a_page_that_rebinds_its_name_to_the_sandbox_is_refused() {
    let sandbox = start_default().await;
    let key = sandbox.admin_key().to_owned();
    // DNS rebinding: the browser connects to 127.0.0.1 but names the attacker's host.
    let rebound = plain_client()
        .get(sandbox.base_url().join("/_sandbox/master-token").unwrap())
        .header("host", "attacker.example")
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, &key)
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);
    let authorize = plain_client()
        .get(sandbox.authorize_url())
        .header("host", "attacker.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(
        authorize.status(),
        StatusCode::MISDIRECTED_REQUEST,
        "every endpoint"
    );
    let named = plain_client()
        .get(sandbox.base_url().join("/_sandbox/master-token").unwrap())
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, &key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        named.status(),
        StatusCode::OK,
        "its own address and the key"
    );
}

#[tokio::test]
async fn member_and_file_counts_are_configurable() {
    let sandbox = start(SandboxConfig {
        member_count: 10_000,
        files_per_member: 3,
        seed: 7,
        ..SandboxConfig::default()
    })
    .await;
    let tokens = connect(&sandbox).await;
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    assert_eq!(page["count"], 3);
    let project = get_json_with_token(project_url(&sandbox), &tokens.access_token).await;
    assert_eq!(project["authorized_members"], 10_000);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sandbox = datalinks_sandbox::start(SandboxConfig::default(), "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let base = sandbox.base_url();
    assert_eq!(
        base.host_str(),
        Some("127.0.0.1"),
        "an unspecified bind address is reached via loopback"
    );
    let client = plain_client();
    assert_eq!(
        client.get(base.clone()).send().await.unwrap().status(),
        StatusCode::OK
    );
    sandbox.shutdown().await;
    assert!(plain_client().get(base).send().await.is_err());
}
