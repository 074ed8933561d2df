//! Each project's readiness checklist: when Datalinks saw a step done, or when the researcher
//! ticked it. Which steps exist and what they mean is the service's.

use super::{failed, Store};
use crate::ProjectKey;
use datalinks_core::{now_unix, Result};
use rusqlite::params;

/// One step's mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistMark {
    pub item: String,
    /// Unix seconds.
    pub at: i64,
    /// Ticked by the researcher (otherwise seen by Datalinks).
    pub ticked: bool,
}

impl Store {
    /// Records that Datalinks saw `item` done; the first time is kept.
    pub fn note_checklist_seen(&self, project: &ProjectKey, item: &str) -> Result<()> {
        self.lock()
            .execute(
                "INSERT OR IGNORE INTO project_checklist (server, project_id, item, at, ticked)
                 VALUES (?1, ?2, ?3, ?4, 0)",
                params![project.server, project.project_id as i64, item, now_unix()],
            )
            .map_err(failed("save the checklist"))?;
        Ok(())
    }

    /// Ticks or unticks a step the researcher checks by hand.
    pub fn tick_checklist(&self, project: &ProjectKey, item: &str, done: bool) -> Result<()> {
        let connection = self.lock();
        let result = if done {
            connection.execute(
                "INSERT OR REPLACE INTO project_checklist (server, project_id, item, at, ticked)
                 VALUES (?1, ?2, ?3, ?4, 1)",
                params![project.server, project.project_id as i64, item, now_unix()],
            )
        } else {
            connection.execute(
                "DELETE FROM project_checklist WHERE server = ?1 AND project_id = ?2 AND item = ?3",
                params![project.server, project.project_id as i64, item],
            )
        };
        result.map_err(failed("save the checklist"))?;
        Ok(())
    }

    pub fn checklist_marks(&self, project: &ProjectKey) -> Result<Vec<ChecklistMark>> {
        let connection = self.lock();
        let read_failed = failed("read the checklist");
        let mut statement = connection
            .prepare_cached(
                "SELECT item, at, ticked FROM project_checklist
                 WHERE server = ?1 AND project_id = ?2",
            )
            .map_err(&read_failed)?;
        let rows = statement
            .query_map(params![project.server, project.project_id as i64], |row| {
                Ok(ChecklistMark {
                    item: row.get(0)?,
                    at: row.get(1)?,
                    ticked: row.get(2)?,
                })
            })
            .map_err(&read_failed)?;
        rows.collect::<rusqlite::Result<_>>().map_err(read_failed)
    }
}

/// The schema step that adds the checklist.
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE project_checklist (
        server     TEXT NOT NULL,
        project_id INTEGER NOT NULL,
        item       TEXT NOT NULL,
        at         INTEGER NOT NULL,
        ticked     INTEGER NOT NULL,
        PRIMARY KEY (server, project_id, item)
    );
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sighting_is_kept_and_ticks_come_and_go_per_project() {
        let store = Store::open_in_memory().unwrap();
        let project = ProjectKey {
            server: "sandbox".into(),
            project_id: 1,
        };
        let other = ProjectKey {
            server: "sandbox".into(),
            project_id: 2,
        };
        store.note_checklist_seen(&project, "messaging").unwrap();
        let first = store.checklist_marks(&project).unwrap();
        store.note_checklist_seen(&project, "messaging").unwrap();
        assert_eq!(store.checklist_marks(&project).unwrap(), first);
        store.tick_checklist(&project, "guidelines", true).unwrap();
        assert_eq!(store.checklist_marks(&project).unwrap().len(), 2);
        assert!(store.checklist_marks(&other).unwrap().is_empty());
        store.tick_checklist(&project, "guidelines", false).unwrap();
        assert_eq!(store.checklist_marks(&project).unwrap(), first);
        assert!(!first[0].ticked);
    }
}
