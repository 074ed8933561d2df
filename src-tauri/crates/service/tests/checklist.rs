//! The project's path to approval on the in-process sandbox: each step Datalinks checks turns
//! done from the action it watches, and only the other steps can be ticked.

mod support;

use datalinks_core::ErrorCode;
use datalinks_sandbox::SandboxConfig;
use datalinks_service::{ChecklistStep, MessageRequest, ProjectChecklist, ProjectDownloadRequest};
use support::{sandbox_config, Harness};

fn done(checklist: &ProjectChecklist) -> Vec<ChecklistStep> {
    checklist
        .items
        .iter()
        .filter(|item| item.done_at.is_some())
        .map(|item| item.step)
        .collect()
}

#[tokio::test]
async fn each_step_datalinks_checks_turns_done_from_the_action_it_watches() {
    let harness = Harness::with_open_project(SandboxConfig {
        member_count: 3,
        files_per_member: 2,
        ..sandbox_config()
    })
    .await;
    let service = &harness.service;
    let sandbox = harness.sandbox();
    let checklist = service.project_checklist().unwrap();
    assert_eq!(done(&checklist), [ChecklistStep::ProjectCreated]);
    assert_eq!(checklist.items.len(), 10);
    assert_eq!(
        checklist
            .items
            .iter()
            .map(|item| item.guide_step)
            .collect::<Vec<_>>(),
        [1, 4, 5, 6, 6, 7, 8, 9, 10, 11],
        "the guide's numbering"
    );
    assert!(!checklist.approved);
    assert_eq!(
        checklist.member_cap,
        Some(20),
        "unapproved: 20 members at most"
    );

    let listing = || service.project_members(true, harness.listing_report());
    let members = listing().await.unwrap().members;
    let checklist = service.project_checklist().unwrap();
    assert!(done(&checklist).contains(&ChecklistStep::TestAuthorization));
    assert_eq!(checklist.members, members.len() as u64);

    // A member leaves (no webhook), and the next listing notices it; alice joins, leaves and
    // comes back: a reauthorization.
    harness.connect_successfully().await;
    listing().await.unwrap();
    assert!(sandbox.deauthorize("alice"));
    listing().await.unwrap();
    assert_eq!(
        service.project_checklist().unwrap().members,
        members.len() as u64,
        "the count follows the latest listing"
    );
    let steps = done(&service.project_checklist().unwrap());
    assert!(steps.contains(&ChecklistStep::Withdrawal), "{steps:?}");
    assert!(!steps.contains(&ChecklistStep::Reauthorization));
    harness.connect_successfully().await;
    listing().await.unwrap();
    assert!(done(&service.project_checklist().unwrap()).contains(&ChecklistStep::Reauthorization));

    let member = members[0].project_member_id.clone();
    let into = tempfile::tempdir().unwrap();
    let summary = service
        .download_project_files(
            ProjectDownloadRequest {
                only: Some(vec![member.clone()]),
                exclude: vec![],
                source: None,
                project_data: false,
                max_size: None,
                id_prefix: false,
                concurrency: 2,
            },
            Some(into.path().to_owned()),
            harness.download_report(),
        )
        .await
        .unwrap();
    assert!(summary.downloaded > 0);
    assert!(done(&service.project_checklist().unwrap()).contains(&ChecklistStep::DataAccess));

    service
        .send_message(&MessageRequest {
            subject: "Hello".into(),
            body: "Thanks for testing.".into(),
            recipients: Some(vec![member.clone()]),
        })
        .await
        .unwrap();
    assert!(done(&service.project_checklist().unwrap()).contains(&ChecklistStep::Messaging));

    harness.upload_result(&member).await;
    let steps = done(&service.project_checklist().unwrap());
    assert!(steps.contains(&ChecklistStep::Upload));
    assert_eq!(
        steps.len(),
        7,
        "every step Datalinks checks, none of the others: {steps:?}"
    );
}

#[tokio::test]
async fn only_the_researchers_steps_can_be_ticked_and_they_stay_per_project() {
    let harness = Harness::with_open_project(sandbox_config()).await;
    let service = &harness.service;
    let error = service
        .tick_checklist_step(ChecklistStep::Messaging, true)
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidInput);
    let ticked = service
        .tick_checklist_step(ChecklistStep::Guidelines, true)
        .unwrap();
    assert!(done(&ticked).contains(&ChecklistStep::Guidelines));

    // Kept across a restart of the app.
    let restarted = harness.restarted();
    restarted
        .open_project(harness.sandbox().master_access_token(), false)
        .await
        .unwrap();
    assert!(done(&restarted.project_checklist().unwrap()).contains(&ChecklistStep::Guidelines));
    let unticked = restarted
        .tick_checklist_step(ChecklistStep::Guidelines, false)
        .unwrap();
    assert!(!done(&unticked).contains(&ChecklistStep::Guidelines));
}
