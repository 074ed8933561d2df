//! Locks the session's default keyring collection, so it is its own test binary (cargo runs
//! test binaries one after another) and only runs when `DATALINKS_TEST_KEYRING_PASSWORD`
//! says the keyring is a throwaway gnome-keyring whose password we know.

mod support;

use datalinks_core::{ErrorCode, SecretString};
use datalinks_vault::SecretStore;
use support::{test_key, usable_keyring, Cleanup};
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const SECRETS: &str = "org.freedesktop.secrets";
const SECRETS_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_INTERFACE: &str = "org.freedesktop.Secret.Service";
/// gnome-keyring's interface for unlocking without a prompt (what `--unlock` uses).
const GNOME_KEYRING_INTERFACE: &str = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface";

fn default_collection(bus: &Connection) -> OwnedObjectPath {
    let reply = bus
        .call_method(
            Some(SECRETS),
            SECRETS_PATH,
            Some(SERVICE_INTERFACE),
            "ReadAlias",
            &("default",),
        )
        .unwrap();
    reply.body().deserialize().unwrap()
}

fn lock(bus: &Connection, collection: &OwnedObjectPath) {
    let reply = bus
        .call_method(
            Some(SECRETS),
            SECRETS_PATH,
            Some(SERVICE_INTERFACE),
            "Lock",
            &(vec![collection],),
        )
        .unwrap();
    let (locked, _prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) =
        reply.body().deserialize().unwrap();
    assert_eq!(
        locked,
        vec![collection.clone()],
        "the collection did not lock without a prompt"
    );
}

fn unlock(bus: &Connection, collection: &OwnedObjectPath, password: &str) {
    let reply = bus
        .call_method(
            Some(SECRETS),
            SECRETS_PATH,
            Some(SERVICE_INTERFACE),
            "OpenSession",
            &("plain", Value::from("")),
        )
        .unwrap();
    let (_, session): (OwnedValue, OwnedObjectPath) = reply.body().deserialize().unwrap();
    let master = (
        session,
        Vec::<u8>::new(),
        password.as_bytes().to_vec(),
        "text/plain",
    );
    bus.call_method(
        Some(SECRETS),
        SECRETS_PATH,
        Some(GNOME_KEYRING_INTERFACE),
        "UnlockWithMasterPassword",
        &(collection, master),
    )
    .unwrap();
}

/// Item paths matching our entry, locked ones included: proves it exists without unlocking.
fn stored_items(bus: &Connection, key: &str) -> usize {
    let attributes = std::collections::HashMap::from([
        ("service", datalinks_core::APP_IDENTIFIER),
        ("username", key),
    ]);
    let reply = bus
        .call_method(
            Some(SECRETS),
            SECRETS_PATH,
            Some(SERVICE_INTERFACE),
            "SearchItems",
            &(attributes,),
        )
        .unwrap();
    let (unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
        reply.body().deserialize().unwrap();
    unlocked.len() + locked.len()
}

#[test]
fn locked_keyring_is_unavailable_keeps_the_value_and_recovers_after_unlock() {
    let Ok(password) = std::env::var("DATALINKS_TEST_KEYRING_PASSWORD") else {
        assert!(
            !support::keyring_required(),
            "DATALINKS_REQUIRE_KEYRING=1 also needs DATALINKS_TEST_KEYRING_PASSWORD (the throwaway keyring's password)"
        );
        support::announce(
            "locked_keyring: skipped: set DATALINKS_TEST_KEYRING_PASSWORD for a throwaway keyring",
        );
        return;
    };
    let Some(store) = usable_keyring("locked_keyring") else {
        return;
    };
    let key = test_key("locked");
    let _cleanup = Cleanup {
        store: &store,
        keys: vec![key.clone()],
    };
    store
        .set(&key, &SecretString::new("kept while locked"))
        .unwrap();

    let bus = Connection::session().unwrap();
    let collection = default_collection(&bus);
    lock(&bus, &collection);

    let errors = [
        store.get(&key).unwrap_err(),
        store
            .set(&key, &SecretString::new("replacement"))
            .unwrap_err(),
        store.delete(&key).unwrap_err(),
        store
            .set(&test_key("new-while-locked"), &SecretString::new("new"))
            .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.code, ErrorCode::KeyringUnavailable, "{err}");
        assert!(
            err.message.contains("Nothing was deleted"),
            "{}",
            err.message
        );
    }
    assert_eq!(
        stored_items(&bus, &key),
        1,
        "the entry must survive failed calls"
    );

    // The same store instance works again once the person unlocked: that is what Retry does.
    unlock(&bus, &collection, &password);
    assert_eq!(
        store.get(&key).unwrap().unwrap().expose(),
        "kept while locked"
    );
}
