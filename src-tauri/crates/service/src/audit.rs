//! The audit log: every request Datalinks makes on someone's behalf, kept in SQLite (see
//! `datalinks_http::audit` for what a request leaves in it, and docs/audit.md).
//!
//! Requests are recorded off the request's path: the sink hands each to one writer thread,
//! which writes whatever has gathered in one transaction, so a bulk download of thousands of
//! files costs a handful of commits, not one per file. Reading the log waits for the writer
//! first, so what was requested before is in what is read.

use crate::registrations::summary_of;
use crate::Datalinks;
use datalinks_core::{ConnectionId, Provider, RegistrationId, Result};
use datalinks_http::audit::{AuditSink, Exchange};
use datalinks_store::{
    AuditEntry, AuditFacets, AuditFilter, ConnectionRecord, RegistrationRecord, Store,
};
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::UNIX_EPOCH;

/// What caused a request, as the log names it: one name per kind of work.
pub(crate) mod actions {
    pub const CONNECT: &str = "connect";
    /// A token's renewal: a refresh, or minting a new one.
    pub const REFRESH: &str = "refresh";
    pub const DISCONNECT: &str = "disconnect";
    pub const MEMBER_VIEW: &str = "member view";
    pub const ACCOUNT_VIEW: &str = "account view";
    pub const HEALTH_DATA_VIEW: &str = "health data view";
    pub const DOWNLOAD: &str = "download";
    pub const UPLOAD: &str = "upload";
    pub const DELETE_FILES: &str = "delete files";
    pub const RETRY: &str = "check again";
    pub const PROJECT_VIEW: &str = "project view";
    pub const PROJECT_LISTING: &str = "member listing";
    pub const PROJECT_DOWNLOAD: &str = "project download";
    pub const PROJECT_UPLOAD: &str = "project upload";
    pub const PROJECT_DELETE: &str = "project file deletion";
    pub const MESSAGE: &str = "message";
    pub const REMOVE_MEMBERS: &str = "member removal";
    /// Reading what a connection was granted, for the consent ledger.
    pub const LEDGER: &str = "consent ledger";
}

/// How many entries the app's log view shows at most (the newest; the CSV has them all).
pub const AUDIT_PAGE: usize = 500;

/// The newest entries that match a filter, as the app shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// More entries match than are shown: filter, or export them all.
    pub truncated: bool,
}

enum Message {
    Entry(Box<AuditEntry>),
    /// Answered once everything sent before is written.
    Flush(mpsc::Sender<()>),
}

/// Hands recorded requests to the writer thread.
pub struct AuditRecorder {
    writer: Mutex<mpsc::Sender<Message>>,
}

/// Whom requests are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub provider: Provider,
    pub registration_id: Option<RegistrationId>,
    pub connection_id: Option<ConnectionId>,
    /// In words, as the log shows it.
    pub label: String,
}

struct SubjectSink {
    recorder: Arc<AuditRecorder>,
    subject: Subject,
}

impl AuditSink for SubjectSink {
    fn record(&self, exchange: Exchange) {
        let at_ms = millis_since_epoch(exchange.started_at);
        self.recorder.send(Message::Entry(Box::new(AuditEntry {
            at_ms,
            provider: self.subject.provider,
            registration_id: self.subject.registration_id,
            connection_id: self.subject.connection_id,
            subject: self.subject.label.clone(),
            action: exchange.action.to_owned(),
            method: exchange.method,
            origin: exchange.origin,
            path: exchange.path,
            status: exchange.status,
            failure: exchange.failure,
            bytes_sent: exchange.bytes_sent,
            bytes_received: exchange.bytes_received,
            duration_ms: u64::try_from(exchange.duration.as_millis()).unwrap_or(u64::MAX),
        })));
    }
}

impl AuditRecorder {
    /// A recorder writing into `store`, with its writer thread.
    pub fn new(store: Arc<Store>) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_until_closed(&store, &receiver))
            .expect("a thread starts");
        Arc::new(Self {
            writer: Mutex::new(sender),
        })
    }

    /// The sink for requests made for `subject`.
    pub fn sink(self: &Arc<Self>, subject: Subject) -> Arc<dyn AuditSink> {
        Arc::new(SubjectSink {
            recorder: self.clone(),
            subject,
        })
    }

    /// Runs `work` with its requests recorded for `subject`.
    pub async fn scope<F: Future>(self: &Arc<Self>, subject: Subject, work: F) -> F::Output {
        datalinks_http::audit::scope(self.sink(subject), work).await
    }

    /// Now, in the log's unit (Unix milliseconds).
    pub fn now_ms(&self) -> i64 {
        millis_since_epoch(std::time::SystemTime::now())
    }

    /// Waits until everything recorded so far is written.
    pub fn flush(&self) {
        let (done, written) = mpsc::channel();
        self.send(Message::Flush(done));
        // The writer is gone only when the thread died; then there is nothing to wait for.
        let _ = written.recv();
    }

    fn send(&self, message: Message) {
        // Fails only when the writer thread is gone, and a log entry is not worth failing for.
        let _ = self.writer.lock().unwrap().send(message);
    }
}

fn millis_since_epoch(at: std::time::SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

impl Drop for AuditRecorder {
    /// What was recorded is written before the recorder goes (the CLI exits right after).
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes what arrives, several entries per transaction when they come faster than commits.
fn write_until_closed(store: &Store, receiver: &mpsc::Receiver<Message>) {
    while let Ok(first) = receiver.recv() {
        let mut entries = Vec::new();
        let mut waiting = Vec::new();
        let mut take = |message| match message {
            Message::Entry(entry) => entries.push(*entry),
            Message::Flush(done) => waiting.push(done),
        };
        take(first);
        while let Ok(next) = receiver.try_recv() {
            take(next);
        }
        if let Err(err) = store.record_requests(&entries) {
            log::warn!(
                "{} requests could not be written to the audit log: {err}",
                entries.len()
            );
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

impl Datalinks {
    /// The `limit` most recent requests that match `filter`, newest first.
    pub async fn audit_log(&self, filter: AuditFilter, limit: usize) -> Result<Vec<AuditEntry>> {
        self.audit.flush();
        self.store.audit_log(&filter, limit)
    }

    /// Runs `work` with its requests recorded for the connection as caused by `action`.
    pub(crate) async fn audited<F: Future>(
        &self,
        connection: ConnectionId,
        action: &'static str,
        work: F,
    ) -> F::Output {
        let registration = self
            .store
            .connection(connection)
            .ok()
            .flatten()
            .map(|record| record.registration_id);
        self.audited_at(registration, Some(connection), action, work)
            .await
    }

    /// Runs `work` with its requests recorded for the registration, or the connection there
    /// when there is one, as caused by `action`.
    pub(crate) async fn audited_at<F: Future>(
        &self,
        registration: Option<RegistrationId>,
        connection: Option<ConnectionId>,
        action: &'static str,
        work: F,
    ) -> F::Output {
        let registration = registration.and_then(|id| self.store.registration(id).ok().flatten());
        let connection = connection.and_then(|id| self.store.connection(id).ok().flatten());
        let subject = match (&registration, &connection) {
            (Some(registration), Some(connection)) => connection_subject(registration, connection),
            (Some(registration), None) => registration_subject(registration),
            (None, _) => Subject {
                provider: connection
                    .as_ref()
                    .map_or(Provider::OpenHumans, |c| c.provider),
                registration_id: None,
                connection_id: connection.as_ref().map(|c| c.id),
                label: "a connection that is gone".to_owned(),
            },
        };
        self.audit
            .scope(subject, datalinks_http::audit::action(action, work))
            .await
    }

    /// A sign-in's requests were made before its connection existed: once it does, they are
    /// the connection's too.
    pub(crate) fn attribute_sign_in_requests(
        &self,
        registration: RegistrationId,
        since_ms: i64,
        connection: ConnectionId,
    ) {
        self.audit.flush();
        let attributed = self.store.connection(connection).and_then(|record| {
            let record = record.ok_or_else(|| crate::no_such_connection(connection))?;
            let account = record.username.unwrap_or(record.account_id);
            self.store
                .attribute_requests(registration, since_ms, connection, &account)
        });
        if let Err(err) = attributed {
            log::warn!("the sign-in's requests could not be attributed to its connection: {err}");
        }
    }

    /// The newest [`AUDIT_PAGE`] requests that match `filter`, and whether there are more.
    pub async fn audit_page(&self, filter: AuditFilter) -> Result<AuditPage> {
        let mut entries = self.audit_log(filter, AUDIT_PAGE + 1).await?;
        let truncated = entries.len() > AUDIT_PAGE;
        entries.truncate(AUDIT_PAGE);
        Ok(AuditPage { entries, truncated })
    }

    /// The connections and actions the log holds, and how many entries.
    pub async fn audit_facets(&self) -> Result<AuditFacets> {
        self.audit.flush();
        self.store.audit_facets()
    }

    /// Writes the requests that match `filter` (every one the log holds) to `path` as CSV;
    /// how many were written.
    pub async fn export_audit_csv(&self, filter: AuditFilter, path: &Path) -> Result<usize> {
        self.audit.flush();
        let entries = self.store.audit_log(&filter, usize::MAX)?;
        write_csv(&entries, path)?;
        Ok(entries.len())
    }
}

/// Requests for a connection.
pub(crate) fn connection_subject(
    registration: &RegistrationRecord,
    connection: &ConnectionRecord,
) -> Subject {
    let account = connection
        .username
        .as_deref()
        .unwrap_or(&connection.account_id);
    Subject {
        connection_id: Some(connection.id),
        label: format!("{account} · {}", registration_label(registration)),
        ..registration_subject(registration)
    }
}

/// Requests for a registration before it has a connection (a sign-in's exchange).
fn registration_subject(registration: &RegistrationRecord) -> Subject {
    Subject {
        provider: registration.provider,
        registration_id: Some(registration.id),
        connection_id: None,
        label: format!("sign-in · {}", registration_label(registration)),
    }
}

fn registration_label(registration: &RegistrationRecord) -> String {
    let server = summary_of(registration).server;
    format!("{} at {server}", registration.provider.display_name())
}

/// The CSV columns, in order.
const CSV_HEADER: &str = "time_utc,provider,connection,subject,action,method,origin,path,status,\
                          failure,bytes_sent,bytes_received,duration_ms";

fn write_csv(entries: &[AuditEntry], path: &Path) -> Result<()> {
    let failed = |e: std::io::Error| {
        datalinks_core::Error::storage(format!(
            "Could not write the audit log to {}: {e}",
            path.display()
        ))
    };
    let temporary = path.with_extension("csv.part");
    let file = std::fs::File::create(&temporary).map_err(failed)?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "{CSV_HEADER}").map_err(failed)?;
    let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    for entry in entries {
        let fields = [
            iso_time(entry.at_ms),
            entry.provider.key().to_owned(),
            entry
                .connection_id
                .map(|c| c.0.to_string())
                .unwrap_or_default(),
            entry.subject.clone(),
            entry.action.clone(),
            entry.method.clone(),
            entry.origin.clone(),
            entry.path.clone(),
            entry.status.map(|s| s.to_string()).unwrap_or_default(),
            entry.failure.clone().unwrap_or_default(),
            number(entry.bytes_sent),
            number(entry.bytes_received),
            entry.duration_ms.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        writeln!(out, "{}", line.join(",")).map_err(failed)?;
    }
    out.into_inner()
        .map_err(|e| failed(e.into_error()))?
        .sync_all()
        .map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

/// A CSV field, quoted when it must be; a field a spreadsheet would run as a formula gets a
/// leading apostrophe.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// `2026-12-08T01:02:03.456Z`.
fn iso_time(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&ISO_MILLIS).ok())
        .unwrap_or_default()
}

const ISO_MILLIS: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_iso() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_796_605_323_456), "2026-12-07T01:02:03.456Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
