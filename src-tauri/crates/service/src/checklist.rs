//! The open project's path to approval, as Open Humans' OAuth2 setup guide numbers it
//! (docs/providers/open-humans.md, "The path to approval"): what Datalinks can see done it marks
//! itself, the rest the researcher ticks; kept per project.

use crate::Datalinks;
use datalinks_core::{Error, Result};
use datalinks_store::{ProjectKey, Store};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Unapproved projects take at most this many members (Open Humans' `MAX_UNAPPROVED_MEMBERS`).
pub const UNAPPROVED_MEMBER_CAP: u64 = 20;

/// A step of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChecklistStep {
    ProjectCreated,
    CredentialsSetUp,
    TestAuthorization,
    Withdrawal,
    Reauthorization,
    DataAccess,
    Messaging,
    Upload,
    Guidelines,
    Approval,
}

/// Where in the console a step is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ConsoleScreen {
    Members,
    Download,
    Message,
    Upload,
    Departures,
    /// Done on Open Humans' website, not in Datalinks.
    Website,
}

struct StepInfo {
    step: ChecklistStep,
    /// The number in Open Humans' guide.
    guide_step: u8,
    title: &'static str,
    /// What it asks and, for a step Datalinks checks, what counts as done.
    detail: &'static str,
    /// Datalinks marks it when it sees it done; otherwise the researcher ticks it.
    seen_by_datalinks: bool,
    screen: ConsoleScreen,
}

const STEPS: &[StepInfo] = &[
    StepInfo {
        step: ChecklistStep::ProjectCreated,
        guide_step: 1,
        title: "Create the project",
        detail: "Done when the project's master token opens it here.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Website,
    },
    StepInfo {
        step: ChecklistStep::CredentialsSetUp,
        guide_step: 4,
        title: "Set up the OAuth2 credentials and URLs",
        detail: "Copy the client ID and secret from the project's page into your app, and set its redirect URL and enrollment URL.",
        seen_by_datalinks: false,
        screen: ConsoleScreen::Website,
    },
    StepInfo {
        step: ChecklistStep::TestAuthorization,
        guide_step: 5,
        title: "Test authorization with up to 20 test users",
        detail: "Done when the members list shows a member who authorized the project.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Members,
    },
    StepInfo {
        step: ChecklistStep::Withdrawal,
        guide_step: 6,
        title: "Test withdrawal",
        detail: "Done when a member's departure reaches the inbox: from the webhook, or missing from one listing to the next.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Departures,
    },
    StepInfo {
        step: ChecklistStep::Reauthorization,
        guide_step: 6,
        title: "Test reauthorization",
        detail: "Done when a member who left is back in the members list.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Members,
    },
    StepInfo {
        step: ChecklistStep::DataAccess,
        guide_step: 7,
        title: "Test API data access",
        detail: "Done when a download got at least one file members share from a requested source.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Download,
    },
    StepInfo {
        step: ChecklistStep::Messaging,
        guide_step: 8,
        title: "Test messaging",
        detail: "Done when a message was sent to members.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Message,
    },
    StepInfo {
        step: ChecklistStep::Upload,
        guide_step: 9,
        title: "Test data upload",
        detail: "Done when a file was uploaded to a member.",
        seen_by_datalinks: true,
        screen: ConsoleScreen::Upload,
    },
    StepInfo {
        step: ChecklistStep::Guidelines,
        guide_step: 10,
        title: "Review the project guidelines",
        detail: "Check that the project has good security and responsible data management practices.",
        seen_by_datalinks: false,
        screen: ConsoleScreen::Website,
    },
    StepInfo {
        step: ChecklistStep::Approval,
        guide_step: 11,
        title: "Request project approval",
        detail: "Approval lifts the 20-member cap; it is discussed publicly on Open Humans' forum.",
        seen_by_datalinks: false,
        screen: ConsoleScreen::Website,
    },
];

impl ChecklistStep {
    fn key(self) -> &'static str {
        match self {
            Self::ProjectCreated => "project_created",
            Self::CredentialsSetUp => "credentials_set_up",
            Self::TestAuthorization => "test_authorization",
            Self::Withdrawal => "withdrawal",
            Self::Reauthorization => "reauthorization",
            Self::DataAccess => "data_access",
            Self::Messaging => "messaging",
            Self::Upload => "upload",
            Self::Guidelines => "guidelines",
            Self::Approval => "approval",
        }
    }

    fn info(self) -> &'static StepInfo {
        STEPS
            .iter()
            .find(|info| info.step == self)
            .expect("every step is described")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ChecklistItem {
    pub step: ChecklistStep,
    pub guide_step: u8,
    pub title: String,
    pub detail: String,
    pub seen_by_datalinks: bool,
    pub screen: ConsoleScreen,
    /// When it was seen done or ticked (Unix seconds).
    #[ts(type = "number | null")]
    pub done_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProjectChecklist {
    pub items: Vec<ChecklistItem>,
    /// Whether Open Humans has approved the project.
    pub approved: bool,
    /// A study needs an ethics board's approval before it asks for project approval.
    pub is_study: bool,
    #[ts(type = "number")]
    pub members: u64,
    /// The most members it may have now: 20 until it is approved.
    #[ts(type = "number | null")]
    pub member_cap: Option<u64>,
}

/// What Open Humans says about the project that the checklist needs.
pub struct ProjectStanding {
    pub approved: bool,
    pub is_study: bool,
    pub members: u64,
}

/// The checklist of `project` from what the database holds; the app and the CLI both read it.
pub fn read_checklist(
    store: &Store,
    project: &ProjectKey,
    standing: &ProjectStanding,
) -> Result<ProjectChecklist> {
    let marks = store.checklist_marks(project)?;
    // A departure is in the inbox however it came (the app's receiver, the CLI's, a listing).
    let first_departure = store
        .departures(project)?
        .iter()
        .map(|entry| entry.noticed_at)
        .min();
    let items = STEPS
        .iter()
        .map(|info| ChecklistItem {
            step: info.step,
            guide_step: info.guide_step,
            title: info.title.into(),
            detail: info.detail.into(),
            seen_by_datalinks: info.seen_by_datalinks,
            screen: info.screen,
            done_at: match info.step {
                ChecklistStep::Withdrawal => first_departure,
                step => marks
                    .iter()
                    .find(|mark| mark.item == step.key())
                    .map(|mark| mark.at),
            },
        })
        .collect();
    Ok(ProjectChecklist {
        items,
        approved: standing.approved,
        is_study: standing.is_study,
        members: standing.members,
        member_cap: (!standing.approved).then_some(UNAPPROVED_MEMBER_CAP),
    })
}

impl Datalinks {
    /// Marks a step Datalinks saw done for the open project. Never fails the action that saw
    /// it: a checklist that could not be saved is only logged.
    pub(crate) fn saw_step(&self, step: ChecklistStep) {
        let Ok(project) = self.open_project_key() else {
            return;
        };
        if let Err(error) = self.store.note_checklist_seen(&project, step.key()) {
            log::warn!("could not save the checklist: {error}");
        }
    }

    /// The open project's checklist.
    pub fn project_checklist(&self) -> Result<ProjectChecklist> {
        let project = self.open_project_key()?;
        read_checklist(&self.store, &project, &self.open_project_standing()?)
    }

    /// Ticks or unticks a step the researcher checks; Datalinks' own steps are not ticked.
    pub fn tick_checklist_step(&self, step: ChecklistStep, done: bool) -> Result<ProjectChecklist> {
        if step.info().seen_by_datalinks {
            return Err(Error::invalid_input(format!(
                "Datalinks marks \"{}\" itself when it sees it done.",
                step.info().title
            )));
        }
        let project = self.open_project_key()?;
        self.store.tick_checklist(&project, step.key(), done)?;
        self.project_checklist()
    }
}
