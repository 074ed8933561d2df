//! Where Human API lives and the app's portal credentials.

use datalinks_core::{server_url, ClientSecret, Error, ErrorCode};
use url::Url;

/// `auth.humanapi.co`: `POST /v1/connect/token` (docs/providers/human-api.md, "Hosts").
pub const DEFAULT_AUTH_BASE_URL: &str = "https://auth.humanapi.co";
/// `user.humanapi.co`: the legacy finalize and public-token endpoints
/// (docs/providers/human-api.md, "Hosts").
pub const DEFAULT_LEGACY_BASE_URL: &str = "https://user.humanapi.co";
/// The Data API root (docs/providers/human-api.md, "Hosts").
pub const DEFAULT_DATA_API_URL: &str = "https://api.humanapi.co/v1/human";
/// The Connect client on the CDN (docs/providers/human-api.md, "Hosts").
pub const DEFAULT_CONNECT_SCRIPT_URL: &str =
    "https://cdn.humanapi.co/humanapi-connect-client@latest.js";
/// The Connect 1.x script of the legacy finalize flow (docs/providers/human-api.md, "Hosts").
pub const DEFAULT_LEGACY_CONNECT_SCRIPT_URL: &str = "https://connect.humanapi.co/connect.js";

#[derive(Debug, Clone)]
pub struct Config {
    pub auth_base_url: Url,
    pub legacy_base_url: Url,
    pub data_api_url: Url,
    pub connect_script_url: Url,
    pub legacy_connect_script_url: Url,
    pub client_id: String,
    pub client_secret: ClientSecret,
}

impl Config {
    /// Production Human API with the app's portal credentials.
    pub fn production(client_id: impl Into<String>, client_secret: ClientSecret) -> Self {
        let parse = |url| Url::parse(url).expect("default Human API URLs are valid");
        Self {
            auth_base_url: parse(DEFAULT_AUTH_BASE_URL),
            legacy_base_url: parse(DEFAULT_LEGACY_BASE_URL),
            data_api_url: parse(DEFAULT_DATA_API_URL),
            connect_script_url: parse(DEFAULT_CONNECT_SCRIPT_URL),
            legacy_connect_script_url: parse(DEFAULT_LEGACY_CONNECT_SCRIPT_URL),
            client_id: client_id.into(),
            client_secret,
        }
    }

    /// Refuses empty credentials and any URL the secret or tokens could leak through.
    pub fn check(&self) -> Result<(), Error> {
        if self.client_id.trim().is_empty() || self.client_secret.is_empty() {
            return Err(Error::new(
                ErrorCode::NotConfigured,
                "The Human API client id and client secret are not configured.",
            ));
        }
        check_url("auth base URL", &self.auth_base_url)?;
        check_url("legacy base URL", &self.legacy_base_url)?;
        check_url("Data API URL", &self.data_api_url)?;
        check_url("Connect script URL", &self.connect_script_url)?;
        check_url("Connect 1.x script URL", &self.legacy_connect_script_url)
    }
}

/// The one rule for server addresses ([`server_url`]), naming which of Human API's addresses
/// is wrong.
pub(crate) fn check_url(what: &str, url: &Url) -> Result<(), Error> {
    server_url(url.as_str())
        .map(drop)
        .map_err(|err| Error::invalid_input(format!("The Human API {what}: {}", err.message)))
}

/// `base` with `segments` appended, each percent-encoded (report ids come from the server).
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("check_url accepted only http(s) URLs with a host")
        .pop_if_empty()
        .extend(segments);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn production_defaults_pass_the_check() {
        let config = Config::production("id", ClientSecret::new("secret"));
        assert!(config.check().is_ok());
        assert_eq!(
            config.connect_script_url.as_str(),
            "https://cdn.humanapi.co/humanapi-connect-client@latest.js"
        );
    }

    #[test]
    fn missing_credentials_are_not_configured() {
        let config = Config::production("id", ClientSecret::new(""));
        assert_eq!(config.check().unwrap_err().code, ErrorCode::NotConfigured);
    }

    #[test]
    fn plain_http_is_only_for_this_machine() {
        assert!(check_url("x", &url("http://127.0.0.1:8080/")).is_ok());
        assert!(check_url("x", &url("http://localhost/")).is_ok());
        assert!(check_url("x", &url("http://[::1]:9/")).is_ok());
        assert!(check_url("x", &url("http://auth.humanapi.co/")).is_err());
        assert!(check_url("x", &url("https://auth.humanapi.co/?a=1")).is_err());
        assert!(check_url("x", &url("data:text/plain,x")).is_err());
    }

    #[test]
    fn endpoints_append_encoded_segments() {
        let base = url("https://api.humanapi.co/v1/human");
        assert_eq!(
            endpoint(&base, &["medical", "reports", "a/b?c", "raw"]).as_str(),
            "https://api.humanapi.co/v1/human/medical/reports/a%2Fb%3Fc/raw"
        );
        assert_eq!(
            endpoint(
                &url("https://auth.humanapi.co/"),
                &["v1", "connect", "token"]
            )
            .as_str(),
            "https://auth.humanapi.co/v1/connect/token"
        );
    }
}
