use super::*;
use datalinks_core::ErrorCode;

const OH: Provider = Provider::OpenHumans;

fn settings() -> ProviderSettings {
    ProviderSettings {
        provider: OH,
        client_id: "client-123".into(),
        base_url: "https://www.openhumans.org".into(),
        transport: Transport::Loopback,
        loopback_path: DEFAULT_LOOPBACK_PATH.into(),
        sandbox: false,
        updated_at: 1_700_000_000,
        options: "{}".into(),
    }
}

fn account() -> AccountRecord {
    AccountRecord {
        provider: OH,
        account_id: "12345678".into(),
        username: Some("alice".into()),
        connected_at: 1_700_000_100,
        token_expires_at: Some(1_700_036_100),
        reconnect_reason: None,
    }
}

#[test]
fn provider_settings_round_trip_and_replace() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.provider_settings(OH).unwrap(), None);
    store.save_provider_settings(&settings()).unwrap();
    assert_eq!(store.provider_settings(OH).unwrap(), Some(settings()));

    let sandbox = ProviderSettings {
        base_url: "http://127.0.0.1:4567/".into(),
        transport: Transport::DeepLink,
        loopback_path: "/oauth/done".into(),
        sandbox: true,
        updated_at: 1_700_000_500,
        options: r#"{"scopes":["email"]}"#.into(),
        ..settings()
    };
    store.save_provider_settings(&sandbox).unwrap();
    assert_eq!(store.provider_settings(OH).unwrap(), Some(sandbox));
}

#[test]
fn unknown_transport_in_the_database_is_a_storage_error() {
    let store = Store::open_in_memory().unwrap();
    store.save_provider_settings(&settings()).unwrap();
    store
        .lock()
        .execute(
            "UPDATE provider_settings SET transport = 'carrier_pigeon'",
            [],
        )
        .unwrap();
    let err = store.provider_settings(OH).unwrap_err();
    assert_eq!(err.code, ErrorCode::Storage);
    assert!(err.message.contains("carrier_pigeon"), "{}", err.message);
}

#[test]
fn account_round_trip_updates_and_removal() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.account(OH).unwrap(), None);
    assert!(!store.set_token_expiry(OH, Some(1)).unwrap());
    assert!(!store.set_reconnect_reason(OH, Some("gone")).unwrap());

    store.save_account(&account()).unwrap();
    assert_eq!(store.account(OH).unwrap(), Some(account()));

    assert!(store.set_token_expiry(OH, Some(1_800_000_000)).unwrap());
    assert!(store
        .set_reconnect_reason(OH, Some("The grant was revoked."))
        .unwrap());
    let updated = store.account(OH).unwrap().unwrap();
    assert_eq!(updated.token_expires_at, Some(1_800_000_000));
    assert_eq!(
        updated.reconnect_reason.as_deref(),
        Some("The grant was revoked.")
    );
    assert_eq!(updated.account_id, "12345678");

    assert!(store.set_token_expiry(OH, None).unwrap());
    assert!(store.set_reconnect_reason(OH, None).unwrap());
    let cleared = store.account(OH).unwrap().unwrap();
    assert_eq!(
        (cleared.token_expires_at, cleared.reconnect_reason),
        (None, None)
    );

    let other = AccountRecord {
        account_id: "87654321".into(),
        username: None,
        ..account()
    };
    store.save_account(&other).unwrap();
    assert_eq!(store.account(OH).unwrap(), Some(other));

    store.save_provider_settings(&settings()).unwrap();
    store.record_event(OH, "connected", "as 87654321").unwrap();
    assert!(store.remove_account(OH).unwrap());
    assert!(!store.remove_account(OH).unwrap());
    assert_eq!(store.account(OH).unwrap(), None);
    assert_eq!(
        store.provider_settings(OH).unwrap(),
        Some(settings()),
        "settings outlive the account"
    );
    assert_eq!(
        store.history(OH, 10).unwrap().len(),
        1,
        "history outlives the account"
    );
}

#[test]
fn history_is_newest_first_and_limited() {
    let store = Store::open_in_memory().unwrap();
    assert!(store.history(OH, 10).unwrap().is_empty());
    let before = now_unix();
    for n in 1..=5 {
        store
            .record_event(OH, "refreshed", &format!("event {n}"))
            .unwrap();
    }
    let after = now_unix();

    let latest = store.history(OH, 3).unwrap();
    let details: Vec<_> = latest.iter().map(|event| event.detail.as_str()).collect();
    assert_eq!(details, ["event 5", "event 4", "event 3"]);
    assert!(latest
        .iter()
        .all(|event| event.provider == OH && event.kind == "refreshed"));
    assert!(latest
        .iter()
        .all(|event| (before..=after).contains(&event.at)));

    assert_eq!(store.history(OH, 100).unwrap().len(), 5);
    assert!(store.history(OH, 0).unwrap().is_empty());
    assert_eq!(store.history(OH, usize::MAX).unwrap().len(), 5);
}

#[test]
fn history_event_serializes_for_the_ui() {
    let event = HistoryEvent {
        at: 42,
        provider: OH,
        kind: "connected".into(),
        detail: "as 1".into(),
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"at": 42, "provider": "openhumans", "kind": "connected", "detail": "as 1"})
    );
}

#[test]
fn file_database_keeps_data_across_reopen_and_migrates_once() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nested").join("datalinks.sqlite3");
    {
        let store = Store::open(&path).unwrap();
        store.save_provider_settings(&settings()).unwrap();
        store.save_account(&account()).unwrap();
        store.record_event(OH, "connected", "as 12345678").unwrap();
    }
    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.provider_settings(OH).unwrap(), Some(settings()));
    assert_eq!(reopened.account(OH).unwrap(), Some(account()));
    assert_eq!(reopened.history(OH, 10).unwrap()[0].detail, "as 12345678");

    let connection = reopened.lock();
    let version: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len());
    let journal: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn a_version_2_database_gains_empty_provider_options_and_keeps_its_rows() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("datalinks.sqlite3");
    {
        let mut connection = Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..2] {
            connection.execute_batch(step).unwrap();
        }
        connection.pragma_update(None, "user_version", 2).unwrap();
        let transaction = connection.transaction().unwrap();
        transaction
            .execute(
                "INSERT INTO provider_settings
                 (provider, client_id, base_url, transport, loopback_path, sandbox, updated_at)
                 VALUES ('openhumans', 'client-123', 'https://www.openhumans.org', 'loopback',
                         '/callback', 0, 1700000000)",
                [],
            )
            .unwrap();
        transaction.commit().unwrap();
    }

    let store = Store::open(&path).unwrap();
    assert_eq!(store.provider_settings(OH).unwrap(), Some(settings()));
    let version: usize = store
        .lock()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len());
    let oc = ProviderSettings {
        provider: Provider::OpenCollective,
        options: r#"{"scopes":["email","account"]}"#.into(),
        ..settings()
    };
    store.save_provider_settings(&oc).unwrap();
    assert_eq!(
        store.provider_settings(Provider::OpenCollective).unwrap(),
        Some(oc)
    );
    assert_eq!(store.provider_settings(OH).unwrap(), Some(settings()));
}

#[test]
fn app_settings_are_absent_until_set_and_the_last_value_wins() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.app_setting("download_folder").unwrap(), None);
    store.set_app_setting("download_folder", "/a").unwrap();
    store.set_app_setting("download_folder", "/b").unwrap();
    assert_eq!(
        store.app_setting("download_folder").unwrap().as_deref(),
        Some("/b")
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("datalinks.sqlite3");
    Store::open(&path).unwrap();
    let future = MIGRATIONS.len() + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", future)
        .unwrap();

    let err = Store::open(&path)
        .err()
        .expect("a newer schema must be refused");
    assert_eq!(err.code, ErrorCode::Storage);
    assert!(err.message.contains("Update Datalinks"), "{}", err.message);
    let version: usize = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, future);
}

#[test]
fn unopenable_path_is_a_storage_error() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let err = Store::open(file.join("datalinks.sqlite3"))
        .err()
        .expect("a file cannot be a folder");
    assert_eq!(err.code, ErrorCode::Storage);
    assert!(err.message.contains("data folder"), "{}", err.message);
}

#[test]
fn store_is_shareable_between_threads() {
    let store = std::sync::Arc::new(Store::open_in_memory().unwrap());
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            std::thread::spawn(move || store.record_event(OH, "thread", &n.to_string()).unwrap())
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(store.history(OH, 10).unwrap().len(), 4);
}

#[test]
fn connected_sources_are_replaced_as_a_whole_and_kept_per_provider() {
    let store = Store::open_in_memory().unwrap();
    let hapi = Provider::HumanApi;
    assert!(store.connected_sources(hapi).unwrap().is_empty());
    let source = |id: &str, name: &str| ConnectedSource {
        id: id.into(),
        name: name.into(),
    };
    let two = [source("b1", "Fitbit"), source("a2", "Starfleet Medical")];
    assert_eq!(store.replace_connected_sources(hapi, &two).unwrap(), 0);
    assert_eq!(
        store.connected_sources(hapi).unwrap(),
        two,
        "in the order given"
    );
    assert!(store.connected_sources(OH).unwrap().is_empty());
    assert_eq!(
        store
            .replace_connected_sources(hapi, &[source("a2", "Starfleet Medical")])
            .unwrap(),
        2
    );
    assert_eq!(store.connected_sources(hapi).unwrap().len(), 1);
    assert_eq!(store.replace_connected_sources(hapi, &[]).unwrap(), 1);
    assert!(store.connected_sources(hapi).unwrap().is_empty());
}
