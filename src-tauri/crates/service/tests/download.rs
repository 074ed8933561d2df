//! Downloading the connected member's files from the sandbox: byte-identical results, skipping
//! identical files, a token expiring mid-run, bodies cut mid-transfer, and cancel then resume.

mod support;

use datalinks_core::{Provider, Transport};
use datalinks_openhumans::ApiClient;
use datalinks_sandbox::{BodyFault, Faults, SandboxConfig};
use datalinks_service::DownloadSummary;
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{sandbox_config, Harness};

/// Every file's md5 as the sandbox's metadata states it, sorted.
async fn expected_md5s(harness: &Harness) -> Vec<String> {
    let tokens = harness.stored_tokens(Provider::OpenHumans).unwrap();
    let api = ApiClient::new(reqwest::Client::new(), harness.sandbox().base_url());
    let member = api.exchange_member(&tokens.access_token).await.unwrap();
    let mut md5s: Vec<String> = member
        .files
        .iter()
        .map(|file| file.md5().expect("seeded files carry an md5").to_owned())
        .collect();
    md5s.sort();
    md5s
}

fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn md5_of(path: &Path) -> String {
    let digest = Md5::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The member's folder holds exactly the member's files, byte for byte (by md5).
async fn assert_all_identical(harness: &Harness, summary: &DownloadSummary) {
    let mut on_disk: Vec<String> = files_under(Path::new(&summary.folder))
        .iter()
        .map(|path| md5_of(path))
        .collect();
    on_disk.sort();
    assert!(
        on_disk == expected_md5s(harness).await,
        "the files on disk differ"
    );
}

fn temp_folder() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

async fn download_all(harness: &Harness, folder: &Path) -> DownloadSummary {
    harness
        .service
        .download_files(
            harness.conn(Provider::OpenHumans),
            Vec::new(),
            folder,
            harness.download_report(),
        )
        .await
        .unwrap()
}

/// Starts downloading everything in the background, for tests that act during the run.
fn start_download_all(
    harness: &Harness,
    folder: &Path,
) -> tokio::task::JoinHandle<datalinks_core::Result<DownloadSummary>> {
    let service = harness.service.clone();
    let folder = folder.to_owned();
    let connection = harness.conn(Provider::OpenHumans);
    let report = harness.download_report();
    tokio::spawn(async move {
        service
            .download_files(connection, Vec::new(), &folder, report)
            .await
    })
}

fn sized_files(count: usize, size: u64) -> SandboxConfig {
    SandboxConfig {
        files_per_member: count,
        file_size_bytes: Some(size),
        ..sandbox_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_file_arrives_identical_and_a_second_run_skips_them_all() {
    let harness = Harness::connected(Transport::Loopback).await;
    let folder = temp_folder();

    let first = download_all(&harness, folder.path()).await;
    assert_eq!((first.downloaded, first.skipped_identical), (130, 0));
    assert_eq!(first.failed, []);
    assert_eq!((first.unfinished, first.cancelled), (0, false));
    let member_id = harness.sandbox().seeded_member().project_member_id;
    assert_eq!(Path::new(&first.folder), folder.path().join(&member_id));
    assert_all_identical(&harness, &first).await;
    let names: Vec<String> = files_under(Path::new(&first.folder))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("_runkeeper-")),
        "the seeded basename shared by two files got the file-id prefix"
    );
    let last = harness
        .host
        .download_progress
        .lock()
        .unwrap()
        .last()
        .cloned();
    let last = last.expect("progress was reported");
    assert_eq!((last.files_done, last.files_total), (130, 130));
    assert_eq!(last.bytes_done, first.bytes);
    assert!(last.current.is_empty());

    let second = download_all(&harness, folder.path()).await;
    assert_eq!((second.downloaded, second.skipped_identical), (0, 130));
    assert_eq!(second.bytes, 0);

    let history = harness
        .service
        .history(harness.conn(Provider::OpenHumans))
        .await
        .unwrap();
    let runs: Vec<_> = history
        .iter()
        .filter(|e| e.kind == "files_downloaded")
        .collect();
    assert_eq!(runs.len(), 2);
    assert!(
        runs[0].detail.contains("130 already present"),
        "{}",
        runs[0].detail
    );
}

#[tokio::test]
async fn selected_files_only_and_unknown_ids_are_reported_as_failed() {
    let harness = Harness::connected(Transport::Loopback).await;
    let overview = harness
        .service
        .member_overview(harness.conn(Provider::OpenHumans))
        .await
        .unwrap();
    let chosen: Vec<u64> = overview.groups[0]
        .files
        .iter()
        .take(2)
        .map(|f| f.id)
        .collect();
    let folder = temp_folder();

    let summary = harness
        .service
        .download_files(
            harness.conn(Provider::OpenHumans),
            vec![chosen[0], chosen[1], 999_999_999],
            folder.path(),
            harness.download_report(),
        )
        .await
        .unwrap();
    assert_eq!(summary.downloaded, 2);
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].file_id, 999_999_999);
    assert_eq!(files_under(Path::new(&summary.folder)).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_access_token_that_expires_mid_run_is_refreshed() {
    let config = SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(5),
            ..Faults::default()
        },
        ..sandbox_config()
    };
    let harness = Harness::connected_to(config, Transport::Loopback).await;
    let before = harness.sandbox().stats();
    let folder = temp_folder();

    let run = start_download_all(&harness, folder.path());
    harness.wait_for_progress(|p| p.files_done >= 3).await;
    harness.sandbox().expire_access_tokens();
    let summary = run.await.unwrap().unwrap();

    assert_eq!(summary.failed, []);
    assert_eq!(summary.downloaded, 130);
    let after = harness.sandbox().stats();
    assert!(
        after.api_auth_failures > before.api_auth_failures,
        "the expired token was really refused mid-run"
    );
    assert_eq!(
        after.token_requests_refresh_token - before.token_requests_refresh_token,
        1
    );
    assert_all_identical(&harness, &summary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bodies_cut_mid_transfer_resume_with_fresh_urls_and_end_identical() {
    let harness = Harness::connected_to(sized_files(4, 300_000), Transport::Loopback).await;
    harness.sandbox().set_faults(Faults {
        storage_body_fault: Some(BodyFault::Cut { after: 100_000 }),
        storage_body_faults: 3,
        ..Faults::default()
    });
    let before = harness.sandbox().stats();
    let folder = temp_folder();

    let summary = download_all(&harness, folder.path()).await;
    assert_eq!(summary.failed, []);
    assert_eq!(summary.downloaded, 4);
    let after = harness.sandbox().stats();
    assert_eq!(after.faults_injected - before.faults_injected, 3);
    assert_eq!(
        after.downloads - before.downloads,
        4 + 3,
        "every attempt asked for a fresh download URL"
    );
    assert_all_identical(&harness, &summary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_keeps_part_files_and_the_next_run_resumes_them() {
    const SIZE: u64 = 4 * 1024 * 1024;
    let harness = Harness::connected_to(sized_files(3, SIZE), Transport::Loopback).await;
    let folder = temp_folder();

    let run = start_download_all(&harness, folder.path());
    harness
        .wait_for_progress(|p| p.current.iter().any(|f| f.bytes > 0))
        .await;
    assert!(harness.service.cancel_downloads());
    let cancelled = run.await.unwrap().unwrap();
    assert!(
        cancelled.cancelled && cancelled.unfinished > 0,
        "{cancelled:?}"
    );
    assert!(!harness.service.cancel_downloads(), "the run has ended");

    let parts: Vec<PathBuf> = files_under(Path::new(&cancelled.folder))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .collect();
    assert!(!parts.is_empty(), "what arrived is kept as .part");
    let kept: u64 = parts.iter().map(|p| p.metadata().unwrap().len()).sum();
    assert!(kept > 0);

    let resumed = download_all(&harness, folder.path()).await;
    assert_eq!(resumed.failed, []);
    assert_eq!(resumed.downloaded, cancelled.unfinished);
    assert_eq!(
        resumed.bytes + kept,
        u64::from(cancelled.unfinished) * SIZE,
        "only the missing bytes were fetched"
    );
    assert_all_identical(&harness, &resumed).await;
}

#[tokio::test]
async fn the_download_folder_defaults_under_downloads_and_can_be_changed() {
    let harness = Harness::new(sandbox_config()).await;
    let default = harness.service.download_folder().unwrap();
    assert!(default.ends_with("Datalinks"), "{default:?}");

    let err = harness
        .service
        .set_download_folder(Path::new("relative/path"))
        .unwrap_err();
    assert_eq!(err.code, datalinks_core::ErrorCode::InvalidInput);
    harness
        .service
        .set_download_folder(Path::new("/tmp/elsewhere"))
        .unwrap();
    assert_eq!(
        harness.service.download_folder().unwrap(),
        Path::new("/tmp/elsewhere")
    );
}
