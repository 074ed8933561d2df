//! The audit log against the sandboxes: every request each provider client sends is in the log
//! exactly once (the sandbox's own list of what Datalinks sent is the reference), each under
//! the action and the connection it was for, and neither the log nor the database file holds
//! any secret the app ever had.

mod support;

use datalinks_core::{Provider, SignInTarget, Transport};
use datalinks_service::{AuditEntry, AuditFilter, DeleteTargetInput, UploadInput};
use std::collections::BTreeMap;
use support::hapi::{configured, connect_sources};
use support::{sandbox_config, Harness};

async fn everything(harness: &Harness) -> Vec<AuditEntry> {
    harness
        .service
        .audit_log(AuditFilter::default(), usize::MAX)
        .await
        .unwrap()
}

/// How often each `METHOD /path` occurs.
fn tally(lines: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line).or_insert(0) += 1;
    }
    counts
}

/// The log holds one entry per request the sandbox saw from Datalinks, no more, no fewer,
/// and nothing was sent outside an audit scope.
fn assert_each_request_logged_once(entries: &[AuditEntry], sent: Vec<String>) {
    let logged = entries.iter().map(|entry| {
        let path = entry.path.split('?').next().unwrap_or_default();
        format!("{} {path}", entry.method)
    });
    assert_eq!(tally(logged), tally(sent));
    assert_eq!(datalinks_http::audit::unscoped_requests(), 0);
}

/// Every token, code and client secret the test knows of: each one the keyring ever held (token
/// sets are JSON: each of their strings), and those the caller adds.
fn known_secrets(harness: &Harness, more: &[String]) -> Vec<String> {
    let mut secrets: Vec<String> = more.to_vec();
    for value in harness.secrets.every_value_written() {
        match serde_json::from_str::<serde_json::Value>(&value) {
            Ok(serde_json::Value::Object(fields)) => secrets.extend(
                fields
                    .values()
                    .filter_map(|v| v.as_str())
                    .map(str::to_owned),
            ),
            _ => secrets.push(value),
        }
    }
    secrets.retain(|s| s.len() >= 12);
    assert!(!secrets.is_empty(), "the test knows of secrets to look for");
    secrets
}

/// No known secret is in any entry, nor anywhere in the database file.
fn assert_no_secret(harness: &Harness, entries: &[AuditEntry], secrets: &[String]) {
    let shown = serde_json::to_string(entries).unwrap();
    let mut database =
        std::fs::read(harness.data_dir.join(datalinks_service::DATABASE_FILE)).unwrap();
    for suffix in ["-wal", "-journal"] {
        let side = harness
            .data_dir
            .join(format!("{}{suffix}", datalinks_service::DATABASE_FILE));
        database.extend(std::fs::read(side).unwrap_or_default());
    }
    let database = String::from_utf8_lossy(&database);
    for secret in secrets {
        assert!(!shown.contains(secret.as_str()), "a secret is in the log");
        assert!(
            !database.contains(secret.as_str()),
            "a secret is in the database file"
        );
    }
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    let mut actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    actions.dedup();
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_humans_member_requests_are_each_logged_once_for_their_connection() {
    let harness = Harness::connected(Transport::Loopback).await;
    let connection = harness.conn(Provider::OpenHumans);
    let service = &harness.service;

    harness.sandbox().expire_access_tokens();
    let overview = service.member_overview(connection).await.unwrap();
    let first_file = overview.groups[0].files[0].id;
    let folder = tempfile::tempdir().unwrap();
    service
        .download_files(
            connection,
            vec![first_file],
            folder.path(),
            harness.download_report(),
        )
        .await
        .unwrap();
    let upload = folder.path().join("steps.csv");
    std::fs::write(&upload, "day,steps\n1,9000\n").unwrap();
    let input = UploadInput {
        description: "Steps".into(),
        tags: vec!["steps".into()],
        creation_date: None,
        datatypes: Vec::new(),
    };
    let uploaded = service
        .upload_file(connection, &upload, input, harness.upload_report())
        .await
        .unwrap();
    service
        .delete_files(
            connection,
            DeleteTargetInput::FileId {
                file_id: uploaded.id,
            },
        )
        .await
        .unwrap();
    service.disconnect(connection).await.unwrap();

    let entries = everything(&harness).await;
    assert_each_request_logged_once(&entries, harness.sandbox().app_requests());
    assert_eq!(
        actions(&entries),
        [
            "connect",
            "delete files",
            "disconnect",
            "download",
            "member view",
            "refresh",
            "upload"
        ]
    );
    // The sign-in's requests were made before the connection existed, and are its own now.
    assert!(entries.iter().all(|e| e.connection_id == Some(connection)));
    assert!(entries
        .iter()
        .all(|e| e.subject.starts_with("alice · Open Humans at ")));
    let token = entries
        .iter()
        .find(|e| e.action == "connect" && e.method == "POST")
        .expect("the code exchange is logged");
    assert_eq!(token.status, Some(200));
    assert!(token.bytes_sent.unwrap() > 0 && token.bytes_received.unwrap() > 0);
    // The download's URL carried a key in its query, and the log keeps none of it.
    assert!(entries.iter().all(|e| !e.path.contains("key=")));

    let failures = service
        .audit_log(
            AuditFilter {
                errors_only: true,
                ..AuditFilter::default()
            },
            usize::MAX,
        )
        .await
        .unwrap();
    assert!(failures.iter().all(AuditEntry::failed));
    assert!(
        !failures.is_empty(),
        "the expired token was refused once before the refresh"
    );
    let refreshes = service
        .audit_log(
            AuditFilter {
                action: Some("refresh".into()),
                connection: Some(connection),
                ..AuditFilter::default()
            },
            usize::MAX,
        )
        .await
        .unwrap();
    assert_eq!(refreshes.len(), 1);

    let secrets = known_secrets(&harness, &[harness.sandbox().client_secret().to_owned()]);
    assert_no_secret(&harness, &entries, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_collective_requests_are_logged_once_without_the_client_secret() {
    let harness = Harness::open_collective(Default::default()).await;
    let secret = harness.oc().client_secret().to_owned();
    let connection = harness
        .connect_oc(harness.oc_settings(Some(&secret)))
        .await
        .id;
    harness.service.oc_overview(connection).await.unwrap();

    let entries = everything(&harness).await;
    assert_each_request_logged_once(&entries, harness.oc().app_requests());
    assert_eq!(actions(&entries), ["account view", "connect"]);
    assert!(entries.iter().all(|e| e.connection_id == Some(connection)));
    let secrets = known_secrets(&harness, &[secret]);
    assert_no_secret(&harness, &entries, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_api_requests_are_logged_once_without_the_client_secret() {
    let harness = configured(false).await;
    connect_sources(&harness, &[0]).await;
    let connection = harness.conn(Provider::HumanApi);
    harness.service.hapi_sources(connection).await.unwrap();
    harness.service.hapi_profile(connection).await.unwrap();

    let entries = everything(&harness).await;
    assert_each_request_logged_once(&entries, harness.hapi().app_requests());
    assert_eq!(actions(&entries), ["connect", "health data view"]);
    let secrets = known_secrets(&harness, &[harness.hapi().client_secret().to_owned()]);
    assert_no_secret(&harness, &entries, &secrets);

    // Another Connect window for the same person: its requests are the connection's.
    harness
        .service
        .hapi_start_connect(SignInTarget::Reconnect { connection })
        .await
        .unwrap();
    let entries = everything(&harness).await;
    assert_eq!(entries[0].action, "connect");
    assert_eq!(entries[0].connection_id, Some(connection));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_console_s_requests_are_logged_for_the_project() {
    let harness = Harness::with_open_project(sandbox_config()).await;
    harness
        .service
        .project_members(true, harness.listing_report())
        .await
        .unwrap();

    let entries = everything(&harness).await;
    assert_each_request_logged_once(&entries, harness.sandbox().app_requests());
    assert_eq!(actions(&entries), ["member listing", "project view"]);
    assert!(entries
        .iter()
        .all(|e| e.connection_id.is_none()
            && e.subject.starts_with("project console · Open Humans at ")));
    let master_token = harness.sandbox().master_access_token();
    // The master token travels in the query (`?access_token=`), which the log drops.
    assert_no_secret(&harness, &entries, &[master_token]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_exports_as_csv_one_row_per_request() {
    let harness = Harness::connected(Transport::Loopback).await;
    let connection = harness.conn(Provider::OpenHumans);
    harness.service.member_overview(connection).await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let csv = folder.path().join("audit.csv");
    let written = harness
        .service
        .export_audit_csv(AuditFilter::default(), &csv)
        .await
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), written + 1);
    assert!(lines[0].starts_with("time_utc,provider,connection,"));
    assert!(lines[1].contains(",member view,GET,"));
    assert!(!folder.path().join("audit.csv.part").exists());
}
