//! The one rule for a server address a person types: every provider client checks it here.

use crate::{Error, Result};
use url::{Host, Url};

/// Parses a server address: `https://`, or plain `http://` to this machine only (a local
/// server or the sandbox: nothing else may see tokens in the clear); a host; no user name,
/// password, query or fragment, since paths are appended to it.
pub fn server_url(raw: &str) -> Result<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid_input(
            "Enter the server's address, for example https://www.openhumans.org.",
        ));
    }
    let url = Url::parse(raw).map_err(|_| {
        Error::invalid_input(format!(
            "{raw:?} is not a complete web address; it should look like https://www.openhumans.org."
        ))
    })?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid_input(format!(
                "Use https:// for {}: plain http:// is only allowed for a server on this computer.",
                url.host_str().unwrap_or_default()
            )))
        }
        _ => {
            return Err(Error::invalid_input(
                "The address must start with https:// (or http:// for a server on this computer).",
            ))
        }
    }
    if url.host().is_none() {
        return Err(Error::invalid_input("The address names no server."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(
            "Leave out any user name or password in the address.",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_input(
            "Leave out the ?query and #fragment parts of the address.",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_plain_http_only_to_this_machine() {
        for ok in [
            "https://www.openhumans.org",
            " https://example.org/oh/ ",
            "http://127.0.0.1:8765",
            "http://localhost:9000/x",
            "http://[::1]:9/",
        ] {
            assert!(server_url(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("http://www.openhumans.org", "https://"),
            ("http://192.168.1.5", "https://"),
            ("ftp://x.org", "https://"),
            ("data:text/plain,x", "https://"),
            ("https://x.org/?a=1", "query"),
            ("https://x.org/#f", "fragment"),
            ("https://me:pw@x.org", "password"),
            ("nonsense", "complete web address"),
            ("", "Enter"),
        ] {
            let err = server_url(bad).unwrap_err();
            assert!(err.message.contains(says), "{bad}: {}", err.message);
        }
    }
}
