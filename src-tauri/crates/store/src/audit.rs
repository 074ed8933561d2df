//! The audit log: one row per request Datalinks made on someone's behalf. A row names the
//! host and path (with no query parameter that can carry a secret), the status, the sizes and
//! the time it took, never a header, a token or a body.

use super::{failed, provider_from_column, Store};
use datalinks_core::{ConnectionId, Provider, RegistrationId, Result};
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE audit_log (
        id              INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,
        provider        TEXT NOT NULL,
        registration_id INTEGER,
        connection_id   INTEGER,
        subject         TEXT NOT NULL,
        action          TEXT NOT NULL,
        method          TEXT NOT NULL,
        origin          TEXT NOT NULL,
        path            TEXT NOT NULL,
        status          INTEGER,
        failure         TEXT,
        bytes_sent      INTEGER,
        bytes_received  INTEGER,
        duration_ms     INTEGER NOT NULL
    );
    CREATE INDEX audit_log_by_connection ON audit_log (connection_id, id);
"#;

/// The most requests the log keeps: the oldest are dropped as new ones arrive.
pub const AUDIT_CAP: i64 = 20_000;

/// One request, as the audit log keeps it and the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditEntry {
    /// Unix milliseconds when the request was sent.
    #[ts(type = "number")]
    pub at_ms: i64,
    pub provider: Provider,
    pub registration_id: Option<RegistrationId>,
    pub connection_id: Option<ConnectionId>,
    /// Whom it was for, in words ("alice at the built-in sandbox", "project 1 at …").
    pub subject: String,
    /// What caused it: `connect`, `refresh`, `member view`, `download`, …
    pub action: String,
    pub method: String,
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The path, with only query parameters that cannot carry a secret.
    pub path: String,
    /// The answer's status; none when no answer came.
    pub status: Option<u16>,
    /// Why no answer came.
    pub failure: Option<String>,
    #[ts(type = "number | null")]
    pub bytes_sent: Option<u64>,
    #[ts(type = "number | null")]
    pub bytes_received: Option<u64>,
    #[ts(type = "number")]
    pub duration_ms: u64,
}

impl AuditEntry {
    /// A request that got no answer, or an answer that says it failed.
    pub fn failed(&self) -> bool {
        self.status.is_none_or(|status| status >= 400)
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct AuditFilter {
    #[serde(default)]
    pub connection: Option<ConnectionId>,
    #[serde(default)]
    pub action: Option<String>,
    /// Only requests that failed or were answered with an error status.
    #[serde(default)]
    pub errors_only: bool,
}

/// The subjects and actions the log holds, for the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AuditFacets {
    /// Each connection the log names, with its last subject text.
    pub connections: Vec<(ConnectionId, String)>,
    pub actions: Vec<String>,
    #[ts(type = "number")]
    pub total: u64,
}

const COLUMNS: &str = "at_ms, provider, registration_id, connection_id, subject, action, method, \
                       origin, path, status, failure, bytes_sent, bytes_received, duration_ms";

impl Store {
    /// Appends requests to the log in one transaction, then drops what is over the cap.
    pub fn record_requests(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut connection = self.lock();
        let write_failed = failed("write the audit log");
        let transaction = connection.transaction().map_err(&write_failed)?;
        {
            let mut insert = transaction
                .prepare_cached(&format!(
                    "INSERT INTO audit_log ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ))
                .map_err(&write_failed)?;
            for entry in entries {
                insert
                    .execute(params![
                        entry.at_ms,
                        entry.provider.key(),
                        entry.registration_id.map(|r| r.0),
                        entry.connection_id.map(|c| c.0),
                        entry.subject,
                        entry.action,
                        entry.method,
                        entry.origin,
                        entry.path,
                        entry.status,
                        entry.failure,
                        entry.bytes_sent.map(saturating_i64),
                        entry.bytes_received.map(saturating_i64),
                        saturating_i64(entry.duration_ms),
                    ])
                    .map_err(&write_failed)?;
            }
            transaction
                .execute(
                    "DELETE FROM audit_log WHERE id <= (SELECT max(id) FROM audit_log) - ?1",
                    [AUDIT_CAP],
                )
                .map_err(failed("trim the audit log"))?;
        }
        transaction.commit().map_err(&write_failed)
    }

    /// The `limit` most recent requests that match `filter`, newest first.
    pub fn audit_log(&self, filter: &AuditFilter, limit: usize) -> Result<Vec<AuditEntry>> {
        let connection = self.lock();
        let read_failed = failed("read the audit log");
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_log
                 WHERE (?1 IS NULL OR connection_id = ?1)
                   AND (?2 IS NULL OR action = ?2)
                   AND (?3 = 0 OR status IS NULL OR status >= 400)
                 ORDER BY id DESC LIMIT ?4"
            ))
            .map_err(&read_failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(
                params![
                    filter.connection.map(|c| c.0),
                    filter.action,
                    filter.errors_only,
                    limit
                ],
                audit_row,
            )
            .map_err(&read_failed)?;
        rows.map(|row| row.map_err(&read_failed)?).collect()
    }

    /// What the filters can offer.
    pub fn audit_facets(&self) -> Result<AuditFacets> {
        let connection = self.lock();
        let read_failed = failed("read the audit log");
        let connections = connection
            .prepare_cached(
                "SELECT connection_id, subject FROM audit_log WHERE id IN
                   (SELECT max(id) FROM audit_log WHERE connection_id IS NOT NULL
                    GROUP BY connection_id)
                 ORDER BY connection_id",
            )
            .map_err(&read_failed)?
            .query_map([], |row| Ok((ConnectionId(row.get(0)?), row.get(1)?)))
            .map_err(&read_failed)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&read_failed)?;
        let actions = connection
            .prepare_cached("SELECT DISTINCT action FROM audit_log ORDER BY action")
            .map_err(&read_failed)?
            .query_map([], |row| row.get(0))
            .map_err(&read_failed)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(&read_failed)?;
        let total: i64 = connection
            .query_row("SELECT count(*) FROM audit_log", [], |row| row.get(0))
            .map_err(&read_failed)?;
        Ok(AuditFacets {
            connections,
            actions,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// When Datalinks last made a request for a researcher's project (Unix milliseconds).
    pub fn last_project_request(&self) -> Result<Option<i64>> {
        self.lock()
            .query_row(
                "SELECT max(at_ms) FROM audit_log
                 WHERE connection_id IS NULL AND registration_id IS NULL",
                [],
                |row| row.get(0),
            )
            .map_err(failed("read the audit log"))
    }

    /// Gives a registration's unattributed requests since `since_ms` (a sign-in's) to the
    /// connection the sign-in made, its account named in their subject.
    pub fn attribute_requests(
        &self,
        registration: RegistrationId,
        since_ms: i64,
        connection: ConnectionId,
        account: &str,
    ) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE audit_log SET connection_id = ?3,
                   subject = replace(subject, 'sign-in · ', ?4 || ' · ')
                 WHERE registration_id = ?1 AND connection_id IS NULL AND at_ms >= ?2",
                params![registration.0, since_ms, connection.0, account],
            )
            .map_err(failed("update the audit log"))?;
        Ok(())
    }

    /// When Datalinks last made a request for the connection (Unix milliseconds).
    pub fn last_request_for(&self, connection_id: ConnectionId) -> Result<Option<i64>> {
        self.lock()
            .query_row(
                "SELECT max(at_ms) FROM audit_log WHERE connection_id = ?1",
                [connection_id.0],
                |row| row.get(0),
            )
            .map_err(failed("read the audit log"))
    }
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn audit_row(row: &Row<'_>) -> rusqlite::Result<Result<AuditEntry>> {
    let size = |index| -> rusqlite::Result<Option<u64>> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .map(|n| u64::try_from(n).unwrap_or(0)))
    };
    let provider = match provider_from_column(&row.get::<_, String>(1)?) {
        Ok(provider) => provider,
        Err(err) => return Ok(Err(err)),
    };
    Ok(Ok(AuditEntry {
        at_ms: row.get(0)?,
        provider,
        registration_id: row.get::<_, Option<i64>>(2)?.map(RegistrationId),
        connection_id: row.get::<_, Option<i64>>(3)?.map(ConnectionId),
        subject: row.get(4)?,
        action: row.get(5)?,
        method: row.get(6)?,
        origin: row.get(7)?,
        path: row.get(8)?,
        status: row.get(9)?,
        failure: row.get(10)?,
        bytes_sent: size(11)?,
        bytes_received: size(12)?,
        duration_ms: size(13)?.unwrap_or(0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: i64, connection: Option<i64>, action: &str, status: Option<u16>) -> AuditEntry {
        AuditEntry {
            at_ms,
            provider: Provider::OpenHumans,
            registration_id: Some(RegistrationId(1)),
            connection_id: connection.map(ConnectionId),
            subject: format!("alice · {connection:?}"),
            action: action.into(),
            method: "GET".into(),
            origin: "https://www.openhumans.org".into(),
            path: "/api/direct-sharing/project/exchange-member/".into(),
            status,
            failure: status.is_none().then(|| "the connection failed".into()),
            bytes_sent: Some(0),
            bytes_received: Some(u64::MAX),
            duration_ms: 12,
        }
    }

    #[test]
    fn filters_pick_connection_action_and_failures_newest_first() {
        let store = Store::open_in_memory().unwrap();
        store
            .record_requests(&[
                entry(1, Some(1), "connect", Some(200)),
                entry(2, Some(2), "member view", Some(401)),
                entry(3, Some(1), "member view", None),
                entry(4, None, "member listing", Some(200)),
            ])
            .unwrap();
        let read = |filter: AuditFilter| -> Vec<i64> {
            store
                .audit_log(&filter, 100)
                .unwrap()
                .iter()
                .map(|e| e.at_ms)
                .collect()
        };
        assert_eq!(read(AuditFilter::default()), [4, 3, 2, 1]);
        let first = Some(ConnectionId(1));
        let of_first = AuditFilter {
            connection: first,
            ..AuditFilter::default()
        };
        assert_eq!(read(of_first.clone()), [3, 1]);
        let views = AuditFilter {
            action: Some("member view".into()),
            ..AuditFilter::default()
        };
        assert_eq!(read(views), [3, 2]);
        let failures = AuditFilter {
            errors_only: true,
            ..AuditFilter::default()
        };
        assert_eq!(read(failures), [3, 2]);
        let kept = store.audit_log(&of_first, 1).unwrap();
        assert_eq!(kept[0].bytes_received, Some(i64::MAX as u64));
        assert_eq!(kept[0].failure.as_deref(), Some("the connection failed"));
        let facets = store.audit_facets().unwrap();
        assert_eq!(facets.total, 4);
        assert_eq!(facets.actions, ["connect", "member listing", "member view"]);
        assert_eq!(facets.connections.len(), 2);
        assert_eq!(store.last_request_for(ConnectionId(1)).unwrap(), Some(3));
    }

    #[test]
    fn the_log_keeps_only_the_newest_entries_up_to_its_cap() {
        let store = Store::open_in_memory().unwrap();
        let over = 7;
        let entries: Vec<AuditEntry> = (0..AUDIT_CAP + over)
            .map(|at| entry(at, Some(1), "download", Some(200)))
            .collect();
        store.record_requests(&entries).unwrap();
        let facets = store.audit_facets().unwrap();
        assert_eq!(facets.total, AUDIT_CAP as u64);
        let oldest = store
            .audit_log(&AuditFilter::default(), usize::MAX)
            .unwrap();
        assert_eq!(oldest.last().unwrap().at_ms, over);
    }
}
