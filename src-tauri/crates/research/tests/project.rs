//! Every researcher operation against the in-process sandbox, faults included.

use datalinks_core::{ErrorCode, MasterToken};
use datalinks_research::{
    metadata_csv, render_preview, CancellationToken, DeleteTarget, DownloadOptions, Job,
    MemberFilter, Observer, Outcome, Project, ProjectMember, Recipients, RunProgress, RunSummary,
    UploadMode, UploadOptions, UploadOutcome,
};
use datalinks_sandbox::{BodyFault, Faults, RunningSandbox, SandboxConfig};
use md5::{Digest, Md5};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

async fn sandbox(config: SandboxConfig) -> RunningSandbox {
    datalinks_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// `members` members join (alice, the first seeded member, has not), each sharing `files` files.
fn world(members: usize, files: usize) -> SandboxConfig {
    SandboxConfig {
        member_count: members + 1,
        files_per_member: files,
        ..SandboxConfig::default()
    }
}

fn project(sandbox: &RunningSandbox) -> Project {
    Project::new(
        sandbox.base_url(),
        MasterToken::new(sandbox.master_access_token()),
    )
    .unwrap()
}

fn options(dest: &Path) -> DownloadOptions {
    DownloadOptions {
        dest: dest.to_owned(),
        members: MemberFilter::default(),
        source: None,
        project_data: false,
        max_size: None,
        id_prefix: false,
        concurrency: 4,
    }
}

fn md5_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Md5::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn download(
    project: &Project,
    members: &[ProjectMember],
    options: &DownloadOptions,
) -> RunSummary {
    project
        .download(members, options, &(), &CancellationToken::new())
        .await
}

/// Hears every finished file.
struct OnFinished<F>(F);

impl<F: Fn(&Outcome, usize) + Sync> Observer for OnFinished<F> {
    fn finished(&self, _job: &Job, outcome: &Outcome, finished: usize, _of: usize) {
        (self.0)(outcome, finished)
    }
}

/// What a run reported: its planned files, files finished, and the largest byte count.
#[derive(Default)]
struct Heard(Mutex<(usize, usize, u64)>);

impl Observer for Heard {
    fn progress(&self, progress: &RunProgress) {
        let mut heard = self.0.lock().unwrap();
        heard.0 = progress.files_total;
        heard.2 = heard.2.max(progress.bytes);
    }
    fn finished(&self, _job: &Job, _outcome: &Outcome, _finished: usize, _of: usize) {
        self.0.lock().unwrap().1 += 1;
    }
}

/// Every shared file of every member sits at `<dest>/<member>/<source>/<basename>` with the
/// md5 its metadata gives.
fn assert_ohapi_layout(members: &[ProjectMember], dest: &Path) {
    for member in members {
        for file in &member.files {
            let path = dest
                .join(&member.project_member_id)
                .join(&file.source)
                .join(&file.basename);
            assert_eq!(md5_of(&path), file.md5().unwrap(), "{}", path.display());
        }
    }
}

/// Every file under `dir`, each named relative to its own folder.
fn files_under(dir: &Path) -> Vec<String> {
    paths_under(dir)
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn paths_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn members_over_every_page_with_every_file() {
    let sandbox = sandbox(world(105, 12)).await;
    let project = project(&sandbox);
    let info = project.info().await.unwrap();
    assert!(info.id_label.starts_with("direct-sharing-"));
    assert_eq!(project.member_count().await.unwrap(), 105);
    let members = project.members().await.unwrap();
    assert_eq!(members.len(), 105, "more than one page of 100");
    let ids: HashSet<&str> = members
        .iter()
        .map(|m| m.project_member_id.as_str())
        .collect();
    assert_eq!(ids.len(), 105);
    for member in &members {
        assert_eq!(member.file_count, 12);
        assert_eq!(member.files.len(), 12, "exchange_member followed past 10");
    }
}

#[tokio::test]
async fn a_refused_master_token_is_reported_without_showing_it() {
    let sandbox = sandbox(world(1, 1)).await;
    let token = sandbox.master_access_token();
    sandbox.expire_master_token();
    let error = project(&sandbox).members().await.unwrap_err();
    assert_eq!(error.code, ErrorCode::ReconnectNeeded);
    assert!(error.message.contains("Expired token."));
    assert!(!error.message.contains(&token));
}

#[tokio::test]
async fn download_in_ohapi_layout_then_again_skips_identical_files() {
    let sandbox = sandbox(world(3, 12)).await;
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let dest = tempfile::tempdir().unwrap();
    let heard = Heard::default();
    let summary = project
        .download(
            &members,
            &options(dest.path()),
            &heard,
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(summary.planned, 36);
    assert_eq!(summary.downloaded, 36, "{:?}", summary.failed);
    assert!(summary.failed.is_empty());
    assert!(summary.bytes > 0);
    let (planned, finished, overall) = *heard.0.lock().unwrap();
    assert_eq!((planned, finished), (36, 36));
    assert_eq!(overall, summary.bytes);
    assert_ohapi_layout(&members, dest.path());
    assert_eq!(files_under(dest.path()).len(), 36, "nothing else, no .part");

    let again = download(&project, &members, &options(dest.path())).await;
    assert_eq!((again.downloaded, again.skipped_identical), (0, 36));
    assert_eq!(again.bytes, 0);
}

#[tokio::test]
async fn allow_deny_source_size_and_id_prefix_filters() {
    let sandbox = sandbox(SandboxConfig {
        file_size_bytes: Some(3_000),
        ..world(3, 6)
    })
    .await;
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let ids: Vec<String> = members
        .iter()
        .map(|m| m.project_member_id.clone())
        .collect();

    let dest = tempfile::tempdir().unwrap();
    let mut allow = options(dest.path());
    allow.members.only = Some([ids[0].clone(), ids[1].clone()].into());
    allow.members.exclude = [ids[1].clone()].into();
    let summary = download(&project, &members, &allow).await;
    assert_eq!(summary.downloaded, 6);
    let top: Vec<_> = std::fs::read_dir(dest.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(top, vec![ids[0].clone()]);

    let source = members[0].files[0].source.clone();
    let dest = tempfile::tempdir().unwrap();
    let mut by_source = options(dest.path());
    by_source.source = Some(source.clone());
    by_source.id_prefix = true;
    let summary = download(&project, &members, &by_source).await;
    let expected: usize = members
        .iter()
        .map(|m| m.files.iter().filter(|f| f.source == source).count())
        .sum();
    assert_eq!(summary.downloaded, expected);
    let first = members[0]
        .files
        .iter()
        .find(|f| f.source == source)
        .unwrap();
    let flat = dest
        .path()
        .join(&members[0].project_member_id)
        .join(format!("{}.{}", first.id, first.basename));
    assert!(
        flat.is_file(),
        "one source goes straight into the member folder"
    );

    let dest = tempfile::tempdir().unwrap();
    let mut small_only = options(dest.path());
    small_only.max_size = Some(2_999);
    let summary = download(&project, &members, &small_only).await;
    assert_eq!((summary.downloaded, summary.skipped_too_large), (0, 18));
    small_only.max_size = Some(3_000);
    let summary = download(&project, &members, &small_only).await;
    assert_eq!((summary.downloaded, summary.skipped_too_large), (18, 0));
}

#[tokio::test]
async fn a_body_cut_mid_transfer_resumes_and_ends_byte_identical() {
    let sandbox = sandbox(SandboxConfig {
        file_size_bytes: Some(200_000),
        ..world(1, 2)
    })
    .await;
    // The first file is cut on all 5 attempts (30 kB each time, resumed with Range); the second
    // once, then finishes within the run.
    sandbox.set_faults(Faults {
        storage_body_fault: Some(BodyFault::Cut { after: 30_000 }),
        storage_body_faults: 6,
        ..Faults::default()
    });
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let dest = tempfile::tempdir().unwrap();
    let mut one_at_a_time = options(dest.path());
    one_at_a_time.concurrency = 1;
    let first = download(&project, &members, &one_at_a_time).await;
    assert_eq!(sandbox.faults().storage_body_faults, 0);
    assert_eq!(first.downloaded, 1);
    assert_eq!(first.failed.len(), 1);
    assert_eq!(first.failed[0].reason.code, ErrorCode::Unreachable);
    let part = datalinks_core::part_path(&first.failed[0].path);
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 150_000);

    let outcomes = Mutex::new(Vec::new());
    let second = project
        .download(
            &members,
            &one_at_a_time,
            &OnFinished(|outcome: &Outcome, _| outcomes.lock().unwrap().push(outcome.clone())),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(
        outcomes.into_inner().unwrap(),
        vec![
            Outcome::Downloaded { bytes: 200_000 },
            Outcome::AlreadyPresent
        ]
    );
    assert_eq!(second.bytes, 50_000, "resumed bytes are not fetched again");
    assert_ohapi_layout(&members, dest.path());
    assert!(!part.exists());
}

#[tokio::test]
async fn links_whose_key_expired_mid_run_are_renewed() {
    let sandbox = sandbox(SandboxConfig {
        download_key_lifetime: Duration::from_millis(300),
        ..world(2, 4)
    })
    .await;
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dest = tempfile::tempdir().unwrap();
    let summary = download(&project, &members, &options(dest.path())).await;
    assert_eq!(summary.downloaded, 8, "{:?}", summary.failed);
    assert_ohapi_layout(&members, dest.path());
}

#[tokio::test]
async fn api_errors_are_retried_for_listing_and_downloads() {
    let sandbox = sandbox(world(2, 12)).await;
    sandbox.set_faults(Faults {
        api_error_rate: 0.2,
        storage_error_rate: 0.2,
        ..Faults::default()
    });
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    assert_eq!(members.iter().map(|m| m.files.len()).sum::<usize>(), 24);
    let dest = tempfile::tempdir().unwrap();
    let summary = download(&project, &members, &options(dest.path())).await;
    assert_eq!(summary.downloaded, 24, "{:?}", summary.failed);
}

#[tokio::test]
async fn a_cancelled_download_resumes_on_the_next_run() {
    let sandbox = sandbox(SandboxConfig {
        file_size_bytes: Some(50_000),
        ..world(2, 10)
    })
    .await;
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let dest = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let mut one_at_a_time = options(dest.path());
    one_at_a_time.concurrency = 1;
    let first = project
        .download(
            &members,
            &one_at_a_time,
            &OnFinished(|_: &Outcome, finished| {
                if finished == 3 {
                    cancel.cancel();
                }
            }),
            &cancel,
        )
        .await;
    assert!(first.cancelled);
    assert_eq!(first.downloaded, 3);
    let second = download(&project, &members, &options(dest.path())).await;
    assert!(!second.cancelled);
    assert_eq!((second.skipped_identical, second.downloaded), (3, 17));
    assert_ohapi_layout(&members, dest.path());
}

#[tokio::test]
async fn metadata_csv_has_ohapis_columns_and_every_file() {
    let sandbox = sandbox(world(2, 12)).await;
    let members = project(&sandbox).members().await.unwrap();
    let csv = metadata_csv(&members);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("project_member_id,data_source,file_basename,file_upload_date")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 24);
    let file = &members[1].files[11];
    let expected = format!(
        "{},{},{},{}",
        members[1].project_member_id, file.source, file.basename, file.created
    );
    assert!(rows.contains(&expected.as_str()), "{expected}");
}

#[tokio::test]
async fn messages_go_as_json_arrays_with_a_preview_and_a_count() {
    let sandbox = sandbox(world(4, 1)).await;
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let chosen = vec![
        members[0].project_member_id.clone(),
        members[2].project_member_id.clone(),
    ];
    let template = "Your id is {{ PROJECT_MEMBER_ID }}.";
    assert_eq!(
        render_preview(template, &chosen[0]),
        format!("Your id is {}.", chosen[0])
    );
    let selected = Recipients::Members(chosen.clone());
    assert_eq!(project.recipient_count(&selected).await.unwrap(), 2);
    project.message("Hello", template, &selected).await.unwrap();
    let sent = sandbox.messages();
    let receivers: Vec<&str> = sent.iter().map(|m| m.project_member_id.as_str()).collect();
    assert_eq!(
        receivers,
        chosen.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(sent[1].body, render_preview(template, &chosen[1]));

    assert_eq!(
        project
            .recipient_count(&Recipients::AllMembers)
            .await
            .unwrap(),
        4
    );
    project
        .message("", "To everyone", &Recipients::AllMembers)
        .await
        .unwrap();
    assert_eq!(sandbox.messages().len(), 6);

    let unknown = Recipients::Members(vec!["00000000".into()]);
    let error = project.message("x", "y", &unknown).await.unwrap_err();
    assert!(
        error.message.contains("Invalid project member ID"),
        "{error}"
    );
}

#[tokio::test]
async fn removed_members_leave_the_list() {
    let sandbox = sandbox(world(3, 1)).await;
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let gone = members[1].project_member_id.clone();
    project
        .remove_members(std::slice::from_ref(&gone))
        .await
        .unwrap();
    let removed = sandbox.removed_members();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].project_member_id, gone);
    let left = project.members().await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|m| m.project_member_id != gone));
}

/// A project with one joined member sharing one file, and that member's id.
async fn one_member_project() -> (RunningSandbox, Project, String) {
    let sandbox = sandbox(world(1, 1)).await;
    let project = project(&sandbox);
    let member = project.members().await.unwrap()[0]
        .project_member_id
        .clone();
    (sandbox, project, member)
}

/// Writes `<dir>/<member>/<name>` files and a multi-member metadata CSV describing them.
fn upload_folder(dir: &Path, member: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let folder = dir.join(member);
    std::fs::create_dir_all(&folder).unwrap();
    let mut csv = String::from("project_member_id,filename,tags,description,creation_date\n");
    for (name, content) in files {
        std::fs::write(folder.join(name), content).unwrap();
        csv.push_str(&format!(
            "{member},{name},\"survey,weekly\",Answers to {name},2024-03-01T10:00:00Z\n"
        ));
    }
    let csv_path = dir.join("metadata.csv");
    std::fs::write(&csv_path, csv).unwrap();
    csv_path
}

fn upload_options(dir: &Path, csv: std::path::PathBuf, mode: UploadMode) -> UploadOptions {
    UploadOptions {
        dir: dir.to_owned(),
        metadata_csv: csv,
        member: None,
        mode,
        max_size: None,
    }
}

/// The project's own files of a member, by basename, with their md5.
async fn own_files(project: &Project, member: &str) -> Vec<(String, String)> {
    let own = project.info().await.unwrap().id_label;
    let mut files: Vec<(String, String)> = project
        .member_files(member)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.source == own)
        .map(|f| (f.basename.clone(), f.md5().unwrap()))
        .collect();
    files.sort();
    files
}

fn md5_text(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn upload_modes_default_safe_and_sync() {
    let (_sandbox, project, member) = one_member_project().await;
    let dir = tempfile::tempdir().unwrap();

    let csv = upload_folder(dir.path(), &member, &[("a.txt", "one"), ("b.txt", "two")]);
    let report = project
        .upload_from_dir(&upload_options(dir.path(), csv, UploadMode::Default))
        .await
        .unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    assert_eq!(
        own_files(&project, &member).await,
        vec![
            ("a.txt".into(), md5_text("one")),
            ("b.txt".into(), md5_text("two"))
        ]
    );
    let uploaded = project.member_files(&member).await.unwrap();
    let a = uploaded.iter().find(|f| f.basename == "a.txt").unwrap();
    assert_eq!(a.tags(), vec!["survey", "weekly"]);
    assert_eq!(a.description(), Some("Answers to a.txt".to_owned()));

    // Default: unchanged files stay, changed ones are replaced.
    let csv = upload_folder(dir.path(), &member, &[("a.txt", "one"), ("b.txt", "TWO")]);
    let report = project
        .upload_from_dir(&upload_options(
            dir.path(),
            csv.clone(),
            UploadMode::Default,
        ))
        .await
        .unwrap();
    assert!(matches!(
        report.outcomes[0],
        UploadOutcome::Unchanged { .. }
    ));
    assert!(
        matches!(&report.outcomes[1], UploadOutcome::Uploaded { replaced, .. } if replaced.len() == 1)
    );
    assert_eq!(
        own_files(&project, &member).await,
        vec![
            ("a.txt".into(), md5_text("one")),
            ("b.txt".into(), md5_text("TWO"))
        ]
    );

    // Safe: an existing name is never touched.
    std::fs::write(dir.path().join(&member).join("b.txt"), "changed again").unwrap();
    let report = project
        .upload_from_dir(&upload_options(dir.path(), csv, UploadMode::Safe))
        .await
        .unwrap();
    assert!(report
        .outcomes
        .iter()
        .all(|o| matches!(o, UploadOutcome::SkippedExisting { .. })));
    assert_eq!(own_files(&project, &member).await[1].1, md5_text("TWO"));

    // Sync: what is not in the folder goes.
    std::fs::remove_file(dir.path().join(&member).join("a.txt")).unwrap();
    let csv = upload_folder(dir.path(), &member, &[("b.txt", "TWO")]);
    let report = project
        .upload_from_dir(&upload_options(dir.path(), csv, UploadMode::Sync))
        .await
        .unwrap();
    assert!(report
        .outcomes
        .iter()
        .any(|o| matches!(o, UploadOutcome::Deleted { filename, .. } if filename == "a.txt")));
    assert_eq!(
        own_files(&project, &member).await,
        vec![("b.txt".into(), md5_text("TWO"))]
    );
}

#[tokio::test]
async fn metadata_is_validated_before_anything_is_sent() {
    let (_sandbox, project, member) = one_member_project().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(&member);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a.txt"), "x").unwrap();
    let cases = [
        format!("project_member_id,filename,tags,description\n{member},a.txt,t,\n"),
        format!("project_member_id,filename,tags,description,start_date\n{member},a.txt,t,d,March 1st\n"),
        format!("project_member_id,filename,tags,description,md5\n{member},a.txt,t,d,00000000000000000000000000000000\n"),
        format!("project_member_id,filename,tags,description\n{member},missing.txt,t,d\n"),
    ];
    for csv in cases {
        let path = dir.path().join("metadata.csv");
        std::fs::write(&path, &csv).unwrap();
        let error = project
            .upload_from_dir(&upload_options(dir.path(), path, UploadMode::Default))
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput, "{csv}");
    }
    assert!(own_files(&project, &member).await.is_empty());
}

#[tokio::test]
async fn a_5xx_on_completion_is_checked_before_reporting() {
    let (sandbox, project, member) = one_member_project().await;
    let dir = tempfile::tempdir().unwrap();

    // Completed, but every answer is lost: the listing shows it, so it is done.
    sandbox.set_faults(Faults {
        upload_complete_error_rate: 1.0,
        ..Faults::default()
    });
    let csv = upload_folder(dir.path(), &member, &[("done.txt", "finished")]);
    let report = project
        .upload_from_dir(&upload_options(dir.path(), csv, UploadMode::Default))
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], UploadOutcome::Uploaded { size: 8, .. }),
        "{report:?}"
    );

    // Storage refuses the bytes: never completed, reported as failed, not listed.
    sandbox.set_faults(Faults {
        storage_error_rate: 1.0,
        ..Faults::default()
    });
    let csv = upload_folder(
        dir.path(),
        &member,
        &[("done.txt", "finished"), ("half.txt", "never")],
    );
    let report = project
        .upload_from_dir(&upload_options(dir.path(), csv, UploadMode::Default))
        .await
        .unwrap();
    assert!(matches!(
        report.outcomes[0],
        UploadOutcome::Unchanged { .. }
    ));
    assert!(matches!(report.outcomes[1], UploadOutcome::Failed { .. }));
    assert_eq!(report.failures(), 1);
    sandbox.set_faults(Faults::default());
    assert_eq!(
        own_files(&project, &member).await,
        vec![("done.txt".into(), md5_text("finished"))]
    );
}

#[tokio::test]
async fn delete_by_id_basename_and_all() {
    let (_sandbox, project, member) = one_member_project().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = upload_folder(
        dir.path(),
        &member,
        &[
            ("a.txt", "1"),
            ("b.txt", "2"),
            ("c.txt", "3"),
            ("d.txt", "4"),
        ],
    );
    project
        .upload_from_dir(&upload_options(dir.path(), csv, UploadMode::Default))
        .await
        .unwrap();
    let own = project.info().await.unwrap().id_label;
    let files = project.member_files(&member).await.unwrap();
    let a = files.iter().find(|f| f.basename == "a.txt").unwrap().id;

    let deleted = project
        .delete(&member, &DeleteTarget::FileId(a))
        .await
        .unwrap();
    assert_eq!(deleted, vec![a]);
    let deleted = project
        .delete(&member, &DeleteTarget::Basename("b.txt".into()))
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    let deleted = project
        .delete(&member, &DeleteTarget::AllFiles)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 2);
    let left = project.member_files(&member).await.unwrap();
    assert!(left.iter().all(|f| f.source != own));
    assert_eq!(
        left.len(),
        1,
        "shared files are not the project's to delete"
    );
}

/// A server whose error pages echo the request, token and all, as some do.
async fn echoing_server() -> url::Url {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let app = axum::Router::new().fallback(|uri: Uri, headers: HeaderMap| async move {
        let authorization = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let status = if uri.path().contains("members") {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::NOT_FOUND
        };
        (
            status,
            format!(r#"{{"detail":"No such page: {uri} ({authorization})"}}"#),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn an_error_page_that_echoes_the_request_never_shows_the_master_token() {
    let token = "M".repeat(20) + &"4".repeat(44);
    let project = Project::new(echoing_server().await, MasterToken::new(token.clone())).unwrap();
    let info = project.info().await.unwrap_err();
    assert_eq!(info.code, ErrorCode::NotFound);
    assert!(info.message.contains("No such page"), "{}", info.message);
    let members = project.member_count().await.unwrap_err();
    assert_eq!(members.code, ErrorCode::ReconnectNeeded);
    for error in [info, members] {
        assert!(!error.message.contains(&token), "{}", error.message);
        assert!(!error.message.contains(&token[..24]), "{}", error.message);
    }
}

#[tokio::test]
async fn a_server_whose_next_links_go_round_in_circles_ends_the_listing_with_an_error() {
    // 250 members: three pages of the member list, and each member's files on pages too.
    let sandbox = sandbox(world(250, 2)).await;
    sandbox.set_faults(Faults {
        next_link_loops: true,
        ..Faults::default()
    });
    let listing = tokio::time::timeout(Duration::from_secs(20), project(&sandbox).members())
        .await
        .expect("the listing ends instead of following the circle");
    let err = listing.unwrap_err();
    assert!(err.message.contains("already read"), "{err}");
}

#[tokio::test]
async fn hostile_names_stay_inside_the_destination_and_every_file_is_kept() {
    let sandbox = sandbox(world(2, 12)).await;
    sandbox.set_faults(Faults {
        hostile_names: true,
        ..Faults::default()
    });
    let project = project(&sandbox);
    let members = project.members().await.unwrap();
    let listed: usize = members.iter().map(|m| m.files.len()).sum();
    let outside = tempfile::tempdir().unwrap();
    let dest = outside.path().join("dest");
    let summary = download(&project, &members, &options(&dest)).await;
    assert_eq!(summary.downloaded, listed, "{:?}", summary.failed);
    let on_disk = files_under(&dest);
    assert_eq!(
        on_disk.len(),
        listed,
        "one file per listed file: {on_disk:?}"
    );
    assert!(on_disk.iter().all(|name| !name.ends_with(".part")));
    assert_eq!(
        summary.bytes,
        bytes_under(&dest),
        "the summary is what is on disk"
    );
    let beside: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        ["dest"],
        "nothing was written outside the destination"
    );
}

fn bytes_under(dir: &Path) -> u64 {
    paths_under(dir)
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}
