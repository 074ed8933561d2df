//! The researcher console: an Open Humans project seen through its master access token.
//!
//! The token is held in memory for the session; keeping it in the OS keyring is an explicit
//! opt-in. Open Humans does not say when a master token expires (24 hours after it was made or
//! refreshed on the website), so the console counts down from when it was pasted, and a token
//! Open Humans refuses closes the session and asks for a fresh one.

use crate::member::group_by_source;
use crate::progress::HostProgress;
use crate::{
    Datalinks, DeleteTargetInput, DownloadRunKind, ExportedMetadata, FileGroup, JoinedPoint,
    ListingProgressView, MemberList, MessagePreview, MessageRequest, ProjectDownloadFailure,
    ProjectDownloadRequest, ProjectDownloadSummary, ProjectMemberRow, ProjectMembers, ProjectStats,
    ProjectUploadReport, ProjectView, ServiceEvent, SourceStats, UploadModeInput,
    UploadOutcomeView,
};
use datalinks_core::{
    now_unix, Error, ErrorCode, MasterToken, Provider, RegistrationIdentity, Result,
};
use datalinks_openhumans::DEFAULT_BASE_URL;
use datalinks_research::{
    parse_size, plan, read_member_ids, render_preview, DownloadOptions, MemberFilter, Project,
    ProjectInfo, ProjectMember, Recipients, UploadMode, UploadOptions, UploadOutcome,
};
use datalinks_store::EventScope;
use datalinks_vault::{legacy_key, SecretKind, SecretOwner};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How long a master token lives after it is made or refreshed (docs/providers/open-humans.md,
/// "Master tokens (researchers)").
const MASTER_TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// When a kept token expires at the latest; the keyring holds only the token itself.
const MASTER_TOKEN_EXPIRY_SETTING: &str = "master_token_expires_at";
const DEFAULT_CONCURRENCY: usize = 8;
/// Whom the preview shows the message to when no member is chosen.
const PREVIEW_MEMBER: &str = "12345678";

/// The open project: its client, the server its master token belongs to, what the console
/// shows of it, and the latest member list.
pub(crate) struct ProjectSession {
    project: Arc<Project>,
    server: ProjectServer,
    view: ProjectView,
    members: Option<Arc<Vec<ProjectMember>>>,
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
        let project = Arc::new(Project::new(base_url, token)?);
        let info = project.info().await?;
        let view = project_view(&info, token_expires_at, token_in_keyring, self)?;
        *self.project_session.lock().unwrap() = Some(ProjectSession {
            project,
            server,
            view: view.clone(),
            members: None,
        });
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
    fn record_project_event(&self, kind: &str, detail: &str) -> Result<()> {
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

    fn open_project_client(&self) -> Result<Arc<Project>> {
        let session = self.project_session.lock().unwrap();
        session
            .as_ref()
            .map(|session| session.project.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NotConfigured,
                    "No project is open: paste the project's master access token first.",
                )
            })
    }

    /// Passes `result` on; a refused token also closes the session, so the console asks for
    /// a fresh one.
    fn checked<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(error) = &result {
            if error.code == ErrorCode::ReconnectNeeded {
                *self.project_session.lock().unwrap() = None;
            }
        }
        result
    }

    /// Every member with every file, listed again when `refresh` or not listed yet; progress
    /// arrives as [`ServiceEvent::ProjectListing`].
    pub async fn project_members(&self, refresh: bool) -> Result<ProjectMembers> {
        let members = self.listed_members(refresh).await?;
        let sources: BTreeSet<&str> = members
            .iter()
            .flat_map(|m| m.files.iter().map(|f| f.source.as_str()))
            .collect();
        Ok(ProjectMembers {
            members: members.iter().map(member_row).collect(),
            sources: sources.into_iter().map(str::to_owned).collect(),
        })
    }

    async fn listed_members(&self, refresh: bool) -> Result<Arc<Vec<ProjectMember>>> {
        let project = self.open_project_client()?;
        // One listing at a time: a caller that waited for a listing in flight uses its result.
        let _listing = self.project_listing.lock().await;
        if !refresh {
            let session = self.project_session.lock().unwrap();
            if let Some(members) = session.as_ref().and_then(|s| s.members.clone()) {
                return Ok(members);
            }
        }
        let host = self.host.clone();
        let listed = project
            .members_reporting(|progress, page| {
                host.emit(ServiceEvent::ProjectListing(ListingProgressView {
                    members_listed: progress.members_listed as u32,
                    members_total: progress.members_total as u32,
                    page: page.iter().map(member_row).collect(),
                }))
            })
            .await;
        let members = Arc::new(self.checked(listed)?);
        let mut session = self.project_session.lock().unwrap();
        // Kept only if the same project is still open.
        if let Some(session) = session
            .as_mut()
            .filter(|s| Arc::ptr_eq(&s.project, &project))
        {
            session.members = Some(members.clone());
        }
        Ok(members)
    }

    /// One member's files, fetched afresh (exchange-member).
    pub async fn project_member_files(&self, project_member_id: &str) -> Result<Vec<FileGroup>> {
        let project = self.open_project_client()?;
        let files = self.checked(project.member_files(project_member_id).await)?;
        Ok(group_by_source(&files))
    }

    /// Downloads the chosen members' files in ohapi's layout. Progress arrives through
    /// `Host::download_progress` with `run: project`; `cancel_downloads` stops it, and the same
    /// request again resumes.
    pub async fn download_project_files(
        &self,
        request: ProjectDownloadRequest,
        dest: Option<PathBuf>,
    ) -> Result<ProjectDownloadSummary> {
        let project = self.open_project_client()?;
        let options = self.download_options(request, dest)?;
        let cancel = self.begin_download_run()?;
        let _run = crate::download::DownloadRun(self);
        let members = self.listed_members(false).await?;
        let observer = HostProgress {
            host: self.host.as_ref(),
            run: DownloadRunKind::Project,
        };
        let summary = project
            .download(&members, &options, &observer, &cancel)
            .await;
        let view = ProjectDownloadSummary {
            folder: options.dest.display().to_string(),
            planned: summary.planned as u32,
            downloaded: summary.downloaded as u32,
            skipped_identical: summary.skipped_identical as u32,
            skipped_too_large: summary.skipped_too_large as u32,
            failed: summary
                .failed
                .iter()
                .map(|failure| ProjectDownloadFailure {
                    project_member_id: failure.project_member_id.clone(),
                    file_id: failure.file_id,
                    path: failure.path.display().to_string(),
                    reason: failure.reason.message.clone(),
                })
                .collect(),
            bytes: summary.bytes,
            seconds: summary.seconds,
            cancelled: summary.cancelled,
        };
        self.record_project_event(
            "project_files_downloaded",
            &format!(
                "Project download into {}: {} downloaded ({} bytes), {} already present, {} too \
                 large, {} failed{}.",
                view.folder,
                view.downloaded,
                view.bytes,
                view.skipped_identical,
                view.skipped_too_large,
                view.failed.len(),
                if view.cancelled { ", cancelled" } else { "" }
            ),
        )?;
        Ok(view)
    }

    fn download_options(
        &self,
        request: ProjectDownloadRequest,
        dest: Option<PathBuf>,
    ) -> Result<DownloadOptions> {
        let dest = match dest {
            Some(dest) => dest,
            None => PathBuf::from(&self.open_project_view()?.download_folder),
        };
        if !dest.is_absolute() {
            return Err(Error::invalid_input(
                "The destination must be a full path, such as /home/you/Downloads/project.",
            ));
        }
        Ok(DownloadOptions {
            dest,
            members: MemberFilter {
                only: request.only.map(id_set),
                exclude: id_set(request.exclude),
            },
            source: request.source.filter(|s| !s.trim().is_empty()),
            project_data: request.project_data,
            max_size: request
                .max_size
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_size)
                .transpose()?,
            id_prefix: request.id_prefix,
            concurrency: match request.concurrency {
                0 => DEFAULT_CONCURRENCY,
                n => (n as usize).min(32),
            },
        })
    }

    fn open_project_view(&self) -> Result<ProjectView> {
        let session = self.project_session.lock().unwrap();
        session
            .as_ref()
            .map(|s| s.view.clone())
            .ok_or_else(|| Error::new(ErrorCode::NotConfigured, "No project is open."))
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
        if !path.is_absolute() {
            return Err(Error::invalid_input(
                "Save the CSV under a full path, such as /home/you/metadata.csv.",
            ));
        }
        let members = self.listed_members(false).await?;
        tokio::fs::write(path, datalinks_research::metadata_csv(&members))
            .await
            .map_err(|e| Error::storage(format!("Could not write {}: {e}", path.display())))?;
        Ok(ExportedMetadata {
            path: path.display().to_string(),
            members: members.len() as u32,
        })
    }

    /// The recipient count and the text as one recipient reads it; sends nothing.
    pub async fn preview_message(&self, request: &MessageRequest) -> Result<MessagePreview> {
        let project = self.open_project_client()?;
        let recipients = recipients(request)?;
        let recipient_count = self.checked(project.recipient_count(&recipients).await)?;
        let example_member = match &recipients {
            Recipients::Members(ids) => ids[0].clone(),
            Recipients::AllMembers => self
                .project_session
                .lock()
                .unwrap()
                .as_ref()
                .and_then(|s| s.members.as_ref()?.first().cloned())
                .map_or_else(|| PREVIEW_MEMBER.to_owned(), |m| m.project_member_id),
        };
        Ok(MessagePreview {
            recipient_count: recipient_count as u32,
            rendered: render_preview(&request.body, &example_member),
            example_member,
        })
    }

    /// Sends the message through Open Humans; returns how many members it was sent to.
    pub async fn send_message(&self, request: &MessageRequest) -> Result<u32> {
        let project = self.open_project_client()?;
        let recipients = recipients(request)?;
        let count = self.checked(project.recipient_count(&recipients).await)?;
        self.checked(
            project
                .message(&request.subject, &request.body, &recipients)
                .await,
        )?;
        self.record_project_event(
            "project_message_sent",
            &format!("Sent {:?} to {count} members.", request.subject),
        )?;
        Ok(count as u32)
    }

    /// Uploads the files in `dir` as `metadata_csv` describes them.
    pub async fn upload_to_members(
        &self,
        request: crate::ProjectUploadRequest,
        dir: PathBuf,
        metadata_csv: PathBuf,
    ) -> Result<ProjectUploadReport> {
        let project = self.open_project_client()?;
        let options = UploadOptions {
            dir,
            metadata_csv,
            member: request.member.filter(|m| !m.trim().is_empty()),
            mode: match request.mode {
                UploadModeInput::Default => UploadMode::Default,
                UploadModeInput::Safe => UploadMode::Safe,
                UploadModeInput::Sync => UploadMode::Sync,
            },
            max_size: request
                .max_size
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(parse_size)
                .transpose()?,
        };
        let report = self.checked(project.upload_from_dir(&options).await)?;
        let view = ProjectUploadReport {
            failures: report.failures() as u32,
            outcomes: report.outcomes.iter().map(outcome_view).collect(),
        };
        // A changed member's files make the listed ones stale.
        self.forget_listed_members();
        self.record_project_event(
            "project_files_uploaded",
            &format!(
                "Uploaded from {}: {} outcomes, {} failed.",
                options.dir.display(),
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
        let project = self.open_project_client()?;
        let ids = self.checked(project.delete(project_member_id, &target.into()).await)?;
        self.forget_listed_members();
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
        let project = self.open_project_client()?;
        self.checked(project.remove_members(&project_member_ids).await)?;
        self.forget_listed_members();
        self.record_project_event(
            "project_members_removed",
            &format!(
                "Removed {} members: {}.",
                project_member_ids.len(),
                project_member_ids.join(", ")
            ),
        )?;
        Ok(project_member_ids.len() as u32)
    }

    fn forget_listed_members(&self) {
        if let Some(session) = self.project_session.lock().unwrap().as_mut() {
            session.members = None;
        }
    }

    /// Members joined over time, and per source: members, files, and the volume downloaded
    /// into the project's default folder.
    pub async fn project_stats(&self) -> Result<ProjectStats> {
        let folder = PathBuf::from(self.open_project_view()?.download_folder);
        let members = self.listed_members(false).await?;
        let task_folder = folder.clone();
        tokio::task::spawn_blocking(move || stats(&members, &task_folder))
            .await
            .map_err(|e| Error::internal(format!("stats task failed: {e}")))
            .map(|(joined, sources)| ProjectStats {
                joined,
                sources,
                folder: folder.display().to_string(),
            })
    }
}

fn id_set(ids: impl IntoIterator<Item = String>) -> HashSet<String> {
    ids.into_iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect()
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

fn member_row(member: &ProjectMember) -> ProjectMemberRow {
    ProjectMemberRow {
        project_member_id: member.project_member_id.clone(),
        username: member.username.clone(),
        created: member.created.clone(),
        sources_shared: member.sources_shared.clone(),
        file_count: member.file_count as u32,
    }
}

fn recipients(request: &MessageRequest) -> Result<Recipients> {
    if request.body.trim().is_empty() {
        return Err(Error::invalid_input("The message has no text."));
    }
    match &request.recipients {
        None => Ok(Recipients::AllMembers),
        Some(ids) if ids.is_empty() => Err(Error::invalid_input(
            "No members are selected: choose some, or send to all members.",
        )),
        Some(ids) => Ok(Recipients::Members(ids.clone())),
    }
}

fn outcome_view(outcome: &UploadOutcome) -> UploadOutcomeView {
    let view = |outcome: &str, member: &str, filename: &str, detail: String| UploadOutcomeView {
        outcome: outcome.to_owned(),
        project_member_id: member.to_owned(),
        filename: filename.to_owned(),
        detail,
    };
    match outcome {
        UploadOutcome::Uploaded {
            project_member_id,
            filename,
            file_id,
            size,
            replaced,
        } => view(
            "uploaded",
            project_member_id,
            filename,
            match replaced.len() {
                0 => format!("file {file_id}, {size} bytes"),
                n => format!("file {file_id}, {size} bytes; replaced {n} older"),
            },
        ),
        UploadOutcome::Unchanged {
            project_member_id,
            filename,
        } => view(
            "unchanged",
            project_member_id,
            filename,
            "identical file already there".into(),
        ),
        UploadOutcome::SkippedExisting {
            project_member_id,
            filename,
        } => view(
            "skipped_existing",
            project_member_id,
            filename,
            "safe mode: a file of this name exists".into(),
        ),
        UploadOutcome::Deleted {
            project_member_id,
            filename,
            file_ids,
        } => view(
            "deleted",
            project_member_id,
            filename,
            format!("not in the folder: deleted {file_ids:?}"),
        ),
        UploadOutcome::Failed {
            project_member_id,
            filename,
            reason,
        } => view(
            "failed",
            project_member_id,
            filename,
            reason.message.clone(),
        ),
    }
}

/// The plots' figures. Sizes come from the files on disk: Open Humans does not list them.
fn stats(members: &[ProjectMember], folder: &Path) -> (Vec<JoinedPoint>, Vec<SourceStats>) {
    let mut joined_per_day: BTreeMap<&str, u32> = BTreeMap::new();
    for member in members {
        let day = member.created.get(..10).unwrap_or(&member.created);
        *joined_per_day.entry(day).or_default() += 1;
    }
    let mut running = 0;
    let joined = joined_per_day
        .into_iter()
        .map(|(date, count)| {
            running += count;
            JoinedPoint {
                date: date.to_owned(),
                members: running,
            }
        })
        .collect();

    let mut sources: BTreeMap<&str, SourceStats> = BTreeMap::new();
    for member in members {
        for source in &member.sources_shared {
            source_entry(&mut sources, source).members += 1;
        }
        for file in &member.files {
            source_entry(&mut sources, &file.source).files += 1;
        }
    }
    let default_layout = DownloadOptions {
        dest: folder.to_owned(),
        members: MemberFilter::default(),
        source: None,
        project_data: false,
        max_size: None,
        id_prefix: false,
        concurrency: 1,
    };
    for planned in plan(members, &default_layout) {
        if let (Ok(meta), Some(stats)) = (
            std::fs::metadata(&planned.fetch.dest),
            sources.get_mut(planned.source.as_str()),
        ) {
            stats.files_on_disk += 1;
            stats.bytes_on_disk += meta.len();
        }
    }
    (joined, sources.into_values().collect())
}

fn source_entry<'a, 'm>(
    sources: &'m mut BTreeMap<&'a str, SourceStats>,
    source: &'a str,
) -> &'m mut SourceStats {
    sources.entry(source).or_insert_with(|| SourceStats {
        source: source.to_owned(),
        members: 0,
        files: 0,
        files_on_disk: 0,
        bytes_on_disk: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datalinks_openhumans::DataFile;

    fn member(
        id: &str,
        created: &str,
        sources: &[&str],
        files: &[(u64, &str, &str)],
    ) -> ProjectMember {
        ProjectMember {
            project_member_id: id.into(),
            username: None,
            created: created.into(),
            sources_shared: sources.iter().map(|s| s.to_string()).collect(),
            file_count: files.len(),
            files: files
                .iter()
                .map(|(file_id, source, basename)| DataFile {
                    id: *file_id,
                    basename: basename.to_string(),
                    created: created.into(),
                    source: source.to_string(),
                    metadata: serde_json::Value::Null,
                })
                .collect(),
        }
    }

    #[test]
    fn stats_count_joins_per_day_cumulatively_and_measure_downloaded_copies() {
        let members = [
            member(
                "11111111",
                "2026-01-02T10:00:00Z",
                &["fitbit"],
                &[(1, "fitbit", "a.json")],
            ),
            member(
                "22222222",
                "2026-01-02T12:00:00Z",
                &["fitbit", "23andme"],
                &[(2, "fitbit", "b.json"), (3, "23andme", "genome.txt")],
            ),
            member("33333333", "2026-02-10T08:00:00Z", &[], &[]),
        ];
        let folder = tempfile::tempdir().unwrap();
        let copy = folder.path().join("22222222/23andme/genome.txt");
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::write(&copy, vec![0u8; 1234]).unwrap();

        let (joined, sources) = stats(&members, folder.path());
        assert_eq!(
            joined,
            [
                JoinedPoint {
                    date: "2026-01-02".into(),
                    members: 2
                },
                JoinedPoint {
                    date: "2026-02-10".into(),
                    members: 3
                },
            ]
        );
        let genome = sources.iter().find(|s| s.source == "23andme").unwrap();
        assert_eq!((genome.members, genome.files), (1, 1));
        assert_eq!((genome.files_on_disk, genome.bytes_on_disk), (1, 1234));
        let fitbit = sources.iter().find(|s| s.source == "fitbit").unwrap();
        assert_eq!(
            (fitbit.members, fitbit.files, fitbit.files_on_disk),
            (2, 2, 0)
        );
    }

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
