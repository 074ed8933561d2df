//! The researcher console: an Open Humans project seen through its master access token.
//!
//! The token is held in memory for the session; keeping it in the OS keyring is an explicit
//! opt-in. Open Humans does not say when a master token expires (24 hours after it was made or
//! refreshed on the website), so the console counts down from when it was pasted, and a token
//! Open Humans refuses closes the session and asks for a fresh one.

use crate::checklist::{ChecklistStep, ProjectStanding};
use crate::console::{member_row, ResearchConsole};
use crate::progress::Reporting;
use crate::{
    Datalinks, DeleteTargetInput, DownloadProgress, DownloadSummary, ExportedMetadata, FileGroup,
    ListingProgressView, MemberList, MessagePreview, MessageRequest, ProjectDownloadRequest,
    ProjectMembers, ProjectStats, ProjectUploadReport, ProjectUploadRequest, ProjectView, Report,
};
use datalinks_core::{
    now_unix, Error, ErrorCode, MasterToken, Provider, RegistrationIdentity, Result,
};
use datalinks_openhumans::DEFAULT_BASE_URL;
use datalinks_research::{read_member_ids, ProjectInfo};
use datalinks_store::EventScope;
use datalinks_vault::{legacy_key, SecretKind, SecretOwner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How long a master token lives after it is made or refreshed (docs/providers/open-humans.md,
/// "Master tokens (researchers)").
const MASTER_TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// When a kept token expires at the latest; the keyring holds only the token itself.
const MASTER_TOKEN_EXPIRY_SETTING: &str = "master_token_expires_at";

/// The open project: its console, the server its master token belongs to, and what the
/// console shows of it.
pub(crate) struct ProjectSession {
    console: Arc<ResearchConsole>,
    server: ProjectServer,
    view: ProjectView,
    approved: bool,
    is_study: bool,
}

/// The Open Humans server a project (and its master token) lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ProjectServer {
    /// The built-in sandbox, wherever it runs.
    Sandbox,
    /// A server address, normalized.
    Address(String),
}

/// The app setting that remembers which server the kept master token belongs to.
const PROJECT_SERVER_SETTING: &str = "project_server";
const SANDBOX_SETTING_VALUE: &str = "sandbox";

impl ProjectSession {
    /// The project as the inbox names it: its server and its id there.
    pub(crate) fn key(&self) -> datalinks_store::ProjectKey {
        datalinks_store::ProjectKey {
            server: self.server.setting().to_owned(),
            project_id: self.view.id,
        }
    }

    /// The keyring name of the project's webhook secret: its server, and the project as the
    /// account.
    pub(crate) fn webhook_secret_owner(&self) -> datalinks_core::AccountIdentity {
        datalinks_core::AccountIdentity {
            registration: self.server.identity(),
            account_id: self.view.id.to_string(),
        }
    }
}

impl ProjectServer {
    /// The name the master token is kept under: the server, with no client id.
    fn identity(&self) -> RegistrationIdentity {
        match self {
            Self::Sandbox => RegistrationIdentity::sandbox(Provider::OpenHumans, ""),
            Self::Address(address) => {
                RegistrationIdentity::new(Provider::OpenHumans, "", vec![address.clone()])
            }
        }
    }

    fn setting(&self) -> &str {
        match self {
            Self::Sandbox => SANDBOX_SETTING_VALUE,
            Self::Address(address) => address,
        }
    }

    fn from_setting(value: &str) -> Self {
        match value {
            SANDBOX_SETTING_VALUE => Self::Sandbox,
            address => Self::Address(address.to_owned()),
        }
    }
}

impl Datalinks {
    /// Opens the project with a pasted master token, kept in the keyring only when `remember`,
    /// under the server it belongs to.
    pub async fn open_project(&self, master_token: String, remember: bool) -> Result<ProjectView> {
        let token = MasterToken::new(master_token.trim());
        if !is_master_token(token.expose()) {
            return Err(Error::invalid_input(
                "That is not a master access token: it has 64 letters and digits. Copy it from \
                 the project's page on Open Humans.",
            ));
        }
        let server = self.project_server()?;
        let expires_at = now_unix() + MASTER_TOKEN_LIFETIME_SECS;
        let view = self
            .start_project_session(server.clone(), token.clone(), expires_at, remember)
            .await?;
        if remember {
            let identity = server.identity();
            let kept = self
                .vault_call(move |vault| vault.set_master_token(&identity, &token))
                .await;
            if let Err(error) = kept {
                // Not opened half-way: the person asked for the token to be kept.
                *self.project_session.lock().unwrap() = None;
                return Err(error);
            }
            self.store
                .set_app_setting(PROJECT_SERVER_SETTING, server.setting())?;
            self.store
                .set_app_setting(MASTER_TOKEN_EXPIRY_SETTING, &expires_at.to_string())?;
        } else if let Err(error) = self.forget_kept_master_token().await {
            // Choosing not to remember it also forgets a token kept earlier; a locked keyring
            // must not stop a session-only project, and "Close and forget" can do it later.
            log::warn!("could not forget an earlier kept master token: {error}");
        }
        self.store.record_event(
            self.project_scope(&server)?,
            "project_opened",
            &format!(
                "Opened project {} with its master token ({}).",
                view.name,
                if remember {
                    "kept in the OS keyring"
                } else {
                    "held for this session only"
                }
            ),
        )?;
        Ok(view)
    }

    /// Opens the built-in sandbox's project with its master token, for the session: a way to try
    /// the console with no Open Humans project. Starts the sandbox if needed; never touches the
    /// person's own settings or a kept token.
    pub async fn open_sandbox_project(&self) -> Result<ProjectView> {
        let token = MasterToken::new(self.sandboxes().await?.open_humans.master_access_token());
        let server = ProjectServer::Sandbox;
        let expires_at = now_unix() + MASTER_TOKEN_LIFETIME_SECS;
        let view = self
            .start_project_session(server.clone(), token, expires_at, false)
            .await?;
        self.store.record_event(
            self.project_scope(&server)?,
            "project_opened",
            &format!("Opened the sandbox's project {}.", view.name),
        )?;
        Ok(view)
    }

    /// The open project; else the one whose token is kept in the keyring (on the server it was
    /// kept for, whatever the settings say now); else `None`.
    pub async fn current_project(&self) -> Result<Option<ProjectView>> {
        if let Some(session) = self.project_session.lock().unwrap().as_ref() {
            return Ok(Some(session.view.clone()));
        }
        let Some(server) = self.kept_project_server().await? else {
            return Ok(None);
        };
        let identity = server.identity();
        let Some(token) = self
            .vault_call(move |vault| vault.master_token(&identity))
            .await?
        else {
            return Ok(None);
        };
        let expires_at = self
            .store
            .app_setting(MASTER_TOKEN_EXPIRY_SETTING)?
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| now_unix() + MASTER_TOKEN_LIFETIME_SECS);
        self.start_project_session(server, token, expires_at, true)
            .await
            .map(Some)
    }

    /// The server of the kept master token. A token kept by a release before registrations
    /// (`openhumans/master_token`) belonged to the server the settings named, and moves to
    /// that server's name.
    async fn kept_project_server(&self) -> Result<Option<ProjectServer>> {
        if let Some(value) = self.store.app_setting(PROJECT_SERVER_SETTING)? {
            return Ok(Some(ProjectServer::from_setting(&value)));
        }
        let server = self.project_server()?;
        let identity = server.identity();
        let moved = self
            .vault_call(move |vault| {
                vault.adopt_legacy(
                    &legacy_key(Provider::OpenHumans, SecretKind::MasterToken),
                    SecretOwner::Registration(&identity),
                    SecretKind::MasterToken,
                )
            })
            .await?;
        if !moved {
            return Ok(None);
        }
        self.store
            .set_app_setting(PROJECT_SERVER_SETTING, server.setting())?;
        Ok(Some(server))
    }

    /// Deletes the kept master token, if any.
    async fn forget_kept_master_token(&self) -> Result<()> {
        let Some(value) = self.store.app_setting(PROJECT_SERVER_SETTING)? else {
            return Ok(());
        };
        let identity = ProjectServer::from_setting(&value).identity();
        self.vault_call(move |vault| {
            vault.delete(
                SecretOwner::Registration(&identity),
                SecretKind::MasterToken,
            )
        })
        .await?;
        self.store.remove_app_setting(PROJECT_SERVER_SETTING)
    }

    /// Closes the project; `forget` also deletes a token kept in the keyring.
    pub async fn close_project(&self, forget: bool) -> Result<()> {
        if forget {
            self.forget_kept_master_token().await?;
        }
        *self.project_session.lock().unwrap() = None;
        self.stop_receiver().await;
        Ok(())
    }

    async fn start_project_session(
        &self,
        server: ProjectServer,
        token: MasterToken,
        token_expires_at: i64,
        token_in_keyring: bool,
    ) -> Result<ProjectView> {
        let base_url = match &server {
            ProjectServer::Sandbox => self.sandboxes().await?.open_humans.base_url(),
            ProjectServer::Address(address) => datalinks_core::server_url(address)?,
        };
        let shown = match &server {
            ProjectServer::Sandbox => "built-in sandbox",
            ProjectServer::Address(address) => address,
        };
        let console = ResearchConsole::new(base_url, token, self.audit.clone(), shown)?;
        let console = Arc::new(console);
        let info = console.info().await?;
        let view = project_view(&info, token_expires_at, token_in_keyring, self)?;
        *self.project_session.lock().unwrap() = Some(ProjectSession {
            console,
            server,
            view: view.clone(),
            approved: info.approved,
            is_study: info.is_study,
        });
        self.saw_step(ChecklistStep::ProjectCreated);
        self.resume_webhook_receiver().await;
        Ok(view)
    }

    /// The server a newly opened project is on: the person's own Open Humans registration's,
    /// else the sandbox once tried, else production.
    fn project_server(&self) -> Result<ProjectServer> {
        let registrations = self.store.registrations(Some(Provider::OpenHumans))?;
        let current = |sandbox: bool| {
            registrations
                .iter()
                .find(|r| r.sandbox == sandbox && !r.retired)
        };
        Ok(match (current(false), current(true)) {
            (Some(own), _) => ProjectServer::Address(own.base_url.clone()),
            (None, Some(_)) => ProjectServer::Sandbox,
            (None, None) => ProjectServer::Address(DEFAULT_BASE_URL.to_owned()),
        })
    }

    /// Where the console's events are recorded: with the registration of the project's server,
    /// when there is one.
    fn project_scope(&self, server: &ProjectServer) -> Result<EventScope> {
        let registration = self
            .store
            .registrations(Some(Provider::OpenHumans))?
            .into_iter()
            .find(|r| match server {
                ProjectServer::Sandbox => r.sandbox,
                ProjectServer::Address(address) => !r.sandbox && &r.base_url == address,
            })
            .map(|r| r.id);
        Ok(EventScope {
            provider: Provider::OpenHumans,
            registration,
            connection: None,
        })
    }

    /// Records an event of the open project's.
    pub(crate) fn record_project_event(&self, kind: &str, detail: &str) -> Result<()> {
        let server = self
            .project_session
            .lock()
            .unwrap()
            .as_ref()
            .map(|s| s.server.clone());
        let scope = match server {
            Some(server) => self.project_scope(&server)?,
            None => EventScope {
                provider: Provider::OpenHumans,
                registration: None,
                connection: None,
            },
        };
        self.store.record_event(scope, kind, detail)
    }

    /// What `read` takes from the open project's session; an error when none is open.
    pub(crate) fn with_open_project<T>(
        &self,
        read: impl FnOnce(&ProjectSession) -> T,
    ) -> Result<T> {
        let session = self.project_session.lock().unwrap();
        session.as_ref().map(read).ok_or_else(|| {
            Error::new(
                ErrorCode::NotConfigured,
                "No project is open: paste the project's master access token first.",
            )
        })
    }

    pub(crate) fn open_console(&self) -> Result<Arc<ResearchConsole>> {
        self.with_open_project(|session| session.console.clone())
    }

    /// Passes `result` on; a refused token also closes the session, so the console asks for
    /// a fresh one.
    pub(crate) fn checked<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(error) = &result {
            if error.code == ErrorCode::ReconnectNeeded {
                *self.project_session.lock().unwrap() = None;
            }
        }
        result
    }

    /// Every member with every file, listed again when `refresh` or not listed yet; each page
    /// of a listing goes to `report` as it arrives.
    pub async fn project_members(
        &self,
        refresh: bool,
        report: Report<ListingProgressView>,
    ) -> Result<ProjectMembers> {
        let console = self.open_console()?;
        let listed = console.members(refresh, |page| report(page)).await;
        let members = self.checked(listed)?;
        let ids: Vec<String> = members
            .iter()
            .map(|m| m.project_member_id.clone())
            .collect();
        if !ids.is_empty() {
            self.saw_step(ChecklistStep::TestAuthorization);
        }
        // The latest listing is the member count the checklist compares with the cap.
        if let Some(session) = self.project_session.lock().unwrap().as_mut() {
            session.view.authorized_members = ids.len() as u64;
        }
        self.note_roster(ids).await?;
        let sources: BTreeSet<&str> = members
            .iter()
            .flat_map(|m| m.files.iter().map(|f| f.source.as_str()))
            .collect();
        Ok(ProjectMembers {
            members: members.iter().map(member_row).collect(),
            sources: sources.into_iter().map(str::to_owned).collect(),
        })
    }

    /// One member's files, fetched afresh (exchange-member).
    pub async fn project_member_files(&self, project_member_id: &str) -> Result<Vec<FileGroup>> {
        let console = self.open_console()?;
        self.checked(console.member_files(project_member_id).await)
    }

    /// Downloads the chosen members' files in ohapi's layout, into `dest` or the project's
    /// folder. Progress goes to `report`; `cancel_downloads` stops it, and the same request
    /// again resumes.
    pub async fn download_project_files(
        &self,
        request: ProjectDownloadRequest,
        dest: Option<PathBuf>,
        report: Report<DownloadProgress>,
    ) -> Result<DownloadSummary> {
        let console = self.open_console()?;
        let dest = match dest {
            Some(dest) => dest,
            None => PathBuf::from(&self.open_project_view()?.download_folder),
        };
        let cancel = self.begin_download_run()?;
        let _run = crate::download::DownloadRun(self);
        let observer = Reporting(report);
        let shared_sources = !request.project_data;
        let view = self.checked(console.download(request, dest, &observer, &cancel).await)?;
        if shared_sources && view.downloaded > 0 {
            self.saw_step(ChecklistStep::DataAccess);
        }
        self.record_project_event(
            "project_files_downloaded",
            &view.history_line("Project download into"),
        )?;
        Ok(view)
    }

    /// What the checklist needs to know about the open project.
    pub(crate) fn open_project_standing(&self) -> Result<ProjectStanding> {
        self.with_open_project(|session| ProjectStanding {
            approved: session.approved,
            is_study: session.is_study,
            members: session.view.authorized_members,
        })
    }

    pub(crate) fn open_project_view(&self) -> Result<ProjectView> {
        self.with_open_project(|session| session.view.clone())
    }

    /// The member ids listed in a file the person chose.
    pub fn read_member_list(&self, path: &Path) -> Result<MemberList> {
        Ok(MemberList {
            path: path.display().to_string(),
            ids: read_member_ids(path)?,
        })
    }

    /// Writes the file list as ohproj-download-metadata does.
    pub async fn export_project_metadata(&self, path: &Path) -> Result<ExportedMetadata> {
        let console = self.open_console()?;
        self.checked(console.export_metadata(path).await)
    }

    /// The recipient count and the text as one recipient reads it; sends nothing.
    pub async fn preview_message(&self, request: &MessageRequest) -> Result<MessagePreview> {
        let console = self.open_console()?;
        self.checked(console.preview_message(request).await)
    }

    /// Sends the message through Open Humans; returns how many members it was sent to.
    pub async fn send_message(&self, request: &MessageRequest) -> Result<u32> {
        let console = self.open_console()?;
        let count = self.checked(console.send_message(request).await)?;
        self.saw_step(ChecklistStep::Messaging);
        self.record_project_event(
            "project_message_sent",
            &format!("Sent {:?} to {count} members.", request.subject),
        )?;
        Ok(count)
    }

    /// Uploads the files in `dir` as `metadata_csv` describes them.
    pub async fn upload_to_members(
        &self,
        request: ProjectUploadRequest,
        dir: PathBuf,
        metadata_csv: PathBuf,
    ) -> Result<ProjectUploadReport> {
        let console = self.open_console()?;
        let view = self.checked(console.upload(request, dir.clone(), metadata_csv).await)?;
        if view.outcomes.iter().any(|o| o.outcome == "uploaded") {
            self.saw_step(ChecklistStep::Upload);
        }
        self.record_project_event(
            "project_files_uploaded",
            &format!(
                "Uploaded from {}: {} outcomes, {} failed.",
                dir.display(),
                view.outcomes.len(),
                view.failures
            ),
        )?;
        Ok(view)
    }

    /// Deletes project files of one member; returns the deleted file ids.
    pub async fn delete_member_files(
        &self,
        project_member_id: &str,
        target: DeleteTargetInput,
    ) -> Result<Vec<u64>> {
        let console = self.open_console()?;
        let ids = self.checked(console.delete_files(project_member_id, target).await)?;
        self.record_project_event(
            "project_files_deleted",
            &format!(
                "Deleted {} project files of member {project_member_id}.",
                ids.len()
            ),
        )?;
        Ok(ids)
    }

    pub async fn remove_members(&self, project_member_ids: Vec<String>) -> Result<u32> {
        let console = self.open_console()?;
        let removed = self.checked(console.remove_members(&project_member_ids).await)?;
        self.record_project_event(
            "project_members_removed",
            &format!(
                "Removed {removed} members: {}.",
                project_member_ids.join(", ")
            ),
        )?;
        Ok(removed)
    }

    /// Members joined over time, and per source: members, files, and the volume downloaded
    /// into the project's default folder.
    pub async fn project_stats(&self) -> Result<ProjectStats> {
        let folder = PathBuf::from(self.open_project_view()?.download_folder);
        let console = self.open_console()?;
        self.checked(console.stats(folder).await)
    }
}

fn is_master_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn project_view(
    info: &ProjectInfo,
    token_expires_at: i64,
    token_in_keyring: bool,
    service: &Datalinks,
) -> Result<ProjectView> {
    let folder = service
        .download_folder()?
        .join(safe_folder_name(&info.slug));
    Ok(ProjectView {
        id: info.id,
        name: info.name.clone(),
        slug: info.slug.clone(),
        id_label: info.id_label.clone(),
        authorized_members: info.authorized_members,
        contact_email: info.contact_email.clone(),
        token_expires_at,
        token_in_keyring,
        download_folder: folder.display().to_string(),
    })
}

/// A slug as one folder name (slugs are letters, digits and dashes; anything else is replaced).
fn safe_folder_name(slug: &str) -> String {
    let name: String = slug
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "project".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_tokens_are_64_letters_and_digits() {
        assert!(is_master_token(
            &"aZ9"
                .repeat(21)
                .chars()
                .chain("x".chars())
                .collect::<String>()
        ));
        assert!(!is_master_token("short"));
        assert!(!is_master_token(&format!("{}-", "a".repeat(63))));
    }
}
