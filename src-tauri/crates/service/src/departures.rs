//! Members who leave the open project: Open Humans' signed deauthorization webhook received
//! locally, departures noticed between two listings, and what the researcher does about them
//! (docs/departures.md).

use crate::{Datalinks, ServiceEvent};
use datalinks_core::{now_unix, AccountIdentity, Error, ErrorCode, Result, WebhookSecret};
use datalinks_http::server::{serve_bounded, ServerLimits};
use datalinks_research::webhook::{self, Deauthorization, SignatureRefusal};
use datalinks_store::{Departure, DepartureAction, DepartureReceipt, ProjectKey, Store};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use ts_rs::TS;

/// Connections are short: Open Humans posts about 110 bytes and waits for the answer.
const RECEIVER_LIMITS: ServerLimits = ServerLimits {
    connection_deadline: Duration::from_secs(10),
    header_timeout: Duration::from_secs(5),
    max_connections: 64,
    max_request_head: 16 * 1024,
};

/// Called after each verified delivery is saved, with whether it was new (not a repeat).
pub type OnArrival = Arc<dyn Fn(&Deauthorization, bool) + Send + Sync>;

/// The webhook receiver: verifies each POST's signature with the project's secret and writes
/// the notification to the inbox before answering 200. Stops when dropped.
pub struct WebhookReceiver {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// What the receiver checks and where it writes.
struct Inbox {
    store: Arc<Store>,
    project: ProjectKey,
    secret: WebhookSecret,
    on_arrival: OnArrival,
}

impl WebhookReceiver {
    /// Listens on `address` (port 0 picks one) and serves until dropped.
    pub async fn start(
        store: Arc<Store>,
        project: ProjectKey,
        secret: WebhookSecret,
        address: SocketAddr,
        on_arrival: OnArrival,
    ) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|err| {
                Error::invalid_input(format!(
                    "Could not listen on {address} for webhooks: {err}. Choose another port, or \
                 stop the program that uses it."
                ))
            })?;
        let address = listener
            .local_addr()
            .map_err(|err| Error::internal(err.to_string()))?;
        let inbox = Arc::new(Inbox {
            store,
            project,
            secret,
            on_arrival,
        });
        let task = tokio::spawn(async move {
            serve_bounded(
                &listener,
                RECEIVER_LIMITS,
                std::future::pending(),
                move |request| receive(inbox.clone(), request),
            )
            .await;
        });
        Ok(Self { address, task })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops and waits until the port is free again (dropping only asks the task to stop).
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers one request. Nothing that fails a check is written, and a refused body is never
/// logged (it may be anyone's).
async fn receive(inbox: Arc<Inbox>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "This is Datalinks' webhook receiver: Open Humans POSTs here.",
        );
    }
    let signature = request
        .headers()
        .get(webhook::SIGNATURE_HEADER)
        .map(|value| value.as_bytes().to_vec());
    let body = match Limited::new(request.into_body(), webhook::MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            log::warn!(
                "webhook refused: its body is over {} bytes",
                webhook::MAX_BODY_BYTES
            );
            return answer(StatusCode::PAYLOAD_TOO_LARGE, "Too large.");
        }
        Err(_) => return answer(StatusCode::BAD_REQUEST, "The body did not arrive."),
    };
    if let Err(refusal) = webhook::verify(&inbox.secret, &body, signature.as_deref()) {
        log::warn!("webhook refused: {}", refusal.describe());
        return answer(
            StatusCode::UNAUTHORIZED,
            "Not signed with this project's secret.",
        );
    }
    let notification = match webhook::parse(&body) {
        Ok(notification) => notification,
        Err(error) => {
            log::warn!("webhook refused: {}", error.message);
            return answer(
                StatusCode::BAD_REQUEST,
                "Not a deauthorization notification.",
            );
        }
    };
    let saved = {
        let (inbox, notification) = (inbox.clone(), notification.clone());
        tokio::task::spawn_blocking(move || {
            inbox.store.record_webhook_departure(
                &inbox.project,
                &notification.project_member_id,
                notification.erasure_requested,
                &notification.timestamp,
            )
        })
        .await
    };
    match saved
        .map_err(|err| Error::internal(err.to_string()))
        .and_then(|saved| saved)
    {
        Ok(new) => {
            (inbox.on_arrival)(&notification, new);
            answer(StatusCode::OK, "Saved.")
        }
        Err(error) => {
            log::error!("webhook verified but not saved: {}", error.message);
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not saved; the app logs why.",
            )
        }
    }
}

fn answer(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("Connection", "close")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("a response with static headers builds")
}

/// The outcome of checking a pasted delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct WebhookCheck {
    pub verified: bool,
    /// In plain words: why it does not verify, or what it says.
    pub message: String,
}

/// Checks a delivery as the receiver would: signature first, then the body.
pub fn check_delivery(secret: &WebhookSecret, body: &[u8], signature: &str) -> WebhookCheck {
    let signature = Some(signature.trim()).filter(|s| !s.is_empty());
    if let Err(refusal) = webhook::verify(secret, body, signature.map(str::as_bytes)) {
        let hint = match refusal {
            SignatureRefusal::Mismatch => {
                " Paste the body exactly as it arrived: one changed space changes the signature."
            }
            SignatureRefusal::Unsigned => {
                " Open Humans' retry after a failed delivery is always unsigned."
            }
            SignatureRefusal::Malformed => "",
        };
        return WebhookCheck {
            verified: false,
            message: format!("It does not verify: {}.{hint}", refusal.describe()),
        };
    }
    match webhook::parse(body) {
        Ok(notification) => WebhookCheck {
            verified: true,
            message: format!(
                "Signed with this project's secret: member {} left{} at {}.",
                notification.project_member_id,
                if notification.erasure_requested {
                    " and asked for their data to be erased"
                } else {
                    ""
                },
                notification.timestamp
            ),
        },
        Err(error) => WebhookCheck {
            verified: false,
            message: format!("The signature matches, but {}", error.message),
        },
    }
}

/// Where the receiver listens, as the researcher set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReceiverSettings {
    /// An IP address: 127.0.0.1 behind a tunnel or reverse proxy on this machine.
    pub address: String,
    pub port: u16,
}

impl Default for ReceiverSettings {
    fn default() -> Self {
        Self {
            address: "127.0.0.1".into(),
            port: 8765,
        }
    }
}

impl ReceiverSettings {
    pub fn socket_address(&self) -> Result<SocketAddr> {
        let ip: IpAddr = self.address.trim().parse().map_err(|_| {
            Error::invalid_input(format!(
                "{:?} is not an IP address. Use 127.0.0.1 to receive through a tunnel or a \
                 reverse proxy on this computer.",
                self.address
            ))
        })?;
        if self.port == 0 {
            return Err(Error::invalid_input(
                "Choose a port between 1 and 65535 for the receiver.",
            ));
        }
        Ok(SocketAddr::new(ip, self.port))
    }
}

/// The inbox of the open project, and the receiver's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DepartureInbox {
    pub entries: Vec<Departure>,
    pub receiver: ReceiverView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ReceiverView {
    pub settings: ReceiverSettings,
    /// Whether the project's webhook secret is in the keyring.
    pub has_secret: bool,
    /// `http://address:port/` while it runs.
    pub listening_at: Option<String>,
}

/// The project `project_id` on the server at `address`, as the inbox names it: the app names
/// its open project on that server the same way, so the CLI and the app share one inbox.
pub fn project_key_at(address: &str, project_id: u64) -> Result<ProjectKey> {
    Ok(ProjectKey {
        server: crate::settings::normalized_url(address)?,
        project_id,
    })
}

/// A project's receiver as the app settings keep it: where it listens, and whether it is on.
#[derive(Default, Serialize, Deserialize)]
struct StoredReceiver {
    settings: ReceiverSettings,
    on: bool,
}

/// The app setting that holds a project's [`StoredReceiver`].
fn receiver_setting(project: &ProjectKey) -> String {
    format!("webhook_receiver:{}#{}", project.server, project.project_id)
}

impl Datalinks {
    /// The open project as the inbox names it.
    pub(crate) fn open_project_key(&self) -> Result<ProjectKey> {
        self.with_open_project(|session| session.key())
    }

    /// The keyring name of the open project's webhook secret: its server and project id.
    fn webhook_secret_owner(&self) -> Result<AccountIdentity> {
        self.with_open_project(|session| session.webhook_secret_owner())
    }

    /// Keeps the open project's webhook secret in the keyring (16 to 64 ASCII characters).
    pub async fn set_webhook_secret(&self, secret: &str) -> Result<ReceiverView> {
        let secret = webhook::check_secret(secret)?;
        let owner = self.webhook_secret_owner()?;
        self.vault_call(move |vault| vault.set_webhook_secret(&owner, &secret))
            .await?;
        // A running receiver picks the new secret up.
        if self.receiver.lock().unwrap().is_some() {
            self.start_webhook_receiver(self.stored_receiver()?.settings)
                .await?;
        }
        self.receiver_view().await
    }

    async fn webhook_secret(&self) -> Result<Option<WebhookSecret>> {
        let owner = self.webhook_secret_owner()?;
        self.vault_call(move |vault| vault.webhook_secret(&owner))
            .await
    }

    fn stored_receiver(&self) -> Result<StoredReceiver> {
        let key = self.open_project_key()?;
        Ok(self
            .store
            .app_setting(&receiver_setting(&key))?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default())
    }

    fn store_receiver(&self, stored: &StoredReceiver) -> Result<()> {
        let key = self.open_project_key()?;
        self.store.set_app_setting(
            &receiver_setting(&key),
            &serde_json::to_string(stored).expect("settings serialize"),
        )
    }

    /// Starts (or restarts) the receiver for the open project and remembers that it is on.
    pub async fn start_webhook_receiver(&self, settings: ReceiverSettings) -> Result<ReceiverView> {
        let address = settings.socket_address()?;
        let key = self.open_project_key()?;
        let Some(secret) = self.webhook_secret().await? else {
            return Err(Error::new(
                ErrorCode::NotConfigured,
                "Save the project's webhook secret first: the receiver refuses every \
                 notification it cannot verify.",
            ));
        };
        // The port may be the running receiver's own.
        self.stop_receiver().await;
        let host = self.host.clone();
        let receiver = WebhookReceiver::start(
            self.store_handle(),
            key.clone(),
            secret,
            address,
            Arc::new(move |_: &Deauthorization, _| host.emit(ServiceEvent::DeparturesChanged)),
        )
        .await?;
        *self.receiver.lock().unwrap() = Some(receiver);
        self.store_receiver(&StoredReceiver { settings, on: true })?;
        self.receiver_view().await
    }

    /// Stops the receiver; it stays off until started again.
    pub async fn stop_webhook_receiver(&self) -> Result<ReceiverView> {
        self.stop_receiver().await;
        // The address and port stay for next time.
        let stored = self.stored_receiver()?;
        self.store_receiver(&StoredReceiver {
            on: false,
            ..stored
        })?;
        self.receiver_view().await
    }

    /// Stops the running receiver, if any, and frees its port.
    pub(crate) async fn stop_receiver(&self) {
        let running = self.receiver.lock().unwrap().take();
        if let Some(receiver) = running {
            receiver.stop().await;
        }
    }

    /// Starts the receiver of a project that had it on, when the project opens.
    pub(crate) async fn resume_webhook_receiver(&self) {
        let Ok(StoredReceiver { settings, on: true }) = self.stored_receiver() else {
            return;
        };
        if let Err(error) = self.start_webhook_receiver(settings).await {
            log::warn!("the webhook receiver did not start again: {error}");
        }
    }

    async fn receiver_view(&self) -> Result<ReceiverView> {
        let settings = self.stored_receiver()?.settings;
        let has_secret = self.webhook_secret().await?.is_some();
        let listening_at = self
            .receiver
            .lock()
            .unwrap()
            .as_ref()
            .map(|receiver| format!("http://{}/", receiver.address()));
        Ok(ReceiverView {
            settings,
            has_secret,
            listening_at,
        })
    }

    /// The open project's inbox, with the receiver's state.
    pub async fn departures(&self) -> Result<DepartureInbox> {
        let key = self.open_project_key()?;
        Ok(DepartureInbox {
            entries: self.store.departures(&key)?,
            receiver: self.receiver_view().await?,
        })
    }

    /// Checks a delivery the researcher pasted against the secret in the keyring.
    pub async fn check_webhook_delivery(
        &self,
        body: &str,
        signature: &str,
    ) -> Result<WebhookCheck> {
        let Some(secret) = self.webhook_secret().await? else {
            return Err(Error::new(
                ErrorCode::NotConfigured,
                "Save the project's webhook secret first.",
            ));
        };
        Ok(check_delivery(&secret, body.as_bytes(), signature))
    }

    fn open_departure(&self, id: i64) -> Result<(ProjectKey, Departure)> {
        let key = self.open_project_key()?;
        let entry = self.store.departure(&key, id)?.ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                "That entry is not in this project's inbox.",
            )
        })?;
        Ok((key, entry))
    }

    /// Deletes every file the project uploaded for the departed member on Open Humans
    /// (`all_files`), and keeps the receipt with the entry.
    pub async fn delete_departed_member_files(&self, id: i64) -> Result<Departure> {
        let (key, entry) = self.open_departure(id)?;
        let console = self.open_console()?;
        let deleted = self.checked(
            console
                .delete_files(&entry.project_member_id, crate::DeleteTargetInput::AllFiles)
                .await,
        )?;
        let receipt = DepartureReceipt {
            at: now_unix(),
            summary: match deleted.len() {
                0 => "Open Humans held no files this project uploaded for the member.".into(),
                1 => "Deleted 1 file this project uploaded for the member.".into(),
                n => format!("Deleted {n} files this project uploaded for the member."),
            },
            items: deleted.iter().map(|id| format!("file {id}")).collect(),
            bytes: 0,
        };
        self.keep_receipt(&key, &entry, DepartureAction::ProjectFiles, &receipt)
    }

    /// Deletes the departed member's folder under the project's download folder, and keeps a
    /// receipt of every file removed.
    pub async fn delete_departed_member_local_copies(&self, id: i64) -> Result<Departure> {
        let (key, entry) = self.open_departure(id)?;
        let download_folder = PathBuf::from(self.open_project_view()?.download_folder);
        let member = entry.project_member_id.clone();
        let removed =
            tokio::task::spawn_blocking(move || remove_member_folder(&download_folder, &member))
                .await
                .map_err(|err| Error::internal(format!("deleting local copies failed: {err}")))??;
        let receipt = DepartureReceipt {
            at: now_unix(),
            summary: removed.summary,
            items: removed.items,
            bytes: removed.bytes,
        };
        self.keep_receipt(&key, &entry, DepartureAction::LocalCopies, &receipt)
    }

    /// Keeps an action's receipt with its entry and in the history; the entry as it is now.
    fn keep_receipt(
        &self,
        key: &ProjectKey,
        entry: &Departure,
        action: DepartureAction,
        receipt: &DepartureReceipt,
    ) -> Result<Departure> {
        self.store
            .record_departure_receipt(key, entry.id, action, receipt)?;
        let kind = match action {
            DepartureAction::ProjectFiles => "departed_member_files_deleted",
            DepartureAction::LocalCopies => "departed_member_copies_deleted",
        };
        self.record_project_event(
            kind,
            &format!("Member {}: {}", entry.project_member_id, receipt.summary),
        )?;
        self.emit_departures_changed();
        self.open_departure(entry.id).map(|(_, entry)| entry)
    }

    /// Marks an entry handled, with an optional note.
    pub fn mark_departure_handled(&self, id: i64, note: Option<String>) -> Result<Departure> {
        let (key, _) = self.open_departure(id)?;
        let note = note
            .map(|note| note.trim().to_owned())
            .filter(|note| !note.is_empty());
        if note
            .as_ref()
            .is_some_and(|note| note.chars().count() > 2_000)
        {
            return Err(Error::invalid_input(
                "Keep the note under 2,000 characters.",
            ));
        }
        self.store
            .mark_departure_handled(&key, id, note.as_deref())?;
        self.emit_departures_changed();
        self.open_departure(id).map(|(_, entry)| entry)
    }

    /// Compares a complete listing with the previous one; members who vanished join the inbox.
    pub(crate) async fn note_roster(&self, member_ids: Vec<String>) -> Result<()> {
        let key = self.open_project_key()?;
        // Tens of thousands of rows: off the async workers.
        let store = self.store_handle();
        let change = tokio::task::spawn_blocking(move || store.update_roster(&key, &member_ids))
            .await
            .map_err(|err| Error::internal(format!("updating the roster failed: {err}")))??;
        if !change.returned.is_empty() {
            self.saw_step(crate::checklist::ChecklistStep::Reauthorization);
        }
        if !change.departed.is_empty() {
            self.record_project_event(
                "departures_detected",
                &format!(
                    "No longer in the members list: {}.",
                    change.departed.join(", ")
                ),
            )?;
            self.emit_departures_changed();
        }
        Ok(())
    }

    fn emit_departures_changed(&self) {
        self.host.emit(ServiceEvent::DeparturesChanged);
    }
}

/// What deleting a folder of local copies removed.
#[derive(Debug)]
pub(crate) struct Removed {
    pub summary: String,
    pub items: Vec<String>,
    pub bytes: u64,
}

/// Removes the member's folder under `download_folder` and everything in it. A member id is
/// only ever 8 digits; anything else (a server's listing names the detected ones) is refused,
/// so no id can name a folder outside.
fn remove_member_folder(download_folder: &Path, project_member_id: &str) -> Result<Removed> {
    if !datalinks_research::is_project_member_id(project_member_id) {
        return Err(Error::invalid_input(format!(
            "{project_member_id:?} is not a project member id (8 digits); nothing was deleted."
        )));
    }
    remove_folder(&download_folder.join(project_member_id))
}

/// Removes `folder` and everything in it, listing each file first. A symbolic link is removed
/// as a link: nothing outside the folder is touched.
pub(crate) fn remove_folder(folder: &Path) -> Result<Removed> {
    let Some((items, bytes)) = folder_contents(folder)? else {
        return Ok(Removed {
            summary: format!("There were no local copies in {}.", folder.display()),
            items: Vec::new(),
            bytes: 0,
        });
    };
    std::fs::remove_dir_all(folder).map_err(|err| io_error(folder, err))?;
    let files = match items.len() {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    Ok(Removed {
        summary: format!("Deleted {files} and the folder {}.", folder.display()),
        items,
        bytes,
    })
}

/// Every file under `folder` (paths relative to it, sorted) and their total size; `None` when
/// there is no such folder. Symbolic links are listed, never followed.
pub(crate) fn folder_contents(folder: &Path) -> Result<Option<(Vec<String>, u64)>> {
    let metadata = match std::fs::symlink_metadata(folder) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(folder, err)),
    };
    if !metadata.is_dir() {
        return Err(Error::invalid_input(format!(
            "{} is not a folder; nothing was deleted.",
            folder.display()
        )));
    }
    let mut items = Vec::new();
    let mut bytes = 0u64;
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|err| io_error(&dir, err))? {
            let entry = entry.map_err(|err| io_error(&dir, err))?;
            let kind = entry
                .file_type()
                .map_err(|err| io_error(&entry.path(), err))?;
            if kind.is_dir() {
                pending.push(entry.path());
                continue;
            }
            if kind.is_file() {
                bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
            let relative = entry.path();
            let relative = relative.strip_prefix(folder).unwrap_or(&relative);
            items.push(relative.display().to_string());
        }
    }
    items.sort();
    Ok(Some((items, bytes)))
}

fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::storage(format!(
        "Could not delete the local copies in {}: {err}. What was not deleted is still there.",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_id_that_is_not_8_digits_deletes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let downloads = root.path().join("project");
        std::fs::create_dir_all(downloads.join("12345678")).unwrap();
        std::fs::write(root.path().join("outside.txt"), b"keep").unwrap();
        for id in ["..", "../project", "1234567", "/tmp", "12345678/..", ""] {
            let error = remove_member_folder(&downloads, id).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidInput, "{id}");
        }
        assert!(root.path().join("outside.txt").exists());
        assert!(downloads.join("12345678").exists());
        let removed = remove_member_folder(&downloads, "12345678").unwrap();
        assert!(removed.items.is_empty());
        assert!(!downloads.join("12345678").exists());
    }
}
