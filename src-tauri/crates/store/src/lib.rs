//! Datalinks state that is not secret, in SQLite: each provider's app settings, app-wide
//! settings, the connected account and a history of what happened. Secrets never come here: they live in the vault.

use datalinks_core::{now_unix, Error, Provider, Result, Transport};
use rusqlite::{params, Connection, OptionalExtension};
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
];

/// The path the loopback listener serves unless settings say otherwise.
pub const DEFAULT_LOOPBACK_PATH: &str = "/callback";

/// A provider's app registration and how its redirect comes back. The client secret is in
/// the vault, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    pub provider: Provider,
    pub client_id: String,
    pub base_url: String,
    pub transport: Transport,
    /// Path of the loopback redirect URI, [`DEFAULT_LOOPBACK_PATH`] unless changed.
    pub loopback_path: String,
    /// True when these settings point at the built-in sandbox.
    pub sandbox: bool,
    pub updated_at: i64,
    /// The provider's own settings as a JSON object (`{}` when it has none); the service
    /// gives them their type.
    pub options: String,
}

/// The connected account of a provider (one per provider). Tokens are in the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub provider: Provider,
    pub account_id: String,
    pub username: Option<String>,
    pub connected_at: i64,
    pub token_expires_at: Option<i64>,
    /// Set when the grant is gone and the person must connect again.
    pub reconnect_reason: Option<String>,
}

/// One line of a provider's history, as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HistoryEvent {
    /// Unix seconds.
    #[ts(type = "number")]
    pub at: i64,
    pub provider: Provider,
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
        connection
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(failed("switch the database to WAL mode"))?;
        Self::with_connection(connection)
    }

    /// A private database that disappears with the value, for tests.
    pub fn open_in_memory() -> Result<Self> {
        let connection =
            Connection::open_in_memory().map_err(failed("open an in-memory database"))?;
        Self::with_connection(connection)
    }

    fn with_connection(mut connection: Connection) -> Result<Self> {
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

    pub fn provider_settings(&self, provider: Provider) -> Result<Option<ProviderSettings>> {
        let row = self
            .lock()
            .query_row(
                "SELECT client_id, base_url, transport, loopback_path, sandbox, updated_at, options
                 FROM provider_settings WHERE provider = ?1",
                [provider.key()],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, bool>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(failed(format!("read the {provider} settings")))?;
        let Some((client_id, base_url, transport, loopback_path, sandbox, updated_at, options)) =
            row
        else {
            return Ok(None);
        };
        Ok(Some(ProviderSettings {
            provider,
            client_id,
            base_url,
            transport: transport_from_column(&transport)?,
            loopback_path,
            sandbox,
            updated_at,
            options,
        }))
    }

    pub fn save_provider_settings(&self, settings: &ProviderSettings) -> Result<()> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO provider_settings
                 (provider, client_id, base_url, transport, loopback_path, sandbox, updated_at, options)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    settings.provider.key(),
                    settings.client_id,
                    settings.base_url,
                    transport_column(settings.transport),
                    settings.loopback_path,
                    settings.sandbox,
                    settings.updated_at,
                    settings.options,
                ],
            )
            .map_err(failed(format!("save the {} settings", settings.provider)))?;
        Ok(())
    }

    pub fn account(&self, provider: Provider) -> Result<Option<AccountRecord>> {
        self.lock()
            .query_row(
                "SELECT account_id, username, connected_at, token_expires_at, reconnect_reason
                 FROM accounts WHERE provider = ?1",
                [provider.key()],
                |row| {
                    Ok(AccountRecord {
                        provider,
                        account_id: row.get(0)?,
                        username: row.get(1)?,
                        connected_at: row.get(2)?,
                        token_expires_at: row.get(3)?,
                        reconnect_reason: row.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(failed(format!("read the {provider} account")))
    }

    /// Creates or replaces the provider's account.
    pub fn save_account(&self, account: &AccountRecord) -> Result<()> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO accounts
                 (provider, account_id, username, connected_at, token_expires_at, reconnect_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    account.provider.key(),
                    account.account_id,
                    account.username,
                    account.connected_at,
                    account.token_expires_at,
                    account.reconnect_reason,
                ],
            )
            .map_err(failed(format!("save the {} account", account.provider)))?;
        Ok(())
    }

    /// Returns false when the provider has no account to update.
    pub fn set_token_expiry(&self, provider: Provider, expires_at: Option<i64>) -> Result<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE accounts SET token_expires_at = ?2 WHERE provider = ?1",
                params![provider.key(), expires_at],
            )
            .map_err(failed(format!("save the {provider} token expiry")))?;
        Ok(changed > 0)
    }

    /// Returns false when the provider has no account to update.
    pub fn set_reconnect_reason(&self, provider: Provider, reason: Option<&str>) -> Result<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE accounts SET reconnect_reason = ?2 WHERE provider = ?1",
                params![provider.key(), reason],
            )
            .map_err(failed(format!("save why {provider} needs reconnecting")))?;
        Ok(changed > 0)
    }

    /// An app-wide setting (not tied to a provider), `None` when never set.
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

    /// Returns false when there was no account. Settings and history stay.
    pub fn remove_account(&self, provider: Provider) -> Result<bool> {
        let removed = self
            .lock()
            .execute("DELETE FROM accounts WHERE provider = ?1", [provider.key()])
            .map_err(failed(format!("remove the {provider} account")))?;
        Ok(removed > 0)
    }

    /// The provider's linked sources, in the order the provider listed them.
    pub fn connected_sources(&self, provider: Provider) -> Result<Vec<ConnectedSource>> {
        let connection = self.lock();
        let read_failed = failed(format!("read the {provider} sources"));
        let mut statement = connection
            .prepare_cached(
                "SELECT source_id, name FROM connected_sources WHERE provider = ?1 ORDER BY position",
            )
            .map_err(&read_failed)?;
        let sources = statement
            .query_map([provider.key()], |row| {
                Ok(ConnectedSource {
                    id: row.get(0)?,
                    name: row.get(1)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&read_failed)?;
        Ok(sources)
    }

    /// Replaces the provider's linked sources with `sources`; returns how many there were before.
    pub fn replace_connected_sources(
        &self,
        provider: Provider,
        sources: &[ConnectedSource],
    ) -> Result<usize> {
        let save_failed = failed(format!("save the {provider} sources"));
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(&save_failed)?;
        let before = transaction
            .execute(
                "DELETE FROM connected_sources WHERE provider = ?1",
                [provider.key()],
            )
            .map_err(&save_failed)?;
        for (position, source) in sources.iter().enumerate() {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO connected_sources (provider, source_id, name, position)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![provider.key(), source.id, source.name, position as i64],
                )
                .map_err(&save_failed)?;
        }
        transaction.commit().map_err(&save_failed)?;
        Ok(before)
    }

    /// Appends an event stamped with the current time. `detail` must not contain a secret.
    pub fn record_event(&self, provider: Provider, kind: &str, detail: &str) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO history (at, provider, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                params![now_unix(), provider.key(), kind, detail],
            )
            .map_err(failed(format!("record {provider} history")))?;
        Ok(())
    }

    /// The provider's `limit` most recent events, newest first.
    pub fn history(&self, provider: Provider, limit: usize) -> Result<Vec<HistoryEvent>> {
        let connection = self.lock();
        let read_failed = failed(format!("read the {provider} history"));
        let mut statement = connection
            .prepare_cached(
                "SELECT at, kind, detail FROM history WHERE provider = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(&read_failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let events = statement
            .query_map(params![provider.key(), limit], |row| {
                Ok(HistoryEvent {
                    at: row.get(0)?,
                    provider,
                    kind: row.get(1)?,
                    detail: row.get(2)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&read_failed)?;
        Ok(events)
    }
}

fn migrate(connection: &mut Connection) -> Result<()> {
    let applied: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(failed("read the database version"))?;
    if applied > MIGRATIONS.len() {
        return Err(Error::storage(format!(
            "The database has schema version {applied}, newer than this Datalinks understands ({}). \
             Update Datalinks.",
            MIGRATIONS.len()
        )));
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = index + 1;
        let upgrade_failed = failed(format!("upgrade the database to version {version}"));
        let transaction = connection.transaction().map_err(&upgrade_failed)?;
        transaction.execute_batch(step).map_err(&upgrade_failed)?;
        transaction
            .pragma_update(None, "user_version", version)
            .map_err(&upgrade_failed)?;
        transaction.commit().map_err(&upgrade_failed)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests;
