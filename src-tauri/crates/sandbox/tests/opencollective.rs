//! The Open Collective sandbox against docs/providers/open-collective.md and docs/sandbox.md
//! (authorize page, token endpoint, GraphQL v2).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use datalinks_sandbox::opencollective::{
    self, OpenCollectiveConfig, RunningOpenCollective, TokenResponseShape, SEEDED_EMAIL,
    SEEDED_SLUG,
};
use datalinks_sandbox::person::{Answer, HtmlForm, Person};
use reqwest::{redirect, Client, Response, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9w2fZzwQ8ZnAqrX1hd4tXxGvW3k7yLqzOe0nQ";

async fn start(config: OpenCollectiveConfig) -> RunningOpenCollective {
    opencollective::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the Open Collective sandbox starts")
}

async fn start_default() -> RunningOpenCollective {
    start(OpenCollectiveConfig::default()).await
}

fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorize_url(oc: &RunningOpenCollective, params: &[(&str, &str)]) -> Url {
    let mut url = oc.authorize_url();
    url.query_pairs_mut()
        .append_pair("client_id", oc.client_id())
        .append_pair("response_type", "code");
    for (name, value) in params {
        url.query_pairs_mut().append_pair(name, value);
    }
    url
}

fn query_of(location: &str) -> HashMap<String, String> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn location(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND);
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The seeded person answers the authorize page at `url`; the redirect back, or why there is none.
async fn ada_answers(url: Url, answer: Answer) -> Result<String, String> {
    Person::new("ada", "sandbox")
        .answer(url.as_str(), answer)
        .await
}

/// The seeded person walks the authorize page and is sent back with a code.
async fn authorization_code(oc: &RunningOpenCollective, params: &[(&str, &str)]) -> String {
    let back = ada_answers(authorize_url(oc, params), Answer::Authorize)
        .await
        .unwrap();
    query_of(&back)["code"].clone()
}

/// Signs `browser` in as `username` with the sandbox password.
async fn sign_in(browser: &Client, oc: &RunningOpenCollective, username: &str) -> Response {
    browser
        .post(oc.base_url().join("/signin").unwrap())
        .form(&[
            ("username", username),
            ("password", "sandbox"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
}

/// A token request body.
type TokenForm = Vec<(&'static str, String)>;

async fn token_request(oc: &RunningOpenCollective, form: &(impl Serialize + ?Sized)) -> Response {
    client()
        .post(oc.token_url())
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A token request with the client's id and `secret` in an `Authorization: Basic` header.
async fn basic_token_request(
    oc: &RunningOpenCollective,
    secret: &str,
    form: &[(&str, &str)],
) -> Response {
    client()
        .post(oc.token_url())
        .basic_auth(oc.client_id(), Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The callback URL the sandbox registers by default.
const DEFAULT_CALLBACK: &str = "datalinks://oauth/callback";

/// A code exchange naming the client but proving nothing: add a secret or a verifier. For a
/// sandbox with the default callback URL.
fn code_form<'a>(oc: &'a RunningOpenCollective, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", DEFAULT_CALLBACK),
        ("client_id", oc.client_id()),
    ]
}

/// `form` followed by `extra`.
fn with<'a>(
    mut form: Vec<(&'a str, &'a str)>,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    form.extend_from_slice(extra);
    form
}

/// Exchanges `code` with the client's credentials in the body.
async fn exchange(oc: &RunningOpenCollective, code: &str) -> Response {
    let form = with(
        code_form(oc, code),
        &[("client_secret", oc.client_secret())],
    );
    token_request(oc, &form).await
}

/// The `access_token` of a token response.
fn access_token(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

async fn connect(oc: &RunningOpenCollective, scope: &str) -> Value {
    let code = authorization_code(oc, &[("scope", scope)]).await;
    let response = exchange(oc, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn refresh_form<'a>(
    oc: &'a RunningOpenCollective,
    refresh_token: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", oc.client_id()),
        ("client_secret", oc.client_secret()),
    ]
}

async fn refresh(oc: &RunningOpenCollective, refresh_token: &str) -> Response {
    token_request(oc, &refresh_form(oc, refresh_token)).await
}

/// Checks a 400 token error and returns `(error, error_description)`.
async fn token_error(response: Response) -> (String, String) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("www-authenticate").is_none());
    let body: Value = response.json().await.unwrap();
    (
        body["error"].as_str().unwrap().to_string(),
        body["error_description"].as_str().unwrap().to_string(),
    )
}

fn pair(error: &str, description: &str) -> (String, String) {
    (error.to_string(), description.to_string())
}

enum Auth<'a> {
    Anonymous,
    Bearer(&'a str),
    PersonalToken(&'a str),
}

async fn graphql(
    oc: &RunningOpenCollective,
    auth: Auth<'_>,
    query: &str,
    variables: Value,
) -> Response {
    let request = client()
        .post(oc.graphql_url())
        .json(&json!({"query": query, "variables": variables}));
    let request = match auth {
        Auth::Anonymous => request,
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::PersonalToken(token) => request.header("Personal-Token", token),
    };
    request.send().await.unwrap()
}

async fn graphql_ok(
    oc: &RunningOpenCollective,
    auth: Auth<'_>,
    query: &str,
    variables: Value,
) -> Value {
    let response = graphql(oc, auth, query, variables).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

const ME: &str =
    "query Me { me { id legacyId slug name email imageUrl(height: 90) type createdAt } }";

async fn me(oc: &RunningOpenCollective, access_token: &str) -> Value {
    graphql_ok(oc, Auth::Bearer(access_token), ME, json!({})).await["data"]["me"].clone()
}

fn jwt_claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    // OC names its signing key in every JWT it makes.
    assert_eq!(header["kid"], "HS256-2019-09-02");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

fn is_hex(text: &str, length: usize) -> bool {
    text.len() == length
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test]
async fn credentials_have_open_collectives_formats() {
    let oc = start_default().await;
    assert!(is_hex(oc.client_id(), 20));
    assert!(is_hex(oc.client_secret(), 40));
    assert_eq!(oc.registered_callback_url(), DEFAULT_CALLBACK);
    let other = start(OpenCollectiveConfig {
        seed: 2,
        ..Default::default()
    })
    .await;
    assert_ne!(
        oc.client_id(),
        other.client_id(),
        "credentials follow the seed"
    );
}

#[tokio::test]
async fn a_person_signs_in_consents_and_is_sent_back_with_a_code() {
    let oc = start_default().await;
    let browser = client();
    let start_url = authorize_url(&oc, &[("scope", "email,account"), ("state", "s 1")]);

    let to_signin = location(&browser.get(start_url.clone()).send().await.unwrap());
    let signin_url = oc.base_url().join(&to_signin).unwrap();
    assert_eq!(signin_url.path(), "/signin");
    let page = browser
        .get(signin_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<code>ada</code>") && page.contains("<code>sandbox</code>"));

    let back = ada_answers(start_url, Answer::Authorize).await.unwrap();
    assert!(
        back.starts_with("datalinks://oauth/callback?code="),
        "{back}"
    );
    let query = query_of(&back);
    assert!(is_hex(&query["code"], 64));
    assert_eq!(query["state"], "s 1");
    assert!(
        back.ends_with("&state=s%201"),
        "state is encoded like querystring: {back}"
    );
    assert_eq!(oc.stats().codes_issued, 1);
}

#[tokio::test]
async fn the_consent_page_lists_known_scopes_with_their_explanations() {
    let oc = start_default().await;
    let browser = client();
    let login = sign_in(&browser, &oc, SEEDED_EMAIL).await;
    assert_eq!(location(&login), "/");
    let page = browser
        .get(authorize_url(
            &oc,
            &[("scope", "email transactions,root bogus")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-scope=\"email\"") && html.contains("Access your email address."));
    assert!(html.contains("Refund and reject recorded transactions."));
    assert!(!html.contains("data-scope=\"root\"") && !html.contains("bogus"));
    let form = HtmlForm::parse(&html).unwrap();
    // A newer page passes the scopes it kept on separated by spaces, as the API splits them.
    assert_eq!(form.hidden("scope").as_deref(), Some("email transactions"));
    let values: Vec<&str> = form
        .inputs
        .iter()
        .filter(|input| input.kind == "submit")
        .map(|input| input.value.as_str())
        .collect();
    assert_eq!(values, ["Authorize", "Cancel"]);
}

#[tokio::test]
async fn cancel_sends_access_denied_with_the_state() {
    let oc = start_default().await;
    let back = ada_answers(authorize_url(&oc, &[("state", "xyz")]), Answer::Cancel)
        .await
        .unwrap();
    assert_eq!(
        back,
        "datalinks://oauth/callback?error=access_denied&error_description=Access%20denied%3A%20user%20denied%20access%20to%20application&state=xyz"
    );
    let without_state = ada_answers(authorize_url(&oc, &[]), Answer::Cancel)
        .await
        .unwrap();
    assert!(!without_state.contains("state="), "state is optional");
}

#[tokio::test]
async fn an_unexpired_authorization_is_approved_without_the_consent_page() {
    let oc = start_default().await;
    authorization_code(&oc, &[("scope", "email")]).await;
    let browser = client();
    sign_in(&browser, &oc, "ada").await;
    let response = browser.get(authorize_url(&oc, &[])).send().await.unwrap();
    assert!(location(&response).starts_with("datalinks://oauth/callback?code="));
}

#[tokio::test]
async fn authorize_errors_are_shown_as_documented() {
    let oc = start_default().await;
    let browser = client();
    let page = |url: Url| {
        let browser = browser.clone();
        async move {
            let response = browser.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let mut no_client = oc.authorize_url();
    no_client.set_query(Some("response_type=code"));
    let (status, html) = page(no_client).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("data-error=\"invalid_request\"")
            && html.contains("Missing parameter: `client_id`")
    );

    let mut unknown = oc.authorize_url();
    unknown.set_query(Some("response_type=code&client_id=0123456789abcdef0123"));
    let (status, html) = page(unknown).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-error=\"invalid_client\"") && html.contains(">Invalid client<"));

    let (_, html) = page(authorize_url(
        &oc,
        &[("redirect_uri", "datalinks://oauth/callback/")],
    ))
    .await;
    assert!(
        html.contains("data-error=\"invalid_client\""),
        "exact string compare"
    );

    sign_in(&browser, &oc, "ada").await;
    let mut bad_type = oc.authorize_url();
    bad_type.set_query(Some(&format!(
        "client_id={}&response_type=token",
        oc.client_id()
    )));
    let (status, html) = page(bad_type).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-error=\"unsupported_response_type\""));

    let (_, html) = page(authorize_url(&oc, &[("state", "caf\u{e9}")])).await;
    assert!(
        html.contains("Invalid parameter: `state`"),
        "state must be VSCHAR"
    );

    let plain = [
        ("code_challenge", VERIFIER),
        ("code_challenge_method", "plain"),
    ];
    let (status, html) = page(authorize_url(&oc, &plain)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The library's own wording for "plain".
    assert!(html.contains("data-error=\"invalid_request\""));
    assert!(
        html.contains(
            "`code_challenge_method` &quot;plain&quot; is not allowed; use &quot;S256&quot;"
        ),
        "{html}"
    );
}

#[tokio::test]
async fn the_code_buys_a_jwt_a_rotating_refresh_token_and_no_store_headers() {
    let oc = start_default().await;
    let code = authorization_code(&oc, &[("scope", "email account")]).await;
    let response = exchange(&oc, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 7_776_000);
    assert_eq!(body["scope"], "email account");
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert!(is_hex(
        refresh_token.strip_prefix("oauth_refresh__").unwrap(),
        64
    ));
    let claims = jwt_claims(access_token(&body));
    assert_eq!(claims["scope"], "oauth");
    assert!(claims["access_token"]
        .as_str()
        .unwrap()
        .starts_with("oauth__"));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        7_776_000
    );
    assert_eq!(
        claims["email"], SEEDED_EMAIL,
        "OC puts the email in every JWT"
    );
    let me = me(&oc, access_token(&body)).await;
    assert_eq!(claims["sub"], me["legacyId"].to_string());

    // The code is single-use.
    assert_eq!(
        token_error(exchange(&oc, &code).await).await,
        pair("invalid_grant", "Invalid authorization code")
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let oc = start(OpenCollectiveConfig {
        code_lifetime: Duration::ZERO,
        ..Default::default()
    })
    .await;
    let code = authorization_code(&oc, &[]).await;
    assert_eq!(
        token_error(exchange(&oc, &code).await).await,
        pair(
            "invalid_grant",
            "Invalid grant: authorization code has expired"
        )
    );
}

#[tokio::test]
async fn token_request_errors_follow_the_table() {
    let oc = start_default().await;
    let id = oc.client_id().to_string();
    let secret = oc.client_secret().to_string();
    let callback = oc.registered_callback_url().to_string();
    let code = authorization_code(&oc, &[]).await;
    let with_client = |extra: &[(&'static str, String)]| {
        let mut form = vec![("client_id", id.clone()), ("client_secret", secret.clone())];
        form.extend(extra.iter().cloned());
        form
    };

    let json_body = client()
        .post(oc.token_url())
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        token_error(json_body).await,
        pair(
            "invalid_request",
            "Invalid request: content must be application/x-www-form-urlencoded"
        )
    );
    let cases: Vec<(TokenForm, (String, String))> = vec![
        (
            vec![
                ("grant_type", "authorization_code".into()),
                ("client_id", id.clone()),
            ],
            pair(
                "invalid_client",
                "Invalid client: cannot retrieve client credentials",
            ),
        ),
        (
            vec![
                ("grant_type", "authorization_code".into()),
                ("client_id", "0123456789abcdef0123".into()),
                ("client_secret", secret.clone()),
            ],
            pair("invalid_client", "Invalid client"),
        ),
        (
            vec![
                ("grant_type", "authorization_code".into()),
                ("client_id", id.clone()),
                ("client_secret", "wrong".into()),
            ],
            pair("invalid_client", "Invalid client credentials"),
        ),
        (
            with_client(&[]),
            pair("invalid_request", "Missing parameter: `grant_type`"),
        ),
        (
            with_client(&[("grant_type", "magic".into())]),
            pair(
                "unsupported_grant_type",
                "Unsupported grant type: `grant_type` is invalid",
            ),
        ),
        (
            with_client(&[("grant_type", "authorization_code".into())]),
            pair("invalid_request", "Missing parameter: `code`"),
        ),
        (
            with_client(&[
                ("grant_type", "refresh_token".into()),
                ("refresh_token", "oauth_refresh__unknown".into()),
            ]),
            pair("invalid_grant", "Invalid refresh token"),
        ),
    ];
    for (form, expected) in cases {
        let shown = format!("{form:?}");
        assert_eq!(
            token_error(token_request(&oc, &form).await).await,
            expected,
            "{shown}"
        );
    }
    // None of the failures above consumed the code.
    let ok = with_client(&[
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", callback),
    ]);
    let ok = token_request(&oc, &ok).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

/// The library answers token errors with `Cache-Control: no-cache` and no `Pragma` (successes
/// get `no-store` and `Pragma: no-cache`).
#[tokio::test]
async fn token_errors_are_marked_no_cache_without_pragma() {
    let oc = start_default().await;
    let response = exchange(&oc, "no-such-code").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(response.headers().get("pragma").is_none());
}

/// The website serves the same GraphQL API at `/api/graphql/v2`, the address its documentation
/// gives.
#[tokio::test]
async fn graphql_is_also_served_at_the_websites_path() {
    let oc = start_default().await;
    let tokens = connect(&oc, "email").await;
    let answer = client()
        .post(oc.base_url().join("/api/graphql/v2").unwrap())
        .bearer_auth(access_token(&tokens))
        .json(&json!({"query": ME, "variables": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["data"]["me"]["slug"], SEEDED_SLUG);
}

/// Open Collective consumes a code before it checks `redirect_uri` (as measured on a server built
/// like it): a failed exchange burns the code, and the next one with the right `redirect_uri`
/// gets 400 `invalid_grant` "Invalid authorization code".
#[tokio::test]
async fn a_redirect_uri_that_fails_the_check_burns_the_code() {
    let oc = start_default().await;
    let cases = [
        (
            None,
            pair(
                "invalid_request",
                "Invalid request: `redirect_uri` is not a valid URI",
            ),
        ),
        (
            Some("datalinks://other"),
            pair(
                "invalid_request",
                "Invalid request: `redirect_uri` is invalid",
            ),
        ),
    ];
    for (redirect_uri, expected) in cases {
        let code = authorization_code(&oc, &[]).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", oc.client_id()),
            ("client_secret", oc.client_secret()),
        ];
        form.extend(redirect_uri.map(|uri| ("redirect_uri", uri)));
        assert_eq!(token_error(token_request(&oc, &form).await).await, expected);
        assert_eq!(
            token_error(exchange(&oc, &code).await).await,
            pair("invalid_grant", "Invalid authorization code"),
            "the failed exchange consumed the code"
        );
    }
}

#[tokio::test]
async fn basic_auth_turns_only_client_errors_into_401() {
    let oc = start_default().await;
    let wrong_secret = basic_token_request(
        &oc,
        "wrong",
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_secret.headers()["www-authenticate"],
        "Basic realm=\"Service\""
    );
    let body: Value = wrong_secret.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let unknown_code = basic_token_request(
        &oc,
        oc.client_secret(),
        &[
            ("grant_type", "authorization_code"),
            ("code", "0000"),
            ("redirect_uri", &oc.registered_callback_url()),
        ],
    )
    .await;
    assert_eq!(
        token_error(unknown_code).await,
        pair("invalid_grant", "Invalid authorization code")
    );

    let code = authorization_code(&oc, &[]).await;
    let with_basic = basic_token_request(
        &oc,
        oc.client_secret(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &oc.registered_callback_url()),
        ],
    )
    .await;
    assert_eq!(with_basic.status(), StatusCode::OK);
}

#[tokio::test]
async fn pkce_exempts_the_code_exchange_from_the_secret_but_not_the_refresh() {
    let oc = start_default().await;
    let code = authorization_code(&oc, &[("code_challenge", &challenge(VERIFIER))]).await;
    let form = with(code_form(&oc, &code), &[("code_verifier", VERIFIER)]);
    let response = token_request(&oc, &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let mut without_secret = refresh_form(&oc, refresh_token);
    without_secret.retain(|(name, _)| *name != "client_secret");
    without_secret.push(("code_verifier", VERIFIER));
    let without_secret = token_request(&oc, &without_secret).await;
    assert_eq!(
        token_error(without_secret).await,
        pair(
            "invalid_client",
            "Invalid client: cannot retrieve client credentials"
        )
    );
    assert_eq!(refresh(&oc, refresh_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn pkce_failures_consume_the_code() {
    let oc = start_default().await;
    let pkce = [("code_challenge", challenge(VERIFIER))];
    let pkce: Vec<(&str, &str)> = pkce.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cases = [
        (
            None,
            pair("invalid_grant", "Missing parameter: `code_verifier`"),
        ),
        (
            Some("short"),
            pair("invalid_request", "Invalid parameter: `code_verifier`"),
        ),
        (
            Some("a-perfectly-well-formed-but-different-verifier-0123"),
            pair("invalid_grant", "Invalid grant: code verifier is invalid"),
        ),
    ];
    for (verifier, expected) in cases {
        let code = authorization_code(&oc, &pkce).await;
        let mut form = with(
            code_form(&oc, &code),
            &[("client_secret", oc.client_secret())],
        );
        form.extend(verifier.map(|v| ("code_verifier", v)));
        assert_eq!(token_error(token_request(&oc, &form).await).await, expected);
        let mut retry = form.clone();
        retry.retain(|(name, _)| *name != "code_verifier");
        retry.push(("code_verifier", VERIFIER));
        assert_eq!(
            token_error(token_request(&oc, &retry).await).await,
            pair("invalid_grant", "Invalid authorization code"),
            "the failed attempt revoked the code"
        );
    }
    // A verifier for a code issued without a challenge.
    let code = authorization_code(&oc, &[]).await;
    let form = with(code_form(&oc, &code), &[("code_verifier", VERIFIER)]);
    assert_eq!(
        token_error(token_request(&oc, &form).await).await,
        pair("invalid_grant", "Invalid grant: code verifier is invalid")
    );
}

#[tokio::test]
async fn refresh_rotates_and_kills_the_previous_tokens() {
    let oc = start_default().await;
    let first = connect(&oc, "email,account").await;
    let old_access = access_token(&first);
    let old_refresh = first["refresh_token"].as_str().unwrap();
    let response = refresh(&oc, old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["scope"], "email account");
    assert!(
        me(&oc, old_access).await.is_null(),
        "the old access token is anonymous"
    );
    assert_eq!(me(&oc, access_token(&second)).await["slug"], "ada");
    assert_eq!(
        token_error(refresh(&oc, old_refresh).await).await,
        pair("invalid_grant", "Invalid refresh token")
    );

    let narrower = with(
        refresh_form(&oc, second["refresh_token"].as_str().unwrap()),
        &[("scope", "account")],
    );
    let narrower = token_request(&oc, &narrower).await;
    let third: Value = narrower.json().await.unwrap();
    assert_eq!(third["scope"], "account");
    let wider = with(
        refresh_form(&oc, third["refresh_token"].as_str().unwrap()),
        &[("scope", "account email")],
    );
    let wider = token_request(&oc, &wider).await;
    assert_eq!(token_error(wider).await.0, "invalid_scope");
    let stats = oc.stats();
    assert_eq!(stats.successful_refreshes, 2);
    assert_eq!(stats.tokens_replaced, 2);
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let oc = start(OpenCollectiveConfig {
        refresh_token_lifetime: Duration::ZERO,
        ..Default::default()
    })
    .await;
    let tokens = connect(&oc, "").await;
    assert_eq!(
        token_error(refresh(&oc, tokens["refresh_token"].as_str().unwrap()).await).await,
        pair("invalid_grant", "Invalid grant: refresh token has expired")
    );
}

#[tokio::test]
async fn a_second_link_silently_revokes_the_first_devices_token() {
    let oc = start_default().await;
    let first_device = connect(&oc, "account").await;
    let first_access = access_token(&first_device);
    assert_eq!(me(&oc, first_access).await["slug"], "ada");
    let second_device = connect(&oc, "account").await;
    let response = graphql(&oc, Auth::Bearer(first_access), ME, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK, "not a 401");
    let body: Value = response.json().await.unwrap();
    assert!(body["data"]["me"].is_null());
    assert_eq!(
        token_error(refresh(&oc, first_device["refresh_token"].as_str().unwrap()).await).await,
        pair("invalid_grant", "Invalid refresh token")
    );
    assert_eq!(me(&oc, access_token(&second_device)).await["slug"], "ada");
}

#[tokio::test]
async fn email_needs_the_email_scope() {
    let oc = start_default().await;
    let without = connect(&oc, "account").await;
    let profile = me(&oc, access_token(&without)).await;
    assert!(profile["email"].is_null());
    assert_eq!(profile["type"], "INDIVIDUAL");
    assert_eq!(
        profile["imageUrl"],
        "https://images.opencollective.com/ada/avatar/90.png"
    );
    assert!(profile["createdAt"].as_str().unwrap().ends_with(".000Z"));

    let with = connect(&oc, "email,account").await;
    let profile = me(&oc, access_token(&with)).await;
    assert_eq!(profile["email"], SEEDED_EMAIL);
    let logged_in = graphql_ok(
        &oc,
        Auth::Bearer(access_token(&with)),
        "{ loggedInAccount { slug email } }",
        json!({}),
    )
    .await;
    assert_eq!(logged_in["data"]["loggedInAccount"]["email"], SEEDED_EMAIL);
}

#[tokio::test]
async fn personal_tokens_and_unknown_tokens() {
    let oc = start_default().await;
    let body = graphql_ok(&oc, Auth::PersonalToken(oc.personal_token()), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["slug"], "ada");
    assert_eq!(body["data"]["me"]["email"], SEEDED_EMAIL);
    for auth in [
        Auth::PersonalToken("not-a-token"),
        Auth::Bearer("not.a.jwt"),
        Auth::Bearer("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"),
    ] {
        let body = graphql_ok(&oc, auth, ME, json!({})).await;
        assert!(body["data"]["me"].is_null());
    }
    assert_eq!(oc.stats().graphql_unrecognized_tokens, 3);
}

#[tokio::test]
async fn an_expired_personal_token_is_a_401() {
    let oc = start_default().await;
    oc.expire_personal_token();
    let response = graphql(&oc, Auth::PersonalToken(oc.personal_token()), ME, json!({})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Expired Personal Token (Api Key)");
    // Unknown personal tokens stay anonymous.
    let body = graphql_ok(&oc, Auth::PersonalToken("not-a-token"), ME, json!({})).await;
    assert!(body["data"]["me"].is_null());
}

#[tokio::test]
async fn collections_paginate_with_opencollectives_defaults() {
    let oc = start_default().await;
    let token = access_token(&connect(&oc, "account").await).to_string();
    let transactions = "query T($limit: Int, $offset: Int) { me { transactions(limit: $limit, offset: $offset) { offset limit totalCount nodes { id legacyId kind type createdAt description amount { valueInCents currency } netAmount { valueInCents currency } account { slug name } oppositeAccount { slug name } } } } }";
    let first = graphql_ok(
        &oc,
        Auth::Bearer(&token),
        "{ me { transactions { offset limit totalCount nodes { createdAt } } } }",
        json!({}),
    )
    .await;
    let page = &first["data"]["me"]["transactions"];
    assert_eq!(page["limit"], 100);
    assert_eq!(page["totalCount"], 250);
    let dates: Vec<&str> = page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 100);
    assert!(
        dates.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );

    let last = graphql_ok(
        &oc,
        Auth::Bearer(&token),
        transactions,
        json!({"limit": 100, "offset": 200}),
    )
    .await;
    let page = &last["data"]["me"]["transactions"];
    assert_eq!(page["offset"], 200);
    assert_eq!(page["nodes"].as_array().unwrap().len(), 50);
    assert_eq!(page["nodes"][0]["account"]["slug"], "ada");
    assert_eq!(page["nodes"][0]["amount"]["currency"], "USD");

    let too_many = graphql_ok(
        &oc,
        Auth::Bearer(&token),
        transactions,
        json!({"limit": 1001}),
    )
    .await;
    assert!(too_many["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("1000"));

    let members = graphql_ok(&oc, Auth::Bearer(&token), "{ me { memberOf { limit totalCount nodes { role isActive since totalDonations { valueInCents } account { slug type } } } } }", json!({})).await;
    let members = &members["data"]["me"]["memberOf"];
    assert_eq!(members["limit"], 150);
    assert_eq!(members["totalCount"], 4);
    assert!(members["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["role"] == "ADMIN"));

    let expenses = "query E($slug: String!) { expenses(fromAccount: {slug: $slug}) { offset limit totalCount nodes { id legacyId description status type createdAt amountV2 { valueInCents currency } account { slug name } } } }";
    let mine = graphql_ok(&oc, Auth::Anonymous, expenses, json!({"slug": "ada"})).await;
    let mine = &mine["data"]["expenses"];
    assert_eq!(mine["limit"], 10);
    assert_eq!(mine["totalCount"], 30);
    assert_eq!(mine["nodes"].as_array().unwrap().len(), 10);
    let unknown = graphql_ok(&oc, Auth::Anonymous, expenses, json!({"slug": "nobody"})).await;
    assert_eq!(unknown["errors"][0]["message"], "Account Not Found");
}

#[tokio::test]
async fn an_expired_jwt_is_a_401_and_refresh_still_works() {
    let oc = start_default().await;
    let tokens = connect(&oc, "account").await;
    oc.expire_access_tokens();
    let response = graphql(&oc, Auth::Bearer(access_token(&tokens)), ME, json!({})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "jwt_expired");
    assert_eq!(body["error"]["message"], "jwt expired");
    let renewed: Value = refresh(&oc, tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me(&oc, access_token(&renewed)).await["slug"], "ada");
    assert_eq!(oc.stats().graphql_expired_tokens, 1);
}

#[tokio::test]
async fn rate_budgets_answer_429_with_the_documented_body() {
    let oc = start_default().await;
    for _ in 0..10 {
        assert_eq!(
            graphql(&oc, Auth::Anonymous, "{ me { id } }", json!({}))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let refused = graphql(&oc, Auth::Anonymous, "{ me { id } }", json!({})).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": "Rate limit exceeded. Create a Personal Token to get higher limits."}})
    );

    let token = access_token(&connect(&oc, "account").await).to_string();
    for _ in 0..100 {
        assert_eq!(
            graphql(&oc, Auth::Bearer(&token), "{ me { id } }", json!({}))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let refused = graphql(&oc, Auth::Bearer(&token), "{ me { id } }", json!({})).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(oc.stats().graphql_rate_limited, 2);
}

#[tokio::test]
async fn older_token_response_shapes_can_be_served() {
    let oc = start(OpenCollectiveConfig {
        token_response_shape: TokenResponseShape::AccessTokenOnly,
        ..Default::default()
    })
    .await;
    let body = connect(&oc, "account").await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["access_token"]);

    let oc = start(OpenCollectiveConfig {
        token_response_shape: TokenResponseShape::WithoutRefreshToken,
        ..Default::default()
    })
    .await;
    let body = connect(&oc, "account").await;
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["expires_in"], 7_776_000);
    assert_eq!(
        token_error(refresh(&oc, "oauth_refresh__anything").await).await,
        pair(
            "unauthorized_client",
            "Unauthorized client: `grant_type` is invalid"
        )
    );
}

#[tokio::test]
async fn a_loopback_callback_is_normalized_and_compared_exactly() {
    let oc = start(OpenCollectiveConfig {
        callback_url: "http://127.0.0.1:53682".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(oc.registered_callback_url(), "http://127.0.0.1:53682/");
    let back = ada_answers(
        authorize_url(&oc, &[("redirect_uri", "http://127.0.0.1:53682/")]),
        Answer::Authorize,
    )
    .await
    .unwrap();
    assert!(back.starts_with("http://127.0.0.1:53682/?code="));
    let refused = ada_answers(
        authorize_url(&oc, &[("redirect_uri", "http://127.0.0.1:53682")]),
        Answer::Authorize,
    )
    .await;
    assert!(refused.unwrap_err().contains("invalid_client"));
    assert!(opencollective::start(
        OpenCollectiveConfig {
            callback_url: "not a url".into(),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap()
    )
    .await
    .is_err());
}

#[tokio::test]
async fn the_developer_can_register_another_callback_url() {
    let oc = start(OpenCollectiveConfig::default()).await;
    oc.set_callback_url("http://127.0.0.1:53682/callback")
        .unwrap();
    assert_eq!(
        oc.registered_callback_url(),
        "http://127.0.0.1:53682/callback"
    );
    let back = ada_answers(
        authorize_url(&oc, &[("redirect_uri", "http://127.0.0.1:53682/callback")]),
        Answer::Authorize,
    )
    .await
    .unwrap();
    assert!(back.starts_with("http://127.0.0.1:53682/callback?code="));
    let old = ada_answers(
        authorize_url(&oc, &[("redirect_uri", DEFAULT_CALLBACK)]),
        Answer::Authorize,
    )
    .await;
    assert!(old.unwrap_err().contains("invalid_client"));
    assert!(oc.set_callback_url("not a url").is_err());
    assert_eq!(
        oc.registered_callback_url(),
        "http://127.0.0.1:53682/callback"
    );
}

#[tokio::test]
async fn grants_survive_a_restart_through_the_state_file_which_holds_no_token() {
    let state_file = common::fresh_state_file("oc-restart");
    let config = OpenCollectiveConfig {
        state_file: Some(state_file.clone()),
        ..Default::default()
    };
    let first = start(config.clone()).await;
    let tokens = connect(&first, "email,account").await;
    first.shutdown().await;
    let access = access_token(&tokens);
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let inner_access_token = jwt_claims(access)["access_token"].clone();
    let saved = std::fs::read_to_string(&state_file).unwrap();
    assert!(!saved.contains(inner_access_token.as_str().unwrap()));
    assert!(!saved.contains(refresh_token));

    let second = start(config.clone()).await;
    assert_eq!(
        me(&second, access).await["email"],
        SEEDED_EMAIL,
        "the access token outlived the restart"
    );
    // So did the authorization: the authorize page approves at once.
    let browser = client();
    sign_in(&browser, &second, "ada").await;
    let response = browser
        .get(authorize_url(&second, &[]))
        .send()
        .await
        .unwrap();
    assert!(location(&response).starts_with("datalinks://oauth/callback?code="));
    let refreshed = refresh(&second, refresh_token).await;
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "so did the refresh token"
    );
    let rotated: Value = refreshed.json().await.unwrap();
    assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
    assert_eq!(
        token_error(refresh(&second, refresh_token).await).await,
        pair("invalid_grant", "Invalid refresh token")
    );
    second.shutdown().await;

    // The rotation was saved too.
    let third = start(config).await;
    assert!(me(&third, access).await.is_null());
    assert_eq!(me(&third, access_token(&rotated)).await["slug"], "ada");
    third.shutdown().await;
    std::fs::remove_file(&state_file).unwrap();
}

#[tokio::test]
async fn a_state_file_of_another_seed_or_unreadable_is_ignored() {
    let state_file = common::fresh_state_file("oc-other-seed");
    let config = OpenCollectiveConfig {
        state_file: Some(state_file.clone()),
        ..Default::default()
    };
    let first = start(config.clone()).await;
    let tokens = connect(&first, "account").await;
    first.shutdown().await;

    let other = start(OpenCollectiveConfig {
        seed: 2,
        ..config.clone()
    })
    .await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        token_error(refresh(&other, refresh_token).await).await,
        pair("invalid_grant", "Invalid refresh token")
    );
    other.shutdown().await;

    std::fs::write(&state_file, "not JSON").unwrap();
    let fresh = start(config).await;
    assert!(me(&fresh, access_token(&tokens)).await.is_null());
    connect(&fresh, "account").await;
    fresh.shutdown().await;
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap())
        .expect("the unreadable file was replaced");
    assert_eq!(saved["seed"], 1);
    std::fs::remove_file(&state_file).unwrap();
}

/// The session token a sign-in leaves in the browser (the frontend's stand-in for its storage).
async fn session_token(oc: &RunningOpenCollective) -> String {
    let signed_in = sign_in(&client(), oc, "ada").await;
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let (_, rest) = cookie.split_once('=').unwrap();
    rest.split(';').next().unwrap().to_string()
}

/// The API's `POST /oauth/authorize`, as the consent page's script calls it: the parameters in
/// the query string, the session token (if any) as Bearer.
async fn api_authorize(
    oc: &RunningOpenCollective,
    session: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let request = client().post(authorize_url(oc, params));
    let request = match session {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_authorize_api_needs_the_users_session_token() {
    // The library's UnauthorizedRequestError: 401, an empty body, `Bearer realm="service"`.
    let oc = start_default().await;
    let tokens = connect(&oc, "email").await;
    for bearer in [None, Some("not-a-jwt"), Some(access_token(&tokens))] {
        let response = api_authorize(&oc, bearer, &[("scope", "email")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bearer:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="service""#
        );
        assert_eq!(response.text().await.unwrap(), "", "{bearer:?}");
    }
    // The client is checked before the user.
    let mut unknown = oc.authorize_url();
    unknown
        .query_pairs_mut()
        .append_pair("client_id", "0123456789abcdef0123");
    let response = client().post(unknown).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "Invalid client"})
    );
}

#[tokio::test]
async fn the_authorize_api_answers_json_with_the_redirect_uri() {
    let oc = start_default().await;
    let session = session_token(&oc).await;
    let params = [
        ("scope", "email account"),
        ("state", "s 1"),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ];
    let response = api_authorize(&oc, Some(&session), &params).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let redirect_uri = body["redirect_uri"].as_str().unwrap();
    assert!(
        redirect_uri.starts_with("datalinks://oauth/callback?code="),
        "{redirect_uri}"
    );
    assert!(redirect_uri.ends_with("&state=s%201"), "{redirect_uri}");
    let code = query_of(redirect_uri)["code"].clone();
    let form = with(code_form(&oc, &code), &[("code_verifier", VERIFIER)]);
    let tokens: Value = token_request(&oc, &form).await.json().await.unwrap();
    assert_eq!(
        tokens["scope"], "email account",
        "whitespace separates scopes"
    );

    let denied = api_authorize(
        &oc,
        Some(&session),
        &[("allowed", "false"), ("state", "xyz")],
    )
    .await;
    assert_eq!(denied.status(), StatusCode::OK);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(
        body["redirect_uri"],
        "datalinks://oauth/callback?error=access_denied&error_description=Access%20denied%3A%20user%20denied%20access%20to%20application&state=xyz"
    );
}

#[tokio::test]
async fn the_authorize_api_splits_scopes_on_whitespace_only() {
    // `email,account` is one name the database's scope column refuses: a 503 server_error.
    let oc = start_default().await;
    let session = session_token(&oc).await;
    let response = api_authorize(&oc, Some(&session), &[("scope", "email,account")]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "server_error");
    assert_eq!(oc.stats().codes_issued, 0);
}

#[tokio::test]
async fn an_older_consent_page_joining_scopes_with_commas_fails_on_several_but_not_one() {
    let oc = start(OpenCollectiveConfig {
        consent_page_joins_scopes_with_commas: true,
        ..OpenCollectiveConfig::default()
    })
    .await;
    let several = ada_answers(
        authorize_url(&oc, &[("scope", "email account")]),
        Answer::Authorize,
    )
    .await
    .unwrap_err();
    assert!(several.contains("server_error"), "{several}");
    let one = ada_answers(authorize_url(&oc, &[("scope", "email")]), Answer::Authorize)
        .await
        .unwrap();
    assert!(query_of(&one).contains_key("code"), "{one}");
}

/// `POST /_sandbox/<knob>` with the admin key; the `expired` count it answers.
async fn knob(oc: &RunningOpenCollective, name: &str) -> u64 {
    let response = client()
        .post(oc.base_url().join(&format!("/_sandbox/{name}")).unwrap())
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, oc.admin_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{name}");
    response.json::<Value>().await.unwrap()["expired"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn http_knobs_expire_codes_tokens_jwts_and_refresh_tokens() {
    let oc = start_default().await;
    let without_key = client()
        .post(oc.base_url().join("/_sandbox/expire-codes").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(without_key.status(), StatusCode::UNAUTHORIZED);

    let code = authorization_code(&oc, &[]).await;
    assert_eq!(knob(&oc, "expire-codes").await, 1);
    assert_eq!(
        token_error(exchange(&oc, &code).await).await,
        pair(
            "invalid_grant",
            "Invalid grant: authorization code has expired"
        )
    );

    let tokens = connect(&oc, "email").await;
    assert_eq!(knob(&oc, "expire-tokens").await, 1);
    let body = graphql_ok(&oc, Auth::Bearer(access_token(&tokens)), ME, json!({})).await;
    assert_eq!(
        body["data"]["me"],
        Value::Null,
        "an expired stored token is anonymous"
    );

    let tokens = connect(&oc, "email").await;
    assert!(knob(&oc, "expire-jwts").await >= 1);
    let response = graphql(&oc, Auth::Bearer(access_token(&tokens)), ME, json!({})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(knob(&oc, "expire-refresh-tokens").await, 1);
    assert_eq!(
        token_error(refresh(&oc, tokens["refresh_token"].as_str().unwrap()).await).await,
        pair("invalid_grant", "Invalid grant: refresh token has expired")
    );

    knob(&oc, "expire-personal-token").await;
    let response = graphql(&oc, Auth::PersonalToken(oc.personal_token()), ME, json!({})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let stats: Value = client()
        .get(oc.base_url().join("/_sandbox/stats").unwrap())
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, oc.admin_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["codes_issued"], 3);
}
