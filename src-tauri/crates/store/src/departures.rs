//! The departures inbox of a researcher's projects: members who left (from Open Humans'
//! signed webhook, or noticed by Datalinks when a member vanished between two listings), and
//! what the researcher did about it. Also each project's roster of the last listing, which is
//! how a departure without a webhook is noticed.

use super::{failed, Store};
use datalinks_core::{now_unix, Result};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use ts_rs::TS;

/// A project: the server its master token belongs to (as the console names it) and its id there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectKey {
    pub server: String,
    pub project_id: u64,
}

/// How Datalinks learned of a departure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DepartureSource {
    /// Open Humans' deauthorization webhook, signature verified.
    Webhook,
    /// The member was in one listing and not in the next.
    Detected,
}

impl DepartureSource {
    fn from_column(value: &str) -> Self {
        match value {
            "webhook" => Self::Webhook,
            _ => Self::Detected,
        }
    }
}

/// What was done for a departure, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DepartureReceipt {
    #[ts(type = "number")]
    pub at: i64,
    /// One line for people: what was deleted.
    pub summary: String,
    /// What was removed, one item each (file ids, paths).
    pub items: Vec<String>,
    /// The bytes removed from this computer (local copies only).
    #[serde(default)]
    #[ts(type = "number")]
    pub bytes: u64,
}

/// One entry of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Departure {
    #[ts(type = "number")]
    pub id: i64,
    pub project_member_id: String,
    pub erasure_requested: bool,
    pub source: DepartureSource,
    /// The webhook's timestamp, as Open Humans sent it.
    pub occurred_at: Option<String>,
    /// When Datalinks learned of it (Unix seconds).
    #[ts(type = "number")]
    pub noticed_at: i64,
    #[ts(type = "number | null")]
    pub handled_at: Option<i64>,
    pub note: Option<String>,
    pub project_files_deleted: Option<DepartureReceipt>,
    pub local_copies_deleted: Option<DepartureReceipt>,
}

/// Which action a receipt belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartureAction {
    /// The files the project uploaded for the member, deleted on Open Humans.
    ProjectFiles,
    /// The member's folder under the project's download folder.
    LocalCopies,
}

/// What one listing changed in a project's roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterChange {
    /// Members of the previous listing missing from this one, now in the inbox.
    pub departed: Vec<String>,
    /// Members back in the listing after a departure in the inbox.
    pub returned: Vec<String>,
}

const DEPARTURE_COLUMNS: &str = "id, project_member_id, erasure_requested, source, occurred_at,
     noticed_at, handled_at, note, project_files_receipt, local_copies_receipt";

impl Store {
    /// Adds a verified webhook notification; `false` when the same delivery is already there.
    pub fn record_webhook_departure(
        &self,
        project: &ProjectKey,
        project_member_id: &str,
        erasure_requested: bool,
        occurred_at: &str,
    ) -> Result<bool> {
        let added = self
            .lock()
            .execute(
                "INSERT OR IGNORE INTO departures (server, project_id, project_member_id,
                     erasure_requested, source, occurred_at, noticed_at)
                 VALUES (?1, ?2, ?3, ?4, 'webhook', ?5, ?6)",
                params![
                    project.server,
                    project.project_id as i64,
                    project_member_id,
                    erasure_requested,
                    occurred_at,
                    now_unix()
                ],
            )
            .map_err(failed("save the departure notification"))?;
        Ok(added == 1)
    }

    /// Replaces the project's roster with `members` (the whole of a fresh listing). Members of
    /// the previous roster who are missing become "detected" departures, unless the inbox
    /// already has their departure since they joined the roster (entries newer than the
    /// `last_departure` it held then).
    pub fn update_roster(&self, project: &ProjectKey, members: &[String]) -> Result<RosterChange> {
        let save_failed = failed("update the project's roster");
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(&save_failed)?;
        let project_id = project.project_id as i64;
        let had_roster: bool = transaction
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM project_rosters WHERE server = ?1 AND project_id = ?2)",
                params![project.server, project_id],
                |row| row.get(0),
            )
            .map_err(&save_failed)?;
        let last_departure: i64 = transaction
            .query_row("SELECT coalesce(max(id), 0) FROM departures", [], |row| {
                row.get(0)
            })
            .map_err(&save_failed)?;
        let previous: Vec<(String, i64)> = member_numbers(
            &transaction,
            "SELECT project_member_id, last_departure FROM project_roster_members
             WHERE server = ?1 AND project_id = ?2",
            project,
        )
        .map_err(&save_failed)?;
        // The newest inbox entry of each member who has one, read once: a listing has tens of
        // thousands of members and the inbox a few entries.
        let newest_departure: HashMap<String, i64> = member_numbers(
            &transaction,
            "SELECT project_member_id, max(id) FROM departures
             WHERE server = ?1 AND project_id = ?2 GROUP BY project_member_id",
            project,
        )
        .map_err(&save_failed)?;
        let current: HashSet<&str> = members.iter().map(String::as_str).collect();
        let known: HashSet<&str> = previous.iter().map(|(id, _)| id.as_str()).collect();
        let now = now_unix();
        let mut change = RosterChange::default();
        for (member, departures_before) in &previous {
            if current.contains(member.as_str()) {
                continue;
            }
            let already_known = newest_departure
                .get(member)
                .is_some_and(|newest| newest > departures_before);
            if !already_known {
                transaction
                    .execute(
                        "INSERT INTO departures (server, project_id, project_member_id,
                             erasure_requested, source, noticed_at)
                         VALUES (?1, ?2, ?3, 0, 'detected', ?4)",
                        params![project.server, project_id, member, now],
                    )
                    .map_err(&save_failed)?;
                change.departed.push(member.clone());
            }
            transaction
                .execute(
                    "DELETE FROM project_roster_members
                     WHERE server = ?1 AND project_id = ?2 AND project_member_id = ?3",
                    params![project.server, project_id, member],
                )
                .map_err(&save_failed)?;
        }
        {
            let mut join = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO project_roster_members
                         (server, project_id, project_member_id, last_departure)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&save_failed)?;
            for member in members {
                if known.contains(member.as_str()) {
                    continue;
                }
                if newest_departure.contains_key(member) {
                    change.returned.push(member.clone());
                }
                join.execute(params![project.server, project_id, member, last_departure])
                    .map_err(&save_failed)?;
            }
        }
        if !had_roster {
            // The first listing has nothing to compare with.
            change = RosterChange::default();
        }
        transaction
            .execute(
                "INSERT INTO project_rosters (server, project_id, listed_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (server, project_id) DO UPDATE SET listed_at = excluded.listed_at",
                params![project.server, project_id, now],
            )
            .map_err(&save_failed)?;
        transaction.commit().map_err(&save_failed)?;
        Ok(change)
    }

    /// The project's inbox, newest first.
    pub fn departures(&self, project: &ProjectKey) -> Result<Vec<Departure>> {
        let connection = self.lock();
        let read_failed = failed("read the departures inbox");
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {DEPARTURE_COLUMNS} FROM departures WHERE server = ?1 AND project_id = ?2
                 ORDER BY noticed_at DESC, id DESC"
            ))
            .map_err(&read_failed)?;
        let rows = statement
            .query_map(
                params![project.server, project.project_id as i64],
                departure_row,
            )
            .map_err(&read_failed)?;
        rows.collect::<rusqlite::Result<_>>().map_err(read_failed)
    }

    /// One entry of the project's inbox.
    pub fn departure(&self, project: &ProjectKey, id: i64) -> Result<Option<Departure>> {
        self.lock()
            .query_row(
                &format!(
                    "SELECT {DEPARTURE_COLUMNS} FROM departures
                     WHERE server = ?1 AND project_id = ?2 AND id = ?3"
                ),
                params![project.server, project.project_id as i64, id],
                departure_row,
            )
            .optional()
            .map_err(failed("read the departure"))
    }

    /// Marks an entry handled, with the researcher's note; `false` if it is not in the inbox.
    pub fn mark_departure_handled(
        &self,
        project: &ProjectKey,
        id: i64,
        note: Option<&str>,
    ) -> Result<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE departures SET handled_at = ?4, note = ?5
                 WHERE server = ?1 AND project_id = ?2 AND id = ?3",
                params![
                    project.server,
                    project.project_id as i64,
                    id,
                    now_unix(),
                    note
                ],
            )
            .map_err(failed("mark the departure handled"))?;
        Ok(changed == 1)
    }

    /// Keeps the receipt of an action taken for an entry.
    pub fn record_departure_receipt(
        &self,
        project: &ProjectKey,
        id: i64,
        action: DepartureAction,
        receipt: &DepartureReceipt,
    ) -> Result<bool> {
        let column = match action {
            DepartureAction::ProjectFiles => "project_files_receipt",
            DepartureAction::LocalCopies => "local_copies_receipt",
        };
        let receipt = serde_json::to_string(receipt).expect("a receipt serializes");
        let changed = self
            .lock()
            .execute(
                &format!(
                    "UPDATE departures SET {column} = ?4
                     WHERE server = ?1 AND project_id = ?2 AND id = ?3"
                ),
                params![project.server, project.project_id as i64, id, receipt],
            )
            .map_err(failed("save the receipt"))?;
        Ok(changed == 1)
    }
}

/// The (member, number) pairs `sql` selects for `project` (its `?1` and `?2`).
fn member_numbers<C: FromIterator<(String, i64)>>(
    connection: &rusqlite::Connection,
    sql: &str,
    project: &ProjectKey,
) -> rusqlite::Result<C> {
    let mut statement = connection.prepare(sql)?;
    let rows = statement.query_map(params![project.server, project.project_id as i64], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    rows.collect()
}

fn departure_row(row: &Row<'_>) -> rusqlite::Result<Departure> {
    let receipt = |index: usize| -> rusqlite::Result<Option<DepartureReceipt>> {
        Ok(row
            .get::<_, Option<String>>(index)?
            .and_then(|text| serde_json::from_str(&text).ok()))
    };
    Ok(Departure {
        id: row.get(0)?,
        project_member_id: row.get(1)?,
        erasure_requested: row.get(2)?,
        source: DepartureSource::from_column(&row.get::<_, String>(3)?),
        occurred_at: row.get(4)?,
        noticed_at: row.get(5)?,
        handled_at: row.get(6)?,
        note: row.get(7)?,
        project_files_deleted: receipt(8)?,
        local_copies_deleted: receipt(9)?,
    })
}

/// The schema step that adds the inbox and the rosters.
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE departures (
        id                    INTEGER PRIMARY KEY,
        server                TEXT NOT NULL,
        project_id            INTEGER NOT NULL,
        project_member_id     TEXT NOT NULL,
        erasure_requested     INTEGER NOT NULL,
        source                TEXT NOT NULL,
        occurred_at           TEXT,
        noticed_at            INTEGER NOT NULL,
        handled_at            INTEGER,
        note                  TEXT,
        project_files_receipt TEXT,
        local_copies_receipt  TEXT
    );
    -- The same webhook delivery twice is one entry.
    CREATE UNIQUE INDEX departures_one_per_delivery
        ON departures (server, project_id, project_member_id, erasure_requested, occurred_at)
        WHERE source = 'webhook';
    CREATE TABLE project_rosters (
        server     TEXT NOT NULL,
        project_id INTEGER NOT NULL,
        listed_at  INTEGER NOT NULL,
        PRIMARY KEY (server, project_id)
    );
    CREATE TABLE project_roster_members (
        server            TEXT NOT NULL,
        project_id        INTEGER NOT NULL,
        project_member_id TEXT NOT NULL,
        -- The newest inbox entry when the member joined the roster.
        last_departure    INTEGER NOT NULL,
        PRIMARY KEY (server, project_id, project_member_id)
    );
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn project(id: u64) -> ProjectKey {
        ProjectKey {
            server: "https://www.openhumans.org".into(),
            project_id: id,
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn the_same_delivery_twice_is_one_entry() {
        let store = Store::open_in_memory().unwrap();
        let at = "2020-06-30T20:00:00.000000+00:00";
        assert!(store
            .record_webhook_departure(&project(1), "12345678", true, at)
            .unwrap());
        assert!(!store
            .record_webhook_departure(&project(1), "12345678", true, at)
            .unwrap());
        // Another project (or another server) keeps its own inbox.
        assert!(store
            .record_webhook_departure(&project(2), "12345678", true, at)
            .unwrap());
        let inbox = store.departures(&project(1)).unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].source, DepartureSource::Webhook);
        assert_eq!(inbox[0].occurred_at.as_deref(), Some(at));
        assert!(inbox[0].erasure_requested);
    }

    #[test]
    fn a_member_missing_from_the_next_listing_is_detected_once() {
        let store = Store::open_in_memory().unwrap();
        let key = project(7);
        assert_eq!(
            store
                .update_roster(&key, &ids(&["11111111", "22222222"]))
                .unwrap(),
            RosterChange::default(),
            "the first listing has nothing to compare with"
        );
        let change = store
            .update_roster(&key, &ids(&["22222222", "33333333"]))
            .unwrap();
        assert_eq!(change.departed, ids(&["11111111"]));
        let again = store.update_roster(&key, &ids(&["22222222"])).unwrap();
        assert_eq!(again.departed, ids(&["33333333"]));
        let inbox = store.departures(&key).unwrap();
        assert_eq!(inbox.len(), 2);
        assert!(inbox
            .iter()
            .all(|d| d.source == DepartureSource::Detected && !d.erasure_requested));

        // Back again, then gone again: a second departure.
        let back = store
            .update_roster(&key, &ids(&["11111111", "22222222"]))
            .unwrap();
        assert_eq!(back.returned, ids(&["11111111"]));
        store.update_roster(&key, &ids(&["22222222"])).unwrap();
        assert_eq!(store.departures(&key).unwrap().len(), 3);
    }

    #[test]
    fn a_departure_the_webhook_reported_is_not_detected_again() {
        let store = Store::open_in_memory().unwrap();
        let key = project(7);
        store
            .update_roster(&key, &ids(&["11111111", "22222222"]))
            .unwrap();
        store
            .record_webhook_departure(&key, "11111111", true, "2026-12-04T10:00:00+00:00")
            .unwrap();
        let change = store.update_roster(&key, &ids(&["22222222"])).unwrap();
        assert!(change.departed.is_empty());
        assert_eq!(store.departures(&key).unwrap().len(), 1);
    }

    #[test]
    fn receipts_and_handling_stay_with_their_entry() {
        let store = Store::open_in_memory().unwrap();
        let key = project(7);
        store
            .record_webhook_departure(&key, "11111111", true, "2026-12-04T10:00:00+00:00")
            .unwrap();
        let id = store.departures(&key).unwrap()[0].id;
        let receipt = DepartureReceipt {
            at: 5,
            summary: "Deleted 2 files.".into(),
            items: ids(&["16483", "16484"]),
            bytes: 0,
        };
        assert!(store
            .record_departure_receipt(&key, id, DepartureAction::ProjectFiles, &receipt)
            .unwrap());
        assert!(store
            .mark_departure_handled(&key, id, Some("Erased on request"))
            .unwrap());
        // Not another project's entry.
        assert!(!store.mark_departure_handled(&project(8), id, None).unwrap());
        let entry = store.departure(&key, id).unwrap().unwrap();
        assert_eq!(entry.project_files_deleted, Some(receipt));
        assert_eq!(entry.local_copies_deleted, None);
        assert_eq!(entry.note.as_deref(), Some("Erased on request"));
        assert!(entry.handled_at.is_some());
    }

    #[test]
    fn fifty_thousand_members_are_compared_in_one_pass() {
        let store = Store::open_in_memory().unwrap();
        let key = project(9);
        let members: Vec<String> = (0..50_000)
            .map(|i| format!("{:08}", 10_000_000 + i))
            .collect();
        store.update_roster(&key, &members).unwrap();
        let change = store.update_roster(&key, &members[1..]).unwrap();
        assert_eq!(change.departed, vec![members[0].clone()]);
        assert!(change.returned.is_empty());
    }
}
