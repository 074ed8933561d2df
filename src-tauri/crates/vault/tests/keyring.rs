mod support;

use datalinks_core::{
    AccessToken, ErrorCode, Provider, RefreshToken, RegistrationIdentity, SecretString,
};
use datalinks_vault::{KeyringStore, SecretKind, SecretOwner, SecretStore, TokenSet, Vault};
use std::process::Command;
use std::sync::Arc;
use support::{test_key, usable_keyring, Cleanup};

#[test]
fn set_get_overwrite_delete_round_trip() {
    let Some(store) = usable_keyring("round_trip") else {
        return;
    };
    let key = test_key("round-trip");
    let _cleanup = Cleanup {
        store: &store,
        keys: vec![key.clone()],
    };

    assert_eq!(store.get(&key).unwrap(), None);
    assert!(!store.delete(&key).unwrap());

    store
        .set(&key, &SecretString::new("first value ✓"))
        .unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "first value ✓");
    store.set(&key, &SecretString::new("second")).unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "second");

    assert!(store.delete(&key).unwrap());
    assert_eq!(store.get(&key).unwrap(), None);
    assert!(!store.delete(&key).unwrap());
    assert_eq!(store.location(), "OS keyring (Secret Service)");
}

#[test]
fn entries_of_different_keys_are_independent() {
    let Some(store) = usable_keyring("independent_keys") else {
        return;
    };
    let (first, second) = (test_key("first"), test_key("second"));
    let _cleanup = Cleanup {
        store: &store,
        keys: vec![first.clone(), second.clone()],
    };

    store.set(&first, &SecretString::new("one")).unwrap();
    store.set(&second, &SecretString::new("two")).unwrap();
    assert!(store.delete(&first).unwrap());
    assert_eq!(store.get(&second).unwrap().unwrap().expose(), "two");
}

#[test]
fn vault_tokens_survive_a_fresh_connection() {
    let Some(store) = usable_keyring("vault_tokens") else {
        return;
    };
    // The vault's fixed keys would clash with a real app install, so only throwaway keyrings.
    if !support::keyring_required() {
        support::announce(
            "vault_tokens: skipped: only with DATALINKS_REQUIRE_KEYRING=1 (a throwaway keyring)",
        );
        return;
    }
    let tokens = TokenSet {
        access_token: AccessToken::new("access"),
        refresh_token: Some(RefreshToken::new("refresh")),
        expires_at: Some(1_800_000_000),
        scope: Some("read".into()),
    };
    let account = RegistrationIdentity::new(
        Provider::OpenHumans,
        "vault-test",
        vec!["https://vault-test.invalid".into()],
    )
    .account("12345678");
    Vault::new(Arc::new(store))
        .set_tokens(&account, &tokens)
        .unwrap();

    let reopened = Vault::new(Arc::new(KeyringStore::new()));
    assert_eq!(reopened.tokens(&account).unwrap(), Some(tokens));
    let owner = SecretOwner::Account(&account);
    assert!(reopened.delete(owner, SecretKind::Tokens).unwrap());
    assert_eq!(reopened.tokens(&account).unwrap(), None);
}

const NO_BUS_CHILD: &str = "DATALINKS_VAULT_TEST_NO_BUS_CHILD";

/// Runs itself again in a child process whose session bus address points nowhere.
#[test]
fn without_a_session_bus_construction_works_and_calls_are_keyring_unavailable() {
    if std::env::var_os(NO_BUS_CHILD).is_some() {
        let store = KeyringStore::new();
        let errors = [
            store.get("any").unwrap_err(),
            store.set("any", &SecretString::new("value")).unwrap_err(),
            store.delete("any").unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.code, ErrorCode::KeyringUnavailable, "{err}");
            assert!(
                err.message.contains("unlock it and retry"),
                "{}",
                err.message
            );
        }
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_a_session_bus_construction_works_and_calls_are_keyring_unavailable",
            "--nocapture",
        ])
        .env(NO_BUS_CHILD, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/datalinks-test-bus",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}
