//! Members who leave: the webhook receiver against every kind of delivery, the inbox across a
//! restart, departures noticed from two listings, and the researcher's actions, on the
//! in-process sandbox.

mod support;

use datalinks_core::ErrorCode;
use datalinks_sandbox::SandboxConfig;
use datalinks_service::{DepartureSource, ReceiverSettings};
use serde_json::json;
use support::{sandbox_config, Harness};

const SECRET: &str = "abcdefghijklmnop";
const BODY: &str = r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00.000000+00:00"}"#;
const SIGNATURE: &str = "sha1=ebda5c0a38593a4350ad8401b7d8c8f1cd08ec67";

/// A project of 3 joined members, open in the console, with its webhook secret saved and the
/// receiver listening on a free port of 127.0.0.1.
async fn listening_project() -> (Harness, String) {
    let harness = Harness::with_open_project(SandboxConfig {
        member_count: 4,
        files_per_member: 1,
        ..sandbox_config()
    })
    .await;
    harness.service.set_webhook_secret(SECRET).await.unwrap();
    let receiver = harness
        .service
        .start_webhook_receiver(ReceiverSettings {
            address: "127.0.0.1".into(),
            port: free_port(),
        })
        .await
        .unwrap();
    let url = receiver.listening_at.expect("the receiver runs");
    (harness, url)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post(url: &str, body: impl Into<reqwest::Body>, signature: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-OpenHumans-Webhooks-Signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn only_signed_well_formed_deliveries_reach_the_inbox_once() {
    let (harness, url) = listening_project().await;
    let service = &harness.service;
    let double_encoded = serde_json::to_string(BODY).unwrap();
    let wrong = "sha1=0000000000000000000000000000000000000000";
    let signed = |body: &str| {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha1={hex}")
    };
    let not_json = "project_member_id=12345678";
    let oversized = format!("{{\"pad\": \"{}\"}}", "x".repeat(10_000));

    assert_eq!(post(&url, BODY, None).await, 401, "unsigned");
    assert_eq!(post(&url, BODY, Some(wrong)).await, 401, "wrongly signed");
    assert_eq!(post(&url, BODY, Some("sha1=nothex")).await, 401);
    assert_eq!(
        post(&url, double_encoded.clone(), None).await,
        401,
        "Open Humans' retry is unsigned"
    );
    assert_eq!(
        post(&url, double_encoded.clone(), Some(&signed(&double_encoded))).await,
        400,
        "double-encoded, even when signed"
    );
    assert_eq!(post(&url, not_json, Some(&signed(not_json))).await, 400);
    assert_eq!(
        post(&url, oversized.clone(), Some(&signed(&oversized))).await,
        413
    );
    let get = reqwest::get(&url).await.unwrap().status().as_u16();
    assert_eq!(get, 405);
    assert!(service.departures().await.unwrap().entries.is_empty());

    assert_eq!(post(&url, BODY, Some(SIGNATURE)).await, 200);
    assert_eq!(
        post(&url, BODY, Some(SIGNATURE)).await,
        200,
        "a repeat is fine"
    );
    let inbox = service.departures().await.unwrap();
    assert_eq!(
        inbox.entries.len(),
        1,
        "the same delivery twice is one entry"
    );
    let entry = &inbox.entries[0];
    assert_eq!(entry.project_member_id, "12345678");
    assert!(entry.erasure_requested);
    assert_eq!(entry.source, DepartureSource::Webhook);
    assert_eq!(
        entry.occurred_at.as_deref(),
        Some("2020-06-30T20:00:00.000000+00:00")
    );
}

#[tokio::test]
async fn the_header_name_is_matched_in_any_case() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (harness, url) = listening_project().await;
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /hook HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         X-OPENHUMANS-WEBHOOKS-SIGNATURE: {SIGNATURE}\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(harness.service.departures().await.unwrap().entries.len(), 1);
}

#[tokio::test]
async fn a_saved_delivery_outlives_the_app_and_the_receiver_comes_back_on() {
    let (harness, url) = listening_project().await;
    assert_eq!(post(&url, BODY, Some(SIGNATURE)).await, 200);
    harness.service.close_project(false).await.unwrap();
    // The port is free once the project closes.
    assert!(reqwest::get(&url).await.is_err());

    let restarted = harness.restarted();
    restarted
        .open_project(harness.sandbox().master_access_token(), false)
        .await
        .unwrap();
    let inbox = restarted.departures().await.unwrap();
    assert_eq!(inbox.entries.len(), 1);
    assert_eq!(
        inbox.receiver.listening_at.as_deref(),
        Some(url.as_str()),
        "a receiver that was on starts again with its project"
    );
    restarted.stop_webhook_receiver().await.unwrap();
    assert!(reqwest::get(&url).await.is_err());
}

#[tokio::test]
async fn the_receiver_needs_a_valid_secret_and_address() {
    let harness = Harness::with_open_project(sandbox_config()).await;
    let service = &harness.service;
    let settings = ReceiverSettings {
        address: "127.0.0.1".into(),
        port: free_port(),
    };
    let error = service
        .start_webhook_receiver(settings.clone())
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::NotConfigured, "no secret yet");
    for bad in ["short", "sixteen chars ok?", &"x".repeat(65)] {
        let error = service.set_webhook_secret(bad).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput, "{bad}");
    }
    service.set_webhook_secret(SECRET).await.unwrap();
    for (address, port) in [("localhost", 8765), ("127.0.0.1", 0), ("", 8765)] {
        let error = service
            .start_webhook_receiver(ReceiverSettings {
                address: address.into(),
                port,
            })
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput, "{address}:{port}");
    }
    // A port another program holds.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let error = service
        .start_webhook_receiver(ReceiverSettings {
            address: "127.0.0.1".into(),
            port: held.local_addr().unwrap().port(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidInput);
    assert!(error.message.contains("another port"), "{}", error.message);
}

#[tokio::test]
async fn the_verifier_says_why_a_delivery_does_not_verify() {
    let (harness, _) = listening_project().await;
    let service = &harness.service;
    let good = service
        .check_webhook_delivery(BODY, SIGNATURE)
        .await
        .unwrap();
    assert!(good.verified, "{}", good.message);
    assert!(good.message.contains("12345678"));
    let reformatted = BODY.replace(", ", ",");
    let bad = service
        .check_webhook_delivery(&reformatted, SIGNATURE)
        .await
        .unwrap();
    assert!(!bad.verified);
    assert!(
        bad.message.contains("exactly as it arrived"),
        "{}",
        bad.message
    );
    let unsigned = service.check_webhook_delivery(BODY, "  ").await.unwrap();
    assert!(!unsigned.verified);
    assert!(
        unsigned.message.contains("unsigned"),
        "{}",
        unsigned.message
    );
}

#[tokio::test]
async fn a_departure_without_a_webhook_is_noticed_between_two_listings() {
    let (harness, _) = listening_project().await;
    let service = &harness.service;
    service
        .project_members(true, harness.listing_report())
        .await
        .unwrap();
    // The member leaves without asking for erasure: today's Open Humans sends no webhook.
    assert!(harness.sandbox().deauthorize("member00002"));
    let departed = harness.sandbox().project_member_id("member00002").unwrap();
    service
        .project_members(true, harness.listing_report())
        .await
        .unwrap();
    let inbox = service.departures().await.unwrap();
    assert_eq!(inbox.entries.len(), 1);
    assert_eq!(inbox.entries[0].project_member_id, departed);
    assert_eq!(inbox.entries[0].source, DepartureSource::Detected);
    assert!(!inbox.entries[0].erasure_requested);
}

#[tokio::test]
async fn a_member_who_asks_for_erasure_is_in_the_inbox_and_their_copies_can_go() {
    let (harness, url) = listening_project().await;
    let service = &harness.service;
    let sandbox = harness.sandbox();
    let member = sandbox.project_member_id("member00002").unwrap();
    // The researcher's local copies, as a project download leaves them.
    let folder = std::path::PathBuf::from(
        service
            .current_project()
            .await
            .unwrap()
            .unwrap()
            .download_folder,
    )
    .join(&member);
    std::fs::create_dir_all(folder.join("direct-sharing-128")).unwrap();
    std::fs::write(folder.join("direct-sharing-128/steps.csv"), b"1,2,3").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep.txt"), b"keep").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), folder.join("link")).unwrap();

    let client = reqwest::Client::new();
    let admin = |path: &str| {
        client
            .post(sandbox.base_url().join(path).unwrap())
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
    };
    let set = admin("/_sandbox/webhook")
        .json(&json!({"url": url, "secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    let left = admin("/_sandbox/deauthorize?username=member00002&erasure_requested=true")
        .send()
        .await
        .unwrap();
    assert!(left.status().is_success());

    let inbox = service.departures().await.unwrap();
    assert_eq!(inbox.entries.len(), 1);
    let entry = &inbox.entries[0];
    assert_eq!(entry.project_member_id, member);
    assert!(entry.erasure_requested);
    assert_eq!(entry.source, DepartureSource::Webhook);

    let entry = service
        .delete_departed_member_local_copies(entry.id)
        .await
        .unwrap();
    let receipt = entry.local_copies_deleted.expect("a receipt");
    assert!(!folder.exists());
    assert_eq!(receipt.bytes, 5);
    assert!(receipt
        .items
        .contains(&"direct-sharing-128/steps.csv".to_string()));
    assert!(
        outside.path().join("keep.txt").exists(),
        "a link inside is removed as a link"
    );

    let entry = service
        .mark_departure_handled(entry.id, Some("Erased locally.".into()))
        .unwrap();
    assert!(entry.handled_at.is_some());
    assert_eq!(entry.note.as_deref(), Some("Erased locally."));
    // A listing afterwards does not add the same departure again.
    service
        .project_members(true, harness.listing_report())
        .await
        .unwrap();
    assert_eq!(service.departures().await.unwrap().entries.len(), 1);
}

#[tokio::test]
async fn project_files_of_a_member_who_left_are_out_of_the_projects_reach() {
    let (harness, url) = listening_project().await;
    let service = &harness.service;
    let sandbox = harness.sandbox();
    let member = sandbox.project_member_id("member00002").unwrap();
    let report = harness.upload_result(&member).await;
    assert_eq!(report.failures, 0, "{report:?}");

    let client = reqwest::Client::new();
    let admin = |path: &str| {
        client
            .post(sandbox.base_url().join(path).unwrap())
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
    };
    admin("/_sandbox/webhook")
        .json(&json!({"url": url, "secret": SECRET}))
        .send()
        .await
        .unwrap();
    admin("/_sandbox/deauthorize?username=member00002&erasure_requested=true")
        .send()
        .await
        .unwrap();
    let entry = service.departures().await.unwrap().entries[0].clone();
    // Open Humans refuses file operations on a member who has left, and says so in plain words.
    let error = service
        .delete_departed_member_files(entry.id)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::NotFound);
    assert!(
        error.message.contains("have left the project"),
        "{}",
        error.message
    );
    let entry = service.departures().await.unwrap().entries[0].clone();
    assert_eq!(
        entry.project_files_deleted, None,
        "no receipt for what did not happen"
    );
}

#[tokio::test]
async fn a_new_secret_takes_effect_at_once_on_the_same_port() {
    let (harness, url) = listening_project().await;
    let service = &harness.service;
    let view = service
        .set_webhook_secret("another-secret-of-24-chars")
        .await
        .unwrap();
    assert_eq!(view.listening_at.as_deref(), Some(url.as_str()));
    assert_eq!(
        post(&url, BODY, Some(SIGNATURE)).await,
        401,
        "signed with the old secret"
    );
    let stopped = service.stop_webhook_receiver().await.unwrap();
    assert_eq!(stopped.listening_at, None);
    // Off, the address is kept for next time.
    assert_eq!(
        stopped.settings.port.to_string(),
        url.rsplit(':').next().unwrap().trim_end_matches('/')
    );
    // Off stays off across a restart.
    service.close_project(false).await.unwrap();
    let restarted = harness.restarted();
    restarted
        .open_project(harness.sandbox().master_access_token(), false)
        .await
        .unwrap();
    assert_eq!(
        restarted.departures().await.unwrap().receiver.listening_at,
        None
    );
}
