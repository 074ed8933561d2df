//! HTML pages: plain forms without JavaScript, so a script can parse and submit them.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::oauth::AuthorizationRequest;
use crate::seed::{SEEDED_PASSWORD, SEEDED_USERNAME};
use crate::state::Sandbox;
use crate::text::escape_html;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} | Open Humans sandbox</title>\n</head>\n<body>\n<p class=\"sandbox-banner\">Open Humans sandbox: a simulator for testing, not the real Open Humans.</p>\n{body}\n</body>\n</html>\n",
        escape_html(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

pub fn home() -> Response {
    page(
        StatusCode::OK,
        "Home",
        "<h1>Open Humans sandbox</h1>\n<p><a href=\"/account/login/\">Log in</a></p>",
    )
}

pub fn login(next: &str, message: Option<&str>, error: Option<&str>) -> Response {
    let message = message
        .map(|text| format!("<p class=\"message\">{}</p>\n", escape_html(text)))
        .unwrap_or_default();
    let error = error
        .map(|text| format!("<p class=\"error\">{}</p>\n", escape_html(text)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in</h1>\n{message}{error}<p class=\"sandbox-credentials\">Sandbox account: username <code>{SEEDED_USERNAME}</code>, password <code>{SEEDED_PASSWORD}</code>.</p>\n\
<form method=\"post\" action=\"/account/login/\" id=\"login-form\">\n\
<input type=\"hidden\" name=\"next\" value=\"{}\">\n\
<p><label for=\"id_username\">Username</label> <input type=\"text\" name=\"username\" id=\"id_username\" autofocus required></p>\n\
<p><label for=\"id_password\">Password</label> <input type=\"password\" name=\"password\" id=\"id_password\" required></p>\n\
<p><input type=\"submit\" value=\"Log in\"></p>\n</form>",
        escape_html(next)
    );
    // Django re-renders an invalid login form with 200.
    page(StatusCode::OK, "Log in", &body)
}

pub fn consent(
    sandbox: &Sandbox,
    username: &str,
    action: &str,
    request: &AuthorizationRequest,
) -> Response {
    let project = &sandbox.world.project;
    let sources: String = sandbox
        .world
        .sources
        .iter()
        .map(|source| {
            format!(
                "<li data-source=\"{}\">{}</li>\n",
                source.id_label(),
                escape_html(source.name)
            )
        })
        .collect();
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape_html(value)
        )
    };
    let fields = [
        hidden("client_id", &project.client_id),
        hidden("redirect_uri", &request.redirect_uri),
        hidden("scope", &request.scopes.join(" ")),
        hidden("state", request.state.as_deref().unwrap_or("")),
        hidden("response_type", &request.response_type),
        hidden(
            "code_challenge",
            request
                .code_challenge
                .as_ref()
                .map_or("", |c| c.challenge.as_str()),
        ),
        hidden(
            "code_challenge_method",
            request
                .code_challenge
                .as_ref()
                .map_or("", |c| c.method.as_str()),
        ),
    ]
    .concat();
    let username_note = if project.request_username_access {
        "<p>This project will also see your Open Humans username.</p>\n"
    } else {
        ""
    };
    let body = format!(
        "<h1>Authorize {name}</h1>\n<p>Logged in as <strong class=\"username\">{user}</strong>.</p>\n\
<p>\"{name}\" is requesting access to data you share from these sources:</p>\n<ul class=\"requested-sources\">\n{sources}</ul>\n{username_note}\
<form method=\"post\" action=\"{action}\" id=\"authorizationForm\">\n{fields}\
<p><label><input type=\"checkbox\" name=\"hide-membership\" value=\"hidden_membership\"> Hide my membership in this project from my public profile</label></p>\n\
<p><input type=\"submit\" name=\"allow\" value=\"Authorize project\"> <input type=\"submit\" value=\"Cancel\"></p>\n</form>",
        name = escape_html(&project.name),
        user = escape_html(username),
        action = escape_html(action),
    );
    page(
        StatusCode::OK,
        &format!("Authorize {}", project.name),
        &body,
    )
}

/// DOT renders fatal authorization errors (bad client, bad redirect URI) on its template, with 400.
pub fn oauth_error(error: &str, description: &str) -> Response {
    let body = format!(
        "<h2 class=\"error\">Error: {}</h2>\n<p class=\"error-description\">{}</p>",
        escape_html(error),
        escape_html(description)
    );
    page(StatusCode::BAD_REQUEST, "Authorization error", &body)
}

/// Django's answer to `DisallowedRedirect` (a redirect to a scheme not in the allow-list).
pub fn bad_request() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Bad Request (400)",
        "<h1>Bad Request (400)</h1>",
    )
}

/// The member's connections page: the project, while they are a member, with the leave form.
pub fn connections(
    sandbox: &Sandbox,
    username: &str,
    member: bool,
    notice: Option<&str>,
) -> Response {
    let notice = notice
        .map(|text| format!("<p class=\"message\">{}</p>\n", escape_html(text)))
        .unwrap_or_default();
    let project = if member {
        format!(
            "<section id=\"project\">\n<h2>{}</h2>\n\
<form method=\"post\" action=\"/member/me/connections/leave/\" id=\"leave-form\">\n\
<p><label><input type=\"checkbox\" name=\"erasure_requested\"> Ask the project to erase my data</label></p>\n\
<p><label><input type=\"checkbox\" name=\"remove_datafiles\"> Remove the files the project uploaded to my account</label></p>\n\
<p><input type=\"submit\" value=\"Leave project\"></p>\n</form>\n</section>",
            escape_html(&sandbox.world.project.name)
        )
    } else {
        "<p>You are not a member of any project.</p>".to_string()
    };
    page(
        StatusCode::OK,
        "Connections",
        &format!(
            "<h1>Connections of {}</h1>\n{notice}{project}",
            escape_html(username)
        ),
    )
}

pub fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not Found",
        "<h1>Not Found</h1>\n<p>The requested resource was not found on this server.</p>",
    )
}

pub fn server_error() -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Server Error (500)",
        "<h1>Server Error (500)</h1>",
    )
}

pub fn forbidden(message: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!("<h1>{}</h1>", escape_html(message)),
    )
}
