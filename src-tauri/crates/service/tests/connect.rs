//! Connecting Open Humans end to end against the in-process sandbox, and the built-in sandbox
//! keeping every connection across restarts of the app.

mod support;

use datalinks_core::{ConnectionState, ErrorCode, Provider, Remedy, SignInState, Transport};
use datalinks_sandbox::humanapi::SOURCES;
use datalinks_sandbox::person::Answer;
use datalinks_service::{Datalinks, StepOutcome};
use datalinks_vault::Vault;
use serde_json::{json, Value};
use support::{connect_token, sandbox_config, Harness};

/// The tokens of the harness's first connection of `provider`, read from the keyring under the
/// name of its registration and account.
fn tokens_of(harness: &Harness, provider: Provider) -> datalinks_vault::TokenSet {
    let account = harness.account_identity(harness.conn(provider));
    Vault::new(harness.secrets.clone())
        .tokens(&account)
        .unwrap()
        .expect("tokens in the keyring")
}

fn stored_tokens(harness: &Harness) -> datalinks_vault::TokenSet {
    tokens_of(harness, Provider::OpenHumans)
}

#[tokio::test]
async fn loopback_connect_shows_the_member_and_every_file() {
    let harness = Harness::connected(Transport::Loopback).await;
    let view = harness.connection_view().await;
    let seeded = harness.sandbox().seeded_member();
    assert_eq!(view.account.account_id, seeded.project_member_id);

    let overview = harness.service.member_overview(view.id).await.unwrap();
    assert_eq!(overview.project_member_id, seeded.project_member_id);
    assert_eq!(overview.username.as_deref(), Some("alice"));
    assert_eq!(
        overview.file_count, 130,
        "both pages of exchange-member were read"
    );
    assert_eq!(
        overview.groups.iter().map(|g| g.files.len()).sum::<usize>(),
        130
    );
    assert_eq!(
        overview.groups.len(),
        overview.sources_shared.len().max(overview.groups.len())
    );
    assert!(overview
        .groups
        .iter()
        .flat_map(|g| &g.files)
        .all(|f| f.description.is_some() && !f.tags.is_empty()));

    let tokens = stored_tokens(&harness);
    assert!(
        tokens.expires_at.unwrap() > datalinks_core::now_unix() + 35_000,
        "36000 s access token"
    );
    let database = std::fs::read(harness.data_dir.join(datalinks_service::DATABASE_FILE)).unwrap();
    let wal = std::fs::read(
        harness
            .data_dir
            .join(format!("{}-wal", datalinks_service::DATABASE_FILE)),
    )
    .unwrap_or_default();
    for secret in [
        tokens.access_token.expose(),
        tokens.refresh_token.as_ref().unwrap().expose(),
        harness.sandbox().client_secret(),
    ] {
        let needle = secret.as_bytes();
        assert!(
            !database.windows(needle.len()).any(|w| w == needle),
            "a secret reached SQLite"
        );
        assert!(
            !wal.windows(needle.len()).any(|w| w == needle),
            "a secret reached the SQLite WAL"
        );
    }
}

#[tokio::test]
async fn the_overview_announced_when_a_sign_in_ends_outranks_the_one_connect_answered() {
    // The command's answer and the event reach the window in either order; the window keeps the
    // higher revision, so the announced end must carry one.
    let harness = Harness::new(sandbox_config()).await;
    harness.service.start_sandbox().await.unwrap();
    let registration = harness.registration(Provider::OpenHumans);
    harness.clear_events();
    let answered = harness
        .service
        .connect(
            datalinks_core::SignInTarget::NewAccount { registration },
            None,
        )
        .await
        .unwrap();
    harness.wait_for_sign_in(registration).await.unwrap();
    let ended = harness
        .wait_for_overview(|overview| overview.connections().count() == 1)
        .await;
    assert!(
        ended.revision > answered.revision,
        "{} after {}",
        ended.revision,
        answered.revision
    );
    assert!(harness.service.overview().unwrap().revision > ended.revision);
}

#[tokio::test]
async fn deep_link_connect_works_when_the_server_allows_the_scheme() {
    let harness = Harness::connected(Transport::DeepLink).await;
    assert!(harness
        .host
        .events
        .lock()
        .unwrap()
        .iter()
        .all(|e| !matches!(e, datalinks_service::ServiceEvent::Notice(_))));
}

#[tokio::test]
async fn a_server_that_rejects_custom_schemes_is_named_while_waiting_and_loopback_is_one_click_away(
) {
    // Real Open Humans: no extra schemes, so the authorize step answers 400 and never
    // redirects. The person sees an error page; the waiting panel says why and offers the
    // loopback redirect.
    let harness = Harness::new(datalinks_sandbox::SandboxConfig::default()).await;
    let authorize_url = harness.start_unanswered_deep_link().await;
    let result = datalinks_sandbox::person::Person::alice()
        .answer(&authorize_url, Answer::Authorize)
        .await;
    assert!(
        result.is_err(),
        "the sandbox refuses datalinks:// like Open Humans does"
    );
    let registration = harness.registration(Provider::OpenHumans);
    let overview = harness.service.overview().unwrap();
    let sign_in = overview
        .sign_ins()
        .find(|s| s.registration.id == registration)
        .unwrap();
    let SignInState::Waiting { hints, .. } = &sign_in.state else {
        panic!("waiting, got {:?}", sign_in.state)
    };
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(
        hints[0].text.contains("Bad Request (400)"),
        "{}",
        hints[0].text
    );
    assert_eq!(hints[0].remedy, Some(Remedy::UseLoopback));

    *harness.host.answer.lock().unwrap() = Some(Answer::Authorize);
    harness.clear_events();
    let overview = harness.service.use_loopback(registration).await.unwrap();
    let sign_in = overview
        .sign_ins()
        .find(|s| s.registration.id == registration)
        .unwrap();
    let SignInState::Waiting {
        transport, hints, ..
    } = &sign_in.state
    else {
        panic!("waiting again, got {:?}", sign_in.state)
    };
    assert_eq!(*transport, Transport::Loopback);
    assert!(hints.is_empty(), "{hints:?}");
    let connection = harness.wait_for_sign_in(registration).await.unwrap();
    let view = harness.service.connection(connection).await.unwrap();
    assert_eq!(view.state, ConnectionState::Connected);
    let settings = harness
        .service
        .provider_settings(Provider::OpenHumans)
        .await
        .unwrap();
    assert_eq!(
        settings.own.unwrap().transport,
        Transport::Loopback,
        "the switch is kept"
    );
    assert!(
        harness.service.use_loopback(registration).await.is_err(),
        "nothing is waiting any more"
    );
}

#[tokio::test]
async fn a_deep_link_sign_in_nobody_answers_can_be_cancelled() {
    let harness = Harness::new(datalinks_sandbox::SandboxConfig::default()).await;
    harness.start_unanswered_deep_link().await;
    let registration = harness.registration(Provider::OpenHumans);
    let overview = harness.service.cancel_connect(registration).await.unwrap();
    let sign_in = overview
        .sign_ins()
        .find(|s| s.registration.id == registration)
        .unwrap();
    assert_eq!(sign_in.state, SignInState::Ready);
    assert_eq!(overview.connections().count(), 0);
}

#[tokio::test]
async fn declining_in_the_browser_is_shown_and_changes_nothing() {
    let harness = Harness::new(sandbox_config()).await;
    harness.configure(Transport::Loopback).await;
    *harness.host.answer.lock().unwrap() = Some(Answer::Cancel);
    let err = harness.connect().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AuthorizationDenied);
    let overview = harness.service.overview().unwrap();
    assert_eq!(overview.connections().count(), 0);
    let sign_in = overview.sign_ins().next().unwrap();
    assert_eq!(
        sign_in.last_error.as_ref().unwrap().code,
        ErrorCode::AuthorizationDenied
    );
    assert_eq!(harness.token_keys(), Vec::<String>::new());
}

#[tokio::test]
async fn callbacks_with_a_wrong_state_or_garbage_are_refused_with_a_notice() {
    let harness = Harness::new(sandbox_config()).await;
    harness.start_unanswered_deep_link().await;

    for (link, code) in [
        (
            "datalinks://oauth/callback?code=abc&state=forged",
            ErrorCode::StateMismatch,
        ),
        (
            "datalinks://evil/x?code=abc&state=s",
            ErrorCode::CallbackRefused,
        ),
        ("datalinks://oauth/callback", ErrorCode::CallbackRefused),
        ("not even a url", ErrorCode::CallbackRefused),
    ] {
        harness.clear_events();
        harness.service.handle_deep_link(link).await;
        assert_eq!(harness.wait_for_notice().await.code, code, "{link}");
    }
    let registration = harness.registration(Provider::OpenHumans);
    assert!(
        support::waiting(&harness.service.overview().unwrap(), registration).is_some(),
        "the real attempt is still open"
    );
}

#[tokio::test]
async fn an_error_redirect_for_the_open_attempt_ends_it() {
    let harness = Harness::new(sandbox_config()).await;
    let authorize_url = harness.start_unanswered_deep_link().await;
    let state = url::Url::parse(&authorize_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    harness
        .service
        .handle_deep_link(&format!(
            "datalinks://oauth/callback?error=access_denied&state={state}"
        ))
        .await;
    let registration = harness.registration(Provider::OpenHumans);
    let err = harness.wait_for_sign_in(registration).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AuthorizationDenied);
    let overview = harness.service.overview().unwrap();
    assert!(support::waiting(&overview, registration).is_none());
}

#[tokio::test]
async fn disconnect_revokes_deletes_secrets_and_gives_a_receipt() {
    let harness = Harness::connected(Transport::Loopback).await;
    let tokens = stored_tokens(&harness);
    let connection = harness.conn(Provider::OpenHumans);

    let receipt = harness.service.disconnect(connection).await.unwrap();
    assert!(
        receipt.steps.iter().all(|s| s.outcome == StepOutcome::Done),
        "{receipt:?}"
    );
    assert_eq!(harness.sandbox().stats().revocation_requests, 2);
    assert_eq!(harness.token_keys(), Vec::<String>::new());
    let old = reqwest::Client::new()
        .get(
            harness
                .sandbox()
                .base_url()
                .join("/api/direct-sharing/project/exchange-member/")
                .unwrap(),
        )
        .bearer_auth(tokens.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the revoked token no longer works");
    assert_eq!(harness.service.overview().unwrap().connections().count(), 0);
    let history = harness.service.history(connection).await.unwrap();
    assert_eq!(history[0].kind, "disconnected");
}

#[tokio::test]
async fn the_built_in_sandbox_is_a_complete_first_run() {
    let harness = Harness::new(sandbox_config()).await;
    let overview = harness.service.start_sandbox().await.unwrap();
    for provider in Provider::ALL {
        let sandbox = harness
            .service
            .provider_settings(provider)
            .await
            .unwrap()
            .sandbox;
        assert!(sandbox.unwrap().has_client_secret, "{provider}");
    }
    assert_eq!(
        overview.sign_ins().count(),
        3,
        "one sandbox sign-in per provider"
    );
    let view = harness.connect_successfully().await;
    assert!(view.registration.sandbox);
}

#[tokio::test]
async fn the_built_in_sandbox_keeps_its_grants_when_the_app_restarts() {
    let harness = Harness::new(sandbox_config()).await;
    harness.service.start_sandbox().await.unwrap();
    let connection = harness.connect().await.unwrap().id;

    let restarted = harness.restarted();
    let overview = restarted.member_overview(connection).await.unwrap();
    assert_eq!(overview.file_count, 130, "the stored tokens still work");
    let view = restarted.connection(connection).await.unwrap();
    assert_eq!(view.state, ConnectionState::Connected);
}

/// Opens Human API Connect, links Fitbit on the built-in sandbox's Connect page and closes it, as
/// the person would.
async fn link_fitbit_in_connect(service: &std::sync::Arc<Datalinks>) {
    let registration = service
        .sign_in_registration(Provider::HumanApi, true)
        .unwrap();
    let launch = service
        .hapi_start_connect(datalinks_core::SignInTarget::NewAccount { registration })
        .await
        .unwrap();
    let fitbit = json!({"name": SOURCES[2].name, "id": SOURCES[2].id});
    let click = launch
        .script_url
        .join(&format!("/_connect/sources/{}/connect", SOURCES[2].id))
        .unwrap();
    let clicked: Value = reqwest::Client::new()
        .post(click)
        .json(&json!({ "token": connect_token(&launch) }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clicked["status"], "CONNECTED_SOURCE");
    let closed = json!({
        "status": "SUCCESS",
        "sessionResults": {
            "connectedSources": [fitbit],
            "disconnectedSources": [],
            "requestedSources": [],
        },
        "currentConnections": clicked["currentConnections"],
        "requestedProviders": [],
    });
    service
        .apply_connect_event(&launch.attempt_id, "close", &closed.to_string())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_built_in_sandbox_keeps_open_collective_and_human_api_connected_when_the_app_restarts()
{
    let harness = Harness::without_sandbox();
    harness.service.start_sandbox().await.unwrap();
    let oc = harness.connect_provider(Provider::OpenCollective).await.id;
    let account = harness.service.oc_me(oc).await.unwrap();
    link_fitbit_in_connect(&harness.service).await;
    let hapi = harness.conn(Provider::HumanApi);
    let sources = harness.service.hapi_sources(hapi).await.unwrap();
    assert_eq!(sources[0].id, SOURCES[2].id);
    let tokens = |provider| tokens_of(&harness, provider);
    let oc_tokens = tokens(Provider::OpenCollective);
    let hapi_tokens = tokens(Provider::HumanApi);

    let restarted = harness.restarted();
    assert_eq!(restarted.oc_me(oc).await.unwrap(), account);
    assert_eq!(restarted.hapi_sources(hapi).await.unwrap(), sources);
    for connection in [oc, hapi] {
        let view = restarted.connection(connection).await.unwrap();
        assert_eq!(view.state, ConnectionState::Connected, "{connection}");
    }
    // The sandbox recognized the stored tokens: none was refreshed or minted again.
    for (provider, before) in [
        (Provider::OpenCollective, oc_tokens),
        (Provider::HumanApi, hapi_tokens),
    ] {
        let after = tokens(provider);
        assert_eq!(after.access_token.expose(), before.access_token.expose());
    }
}

#[tokio::test]
async fn plain_http_is_refused_for_every_server_elsewhere_than_this_machine() {
    let harness = Harness::new(sandbox_config()).await;
    let input = |base_url: &str| datalinks_service::ProviderSettingsInput {
        client_id: "client".into(),
        client_secret: Some("secret".into()),
        base_url: base_url.into(),
        transport: Transport::Loopback,
        personal_token: None,
        options: datalinks_service::ProviderOptions::OpenHumans,
    };
    let err = harness
        .service
        .save_provider_settings(Provider::OpenHumans, input("http://openhumans.example"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("https://"), "{}", err.message);
    assert!(harness.secrets.keys().is_empty(), "nothing was kept");
    // Open Collective's API address and every Human API address follow the same rule.
    let oc = datalinks_service::OpenCollectiveOptions {
        api_url: "http://api.opencollective.example".into(),
        ..Default::default()
    };
    let err = harness
        .service
        .save_provider_settings(
            Provider::OpenCollective,
            datalinks_service::ProviderSettingsInput {
                base_url: "https://opencollective.com".into(),
                options: datalinks_service::ProviderOptions::OpenCollective(oc),
                ..input("")
            },
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("https://"), "{}", err.message);
    let hapi = datalinks_service::HumanApiOptions {
        data_api_url: "http://api.humanapi.example/v1/human".into(),
        ..Default::default()
    };
    let err = harness
        .service
        .save_provider_settings(
            Provider::HumanApi,
            datalinks_service::ProviderSettingsInput {
                options: datalinks_service::ProviderOptions::HumanApi(hapi),
                ..input("https://auth.humanapi.co")
            },
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("https://"), "{}", err.message);
}

#[tokio::test]
async fn a_refused_client_secret_stays_on_the_sign_in_until_the_next_attempt_even_after_a_restart()
{
    let harness = Harness::new(sandbox_config()).await;
    let input = datalinks_service::ProviderSettingsInput {
        client_id: harness.sandbox().client_id().into(),
        client_secret: Some("not-the-secret".into()),
        base_url: harness.sandbox().base_url().to_string(),
        transport: Transport::Loopback,
        personal_token: None,
        options: datalinks_service::ProviderOptions::OpenHumans,
    };
    harness
        .service
        .save_provider_settings(Provider::OpenHumans, input)
        .await
        .unwrap();
    let err = harness.connect().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotConfigured, "{err:?}");
    assert!(err.message.contains("invalid_client"), "{}", err.message);
    assert_eq!(harness.token_keys(), Vec::<String>::new(), "no tokens kept");

    let registration = harness.registration(Provider::OpenHumans);
    let restarted = harness.restarted();
    let overview = restarted.overview().unwrap();
    let sign_in = overview
        .sign_ins()
        .find(|s| s.registration.id == registration)
        .unwrap();
    assert_eq!(
        sign_in.last_error.as_ref(),
        Some(&err),
        "kept across the restart"
    );

    // The next attempt clears it.
    *harness.host.answer.lock().unwrap() = None;
    let overview = restarted
        .connect(
            datalinks_core::SignInTarget::NewAccount { registration },
            None,
        )
        .await
        .unwrap();
    let sign_in = overview
        .sign_ins()
        .find(|s| s.registration.id == registration)
        .unwrap();
    assert_eq!(sign_in.last_error, None);
}

#[tokio::test]
async fn a_member_listing_whose_next_links_go_round_in_circles_ends_with_an_error() {
    let harness = Harness::connected(Transport::Loopback).await;
    let connection = harness.conn(Provider::OpenHumans);
    harness.sandbox().set_faults(datalinks_sandbox::Faults {
        next_link_loops: true,
        ..Default::default()
    });
    let overview = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        harness.service.member_overview(connection),
    )
    .await
    .expect("the listing ends instead of following the circle");
    let err = overview.unwrap_err();
    assert!(err.message.contains("already read"), "{}", err.message);
}

#[tokio::test]
async fn an_account_that_cannot_be_read_after_the_exchange_is_not_kept_and_its_new_tokens_are_revoked(
) {
    let harness = Harness::new(sandbox_config()).await;
    harness.configure(Transport::Loopback).await;
    // The code exchange works; every API call (the account lookup first) fails.
    harness.sandbox().set_faults(datalinks_sandbox::Faults {
        api_error_rate: 1.0,
        ..Default::default()
    });
    let err = harness.connect().await.unwrap_err();
    assert!(
        err.message
            .contains("nothing was kept and the new tokens were revoked"),
        "{}",
        err.message
    );
    let stats = harness.sandbox().stats();
    assert_eq!(stats.codes_exchanged, 1);
    assert_eq!(stats.tokens_revoked, 1, "{stats:?}");
    assert_eq!(harness.token_keys(), Vec::<String>::new(), "no tokens kept");
    let overview = harness.service.overview().unwrap();
    assert_eq!(overview.connections().count(), 0);
    let sign_in = overview.sign_ins().next().unwrap();
    assert_eq!(sign_in.last_error.as_ref(), Some(&err), "shown on the card");
}
