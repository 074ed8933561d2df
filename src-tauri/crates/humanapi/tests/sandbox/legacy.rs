use datalinks_core::ErrorCode;
use datalinks_humanapi::{ConnectToken, HumanApiError, PageRequest};
use serde_json::json;

use crate::{setup, source_id, Setup};

/// What the Connect 1.x popup hands to `finish` once the user connected the clinic.
async fn session_token_object(setup: &Setup, user: &str) -> (String, String) {
    let ConnectToken::Session {
        token, human_id, ..
    } = setup
        .auth
        .connect_token(user, &format!("{user}@example.org"))
        .await
        .unwrap()
    else {
        panic!("a new user gets a session token");
    };
    assert!(setup
        .hapi
        .connect_source(user, source_id("Demo Health Clinic")));
    let object = json!({
        "humanId": human_id,
        "clientId": setup.hapi.client_id(),
        "sessionToken": token.expose(),
    });
    (object.to_string(), human_id)
}

#[tokio::test]
async fn finalize_then_recover_the_public_token() {
    let setup = setup().await;
    let (object, human_id) = session_token_object(&setup, "legacy@example.org").await;
    let tokens = setup.auth.finalize_legacy(&object).await.unwrap();
    assert_eq!(tokens.human_id, human_id);
    assert_eq!(tokens.client_user_id, "legacy@example.org");
    assert_eq!(tokens.public_token.expose().len(), 32);
    // The legacy access token reads data.
    let reports = setup
        .data
        .reports(&tokens.access_token, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(reports.total, 3);

    let recovered = setup.auth.recover_public_token(&human_id).await.unwrap();
    assert_eq!(recovered.expose().len(), 32);
    assert_ne!(recovered, tokens.public_token);
    assert_eq!(
        setup
            .auth
            .recover_public_token("ffffffffffffffffffffffffffffffff")
            .await
            .unwrap_err(),
        HumanApiError::UnknownUser
    );
    let stats = setup.hapi.stats();
    assert_eq!(
        (stats.legacy_finalize_requests, stats.public_token_requests),
        (1, 2)
    );
}

#[tokio::test]
async fn an_expired_session_token_is_rejected() {
    let setup = setup().await;
    let (object, _) = session_token_object(&setup, "late@example.org").await;
    setup.hapi.expire_tokens();
    let error = setup.auth.finalize_legacy(&object).await.unwrap_err();
    let HumanApiError::TokenRejected { detail } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("expired"), "{detail}");
    assert_eq!(error.code(), ErrorCode::ReconnectNeeded);
}

#[tokio::test]
async fn untrusted_session_token_objects_are_checked_before_signing() {
    let setup = setup().await;
    let (object, human_id) = session_token_object(&setup, "checked@example.org").await;
    let mut parsed: serde_json::Value = serde_json::from_str(&object).unwrap();
    let refused = |value: serde_json::Value| {
        let auth = setup.auth.clone();
        async move { auth.finalize_legacy(&value.to_string()).await.unwrap_err() }
    };

    parsed["clientId"] = json!("0000000000000000000000000000000000000000");
    let error = refused(parsed.clone()).await;
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert!(error.to_string().contains("another Human API app"));

    parsed["clientId"] = json!(setup.hapi.client_id());
    parsed["clientSecret"] = json!("smuggled");
    assert_eq!(
        refused(parsed.clone()).await.code(),
        ErrorCode::InvalidInput
    );

    let mut missing = parsed.clone();
    missing.as_object_mut().unwrap().remove("clientSecret");
    missing.as_object_mut().unwrap().remove("sessionToken");
    assert_eq!(refused(missing).await.code(), ErrorCode::InvalidInput);

    let mut bad_id = parsed.clone();
    bad_id.as_object_mut().unwrap().remove("clientSecret");
    bad_id["humanId"] = json!(format!("{human_id}/../x"));
    assert_eq!(refused(bad_id).await.code(), ErrorCode::InvalidInput);

    let oversized = "x".repeat(5000);
    let error = setup.auth.finalize_legacy(&oversized).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    // None of these reached Human API.
    assert_eq!(setup.hapi.stats().legacy_finalize_requests, 0);
}
