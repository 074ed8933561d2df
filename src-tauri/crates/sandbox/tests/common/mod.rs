//! Helpers shared by the integration tests: a cookie-keeping client that never follows redirects,
//! a tiny HTML form reader, shortcuts through the authorize flow, and token, revocation and API
//! requests.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;

use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use reqwest::{redirect, Client, IntoUrl, Response, StatusCode};
use serde_json::Value;
use url::Url;

pub const LOOPBACK_CALLBACK: &str = "http://127.0.0.1:53682/callback";

pub async fn start(config: SandboxConfig) -> RunningSandbox {
    datalinks_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

pub async fn start_default() -> RunningSandbox {
    start(SandboxConfig::default()).await
}

/// A browser: keeps cookies, shows every redirect to the test instead of following it.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn plain_client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// Checks for a 302 and returns where it points.
pub fn found_location(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND);
    location(response)
}

pub async fn page_text(browser: &Client, url: Url) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

pub fn query_map(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn authorize_url(sandbox: &RunningSandbox, params: &[(&str, &str)]) -> Url {
    let mut url = sandbox.authorize_url();
    url.query_pairs_mut()
        .append_pair("client_id", sandbox.client_id())
        .append_pair("response_type", "code");
    for (name, value) in params {
        url.query_pairs_mut().append_pair(name, value);
    }
    url
}

pub async fn logged_in_browser(sandbox: &RunningSandbox) -> Client {
    let browser = browser();
    log_in(sandbox, &browser).await;
    browser
}

pub async fn log_in(sandbox: &RunningSandbox, browser: &Client) {
    let response = browser
        .post(sandbox.base_url().join("/account/login/").unwrap())
        .form(&[
            ("username", "alice"),
            ("password", "sandbox"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "login accepted");
}

pub use datalinks_sandbox::person::HtmlForm as Form;

/// Reads the first `<form>` of a page.
pub fn parse_form(html: &str) -> Form {
    Form::parse(html).expect("a form")
}

/// Logged-in browser opens the authorize URL, reads the consent form and presses `button`
/// ("Authorize project" or "Cancel"). Returns the response to the form submission.
pub async fn consent(
    sandbox: &RunningSandbox,
    browser: &Client,
    params: &[(&str, &str)],
    button: &str,
) -> Response {
    let page = open_authorize(sandbox, browser, params).await;
    assert_eq!(page.status(), StatusCode::OK, "consent page shown");
    let form = parse_form(&page.text().await.unwrap());
    submit(sandbox, browser, &form, &form.submission(Some(button))).await
}

/// The browser opens the authorize URL with `params`.
pub async fn open_authorize(
    sandbox: &RunningSandbox,
    browser: &Client,
    params: &[(&str, &str)],
) -> Response {
    browser
        .get(authorize_url(sandbox, params))
        .send()
        .await
        .unwrap()
}

/// The browser posts `fields` to the form's action.
pub async fn submit(
    sandbox: &RunningSandbox,
    browser: &Client,
    form: &Form,
    fields: &[(String, String)],
) -> Response {
    browser
        .post(sandbox.base_url().join(&form.action).unwrap())
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// The code from a successful authorization with `params`: through the consent page, or straight
/// back when a live token makes the server auto-approve.
pub async fn authorization_code(sandbox: &RunningSandbox, params: &[(&str, &str)]) -> String {
    let browser = logged_in_browser(sandbox).await;
    let page = open_authorize(sandbox, &browser, params).await;
    let response = if page.status() == StatusCode::FOUND {
        page
    } else {
        let form = parse_form(&page.text().await.unwrap());
        let fields = form.submission(Some("Authorize project"));
        submit(sandbox, &browser, &form, &fields).await
    };
    query_map(&found_location(&response))["code"].clone()
}

/// Posts `form` to `url` with the client's credentials in HTTP Basic.
pub async fn post_as_client(sandbox: &RunningSandbox, url: Url, form: &[(&str, &str)]) -> Response {
    plain_client()
        .post(url)
        .basic_auth(sandbox.client_id(), Some(sandbox.client_secret()))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn token_request(sandbox: &RunningSandbox, form: &[(&str, &str)]) -> Response {
    post_as_client(sandbox, sandbox.token_url(), form).await
}

pub async fn revocation_request(sandbox: &RunningSandbox, form: &[(&str, &str)]) -> Response {
    post_as_client(sandbox, sandbox.revoke_url(), form).await
}

/// The token request form that exchanges a code issued for the loopback redirect URI.
pub fn code_exchange_form(code: &str) -> [(&'static str, &str); 3] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", LOOPBACK_CALLBACK),
    ]
}

pub async fn refresh_request(sandbox: &RunningSandbox, refresh_token: &str) -> Response {
    token_request(
        sandbox,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub async fn json(response: Response) -> Value {
    response.json().await.unwrap()
}

/// Checks for a 400 and returns its JSON body.
pub async fn bad_request(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    json(response).await
}

pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

/// Authorize with the loopback redirect URI and exchange the code.
pub async fn connect(sandbox: &RunningSandbox) -> Tokens {
    let code = authorization_code(sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let response = token_request(sandbox, &code_exchange_form(&code)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    Tokens {
        access_token: body["access_token"].as_str().unwrap().to_string(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_string(),
    }
}

pub fn exchange_member_url(sandbox: &RunningSandbox) -> Url {
    sandbox
        .base_url()
        .join(datalinks_sandbox::EXCHANGE_MEMBER_PATH)
        .unwrap()
}

/// GET with the access token in the Authorization header.
pub async fn get_with_token(url: impl IntoUrl, access_token: &str) -> Response {
    plain_client()
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

pub async fn get_json_with_token(url: impl IntoUrl, access_token: &str) -> Value {
    json(get_with_token(url, access_token).await).await
}

pub fn project_url(sandbox: &RunningSandbox) -> Url {
    sandbox
        .base_url()
        .join("/api/direct-sharing/project/")
        .unwrap()
}

/// Checks the API's 401 answer (DRF's `WWW-Authenticate` and Django's `never_cache`) and returns
/// its body.
/// Django's `never_cache` as Open Humans sends it on every API answer.
pub const NEVER_CACHE: &str = "max-age=0, no-cache, no-store, must-revalidate, private";
/// DOT's challenge when no token was looked up.
pub const REALM_ONLY: &str = "Bearer realm=\"api\"";
/// DOT's challenge for a bearer token it looked up and refused.
pub const INVALID_TOKEN: &str = "Bearer realm=\"api\",error=\"invalid_token\",error_description=\"The access token is invalid.\"";

/// The body of a 401, after checking its never-cache header and DOT's challenge.
pub async fn unauthorized(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        [REALM_ONLY, INVALID_TOKEN].contains(&challenge),
        "{challenge}"
    );
    assert_eq!(response.headers()["cache-control"], NEVER_CACHE);
    json(response).await
}

pub fn api_url(sandbox: &RunningSandbox, path: &str) -> Url {
    sandbox.base_url().join(path).unwrap()
}

/// `url` with `?access_token=<token>` added.
pub fn with_token(mut url: Url, token: &str) -> Url {
    url.query_pairs_mut().append_pair("access_token", token);
    url
}

/// POSTs a JSON body with the token in the Authorization header.
pub async fn post_json(url: Url, token: &str, body: &Value) -> Response {
    plain_client()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// POSTs a form body with the token in the Authorization header.
pub async fn post_form(url: Url, token: &str, form: &[(&str, &str)]) -> Response {
    plain_client()
        .post(url)
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The pre-signed storage URL a download link redirects to.
pub async fn storage_url(download_url: &str) -> String {
    found_location(&plain_client().get(download_url).send().await.unwrap())
}

/// Both download hops; the bytes served.
pub async fn download(download_url: &str) -> Vec<u8> {
    let object = plain_client()
        .get(storage_url(download_url).await)
        .send()
        .await
        .unwrap();
    assert_eq!(object.status(), StatusCode::OK);
    object.bytes().await.unwrap().to_vec()
}

/// A path in the temporary folder for a state file of this test process, with none there yet.
pub fn fresh_state_file(name: &str) -> std::path::PathBuf {
    let file = std::env::temp_dir().join(format!(
        "datalinks-sandbox-state-{name}-{}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&file);
    file
}
