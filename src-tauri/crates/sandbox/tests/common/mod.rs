//! Helpers shared by the integration tests: a cookie-keeping client that never follows redirects,
//! a tiny HTML form reader, and shortcuts through the authorize flow.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;

use datalinks_sandbox::{RunningSandbox, SandboxConfig};
use reqwest::{redirect, Client, Response, StatusCode};
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
    let page = browser
        .get(authorize_url(sandbox, params))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "consent page shown");
    let form = parse_form(&page.text().await.unwrap());
    browser
        .post(sandbox.base_url().join(&form.action).unwrap())
        .form(&form.submission(Some(button)))
        .send()
        .await
        .unwrap()
}

/// The code from a successful authorization with `params`: through the consent page, or straight
/// back when a live token makes the server auto-approve.
pub async fn authorization_code(sandbox: &RunningSandbox, params: &[(&str, &str)]) -> String {
    let browser = browser();
    log_in(sandbox, &browser).await;
    let page = browser
        .get(authorize_url(sandbox, params))
        .send()
        .await
        .unwrap();
    let response = if page.status() == StatusCode::FOUND {
        page
    } else {
        let form = parse_form(&page.text().await.unwrap());
        browser
            .post(sandbox.base_url().join(&form.action).unwrap())
            .form(&form.submission(Some("Authorize project")))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(response.status(), StatusCode::FOUND);
    query_map(&location(&response))["code"].clone()
}

pub async fn token_request(sandbox: &RunningSandbox, form: &[(&str, &str)]) -> Response {
    plain_client()
        .post(sandbox.token_url())
        .basic_auth(sandbox.client_id(), Some(sandbox.client_secret()))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn json(response: Response) -> serde_json::Value {
    response.json().await.unwrap()
}

pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

/// Authorize with the loopback redirect URI and exchange the code.
pub async fn connect(sandbox: &RunningSandbox) -> Tokens {
    let code = authorization_code(sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let response = token_request(
        sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", LOOPBACK_CALLBACK),
        ],
    )
    .await;
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
