//! The connected member uploads files of their own to the sandbox and deletes them: metadata
//! checked before any request, progress, a completion that fails or loses its answer, deletion
//! by id, name or all, and a token that expires mid-upload.

mod support;

use datalinks_core::{ErrorCode, Provider, Transport};
use datalinks_openhumans::{ApiClient, DataFile};
use datalinks_sandbox::{Faults, SandboxConfig};
use datalinks_service::{DeleteTargetInput, UploadInput, UploadedFile};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{sandbox_config, Harness};

/// Seeded files the member shares (from other sources; the project may not delete them).
const SEEDED_FILES: usize = 3;

fn small_world() -> SandboxConfig {
    SandboxConfig {
        files_per_member: SEEDED_FILES,
        ..sandbox_config()
    }
}

fn metadata(description: &str, tags: &[&str]) -> UploadInput {
    UploadInput {
        description: description.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        creation_date: None,
        datatypes: Vec::new(),
    }
}

/// Writes `<dir>/<name>` and uploads it with a description and one tag.
async fn upload(harness: &Harness, dir: &Path, name: &str, content: &[u8]) -> UploadedFile {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    harness
        .service
        .upload_file(
            harness.conn(Provider::OpenHumans),
            &path,
            metadata(&format!("About {name}"), &["test"]),
            harness.upload_report(),
        )
        .await
        .unwrap()
}

/// The member's files as Open Humans lists them now, metadata included.
async fn listed_files(harness: &Harness) -> Vec<DataFile> {
    let tokens = harness.stored_tokens(Provider::OpenHumans).unwrap();
    let api = ApiClient::new(reqwest::Client::new(), harness.sandbox().base_url());
    api.exchange_member(&tokens.access_token)
        .await
        .unwrap()
        .files
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn history_kinds(harness: &Harness) -> Vec<String> {
    let history = harness
        .service
        .history(harness.conn(Provider::OpenHumans))
        .await
        .unwrap();
    history.into_iter().map(|event| event.kind).collect()
}

#[tokio::test]
async fn an_upload_is_listed_with_its_metadata_and_md5_and_reports_progress() {
    let harness = Harness::connected_to(small_world(), Transport::Loopback).await;
    let dir = tempfile::tempdir().unwrap();
    // Several read chunks, so progress has steps.
    let content: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let path = dir.path().join("steps 2024.csv");
    std::fs::write(&path, &content).unwrap();
    let mut request = metadata("  Daily steps  ", &["steps", " ", "fitness "]);
    request.creation_date = Some("2024-03-01T10:00:00Z".into());

    let uploaded = harness
        .service
        .upload_file(
            harness.conn(Provider::OpenHumans),
            &path,
            request,
            harness.upload_report(),
        )
        .await
        .unwrap();

    assert_eq!(uploaded.basename, "steps 2024.csv");
    assert_eq!(uploaded.size, content.len() as u64);
    assert_eq!(uploaded.md5, md5_hex(&content));
    let listed = listed_files(&harness).await;
    let file = listed.iter().find(|f| f.id == uploaded.id).expect("listed");
    assert_eq!(file.description(), Some("Daily steps".to_owned()));
    assert_eq!(file.tags(), vec!["steps", "fitness"]);
    assert_eq!(file.md5(), Some(uploaded.md5.clone()));
    assert_eq!(
        file.metadata.parsed()["creation_date"],
        "2024-03-01T10:00:00Z"
    );

    let overview = harness
        .service
        .member_overview(harness.conn(Provider::OpenHumans))
        .await
        .unwrap();
    assert_eq!(overview.file_count as usize, SEEDED_FILES + 1);
    let own = overview
        .groups
        .iter()
        .find(|group| group.files.iter().any(|f| f.id == uploaded.id))
        .unwrap();
    assert!(
        !overview.sources_shared.contains(&own.source),
        "the UI tells the project's own files by a source not shared from elsewhere"
    );

    let progress = harness.host.upload_progress.lock().unwrap().clone();
    assert_eq!(progress.first().map(|p| p.bytes_sent), Some(0));
    let last = progress.last().unwrap();
    assert_eq!(
        (last.bytes_sent, last.total),
        (uploaded.size, uploaded.size)
    );
    assert!(progress.iter().all(|p| p.basename == "steps 2024.csv"));
    assert!(progress
        .windows(2)
        .all(|w| w[0].bytes_sent <= w[1].bytes_sent));
    assert_eq!(history_kinds(&harness).await[0], "file_uploaded");
}

#[tokio::test]
async fn metadata_is_refused_before_any_request() {
    let harness = Harness::connected_to(small_world(), Transport::Loopback).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "some notes").unwrap();
    let mut bad_date = metadata("Notes", &["notes"]);
    bad_date.creation_date = Some("March 1st".into());
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let cases = [
        (path.clone(), metadata("", &["notes"]), "description"),
        (path.clone(), metadata("   ", &["notes"]), "description"),
        (path.clone(), metadata("Notes", &[]), "tag"),
        (path.clone(), metadata("Notes", &[" ", ""]), "tag"),
        (path.clone(), bad_date, "ISO 8601"),
        (
            PathBuf::from("notes.txt"),
            metadata("Notes", &["notes"]),
            "full path",
        ),
        (
            dir.path().join("missing.txt"),
            metadata("Notes", &["n"]),
            "missing.txt",
        ),
        (
            dir.path().to_owned(),
            metadata("Notes", &["n"]),
            "not a file",
        ),
        (empty, metadata("Notes", &["n"]), "empty"),
    ];
    let before = harness.sandbox().stats().api_calls;
    for (file, request, expected) in cases {
        let shown = format!("{} {request:?}", file.display());
        let error = harness
            .service
            .upload_file(
                harness.conn(Provider::OpenHumans),
                &file,
                request,
                harness.upload_report(),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput, "{shown}");
        assert!(
            error.message.contains(expected),
            "{shown}: {}",
            error.message
        );
    }
    assert_eq!(
        harness.sandbox().stats().api_calls,
        before,
        "nothing was sent"
    );
    assert!(harness.host.upload_progress.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_completion_that_fails_is_not_reported_as_done() {
    let harness = Harness::connected_to(small_world(), Transport::Loopback).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.txt");
    std::fs::write(&path, "never completed").unwrap();

    // Open Humans fails before completing: the file stays hidden.
    harness.sandbox().set_faults(Faults {
        upload_incomplete_error_rate: 1.0,
        ..Faults::default()
    });
    let error = harness
        .service
        .upload_file(
            harness.conn(Provider::OpenHumans),
            &path,
            metadata("Half", &["t"]),
            harness.upload_report(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Unreachable);
    assert!(
        error.message.contains("was not completed"),
        "{}",
        error.message
    );
    harness.sandbox().set_faults(Faults::default());
    let listed = listed_files(&harness).await;
    assert!(listed.iter().all(|f| f.basename != "half.txt"));
    assert_eq!(history_kinds(&harness).await[0], "upload_failed");

    // Completed, but every answer is lost: the listing shows it, so it is done, once.
    harness.sandbox().set_faults(Faults {
        upload_complete_error_rate: 1.0,
        ..Faults::default()
    });
    let uploaded = upload(&harness, dir.path(), "done.txt", b"finished").await;
    harness.sandbox().set_faults(Faults::default());
    assert_eq!(uploaded.size, 8);
    let listed = listed_files(&harness).await;
    let done: Vec<_> = listed.iter().filter(|f| f.basename == "done.txt").collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, uploaded.id);
}

#[tokio::test]
async fn delete_by_id_by_basename_and_all() {
    let harness = Harness::connected_to(small_world(), Transport::Loopback).await;
    let dir = tempfile::tempdir().unwrap();
    let first_a = upload(&harness, dir.path(), "a.txt", b"1").await;
    let second_a = upload(&harness, dir.path(), "a.txt", b"2").await;
    let b = upload(&harness, dir.path(), "b.txt", b"3").await;
    let c = upload(&harness, dir.path(), "c.txt", b"4").await;
    assert_eq!(listed_files(&harness).await.len(), SEEDED_FILES + 4);

    let service = &harness.service;
    let deleted = service
        .delete_files(
            harness.conn(Provider::OpenHumans),
            DeleteTargetInput::FileId { file_id: b.id },
        )
        .await
        .unwrap();
    assert_eq!(deleted, vec![b.id]);
    let mut deleted = service
        .delete_files(
            harness.conn(Provider::OpenHumans),
            DeleteTargetInput::Basename {
                basename: "a.txt".into(),
            },
        )
        .await
        .unwrap();
    deleted.sort_unstable();
    assert_eq!(deleted, vec![first_a.id, second_a.id]);
    let again = service
        .delete_files(
            harness.conn(Provider::OpenHumans),
            DeleteTargetInput::FileId { file_id: b.id },
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "already gone");
    let deleted = service
        .delete_files(
            harness.conn(Provider::OpenHumans),
            DeleteTargetInput::AllFiles,
        )
        .await
        .unwrap();
    assert_eq!(deleted, vec![c.id]);

    let left = listed_files(&harness).await;
    assert_eq!(
        left.len(),
        SEEDED_FILES,
        "shared sources are not the project's to delete"
    );
    assert_eq!(history_kinds(&harness).await[0], "files_deleted");
    let error = service
        .delete_files(
            harness.conn(Provider::OpenHumans),
            DeleteTargetInput::Basename {
                basename: " ".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_access_token_that_expires_mid_upload_is_refreshed() {
    // Every answer waits, so the token expires while the bytes are on their way, before the
    // completion is asked for.
    let config = SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
        ..small_world()
    };
    let harness = Harness::connected_to(config, Transport::Loopback).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.txt");
    std::fs::write(&path, "sent while the token expired").unwrap();
    let before = harness.sandbox().stats();

    let service = harness.service.clone();
    let connection = harness.conn(Provider::OpenHumans);
    let report = harness.upload_report();
    let run = tokio::spawn(async move {
        service
            .upload_file(connection, &path, metadata("Late", &["t"]), report)
            .await
    });
    harness.wait_for_upload_progress().await;
    harness.sandbox().expire_access_tokens();
    let uploaded = run.await.unwrap().unwrap();

    let after = harness.sandbox().stats();
    assert!(
        after.api_auth_failures > before.api_auth_failures,
        "the expired token was really refused mid-upload"
    );
    assert_eq!(
        after.token_requests_refresh_token - before.token_requests_refresh_token,
        1
    );
    let listed = listed_files(&harness).await;
    assert!(listed.iter().any(|f| f.id == uploaded.id));
}
