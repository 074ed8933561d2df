//! The fault matrix, through the service, for a member's own download and a researcher's project
//! download alike: storage misbehaves in each way the sandbox knows, and every run ends either
//! with exactly the right bytes (by md5) or with a clear error for each file it could not
//! fetch; nothing is written outside the destination, and the summary is what is on disk.
//!
//! A stalled body is in the engine's own matrix (`openhumans/tests/download.rs`), where the
//! read timeout can be made short; here it would take a minute a case.

mod support;

use datalinks_core::{MasterToken, Provider, Transport};
use datalinks_openhumans::ApiClient;
use datalinks_research::Project;
use datalinks_sandbox::{BodyFault, Faults, SandboxConfig};
use datalinks_service::{DownloadSummary, ProjectDownloadRequest};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};
use support::{sandbox_config, Harness};

const FILE_SIZE: u64 = 200_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Member,
    Project,
}

/// What every file of a run must end as.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Downloaded, byte for byte.
    Identical,
    /// Failed with its own error; what arrived is kept to resume.
    Failed,
    /// Larger than the maximum size asked for, and nothing of it kept.
    TooLarge,
}

fn body_faults(fault: BodyFault, times: u32) -> Faults {
    Faults {
        storage_body_fault: Some(fault),
        storage_body_faults: times,
        ..Faults::default()
    }
}

/// One way storage misbehaves, and what runs must end with.
struct Case {
    name: &'static str,
    faults: Faults,
    /// For project runs: member runs have no maximum size.
    max_size: Option<&'static str>,
    /// What a member's run ends with; `None`: not run.
    member: Option<Expect>,
    project: Expect,
}

fn case(
    name: &'static str,
    faults: Faults,
    max_size: Option<&'static str>,
    member: Option<Expect>,
    project: Expect,
) -> Case {
    Case {
        name,
        faults,
        max_size,
        member,
        project,
    }
}

fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        case(
            "bodies cut mid-transfer",
            body_faults(BodyFault::Cut { after: 70_000 }, 3),
            None,
            Some(Identical),
            Identical,
        ),
        case(
            "chunked bodies with no length",
            body_faults(BodyFault::NoLength, 3),
            None,
            Some(Identical),
            Identical,
        ),
        case(
            "a length that promises more than the body has",
            body_faults(BodyFault::LengthTooLong { by: 1000 }, 3),
            None,
            Some(Identical),
            Identical,
        ),
        case(
            "a length that promises less than the body has",
            body_faults(BodyFault::LengthTooShort { by: 100 }, 3),
            None,
            Some(Identical),
            Identical,
        ),
        case(
            "hostile names in the listings",
            Faults {
                hostile_names: true,
                ..Faults::default()
            },
            None,
            Some(Identical),
            Identical,
        ),
        case(
            "every body cut, on every attempt",
            body_faults(BodyFault::Cut { after: 20_000 }, u32::MAX),
            None,
            Some(Failed),
            Failed,
        ),
        // A member's download has no maximum size: an endless body there is stopped only by
        // the free-space reserve, which a test cannot reach without filling the disk.
        case(
            "endless bodies, with a maximum size",
            body_faults(BodyFault::Endless, u32::MAX),
            Some("300k"),
            None,
            TooLarge,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_storage_fault_ends_with_the_right_bytes_or_a_clear_error_for_members_and_projects() {
    let harness = Harness::connected_to(
        SandboxConfig {
            member_count: 3,
            files_per_member: 3,
            file_size_bytes: Some(FILE_SIZE),
            ..sandbox_config()
        },
        Transport::Loopback,
    )
    .await;
    let token = harness.sandbox().master_access_token();
    harness.service.open_project(token, false).await.unwrap();

    for Case {
        name,
        faults,
        max_size,
        member,
        project,
    } in cases()
    {
        let runs = [
            member.map(|expect| (Kind::Member, expect)),
            Some((Kind::Project, project)),
        ];
        for (kind, expect) in runs.into_iter().flatten() {
            let what = format!("{kind:?} download, {name}");
            harness.sandbox().set_faults(faults.clone());
            let expected = expected_md5s(&harness, kind).await;
            let outside = tempfile::tempdir().unwrap();
            let dest = outside.path().join("dest");
            let summary = run(&harness, kind, &dest, max_size).await;
            harness.sandbox().set_faults(Faults::default());

            assert_matches_disk(&what, &summary, outside.path(), &dest, &expected);
            let count = expected.len() as u32;
            assert_eq!(summary.planned, count, "{what}: {summary:?}");
            match expect {
                Expect::Identical => {
                    assert_eq!(summary.failed, [], "{what}");
                    assert_eq!(summary.downloaded, count, "{what}: {summary:?}");
                }
                Expect::Failed => {
                    assert_eq!(summary.failed.len() as u32, count, "{what}: {summary:?}");
                    for failure in &summary.failed {
                        assert!(
                            failure.reason.contains("did not download after 5 attempts")
                                && failure.reason.contains("kept"),
                            "{what}: {}",
                            failure.reason
                        );
                        assert!(!Path::new(&failure.path).exists(), "{what}: {failure:?}");
                    }
                }
                Expect::TooLarge => {
                    assert_eq!(summary.skipped_too_large, count, "{what}: {summary:?}");
                    assert_eq!(summary.bytes, 0, "{what}: nothing of them is kept");
                }
            }
        }
    }
}

async fn run(
    harness: &Harness,
    kind: Kind,
    dest: &Path,
    max_size: Option<&str>,
) -> DownloadSummary {
    let report = harness.download_report();
    let summary = match kind {
        Kind::Member => {
            let connection = harness.conn(Provider::OpenHumans);
            harness
                .service
                .download_files(connection, Vec::new(), dest, report)
                .await
        }
        Kind::Project => {
            let request = ProjectDownloadRequest {
                max_size: max_size.map(str::to_owned),
                ..ProjectDownloadRequest::default()
            };
            harness
                .service
                .download_project_files(request, Some(dest.to_owned()), report)
                .await
        }
    };
    summary.unwrap()
}

/// Every file's md5 as the metadata states it, sorted: the connected member's own, or every
/// project member's.
async fn expected_md5s(harness: &Harness, kind: Kind) -> Vec<String> {
    let sandbox = harness.sandbox();
    let mut md5s: Vec<String> = match kind {
        Kind::Member => {
            let tokens = harness.stored_tokens(Provider::OpenHumans).unwrap();
            let api = ApiClient::new(reqwest::Client::new(), sandbox.base_url());
            let member = api.exchange_member(&tokens.access_token).await.unwrap();
            member.files.iter().filter_map(|f| f.md5()).collect()
        }
        Kind::Project => {
            let token = MasterToken::new(sandbox.master_access_token());
            let project = Project::new(sandbox.base_url(), token).unwrap();
            let members = project.members().await.unwrap();
            let files = members.iter().flat_map(|m| &m.files);
            files.filter_map(|f| f.md5()).collect()
        }
    };
    assert!(!md5s.is_empty(), "{kind:?}: seeded files carry an md5");
    md5s.sort();
    md5s
}

/// Nothing beside `dest` in `outside`, no link inside it, every finished file one of the
/// expected ones, and the summary's counts and bytes what is on disk.
fn assert_matches_disk(
    what: &str,
    summary: &DownloadSummary,
    outside: &Path,
    dest: &Path,
    expected: &[String],
) {
    let beside: Vec<_> = std::fs::read_dir(outside)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(
        beside.is_empty() || beside == ["dest"],
        "{what}: {beside:?}"
    );
    let (parts, finished): (Vec<PathBuf>, Vec<PathBuf>) = files_under(dest)
        .into_iter()
        .partition(|path| path.to_string_lossy().ends_with(".part"));
    let mut on_disk: Vec<String> = finished.iter().map(|path| md5_of(path)).collect();
    on_disk.sort();
    let mut left = expected.to_vec();
    for md5 in &on_disk {
        let found = left.iter().position(|e| e == md5);
        let found = found.unwrap_or_else(|| panic!("{what}: a file that is not one of the listed"));
        left.remove(found);
    }
    assert_eq!(
        finished.len() as u32,
        summary.downloaded + summary.skipped_identical,
        "{what}: {summary:?}"
    );
    let handled = summary.downloaded
        + summary.skipped_identical
        + summary.skipped_too_large
        + summary.failed.len() as u32
        + summary.unfinished;
    assert_eq!(handled, summary.planned, "{what}: {summary:?}");
    let kept: u64 = finished.iter().chain(&parts).map(|p| len(p)).sum();
    assert_eq!(
        summary.bytes, kept,
        "{what}: the summary's bytes are on disk"
    );
}

/// Every file under `dir` (none when it does not exist); a link there fails the test.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
            assert!(!kind.is_symlink(), "a link: {}", path.display());
            if kind.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn md5_of(path: &Path) -> String {
    let digest = Md5::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
