//! Human API end to end against the in-process Human API sandbox: Connect tokens (session, then
//! id after a source is connected), Connect results from the Connect window (accepted, forged,
//! replayed), the access token minted and minted again, the Data API viewer, the legacy
//! finalize flow and disconnecting.

mod support;

use datalinks_core::{ConnectionId, ConnectionState, Error, ErrorCode, Provider, SignInState};
use datalinks_sandbox::humanapi::{connect_page_data, SOURCES};
use datalinks_service::{ConnectLaunch, ConnectWidget, Datalinks, StepOutcome, CONNECT_RESULT_URL};
use datalinks_vault::{SecretKind, SecretOwner, Vault};
use serde_json::json;
use support::hapi::{configured, connect_sources, payload, start};
use support::{connect_token, first_connection, Harness};

const HAPI: Provider = Provider::HumanApi;

/// The Human API connection (there is one person in these tests).
fn hapi_conn(harness: &Harness) -> ConnectionId {
    harness.conn(HAPI)
}

/// Our id of the linked person at Human API.
fn person(harness: &Harness) -> String {
    let overview = harness.service.overview().unwrap();
    first_connection(&overview, HAPI)
        .expect("a Human API connection")
        .account
        .account_id
        .clone()
}

/// How many sources are listed as linked (none without a connection).
fn linked(harness: &Harness) -> usize {
    let overview = harness.service.overview().unwrap();
    first_connection(&overview, HAPI).map_or(0, |c| {
        harness.service.hapi_connected_sources(c.id).unwrap().len()
    })
}

/// The last problem of signing in through Connect.
fn sign_in_error(harness: &Harness) -> Option<Error> {
    let overview = harness.service.overview().unwrap();
    let error = overview
        .sign_ins()
        .find(|s| s.registration.provider == HAPI)
        .and_then(|s| s.last_error.clone());
    error
}

/// What the Human API card shows: the open Connect window, else the connection's state.
#[derive(Debug, PartialEq)]
enum Seen {
    Disconnected,
    WindowOpen(i64),
    Account(ConnectionState),
}

async fn state(harness: &Harness) -> Seen {
    let overview = harness.service.overview().unwrap();
    let window = overview.sign_ins().find_map(|s| match s.state {
        SignInState::ConnectWindowOpen { expires_at, .. } => Some(expires_at),
        _ => None,
    });
    match (window, first_connection(&overview, HAPI)) {
        (Some(expires_at), _) => Seen::WindowOpen(expires_at),
        (None, Some(connection)) => Seen::Account(connection.state.clone()),
        (None, None) => Seen::Disconnected,
    }
}

#[tokio::test]
async fn a_new_user_gets_a_session_token_and_a_returning_user_an_id_token() {
    let harness = configured(false).await;
    assert_eq!(state(&harness).await, Seen::Disconnected);

    let launch = start(&harness).await;
    let user = launch.client_user_id.clone();
    assert!(user.starts_with("datalinks-"));
    assert!(
        harness.hapi().human_id(&user).is_some(),
        "a session was started"
    );
    let Seen::WindowOpen(expires_at) = state(&harness).await else {
        panic!("Connect is open")
    };
    assert!((expires_at - datalinks_core::now_unix() - 3600).abs() < 60);
    assert_eq!(launch.expires_at, expires_at);
    assert_eq!(launch.script_url, harness.hapi().connect_script_url());
    assert!(launch
        .allowed_origins
        .contains(&harness.hapi().base_url().origin()));
    // The token opens the sandbox's Connect page for this person.
    let page = reqwest::get(harness.hapi().connect_page_url(connect_token(&launch)))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-status=\"SUCCESS\""));

    assert!(harness.hapi().connect_source(&user, SOURCES[2].id));
    let event = payload(&harness, &user, "CONNECTED_SOURCE", &[2]);
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "connect", &event)
        .await
        .unwrap();
    let close = payload(&harness, &user, "SUCCESS", &[2]);
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "close", &close)
        .await
        .unwrap();
    assert_eq!(
        state(&harness).await,
        Seen::Account(ConnectionState::Connected)
    );
    let view = harness
        .service
        .connection(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(
        view.account.account_id, user,
        "keyed by our id of the person"
    );
    assert_eq!(view.account.username.as_deref(), Some("ada@example.org"));
    let sources = harness
        .service
        .hapi_connected_sources(hapi_conn(&harness))
        .unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "Fitbit");

    // Human API answers the session request with 403 now: the id token takes over.
    let stats_before = harness.hapi().stats();
    let again = start(&harness).await;
    let stats = harness.hapi().stats();
    assert_eq!(
        stats.session_token_requests,
        stats_before.session_token_requests + 1
    );
    assert_eq!(stats.id_token_requests, stats_before.id_token_requests + 1);
    assert_ne!(connect_token(&again), connect_token(&launch));
    let Seen::WindowOpen(expires_at) = state(&harness).await else {
        panic!("Connect is open")
    };
    assert!(
        (expires_at - datalinks_core::now_unix() - 3600).abs() < 60,
        "the window is listened to for an hour even though id tokens last a day"
    );
    let history = harness
        .service
        .registration_history(harness.registration(HAPI))
        .await
        .unwrap();
    assert!(history[0].detail.contains("id token"), "{history:?}");
    assert!(history
        .iter()
        .any(|e| e.kind == "source_connected" && e.detail.contains("Fitbit")));
}

#[tokio::test]
async fn forged_malformed_and_replayed_connect_results_are_refused() {
    let harness = configured(false).await;
    let launch = start(&harness).await;
    let user = launch.client_user_id.clone();
    harness.hapi().connect_source(&user, SOURCES[0].id);
    let event = payload(&harness, &user, "CONNECTED_SOURCE", &[0]);

    // Another attempt's id: a page that is not the open Connect window.
    let err = harness
        .service
        .apply_connect_event("not-the-attempt", "connect", &event)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::StateMismatch);
    // The kind does not match the status, an unknown field, an implausible source id, too big.
    for (kind, json) in [
        ("close", event.clone()),
        (
            "connect",
            event.replace("\"status\"", "\"extra\":1,\"status\""),
        ),
        ("connect", event.replace(SOURCES[0].id, "not-hex")),
        (
            "connect",
            format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024)),
        ),
        ("hijack", event.clone()),
    ] {
        let err = harness
            .service
            .apply_connect_event(&launch.attempt_id, kind, &json)
            .await
            .unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::CallbackRefused,
            "{kind}: {}",
            err.message
        );
    }
    // The reserved URL's parameters are checked too.
    assert!(datalinks_service::Datalinks::is_connect_result(
        &url::Url::parse(&format!("{CONNECT_RESULT_URL}?kind=close#x")).unwrap()
    ));
    for other in [
        "https://datalinks.invalid/connect-result/x",
        "http://datalinks.invalid/connect-result",
        "https://datalinks.invalid.example/connect-result",
    ] {
        assert!(!datalinks_service::Datalinks::is_connect_result(
            &url::Url::parse(other).unwrap()
        ));
    }
    let url = |query: &str| url::Url::parse(&format!("{CONNECT_RESULT_URL}?{query}")).unwrap();
    let huge = format!("kind=connect&event={}", "%7B".repeat(80 * 1024));
    for query in [
        "kind=connect",
        "kind=connect&kind=close&event={}",
        "kind=connect&event={}&x=1",
        huge.as_str(),
    ] {
        let err = harness
            .service
            .apply_connect_result(&launch.attempt_id, &url(query))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CallbackRefused, "{query}");
        if query.len() > 1000 {
            assert!(err.message.contains("too large"), "{}", err.message);
        }
    }
    assert!(linked(&harness) == 0);
    assert_eq!(
        sign_in_error(&harness).unwrap().code,
        ErrorCode::CallbackRefused
    );

    // The genuine event through the reserved URL is applied.
    let mut genuine = url::Url::parse(CONNECT_RESULT_URL).unwrap();
    genuine
        .query_pairs_mut()
        .append_pair("kind", "connect")
        .append_pair("event", &event);
    harness
        .service
        .apply_connect_result(&launch.attempt_id, &genuine)
        .await
        .unwrap();
    assert_eq!(linked(&harness), 1);
    let close = payload(&harness, &user, "SUCCESS", &[0]);
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "close", &close)
        .await
        .unwrap();

    // Closing ended the attempt: replaying its events changes nothing.
    harness.hapi().connect_source(&user, SOURCES[1].id);
    let replay = payload(&harness, &user, "CONNECTED_SOURCE", &[1]);
    let err = harness
        .service
        .apply_connect_result(&launch.attempt_id, &{
            let mut u = url::Url::parse(CONNECT_RESULT_URL).unwrap();
            u.query_pairs_mut()
                .append_pair("kind", "connect")
                .append_pair("event", &replay);
            u
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::StateMismatch);
    assert_eq!(linked(&harness), 1);
    assert_eq!(
        state(&harness).await,
        Seen::Account(ConnectionState::Connected)
    );
}

#[tokio::test]
async fn an_expired_connect_session_is_shown_and_cancel_ends_the_attempt() {
    let harness = configured(false).await;
    let launch = start(&harness).await;
    let closed = json!({
        "status": "SESSION_TOKEN_EXPIRED",
        "sessionResults": {"connectedSources": [], "disconnectedSources": []},
        "currentConnections": [],
    })
    .to_string();
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "close", &closed)
        .await
        .unwrap();
    assert_eq!(state(&harness).await, Seen::Disconnected);
    assert!(sign_in_error(&harness).unwrap().message.contains("expired"));

    let launch = start(&harness).await;
    let newer = start(&harness).await;
    // The replaced window closing does not end the newer attempt.
    harness
        .service
        .hapi_connect_window_closed(&launch.attempt_id)
        .await;
    assert!(matches!(state(&harness).await, Seen::WindowOpen(_)));
    harness
        .service
        .hapi_connect_window_closed(&newer.attempt_id)
        .await;
    assert_eq!(state(&harness).await, Seen::Disconnected);
    let launch = start(&harness).await;
    harness
        .service
        .cancel_connect(harness.registration(HAPI))
        .await
        .unwrap();
    assert_eq!(state(&harness).await, Seen::Disconnected);
    let err = harness
        .service
        .apply_connect_event(&launch.attempt_id, "close", &closed)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::StateMismatch);
}

#[tokio::test]
async fn the_access_token_is_minted_to_confirm_a_source_kept_and_minted_again_when_refused() {
    let harness = configured(false).await;
    connect_sources(&harness, &[2]).await;
    // What Connect reported was confirmed with the Data API, with one access token.
    assert!(harness.stored_tokens(HAPI).is_some());
    assert_eq!(harness.hapi().stats().access_token_requests, 1);

    let profile = harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap();
    let user = person(&harness);
    assert_eq!(Some(profile.human_id), harness.hapi().human_id(&user));
    assert_eq!(profile.email.as_deref(), Some("ada@example.org"));
    let first = harness.stored_tokens(HAPI).expect("kept in the keyring");
    assert!((first.expires_at.unwrap() - datalinks_core::now_unix() - 86_400).abs() < 60);
    harness
        .service
        .hapi_sources(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(harness.hapi().stats().access_token_requests, 1, "reused");

    harness.hapi().expire_tokens();
    harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap();
    let second = harness.stored_tokens(HAPI).unwrap();
    assert_ne!(second.access_token, first.access_token);
    let stats = harness.hapi().stats();
    assert_eq!(stats.access_token_requests, 2);
    assert_eq!(stats.data_api_auth_failures, 1);
    let view = harness
        .service
        .connection(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(view.token_expires_at, second.expires_at);
    assert_eq!(view.state, ConnectionState::Connected);
}

#[tokio::test]
async fn no_connected_source_means_reconnect_in_connect() {
    let harness = configured(false).await;
    let launch = start(&harness).await;
    // Until a source is linked, the person is no connection: there is nothing to read.
    assert_eq!(state(&harness).await, Seen::WindowOpen(launch.expires_at));
    assert!(first_connection(&harness.service.overview().unwrap(), HAPI).is_none());
}

#[tokio::test]
async fn unlinking_every_source_asks_to_reconnect_until_one_is_linked_again() {
    let harness = configured(false).await;
    connect_sources(&harness, &[2]).await;
    harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap();
    let user = person(&harness);

    let launch = start(&harness).await;
    assert!(harness.hapi().disconnect_source(&user, SOURCES[2].id));
    let mut event: serde_json::Value =
        serde_json::from_str(&payload(&harness, &user, "DISCONNECTED_SOURCE", &[])).unwrap();
    event["sessionResults"]["disconnectedSources"] =
        json!([{"name": SOURCES[2].name, "id": SOURCES[2].id}]);
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "disconnect", &event.to_string())
        .await
        .unwrap();
    assert!(linked(&harness) == 0);
    harness
        .service
        .cancel_connect(harness.registration(HAPI))
        .await
        .unwrap();

    // Human API refuses tokens to a user with no source; the stored one is refused too.
    harness.hapi().expire_tokens();
    let err = harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded, "{}", err.message);
    assert!(matches!(
        state(&harness).await,
        Seen::Account(ConnectionState::ReconnectNeeded { .. })
    ));

    connect_sources(&harness, &[3]).await;
    assert_eq!(
        state(&harness).await,
        Seen::Account(ConnectionState::Connected)
    );
    harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_data_api_viewer_lists_sources_reports_pages_of_activities_and_saves_a_pdf() {
    let harness = configured(false).await;
    connect_sources(&harness, &[0, 2]).await;

    let sources = harness
        .service
        .hapi_sources(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(sources.len(), 2);
    let fitbit = sources.iter().find(|s| s.name == "Fitbit").unwrap();
    assert_eq!(fitbit.source, "fitbit");
    assert!(!fitbit.sync_status.is_empty());
    assert!(fitbit.synched_at.is_some());

    let reports = harness
        .service
        .hapi_reports(hapi_conn(&harness), 0)
        .await
        .unwrap();
    assert!(!reports.items.is_empty());
    assert_eq!(reports.total, reports.items.len() as u64);
    let report = &reports.items[0];

    let first = harness
        .service
        .hapi_activities(hapi_conn(&harness), 0)
        .await
        .unwrap();
    assert_eq!(first.offset, 0);
    assert_eq!(first.items.len(), 25);
    assert_eq!(
        first.total, 90,
        "X-Total-Count: 90 days of one wellness source"
    );
    assert!(first.items.iter().all(|a| a.steps.is_some()));
    let next = first.next_offset.expect("more pages");
    assert_eq!(next, 25);
    let second = harness
        .service
        .hapi_activities(hapi_conn(&harness), next)
        .await
        .unwrap();
    assert_eq!(second.offset, 25);
    assert!(second.items.iter().all(|a| !first.items.contains(a)));
    let last = harness
        .service
        .hapi_activities(hapi_conn(&harness), 75)
        .await
        .unwrap();
    assert_eq!(last.items.len(), 15);
    assert_eq!(last.next_offset, None);

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("report.pdf");
    let saved = harness
        .service
        .hapi_save_report_pdf(hapi_conn(&harness), &report.id, &dest)
        .await
        .unwrap();
    assert_eq!(saved.path, dest.display().to_string());
    let pdf = std::fs::read(&dest).unwrap();
    assert_eq!(pdf.len() as u64, saved.bytes);
    assert!(pdf.starts_with(b"%PDF-"));
    let err = harness
        .service
        .hapi_save_report_pdf(
            hapi_conn(&harness),
            &report.id,
            std::path::Path::new("report.pdf"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(
        Datalinks::hapi_report_pdf_name("../rep ort/7"),
        "human-api-report-report7.pdf"
    );
}

/// Opens the Connect 1.x page the launch's parameters name, as the Connect 1.x script frames
/// it, and returns the session token object the page hands `finish`.
async fn legacy_page(harness: &Harness, launch: &ConnectLaunch) -> serde_json::Value {
    let parameters = launch.page_parameters();
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(parameters.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(query["flow"], "legacy");
    let mut page = harness.hapi().base_url().join("legacy/").unwrap();
    page.query_pairs_mut()
        .append_pair("clientId", &query["clientId"])
        .append_pair("clientUserId", &query["clientUserId"])
        .append_pair("publicToken", &query["publicToken"]);
    let html = reqwest::get(page).await.unwrap().text().await.unwrap();
    let data = connect_page_data(&html).expect("a Connect page");
    assert_eq!(data["status"], "SUCCESS", "{data}");
    data["sessionTokenObject"].clone()
}

#[tokio::test]
async fn the_legacy_flow_finalizes_what_connect_1x_finishes_with_and_recovers_the_public_token() {
    let harness = configured(true).await;
    let launch = start(&harness).await;
    assert_eq!(
        launch.script_url,
        harness.hapi().legacy_connect_script_url()
    );
    assert_eq!(launch.allowed_origins, [harness.hapi().base_url().origin()]);
    let ConnectWidget::Legacy { public_token, .. } = &launch.widget else {
        panic!("Connect 1.x")
    };
    assert!(public_token.is_none(), "a new user has no public token");
    assert_eq!(harness.hapi().stats().session_token_requests, 0);
    let object = legacy_page(&harness, &launch).await;
    let user = launch.client_user_id.clone();
    let human_id = harness.hapi().human_id(&user).unwrap();
    assert_eq!(object["humanId"], human_id);

    // Connect 2.x events do not belong to a Connect 1.x window.
    let refused = harness
        .service
        .apply_connect_event(&launch.attempt_id, "connect", "{}")
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::CallbackRefused);
    // A forged object for another app is not signed with our secret.
    let mut foreign = object.clone();
    foreign["clientId"] = json!("someone-elses-app");
    let err = harness
        .service
        .apply_connect_event(&launch.attempt_id, "finish", &foreign.to_string())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(harness.hapi().stats().legacy_finalize_requests, 0);

    assert!(harness.hapi().connect_source(&user, SOURCES[2].id));
    harness
        .service
        .apply_connect_event(&launch.attempt_id, "finish", &object.to_string())
        .await
        .unwrap();
    assert!(
        !harness
            .service
            .hapi_connect_attempt_open(&launch.attempt_id),
        "finish ends Connect 1.x"
    );
    assert_eq!(
        state(&harness).await,
        Seen::Account(ConnectionState::Connected)
    );
    let vault = Vault::new(harness.secrets.clone());
    let account = harness.account_identity(hapi_conn(&harness));
    let public_token = vault.public_token(&account).unwrap().expect("kept");
    assert!(harness.stored_tokens(HAPI).is_some());
    let view = harness
        .service
        .connection(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(view.account.account_id, user);
    let linked = harness
        .service
        .hapi_connected_sources(hapi_conn(&harness))
        .unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].id, SOURCES[2].id);
    // The legacy access token reads the Data API without minting a new one.
    harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(harness.hapi().stats().access_token_requests, 0);
    let view = harness
        .service
        .connection(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(
        view.token_expires_at, None,
        "legacy tokens carry no lifetime"
    );
    // After closing, the attempt's results are refused.
    let late = harness
        .service
        .apply_connect_event(&launch.attempt_id, "finish", &object.to_string())
        .await
        .unwrap_err();
    assert_eq!(late.code, ErrorCode::StateMismatch);

    // Connect reopens in edit mode with the kept public token.
    let again = start(&harness).await;
    let ConnectWidget::Legacy {
        public_token: kept, ..
    } = &again.widget
    else {
        panic!("Connect 1.x")
    };
    assert_eq!(kept.as_ref(), Some(&public_token));
    let reopened = legacy_page(&harness, &again).await;
    assert_eq!(reopened["humanId"], human_id);
    // Closing without connecting another source keeps what was finalized.
    harness
        .service
        .apply_connect_event(&again.attempt_id, "close", "{}")
        .await
        .unwrap();
    assert!(!harness.service.hapi_connect_attempt_open(&again.attempt_id));
    assert_eq!(
        state(&harness).await,
        Seen::Account(ConnectionState::Connected)
    );

    // Connect 1.x ending with an error says so, ends the attempt and keeps what was finalized.
    let failing = start(&harness).await;
    harness
        .service
        .apply_connect_event(
            &failing.attempt_id,
            "error",
            r#"{"message":"popup blocked"}"#,
        )
        .await
        .unwrap();
    assert!(!harness
        .service
        .hapi_connect_attempt_open(&failing.attempt_id));
    let view = harness
        .service
        .connection(hapi_conn(&harness))
        .await
        .unwrap();
    assert_eq!(view.state, ConnectionState::Connected);
    assert!(sign_in_error(&harness)
        .unwrap()
        .message
        .contains("popup blocked"));

    // A public token lost from the keyring is recovered when Connect opens next.
    vault
        .delete(SecretOwner::Account(&account), SecretKind::PublicToken)
        .unwrap();
    let recovering = start(&harness).await;
    let ConnectWidget::Legacy {
        public_token: Some(recovered),
        ..
    } = &recovering.widget
    else {
        panic!("Connect 1.x with a recovered public token")
    };
    assert_ne!(
        recovered, &public_token,
        "recovery issues a new public token"
    );
    assert_eq!(
        vault.public_token(&account).unwrap().as_ref(),
        Some(recovered)
    );
    assert_eq!(harness.hapi().stats().public_token_requests, 1);
    assert_eq!(
        legacy_page(&harness, &recovering).await["humanId"],
        human_id
    );
    assert_eq!(harness.hapi().stats().legacy_finalize_requests, 1);
}

#[tokio::test]
async fn connect_2x_windows_refuse_connect_1x_results() {
    let harness = configured(false).await;
    let launch = start(&harness).await;
    let err = harness
        .service
        .apply_connect_event(&launch.attempt_id, "finish", "{}")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::CallbackRefused);
    assert_eq!(harness.hapi().stats().legacy_finalize_requests, 0);
}

#[tokio::test]
async fn disconnect_forgets_tokens_and_sources_and_says_what_human_api_needs() {
    let harness = configured(false).await;
    connect_sources(&harness, &[2, 3]).await;
    harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap();
    let user = person(&harness);

    let receipt = harness
        .service
        .disconnect(hapi_conn(&harness))
        .await
        .unwrap();
    let step = |label: &str| {
        receipt
            .steps
            .iter()
            .find(|s| s.label.contains(label))
            .unwrap_or_else(|| panic!("{label}: {receipt:?}"))
    };
    assert_eq!(step("Revoke").outcome, StepOutcome::Skipped);
    assert!(step("Revoke").detail.contains(&user));
    assert_eq!(step("Delete tokens").outcome, StepOutcome::Done);
    assert_eq!(step("linked sources").outcome, StepOutcome::Done);
    assert!(step("linked sources").detail.contains('2'));
    assert_eq!(step("Forget the account").outcome, StepOutcome::Done);

    assert_eq!(harness.token_keys(), Vec::<String>::new());
    assert!(linked(&harness) == 0);
    assert_eq!(state(&harness).await, Seen::Disconnected);
    // The person stays the same one at Human API: reconnecting is a returning user.
    assert_eq!(start(&harness).await.client_user_id, user);
}

#[tokio::test]
async fn the_built_in_sandbox_configures_human_api_with_its_connect_stand_in() {
    let harness = Harness::without_sandbox();
    harness.service.start_sandbox().await.unwrap();
    let settings = harness.service.provider_settings(HAPI).await.unwrap();
    assert!(settings.own.is_none());
    assert!(settings.sandbox.unwrap().has_client_secret);
    let launch = start(&harness).await;
    assert!(launch.script_url.as_str().starts_with("http://127.0.0.1:"));
    let script = reqwest::get(launch.script_url.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains("HumanConnect"));
    assert!(matches!(state(&harness).await, Seen::WindowOpen(_)));
}

#[tokio::test]
async fn a_forged_connect_report_replaces_nothing_the_data_api_does_not_confirm() {
    let harness = configured(false).await;
    connect_sources(&harness, &[2]).await;
    harness.hapi().expire_tokens();
    harness
        .hapi()
        .disconnect_source(&person(&harness), SOURCES[2].id);
    let err = harness
        .service
        .hapi_profile(hapi_conn(&harness))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);

    // Script in the Connect window claims two sources were connected; Human API has none.
    let launch = start(&harness).await;
    let forged = json!({
        "status": "CONNECTED_SOURCE",
        "sessionResults": {
            "connectedSources": [{"name": SOURCES[0].name, "id": SOURCES[0].id}],
            "disconnectedSources": [],
            "requestedSources": [],
        },
        "currentConnections": [
            {"name": SOURCES[0].name, "id": SOURCES[0].id},
            {"name": SOURCES[1].name, "id": SOURCES[1].id},
        ],
        "requestedProviders": [],
    })
    .to_string();
    let _ = harness
        .service
        .apply_connect_event(&launch.attempt_id, "connect", &forged)
        .await;
    assert!(
        matches!(
            harness
                .service
                .connection(hapi_conn(&harness))
                .await
                .unwrap()
                .state,
            ConnectionState::ReconnectNeeded { .. }
        ),
        "a report of the window cannot end a reconnect-needed"
    );
    assert_eq!(
        linked(&harness),
        1,
        "the stored list is what the Data API last said"
    );
}

#[tokio::test]
async fn a_flood_of_refused_results_writes_one_history_line() {
    let harness = configured(false).await;
    let launch = start(&harness).await;
    for _ in 0..300 {
        let _ = harness
            .service
            .apply_connect_event(&launch.attempt_id, "connect", "{\"not\":\"it\"}")
            .await;
    }
    let history = harness
        .service
        .registration_history(harness.registration(HAPI))
        .await
        .unwrap();
    let refused = history
        .iter()
        .filter(|e| e.kind == "connect_event_refused")
        .count();
    assert_eq!(refused, 1, "{history:?}");
    assert!(
        history.iter().all(|e| !e.detail.contains("not")),
        "no content echoed"
    );
    assert_eq!(
        sign_in_error(&harness).unwrap().code,
        ErrorCode::CallbackRefused
    );
}
