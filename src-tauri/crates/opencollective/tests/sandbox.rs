//! The client against the in-process Open Collective sandbox: authorize, exchange, refresh and
//! every read, with the failures a linked account runs into.

use std::collections::HashSet;
use std::future::Future;

use datalinks_core::{now_unix, AuthorizationCode, ClientSecret, PersonalToken};
use datalinks_oauth::{
    parse_callback, random_state, CallbackTarget, ClientAuthentication, OAuthClient, PkceVerifier,
    Redirect, TokenEndpointError,
};
use datalinks_opencollective::{
    oauth_client, scope_parameter, ApiClient, ApiError, Credential, Hosts, Page, PageRequest,
    Scope, ScopeSeparator, DEFAULT_RATE_LIMIT_WAIT,
};
use datalinks_sandbox::opencollective::{
    self, OpenCollectiveConfig, RunningOpenCollective, TokenResponseShape, SEEDED_EMAIL,
    SEEDED_SLUG,
};
use datalinks_sandbox::person::{Answer, Person};
use datalinks_vault::TokenSet;

const NINETY_DAYS: i64 = 7_776_000;

async fn start(config: OpenCollectiveConfig) -> RunningOpenCollective {
    opencollective::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the Open Collective sandbox starts")
}

fn hosts(oc: &RunningOpenCollective) -> Hosts {
    Hosts::single(oc.base_url())
}

fn api(oc: &RunningOpenCollective) -> ApiClient {
    ApiClient::new(reqwest::Client::new(), &hosts(oc))
}

fn confidential_client(oc: &RunningOpenCollective) -> OAuthClient {
    oauth_client(
        reqwest::Client::new(),
        &hosts(oc),
        oc.client_id().into(),
        Some(ClientSecret::new(oc.client_secret())),
    )
}

fn public_client(oc: &RunningOpenCollective) -> OAuthClient {
    oauth_client(
        reqwest::Client::new(),
        &hosts(oc),
        oc.client_id().into(),
        None,
    )
}

/// A code the seeded person granted on the authorize page, with the verifier that proves it.
async fn authorize(
    oc: &RunningOpenCollective,
    scopes: &[Scope],
    separator: ScopeSeparator,
) -> (AuthorizationCode, PkceVerifier) {
    let verifier = PkceVerifier::generate();
    let state = random_state();
    let scope = scope_parameter(scopes, separator);
    let extra: Vec<(&str, &str)> = scope.iter().map(|s| ("scope", s.as_str())).collect();
    let url = oauth_client(
        reqwest::Client::new(),
        &hosts(oc),
        oc.client_id().into(),
        None,
    )
    .authorize_url(
        &hosts(oc).authorize_url(),
        &oc.registered_callback_url(),
        &state,
        &verifier,
        &extra,
    )
    .unwrap();
    let back = Person::new(SEEDED_SLUG, "sandbox")
        .answer(url.as_str(), Answer::Authorize)
        .await
        .expect("the person authorizes");
    let target = CallbackTarget::from_redirect_uri(&oc.registered_callback_url()).unwrap();
    match parse_callback(&back, &target).expect("a valid callback") {
        Redirect::Code {
            code,
            state: returned,
        } => {
            assert_eq!(returned, state);
            (code, verifier)
        }
        denied => panic!("expected a code, got {denied:?}"),
    }
}

async fn link(oc: &RunningOpenCollective, client: &OAuthClient, scopes: &[Scope]) -> TokenSet {
    let (code, verifier) = authorize(oc, scopes, ScopeSeparator::Comma).await;
    client
        .exchange_code(&code, &oc.registered_callback_url(), &verifier)
        .await
        .expect("the code exchange succeeds")
}

fn bearer(tokens: &TokenSet) -> Credential {
    Credential::OAuth(tokens.access_token.clone())
}

/// Follows `next` from the first page to the last, checking each page's bookkeeping.
async fn every_page<T, F, Fut>(limit: u32, mut fetch: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut request = Some(PageRequest::first(limit));
    let (mut items, mut pages, mut total) = (Vec::new(), 0, None);
    while let Some(asked) = request {
        let page = fetch(asked).await.expect("a page");
        assert_eq!((page.offset, page.limit), (asked.offset, asked.limit));
        assert_eq!(*total.get_or_insert(page.total_count), page.total_count);
        request = page.next();
        items.extend(page.nodes);
        pages += 1;
    }
    assert_eq!(items.len(), total.unwrap() as usize);
    (items, pages)
}

fn distinct<T>(items: &[T], id: impl Fn(&T) -> &str) -> usize {
    items.iter().map(id).collect::<HashSet<_>>().len()
}

#[tokio::test]
async fn a_linked_account_reads_me_and_every_page_of_its_collections() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let tokens = link(&oc, &confidential_client(&oc), &[Scope::Email]).await;
    assert!(tokens.refresh_token.is_some());
    assert!((tokens.expires_at.unwrap() - now_unix() - NINETY_DAYS).abs() < 60);
    assert_eq!(tokens.scope.as_deref(), Some("email"));
    let (api, credential) = (api(&oc), bearer(&tokens));

    let me = api.me(&credential).await.unwrap();
    assert_eq!(me.slug, SEEDED_SLUG);
    assert_eq!(me.account_type, "INDIVIDUAL");
    assert!(me.image_url.is_some_and(|url| url.contains(SEEDED_SLUG)));
    assert!(me.created_at.unix_timestamp() < now_unix());

    let (memberships, pages) = every_page(2, |page| api.memberships(&credential, page)).await;
    assert!(pages >= 2, "several pages of memberships");
    assert_eq!(distinct(&memberships, |m| &m.id), memberships.len());
    assert!(memberships.windows(2).all(|w| w[0].since >= w[1].since));

    let (transactions, pages) = every_page(100, |page| api.transactions(&credential, page)).await;
    assert_eq!((transactions.len(), pages), (250, 3));
    assert_eq!(distinct(&transactions, |t| &t.id), 250);
    assert!(transactions
        .iter()
        .all(|t| t.account.slug == SEEDED_SLUG && t.opposite_account.is_some()));

    let (expenses, pages) = every_page(10, |page| api.expenses(&credential, &me.slug, page)).await;
    assert_eq!((expenses.len(), pages), (30, 3));
    assert_eq!(distinct(&expenses, |e| &e.id), 30);
    assert!(expenses.iter().all(|e| e.amount.currency == "USD"));
}

#[tokio::test]
async fn without_a_secret_pkce_exchanges_the_code_but_cannot_refresh() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let client = public_client(&oc);
    let tokens = link(&oc, &client, &[]).await;
    assert_eq!(
        api(&oc).me(&bearer(&tokens)).await.unwrap().slug,
        SEEDED_SLUG
    );
    let refresh_token = tokens.refresh_token.expect("OC hands one out anyway");
    assert_eq!(
        client.refresh(&refresh_token).await.unwrap_err(),
        TokenEndpointError::InvalidClient
    );
}

#[tokio::test]
async fn refresh_rotates_both_tokens_and_retires_the_old_ones() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let client = confidential_client(&oc);
    let first = link(&oc, &client, &[Scope::Email]).await;
    let first_refresh = first.refresh_token.clone().unwrap();
    let second = client.refresh(&first_refresh).await.unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token.as_ref(), Some(&first_refresh));
    assert_eq!(second.scope.as_deref(), Some("email"));

    let api = api(&oc);
    assert_eq!(api.me(&bearer(&second)).await.unwrap().slug, SEEDED_SLUG);
    assert_eq!(
        api.me(&bearer(&first)).await.unwrap_err(),
        ApiError::AccessRemoved
    );
    assert!(matches!(
        client.refresh(&first_refresh).await.unwrap_err(),
        TokenEndpointError::InvalidGrant { .. }
    ));
}

#[tokio::test]
async fn the_email_needs_the_email_scope() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let client = confidential_client(&oc);
    let api = api(&oc);
    let without = link(&oc, &client, &[Scope::Account]).await;
    assert_eq!(api.me(&bearer(&without)).await.unwrap().email, None);
    let with = link(&oc, &client, &[Scope::Email, Scope::Account]).await;
    assert_eq!(
        api.me(&bearer(&with)).await.unwrap().email.as_deref(),
        Some(SEEDED_EMAIL)
    );
}

#[tokio::test]
async fn linking_the_account_again_removes_the_first_links_access() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let client = confidential_client(&oc);
    let first = link(&oc, &client, &[]).await;
    let second = link(&oc, &client, &[]).await;
    let api = api(&oc);
    let (old, page) = (bearer(&first), PageRequest::first(5));
    assert_eq!(api.me(&old).await.unwrap_err(), ApiError::AccessRemoved);
    assert_eq!(
        api.memberships(&old, page).await.unwrap_err(),
        ApiError::AccessRemoved
    );
    assert_eq!(
        api.transactions(&old, page).await.unwrap_err(),
        ApiError::AccessRemoved
    );
    assert_eq!(
        api.expenses(&old, SEEDED_SLUG, page).await.unwrap_err(),
        ApiError::AccessRemoved
    );
    assert!(api
        .expenses(&bearer(&second), SEEDED_SLUG, page)
        .await
        .is_ok());
}

#[tokio::test]
async fn an_expired_access_token_asks_for_a_refresh() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let client = confidential_client(&oc);
    let tokens = link(&oc, &client, &[]).await;
    oc.expire_access_tokens();
    let api = api(&oc);
    assert_eq!(
        api.me(&bearer(&tokens)).await.unwrap_err(),
        ApiError::TokenExpired
    );
    let fresh = client
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(api.me(&bearer(&fresh)).await.unwrap().slug, SEEDED_SLUG);
}

#[tokio::test]
async fn exceeding_the_rate_budget_is_rate_limited() {
    let oc = start(OpenCollectiveConfig {
        authenticated_rate_limit: 2,
        ..Default::default()
    })
    .await;
    let tokens = link(&oc, &confidential_client(&oc), &[]).await;
    let (api, credential) = (api(&oc), bearer(&tokens));
    for _ in 0..2 {
        api.me(&credential).await.unwrap();
    }
    let limited = api.me(&credential).await.unwrap_err();
    // The sandbox, like OC, sends no Retry-After.
    assert_eq!(
        limited,
        ApiError::RateLimited {
            retry_after: DEFAULT_RATE_LIMIT_WAIT
        }
    );
    assert_eq!(oc.stats().graphql_rate_limited, 1);
}

#[tokio::test]
async fn a_personal_token_reads_without_oauth() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let api = api(&oc);
    let personal = Credential::PersonalToken(PersonalToken::new(oc.personal_token()));
    let me = api.me(&personal).await.unwrap();
    assert_eq!(
        (me.slug.as_str(), me.email.as_deref()),
        (SEEDED_SLUG, Some(SEEDED_EMAIL))
    );
    let page = api
        .transactions(&personal, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.nodes.len(), 10);
    assert!(page.has_more());
    let unknown = Credential::PersonalToken(PersonalToken::new("not-a-token"));
    assert_eq!(api.me(&unknown).await.unwrap_err(), ApiError::AccessRemoved);
}

#[tokio::test]
async fn older_token_response_shapes_are_understood() {
    for shape in [
        TokenResponseShape::WithoutRefreshToken,
        TokenResponseShape::AccessTokenOnly,
    ] {
        let oc = start(OpenCollectiveConfig {
            token_response_shape: shape,
            ..Default::default()
        })
        .await;
        let tokens = link(&oc, &confidential_client(&oc), &[Scope::Email]).await;
        assert!(tokens.refresh_token.is_none(), "{shape:?}");
        match shape {
            TokenResponseShape::WithoutRefreshToken => {
                assert!((tokens.expires_at.unwrap() - now_unix() - NINETY_DAYS).abs() < 60);
                assert_eq!(tokens.scope.as_deref(), Some("email"));
            }
            _ => {
                assert_eq!(tokens.expires_at, None, "no lifetime given");
                assert_eq!(tokens.scope, None);
            }
        }
        assert_eq!(
            api(&oc).me(&bearer(&tokens)).await.unwrap().slug,
            SEEDED_SLUG
        );
    }
}

#[tokio::test]
async fn the_consent_page_accepts_comma_and_space_separated_scopes() {
    for separator in [ScopeSeparator::Comma, ScopeSeparator::Space] {
        // A fresh sandbox each time, so the consent page is shown rather than auto-approved.
        let oc = start(OpenCollectiveConfig::default()).await;
        let (code, verifier) =
            authorize(&oc, &[Scope::Email, Scope::Transactions], separator).await;
        let tokens = confidential_client(&oc)
            .exchange_code(&code, &oc.registered_callback_url(), &verifier)
            .await
            .unwrap();
        assert_eq!(
            tokens.scope.as_deref(),
            Some("email transactions"),
            "{separator:?}"
        );
    }
}

#[tokio::test]
async fn client_authentication_by_basic_or_body_and_refused_secrets() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let with = |authentication| {
        OAuthClient::with_authentication(
            reqwest::Client::new(),
            hosts(&oc).token_url(),
            None,
            oc.client_id().into(),
            authentication,
        )
    };
    let basic = with(ClientAuthentication::Basic(ClientSecret::new(
        oc.client_secret(),
    )));
    let tokens = link(&oc, &basic, &[]).await;
    assert!(basic
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .is_ok());

    // OC answers a wrong secret with 401 under Basic and 400 in the body: both are invalid_client.
    let wrong = ClientSecret::new("0".repeat(40));
    for client in [
        with(ClientAuthentication::Basic(wrong.clone())),
        with(ClientAuthentication::Body(wrong)),
    ] {
        let (code, verifier) = authorize(&oc, &[], ScopeSeparator::Comma).await;
        assert_eq!(
            client
                .exchange_code(&code, &oc.registered_callback_url(), &verifier)
                .await
                .unwrap_err(),
            TokenEndpointError::InvalidClient
        );
    }
    assert_eq!(
        basic
            .revoke_access_token(&tokens.access_token)
            .await
            .unwrap_err(),
        TokenEndpointError::RevocationUnsupported
    );
}

#[tokio::test]
async fn a_wrong_verifier_or_a_reused_code_is_an_invalid_grant() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let client = public_client(&oc);
    let (code, _) = authorize(&oc, &[], ScopeSeparator::Comma).await;
    let error = client
        .exchange_code(
            &code,
            &oc.registered_callback_url(),
            &PkceVerifier::generate(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        TokenEndpointError::InvalidGrant {
            description: Some("Invalid grant: code verifier is invalid".into())
        }
    );
    let (code, verifier) = authorize(&oc, &[], ScopeSeparator::Comma).await;
    client
        .exchange_code(&code, &oc.registered_callback_url(), &verifier)
        .await
        .unwrap();
    assert!(matches!(
        client
            .exchange_code(&code, &oc.registered_callback_url(), &verifier)
            .await
            .unwrap_err(),
        TokenEndpointError::InvalidGrant { .. }
    ));
}

#[tokio::test]
async fn graphql_errors_are_provider_errors_and_a_stopped_server_is_unreachable() {
    let oc = start(OpenCollectiveConfig::default()).await;
    let tokens = link(&oc, &confidential_client(&oc), &[]).await;
    let (api, credential) = (api(&oc), bearer(&tokens));
    assert_eq!(
        api.expenses(&credential, "no-such-account", PageRequest::first(5))
            .await
            .unwrap_err(),
        ApiError::Provider {
            message: "Account Not Found".into()
        }
    );
    let too_many = api
        .transactions(&credential, PageRequest::first(1001))
        .await
        .unwrap_err();
    assert!(matches!(too_many, ApiError::Provider { message } if message.contains("1000")));

    oc.shutdown().await;
    let error = api.me(&credential).await.unwrap_err();
    assert!(matches!(error, ApiError::Unreachable { .. }), "{error:?}");
    let shown = datalinks_core::Error::from(error).to_string();
    assert!(!shown.contains(tokens.access_token.expose()));
}
