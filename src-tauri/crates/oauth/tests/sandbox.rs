//! The client against the in-process Open Humans sandbox, which answers as Open Humans'
//! django-oauth-toolkit does: the authorize URL the client builds, the code exchange with HTTP
//! Basic, a refresh that rotates the refresh token, and revocation over the sandbox's plain http.

use datalinks_core::ClientSecret;
use datalinks_oauth::{
    parse_callback, random_state, CallbackTarget, OAuthClient, PkceVerifier, Redirect,
    TokenEndpointError,
};
use datalinks_sandbox::person::{Answer, Person};
use datalinks_sandbox::SandboxConfig;

const CALLBACK: &str = "http://127.0.0.1:9/callback";

#[tokio::test]
async fn authorize_exchange_refresh_and_revoke_against_the_open_humans_sandbox() {
    let sandbox =
        datalinks_sandbox::start(SandboxConfig::default(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let client = OAuthClient::new(
        reqwest::Client::new(),
        sandbox.token_url(),
        sandbox.revoke_url(),
        sandbox.client_id().into(),
        ClientSecret::new(sandbox.client_secret()),
    );

    let verifier = PkceVerifier::generate();
    let state = random_state();
    let authorize = client
        .authorize_url(&sandbox.authorize_url(), CALLBACK, &state, &verifier, &[])
        .unwrap();
    let back = Person::alice()
        .answer(authorize.as_str(), Answer::Authorize)
        .await
        .expect("the person authorizes");
    let target = CallbackTarget::from_redirect_uri(CALLBACK).unwrap();
    let Redirect::Code {
        code,
        state: returned,
    } = parse_callback(&back, &target).expect("a valid callback")
    else {
        panic!("expected a code in {back}");
    };
    assert_eq!(returned, state);

    let tokens = client
        .exchange_code(&code, CALLBACK, &verifier)
        .await
        .expect("the code exchange succeeds");
    assert!(tokens.expires_at.is_some());
    assert!(matches!(
        client.exchange_code(&code, CALLBACK, &verifier).await,
        Err(TokenEndpointError::InvalidGrant { .. })
    ));

    let first_refresh = tokens.refresh_token.clone().expect("a refresh token");
    let refreshed = client.refresh(&first_refresh).await.expect("a refresh");
    assert_ne!(refreshed.access_token, tokens.access_token);
    let second_refresh = refreshed
        .refresh_token
        .clone()
        .expect("a rotated refresh token");
    assert_ne!(second_refresh, first_refresh);

    client
        .revoke_access_token(&refreshed.access_token)
        .await
        .expect("the access token is revoked");
    client
        .revoke_refresh_token(&second_refresh)
        .await
        .expect("the refresh token is revoked");
    let stats = sandbox.stats();
    assert_eq!(stats.revocation_requests, 2);
    assert_eq!(stats.tokens_revoked, 2);
    assert!(matches!(
        client.refresh(&second_refresh).await,
        Err(TokenEndpointError::InvalidGrant { .. })
    ));
}
