//! Logging in to the sandbox (the seeded accounts all use the password `sandbox`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::pages;
use crate::seed::SEEDED_PASSWORD;
use crate::state::Sandbox;
use crate::text::generate_token;
use crate::urls::{quote_plus, Params};

const SESSION_COOKIE: &str = "sessionid";
const LOGIN_PATH: &str = "/account/login/";

/// The member logged in with this request's session cookie, if any.
pub fn session_member(sandbox: &Sandbox, headers: &HeaderMap) -> Option<usize> {
    let session_id = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_string())
        })?;
    sandbox.store().sessions.get(&session_id).copied()
}

/// Where a page that needs a logged-in member sends everybody else.
pub fn login_redirect(uri: &Uri) -> Response {
    let next = uri
        .path_and_query()
        .map_or(uri.path(), |path_and_query| path_and_query.as_str());
    redirect_to(&format!("{LOGIN_PATH}?next={}", quote_plus(next)))
}

fn redirect_to(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// Where the login goes on to: `next` when Django's `url_has_allowed_host_and_scheme` allows it
/// for this request's `host` (a URL without a host, or an http(s) URL on this very host), else the
/// home page.
fn safe_next<'a>(next: Option<&'a str>, host: &str) -> &'a str {
    match next.map(str::trim) {
        Some(url)
            if is_same_host_url(url, host) && is_same_host_url(&url.replace('\\', "/"), host) =>
        {
            url
        }
        _ => "/",
    }
}

/// One pass of Django's check, on `url` as Python's `urlsplit` divides it.
fn is_same_host_url(url: &str, host: &str) -> bool {
    if url.is_empty() || url.starts_with("///") || url.starts_with(|c: char| c.is_control()) {
        return false;
    }
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
    let rest = scheme.map_or(url, |scheme| &url[scheme.len() + 1..]);
    let netloc = rest
        .strip_prefix("//")
        .map(|authority| authority.split(['/', '?', '#']).next().unwrap_or_default());
    match (scheme, netloc) {
        (None, None) => true,
        (Some(_), None) => false,
        (scheme, Some(netloc)) => {
            scheme.is_none_or(|scheme| {
                matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
            }) && netloc.eq_ignore_ascii_case(host)
        }
    }
}

/// The `Host` the request was sent to.
fn request_host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn login_message(next: &str, sandbox: &Sandbox) -> Option<String> {
    next.contains("/oauth2/authorize/").then(|| {
        format!(
            "Please log in or sign up to Open Humans to authorize \"{}\"",
            sandbox.world.project.name
        )
    })
}

pub async fn home() -> Response {
    pages::home()
}

pub async fn login_page(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(uri.query().unwrap_or(""));
    let next = safe_next(params.get("next"), request_host(&headers));
    pages::login(next, login_message(next, &sandbox).as_deref(), None)
}

pub async fn login_submit(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::from_form(&headers, &body);
    let next = safe_next(form.get("next"), request_host(&headers));
    let member = form
        .get("username")
        .and_then(|username| sandbox.world.member_by_username(username))
        .filter(|_| form.get("password") == Some(SEEDED_PASSWORD));
    let Some(member) = member else {
        return pages::login(
            next,
            login_message(next, &sandbox).as_deref(),
            Some("The username and/or password you specified are not correct."),
        );
    };
    let session_id = generate_token();
    sandbox.store().sessions.insert(session_id.clone(), member);
    let mut response = redirect_to(next);
    let cookie = format!("{SESSION_COOKIE}={session_id}; HttpOnly; Path=/; SameSite=Lax");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

const CONNECTIONS_PATH: &str = "/member/me/connections/";

/// `GET /member/me/connections/`: the logged-in member's projects, with a way to leave.
pub async fn connections_page(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(member) = session_member(&sandbox, &headers) else {
        return login_redirect(&uri);
    };
    let notice = Params::from_query(uri.query().unwrap_or(""))
        .get("left")
        .map(|_| "You left the project.");
    let joined = sandbox.store().memberships[member].authorized;
    pages::connections(
        &sandbox,
        &sandbox.world.members[member].username,
        joined,
        notice,
    )
}

/// `POST /member/me/connections/leave/`: the leave form. Refused from another origin.
pub async fn leave_submit(
    State(sandbox): State<Arc<Sandbox>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(member) = session_member(&sandbox, &headers) else {
        return login_redirect(&uri);
    };
    let host = request_host(&headers);
    let same_origin = headers
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .is_none_or(|origin| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        });
    if !same_origin {
        return pages::forbidden("CSRF verification failed. Request aborted.");
    }
    if !sandbox.store().memberships[member].authorized {
        return redirect_to(CONNECTIONS_PATH);
    }
    let form = Params::from_form(&headers, &body);
    // Django's CheckboxInput: present and not "false" means ticked.
    let ticked = |name: &str| {
        form.get(name)
            .is_some_and(|value| !value.is_empty() && !value.eq_ignore_ascii_case("false"))
    };
    crate::webhook::leave_project(
        &sandbox,
        member,
        ticked("erasure_requested"),
        ticked("remove_datafiles"),
    )
    .await;
    redirect_to(&format!("{CONNECTIONS_PATH}?left=1"))
}
