use datalinks_core::{Error, ErrorCode};
use datalinks_humanapi::{AuthClient, ConnectToken, HumanApiError};

use crate::{assert_lifetime, config_for, setup, source_id};

#[tokio::test]
async fn session_token_until_a_source_is_connected_then_id_token() {
    let setup = setup().await;
    let first = setup
        .auth
        .connect_token("alice", "alice@example.org")
        .await
        .unwrap();
    let ConnectToken::Session {
        token, human_id, ..
    } = &first
    else {
        panic!("a new user gets a session token: {first:?}");
    };
    assert!(!token.is_empty());
    assert_eq!(
        setup.hapi.human_id("alice").as_deref(),
        Some(human_id.as_str())
    );
    assert_lifetime(first.expires_at(), 3600);

    assert!(setup.hapi.connect_source("alice", source_id("Fitbit")));
    let returning = setup
        .auth
        .connect_token("alice", "alice@example.org")
        .await
        .unwrap();
    let ConnectToken::Id { refresh_token, .. } = &returning else {
        panic!("a returning user gets an id token: {returning:?}");
    };
    assert!(refresh_token
        .as_ref()
        .unwrap()
        .expose()
        .starts_with("idrt-"));
    assert_ne!(returning.token(), first.token());
    assert_lifetime(returning.expires_at(), 86_400);

    let stats = setup.hapi.stats();
    // The second session request got the 403 that switched to an id token.
    assert_eq!(stats.session_token_requests, 2);
    assert_eq!(stats.id_token_requests, 1);
    assert_eq!(stats.token_requests_refused, 1);
}

#[tokio::test]
async fn access_token_only_once_a_source_is_connected() {
    let setup = setup().await;
    assert_eq!(
        setup.auth.access_token("bob").await.unwrap_err(),
        HumanApiError::UnknownUser
    );
    setup
        .auth
        .connect_token("bob", "bob@example.org")
        .await
        .unwrap();
    let refused = setup.auth.access_token("bob").await.unwrap_err();
    assert_eq!(refused, HumanApiError::NoConnectedSource);
    assert_eq!(Error::from(refused).code, ErrorCode::ReconnectNeeded);

    assert!(setup
        .hapi
        .connect_source("bob", source_id("Demo Health Clinic")));
    let access = setup.auth.access_token("bob").await.unwrap();
    assert_lifetime(access.expires_at, 86_400);
    assert!(access
        .refresh_token
        .as_ref()
        .unwrap()
        .expose()
        .starts_with("atrt-"));
    let profile = setup.data.profile(&access.token).await.unwrap();
    assert_eq!(Some(profile.human_id), setup.hapi.human_id("bob"));
    assert_eq!(profile.email.as_deref(), Some("bob@example.org"));
}

#[tokio::test]
async fn bad_credentials_are_typed_and_never_show_the_secret() {
    let setup = setup().await;
    let wrong_secret = "wrong-secret-0123456789";
    let config = config_for(&setup.hapi, wrong_secret);
    assert!(!format!("{config:?}").contains(wrong_secret));
    let auth = AuthClient::new(reqwest::Client::new(), config).unwrap();
    let refused = auth
        .connect_token("carol", "carol@example.org")
        .await
        .unwrap_err();
    assert_eq!(refused, HumanApiError::BadCredentials);
    assert!(!format!("{refused:?}").contains(wrong_secret));
    let error = Error::from(refused);
    assert_eq!(error.code, ErrorCode::NotConfigured);
    assert!(!error.message.contains(wrong_secret));
    assert_eq!(
        auth.access_token("carol").await.unwrap_err(),
        HumanApiError::BadCredentials
    );
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unreachable() {
    let setup = setup().await;
    let mut config = config_for(&setup.hapi, setup.hapi.client_secret());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config
        .auth_base_url
        .set_port(Some(closed.local_addr().unwrap().port()))
        .unwrap();
    drop(closed);
    let auth = AuthClient::new(reqwest::Client::new(), config).unwrap();
    let error = auth
        .connect_token("dan", "dan@example.org")
        .await
        .unwrap_err();
    assert!(
        matches!(error, HumanApiError::Unreachable { .. }),
        "{error:?}"
    );
    assert_eq!(Error::from(error).code, ErrorCode::Unreachable);
}

#[tokio::test]
async fn requests_with_an_empty_user_or_unsafe_config_are_not_sent() {
    let setup = setup().await;
    let error = setup.auth.access_token(" ").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert_eq!(setup.hapi.stats().access_token_requests, 0);

    let mut config = config_for(&setup.hapi, setup.hapi.client_secret());
    config.auth_base_url = "http://auth.example.org/".parse().unwrap();
    let refused = AuthClient::new(reqwest::Client::new(), config)
        .err()
        .unwrap();
    assert_eq!(refused.code, ErrorCode::InvalidInput);
    let config = config_for(&setup.hapi, "");
    let refused = AuthClient::new(reqwest::Client::new(), config)
        .err()
        .unwrap();
    assert_eq!(refused.code, ErrorCode::NotConfigured);
}
