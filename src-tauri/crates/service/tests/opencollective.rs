//! Open Collective end to end against the in-process Open Collective sandbox: connecting through
//! the deep link, both token-response shapes, the account overview with paging, a replaced
//! token, rate limits, personal tokens and disconnecting.

mod support;

use datalinks_core::{
    now_unix, ConnectionState, CredentialKind, ErrorCode, Provider, SignInState, SignInTarget,
    Transport,
};
use datalinks_oauth::{parse_callback, random_state, CallbackTarget, PkceVerifier, Redirect};
use datalinks_opencollective::{oauth_client, Hosts, Scope};
use datalinks_sandbox::opencollective::{OpenCollectiveConfig, TokenResponseShape, SEEDED_SLUG};
use datalinks_sandbox::person::{Answer, Person};
use datalinks_service::{
    OcPage, OcSection, ProviderOptions, ProviderSettingsInput, SandboxSettingsInput, StepOutcome,
    OC_PAGE_SIZE,
};
use datalinks_vault::Vault;
use std::collections::HashSet;
use support::{first_connection, Harness};

const OC: Provider = Provider::OpenCollective;

async fn connected(config: OpenCollectiveConfig) -> Harness {
    let harness = Harness::open_collective(config).await;
    let secret = harness.oc().client_secret().to_owned();
    harness.connect_oc(harness.oc_settings(Some(&secret))).await;
    harness
}

fn stored_tokens(harness: &Harness) -> Option<datalinks_vault::TokenSet> {
    harness.stored_tokens(OC)
}

fn personal_token(harness: &Harness, connection: datalinks_core::ConnectionId) -> Option<String> {
    Vault::new(harness.secrets.clone())
        .personal_token(&harness.account_identity(connection))
        .unwrap()
        .map(|t| t.expose().to_owned())
}

/// The same Open Collective account linked from another device: the sandbox's one-token policy
/// silently kills this app's token.
async fn link_from_another_device(harness: &Harness) {
    let oc = harness.oc();
    let hosts = Hosts::single(oc.base_url());
    let verifier = PkceVerifier::generate();
    let client = oauth_client(reqwest::Client::new(), &hosts, oc.client_id().into(), None);
    let url = client
        .authorize_url(
            &hosts.authorize_url(),
            &oc.registered_callback_url(),
            &random_state(),
            &verifier,
            &[],
        )
        .unwrap();
    let back = Person::new(SEEDED_SLUG, "sandbox")
        .answer(url.as_str(), Answer::Authorize)
        .await
        .unwrap();
    let target = CallbackTarget::from_redirect_uri(&oc.registered_callback_url()).unwrap();
    let Redirect::Code { code, .. } = parse_callback(&back, &target).unwrap() else {
        panic!("a code")
    };
    client
        .exchange_code(&code, &oc.registered_callback_url(), &verifier)
        .await
        .unwrap();
}

fn loaded<T: std::fmt::Debug>(section: OcSection<T>) -> OcPage<T> {
    match section {
        OcSection::Loaded { page } => page,
        failed => panic!("a loaded section, got {failed:?}"),
    }
}

fn failure<T>(section: &OcSection<T>) -> Option<&datalinks_core::Error> {
    match section {
        OcSection::Failed { error } => Some(error),
        OcSection::Loaded { .. } => None,
    }
}

#[tokio::test]
async fn deep_link_connect_with_scopes_pkce_and_the_current_token_shape() {
    let harness = connected(OpenCollectiveConfig::default()).await;
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    assert_eq!(view.account.username.as_deref(), Some(SEEDED_SLUG));
    let expires_at = view.token_expires_at.expect("expires_in was given");
    assert!((expires_at - now_unix() - 7_776_000).abs() < 60);

    let tokens = stored_tokens(&harness).expect("tokens in the keyring");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.scope.as_deref(), Some("email"));
    let stats = harness.oc().stats();
    assert_eq!(stats.codes_exchanged, 1);

    let history = harness.service.history(view.id).await.unwrap();
    assert!(history
        .iter()
        .any(|e| e.kind == "connected" && e.detail.contains("@ada")));
    let registration = harness
        .service
        .registration_history(view.registration.id)
        .await
        .unwrap();
    let authorize = registration
        .iter()
        .find(|e| e.kind == "authorize_started")
        .expect("the attempt was recorded");
    assert!(authorize.detail.contains("Open Collective"));
}

/// Starts a sign-in through the saved Open Collective settings that nobody answers; returns
/// the query of its authorize URL and the waiting panel's hints.
async fn unanswered_sign_in(
    harness: &Harness,
    input: ProviderSettingsInput,
) -> (
    std::collections::HashMap<String, String>,
    Vec<datalinks_core::WaitingHint>,
) {
    *harness.host.answer.lock().unwrap() = None;
    harness
        .service
        .save_provider_settings(OC, input)
        .await
        .unwrap();
    let registration = harness.registration(OC);
    let overview = harness
        .service
        .connect(SignInTarget::NewAccount { registration }, None)
        .await
        .unwrap();
    let Some(SignInState::Waiting {
        authorize_url,
        transport,
        hints,
        ..
    }) = overview.sign_ins().next().map(|s| s.state.clone())
    else {
        panic!("waiting")
    };
    assert_eq!(transport, Transport::DeepLink);
    let url = url::Url::parse(&authorize_url).unwrap();
    (url.query_pairs().into_owned().collect(), hints)
}

/// `input` with its Open Collective options changed by `change`.
fn with_options(
    mut input: ProviderSettingsInput,
    change: impl FnOnce(&mut datalinks_service::OpenCollectiveOptions),
) -> ProviderSettingsInput {
    let ProviderOptions::OpenCollective(options) = &mut input.options else {
        unreachable!("Open Collective settings")
    };
    change(options);
    input
}

fn with_scopes(input: ProviderSettingsInput, scopes: Vec<Scope>) -> ProviderSettingsInput {
    with_options(input, |options| options.scopes = scopes)
}

fn without_pkce(input: ProviderSettingsInput) -> ProviderSettingsInput {
    with_options(input, |options| options.pkce = false)
}

#[tokio::test]
async fn the_authorize_url_asks_for_the_one_scope_the_overview_needs_with_state_and_an_s256_challenge(
) {
    let harness = Harness::open_collective(OpenCollectiveConfig::default()).await;
    let (query, hints) = unanswered_sign_in(&harness, harness.oc_settings(None)).await;
    assert_eq!(query["scope"], "email");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["redirect_uri"], "datalinks://oauth/callback");
    assert_eq!(query["state"].len(), random_state().len());
    assert_eq!(hints, [], "nothing to warn about");
}

#[tokio::test]
async fn several_scopes_are_comma_separated_and_the_waiting_panel_says_one_scope_avoids_a_failing_consent_page(
) {
    let harness = Harness::open_collective(OpenCollectiveConfig::default()).await;
    let input = with_scopes(
        harness.oc_settings(None),
        vec![Scope::Email, Scope::Account],
    );
    let (query, hints) = unanswered_sign_in(&harness, input).await;
    assert_eq!(query["scope"], "email,account");
    let [hint] = hints.as_slice() else {
        panic!("one hint, got {hints:?}")
    };
    assert!(hint.text.contains("only for “email”"), "{}", hint.text);
    assert_eq!(hint.remedy, None);
}

#[tokio::test]
async fn a_consent_page_that_drops_pkce_points_to_the_setting_and_connecting_without_pkce_works() {
    let harness = Harness::open_collective(OpenCollectiveConfig {
        consent_page_forwards_pkce: false,
        ..OpenCollectiveConfig::default()
    })
    .await;
    // Without PKCE the secret is what proves the exchange, so it must be there.
    let refused = harness
        .service
        .save_provider_settings(OC, without_pkce(harness.oc_settings(None)))
        .await;
    let Err(refused) = refused else {
        panic!("saved without PKCE and without a secret")
    };
    assert_eq!(refused.code, ErrorCode::InvalidInput);
    assert!(
        refused.message.contains("without PKCE"),
        "{}",
        refused.message
    );

    let secret = harness.oc().client_secret().to_owned();
    harness
        .service
        .save_provider_settings(OC, harness.oc_settings(Some(&secret)))
        .await
        .unwrap();
    let err = harness.sign_in(OC).await.unwrap_err();
    assert!(
        err.message.contains("code verifier is invalid")
            && err.message.contains("“Prove sign-ins with PKCE”"),
        "{}",
        err.message
    );

    // The stored secret is kept when the setting changes.
    let view = harness
        .connect_oc(without_pkce(harness.oc_settings(None)))
        .await;
    assert_eq!(view.account.username.as_deref(), Some(SEEDED_SLUG));
}

#[tokio::test]
async fn an_account_that_cannot_be_identified_after_the_exchange_leaves_no_tokens_and_says_why() {
    // The exchange succeeds; `me` is then refused (no GraphQL calls allowed).
    let harness = Harness::open_collective(OpenCollectiveConfig {
        authenticated_rate_limit: 0,
        ..OpenCollectiveConfig::default()
    })
    .await;
    let secret = harness.oc().client_secret().to_owned();
    harness
        .service
        .save_provider_settings(OC, harness.oc_settings(Some(&secret)))
        .await
        .unwrap();
    let err = harness.sign_in(OC).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert!(err.message.contains("nothing was kept"), "{}", err.message);
    assert_eq!(harness.oc().stats().codes_exchanged, 1);
    assert_eq!(harness.token_keys(), Vec::<String>::new(), "no tokens kept");
    let overview = harness.service.overview().unwrap();
    assert!(first_connection(&overview, OC).is_none());
    let sign_in = overview.sign_ins().next().unwrap();
    assert_eq!(sign_in.last_error.as_ref(), Some(&err), "shown on the card");
}

#[tokio::test]
async fn a_pkce_only_app_with_the_oldest_token_shape_connects_and_reconnects_on_expiry() {
    let harness = Harness::open_collective(OpenCollectiveConfig {
        token_response_shape: TokenResponseShape::AccessTokenOnly,
        ..OpenCollectiveConfig::default()
    })
    .await;
    let view = harness.connect_oc(harness.oc_settings(None)).await;
    assert_eq!(
        view.token_expires_at, None,
        "no expires_in, no expiry shown"
    );
    assert!(stored_tokens(&harness).unwrap().refresh_token.is_none());
    harness.service.oc_me(harness.conn(OC)).await.unwrap();

    harness.oc().expire_access_tokens();
    let err = harness.service.oc_me(harness.conn(OC)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    assert!(matches!(
        view.state,
        ConnectionState::ReconnectNeeded { .. }
    ));
    assert_eq!(harness.oc().stats().token_requests_refresh_token, 0);
}

#[tokio::test]
async fn a_token_response_without_refresh_token_still_connects() {
    let harness = Harness::open_collective(OpenCollectiveConfig {
        token_response_shape: TokenResponseShape::WithoutRefreshToken,
        ..OpenCollectiveConfig::default()
    })
    .await;
    let secret = harness.oc().client_secret().to_owned();
    let view = harness.connect_oc(harness.oc_settings(Some(&secret))).await;
    assert!(view.token_expires_at.is_some());
    assert!(stored_tokens(&harness).unwrap().refresh_token.is_none());
}

#[tokio::test]
async fn an_expired_jwt_is_refreshed_once_and_the_call_goes_through() {
    let harness = connected(OpenCollectiveConfig::default()).await;
    let before = stored_tokens(&harness).unwrap();
    harness.oc().expire_access_tokens();
    let me = harness.service.oc_me(harness.conn(OC)).await.unwrap();
    assert_eq!(me.slug, SEEDED_SLUG);
    assert_eq!(harness.oc().stats().successful_refreshes, 1);
    assert!(harness.oc().stats().graphql_expired_tokens >= 1);
    let after = stored_tokens(&harness).unwrap();
    assert_ne!(before.refresh_token, after.refresh_token, "rotation stored");
}

#[tokio::test]
async fn me_null_after_linking_elsewhere_asks_to_reconnect_and_keeps_the_account() {
    let harness = connected(OpenCollectiveConfig::default()).await;
    link_from_another_device(&harness).await;

    let err = harness
        .service
        .oc_overview(harness.conn(OC))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    assert!(
        err.message.contains("removed or replaced"),
        "{}",
        err.message
    );
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    let ConnectionState::ReconnectNeeded { reason } = view.state else {
        panic!("reconnect needed, got {:?}", view.state)
    };
    assert!(
        reason.contains("access was removed or replaced"),
        "{reason}"
    );
    assert_eq!(
        view.account.username.as_deref(),
        Some(SEEDED_SLUG),
        "the account is kept"
    );
    assert!(stored_tokens(&harness).is_some(), "nothing deleted");
    assert!(harness.oc().stats().graphql_unrecognized_tokens >= 1);
    assert_eq!(
        harness.oc().stats().token_requests_refresh_token,
        1,
        "one refresh tried: the one-token policy had deleted its refresh token too"
    );
}

#[tokio::test]
async fn a_429_backs_off_as_long_as_asked_and_the_overview_shows_what_loaded() {
    let harness = connected(OpenCollectiveConfig {
        authenticated_rate_limit: 3,
        ..OpenCollectiveConfig::default()
    })
    .await;
    // connect used one call (me); the overview needs four, so two of its collections fail.
    let overview = harness.service.oc_overview(harness.conn(OC)).await.unwrap();
    assert_eq!(overview.account.slug, SEEDED_SLUG, "the account is shown");
    let sections = [
        failure(&overview.memberships),
        failure(&overview.transactions),
        failure(&overview.expenses),
    ];
    let failed: Vec<_> = sections.iter().flatten().collect();
    assert_eq!(failed.len(), 2, "{sections:?}");
    for err in failed {
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert!(err.message.contains("rate limit"), "{}", err.message);
    }
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    let ConnectionState::RateLimited { message, retry_at } = view.state else {
        panic!("rate limited, got {:?}", view.state)
    };
    assert!(message.contains("rate limit"));
    // No Retry-After header: a full one-minute window.
    assert!((retry_at - now_unix() - 60).abs() <= 2, "{retry_at}");
    assert_eq!(
        harness.oc().stats().graphql_rate_limited,
        2,
        "no quick retries"
    );
}

#[tokio::test]
async fn a_stored_token_past_its_expiry_under_a_valid_jwt_is_refreshed_before_giving_up() {
    let harness = connected(OpenCollectiveConfig::default()).await;
    let before = stored_tokens(&harness).unwrap();
    // Open Collective then answers `me: null`, as for a token that was replaced.
    harness.oc().expire_stored_access_tokens();
    let me = harness.service.oc_me(harness.conn(OC)).await.unwrap();
    assert_eq!(me.slug, SEEDED_SLUG);
    assert_eq!(harness.oc().stats().successful_refreshes, 1);
    assert_ne!(
        before.refresh_token,
        stored_tokens(&harness).unwrap().refresh_token
    );
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    assert_eq!(view.state, ConnectionState::Connected);
}

#[tokio::test]
async fn me_null_without_a_refresh_token_asks_to_reconnect_without_trying_one() {
    let harness = Harness::open_collective(OpenCollectiveConfig {
        token_response_shape: TokenResponseShape::WithoutRefreshToken,
        ..OpenCollectiveConfig::default()
    })
    .await;
    let secret = harness.oc().client_secret().to_owned();
    harness.connect_oc(harness.oc_settings(Some(&secret))).await;
    harness.oc().expire_stored_access_tokens();
    let err = harness.service.oc_me(harness.conn(OC)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    assert!(
        err.message.contains("removed or replaced"),
        "{}",
        err.message
    );
    assert_eq!(harness.oc().stats().token_requests_refresh_token, 0);
}

#[tokio::test]
async fn an_expired_refresh_token_says_the_link_expired() {
    let harness = connected(OpenCollectiveConfig::default()).await;
    harness.oc().expire_access_tokens();
    harness.oc().expire_refresh_tokens();
    let err = harness.service.oc_me(harness.conn(OC)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    assert!(err.message.contains("has expired"), "{}", err.message);
    assert!(!err.message.contains("withdrawn"), "{}", err.message);
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    let ConnectionState::ReconnectNeeded { reason } = view.state else {
        panic!("reconnect needed, got {:?}", view.state)
    };
    assert!(reason.contains("has expired"), "{reason}");
    assert!(stored_tokens(&harness).is_some(), "nothing deleted");
}

#[tokio::test]
async fn every_collection_pages_on_demand() {
    let harness = connected(OpenCollectiveConfig::default()).await;
    let overview = harness.service.oc_overview(harness.conn(OC)).await.unwrap();
    assert_eq!(overview.account.slug, SEEDED_SLUG);
    assert_eq!(overview.account.email.as_deref(), Some("ada@example.org"));
    assert!(!overview.account.personal_token);
    assert!(!loaded(overview.memberships).nodes.is_empty());
    let transactions = loaded(overview.transactions);
    assert_eq!(transactions.nodes.len(), OC_PAGE_SIZE as usize);
    assert_eq!(transactions.total_count, 250);
    assert_eq!(transactions.next_offset, Some(OC_PAGE_SIZE));
    let expenses = loaded(overview.expenses);
    assert_eq!(expenses.total_count, 30);
    assert_eq!(expenses.next_offset, Some(OC_PAGE_SIZE));

    let mut ids: Vec<String> = transactions.nodes.into_iter().map(|t| t.id).collect();
    let mut next = transactions.next_offset;
    while let Some(offset) = next {
        let page = harness
            .service
            .oc_transactions(harness.conn(OC), offset)
            .await
            .unwrap();
        assert_eq!(page.offset, offset);
        ids.extend(page.nodes.into_iter().map(|t| t.id));
        next = page.next_offset;
    }
    assert_eq!(ids.len(), 250);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 250);

    let rest = harness
        .service
        .oc_expenses(harness.conn(OC), OC_PAGE_SIZE)
        .await
        .unwrap();
    assert_eq!(rest.nodes.len(), 5);
    assert_eq!(rest.next_offset, None);
}

#[tokio::test]
async fn a_personal_token_connects_without_oauth_and_is_never_shown_back() {
    let harness = Harness::open_collective(OpenCollectiveConfig::default()).await;
    let token = harness.oc().personal_token().to_owned();
    let input = ProviderSettingsInput {
        client_id: String::new(),
        personal_token: Some(token.clone()),
        ..harness.oc_settings(None)
    };
    let settings = harness
        .service
        .save_provider_settings(OC, input)
        .await
        .unwrap();
    assert!(!serde_json::to_string(&settings).unwrap().contains(&token));

    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    assert_eq!(view.credential, CredentialKind::PersonalToken);
    assert_eq!(
        view.state,
        ConnectionState::Connected,
        "{:?}",
        view.last_error
    );
    let overview = harness.service.oc_overview(harness.conn(OC)).await.unwrap();
    assert!(overview.account.personal_token);
    assert_eq!(overview.account.slug, SEEDED_SLUG);
    assert_eq!(harness.oc().stats().codes_issued, 0, "no OAuth at all");
    assert_eq!(
        personal_token(&harness, view.id).as_deref(),
        Some(token.as_str())
    );
    let database = std::fs::read(harness.data_dir.join(datalinks_service::DATABASE_FILE)).unwrap();
    assert!(!database.windows(token.len()).any(|w| w == token.as_bytes()));

    let account = harness.account_identity(view.id);
    let receipt = harness.service.disconnect(view.id).await.unwrap();
    let revoke = &receipt.steps[0];
    assert_eq!(revoke.outcome, StepOutcome::Skipped);
    assert!(revoke
        .link
        .as_deref()
        .unwrap()
        .ends_with("/ada/admin/for-developers"));
    assert!(receipt
        .steps
        .iter()
        .any(|s| s.label.contains("personal token") && s.outcome == StepOutcome::Done));
    assert_eq!(
        Vault::new(harness.secrets.clone())
            .personal_token(&account)
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_expired_personal_token_asks_for_a_new_one_and_is_kept_until_replaced() {
    let harness = Harness::open_collective(OpenCollectiveConfig::default()).await;
    let input = ProviderSettingsInput {
        client_id: String::new(),
        personal_token: Some(harness.oc().personal_token().to_owned()),
        ..harness.oc_settings(None)
    };
    harness
        .service
        .save_provider_settings(OC, input)
        .await
        .unwrap();
    harness.oc().expire_personal_token();
    let err = harness
        .service
        .oc_overview(harness.conn(OC))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded, "{err:?}");
    assert!(err.message.contains("Expired Personal Token"), "{err:?}");
    let view = harness.service.connection(harness.conn(OC)).await.unwrap();
    let ConnectionState::ReconnectNeeded { reason } = view.state else {
        panic!("{:?}", view.state)
    };
    assert!(reason.contains("Expired Personal Token"), "{reason}");
    assert!(
        personal_token(&harness, view.id).is_some(),
        "nothing is deleted on a refusal"
    );
}

#[tokio::test]
async fn a_personal_token_open_collective_refuses_is_not_kept() {
    let harness = Harness::open_collective(OpenCollectiveConfig::default()).await;
    let input = ProviderSettingsInput {
        personal_token: Some("not-a-real-token".into()),
        ..harness.oc_settings(None)
    };
    let err = harness
        .service
        .save_provider_settings(OC, input)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("not kept"), "{}", err.message);
    assert!(harness
        .secrets
        .keys()
        .iter()
        .all(|k| !k.ends_with("/personal_token")));
    assert_eq!(harness.service.overview().unwrap().connections().count(), 0);
}

#[tokio::test]
async fn disconnect_says_access_is_revoked_on_open_collective_and_forgets_only_secrets_and_account()
{
    let harness = connected(OpenCollectiveConfig::default()).await;
    let connection = harness.conn(OC);
    let registration = harness.registration(OC);
    let receipt = harness.service.disconnect(connection).await.unwrap();
    let revoke = &receipt.steps[0];
    assert_eq!(revoke.outcome, StepOutcome::Skipped);
    let link = revoke.link.as_deref().unwrap();
    assert!(link.starts_with(harness.oc().base_url().as_str().trim_end_matches('/')));
    assert!(link.ends_with("/ada/admin/authorized-apps"), "{link}");
    assert!(revoke.detail.contains(link));
    // The window may open that page, and no other, in the system browser.
    *harness.host.answer.lock().unwrap() = None;
    harness.service.open_receipt_link(link).unwrap();
    let elsewhere = harness
        .service
        .open_receipt_link("https://phishing.example/ada")
        .unwrap_err();
    assert_eq!(elsewhere.code, ErrorCode::InvalidInput);
    assert!(
        receipt
            .steps
            .iter()
            .all(|s| s.outcome != StepOutcome::Failed),
        "{receipt:?}"
    );

    assert_eq!(harness.token_keys(), Vec::<String>::new());
    assert!(
        harness
            .secrets
            .keys()
            .iter()
            .any(|k| k.ends_with("/client_secret")),
        "settings are kept"
    );
    assert_eq!(harness.service.overview().unwrap().connections().count(), 0);
    assert!(harness
        .service
        .provider_settings(OC)
        .await
        .unwrap()
        .own
        .is_some_and(|own| own.registration.id == registration));
    let history = harness.service.history(connection).await.unwrap();
    assert!(history.iter().any(|e| e.kind == "connected"));
    assert_eq!(history[0].kind, "disconnected");
}

#[tokio::test]
async fn the_built_in_sandbox_lets_a_new_user_connect_open_collective() {
    let harness = Harness::without_sandbox();
    harness.service.start_sandbox().await.unwrap();
    let settings = harness.service.provider_settings(OC).await.unwrap();
    assert!(
        settings.own.is_none(),
        "the person's own setup is not touched"
    );
    let sandbox = settings
        .sandbox
        .expect("Open Collective's sandbox is set up");
    assert_eq!(sandbox.transport, Transport::DeepLink);
    let view = harness.connect_provider(OC).await;
    assert!(view.registration.sandbox);
    // Open Humans was set up by the same click.
    assert!(harness
        .service
        .provider_settings(Provider::OpenHumans)
        .await
        .unwrap()
        .sandbox
        .is_some());
}

#[tokio::test]
async fn the_sandbox_registers_the_loopback_callback_the_person_switches_to() {
    let harness = Harness::without_sandbox();
    harness.service.start_sandbox().await.unwrap();
    let sandbox = harness
        .service
        .provider_settings(OC)
        .await
        .unwrap()
        .sandbox
        .unwrap();
    let mut loopback = SandboxSettingsInput {
        transport: Transport::Loopback,
        options: sandbox.options,
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ProviderOptions::OpenCollective(options) = &mut loopback.options else {
        panic!("Open Collective options")
    };
    options.loopback_port = Some(port);
    harness
        .service
        .save_sandbox_settings(OC, loopback)
        .await
        .unwrap();
    // The sandbox compares the whole callback, as Open Collective does: connecting works only
    // because it was told the port the attempt listens on.
    harness.connect_provider(OC).await;

    // Trying the sandbox again keeps the person's transport and port.
    harness.service.start_sandbox().await.unwrap();
    let kept = harness
        .service
        .provider_settings(OC)
        .await
        .unwrap()
        .sandbox
        .unwrap();
    assert_eq!(kept.transport, Transport::Loopback);
    let ProviderOptions::OpenCollective(options) = kept.options else {
        panic!("Open Collective options")
    };
    assert_eq!(options.loopback_port, Some(port));
}

#[tokio::test]
async fn a_deep_link_reaches_the_provider_whose_attempt_its_state_belongs_to() {
    let harness = Harness::without_sandbox();
    harness.service.start_sandbox().await.unwrap();
    *harness.host.answer.lock().unwrap() = None;
    // An Open Humans attempt is open too; the Open Collective answer must not land there.
    let oh = harness.registration(Provider::OpenHumans);
    let overview = harness
        .service
        .connect(
            SignInTarget::NewAccount { registration: oh },
            Some(Transport::DeepLink),
        )
        .await
        .unwrap();
    assert!(support::waiting(&overview, oh).is_some());
    let oc = harness.registration(OC);
    let overview = harness
        .service
        .connect(SignInTarget::NewAccount { registration: oc }, None)
        .await
        .unwrap();
    let authorize_url = support::waiting(&overview, oc).expect("waiting");
    let redirect = Person::new(SEEDED_SLUG, "sandbox")
        .answer(&authorize_url, Answer::Authorize)
        .await
        .unwrap();
    harness.service.handle_deep_link(&redirect).await;
    assert_eq!(
        harness
            .service
            .connection(harness.conn(OC))
            .await
            .unwrap()
            .state,
        ConnectionState::Connected
    );
    assert!(support::waiting(&harness.service.overview().unwrap(), oh).is_some());
}
