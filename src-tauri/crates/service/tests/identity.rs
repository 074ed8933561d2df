//! Every secret belongs to the registration (server addresses and client id) and the account it
//! came from. These tests reproduce the two breaks measured before registrations — the sandbox
//! overwriting a real setup, and a server-address change sending the old server's secrets to
//! the new one — and check several accounts per provider and the migration of a data folder
//! and keyring written by the release before.

mod support;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use datalinks_core::{
    AuthorizationCode, ConnectionState, ErrorCode, Provider, SignInTarget, Transport,
};
use datalinks_sandbox::person::{Answer, Person};
use datalinks_service::{Datalinks, ProviderOptions, ProviderSettingsInput};
use datalinks_vault::{legacy_key, MemoryStore, SecretKind, SecretOwner, SecretStore, Vault};
use std::sync::{Arc, Mutex};
use support::{first_connection, sandbox_config, waiting, Harness};

const OH: Provider = Provider::OpenHumans;

/// Everything about one request a server received, as text.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    uri: String,
    headers: String,
    body: String,
}

impl Recorded {
    fn text(&self) -> String {
        format!(
            "{} {}\n{}\n{}",
            self.method, self.uri, self.headers, self.body
        )
    }
}

/// A server at another address that records every request and refuses them all, as a server
/// that knows none of our grants would.
struct Recorder {
    base_url: url::Url,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    async fn start() -> Self {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let seen = requests.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    let headers = headers
                        .iter()
                        .map(|(name, value)| {
                            format!("{name}: {}", String::from_utf8_lossy(value.as_bytes()))
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    seen.lock().unwrap().push(Recorded {
                        method: method.to_string(),
                        uri: uri.to_string(),
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let refusal = if uri.path().contains("token") {
                        (StatusCode::BAD_REQUEST, r#"{"error":"invalid_grant"}"#)
                    } else {
                        (StatusCode::UNAUTHORIZED, r#"{"detail":"Invalid token."}"#)
                    };
                    (refusal.0, [("content-type", "application/json")], refusal.1).into_response()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url =
            url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base_url, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// The forms a secret can take on the wire: as is, form-encoded, and inside an HTTP Basic
/// header with the client id.
fn wire_forms(secret: &str, client_id: &str) -> Vec<String> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(client_id),
        encode(secret)
    ));
    vec![secret.to_owned(), encode(secret), basic]
}

fn own_settings(harness: &Harness, base_url: &str, secret: Option<&str>) -> ProviderSettingsInput {
    ProviderSettingsInput {
        client_id: harness.sandbox().client_id().into(),
        client_secret: secret.map(str::to_owned),
        base_url: base_url.to_owned(),
        transport: Transport::Loopback,
        personal_token: None,
        options: ProviderOptions::OpenHumans,
    }
}

#[tokio::test]
async fn trying_the_sandbox_never_touches_a_real_setup_or_its_secrets() {
    // The person's own Open Humans setup (a server at its own address) and a connected account.
    let harness = Harness::connected(Transport::Loopback).await;
    let real = harness.conn(OH);
    let settings_before = harness.service.provider_settings(OH).await.unwrap().own;
    let keys_before = harness.secrets.keys();
    let secret_key = keys_before
        .iter()
        .find(|k| k.ends_with("/client_secret"))
        .unwrap()
        .clone();
    let secret_before = harness.secrets.get(&secret_key).unwrap().unwrap();
    let tokens_before = harness.stored_tokens(OH).unwrap();

    // "Try with the sandbox", a sandbox account beside the real one, then a restart.
    harness.service.start_sandbox().await.unwrap();
    let sandbox_registration = harness.service.sign_in_registration(OH, true).unwrap();
    let on_sandbox = harness
        .sign_in_with(
            SignInTarget::NewAccount {
                registration: sandbox_registration,
            },
            sandbox_registration,
        )
        .await
        .unwrap();
    assert!(on_sandbox.registration.sandbox);
    assert_ne!(on_sandbox.id, real);
    let restarted = harness.restarted();
    restarted.start_sandbox().await.unwrap();
    let calls_before = harness.sandbox().stats().api_calls;
    let overview = restarted.member_overview(real).await.unwrap();

    // The real account still works, with its own server: the call reached it.
    assert_eq!(overview.username.as_deref(), Some("alice"));
    assert!(harness.sandbox().stats().api_calls > calls_before);
    let settings_after = restarted.provider_settings(OH).await.unwrap();
    assert_eq!(
        settings_after.own, settings_before,
        "the real settings are untouched"
    );
    assert!(settings_after.sandbox.is_some());
    assert_eq!(
        harness.secrets.get(&secret_key).unwrap().unwrap(),
        secret_before,
        "the real client secret is untouched"
    );
    assert_eq!(harness.stored_tokens(OH).unwrap(), tokens_before);
    // The sandbox's secrets are entries of their own.
    let added: Vec<String> = harness
        .secrets
        .keys()
        .into_iter()
        .filter(|k| !keys_before.contains(k))
        .collect();
    assert_eq!(
        added.len(),
        4,
        "three sandbox client secrets and one token set: {added:?}"
    );
    let sandbox_tokens = Vault::new(harness.secrets.clone())
        .tokens(&harness.account_identity(on_sandbox.id))
        .unwrap()
        .unwrap();
    assert_ne!(sandbox_tokens.access_token, tokens_before.access_token);

    let views = restarted.overview().unwrap();
    let oh = views.providers.iter().find(|p| p.provider == OH).unwrap();
    assert_eq!(oh.connections.len(), 2, "side by side");
    assert_eq!(
        oh.connections
            .iter()
            .filter(|c| c.registration.sandbox)
            .count(),
        1
    );
    assert_eq!(
        oh.sign_ins.len(),
        2,
        "the own setup and the sandbox both take sign-ins"
    );
    assert!(!oh.sign_ins[0].registration.sandbox, "the own setup first");
}

#[tokio::test]
async fn a_new_server_address_never_receives_what_the_old_one_issued() {
    let harness = Harness::connected(Transport::Loopback).await;
    let on_a = harness.conn(OH);
    let client_id = harness.sandbox().client_id().to_owned();
    let secret_a = harness.sandbox().client_secret().to_owned();
    let mut tokens_a = vec![harness.stored_tokens(OH).unwrap()];
    let b = Recorder::start().await;
    let b_url = b.base_url.as_str().trim_end_matches('/').to_owned();

    // The secret stays with server A: server B needs its own.
    let refused = harness
        .service
        .save_provider_settings(OH, own_settings(&harness, &b_url, None))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidInput);
    assert!(
        refused.message.contains("never sent anywhere else"),
        "{}",
        refused.message
    );
    let settings = harness
        .service
        .save_provider_settings(OH, own_settings(&harness, &b_url, Some("the-secret-of-b")))
        .await
        .unwrap();
    assert_eq!(settings.own.unwrap().base_url, b_url);
    assert_eq!(settings.registrations.len(), 2);
    let old = settings
        .registrations
        .iter()
        .find(|r| r.registration.retired)
        .expect("the old setup is kept for its connection");
    assert_eq!(old.accounts.len(), 1);
    let view = harness.service.connection(on_a).await.unwrap();
    assert!(view.registration.retired, "shown as an earlier setup");
    assert_eq!(view.state, ConnectionState::Connected, "still usable");

    // Connect through B: the code goes to B, with B's secret.
    *harness.host.answer.lock().unwrap() = None;
    let registration_b = harness.registration(OH);
    let overview = harness
        .service
        .connect(
            SignInTarget::NewAccount {
                registration: registration_b,
            },
            None,
        )
        .await
        .unwrap();
    let authorize = url::Url::parse(&waiting(&overview, registration_b).unwrap()).unwrap();
    assert_eq!(authorize.origin(), b.base_url.origin());
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    let mut redirect = url::Url::parse(&query["redirect_uri"]).unwrap();
    redirect
        .query_pairs_mut()
        .append_pair("code", "a-code-from-b")
        .append_pair("state", &query["state"]);
    reqwest::get(redirect).await.unwrap();
    let failed = harness.wait_for_sign_in(registration_b).await.unwrap_err();
    assert_eq!(
        failed.code,
        ErrorCode::ReconnectNeeded,
        "B refused the code"
    );

    // Refresh, call and disconnect the connection made on A: all of it goes to A.
    let before = harness.sandbox().stats();
    harness.sandbox().expire_access_tokens();
    harness.service.member_overview(on_a).await.unwrap();
    tokens_a.push(harness.stored_tokens(OH).unwrap());
    harness.service.disconnect(on_a).await.unwrap();
    let after = harness.sandbox().stats();
    assert_eq!(after.successful_refreshes, before.successful_refreshes + 1);
    assert!(after.api_calls > before.api_calls);
    assert_eq!(after.revocation_requests, before.revocation_requests + 2);

    let received = b.requests();
    assert!(
        received.iter().any(|r| r.uri.contains("token")),
        "B received its own code exchange: {received:?}"
    );
    let mut secrets_of_a = wire_forms(&secret_a, &client_id);
    for tokens in &tokens_a {
        secrets_of_a.push(tokens.access_token.expose().to_owned());
        secrets_of_a.push(tokens.refresh_token.as_ref().unwrap().expose().to_owned());
    }
    for request in &received {
        for secret in &secrets_of_a {
            assert!(
                !request.text().contains(secret.as_str()),
                "B received a secret issued by A in {} {}",
                request.method,
                request.uri
            );
        }
    }
    // The earlier setup had no connection left, so it went with its secret.
    let settings = harness.service.provider_settings(OH).await.unwrap();
    assert_eq!(settings.registrations.len(), 1);
    assert_eq!(
        harness
            .secrets
            .keys()
            .iter()
            .filter(|k| k.ends_with("/client_secret"))
            .count(),
        1,
        "only B's secret is left"
    );
}

#[tokio::test]
async fn a_personal_token_stays_with_the_open_collective_api_it_was_checked_against() {
    use datalinks_sandbox::opencollective::OpenCollectiveConfig;
    let harness = Harness::open_collective(OpenCollectiveConfig::default()).await;
    let token = harness.oc().personal_token().to_owned();
    let input = ProviderSettingsInput {
        client_id: String::new(),
        personal_token: Some(token.clone()),
        ..harness.oc_settings(None)
    };
    harness
        .service
        .save_provider_settings(Provider::OpenCollective, input)
        .await
        .unwrap();
    let connection = harness.conn(Provider::OpenCollective);
    let b = Recorder::start().await;
    let mut moved = harness.oc_settings(None);
    let ProviderOptions::OpenCollective(options) = &mut moved.options else {
        panic!("Open Collective options")
    };
    options.api_url = b.base_url.to_string();
    moved.client_id = harness.oc().client_id().into();
    harness
        .service
        .save_provider_settings(Provider::OpenCollective, moved)
        .await
        .unwrap();
    let me = harness.service.oc_me(connection).await.unwrap();
    assert!(me.personal_token);
    assert!(
        b.requests().iter().all(|r| !r.text().contains(&token)),
        "the new API address never saw the personal token"
    );
    assert!(b.requests().is_empty(), "nothing went to it at all");
}

#[tokio::test]
async fn two_accounts_of_one_provider_connect_refresh_and_disconnect_on_their_own() {
    let harness = Harness::new(datalinks_sandbox::SandboxConfig {
        member_count: 3,
        ..sandbox_config()
    })
    .await;
    harness.configure(Transport::Loopback).await;
    let alice = harness.connect_successfully().await;
    *harness.host.username.lock().unwrap() = "member00002";
    let second = harness.connect_successfully().await;
    assert_ne!(alice.id, second.id);
    assert_eq!(alice.registration.id, second.registration.id);
    assert_ne!(alice.account.account_id, second.account.account_id);
    let accounts = [alice.id, second.id].map(|id| (id, harness.account_identity(id)));
    let tokens = |id| {
        let (_, account) = accounts.iter().find(|(c, _)| *c == id).unwrap();
        Vault::new(harness.secrets.clone()).tokens(account).unwrap()
    };
    let second_before = tokens(second.id).unwrap();

    // Refresh one: only its tokens change.
    harness.sandbox().expire_access_tokens();
    let refreshes = harness.sandbox().stats().successful_refreshes;
    let member = harness.service.member_overview(alice.id).await.unwrap();
    assert_eq!(member.username.as_deref(), Some("alice"));
    assert_eq!(
        harness.sandbox().stats().successful_refreshes,
        refreshes + 1
    );
    assert_eq!(tokens(second.id).unwrap(), second_before);

    // Disconnect the other: the first keeps working, with its own history.
    let receipt = harness.service.disconnect(second.id).await.unwrap();
    assert_eq!(receipt.account.account_id, second.account.account_id);
    assert_eq!(tokens(second.id), None);
    assert!(tokens(alice.id).is_some());
    assert_eq!(
        harness
            .service
            .member_overview(alice.id)
            .await
            .unwrap()
            .project_member_id,
        alice.account.account_id
    );
    let overview = harness.service.overview().unwrap();
    assert_eq!(overview.connections().count(), 1);
    let history = harness.service.history(alice.id).await.unwrap();
    assert!(history.iter().all(|e| e.connection_id == Some(alice.id)));
    assert!(history.iter().all(|e| e.kind != "disconnected"));

    // Signing the same account in again connects that connection again, not a third one.
    *harness.host.username.lock().unwrap() = "alice";
    let again = harness.connect_successfully().await;
    assert_eq!(again.id, alice.id);
}

/// A database as the release before registrations wrote it, for an Open Humans account.
fn version_4_database(path: &std::path::Path, base_url: &str, client_id: &str, member: &str) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(&format!(
            r#"
            CREATE TABLE provider_settings (provider TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL,
                base_url TEXT NOT NULL, transport TEXT NOT NULL, loopback_path TEXT NOT NULL,
                sandbox INTEGER NOT NULL, updated_at INTEGER NOT NULL, options TEXT NOT NULL DEFAULT '{{}}');
            CREATE TABLE accounts (provider TEXT PRIMARY KEY NOT NULL, account_id TEXT NOT NULL,
                username TEXT, connected_at INTEGER NOT NULL, token_expires_at INTEGER, reconnect_reason TEXT);
            CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
                provider TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
            CREATE INDEX history_by_provider ON history (provider, id);
            CREATE TABLE app_settings (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
            CREATE TABLE connected_sources (provider TEXT NOT NULL, source_id TEXT NOT NULL,
                name TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (provider, source_id));
            INSERT INTO provider_settings VALUES ('openhumans', '{client_id}', '{base_url}',
                'loopback', '/callback', 0, 1700000000, '{{}}');
            INSERT INTO accounts VALUES ('openhumans', '{member}', 'alice', 1700000100, NULL, NULL);
            INSERT INTO history (at, provider, kind, detail) VALUES (1700000100, 'openhumans', 'connected', 'as {member}');
            PRAGMA user_version = 4;
            "#
        ))
        .unwrap();
}

#[tokio::test]
async fn a_data_folder_and_keyring_of_the_previous_release_open_with_the_connection_intact() {
    // Real grants from the sandbox, kept as the previous release kept them.
    let sandbox = datalinks_sandbox::start(sandbox_config(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let callback = "http://127.0.0.1:9/callback";
    let verifier = datalinks_oauth::PkceVerifier::generate();
    let authorize = datalinks_openhumans::oauth_client(
        reqwest::Client::new(),
        &base,
        sandbox.client_id().into(),
        sandbox.client_secret().into(),
    )
    .authorize_url(
        &datalinks_openhumans::authorize_endpoint(&base),
        callback,
        "state",
        &verifier,
        &[],
    )
    .unwrap();
    let redirect = Person::alice()
        .answer(authorize.as_str(), Answer::Authorize)
        .await
        .unwrap();
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = datalinks_openhumans::oauth_client(
        reqwest::Client::new(),
        &base,
        sandbox.client_id().into(),
        sandbox.client_secret().into(),
    )
    .exchange_code(&AuthorizationCode::new(code), callback, &verifier)
    .await
    .unwrap();
    let member = sandbox.seeded_member().project_member_id;

    let data_dir = tempfile::tempdir().unwrap();
    let base_url = base.as_str().trim_end_matches('/');
    version_4_database(
        &data_dir.path().join(datalinks_service::DATABASE_FILE),
        base_url,
        sandbox.client_id(),
        &member,
    );
    let keyring = Arc::new(MemoryStore::new());
    let old_tokens = format!(
        r#"{{"access_token":"{}","refresh_token":"{}","expires_at":{},"scope":null}}"#,
        tokens.access_token.expose(),
        tokens.refresh_token.as_ref().unwrap().expose(),
        tokens.expires_at.unwrap()
    );
    let legacy = |kind| legacy_key(OH, kind);
    keyring
        .set(&legacy(SecretKind::Tokens), &old_tokens.as_str().into())
        .unwrap();
    keyring
        .set(
            &legacy(SecretKind::ClientSecret),
            &sandbox.client_secret().into(),
        )
        .unwrap();

    let host = Arc::new(NoBrowser);
    let service = Datalinks::open(data_dir.path(), keyring.clone(), host.clone()).unwrap();
    let overview = service.overview().unwrap();
    let connection = first_connection(&overview, OH).expect("the account is a connection");
    assert_eq!(connection.account.account_id, member);
    assert_eq!(connection.state, ConnectionState::Connected);
    assert_eq!(
        service.history(connection.id).await.unwrap()[0].detail,
        format!("as {member}")
    );
    assert_eq!(keyring.reads(), 0, "listing reads no secret");

    let id = connection.id;
    let files = service.member_overview(id).await.unwrap();
    assert_eq!(files.project_member_id, member, "the old tokens work");
    assert!(!keyring.contains(&legacy(SecretKind::Tokens)), "moved once");
    assert!(!keyring.contains(&legacy(SecretKind::ClientSecret)));
    let account = service.account_identity(id).unwrap();
    assert!(keyring.contains(&SecretOwner::Account(&account).key(SecretKind::Tokens)));
    assert!(keyring
        .contains(&SecretOwner::Registration(&account.registration).key(SecretKind::ClientSecret)));

    // The next start finds everything at its new name.
    let writes = keyring.writes();
    let reopened = Datalinks::open(data_dir.path(), keyring.clone(), host).unwrap();
    reopened.member_overview(id).await.unwrap();
    assert_eq!(keyring.writes(), writes, "nothing moved again");
    // A refresh still works with the moved client secret.
    sandbox.expire_access_tokens();
    reopened.member_overview(id).await.unwrap();
    assert_eq!(sandbox.stats().successful_refreshes, 1);
}

/// A host for services that never open a browser.
struct NoBrowser;

impl datalinks_service::Host for NoBrowser {
    fn open_in_browser(&self, _url: &str) -> datalinks_core::Result<()> {
        Ok(())
    }
    fn emit(&self, _event: datalinks_service::ServiceEvent) {}
}

#[tokio::test]
async fn reconnecting_an_earlier_setups_account_shows_and_uses_that_setup() {
    let harness = Harness::connected(Transport::Loopback).await;
    let on_a = harness.conn(OH);
    let b = Recorder::start().await;
    let b_url = b.base_url.as_str().trim_end_matches('/').to_owned();
    harness
        .service
        .save_provider_settings(OH, own_settings(&harness, &b_url, Some("the-secret-of-b")))
        .await
        .unwrap();
    let earlier = harness.service.connection(on_a).await.unwrap().registration;
    assert!(earlier.retired);
    let overview = harness.service.overview().unwrap();
    assert!(
        overview.sign_ins().all(|s| s.registration.id != earlier.id),
        "an earlier setup takes no new accounts"
    );

    // Reconnect the account of the earlier setup: its sign-in shows, against its own server.
    *harness.host.answer.lock().unwrap() = None;
    let overview = harness
        .service
        .connect(SignInTarget::Reconnect { connection: on_a }, None)
        .await
        .unwrap();
    let sign_in = overview
        .sign_ins()
        .find(|s| s.registration.id == earlier.id)
        .expect("the reconnect is shown");
    let datalinks_core::SignInState::Waiting {
        authorize_url,
        reconnecting,
        ..
    } = &sign_in.state
    else {
        panic!("waiting: {:?}", sign_in.state)
    };
    assert_eq!(*reconnecting, Some(on_a));
    assert_eq!(
        url::Url::parse(authorize_url).unwrap().origin(),
        harness.sandbox().base_url().origin(),
        "the earlier setup's own server"
    );
    // New accounts cannot be added through it.
    let refused = harness
        .service
        .connect(
            SignInTarget::NewAccount {
                registration: earlier.id,
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidInput);
    assert!(b.requests().is_empty());
}
