//! The consent ledger against the sandboxes: what each connection granted, by name; where its
//! secrets are and whether the keyring reads; local copies, and deleting them; the page where
//! the person revokes access; and an entry that survives a locked keyring.

mod support;

use datalinks_core::{ErrorCode, Provider, Transport};
use datalinks_service::{ConsentLedger, Grant, LedgerEntry};
use support::Harness;

fn entry(ledger: &ConsentLedger, provider: Provider) -> &LedgerEntry {
    ledger
        .connections
        .iter()
        .find(|e| e.connection.provider == provider)
        .expect("an entry for the provider")
}

fn grant<'a>(entry: &'a LedgerEntry, label: &str) -> &'a Grant {
    entry
        .grants
        .iter()
        .find(|g| g.label == label)
        .unwrap_or_else(|| panic!("no grant {label}: {:?}", entry.grants))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_humans_entry_names_the_project_sources_and_local_copies() {
    let harness = Harness::connected(Transport::Loopback).await;
    let connection = harness.conn(Provider::OpenHumans);
    let folder = tempfile::tempdir().unwrap();
    harness.service.set_download_folder(folder.path()).unwrap();
    let overview = harness.service.member_overview(connection).await.unwrap();
    let file = overview.groups[0].files[0].id;
    harness
        .service
        .download_files(
            connection,
            vec![file],
            folder.path(),
            harness.download_report(),
        )
        .await
        .unwrap();

    let ledger = harness.service.consent_ledger().await.unwrap();
    let oh = entry(&ledger, Provider::OpenHumans);
    assert_eq!(oh.grants_error, None);
    assert!(!grant(oh, "Project").value.is_empty());
    let sources = &grant(oh, "Sources shared with it").value;
    assert!(
        !sources.contains("direct-sharing-"),
        "sources are named: {sources}"
    );
    assert!(grant(oh, "Your username").value.contains("alice"));
    assert!(grant(oh, "Messages").unknown);
    assert_eq!(oh.secrets.what, "an access token and a refresh token");
    assert!(oh.secrets.client_secret && oh.secrets.problem.is_none());
    assert!(oh.last_used_ms.is_some());
    let copies = oh.local_copies.as_ref().expect("the downloaded file");
    assert_eq!(copies.files, 1);
    assert!(copies.bytes > 0);
    let revoke = oh.revoke_page.as_deref().unwrap();
    assert!(revoke.ends_with("/member/me/connections/"));
    // The page is one the window may ask the app to open.
    harness.service.open_receipt_link(revoke).unwrap();

    let deleted = harness
        .service
        .delete_local_copies(connection)
        .await
        .unwrap();
    assert_eq!(deleted.files, 1);
    assert!(!std::path::Path::new(&copies.folder).exists());
    let ledger = harness.service.consent_ledger().await.unwrap();
    assert_eq!(entry(&ledger, Provider::OpenHumans).local_copies, None);
    assert!(ledger.project.is_none());
    // The ledger's own requests (the project, the sources' names) are in the audit log too.
    assert_eq!(datalinks_http::audit::unscoped_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_keyring_leaves_the_entry_with_what_is_known_and_deletes_nothing() {
    let harness = Harness::connected(Transport::Loopback).await;
    let keys_before = harness.secrets.keys();
    harness
        .secrets
        .set_unavailable(Some("the keyring is locked".into()));

    let ledger = harness.service.consent_ledger().await.unwrap();
    let oh = entry(&ledger, Provider::OpenHumans);
    assert!(oh.secrets.problem.as_deref().unwrap().contains("locked"));
    let refused = oh.grants_error.as_ref().expect("nothing could be asked");
    assert_eq!(refused.code, ErrorCode::KeyringUnavailable);
    assert_eq!(oh.connection.account.username.as_deref(), Some("alice"));

    harness.secrets.set_unavailable(None);
    assert_eq!(harness.secrets.keys(), keys_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_collective_entry_lists_the_granted_scopes_and_where_to_revoke() {
    let harness = Harness::open_collective(Default::default()).await;
    let secret = harness.oc().client_secret().to_owned();
    harness.connect_oc(harness.oc_settings(Some(&secret))).await;

    let ledger = harness.service.consent_ledger().await.unwrap();
    let oc = entry(&ledger, Provider::OpenCollective);
    assert_eq!(oc.grants_error, None);
    assert!(grant(oc, "Account")
        .value
        .contains(datalinks_sandbox::opencollective::SEEDED_SLUG));
    assert!(!grant(oc, "email").value.is_empty());
    assert!(oc
        .revoke_page
        .as_deref()
        .unwrap()
        .ends_with("/admin/authorized-apps"));
    assert_eq!(oc.local_copies, None);
    let no_copies = harness
        .service
        .delete_local_copies(oc.connection.id)
        .await
        .unwrap_err();
    assert_eq!(no_copies.code, ErrorCode::NotFound);
}
