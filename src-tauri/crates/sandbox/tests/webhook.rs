//! The deauthorization webhook as Open Humans sends it (docs/providers/open-humans.md, "Members
//! who leave"): exact body bytes, the signature header, the one unsigned double-encoded retry
//! after a failure, and no notification for a departure without an erasure request.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use datalinks_sandbox::{RunningSandbox, REMOVE_MEMBERS_PATH};
use serde_json::{json, Value};

const SECRET: &str = "abcdefghijklmnop";

/// What a receiver got: the signature header and the body, per request.
type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A receiver on 127.0.0.1 that answers `status` to every POST.
async fn receiver(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let signature = headers
                    .get("x-openhumans-webhooks-signature")
                    .map(|value| value.to_str().unwrap().to_owned());
                log.lock()
                    .unwrap()
                    .push((signature, String::from_utf8(body.to_vec()).unwrap()));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), received)
}

async fn admin(sandbox: &RunningSandbox, path: &str, body: Option<Value>) -> reqwest::Response {
    let url = sandbox.base_url().join(path).unwrap();
    let request = match body {
        Some(body) => plain_client().post(url).json(&body),
        None => plain_client().post(url),
    };
    request
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
        .send()
        .await
        .unwrap()
}

fn hmac_sha1_hex(body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha1={hex}")
}

#[tokio::test]
async fn a_member_who_leaves_asking_for_erasure_is_notified_signed() {
    let sandbox = start_default().await;
    let (url, received) = receiver(StatusCode::OK).await;
    let set = admin(
        &sandbox,
        "/_sandbox/webhook",
        Some(json!({"url": url, "secret": SECRET})),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let left = admin(
        &sandbox,
        "/_sandbox/deauthorize?username=alice&erasure_requested=true",
        None,
    )
    .await;
    assert_eq!(left.status(), StatusCode::OK);

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one delivery, answered 200: no retry");
    let (signature, body) = &received[0];
    let alice = sandbox.project_member_id("alice").unwrap();
    let prefix = format!(
        "{{\"project_member_id\": \"{alice}\", \"erasure_requested\": true, \"timestamp\": \""
    );
    assert!(body.starts_with(&prefix), "{body}");
    assert!(body.ends_with("+00:00\"}"), "{body}");
    assert_eq!(signature.as_deref(), Some(hmac_sha1_hex(body).as_str()));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_once_unsigned_and_double_encoded() {
    let sandbox = start_default().await;
    let (url, received) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    admin(
        &sandbox,
        "/_sandbox/webhook",
        Some(json!({"url": url, "secret": SECRET})),
    )
    .await;
    admin(
        &sandbox,
        "/_sandbox/deauthorize?username=alice&erasure_requested=true",
        None,
    )
    .await;
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let (first_signature, first) = &received[0];
    let (retry_signature, retry) = &received[1];
    assert!(first_signature.is_some());
    assert_eq!(retry_signature, &None, "the retry is unsigned");
    let decoded: String = serde_json::from_str(retry).unwrap();
    assert_eq!(
        &decoded, first,
        "the retry is the first body as a JSON string"
    );
}

#[tokio::test]
async fn no_notification_without_an_erasure_request_unless_asked() {
    let sandbox = start(datalinks_sandbox::SandboxConfig {
        member_count: 3,
        ..Default::default()
    })
    .await;
    let (url, received) = receiver(StatusCode::OK).await;
    admin(&sandbox, "/_sandbox/webhook", Some(json!({"url": url}))).await;
    admin(&sandbox, "/_sandbox/deauthorize?username=alice", None).await;
    assert!(
        received.lock().unwrap().is_empty(),
        "today's Open Humans sends nothing"
    );

    // As before Open Humans' `arrow` upgrade: the project's removal of a member is notified,
    // unsigned when the project has no secret.
    admin(
        &sandbox,
        "/_sandbox/webhook",
        Some(json!({"url": url, "send_without_erasure": true})),
    )
    .await;
    let master = sandbox.master_access_token();
    let bob = sandbox.project_member_id("member00002").unwrap();
    let removed = plain_client()
        .post(with_token(api_url(&sandbox, REMOVE_MEMBERS_PATH), &master))
        .json(&json!({"project_member_ids": [bob]}))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, None);
    let body: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(body["project_member_id"], json!(bob));
    assert_eq!(body["erasure_requested"], json!(false));
}

#[tokio::test]
async fn settings_are_checked_as_open_humans_checks_them() {
    let sandbox = start_default().await;
    for bad in [
        json!({"url": "ftp://example.org/hook"}),
        json!({"url": "http://127.0.0.1/hook", "secret": "short"}),
    ] {
        let response = admin(&sandbox, "/_sandbox/webhook", Some(bad)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn the_members_connections_page_leaves_the_project_as_the_website_does() {
    let sandbox = start_default().await;
    let (url, received) = receiver(StatusCode::OK).await;
    admin(
        &sandbox,
        "/_sandbox/webhook",
        Some(json!({"url": url, "secret": SECRET})),
    )
    .await;
    connect(&sandbox).await;
    let browser = logged_in_browser(&sandbox).await;
    let page_url = sandbox.base_url().join("/member/me/connections/").unwrap();
    let page = page_text(&browser, page_url.clone()).await;
    assert!(page.contains("leave-form"), "{page}");
    let leave = sandbox
        .base_url()
        .join("/member/me/connections/leave/")
        .unwrap();

    // A page on another origin cannot make the member leave.
    let forged = browser
        .post(leave.clone())
        .header("Origin", "http://attacker.example")
        .form(&[("erasure_requested", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(sandbox.membership("alice").unwrap().authorized);

    let left = browser
        .post(leave)
        .form(&[("erasure_requested", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::FOUND);
    assert!(!sandbox.membership("alice").unwrap().authorized);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert!(received[0].1.contains("\"erasure_requested\": true"));
    let page = page_text(&browser, page_url).await;
    assert!(page.contains("not a member of any project"), "{page}");
}
