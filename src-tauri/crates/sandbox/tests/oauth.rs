//! Authorize page, token endpoint and revocation against docs/providers/open-humans.md ("Signing
//! in", "The authorize page", "Tokens", "The token endpoint") and docs/sandbox.md.

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use datalinks_sandbox::{SandboxConfig, ALL_SCOPES};
use reqwest::StatusCode;
use sha2::Digest;

#[tokio::test]
async fn a_browser_logs_in_consents_and_the_code_buys_tokens() {
    let sandbox = start_default().await;
    let browser = browser();
    let start = authorize_url(
        &sandbox,
        &[("redirect_uri", LOOPBACK_CALLBACK), ("state", "xyz 1")],
    );

    // Not logged in: sent to the login page, which shows the sandbox credentials.
    let response = browser.get(start.clone()).send().await.unwrap();
    let login_url = sandbox.base_url().join(&found_location(&response)).unwrap();
    assert_eq!(login_url.path(), "/account/login/");
    let page = page_text(&browser, login_url).await;
    assert!(page.contains("<code>alice</code>") && page.contains("<code>sandbox</code>"));
    let login_form = parse_form(&page);
    let mut fields = login_form.submission(Some("Log in"));
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "username" => *value = "alice".into(),
            "password" => *value = "sandbox".into(),
            _ => {}
        }
    }
    let response = submit(&sandbox, &browser, &login_form, &fields).await;
    let back = sandbox.base_url().join(&found_location(&response)).unwrap();
    assert_eq!(back, start, "login returns to the authorize URL");

    // Logged in: the consent form carries the request in hidden fields.
    let page = page_text(&browser, back).await;
    let form = parse_form(&page);
    assert_eq!(
        form.hidden("client_id").as_deref(),
        Some(sandbox.client_id())
    );
    assert_eq!(
        form.hidden("redirect_uri").as_deref(),
        Some(LOOPBACK_CALLBACK)
    );
    assert_eq!(form.hidden("state").as_deref(), Some("xyz 1"));
    assert_eq!(form.hidden("response_type").as_deref(), Some("code"));
    assert_eq!(form.hidden("scope"), Some(ALL_SCOPES.join(" ")));
    assert!(
        form.hidden("code_challenge").is_some() && form.hidden("code_challenge_method").is_some()
    );
    assert!(form
        .inputs
        .iter()
        .any(|i| i.kind == "checkbox" && i.name.as_deref() == Some("hide-membership")));
    assert!(form
        .inputs
        .iter()
        .any(|i| i.kind == "submit" && i.name.is_none() && i.value == "Cancel"));

    let response = submit(
        &sandbox,
        &browser,
        &form,
        &form.submission(Some("Authorize project")),
    )
    .await;
    // DOT's redirect back is a plain Django redirect: HTML content type, no Cache-Control.
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(response.headers().get("cache-control").is_none());
    let callback = found_location(&response);
    assert!(callback.starts_with("http://127.0.0.1:53682/callback?code="));
    assert!(
        callback.ends_with("&state=xyz+1&origin=external"),
        "{callback}"
    );
    let code = query_map(&callback)["code"].clone();
    assert_eq!(code.len(), 30);

    let response = token_request(&sandbox, &code_exchange_form(&code)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 36000);
    let scopes: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(scopes, ALL_SCOPES);
    for name in ["access_token", "refresh_token"] {
        let token = body[name].as_str().unwrap();
        assert_eq!(token.len(), 30);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    let stats = sandbox.stats();
    assert_eq!(stats.token_requests_authorization_code, 1);
    assert_eq!(stats.codes_exchanged, 1);
    let membership = sandbox.membership("alice").unwrap();
    assert!(membership.authorized && !membership.hidden);
}

#[tokio::test]
async fn hide_membership_checkbox_is_recorded() {
    let sandbox = start_default().await;
    assert!(
        !sandbox.membership("alice").unwrap().authorized,
        "alice joins by consenting"
    );
    let browser = logged_in_browser(&sandbox).await;
    let page = open_authorize(&sandbox, &browser, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let form = parse_form(&page.text().await.unwrap());
    let mut fields = form.submission(Some("Authorize project"));
    fields.push(("hide-membership".into(), "hidden_membership".into()));
    let response = submit(&sandbox, &browser, &form, &fields).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(sandbox.membership("alice").unwrap().hidden);
}

#[tokio::test]
async fn paths_without_trailing_slash_are_redirected() {
    let sandbox = start_default().await;
    let mut url = sandbox.base_url().join("/oauth2/token").unwrap();
    url.set_query(Some("a=1"));
    let response = plain_client().post(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(location(&response), "/oauth2/token/?a=1");
    let unknown = plain_client()
        .get(sandbox.base_url().join("/nothing").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_or_missing_client_id_is_404() {
    let sandbox = start_default().await;
    let client = plain_client();
    let mut unknown = sandbox.authorize_url();
    unknown.set_query(Some("client_id=nope&response_type=code"));
    assert_eq!(
        client.get(unknown).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let mut missing = sandbox.authorize_url();
    missing.set_query(Some("response_type=code"));
    assert_eq!(
        client.get(missing).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn wrong_password_stays_on_the_login_page() {
    let sandbox = start_default().await;
    let browser = browser();
    let response = browser
        .post(sandbox.base_url().join("/account/login/").unwrap())
        .form(&[("username", "alice"), ("password", "wrong"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("not correct"));
    let page = open_authorize(&sandbox, &browser, &[]).await;
    assert_eq!(page.status(), StatusCode::FOUND, "still not logged in");
}

#[tokio::test]
async fn the_expire_codes_knob_makes_an_unexchanged_code_invalid() {
    let sandbox = start_default().await;
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let expired = plain_client()
        .post(sandbox.base_url().join("/_sandbox/expire-codes").unwrap())
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
        .send()
        .await
        .unwrap();
    assert_eq!(json(expired).await["expired"], 1);
    let refused = token_request(&sandbox, &code_exchange_form(&code)).await;
    assert_eq!(bad_request(refused).await["error"], "invalid_grant");
}

#[tokio::test]
async fn login_follows_next_on_this_host_only() {
    // Django's `url_has_allowed_host_and_scheme` with the request's own host: an absolute URL on
    // it is followed, another host (or a scheme, or a `//` or backslash trick) goes home.
    let sandbox = start_default().await;
    let own = sandbox
        .base_url()
        .join("/direct-sharing/projects/")
        .unwrap();
    let host = format!("{}:{}", own.host_str().unwrap(), own.port().unwrap());
    let cases = [
        (own.to_string(), own.to_string()),
        ("/account/".to_string(), "/account/".to_string()),
        (format!("https://{host}/x"), format!("https://{host}/x")),
        ("http://evil.example/".to_string(), "/".to_string()),
        (format!("http://{host}.evil.example/"), "/".to_string()),
        ("//evil.example/".to_string(), "/".to_string()),
        ("/\\evil.example/".to_string(), "/".to_string()),
        ("///evil.example/".to_string(), "/".to_string()),
        (format!("javascript://{host}/%0Aalert(1)"), "/".to_string()),
    ];
    for (next, expected) in cases {
        let response = browser()
            .post(sandbox.base_url().join("/account/login/").unwrap())
            .form(&[
                ("username", "alice"),
                ("password", "sandbox"),
                ("next", &next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(found_location(&response), expected, "next={next}");
    }
}

async fn authorize_status(
    sandbox: &datalinks_sandbox::RunningSandbox,
    redirect_uri: &str,
) -> (StatusCode, String) {
    let browser = logged_in_browser(sandbox).await;
    let response = open_authorize(sandbox, &browser, &[("redirect_uri", redirect_uri)]).await;
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn redirect_uri_rules_follow_dot() {
    let sandbox = start_default().await;
    // RFC 8252: the loopback URI registered without a port accepts any port...
    for accepted in [
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:65000/callback",
        "http://127.0.0.1/callback",
    ] {
        assert_eq!(
            authorize_status(&sandbox, accepted).await.0,
            StatusCode::OK,
            "{accepted}"
        );
    }
    // ...but not another path, another scheme, or localhost; a mismatch is a page, not a redirect.
    for refused in [
        "http://localhost:53682/callback",
        "http://localhost/callback",
        "http://127.0.0.1:53682/other",
        "https://127.0.0.1:53682/callback",
        "http://127.0.0.2/callback",
    ] {
        let (status, page) = authorize_status(&sandbox, refused).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(page.contains("Mismatching redirect URI."), "{refused}");
    }
    let (status, page) = authorize_status(&sandbox, "/callback").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Invalid redirect URI."));
}

#[tokio::test]
async fn custom_scheme_is_refused_unless_allowed() {
    let deep_link = "datalinks://oauth/callback";
    let sandbox = start_default().await;
    let browser = logged_in_browser(&sandbox).await;
    let response = consent(
        &sandbox,
        &browser,
        &[("redirect_uri", deep_link)],
        "Authorize project",
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "DisallowedRedirect"
    );
    assert!(response.headers().get("location").is_none());

    let allowed = start(SandboxConfig {
        extra_redirect_schemes: vec!["datalinks".into()],
        ..SandboxConfig::default()
    })
    .await;
    let browser = logged_in_browser(&allowed).await;
    let response = consent(
        &allowed,
        &browser,
        &[("redirect_uri", deep_link), ("state", "s")],
        "Authorize project",
    )
    .await;
    let target = found_location(&response);
    assert!(target.starts_with("datalinks://oauth/callback?code="));
    assert!(target.ends_with("&state=s&origin=external"));
}

#[tokio::test]
async fn cancel_redirects_access_denied_without_origin() {
    let sandbox = start_default().await;
    let browser = logged_in_browser(&sandbox).await;
    let response = consent(
        &sandbox,
        &browser,
        &[("redirect_uri", LOOPBACK_CALLBACK), ("state", "st")],
        "Cancel",
    )
    .await;
    assert_eq!(
        found_location(&response),
        format!("{LOOPBACK_CALLBACK}?error=access_denied&state=st")
    );
}

#[tokio::test]
async fn unknown_scope_redirects_invalid_scope() {
    let sandbox = start_default().await;
    let browser = logged_in_browser(&sandbox).await;
    let response = open_authorize(
        &sandbox,
        &browser,
        &[
            ("redirect_uri", LOOPBACK_CALLBACK),
            ("scope", "read admin"),
            ("state", "q"),
        ],
    )
    .await;
    assert_eq!(
        found_location(&response),
        format!("{LOOPBACK_CALLBACK}?error=invalid_scope&state=q")
    );
}

/// DOT has a default redirect URI only for an app that registers exactly one (its
/// `default_redirect_uri` raises `MissingRedirectURIError` otherwise), and Open Humans' apps, like
/// the sandbox's, register more: leaving `redirect_uri` out is "Missing redirect URI.", on the
/// authorize page and at the token endpoint.
#[tokio::test]
async fn an_omitted_redirect_uri_is_missing_for_an_app_that_registers_several() {
    let sandbox = start_default().await;
    assert!(sandbox.registered_redirect_uris().len() > 1);
    let browser = logged_in_browser(&sandbox).await;
    let page = open_authorize(&sandbox, &browser, &[("scope", "read")]).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("Missing redirect URI."));

    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let body = bad_request(
        token_request(
            &sandbox,
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await,
    )
    .await;
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "Missing redirect URI."})
    );
}

#[tokio::test]
async fn live_token_auto_approves_unless_forced() {
    let sandbox = start_default().await;
    let browser = logged_in_browser(&sandbox).await;
    let response = consent(
        &sandbox,
        &browser,
        &[("redirect_uri", LOOPBACK_CALLBACK)],
        "Authorize project",
    )
    .await;
    let code = query_map(&found_location(&response))["code"].clone();
    let response = token_request(&sandbox, &code_exchange_form(&code)).await;
    assert_eq!(response.status(), StatusCode::OK);

    let again = open_authorize(
        &sandbox,
        &browser,
        &[("redirect_uri", LOOPBACK_CALLBACK), ("scope", "read")],
    )
    .await;
    assert_eq!(
        again.status(),
        StatusCode::FOUND,
        "no page with a live token"
    );
    assert!(location(&again).ends_with("&origin=external"));
    let forced = open_authorize(
        &sandbox,
        &browser,
        &[
            ("redirect_uri", LOOPBACK_CALLBACK),
            ("approval_prompt", "force"),
        ],
    )
    .await;
    assert_eq!(forced.status(), StatusCode::OK);

    sandbox.expire_access_tokens();
    let expired = open_authorize(&sandbox, &browser, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    assert_eq!(
        expired.status(),
        StatusCode::OK,
        "expired tokens do not auto-approve"
    );
}

#[tokio::test]
async fn codes_are_single_use_and_expire() {
    let sandbox = start_default().await;
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let form = code_exchange_form(&code);
    assert_eq!(
        token_request(&sandbox, &form).await.status(),
        StatusCode::OK
    );
    let body = bad_request(token_request(&sandbox, &form).await).await;
    assert_eq!(body, serde_json::json!({"error": "invalid_grant"}));

    sandbox.set_code_lifetime(Duration::ZERO);
    let stale = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let form = code_exchange_form(&stale);
    let body = bad_request(token_request(&sandbox, &form).await).await;
    assert_eq!(body, serde_json::json!({"error": "invalid_grant"}));
}

#[tokio::test]
async fn client_authentication() {
    let sandbox = start_default().await;
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let form = code_exchange_form(&code);
    let client = plain_client();

    let wrong = client
        .post(sandbox.token_url())
        .basic_auth(sandbox.client_id(), Some("not-the-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        "Bearer error=\"invalid_client\""
    );
    assert_eq!(
        json(wrong).await,
        serde_json::json!({"error": "invalid_client"})
    );

    let unknown = client
        .post(sandbox.token_url())
        .form(
            &[
                form.as_slice(),
                &[("client_id", "unknown"), ("client_secret", "x")],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    // Credentials in the body work when Basic is absent.
    let body_auth = client
        .post(sandbox.token_url())
        .form(
            &[
                form.as_slice(),
                &[
                    ("client_id", sandbox.client_id()),
                    ("client_secret", sandbox.client_secret()),
                ],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(body_auth.status(), StatusCode::OK);

    // Basic credentials are unquote_plus'ed: percent-encoding them changes nothing.
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let encoded_id: String = sandbox
        .client_id()
        .chars()
        .map(|c| format!("%{:02X}", c as u32))
        .collect();
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{encoded_id}:{}", sandbox.client_secret()));
    let basic = client
        .post(sandbox.token_url())
        .header("authorization", format!("Basic {credentials}"))
        .form(&code_exchange_form(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_request_encoding_rules() {
    let sandbox = start_default().await;
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let client = plain_client();
    let form = code_exchange_form(&code);

    let mut with_query = sandbox.token_url();
    with_query.set_query(Some("grant_type=authorization_code"));
    let body = bad_request(post_as_client(&sandbox, with_query, &form).await).await;
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "URL query parameters are not allowed"})
    );

    // A JSON body is not read at all: no grant_type.
    let body = bad_request(
        client
            .post(sandbox.token_url())
            .basic_auth(sandbox.client_id(), Some(sandbox.client_secret()))
            .json(&serde_json::json!({"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK_CALLBACK}))
            .send()
            .await
            .unwrap(),
    ).await;
    assert_eq!(body, serde_json::json!({"error": "unsupported_grant_type"}));

    let body = bad_request(token_request(&sandbox, &[("grant_type", "password")]).await).await;
    assert_eq!(body, serde_json::json!({"error": "unsupported_grant_type"}));
    let body =
        bad_request(token_request(&sandbox, &[("grant_type", "authorization_code")]).await).await;
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "Missing code parameter."})
    );
    let body = bad_request(
        token_request(
            &sandbox,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:1/callback"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "Mismatching redirect URI."})
    );
    // None of these consumed the code.
    assert_eq!(
        token_request(&sandbox, &form).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn pkce_verifier_is_checked() {
    let sandbox = start_default().await;
    let verifier = "a-verifier-of-enough-length-0123456789-abcdefghij";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    let code = authorization_code(
        &sandbox,
        &[
            ("redirect_uri", LOOPBACK_CALLBACK),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let base = code_exchange_form(&code);

    let body = bad_request(token_request(&sandbox, &base).await).await;
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "Code verifier required."})
    );
    let body = bad_request(
        token_request(
            &sandbox,
            &[base.as_slice(), &[("code_verifier", "wrong")]].concat(),
        )
        .await,
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    let right = token_request(
        &sandbox,
        &[base.as_slice(), &[("code_verifier", verifier)]].concat(),
    )
    .await;
    assert_eq!(right.status(), StatusCode::OK);

    // Without a method the challenge is compared as plain text.
    let code = authorization_code(
        &sandbox,
        &[
            ("redirect_uri", LOOPBACK_CALLBACK),
            ("code_challenge", verifier),
        ],
    )
    .await;
    let form = [
        code_exchange_form(&code).as_slice(),
        &[("code_verifier", verifier)],
    ]
    .concat();
    assert_eq!(
        token_request(&sandbox, &form).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_rotates_both_tokens() {
    let sandbox = start_default().await;
    let first = connect(&sandbox).await;
    let response = refresh_request(&sandbox, &first.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    let new_access = body["access_token"].as_str().unwrap().to_string();
    assert_ne!(new_access, first.access_token);
    assert_ne!(body["refresh_token"], first.refresh_token.as_str());
    assert_eq!(body["scope"], ALL_SCOPES.join(" "));

    let body = bad_request(refresh_request(&sandbox, &first.refresh_token).await).await;
    assert_eq!(body, serde_json::json!({"error": "invalid_grant"}));

    let old = get_with_token(exchange_member_url(&sandbox), &first.access_token).await;
    assert_eq!(
        unauthorized(old).await,
        serde_json::json!({"detail": "Invalid token."})
    );
    let new = get_with_token(exchange_member_url(&sandbox), &new_access).await;
    assert_eq!(new.status(), StatusCode::OK);

    let stats = sandbox.stats();
    assert_eq!(stats.token_requests_refresh_token, 2);
    assert_eq!(stats.successful_refreshes, 1);

    let body = bad_request(token_request(&sandbox, &[("grant_type", "refresh_token")]).await).await;
    assert_eq!(
        body["error_description"],
        "Missing refresh token parameter."
    );
}

#[tokio::test]
async fn several_token_pairs_coexist() {
    let sandbox = start_default().await;
    let (laptop, desktop) = (connect(&sandbox).await, connect(&sandbox).await);
    for token in [&laptop.access_token, &desktop.access_token] {
        let response = get_with_token(exchange_member_url(&sandbox), token).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// How a token pair fares: the API's answer to its access token, then the token endpoint's answer
/// to its refresh token.
async fn api_and_refresh_status(
    sandbox: &datalinks_sandbox::RunningSandbox,
    pair: &Tokens,
) -> (StatusCode, StatusCode) {
    let api = get_with_token(exchange_member_url(sandbox), &pair.access_token).await;
    let refresh = refresh_request(sandbox, &pair.refresh_token).await;
    (api.status(), refresh.status())
}

#[tokio::test]
async fn revocation_follows_dot() {
    let sandbox = start_default().await;

    // Revoking a refresh token takes its access token with it.
    let pair = connect(&sandbox).await;
    let response = revocation_request(
        &sandbox,
        &[
            ("token", &pair.refresh_token),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().is_empty());
    assert_eq!(
        api_and_refresh_status(&sandbox, &pair).await,
        (StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST)
    );

    // Revoking an access token (no hint) leaves its refresh token usable.
    let pair = connect(&sandbox).await;
    assert_eq!(
        revocation_request(&sandbox, &[("token", &pair.access_token)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api_and_refresh_status(&sandbox, &pair).await,
        (StatusCode::UNAUTHORIZED, StatusCode::OK)
    );

    // A refresh token passed with the wrong hint is still found.
    let pair = connect(&sandbox).await;
    assert_eq!(
        revocation_request(
            &sandbox,
            &[
                ("token", &pair.refresh_token),
                ("token_type_hint", "access_token")
            ]
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        api_and_refresh_status(&sandbox, &pair).await,
        (StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST)
    );

    // Unknown tokens are 200 too; only the client must authenticate.
    assert_eq!(
        revocation_request(&sandbox, &[("token", "unknown")])
            .await
            .status(),
        StatusCode::OK
    );
    let anonymous = plain_client()
        .post(sandbox.revoke_url())
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json(anonymous).await,
        serde_json::json!({"error": "invalid_client"})
    );
    let body = bad_request(revocation_request(&sandbox, &[]).await).await;
    assert_eq!(body["error_description"], "Missing token parameter.");

    let stats = sandbox.stats();
    assert_eq!(stats.revocation_requests, 6);
    assert_eq!(stats.tokens_revoked, 3);
}

#[tokio::test]
async fn token_endpoint_can_be_made_unavailable() {
    let sandbox = start(SandboxConfig {
        token_endpoint_failures: 2,
        ..SandboxConfig::default()
    })
    .await;
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let form = code_exchange_form(&code);
    for _ in 0..2 {
        let response = token_request(&sandbox, &form).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"error":"temporarily_unavailable"}"#
        );
    }
    assert_eq!(
        token_request(&sandbox, &form).await.status(),
        StatusCode::OK
    );
    let stats = sandbox.stats();
    assert_eq!(
        (
            stats.token_requests_authorization_code,
            stats.token_requests_unavailable
        ),
        (3, 2)
    );

    sandbox.fail_token_requests(1);
    let response = refresh_request(&sandbox, "x").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn access_token_lifetime_is_adjustable() {
    let sandbox = start(SandboxConfig {
        access_token_lifetime: Duration::from_secs(60),
        ..SandboxConfig::default()
    })
    .await;
    let code = authorization_code(&sandbox, &[("redirect_uri", LOOPBACK_CALLBACK)]).await;
    let body = json(token_request(&sandbox, &code_exchange_form(&code)).await).await;
    assert_eq!(body["expires_in"], 60);
    sandbox.set_access_token_lifetime(Duration::from_secs(5));
    let body = json(refresh_request(&sandbox, body["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(body["expires_in"], 5);
}

#[tokio::test]
async fn grants_survive_a_restart_through_the_state_file_which_holds_no_token() {
    let dir = std::env::temp_dir().join(format!("datalinks-sandbox-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state_file = dir.join("openhumans.json");
    let config = SandboxConfig {
        state_file: Some(state_file.clone()),
        ..SandboxConfig::default()
    };

    let first = start(config.clone()).await;
    let tokens = connect(&first).await;
    first.shutdown().await;
    let saved = std::fs::read_to_string(&state_file).unwrap();
    assert!(!saved.contains(&tokens.access_token) && !saved.contains(&tokens.refresh_token));

    let second = start(config).await;
    let member = get_with_token(exchange_member_url(&second), &tokens.access_token).await;
    assert_eq!(
        member.status(),
        StatusCode::OK,
        "the access token outlived the restart"
    );
    let refreshed = refresh_request(&second, &tokens.refresh_token).await;
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "so did the refresh token"
    );
    second.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
