//! Datalinks state that is not secret, in SQLite: the app registrations of each provider, the
//! connections (one account at one registration), app-wide settings and a history of what
//! happened. Secrets never come here: they live in the vault, under names derived from the
//! registration and account they belong to.

mod audit;
mod checklist;
mod departures;

pub use audit::{AuditEntry, AuditFacets, AuditFilter, AUDIT_CAP};
pub use checklist::ChecklistMark;
pub use departures::{
    Departure, DepartureAction, DepartureReceipt, DepartureSource, ProjectKey, RosterChange,
};

use datalinks_core::{
    now_unix, ConnectionId, CredentialKind, Error, Provider, RegistrationId, Result, Transport,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use ts_rs::TS;

/// Schema steps in order; `PRAGMA user_version` counts how many a database has applied.
/// Never edit a released step: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE provider_settings (
        provider      TEXT PRIMARY KEY NOT NULL,
        client_id     TEXT NOT NULL,
        base_url      TEXT NOT NULL,
        transport     TEXT NOT NULL,
        loopback_path TEXT NOT NULL,
        sandbox       INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE accounts (
        provider         TEXT PRIMARY KEY NOT NULL,
        account_id       TEXT NOT NULL,
        username         TEXT,
        connected_at     INTEGER NOT NULL,
        token_expires_at INTEGER,
        reconnect_reason TEXT
    );
    CREATE TABLE history (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       INTEGER NOT NULL,
        provider TEXT NOT NULL,
        kind     TEXT NOT NULL,
        detail   TEXT NOT NULL
    );
    CREATE INDEX history_by_provider ON history (provider, id);
"#,
    r#"
    CREATE TABLE app_settings (
        name  TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    );
"#,
    // Provider-specific settings (Open Collective scopes, a fixed loopback port, …) as JSON.
    r#"
    ALTER TABLE provider_settings ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
"#,
    // The data sources a person linked through the provider (Human API Connect), by name.
    r#"
    CREATE TABLE connected_sources (
        provider     TEXT NOT NULL,
        source_id    TEXT NOT NULL,
        name         TEXT NOT NULL,
        position     INTEGER NOT NULL,
        PRIMARY KEY (provider, source_id)
    );
"#,
    // Registrations and connections instead of one settings row and one account per provider.
    // Each old settings row becomes a registration and each old account a connection of it;
    // their secrets are still under the old keyring names (`legacy_keyring`), which the service
    // moves to the new ones on first use. Human API accounts are keyed by our client_user_id
    // from then on (the humanId moves to `details`). A sandbox registration keeps no address:
    // it is wherever the running sandbox is.
    r#"
    CREATE TABLE registrations (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        provider          TEXT NOT NULL,
        client_id         TEXT NOT NULL,
        base_url          TEXT NOT NULL,
        transport         TEXT NOT NULL,
        options           TEXT NOT NULL DEFAULT '{}',
        sandbox           INTEGER NOT NULL,
        has_client_secret INTEGER NOT NULL,
        retired           INTEGER NOT NULL DEFAULT 0,
        legacy_keyring    INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
    );
    CREATE TABLE connections (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        registration_id  INTEGER NOT NULL REFERENCES registrations (id),
        account_id       TEXT NOT NULL,
        username         TEXT,
        credential       TEXT NOT NULL,
        details          TEXT NOT NULL DEFAULT '{}',
        connected_at     INTEGER NOT NULL,
        token_expires_at INTEGER,
        reconnect_reason TEXT,
        legacy_keyring   INTEGER NOT NULL DEFAULT 0,
        UNIQUE (registration_id, account_id)
    );
    CREATE TABLE connection_sources (
        connection_id INTEGER NOT NULL REFERENCES connections (id),
        source_id     TEXT NOT NULL,
        name          TEXT NOT NULL,
        position      INTEGER NOT NULL,
        PRIMARY KEY (connection_id, source_id)
    );
    ALTER TABLE history ADD COLUMN registration_id INTEGER;
    ALTER TABLE history ADD COLUMN connection_id INTEGER;
    CREATE INDEX history_by_registration ON history (registration_id, id);
    CREATE INDEX history_by_connection ON history (connection_id, id);

    INSERT INTO registrations (provider, client_id, base_url, transport, options, sandbox,
                               has_client_secret, legacy_keyring, created_at, updated_at)
        SELECT provider, client_id, CASE WHEN sandbox THEN '' ELSE base_url END, transport,
               json_remove(options, '$.client_user_id'), sandbox,
               provider <> 'opencollective', 1, updated_at, updated_at
        FROM provider_settings;
    INSERT INTO connections (registration_id, account_id, username, credential, details,
                             connected_at, token_expires_at, reconnect_reason, legacy_keyring)
        SELECT r.id,
               CASE WHEN a.provider = 'humanapi'
                    THEN coalesce(json_extract(s.options, '$.client_user_id'), a.account_id)
                    ELSE a.account_id END,
               a.username,
               CASE WHEN a.provider = 'humanapi' THEN 'minted' ELSE 'oauth' END,
               CASE WHEN a.provider = 'humanapi' THEN json_object('human_id', a.account_id)
                    ELSE '{}' END,
               a.connected_at, a.token_expires_at, a.reconnect_reason, 1
        FROM accounts a
        JOIN registrations r ON r.provider = a.provider
        JOIN provider_settings s ON s.provider = a.provider;
    INSERT INTO connection_sources (connection_id, source_id, name, position)
        SELECT c.id, s.source_id, s.name, s.position
        FROM connected_sources s
        JOIN registrations r ON r.provider = s.provider
        JOIN connections c ON c.registration_id = r.id;
    UPDATE history SET
        registration_id = (SELECT r.id FROM registrations r WHERE r.provider = history.provider),
        connection_id = (SELECT c.id FROM connections c JOIN registrations r
                         ON c.registration_id = r.id WHERE r.provider = history.provider);
    DROP TABLE connected_sources;
    DROP TABLE accounts;
    DROP TABLE provider_settings;
"#,
    // The last sign-in problem of a registration, kept until its next attempt so that it
    // outlives the process that saw it (the CLI's `connect`, a restart of the app).
    r#"
    CREATE TABLE sign_in_problems (
        registration_id INTEGER PRIMARY KEY NOT NULL REFERENCES registrations (id),
        problem         TEXT NOT NULL,
        at              INTEGER NOT NULL
    );
"#,
    departures::MIGRATION,
    checklist::MIGRATION,
    audit::MIGRATION,
];

/// The most history events kept: older ones are dropped as new ones arrive, so nothing that
/// writes history can grow the database without bound.
pub const HISTORY_CAP: i64 = 5_000;

/// An app registration: a provider's server address(es) and client id, and how its redirect
/// comes back. Its client secret is in the vault, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    pub id: RegistrationId,
    pub provider: Provider,
    pub client_id: String,
    /// Empty for the built-in sandbox, which is wherever it runs.
    pub base_url: String,
    pub transport: Transport,
    /// The provider's own settings as a JSON object (`{}` when it has none); the service gives
    /// them their type. Other server addresses of the registration live here.
    pub options: String,
    pub sandbox: bool,
    /// Whether a client secret was stored for it (the vault holds the value).
    pub has_client_secret: bool,
    /// The settings moved to another server or client id; its connections stay bound to it.
    pub retired: bool,
    /// Its secrets may still be under the names of releases before registrations.
    pub legacy_keyring: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a new registration starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegistration {
    pub provider: Provider,
    pub client_id: String,
    pub base_url: String,
    pub transport: Transport,
    pub options: String,
    pub sandbox: bool,
    pub has_client_secret: bool,
}

/// One account at one registration. Its tokens are in the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    pub id: ConnectionId,
    pub registration_id: RegistrationId,
    pub provider: Provider,
    pub account_id: String,
    pub username: Option<String>,
    pub credential: CredentialKind,
    /// Provider facts about the account as a JSON object (Human API: its humanId).
    pub details: String,
    pub connected_at: i64,
    pub token_expires_at: Option<i64>,
    /// Set when the grant is gone and the person must connect again.
    pub reconnect_reason: Option<String>,
    /// Its secrets may still be under the names of releases before registrations.
    pub legacy_keyring: bool,
}

/// What a sign-in learned about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    pub registration_id: RegistrationId,
    pub account_id: String,
    pub username: Option<String>,
    pub credential: CredentialKind,
    pub details: String,
    pub token_expires_at: Option<i64>,
}

/// Which part of the history an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventScope {
    pub provider: Provider,
    pub registration: Option<RegistrationId>,
    pub connection: Option<ConnectionId>,
}

/// Which events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFilter {
    /// A connection's own events.
    Connection(ConnectionId),
    /// Everything at a registration: sign-ins, settings, and its connections' events.
    Registration(RegistrationId),
}

/// One line of the history, as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HistoryEvent {
    /// Unix seconds.
    #[ts(type = "number")]
    pub at: i64,
    pub provider: Provider,
    pub registration_id: Option<RegistrationId>,
    pub connection_id: Option<ConnectionId>,
    pub kind: String,
    pub detail: String,
}

/// A data source linked at the provider (not secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConnectedSource {
    pub id: String,
    pub name: String,
}

/// The SQLite database. Methods take `&self` and may be called from any thread.
pub struct Store {
    connection: Mutex<Connection>,
}

const REGISTRATION_COLUMNS: &str = "id, provider, client_id, base_url, transport, options, sandbox,
     has_client_secret, retired, legacy_keyring, created_at, updated_at";

const CONNECTION_COLUMNS: &str = "c.id, c.registration_id, r.provider, c.account_id, c.username,
     c.credential, c.details, c.connected_at, c.token_expires_at, c.reconnect_reason,
     c.legacy_keyring";

impl Store {
    /// Opens (or creates) the database file, creating its folder, and brings the schema up
    /// to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder).map_err(|err| {
                Error::storage(format!(
                    "Could not create the data folder {}: {err}",
                    folder.display()
                ))
            })?;
        }
        let connection = Connection::open(path).map_err(|err| {
            Error::storage(format!(
                "Could not open the database {}: {err}",
                path.display()
            ))
        })?;
        // The app and the CLI may use the database at the same time.
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(failed("configure the database"))?;
        switch_to_wal(&connection)?;
        // A commit is on disk when it returns: the webhook receiver answers 200 only after one.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed("make commits durable"))?;
        Self::with_connection(connection)
    }

    /// A private database that disappears with the value, for tests.
    pub fn open_in_memory() -> Result<Self> {
        let connection =
            Connection::open_in_memory().map_err(failed("open an in-memory database"))?;
        Self::with_connection(connection)
    }

    fn with_connection(mut connection: Connection) -> Result<Self> {
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(failed("turn on foreign keys"))?;
        migrate(&mut connection)?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls back an interrupted transaction, so a panic elsewhere leaves it usable.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- registrations ----

    /// Every registration of `provider` (all providers' when `None`), oldest first.
    pub fn registrations(&self, provider: Option<Provider>) -> Result<Vec<RegistrationRecord>> {
        let connection = self.lock();
        let read_failed = failed("read the app registrations");
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {REGISTRATION_COLUMNS} FROM registrations
                 WHERE ?1 IS NULL OR provider = ?1 ORDER BY id"
            ))
            .map_err(&read_failed)?;
        let rows = statement
            .query_map([provider.map(Provider::key)], registration_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&read_failed)?;
        rows.into_iter().collect()
    }

    pub fn registration(&self, id: RegistrationId) -> Result<Option<RegistrationRecord>> {
        let row = self
            .lock()
            .query_row(
                &format!("SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE id = ?1"),
                [id.0],
                registration_row,
            )
            .optional()
            .map_err(failed("read an app registration"))?;
        row.transpose()
    }

    pub fn insert_registration(&self, new: &NewRegistration) -> Result<RegistrationId> {
        let connection = self.lock();
        let now = now_unix();
        connection
            .execute(
                "INSERT INTO registrations (provider, client_id, base_url, transport, options,
                     sandbox, has_client_secret, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    new.provider.key(),
                    new.client_id,
                    new.base_url,
                    transport_column(new.transport),
                    new.options,
                    new.sandbox,
                    new.has_client_secret,
                    now,
                ],
            )
            .map_err(failed(format!("save the {} registration", new.provider)))?;
        Ok(RegistrationId(connection.last_insert_rowid()))
    }

    /// Saves what may change about a registration: transport, options, whether a secret is
    /// stored, retired, and the legacy-keyring flag. Its provider, client id and address are
    /// its identity and never change; another identity is another registration.
    pub fn update_registration(&self, record: &RegistrationRecord) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE registrations SET transport = ?2, options = ?3, has_client_secret = ?4,
                     retired = ?5, legacy_keyring = ?6, updated_at = ?7
                 WHERE id = ?1",
                params![
                    record.id.0,
                    transport_column(record.transport),
                    record.options,
                    record.has_client_secret,
                    record.retired,
                    record.legacy_keyring,
                    now_unix(),
                ],
            )
            .map_err(failed(format!("save the {} registration", record.provider)))?;
        Ok(())
    }

    /// Removes a registration that has no connections left; false when there was none. A
    /// registration with connections is refused (they are bound to it).
    pub fn remove_registration(&self, id: RegistrationId) -> Result<bool> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(failed("remove an app registration"))?;
        transaction
            .execute(
                "DELETE FROM sign_in_problems WHERE registration_id = ?1",
                [id.0],
            )
            .map_err(failed("remove an app registration"))?;
        let removed = transaction
            .execute("DELETE FROM registrations WHERE id = ?1", [id.0])
            .map_err(failed("remove an app registration"))?;
        transaction
            .commit()
            .map_err(failed("remove an app registration"))?;
        Ok(removed > 0)
    }

    /// Keeps (or with `None` clears) the registration's last sign-in problem.
    pub fn set_sign_in_problem(&self, id: RegistrationId, problem: Option<&Error>) -> Result<()> {
        let connection = self.lock();
        let result = match problem {
            Some(problem) => connection.execute(
                "INSERT INTO sign_in_problems (registration_id, problem, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (registration_id) DO UPDATE SET problem = excluded.problem,
                     at = excluded.at",
                params![
                    id.0,
                    serde_json::to_string(problem).unwrap_or_default(),
                    now_unix()
                ],
            ),
            None => connection.execute(
                "DELETE FROM sign_in_problems WHERE registration_id = ?1",
                [id.0],
            ),
        };
        result.map_err(failed("keep the last sign-in problem"))?;
        Ok(())
    }

    /// The registration's last sign-in problem, if one is kept.
    pub fn sign_in_problem(&self, id: RegistrationId) -> Result<Option<Error>> {
        let stored: Option<String> = self
            .lock()
            .query_row(
                "SELECT problem FROM sign_in_problems WHERE registration_id = ?1",
                [id.0],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed("read the last sign-in problem"))?;
        // A row this version cannot read is shown as it was written rather than dropped.
        Ok(
            stored
                .map(|text| serde_json::from_str(&text).unwrap_or_else(|_| Error::internal(text))),
        )
    }

    // ---- connections ----

    /// The connections of one registration, or of every registration of a provider, or all
    /// of them: oldest first.
    pub fn connections(&self, filter: ConnectionFilter) -> Result<Vec<ConnectionRecord>> {
        let (provider, registration) = match filter {
            ConnectionFilter::All => (None, None),
            ConnectionFilter::Provider(provider) => (Some(provider.key()), None),
            ConnectionFilter::Registration(id) => (None, Some(id.0)),
        };
        let connection = self.lock();
        let read_failed = failed("read the connections");
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections c
                 JOIN registrations r ON r.id = c.registration_id
                 WHERE (?1 IS NULL OR r.provider = ?1) AND (?2 IS NULL OR c.registration_id = ?2)
                 ORDER BY c.id"
            ))
            .map_err(&read_failed)?;
        let rows = statement
            .query_map(params![provider, registration], connection_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&read_failed)?;
        rows.into_iter().collect()
    }

    pub fn connection(&self, id: ConnectionId) -> Result<Option<ConnectionRecord>> {
        let row = self
            .lock()
            .query_row(
                &format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections c
                     JOIN registrations r ON r.id = c.registration_id WHERE c.id = ?1"
                ),
                [id.0],
                connection_row,
            )
            .optional()
            .map_err(failed("read a connection"))?;
        row.transpose()
    }

    /// The connection of `account_id` at a registration, if it exists.
    pub fn connection_of(
        &self,
        registration: RegistrationId,
        account_id: &str,
    ) -> Result<Option<ConnectionId>> {
        self.lock()
            .query_row(
                "SELECT id FROM connections WHERE registration_id = ?1 AND account_id = ?2",
                params![registration.0, account_id],
                |row| row.get(0).map(ConnectionId),
            )
            .optional()
            .map_err(failed("read a connection"))
    }

    /// Saves a signed-in account: a new connection, or the existing one of the same account at
    /// the same registration, connected again (its id, history and sources stay).
    pub fn save_connection(&self, new: &NewConnection) -> Result<ConnectionId> {
        let connection = self.lock();
        connection
            .query_row(
                "INSERT INTO connections (registration_id, account_id, username, credential,
                     details, connected_at, token_expires_at, reconnect_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)
                 ON CONFLICT (registration_id, account_id) DO UPDATE SET
                     username = excluded.username, credential = excluded.credential,
                     details = excluded.details, connected_at = excluded.connected_at,
                     token_expires_at = excluded.token_expires_at, reconnect_reason = NULL
                 RETURNING id",
                params![
                    new.registration_id.0,
                    new.account_id,
                    new.username,
                    credential_column(new.credential),
                    new.details,
                    now_unix(),
                    new.token_expires_at,
                ],
                |row| row.get(0).map(ConnectionId),
            )
            .map_err(failed("save the connection"))
    }

    /// Returns false when the connection does not exist.
    pub fn set_token_expiry(&self, id: ConnectionId, expires_at: Option<i64>) -> Result<bool> {
        self.update_connection(id, "token_expires_at", expires_at)
    }

    /// Returns false when the connection does not exist.
    pub fn set_reconnect_reason(&self, id: ConnectionId, reason: Option<&str>) -> Result<bool> {
        self.update_connection(id, "reconnect_reason", reason)
    }

    /// Returns false when the connection does not exist.
    pub fn set_username(&self, id: ConnectionId, username: Option<&str>) -> Result<bool> {
        self.update_connection(id, "username", username)
    }

    /// Returns false when the connection does not exist.
    pub fn set_details(&self, id: ConnectionId, details: &str) -> Result<bool> {
        self.update_connection(id, "details", details)
    }

    /// Records that the connection's secrets moved to their new names.
    pub fn set_connection_migrated(
        &self,
        id: ConnectionId,
        credential: CredentialKind,
    ) -> Result<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE connections SET legacy_keyring = 0, credential = ?2 WHERE id = ?1",
                params![id.0, credential_column(credential)],
            )
            .map_err(failed("save a connection"))?;
        Ok(changed > 0)
    }

    fn update_connection(
        &self,
        id: ConnectionId,
        column: &'static str,
        value: impl rusqlite::ToSql,
    ) -> Result<bool> {
        let changed = self
            .lock()
            .execute(
                &format!("UPDATE connections SET {column} = ?2 WHERE id = ?1"),
                params![id.0, value],
            )
            .map_err(failed("save a connection"))?;
        Ok(changed > 0)
    }

    /// Forgets a connection and its sources; returns false when there was none. History stays.
    pub fn remove_connection(&self, id: ConnectionId) -> Result<bool> {
        let remove_failed = failed("remove a connection");
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(&remove_failed)?;
        transaction
            .execute(
                "DELETE FROM connection_sources WHERE connection_id = ?1",
                [id.0],
            )
            .map_err(&remove_failed)?;
        let removed = transaction
            .execute("DELETE FROM connections WHERE id = ?1", [id.0])
            .map_err(&remove_failed)?;
        transaction.commit().map_err(&remove_failed)?;
        Ok(removed > 0)
    }

    /// The connection's linked sources, in the order the provider listed them.
    pub fn connection_sources(&self, id: ConnectionId) -> Result<Vec<ConnectedSource>> {
        let connection = self.lock();
        let read_failed = failed("read the linked sources");
        let mut statement = connection
            .prepare_cached(
                "SELECT source_id, name FROM connection_sources WHERE connection_id = ?1
                 ORDER BY position",
            )
            .map_err(&read_failed)?;
        let sources = statement
            .query_map([id.0], |row| {
                Ok(ConnectedSource {
                    id: row.get(0)?,
                    name: row.get(1)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&read_failed)?;
        Ok(sources)
    }

    /// Replaces the connection's linked sources; returns how many there were before.
    pub fn replace_connection_sources(
        &self,
        id: ConnectionId,
        sources: &[ConnectedSource],
    ) -> Result<usize> {
        let save_failed = failed("save the linked sources");
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(&save_failed)?;
        let before = transaction
            .execute(
                "DELETE FROM connection_sources WHERE connection_id = ?1",
                [id.0],
            )
            .map_err(&save_failed)?;
        for (position, source) in sources.iter().enumerate() {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO connection_sources (connection_id, source_id, name, position)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![id.0, source.id, source.name, position as i64],
                )
                .map_err(&save_failed)?;
        }
        transaction.commit().map_err(&save_failed)?;
        Ok(before)
    }

    // ---- app settings ----

    /// An app-wide setting (not tied to a registration), `None` when never set.
    pub fn app_setting(&self, name: &str) -> Result<Option<String>> {
        self.lock()
            .query_row(
                "SELECT value FROM app_settings WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed(format!("read the setting {name}")))
    }

    pub fn set_app_setting(&self, name: &str, value: &str) -> Result<()> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO app_settings (name, value) VALUES (?1, ?2)",
                params![name, value],
            )
            .map_err(failed(format!("save the setting {name}")))?;
        Ok(())
    }

    pub fn remove_app_setting(&self, name: &str) -> Result<()> {
        self.lock()
            .execute("DELETE FROM app_settings WHERE name = ?1", [name])
            .map_err(failed(format!("remove the setting {name}")))?;
        Ok(())
    }

    // ---- history ----

    /// Appends an event stamped with the current time, dropping the oldest beyond
    /// [`HISTORY_CAP`]. `detail` must not contain a secret.
    pub fn record_event(&self, scope: EventScope, kind: &str, detail: &str) -> Result<()> {
        let connection = self.lock();
        connection
            .execute(
                "INSERT INTO history (at, provider, registration_id, connection_id, kind, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    now_unix(),
                    scope.provider.key(),
                    scope.registration.map(|r| r.0),
                    scope.connection.map(|c| c.0),
                    kind,
                    detail
                ],
            )
            .map_err(failed(format!("record {} history", scope.provider)))?;
        connection
            .execute(
                "DELETE FROM history WHERE id <= (SELECT max(id) FROM history) - ?1",
                [HISTORY_CAP],
            )
            .map_err(failed("trim the history"))?;
        Ok(())
    }

    /// The `limit` most recent events that match `filter`, newest first.
    pub fn history(&self, filter: HistoryFilter, limit: usize) -> Result<Vec<HistoryEvent>> {
        let (clause, id) = match filter {
            HistoryFilter::Connection(id) => ("connection_id = ?1", id.0),
            HistoryFilter::Registration(id) => ("registration_id = ?1", id.0),
        };
        let connection = self.lock();
        let read_failed = failed("read the history");
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT at, provider, registration_id, connection_id, kind, detail FROM history
                 WHERE {clause} ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(&read_failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![id, limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, Option<i64>>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&read_failed)?;
        rows.into_iter()
            .map(|(at, provider, registration, connection, kind, detail)| {
                Ok(HistoryEvent {
                    at,
                    provider: provider_from_column(&provider)?,
                    registration_id: registration.map(RegistrationId),
                    connection_id: connection.map(ConnectionId),
                    kind,
                    detail,
                })
            })
            .collect()
    }
}

/// Which connections [`Store::connections`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFilter {
    All,
    Provider(Provider),
    Registration(RegistrationId),
}

fn registration_row(row: &Row<'_>) -> rusqlite::Result<Result<RegistrationRecord>> {
    let provider: String = row.get(1)?;
    let transport: String = row.get(4)?;
    let (id, client_id, base_url, options) = (row.get(0)?, row.get(2)?, row.get(3)?, row.get(5)?);
    let (sandbox, has_client_secret, retired, legacy_keyring) =
        (row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?);
    let (created_at, updated_at) = (row.get(10)?, row.get(11)?);
    Ok(provider_from_column(&provider).and_then(|provider| {
        Ok(RegistrationRecord {
            id: RegistrationId(id),
            provider,
            client_id,
            base_url,
            transport: transport_from_column(&transport)?,
            options,
            sandbox,
            has_client_secret,
            retired,
            legacy_keyring,
            created_at,
            updated_at,
        })
    }))
}

fn connection_row(row: &Row<'_>) -> rusqlite::Result<Result<ConnectionRecord>> {
    let provider: String = row.get(2)?;
    let credential: String = row.get(5)?;
    let (id, registration_id, account_id, username) =
        (row.get(0)?, row.get(1)?, row.get(3)?, row.get(4)?);
    let (details, connected_at, token_expires_at, reconnect_reason, legacy_keyring) = (
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    );
    Ok(provider_from_column(&provider).and_then(|provider| {
        Ok(ConnectionRecord {
            id: ConnectionId(id),
            registration_id: RegistrationId(registration_id),
            provider,
            account_id,
            username,
            credential: credential_from_column(&credential)?,
            details,
            connected_at,
            token_expires_at,
            reconnect_reason,
            legacy_keyring,
        })
    }))
}

/// Switches a database to WAL mode. Two processes creating the database at once can each hold
/// the lock the other needs for the switch, and SQLite then answers "locked" at once rather
/// than wait (the busy timeout does not apply), so the switch is tried again for a while.
fn switch_to_wal(connection: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match connection.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())) {
            Err(rusqlite::Error::SqliteFailure(err, _))
                if err.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.map_err(failed("switch the database to WAL mode")),
        }
    }
}

/// Brings the schema up to date in one write transaction, so that two processes opening a
/// database at once never apply a step twice: the second waits, then finds it applied.
fn migrate(connection: &mut Connection) -> Result<()> {
    let upgrade_failed = failed("upgrade the database");
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(&upgrade_failed)?;
    let applied: usize = transaction
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(failed("read the database version"))?;
    if applied > MIGRATIONS.len() {
        return Err(Error::storage(format!(
            "The database has schema version {applied}, newer than this Datalinks understands ({}). \
             Update Datalinks.",
            MIGRATIONS.len()
        )));
    }
    if applied == MIGRATIONS.len() {
        return Ok(());
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = index + 1;
        let step_failed = failed(format!("upgrade the database to version {version}"));
        transaction.execute_batch(step).map_err(&step_failed)?;
        transaction
            .pragma_update(None, "user_version", version)
            .map_err(&step_failed)?;
    }
    transaction.commit().map_err(&upgrade_failed)
}

/// Turns a SQLite error into a `storage` error that says what we were doing.
fn failed(action: impl Into<String>) -> impl Fn(rusqlite::Error) -> Error {
    let action = action.into();
    move |err| Error::storage(format!("Could not {action}: {err}"))
}

// Same names as Transport's serde form, so the database reads like the API.
fn transport_column(transport: Transport) -> &'static str {
    match transport {
        Transport::Loopback => "loopback",
        Transport::DeepLink => "deep_link",
    }
}

fn transport_from_column(value: &str) -> Result<Transport> {
    match value {
        "loopback" => Ok(Transport::Loopback),
        "deep_link" => Ok(Transport::DeepLink),
        other => Err(Error::storage(format!(
            "The database holds an unknown transport {other:?}."
        ))),
    }
}

fn credential_column(credential: CredentialKind) -> &'static str {
    match credential {
        CredentialKind::OAuth => "oauth",
        CredentialKind::PersonalToken => "personal_token",
        CredentialKind::Minted => "minted",
    }
}

fn credential_from_column(value: &str) -> Result<CredentialKind> {
    match value {
        "oauth" => Ok(CredentialKind::OAuth),
        "personal_token" => Ok(CredentialKind::PersonalToken),
        "minted" => Ok(CredentialKind::Minted),
        other => Err(Error::storage(format!(
            "The database holds an unknown kind of credential {other:?}."
        ))),
    }
}

fn provider_from_column(value: &str) -> Result<Provider> {
    Provider::from_key(value)
        .ok_or_else(|| Error::storage(format!("The database names an unknown provider {value:?}.")))
}

#[cfg(test)]
mod tests;
