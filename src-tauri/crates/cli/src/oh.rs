//! `datalinks oh …`: a researcher's Open Humans project from scripts, over the app's own
//! research console (`datalinks_service::ResearchConsole`): the same option checks, listing,
//! downloads and summaries as the desktop app. The master token comes from a file or the
//! environment, never from a flag (command lines are visible to other users). Progress goes to
//! stderr, results to stdout.

use clap::{Args, Subcommand, ValueEnum};
use datalinks_core::{Error, ErrorCode, MasterToken, Result};
use datalinks_openhumans::DEFAULT_BASE_URL;
use datalinks_research::{
    parse_member_ids, read_member_ids, CancellationToken, Job, Observer, Outcome, RunProgress,
};
use datalinks_service::{
    DeleteTargetInput, MessageRequest, ProjectDownloadRequest, ProjectUploadRequest,
    ResearchConsole, UploadModeInput, DEFAULT_CONCURRENCY,
};
use datalinks_store::Store;
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

const MASTER_TOKEN_ENV: &str = "DATALINKS_OH_MASTER_TOKEN";

#[derive(Args)]
pub struct OhCommand {
    #[command(flatten)]
    project: ProjectArgs,
    #[command(subcommand)]
    action: OhAction,
}

#[derive(Args)]
struct ProjectArgs {
    /// File holding the project's master access token (otherwise the DATALINKS_OH_MASTER_TOKEN
    /// environment variable).
    #[arg(long, global = true)]
    master_token_file: Option<PathBuf>,
    #[arg(long, env = "DATALINKS_OH_BASE_URL", default_value = DEFAULT_BASE_URL, global = true)]
    base_url: String,
}

#[derive(Subcommand)]
enum OhAction {
    /// List the project's members with their sources and file counts.
    Members {
        #[arg(long)]
        json: bool,
    },
    /// Download members' files in ohapi's layout (`<dest>/<member>/<source>/<file>`).
    Download {
        #[arg(long, short = 'd')]
        dest: PathBuf,
        /// Only these members: ids separated by commas, or a file listing them.
        #[arg(long)]
        members: Option<String>,
        /// Never these members: ids separated by commas, or a file listing them.
        #[arg(long)]
        exclude: Option<String>,
        /// Only this source (its files go straight into the member's folder).
        #[arg(long, short = 's')]
        source: Option<String>,
        /// The project's own files instead of shared sources.
        #[arg(long)]
        project_data: bool,
        /// Skip files larger than this (e.g. 128m, 2GiB).
        #[arg(long)]
        max_size: Option<String>,
        /// Name files `<file id>.<name>`.
        #[arg(long)]
        id_prefix: bool,
        #[arg(long, default_value_t = DEFAULT_CONCURRENCY as u32)]
        concurrency: u32,
        #[arg(long)]
        json: bool,
    },
    /// Write the file list as CSV (as ohproj-download-metadata).
    DownloadMetadata {
        /// Where to write (default: stdout).
        #[arg(long)]
        output_csv: Option<PathBuf>,
    },
    /// Upload files from a folder with a metadata CSV (as ohproj-upload).
    Upload {
        #[arg(long, short = 'd')]
        dir: PathBuf,
        #[arg(long)]
        metadata_csv: PathBuf,
        /// The member, when the CSV has no project_member_id column (files directly in --dir).
        #[arg(long, short = 'm')]
        member: Option<String>,
        #[arg(long, value_enum, default_value_t = ModeArg::Default)]
        mode: ModeArg,
        #[arg(long)]
        max_size: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Email members through Open Humans.
    Message {
        #[arg(long, default_value = "")]
        subject: String,
        /// The text; `{{ PROJECT_MEMBER_ID }}` becomes each member's id.
        #[arg(long, required_unless_present = "body_file")]
        body: Option<String>,
        #[arg(long, conflicts_with = "body")]
        body_file: Option<PathBuf>,
        #[arg(long, conflicts_with = "members", required_unless_present = "members")]
        all: bool,
        /// Ids separated by commas, or a file listing them.
        #[arg(long)]
        members: Option<String>,
        /// Show the recipient count and the rendered text, send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete the project's files of a member.
    Delete {
        #[arg(long, short = 'm')]
        member: String,
        #[arg(long, group = "target")]
        file_id: Option<u64>,
        #[arg(long, group = "target")]
        basename: Option<String>,
        #[arg(long, group = "target")]
        all_files: bool,
        #[arg(long)]
        json: bool,
    },
    /// Open Humans' deauthorization webhook: receive it, or check a delivery.
    Webhook {
        #[command(subcommand)]
        command: crate::departures::WebhookAction,
    },
    /// Members who left the project: from the webhook, or noticed by Datalinks (shared with
    /// the app's inbox).
    Inbox {
        #[arg(long)]
        json: bool,
    },
    /// The project's path to approval: what Datalinks saw done and what was ticked in the app.
    Checklist {
        #[arg(long)]
        json: bool,
    },
    /// Remove members from the project (asks first).
    RemoveMembers {
        /// Ids separated by commas, or a file listing them.
        #[arg(long)]
        members: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Default,
    Safe,
    Sync,
}

impl From<ModeArg> for UploadModeInput {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Default => UploadModeInput::Default,
            ModeArg::Safe => UploadModeInput::Safe,
            ModeArg::Sync => UploadModeInput::Sync,
        }
    }
}

impl ProjectArgs {
    fn open(&self, audit: Arc<datalinks_service::AuditRecorder>) -> Result<ResearchConsole> {
        let token = match &self.master_token_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| Error::invalid_input(format!("{}: {e}", path.display())))?,
            None => std::env::var(MASTER_TOKEN_ENV).map_err(|_| {
                Error::new(
                    ErrorCode::NotConfigured,
                    format!("No master token: pass --master-token-file or set {MASTER_TOKEN_ENV}."),
                )
            })?,
        };
        let base_url = datalinks_core::server_url(&self.base_url)?;
        let server = base_url.as_str().trim_end_matches('/').to_owned();
        ResearchConsole::new(base_url, MasterToken::new(token.trim()), audit, &server)
    }
}

impl ProjectArgs {
    /// The project as the inbox names it.
    async fn key(&self, console: &ResearchConsole) -> Result<datalinks_service::ProjectKey> {
        datalinks_service::project_key_at(&self.base_url, console.info().await?.id)
    }
}

/// Member ids from a comma list or, when `value` names a file, from that file.
fn member_ids(value: &str) -> Result<Vec<String>> {
    let path = std::path::Path::new(value);
    if path.is_file() {
        read_member_ids(path)
    } else {
        Ok(parse_member_ids(value))
    }
}

/// A path from the command line, against the current folder when relative.
fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::invalid_input(format!("{}: {e}", path.display())))
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?;
    println!("{text}");
    Ok(())
}

pub async fn run(command: OhCommand, data_dir: Result<PathBuf>) -> Result<()> {
    use crate::departures::{open_store, verify, WebhookAction};
    if let OhAction::Webhook {
        command: WebhookAction::Verify {
            secret_env,
            signature,
        },
    } = &command.action
    {
        // Needs only the secret: no server, no master token.
        return verify(secret_env, signature);
    }
    let store = open_store(&data_dir?)?;
    let audit = datalinks_service::AuditRecorder::new(store.clone());
    let console = command.project.open(audit)?;
    run_on(command, &console, store).await
}

async fn run_on(command: OhCommand, console: &ResearchConsole, store: Arc<Store>) -> Result<()> {
    use crate::departures::{print_inbox, serve, WebhookAction};
    match command.action {
        OhAction::Webhook {
            command:
                WebhookAction::Serve {
                    address,
                    port,
                    secret_env,
                },
        } => {
            let project = command.project.key(console).await?;
            serve(store.clone(), project, address, port, &secret_env).await
        }
        OhAction::Webhook {
            command: WebhookAction::Verify { .. },
        } => unreachable!("handled above"),
        OhAction::Checklist { json } => {
            let info = console.info().await?;
            let project = datalinks_service::project_key_at(&command.project.base_url, info.id)?;
            let standing = datalinks_service::ProjectStanding {
                approved: info.approved,
                is_study: info.is_study,
                members: info.authorized_members,
            };
            crate::departures::print_checklist(
                &datalinks_service::read_checklist(&store, &project, &standing)?,
                json,
            )
        }
        OhAction::Inbox { json } => {
            let project = command.project.key(console).await?;
            print_inbox(&store, &project, json)
        }
        OhAction::Members { json } => {
            let members = console.members(true, |_| {}).await?;
            if json {
                let listed: Vec<_> = members
                    .iter()
                    .map(|m| {
                        json!({
                            "project_member_id": m.project_member_id,
                            "username": m.username,
                            "created": m.created,
                            "sources_shared": m.sources_shared,
                            "file_count": m.file_count,
                            "files": m.files.iter().map(|f| json!({
                                "id": f.id, "basename": f.basename, "source": f.source,
                                "created": f.created, "metadata": f.metadata.parsed(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                return print_json(&listed);
            }
            for m in members.iter() {
                let username = m.username.as_deref().unwrap_or("-");
                println!(
                    "{}\t{username}\t{} files\t{}",
                    m.project_member_id,
                    m.file_count,
                    m.sources_shared.join(",")
                );
            }
            eprintln!("{} members", members.len());
            Ok(())
        }
        OhAction::Download {
            dest,
            members,
            exclude,
            source,
            project_data,
            max_size,
            id_prefix,
            concurrency,
            json,
        } => {
            let request = ProjectDownloadRequest {
                only: members.as_deref().map(member_ids).transpose()?,
                exclude: exclude
                    .as_deref()
                    .map(member_ids)
                    .transpose()?
                    .unwrap_or_default(),
                source,
                project_data,
                max_size,
                id_prefix,
                concurrency,
            };
            let dest = absolute(&dest)?;
            let cancel = CancellationToken::new();
            let on_ctrl_c = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("Cancelling; run the same command again to resume.");
                    on_ctrl_c.cancel();
                }
            });
            eprintln!("Listing members…");
            let summary = console
                .download(request, dest, &PrintProgress::default(), &cancel)
                .await?;
            if json {
                print_json(&summary)?;
            } else {
                println!(
                    "downloaded {}, already present {}, too large {}, failed {}; {} bytes in {:.1} s{}",
                    summary.downloaded,
                    summary.skipped_identical,
                    summary.skipped_too_large,
                    summary.failed.len(),
                    summary.bytes,
                    summary.seconds,
                    if summary.cancelled { " (cancelled)" } else { "" }
                );
                for failed in &summary.failed {
                    println!("failed: {} ({})", failed.path, failed.reason);
                }
            }
            if summary.cancelled {
                return Err(Error::new(ErrorCode::Cancelled, "Cancelled."));
            }
            if !summary.failed.is_empty() {
                return Err(Error::unreachable(format!(
                    "{} files failed; run again to retry them.",
                    summary.failed.len()
                )));
            }
            Ok(())
        }
        OhAction::DownloadMetadata { output_csv } => {
            let (csv, _) = console.metadata_csv().await?;
            match output_csv {
                Some(path) => std::fs::write(&path, csv)
                    .map_err(|e| Error::storage(format!("{}: {e}", path.display()))),
                None => {
                    print!("{csv}");
                    Ok(())
                }
            }
        }
        OhAction::Upload {
            dir,
            metadata_csv,
            member,
            mode,
            max_size,
            json,
        } => {
            let request = ProjectUploadRequest {
                member,
                mode: mode.into(),
                max_size,
            };
            let report = console
                .upload(request, absolute(&dir)?, absolute(&metadata_csv)?)
                .await?;
            if json {
                print_json(&report)?;
            } else {
                for outcome in &report.outcomes {
                    println!(
                        "{}\t{}\t{}",
                        outcome.outcome, outcome.project_member_id, outcome.filename
                    );
                }
            }
            match report.failures {
                0 => Ok(()),
                n => Err(Error::provider(format!("{n} uploads failed."))),
            }
        }
        OhAction::Message {
            subject,
            body,
            body_file,
            all,
            members,
            dry_run,
        } => {
            let body = match (body, body_file) {
                (Some(body), _) => body,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map_err(|e| Error::invalid_input(format!("{}: {e}", path.display())))?,
                (None, None) => return Err(Error::invalid_input("Give --body or --body-file.")),
            };
            let request = MessageRequest {
                subject,
                body,
                recipients: match (all, members) {
                    (true, _) => None,
                    (false, Some(list)) => Some(member_ids(&list)?),
                    (false, None) => return Err(Error::invalid_input("Give --all or --members.")),
                },
            };
            let preview = console.preview_message(&request).await?;
            eprintln!(
                "{} recipients. As member {} reads it:",
                preview.recipient_count, preview.example_member
            );
            eprintln!("---\n{}\n---", preview.rendered);
            if dry_run {
                return Ok(());
            }
            let count = console.send_message(&request).await?;
            println!("sent to {count} members");
            Ok(())
        }
        OhAction::Delete {
            member,
            file_id,
            basename,
            all_files,
            json,
        } => {
            let target = match (file_id, basename, all_files) {
                (Some(file_id), _, _) => DeleteTargetInput::FileId { file_id },
                (_, Some(basename), _) => DeleteTargetInput::Basename { basename },
                (_, _, true) => DeleteTargetInput::AllFiles,
                _ => {
                    return Err(Error::invalid_input(
                        "Give --file-id, --basename or --all-files.",
                    ))
                }
            };
            let ids = console.delete_files(&member, target).await?;
            if json {
                print_json(&json!({ "ids": ids }))
            } else {
                println!("deleted {} files {ids:?}", ids.len());
                Ok(())
            }
        }
        OhAction::RemoveMembers { members, yes } => {
            let ids = member_ids(&members)?;
            if !yes
                && !confirm(&format!(
                    "Remove {} members ({})? Afterwards Open Humans no longer lets the project \
                     delete the files it gave them (oh delete --all-files first).",
                    ids.len(),
                    ids.join(", ")
                ))?
            {
                return Err(Error::new(ErrorCode::Cancelled, "Nothing removed."));
            }
            let removed = console.remove_members(&ids).await?;
            println!("removed {removed} members");
            Ok(())
        }
    }
}

/// Prints how a download goes on stderr: the files planned, then a line per finished file.
#[derive(Default)]
struct PrintProgress {
    planned: std::sync::OnceLock<()>,
}

impl Observer for PrintProgress {
    fn progress(&self, progress: &RunProgress) {
        self.planned
            .get_or_init(|| eprintln!("{} files to check", progress.files_total));
    }

    fn finished(&self, job: &Job, outcome: &Outcome, finished: usize, of: usize) {
        let what = match outcome {
            Outcome::Downloaded { bytes } => format!("{bytes} bytes"),
            Outcome::AlreadyPresent => "already present".into(),
            Outcome::TooLarge { size } => format!("skipped, {size} bytes is too large"),
            Outcome::Failed(reason) => format!("FAILED: {reason}"),
            Outcome::Cancelled => "cancelled".into(),
        };
        eprintln!("[{finished}/{of}] {} {what}", job.fetch.dest.display());
    }
}

fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} Type yes to confirm: ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}
