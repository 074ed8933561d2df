use super::*;
use datalinks_core::ErrorCode;

const OH: Provider = Provider::OpenHumans;

fn registration(provider: Provider) -> NewRegistration {
    NewRegistration {
        provider,
        client_id: "client-123".into(),
        base_url: "https://www.openhumans.org".into(),
        transport: Transport::Loopback,
        options: "{}".into(),
        sandbox: false,
        has_client_secret: true,
    }
}

fn account(registration_id: RegistrationId, account_id: &str) -> NewConnection {
    NewConnection {
        registration_id,
        account_id: account_id.into(),
        username: Some("alice".into()),
        credential: CredentialKind::OAuth,
        details: "{}".into(),
        token_expires_at: Some(1_700_036_100),
    }
}

fn scope(registration: RegistrationId, connection: Option<ConnectionId>) -> EventScope {
    EventScope {
        provider: OH,
        registration: Some(registration),
        connection,
    }
}

#[test]
fn registrations_keep_their_identity_and_update_the_rest() {
    let store = Store::open_in_memory().unwrap();
    assert!(store.registrations(None).unwrap().is_empty());
    let id = store.insert_registration(&registration(OH)).unwrap();
    let mut stored = store.registration(id).unwrap().unwrap();
    assert_eq!(
        (
            stored.client_id.as_str(),
            stored.base_url.as_str(),
            stored.retired
        ),
        ("client-123", "https://www.openhumans.org", false)
    );
    stored.transport = Transport::DeepLink;
    stored.options = r#"{"scopes":["email"]}"#.into();
    stored.retired = true;
    stored.client_id = "ignored".into();
    store.update_registration(&stored).unwrap();
    let updated = store.registration(id).unwrap().unwrap();
    assert_eq!(updated.transport, Transport::DeepLink);
    assert_eq!(updated.options, r#"{"scopes":["email"]}"#);
    assert!(updated.retired);
    assert_eq!(
        updated.client_id, "client-123",
        "the identity never changes"
    );

    let other = store
        .insert_registration(&registration(Provider::OpenCollective))
        .unwrap();
    assert_eq!(store.registrations(Some(OH)).unwrap().len(), 1);
    assert_eq!(store.registrations(None).unwrap().len(), 2);
    assert!(store.remove_registration(other).unwrap());
    assert!(!store.remove_registration(other).unwrap());
}

#[test]
fn unknown_transport_in_the_database_is_a_storage_error() {
    let store = Store::open_in_memory().unwrap();
    let id = store.insert_registration(&registration(OH)).unwrap();
    store
        .lock()
        .execute("UPDATE registrations SET transport = 'carrier_pigeon'", [])
        .unwrap();
    let err = store.registration(id).unwrap_err();
    assert_eq!(err.code, ErrorCode::Storage);
    assert!(err.message.contains("carrier_pigeon"), "{}", err.message);
}

#[test]
fn several_accounts_per_registration_and_the_same_account_connects_again_in_place() {
    let store = Store::open_in_memory().unwrap();
    let reg = store.insert_registration(&registration(OH)).unwrap();
    let alice = store.save_connection(&account(reg, "12345678")).unwrap();
    let bob = store.save_connection(&account(reg, "87654321")).unwrap();
    assert_ne!(alice, bob);
    assert_eq!(store.connection_of(reg, "87654321").unwrap(), Some(bob));

    assert!(store.set_reconnect_reason(alice, Some("revoked")).unwrap());
    assert!(store.set_token_expiry(alice, None).unwrap());
    let again = store
        .save_connection(&NewConnection {
            username: Some("alice2".into()),
            ..account(reg, "12345678")
        })
        .unwrap();
    assert_eq!(
        again, alice,
        "the same account at the same registration keeps its id"
    );
    let record = store.connection(alice).unwrap().unwrap();
    assert_eq!(
        record.reconnect_reason, None,
        "connecting again clears the reason"
    );
    assert_eq!(record.username.as_deref(), Some("alice2"));
    assert_eq!(record.token_expires_at, Some(1_700_036_100));
    assert_eq!(record.provider, OH);

    let elsewhere = store
        .insert_registration(&NewRegistration {
            base_url: "https://staging.openhumans.org".into(),
            ..registration(OH)
        })
        .unwrap();
    let same_account_elsewhere = store
        .save_connection(&account(elsewhere, "12345678"))
        .unwrap();
    assert_ne!(same_account_elsewhere, alice);
    assert_eq!(
        store
            .connections(ConnectionFilter::Provider(OH))
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store
            .connections(ConnectionFilter::Registration(reg))
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [alice, bob]
    );

    let err = store.remove_registration(reg).unwrap_err();
    assert_eq!(err.code, ErrorCode::Storage, "connections are bound to it");
    store
        .record_event(scope(reg, Some(bob)), "connected", "as bob")
        .unwrap();
    assert!(store.remove_connection(bob).unwrap());
    assert!(!store.remove_connection(bob).unwrap());
    assert_eq!(store.connection(bob).unwrap(), None);
    assert_eq!(
        store
            .history(HistoryFilter::Connection(bob), 10)
            .unwrap()
            .len(),
        1,
        "history outlives the connection"
    );
}

#[test]
fn history_is_per_connection_and_per_registration_newest_first_and_limited() {
    let store = Store::open_in_memory().unwrap();
    let reg = store.insert_registration(&registration(OH)).unwrap();
    let alice = store.save_connection(&account(reg, "12345678")).unwrap();
    let bob = store.save_connection(&account(reg, "87654321")).unwrap();
    let before = now_unix();
    store
        .record_event(scope(reg, None), "settings_saved", "saved")
        .unwrap();
    for n in 1..=5 {
        store
            .record_event(scope(reg, Some(alice)), "refreshed", &format!("event {n}"))
            .unwrap();
    }
    store
        .record_event(scope(reg, Some(bob)), "connected", "bob")
        .unwrap();
    let after = now_unix();

    let latest = store.history(HistoryFilter::Connection(alice), 3).unwrap();
    let details: Vec<_> = latest.iter().map(|event| event.detail.as_str()).collect();
    assert_eq!(details, ["event 5", "event 4", "event 3"]);
    assert!(latest.iter().all(|event| event.provider == OH
        && event.connection_id == Some(alice)
        && event.registration_id == Some(reg)
        && (before..=after).contains(&event.at)));
    assert_eq!(
        store
            .history(HistoryFilter::Connection(bob), 10)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .history(HistoryFilter::Registration(reg), 100)
            .unwrap()
            .len(),
        7
    );
    assert!(store
        .history(HistoryFilter::Connection(alice), 0)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .history(HistoryFilter::Connection(alice), usize::MAX)
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn history_event_serializes_for_the_ui() {
    let event = HistoryEvent {
        at: 42,
        provider: OH,
        registration_id: Some(RegistrationId(3)),
        connection_id: None,
        kind: "connected".into(),
        detail: "as 1".into(),
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"at": 42, "provider": "openhumans", "registration_id": 3,
            "connection_id": null, "kind": "connected", "detail": "as 1"})
    );
}

#[test]
fn file_database_keeps_data_across_reopen() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nested").join("datalinks.sqlite3");
    let (reg, conn) = {
        let store = Store::open(&path).unwrap();
        let reg = store.insert_registration(&registration(OH)).unwrap();
        let conn = store.save_connection(&account(reg, "12345678")).unwrap();
        store
            .record_event(scope(reg, Some(conn)), "connected", "as 12345678")
            .unwrap();
        (reg, conn)
    };
    let reopened = Store::open(&path).unwrap();
    assert_eq!(
        reopened.registration(reg).unwrap().unwrap().client_id,
        "client-123"
    );
    assert_eq!(
        reopened.connection(conn).unwrap().unwrap().account_id,
        "12345678"
    );
    assert_eq!(
        reopened
            .history(HistoryFilter::Connection(conn), 10)
            .unwrap()[0]
            .detail,
        "as 12345678"
    );

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

/// A database as the release before registrations left it: one settings row, one account and
/// history per provider, a sandbox Open Collective, and Human API's person in its options.
fn version_4_database(path: &Path) {
    let mut connection = Connection::open(path).unwrap();
    for step in &MIGRATIONS[..4] {
        connection.execute_batch(step).unwrap();
    }
    connection.pragma_update(None, "user_version", 4).unwrap();
    let transaction = connection.transaction().unwrap();
    transaction
        .execute_batch(
            r#"
            INSERT INTO provider_settings VALUES ('openhumans', 'oh-client',
                'https://www.openhumans.org', 'loopback', '/callback', 0, 1700000000, '{}');
            INSERT INTO provider_settings VALUES ('opencollective', 'oc-sandbox-client',
                'http://127.0.0.1:40001', 'deep_link', '/callback', 1, 1700000001,
                '{"api_url":"http://127.0.0.1:40001","scopes":["email"]}');
            INSERT INTO provider_settings VALUES ('humanapi', 'hapi-client',
                'https://auth.humanapi.co', 'loopback', '/callback', 0, 1700000002,
                '{"client_user_id":"datalinks-abc","email":"ada@example.org"}');
            INSERT INTO accounts VALUES ('openhumans', '12345678', 'alice', 1700000100, 1700036100, NULL);
            INSERT INTO accounts VALUES ('opencollective', 'oc-7', 'ada', 1700000200, NULL, 'revoked');
            INSERT INTO accounts VALUES ('humanapi', '5a1f0c9e2b7d4e8fa3c6b9d0', 'ada@example.org', 1700000300, NULL, NULL);
            INSERT INTO connected_sources VALUES ('humanapi', 'src-1', 'Fitbit', 0);
            INSERT INTO history (at, provider, kind, detail) VALUES (1700000100, 'openhumans', 'connected', 'as 12345678');
            INSERT INTO history (at, provider, kind, detail) VALUES (1700000400, 'humanapi', 'source_connected', 'Fitbit');
            INSERT INTO app_settings VALUES ('download_folder', '/home/me/Downloads');
            "#,
        )
        .unwrap();
    transaction.commit().unwrap();
}

#[test]
fn a_version_4_database_becomes_registrations_and_connections_once() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("datalinks.sqlite3");
    version_4_database(&path);

    let store = Store::open(&path).unwrap();
    let registrations = store.registrations(None).unwrap();
    assert_eq!(registrations.len(), 3);
    let by_provider = |provider| {
        registrations
            .iter()
            .find(|r| r.provider == provider)
            .unwrap()
    };
    let oh = by_provider(OH);
    assert_eq!(
        (
            oh.client_id.as_str(),
            oh.base_url.as_str(),
            oh.sandbox,
            oh.has_client_secret
        ),
        ("oh-client", "https://www.openhumans.org", false, true)
    );
    assert!(
        oh.legacy_keyring,
        "its secrets are still under the old names"
    );
    let oc = by_provider(Provider::OpenCollective);
    assert!(oc.sandbox);
    assert_eq!(oc.base_url, "", "a sandbox registration keeps no address");
    assert_eq!(oc.transport, Transport::DeepLink);
    let hapi = by_provider(Provider::HumanApi);
    assert!(!hapi.options.contains("client_user_id"), "{}", hapi.options);
    assert!(hapi.options.contains("ada@example.org"));

    let connections = store.connections(ConnectionFilter::All).unwrap();
    assert_eq!(connections.len(), 3);
    let of = |provider| connections.iter().find(|c| c.provider == provider).unwrap();
    let alice = of(OH);
    assert_eq!(
        (
            alice.account_id.as_str(),
            alice.username.as_deref(),
            alice.token_expires_at
        ),
        ("12345678", Some("alice"), Some(1_700_036_100))
    );
    assert_eq!(alice.registration_id, oh.id);
    assert!(alice.legacy_keyring);
    assert_eq!(
        of(Provider::OpenCollective).reconnect_reason.as_deref(),
        Some("revoked")
    );
    let person = of(Provider::HumanApi);
    assert_eq!(
        person.account_id, "datalinks-abc",
        "keyed by our client_user_id"
    );
    assert_eq!(person.credential, CredentialKind::Minted);
    let details: serde_json::Value = serde_json::from_str(&person.details).unwrap();
    assert_eq!(details["human_id"], "5a1f0c9e2b7d4e8fa3c6b9d0");
    assert_eq!(
        store.connection_sources(person.id).unwrap()[0].name,
        "Fitbit"
    );

    let history = store
        .history(HistoryFilter::Connection(alice.id), 10)
        .unwrap();
    assert_eq!(history[0].detail, "as 12345678");
    assert_eq!(
        store
            .history(HistoryFilter::Registration(hapi.id), 10)
            .unwrap()[0]
            .kind,
        "source_connected"
    );
    assert_eq!(
        store.app_setting("download_folder").unwrap().as_deref(),
        Some("/home/me/Downloads")
    );
    drop(store);

    let reopened = Store::open(&path).unwrap();
    assert_eq!(
        reopened.registrations(None).unwrap(),
        registrations,
        "migrated once"
    );
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
    store.remove_app_setting("download_folder").unwrap();
    assert_eq!(store.app_setting("download_folder").unwrap(), None);
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
    let reg = store.insert_registration(&registration(OH)).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            std::thread::spawn(move || {
                store
                    .record_event(scope(reg, None), "thread", &n.to_string())
                    .unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(
        store
            .history(HistoryFilter::Registration(reg), 10)
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn linked_sources_are_replaced_as_a_whole_and_kept_per_connection() {
    let store = Store::open_in_memory().unwrap();
    let reg = store
        .insert_registration(&registration(Provider::HumanApi))
        .unwrap();
    let ada = store
        .save_connection(&account(reg, "datalinks-ada"))
        .unwrap();
    let bea = store
        .save_connection(&account(reg, "datalinks-bea"))
        .unwrap();
    assert!(store.connection_sources(ada).unwrap().is_empty());
    let source = |id: &str, name: &str| ConnectedSource {
        id: id.into(),
        name: name.into(),
    };
    let two = [source("b1", "Fitbit"), source("a2", "Starfleet Medical")];
    assert_eq!(store.replace_connection_sources(ada, &two).unwrap(), 0);
    assert_eq!(
        store.connection_sources(ada).unwrap(),
        two,
        "in the order given"
    );
    assert!(store.connection_sources(bea).unwrap().is_empty());
    assert_eq!(
        store
            .replace_connection_sources(ada, &[source("a2", "Starfleet Medical")])
            .unwrap(),
        2
    );
    assert_eq!(store.connection_sources(ada).unwrap().len(), 1);
    assert!(store.remove_connection(ada).unwrap());
    assert!(store.connection_sources(ada).unwrap().is_empty());
}

#[test]
fn history_keeps_the_newest_events_up_to_its_cap() {
    let store = Store::open_in_memory().unwrap();
    let reg = store.insert_registration(&registration(OH)).unwrap();
    for n in 0..HISTORY_CAP + 25 {
        store
            .record_event(scope(reg, None), "flood", &n.to_string())
            .unwrap();
    }
    let kept = store
        .history(HistoryFilter::Registration(reg), usize::MAX)
        .unwrap();
    assert_eq!(kept.len() as i64, HISTORY_CAP);
    assert_eq!(
        kept[0].detail,
        (HISTORY_CAP + 24).to_string(),
        "the newest stays"
    );
    assert_eq!(kept.last().unwrap().detail, "25", "the oldest went");
}

#[test]
fn a_sign_in_problem_outlives_the_process_until_cleared_or_its_registration_goes() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("datalinks.sqlite3");
    let problem = Error::new(
        ErrorCode::NotConfigured,
        "Open Humans refused the client secret.",
    );
    let reg = {
        let store = Store::open(&path).unwrap();
        let reg = store.insert_registration(&registration(OH)).unwrap();
        assert_eq!(store.sign_in_problem(reg).unwrap(), None);
        store
            .set_sign_in_problem(reg, Some(&Error::internal("first")))
            .unwrap();
        store.set_sign_in_problem(reg, Some(&problem)).unwrap();
        reg
    };
    let reopened = Store::open(&path).unwrap();
    assert_eq!(
        reopened.sign_in_problem(reg).unwrap(),
        Some(problem.clone())
    );
    reopened.set_sign_in_problem(reg, None).unwrap();
    assert_eq!(reopened.sign_in_problem(reg).unwrap(), None);

    reopened.set_sign_in_problem(reg, Some(&problem)).unwrap();
    assert!(reopened.remove_registration(reg).unwrap());
    assert_eq!(reopened.sign_in_problem(reg).unwrap(), None);
}

#[test]
fn many_openers_of_a_new_database_at_once_all_get_it() {
    // The app and several CLI runs may create the database together.
    for _ in 0..5 {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("datalinks.sqlite3");
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Store::open(&path).map(drop))
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}
