//! HTML pages standing in for the Open Collective frontend: plain forms without JavaScript, so a
//! script can parse and submit them.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::authorize::AuthorizeRequest;
use super::world::{CONSENT_SCOPES, SEEDED_PASSWORD, SEEDED_SLUG};
use super::DECISION_PATH;
use crate::text::escape_html;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} | Open Collective sandbox</title>\n</head>\n<body>\n<p class=\"sandbox-banner\">Open Collective sandbox: a simulator for testing, not the real Open Collective.</p>\n{body}\n</body>\n</html>\n",
        escape_html(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

pub fn signin(next: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|text| format!("<p class=\"error\">{}</p>\n", escape_html(text)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in to continue</h1>\n{error}<p class=\"sandbox-credentials\">Sandbox account: username <code>{SEEDED_SLUG}</code>, password <code>{SEEDED_PASSWORD}</code>.</p>\n\
<form method=\"post\" action=\"/signin\" id=\"signin-form\">\n\
<input type=\"hidden\" name=\"next\" value=\"{}\">\n\
<p><label for=\"username\">Username or email</label> <input type=\"text\" name=\"username\" id=\"username\" autofocus required></p>\n\
<p><label for=\"password\">Password</label> <input type=\"password\" name=\"password\" id=\"password\" required></p>\n\
<p><input type=\"submit\" value=\"Sign in\"></p>\n</form>",
        escape_html(next)
    );
    page(StatusCode::OK, "Sign in", &body)
}

/// The consent page, whose form passes the request on with the scopes joined by `scope_separator`.
pub fn consent(
    application: &str,
    user: &str,
    request: &AuthorizeRequest,
    scope_separator: &str,
) -> Response {
    let scopes: String = request
        .scopes
        .iter()
        .filter_map(|scope| CONSENT_SCOPES.iter().find(|(name, _)| name == scope))
        .map(|(name, explanation)| {
            format!("<li data-scope=\"{name}\"><strong>{name}</strong>: {explanation}</li>\n")
        })
        .collect();
    let scopes = if scopes.is_empty() {
        "<p class=\"no-scopes\">It will only see your public profile.</p>\n".to_string()
    } else {
        format!("<p>It asks for:</p>\n<ul class=\"requested-scopes\">\n{scopes}</ul>\n")
    };
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape_html(value)
        )
    };
    let fields = [
        hidden("client_id", &request.client_id),
        hidden("response_type", "code"),
        hidden("redirect_uri", &request.redirect_uri),
        hidden("scope", &request.scopes.join(scope_separator)),
        hidden("state", request.state.as_deref().unwrap_or("")),
        hidden(
            "code_challenge",
            request.code_challenge.as_deref().unwrap_or(""),
        ),
        hidden(
            "code_challenge_method",
            if request.code_challenge.is_some() {
                "S256"
            } else {
                ""
            },
        ),
    ]
    .concat();
    let body = format!(
        "<h1>{name} wants permission to access your account</h1>\n<p>Signed in as <strong class=\"username\">{user}</strong>.</p>\n{scopes}\
<form method=\"post\" action=\"{DECISION_PATH}\" id=\"authorize-form\">\n{fields}\
<p><input type=\"submit\" name=\"decision\" value=\"Authorize\"> <input type=\"submit\" name=\"decision\" value=\"Cancel\"></p>\n</form>",
        name = escape_html(application),
        user = escape_html(user),
    );
    page(StatusCode::OK, &format!("Authorize {application}"), &body)
}

/// The frontend shows the API's authorize error on the page instead of redirecting.
pub fn authorize_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>Authorization failed</h1>\n<p class=\"error\" data-error=\"{}\">{}</p>",
        escape_html(error),
        escape_html(description)
    );
    page(status, "Authorization failed", &body)
}
