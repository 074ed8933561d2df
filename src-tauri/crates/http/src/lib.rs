//! The one HTTP client configuration of Datalinks. Every request to a provider goes through a
//! client made here:
//!
//! - a User-Agent naming Datalinks, and a connect timeout;
//! - no `Referer` header, ever: a URL can carry a token (`?access_token=`, a download key);
//! - [`api`] clients follow redirects only within the origin of the request. Requests to an API
//!   carry credentials (a bearer or personal-token header, a token in the query, a client secret
//!   in the body), and a redirect to another origin would hand them over, so it is refused with
//!   a clear error;
//! - [`transfer`] clients, for storage URLs that authorize themselves (presigned downloads and
//!   uploads, never with a credential header), follow redirects anywhere: storage hands files
//!   out from other hosts.
//!
//! [`send`] sends every request, and records it in the [`audit`] log of the work it is for.
//!
//! [`excerpt`] quotes a server's answer for people with every secret scrubbed out, and
//! [`RetryPolicy`] is the one way a request is sent again.

use std::time::Duration;

pub mod audit;
mod retry;
pub mod server;
pub use audit::send;
pub use retry::{retry_after, RetryPolicy, Retryable, Schedule, Verdict, LONGEST_ASKED_PAUSE};

const USER_AGENT: &str = concat!("Datalinks/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest an API request may take, answer included.
const API_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a transfer may go without a byte arriving.
const TRANSFER_READ_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_REDIRECTS: usize = 10;

/// Why a redirect was not followed; the source of the `reqwest` error the request ends with.
#[derive(Debug)]
pub struct RedirectRefused {
    /// The origin the server redirected to.
    pub to: String,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server redirected to another site ({}), and Datalinks does not follow a request that carries credentials there",
            self.to
        )
    }
}

impl std::error::Error for RedirectRefused {}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .referer(false)
}

/// A client for provider APIs: every request carries credentials, so redirects stay within
/// the request's origin.
pub fn api() -> reqwest::Client {
    builder()
        .timeout(API_TIMEOUT)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let origin = |url: &url::Url| url.origin();
            let first = attempt.previous().first().map(origin);
            let next = origin(attempt.url());
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if first.is_some_and(|first| first == next) {
                audit::redirected(attempt.status(), attempt.url());
                attempt.follow()
            } else {
                let to = next.ascii_serialization();
                attempt.error(RedirectRefused { to })
            }
        }))
        .build()
        .expect("a client with a static configuration builds")
}

/// A client for storage transfers (presigned URLs that carry no credential of ours): no overall
/// time limit, only one on each read, and redirects followed to wherever storage serves from.
pub fn transfer() -> reqwest::Client {
    transfer_reading_within(TRANSFER_READ_TIMEOUT)
}

/// A [`transfer`] client that gives up on a body after `read_timeout` without a byte.
pub fn transfer_reading_within(read_timeout: Duration) -> reqwest::Client {
    builder()
        .read_timeout(read_timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else {
                audit::redirected(attempt.status(), attempt.url());
                attempt.follow()
            }
        }))
        .build()
        .expect("a client with a static configuration builds")
}

/// Whether a request failed because a redirect to another origin was refused: the server
/// answered, so it is a provider error, not an outage to retry.
pub fn is_refused_redirect(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<RedirectRefused>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A failed request in words for people: what went wrong, the refused redirect included, and
/// never the URL (it may carry a token).
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "it did not answer in time".to_owned()
    } else if err.is_connect() {
        "the connection failed".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RedirectRefused>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    if err.is_redirect() {
        text = "it redirected too many times".to_owned();
    }
    text
}

/// Query parameters whose value is a credential, wherever they appear in an answer.
const SECRET_PARAMETERS: [&str; 10] = [
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "code",
    "key",
    "client_secret",
    "personalToken",
    "personal_token",
    "api_key",
];

/// Longest excerpt of a server's answer shown to people.
const EXCERPT_CHARS: usize = 200;

/// The start of a server's answer, fit to show: every secret in `known` is replaced, and so is
/// the value of any credential-named parameter (`access_token=…`) and any run of 32 or more
/// token characters, since an error page may echo the URL it was asked for.
pub fn excerpt(body: &str, known: &[&str]) -> String {
    let mut text = body.to_owned();
    for secret in known.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    let text = redact_parameters(&text);
    let text = redact_long_tokens(&text);
    let mut shown: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        shown.push('…');
    }
    shown
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '%' | '+' | '/' | '=')
}

/// `name=value` for a credential-named parameter becomes `name=[redacted]`.
fn redact_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for name in SECRET_PARAMETERS {
            let pattern = format!("{name}=");
            let starts_word = |at: &str| {
                let before = out.chars().last();
                at.starts_with(&pattern)
                    && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            };
            if starts_word(rest) {
                out.push_str(&pattern);
                out.push_str("[redacted]");
                rest = rest[pattern.len()..]
                    .trim_start_matches(|c: char| is_token_char(c) && c != '&');
                continue 'scan;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A run of 32 or more token characters (a token, a key, a JWT) becomes `[redacted]`.
fn redact_long_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 32 {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests;
