//! URL handling that behaves like the Python standard library functions Open Humans relies on
//! (`urllib.parse.quote_plus`, `parse_qsl`, `urlencode`, `urlsplit`), because the exact encoding and
//! matching rules are part of what clients observe.

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap};

/// Python's `quote_plus`: unreserved characters stay, space becomes `+`, the rest is %-encoded.
pub fn quote_plus(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Python's `unquote_plus` (invalid UTF-8 is replaced, as Python does).
pub fn unquote_plus(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes
                .get(i + 1..i + 3)
                .and_then(|pair| hex_pair(pair[0], pair[1]))
            {
                Some(decoded) => {
                    out.push(decoded);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some(digit(high)? * 16 + digit(low)?)
}

/// Python's `parse_qsl`: `&`-separated pairs, `+` and %-escapes decoded. Pairs without a value are
/// dropped unless `keep_blank_values` (Django's QueryDict and oauthlib keep them).
pub fn parse_qsl(query: &str, keep_blank_values: bool) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|part| !part.is_empty()) {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name, value),
            None if keep_blank_values => (part, ""),
            None => continue,
        };
        if value.is_empty() && !keep_blank_values {
            continue;
        }
        pairs.push((unquote_plus(name), unquote_plus(value)));
    }
    pairs
}

/// Python's `quote` with `/` kept: for object keys in storage URLs.
pub fn quote_path(value: &str) -> String {
    quote_plus(value).replace("%2F", "/").replace('+', "%20")
}

/// Python's `urlencode` over pairs (with `quote_plus`).
pub fn urlencode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| {
            format!(
                "{}={}",
                quote_plus(key.as_ref()),
                quote_plus(value.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Request parameters with Django's `QueryDict.get` semantics (the last value wins).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn from_query(query: &str) -> Self {
        Params(parse_qsl(query, true))
    }

    /// A request body as Django's `request.POST` sees it: only a form-encoded body is read, so JSON
    /// (or anything else) yields no parameters at all.
    pub fn from_form(headers: &HeaderMap, body: &[u8]) -> Self {
        let form_encoded = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                mime.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if form_encoded {
            Params(parse_qsl(&String::from_utf8_lossy(body), true))
        } else {
            Params::default()
        }
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Params(pairs)
    }

    /// Adds a value after the others, so it wins.
    pub fn push(&mut self, name: &str, value: &str) {
        self.0.push((name.to_string(), value.to_string()));
    }

    /// Adds `other`'s values after these, so they win.
    pub fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A parameter that is present but empty counts as absent (Django form fields do that).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn is_duplicated(&self, name: &str) -> bool {
        self.0.iter().filter(|(key, _)| key == name).count() > 1
    }
}

/// oauthlib's `add_params_to_uri`: decode the existing query, append `params`, encode again.
pub fn add_params_to_uri(uri: &str, params: &[(&str, &str)]) -> String {
    let (without_fragment, fragment) = match uri.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (uri, None),
    };
    let (base, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let mut pairs = parse_qsl(query, true);
    pairs.extend(
        params
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string())),
    );
    let mut out = base.to_string();
    if !pairs.is_empty() {
        out.push('?');
        out.push_str(&urlencode(&pairs));
    }
    if let Some(fragment) = fragment.filter(|fragment| !fragment.is_empty()) {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// DRF's `replace_query_param` (value `Some`) and `remove_query_param` (value `None`): the query is
/// re-encoded with its keys sorted, as `urlencode(sorted(parse_qs(...).items()), doseq=True)` does.
pub fn with_query_param(url: &str, key: &str, value: Option<&str>) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, existing) in parse_qsl(query, true) {
        grouped.entry(name).or_default().push(existing);
    }
    match value {
        Some(value) => {
            grouped.insert(key.to_string(), vec![value.to_string()]);
        }
        None => {
            grouped.remove(key);
        }
    }
    let pairs: Vec<(&str, &str)> = grouped
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| (name.as_str(), v.as_str())))
        .collect();
    if pairs.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", urlencode(&pairs))
    }
}

/// The parts of Python's `urlsplit` result that redirect URI matching looks at.
#[derive(Debug, PartialEq, Eq)]
pub struct SplitUri {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub hostname: Option<String>,
    /// `None` when the netloc carries no port; `Some("")` never happens (Python reports `None`).
    pub port: Option<String>,
}

/// Python's `urlsplit` (scheme lower-cased, netloc and path kept verbatim).
pub fn split_uri(uri: &str) -> SplitUri {
    let uri = uri.trim_matches(|c: char| c <= ' ');
    let uri: String = uri
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = uri.as_str();
    let mut scheme = String::new();
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[colon + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let rest = rest.split_once('#').map_or(rest, |(head, _)| head);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (hostname, port) = host_and_port(netloc);
    SplitUri {
        scheme,
        netloc: netloc.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        hostname,
        port,
    }
}

fn host_and_port(netloc: &str) -> (Option<String>, Option<String>) {
    let hostinfo = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
    let (host, port) = if let Some(bracketed) = hostinfo.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => (bracketed, None),
        }
    } else {
        match hostinfo.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostinfo, None),
        }
    };
    let hostname = Some(host.to_ascii_lowercase()).filter(|host| !host.is_empty());
    let port = port.filter(|port| !port.is_empty()).map(str::to_string);
    (hostname, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_plus_matches_python() {
        assert_eq!(quote_plus("a b/c~d*é"), "a+b%2Fc~d%2A%C3%A9");
        assert_eq!(unquote_plus("a+b%2Fc%C3%A9%zz"), "a b/cé%zz");
    }

    #[test]
    fn parse_qsl_blank_values() {
        assert_eq!(
            parse_qsl("a=1&b=&c&&d=x+y", false),
            vec![("a".into(), "1".into()), ("d".into(), "x y".into())]
        );
        assert_eq!(parse_qsl("b=&c", true).len(), 2);
    }

    #[test]
    fn params_are_appended_after_existing_query() {
        assert_eq!(
            add_params_to_uri("http://h/cb?x=1#frag", &[("code", "a b")]),
            "http://h/cb?x=1&code=a+b#frag"
        );
    }

    #[test]
    fn replaced_query_is_sorted() {
        assert_eq!(
            with_query_param(
                "http://h/p?offset=5&access_token=t&limit=2",
                "offset",
                Some("7")
            ),
            "http://h/p?access_token=t&limit=2&offset=7"
        );
        assert_eq!(
            with_query_param("http://h/p?offset=5&limit=2", "offset", None),
            "http://h/p?limit=2"
        );
    }

    #[test]
    fn split_like_python() {
        let split = split_uri("HTTP://[::1]:8080/cb?x=1#f");
        assert_eq!(split.scheme, "http");
        assert_eq!(split.netloc, "[::1]:8080");
        assert_eq!(split.hostname.as_deref(), Some("::1"));
        assert_eq!(split.port.as_deref(), Some("8080"));
        assert_eq!(split.path, "/cb");
        assert_eq!(split.query, "x=1");
        let custom = split_uri("datalinks://oauth/callback");
        assert_eq!(
            (custom.netloc.as_str(), custom.path.as_str()),
            ("oauth", "/callback")
        );
    }
}
