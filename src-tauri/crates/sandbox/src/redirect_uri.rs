//! Redirect URI rules of django-oauth-toolkit 2.4 (`redirect_to_uri_allowed`, `OAuth2ResponseRedirect`)
//! and oauthlib's absolute-URI check.

use std::collections::HashSet;

use crate::urls::{parse_qsl, split_uri};

/// Schemes Open Humans allows in its settings, before the environment variable adds more.
pub const BUILTIN_REDIRECT_SCHEMES: [&str; 4] =
    ["http", "https", "openhumanshk", "resilienceproject"];

/// Whether `requested` matches one of the registered URIs: scheme, netloc and path exactly (the
/// registered query must be a subset), with the RFC 8252 any-port exception for `http://127.0.0.1/…`
/// and `http://[::1]/…` registered without a port. `localhost` gets no exception.
pub fn is_allowed(requested: &str, registered: &[String]) -> bool {
    let asked = split_uri(requested);
    let asked_query: HashSet<(String, String)> =
        parse_qsl(&asked.query, false).into_iter().collect();
    registered.iter().any(|allowed| {
        let allowed = split_uri(allowed);
        let loopback = allowed.scheme == "http"
            && matches!(allowed.hostname.as_deref(), Some("127.0.0.1" | "::1"))
            && allowed.port.is_none();
        let same_place = (loopback
            && allowed.scheme == asked.scheme
            && allowed.hostname == asked.hostname
            && allowed.path == asked.path)
            || (allowed.scheme == asked.scheme
                && allowed.netloc == asked.netloc
                && allowed.path == asked.path);
        same_place
            && parse_qsl(&allowed.query, false)
                .into_iter()
                .all(|pair| asked_query.contains(&pair))
    })
}

/// oauthlib's `is_absolute_uri`: a scheme followed by `:`.
pub fn is_absolute(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, _)) => {
            scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// `OAuth2ResponseRedirect.validate_redirect`: the target's scheme must be in the allow-list.
pub fn scheme_permitted(target: &str, allowed_schemes: &[String]) -> bool {
    let scheme = split_uri(target).scheme;
    !scheme.is_empty() && allowed_schemes.contains(&scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered() -> Vec<String> {
        vec![
            "http://127.0.0.1/callback".to_string(),
            "https://example.org/cb?app=1".to_string(),
            "http://localhost/cb".to_string(),
        ]
    }

    #[test]
    fn loopback_accepts_any_port_but_same_path() {
        assert!(is_allowed("http://127.0.0.1:53127/callback", &registered()));
        assert!(is_allowed("http://127.0.0.1/callback", &registered()));
        assert!(!is_allowed("http://127.0.0.1:53127/other", &registered()));
        assert!(!is_allowed(
            "https://127.0.0.1:53127/callback",
            &registered()
        ));
    }

    #[test]
    fn localhost_is_not_loopback() {
        assert!(is_allowed("http://localhost/cb", &registered()));
        assert!(!is_allowed("http://localhost:8000/cb", &registered()));
    }

    #[test]
    fn registered_query_must_be_a_subset() {
        assert!(is_allowed(
            "https://example.org/cb?x=2&app=1",
            &registered()
        ));
        assert!(!is_allowed("https://example.org/cb?x=2", &registered()));
        assert!(!is_allowed("https://EXAMPLE.org/cb?app=1", &registered()));
    }

    #[test]
    fn schemes() {
        let allowed = vec!["http".to_string(), "https".to_string()];
        assert!(scheme_permitted("HTTP://x/y", &allowed));
        assert!(!scheme_permitted("datalinks://oauth/callback", &allowed));
        assert!(is_absolute("datalinks://oauth/callback"));
        assert!(!is_absolute("/callback"));
    }
}
