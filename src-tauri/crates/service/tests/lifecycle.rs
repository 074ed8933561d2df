//! Token lifecycle through the whole stack: refresh once for many callers, 401 handling,
//! revoked grants, an unreachable provider and a locked keyring.

mod support;

use datalinks_core::{ConnectionState, ErrorCode, Provider, SignInTarget, Transport};
use std::time::Duration;
use support::{sandbox_config, Harness};

async fn fifty_overviews(harness: &Harness) {
    let connection = harness.conn(Provider::OpenHumans);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let service = harness.service.clone();
            tokio::spawn(async move { service.member_overview(connection).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().file_count, 130);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_calls_with_a_nearly_expired_token_cause_exactly_one_refresh() {
    let harness = Harness::new(sandbox_config()).await;
    harness
        .sandbox()
        .set_access_token_lifetime(Duration::from_secs(30)); // under the 60 s margin
    harness.configure(Transport::Loopback).await;
    harness.connect().await.unwrap();
    harness
        .sandbox()
        .set_access_token_lifetime(Duration::from_secs(36_000));
    let before = harness.sandbox().stats().token_requests_refresh_token;

    fifty_overviews(&harness).await;
    assert_eq!(
        harness.sandbox().stats().token_requests_refresh_token - before,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_calls_meeting_expired_token_401s_cause_exactly_one_refresh() {
    let harness = Harness::connected(Transport::Loopback).await;
    harness.sandbox().expire_access_tokens();
    let before = harness.sandbox().stats();

    fifty_overviews(&harness).await;
    let after = harness.sandbox().stats();
    assert_eq!(
        after.token_requests_refresh_token - before.token_requests_refresh_token,
        1
    );
    assert!(
        after.api_auth_failures > before.api_auth_failures,
        "the API really answered 401 Expired token."
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_is_stored_and_the_old_one_is_dead() {
    let harness = Harness::connected(Transport::Loopback).await;
    let old = harness.stored_tokens(Provider::OpenHumans).unwrap();
    harness.sandbox().expire_access_tokens();
    harness
        .service
        .member_overview(harness.conn(Provider::OpenHumans))
        .await
        .unwrap();
    let new = harness.stored_tokens(Provider::OpenHumans).unwrap();
    assert_ne!(
        old.refresh_token, new.refresh_token,
        "the rotated refresh token was written to the keyring"
    );
    assert_ne!(old.access_token, new.access_token);
}

#[tokio::test]
async fn a_revoked_grant_asks_to_reconnect_and_keeps_account_settings_and_history() {
    let harness = Harness::connected(Transport::Loopback).await;
    let tokens = harness.stored_tokens(Provider::OpenHumans).unwrap();
    // The member withdraws on the website: the refresh token (and its access token) die.
    let revoked = reqwest::Client::new()
        .post(harness.sandbox().revoke_url())
        .basic_auth(
            harness.sandbox().client_id(),
            Some(harness.sandbox().client_secret()),
        )
        .form(&[
            ("token", tokens.refresh_token.as_ref().unwrap().expose()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());

    let err = harness
        .service
        .member_overview(harness.conn(Provider::OpenHumans))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    let view = harness.connection_view().await;
    assert!(
        matches!(view.state, ConnectionState::ReconnectNeeded { .. }),
        "{:?}",
        view.state
    );
    assert_eq!(
        view.account.account_id,
        harness.sandbox().seeded_member().project_member_id,
        "the account is kept"
    );
    assert!(harness
        .service
        .provider_settings(Provider::OpenHumans)
        .await
        .unwrap()
        .own
        .is_some());
    let history = harness.service.history(view.id).await.unwrap();
    assert!(history.iter().any(|e| e.kind == "connected") && history[0].kind == "reconnect_needed");

    // Connecting again clears it, on the same connection.
    let again = harness
        .sign_in_with(
            SignInTarget::Reconnect {
                connection: view.id,
            },
            harness.registration(Provider::OpenHumans),
        )
        .await
        .unwrap();
    assert_eq!(
        (again.id, again.state),
        (view.id, ConnectionState::Connected)
    );
}

#[tokio::test]
async fn an_unreachable_provider_leaves_tokens_untouched_and_says_it_will_retry() {
    let mut harness = Harness::connected(Transport::Loopback).await;
    let before = harness.stored_tokens(Provider::OpenHumans).unwrap();
    harness.stop_sandbox().await;

    let err = harness
        .service
        .member_overview(harness.conn(Provider::OpenHumans))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unreachable, "{err:?}");
    let view = harness.connection_view().await;
    let ConnectionState::Unreachable { retry_at, .. } = view.state else {
        panic!("{:?}", view.state)
    };
    assert!(
        retry_at > datalinks_core::now_unix(),
        "a retry is scheduled"
    );
    assert_eq!(
        harness.stored_tokens(Provider::OpenHumans).unwrap(),
        before,
        "tokens untouched"
    );
}

#[tokio::test]
async fn a_locked_keyring_is_a_visible_retryable_state_and_nothing_is_deleted() {
    let harness = Harness::connected(Transport::Loopback).await;
    harness
        .secrets
        .set_unavailable(Some("the collection is locked".into()));
    let connection = harness.conn(Provider::OpenHumans);
    harness.service.retry(connection).await.unwrap();
    let view = harness.service.connection(connection).await.unwrap();
    let ConnectionState::KeyringUnavailable { message } = view.state else {
        panic!("{:?}", view.state)
    };
    assert!(message.contains("Nothing was deleted"), "{message}");

    harness.secrets.set_unavailable(None);
    harness.service.retry(connection).await.unwrap();
    let view = harness.service.connection(connection).await.unwrap();
    assert_eq!(view.state, ConnectionState::Connected);
    assert!(harness.stored_tokens(Provider::OpenHumans).is_some());
}

#[tokio::test]
async fn a_keyring_that_refuses_the_rotated_tokens_loses_no_rotation() {
    let harness = Harness::connected(Transport::Loopback).await;
    let connection = harness.conn(Provider::OpenHumans);
    let before = harness.stored_tokens(Provider::OpenHumans).unwrap();
    harness.secrets.fail_writes(true);
    // Open Humans rotates on every refresh and kills the old refresh token at once.
    for _ in 0..2 {
        harness.sandbox().expire_access_tokens();
        harness.service.member_overview(connection).await.unwrap();
    }
    let view = harness.service.connection(connection).await.unwrap();
    assert_eq!(
        view.state,
        ConnectionState::Connected,
        "{:?}",
        view.last_error
    );

    // Once the keyring takes writes again, the newest set reaches it, and another process
    // (a restarted app) works with it.
    assert_eq!(harness.stored_tokens(Provider::OpenHumans).unwrap(), before);
    harness.secrets.fail_writes(false);
    let mut tries = 0;
    while harness.stored_tokens(Provider::OpenHumans).unwrap() == before {
        tries += 1;
        assert!(tries < 100, "the rotated tokens never reached the keyring");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let restarted = harness.restarted();
    restarted.member_overview(connection).await.unwrap();
    assert_eq!(harness.sandbox().stats().successful_refreshes, 2);
}
