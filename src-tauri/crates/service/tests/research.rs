//! The researcher console's use cases against the in-process sandbox: the master token's
//! handling, listing, bulk download with progress, metadata, messages, deletion, removal.

mod support;

use datalinks_core::{ErrorCode, Transport};
use datalinks_sandbox::SandboxConfig;
use datalinks_service::{
    DeleteTargetInput, MessageRequest, ProjectDownloadRequest, ProjectMemberRow,
};
use support::{sandbox_config, Harness};

/// A project with `members` joined members (the seeded alice has not joined), `files` each.
async fn project_harness(members: usize, files: usize) -> Harness {
    let harness = Harness::new(SandboxConfig {
        member_count: members + 1,
        files_per_member: files,
        ..sandbox_config()
    })
    .await;
    harness.configure(Transport::Loopback).await;
    harness
}

/// A project of `members` members with `files` files each, opened in the console and listed.
async fn opened_project(members: usize, files: usize) -> (Harness, Vec<ProjectMemberRow>) {
    let harness = project_harness(members, files).await;
    harness
        .service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();
    let listed = harness
        .service
        .project_members(false, harness.listing_report())
        .await
        .unwrap();
    (harness, listed.members)
}

/// Whether the keyring holds a master token, under the name of the project's server.
fn kept_master_token(harness: &Harness) -> bool {
    let server = datalinks_core::RegistrationIdentity::new(
        datalinks_core::Provider::OpenHumans,
        "",
        vec![harness
            .sandbox()
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned()],
    );
    let key = datalinks_vault::SecretOwner::Registration(&server)
        .key(datalinks_vault::SecretKind::MasterToken);
    harness.secrets.contains(&key)
}

fn master_token(harness: &Harness) -> String {
    harness.sandbox().master_access_token()
}

#[tokio::test]
async fn a_pasted_token_is_held_for_the_session_only_unless_kept() {
    let harness = project_harness(3, 2).await;
    let service = &harness.service;

    let view = service
        .open_project(format!("  {}\n", master_token(&harness)), false)
        .await
        .unwrap();
    assert!(!view.token_in_keyring);
    assert!(!kept_master_token(&harness));
    let remaining = view.token_expires_at - datalinks_core::now_unix();
    assert!(
        (24 * 3600 - 60..=24 * 3600).contains(&remaining),
        "{remaining}"
    );
    assert!(view.download_folder.ends_with(&view.slug), "{view:?}");

    // Kept: a restarted app finds the project again.
    let kept = service
        .open_project(master_token(&harness), true)
        .await
        .unwrap();
    assert!(kept_master_token(&harness));
    service.close_project(false).await.unwrap();
    let resumed = service.current_project().await.unwrap().expect("resumed");
    assert!(resumed.token_in_keyring);
    // The countdown goes on from when the kept token was pasted, not from the restart.
    assert_eq!(resumed.token_expires_at, kept.token_expires_at);

    // Forgotten: nothing left to resume.
    service.close_project(true).await.unwrap();
    assert!(!kept_master_token(&harness));
    assert_eq!(service.current_project().await.unwrap(), None);
}

#[tokio::test]
async fn malformed_refused_and_expired_tokens_are_clear_errors() {
    let harness = project_harness(2, 1).await;
    let service = &harness.service;

    let malformed = service
        .open_project("not a token".into(), true)
        .await
        .unwrap_err();
    assert_eq!(malformed.code, ErrorCode::InvalidInput);

    let unknown = service
        .open_project("a".repeat(64), false)
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::ReconnectNeeded, "{unknown}");
    assert!(!kept_master_token(&harness));

    service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();
    harness.sandbox().expire_master_token();
    let expired = service
        .project_members(true, harness.listing_report())
        .await
        .unwrap_err();
    assert_eq!(expired.code, ErrorCode::ReconnectNeeded);
    assert!(expired.message.contains("24 hours"), "{}", expired.message);
    // The session is closed, so the console asks for a fresh token.
    assert_eq!(service.current_project().await.unwrap(), None);
    let later = service
        .project_members(false, harness.listing_report())
        .await
        .unwrap_err();
    assert_eq!(later.code, ErrorCode::NotConfigured);
}

#[tokio::test]
async fn a_locked_keyring_refuses_to_keep_the_token_and_deletes_nothing() {
    let harness = project_harness(1, 1).await;
    let service = &harness.service;
    service
        .open_project(master_token(&harness), true)
        .await
        .unwrap();
    harness
        .secrets
        .set_unavailable(Some("org.freedesktop.secrets is locked".into()));
    let err = service.close_project(true).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KeyringUnavailable);
    harness.secrets.set_unavailable(None);
    assert!(kept_master_token(&harness));

    // While locked: keeping a token fails and leaves no half-open project; a session-only
    // project still opens.
    harness
        .secrets
        .set_unavailable(Some("org.freedesktop.secrets is locked".into()));
    service.close_project(false).await.unwrap();
    let kept = service
        .open_project(master_token(&harness), true)
        .await
        .unwrap_err();
    assert_eq!(kept.code, ErrorCode::KeyringUnavailable);
    let closed = service
        .project_members(false, harness.listing_report())
        .await
        .unwrap_err();
    assert_eq!(closed.code, ErrorCode::NotConfigured);
    service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();
    assert_eq!(
        service
            .project_members(false, harness.listing_report())
            .await
            .unwrap()
            .members
            .len(),
        1
    );
    harness.secrets.set_unavailable(None);
    assert!(kept_master_token(&harness));
}

#[tokio::test]
async fn members_are_listed_over_every_page_with_progress_and_all_their_files() {
    // 12 files each: more than the 10 the list shows, so exchange-member is followed.
    let harness = project_harness(130, 12).await;
    let service = &harness.service;
    service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();

    let listed = service
        .project_members(false, harness.listing_report())
        .await
        .unwrap();
    assert_eq!(listed.members.len(), 130);
    assert!(listed.members.iter().all(|m| m.file_count == 12));
    assert!(!listed.sources.is_empty());

    let reports = harness.host.listing.lock().unwrap().clone();
    assert_eq!(reports.len(), 2, "one report per page of 100: {reports:?}");
    assert_eq!(
        (reports[0].members_listed, reports[0].members_total),
        (100, 130)
    );
    assert_eq!(reports[1].members_listed, 130);
    // The pages carry every member once, in list order.
    let streamed: Vec<&str> = reports
        .iter()
        .flat_map(|r| r.page.iter().map(|m| m.project_member_id.as_str()))
        .collect();
    let listed_ids: Vec<&str> = listed
        .members
        .iter()
        .map(|m| m.project_member_id.as_str())
        .collect();
    assert_eq!(streamed, listed_ids);

    let first = &listed.members[0].project_member_id;
    let groups = service.project_member_files(first).await.unwrap();
    let files: usize = groups.iter().map(|g| g.files.len()).sum();
    assert_eq!(files, 12);
}

#[tokio::test]
async fn callers_asking_at_the_same_time_share_one_listing() {
    let harness = project_harness(130, 1).await;
    let service = &harness.service;
    service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();
    // Both report into the same list: two pages mean one listing.
    let (first, second) = tokio::join!(
        service.project_members(false, harness.listing_report()),
        service.project_members(false, harness.listing_report())
    );
    assert_eq!(first.unwrap().members.len(), 130);
    assert_eq!(second.unwrap().members.len(), 130);
    let stats = service.project_stats().await.unwrap();
    assert_eq!(stats.joined.last().unwrap().members, 130);
    let pages_reported = harness.host.listing.lock().unwrap().len();
    assert_eq!(pages_reported, 2, "two pages of 100, listed once");
}

#[tokio::test]
async fn one_members_files_download_in_ohapi_layout_with_project_progress_and_stats() {
    let (harness, members) = opened_project(3, 4).await;
    let service = &harness.service;
    let chosen = members[1].project_member_id.clone();
    let dest = tempfile::tempdir().unwrap();

    let request = ProjectDownloadRequest {
        only: Some(vec![chosen.clone()]),
        concurrency: 2,
        ..ProjectDownloadRequest::default()
    };
    let summary = service
        .download_project_files(
            request.clone(),
            Some(dest.path().to_owned()),
            harness.download_report(),
        )
        .await
        .unwrap();
    assert_eq!((summary.planned, summary.downloaded), (4, 4), "{summary:?}");
    assert!(summary.failed.is_empty() && !summary.cancelled);
    let member_dir = dest.path().join(&chosen);
    let on_disk = walk(&member_dir);
    assert_eq!(on_disk.len(), 4, "{on_disk:?}");
    assert!(
        !dest.path().join(&members[0].project_member_id).exists(),
        "only the chosen member"
    );

    let progress = harness.host.download_progress.lock().unwrap().clone();
    let last = progress.last().unwrap();
    assert_eq!((last.files_total, last.files_done), (4, 4));
    assert!(progress
        .iter()
        .flat_map(|p| &p.current)
        .all(|f| f.basename.starts_with(&chosen)));

    // Again: everything is already there.
    let again = service
        .download_project_files(
            request,
            Some(dest.path().to_owned()),
            harness.download_report(),
        )
        .await
        .unwrap();
    assert_eq!((again.downloaded, again.skipped_identical), (0, 4));

    // Into the default folder, then the stats measure the copies there.
    let default_run = service
        .download_project_files(
            ProjectDownloadRequest {
                only: Some(vec![chosen.clone()]),
                ..ProjectDownloadRequest::default()
            },
            None,
            harness.download_report(),
        )
        .await
        .unwrap();
    let stats = service.project_stats().await.unwrap();
    assert_eq!(stats.folder, default_run.folder);
    let on_disk_bytes: u64 = stats.sources.iter().map(|s| s.bytes_on_disk).sum();
    assert_eq!(
        on_disk_bytes,
        walk(std::path::Path::new(&default_run.folder))
            .iter()
            .map(|p| p.metadata().unwrap().len())
            .sum::<u64>()
    );
    assert_eq!(stats.joined.last().unwrap().members, 3);
}

#[tokio::test]
async fn member_list_files_choose_and_exclude_members_as_ohapi_lists_do() {
    let (harness, members) = opened_project(3, 1).await;
    let ids: Vec<&str> = members
        .iter()
        .map(|m| m.project_member_id.as_str())
        .collect();
    let lists = tempfile::tempdir().unwrap();
    let allow = lists.path().join("members.txt");
    let deny = lists.path().join("exclude.txt");
    std::fs::write(&allow, format!("{}\n{}\n", ids[0], ids[1])).unwrap();
    std::fs::write(&deny, format!("{},\n", ids[1])).unwrap();
    let dest = tempfile::tempdir().unwrap();

    let only = harness.service.read_member_list(&allow).unwrap();
    assert_eq!(only.ids, [ids[0], ids[1]]);
    assert_eq!(only.path, allow.display().to_string());
    let exclude = harness.service.read_member_list(&deny).unwrap();
    let summary = harness
        .service
        .download_project_files(
            ProjectDownloadRequest {
                only: Some(only.ids),
                exclude: exclude.ids,
                ..ProjectDownloadRequest::default()
            },
            Some(dest.path().to_owned()),
            harness.download_report(),
        )
        .await
        .unwrap();
    assert_eq!(summary.downloaded, 1, "{summary:?}");
    assert!(dest.path().join(ids[0]).is_dir());
    assert!(!dest.path().join(ids[1]).exists() && !dest.path().join(ids[2]).exists());

    let missing = harness
        .service
        .read_member_list(&lists.path().join("nope.txt"))
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::InvalidInput);
    assert!(missing.message.contains("nope.txt"), "{}", missing.message);
}

#[tokio::test]
async fn metadata_is_exported_as_ohapi_writes_it() {
    let harness = project_harness(2, 3).await;
    let service = &harness.service;
    service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("metadata.csv");
    let exported = service.export_project_metadata(&path).await.unwrap();
    assert_eq!(exported.members, 2);
    assert_eq!(exported.path, path.display().to_string());
    let csv = std::fs::read_to_string(&path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("project_member_id,data_source,file_basename,file_upload_date")
    );
    assert_eq!(lines.count(), 6);

    let relative = service
        .export_project_metadata(std::path::Path::new("metadata.csv"))
        .await
        .unwrap_err();
    assert_eq!(relative.code, ErrorCode::InvalidInput);
}

#[tokio::test]
async fn a_message_is_previewed_then_reaches_exactly_the_chosen_members() {
    let (harness, members) = opened_project(4, 1).await;
    let service = &harness.service;
    let chosen: Vec<String> = members[..2]
        .iter()
        .map(|m| m.project_member_id.clone())
        .collect();
    let request = MessageRequest {
        subject: "Study update".into(),
        body: "Hello {{ PROJECT_MEMBER_ID }}, thank you.".into(),
        recipients: Some(chosen.clone()),
    };

    let preview = service.preview_message(&request).await.unwrap();
    assert_eq!(preview.recipient_count, 2);
    assert_eq!(preview.rendered, format!("Hello {}, thank you.", chosen[0]));
    assert!(
        harness.sandbox().messages().is_empty(),
        "a preview sends nothing"
    );

    assert_eq!(service.send_message(&request).await.unwrap(), 2);
    let sent = harness.sandbox().messages();
    let mut received: Vec<&str> = sent.iter().map(|m| m.project_member_id.as_str()).collect();
    received.sort();
    let mut expected: Vec<&str> = chosen.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(received, expected);
    assert!(sent
        .iter()
        .all(|m| m.body == format!("Hello {}, thank you.", m.project_member_id)));

    let to_all = MessageRequest {
        recipients: None,
        ..request.clone()
    };
    assert_eq!(
        service
            .preview_message(&to_all)
            .await
            .unwrap()
            .recipient_count,
        4
    );
    let nobody = MessageRequest {
        recipients: Some(vec![]),
        ..request
    };
    assert_eq!(
        service.send_message(&nobody).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

#[tokio::test]
async fn project_files_are_deleted_and_members_removed() {
    let (harness, members) = opened_project(3, 0).await;
    let service = &harness.service;
    let id = members[0].project_member_id.clone();

    // Put a project file on the member, then delete it by basename.
    let report = harness.upload_result(&id).await;
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(report.outcomes[0].outcome, "uploaded");
    assert_eq!(first_member_file_count(&harness).await, 1);

    let deleted = service
        .delete_member_files(
            &id,
            DeleteTargetInput::Basename {
                basename: "result.txt".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(first_member_file_count(&harness).await, 0);

    assert_eq!(service.remove_members(vec![id.clone()]).await.unwrap(), 1);
    let removed = harness.sandbox().removed_members();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].project_member_id, id);
    let left = service
        .project_members(false, harness.listing_report())
        .await
        .unwrap()
        .members;
    assert_eq!(left.len(), 2);
}

/// How many files the first listed member has, as the console lists them now.
async fn first_member_file_count(harness: &Harness) -> u32 {
    let listed = harness
        .service
        .project_members(false, harness.listing_report())
        .await
        .unwrap();
    listed.members[0].file_count
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_download_is_cancelled_while_the_members_are_still_being_listed() {
    let harness = project_harness(3, 2).await;
    harness
        .service
        .open_project(master_token(&harness), false)
        .await
        .unwrap();
    // Every answer now takes a minute: the listing cannot end before the cancel.
    harness.sandbox().set_faults(datalinks_sandbox::Faults {
        latency: std::time::Duration::from_secs(60),
        ..Default::default()
    });
    let dest = tempfile::tempdir().unwrap();
    let (service, folder) = (harness.service.clone(), dest.path().to_owned());
    let report = harness.download_report();
    let run = tokio::spawn(async move {
        service
            .download_project_files(ProjectDownloadRequest::default(), Some(folder), report)
            .await
    });
    while !harness.service.cancel_downloads() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let summary = tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .expect("the cancel stops the listing")
        .unwrap()
        .unwrap();
    assert!(summary.cancelled, "{summary:?}");
    assert_eq!((summary.planned, summary.downloaded), (0, 0));
}

#[tokio::test]
async fn the_sandbox_project_opens_without_a_token_and_leaves_the_own_server_alone() {
    // No settings at all: a pasted token would go to production Open Humans.
    let harness = Harness::without_sandbox();
    let service = &harness.service;
    let view = service.open_sandbox_project().await.unwrap();
    assert!(!view.token_in_keyring, "held for the session only");
    assert!(
        !harness
            .secrets
            .keys()
            .iter()
            .any(|key| key.ends_with("/master_token")),
        "the token is not kept"
    );
    let listed = service
        .project_members(false, harness.listing_report())
        .await
        .unwrap();
    assert!(!listed.members.is_empty());
    assert_eq!(service.current_project().await.unwrap(), Some(view));
    // The person's own settings are as they were: none.
    assert!(service
        .provider_settings(datalinks_core::Provider::OpenHumans)
        .await
        .unwrap()
        .own
        .is_none());
}
