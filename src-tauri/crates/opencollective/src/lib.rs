//! Open Collective as Datalinks talks to it (docs/providers/open-collective.md): the authorize
//! page on the website, the token endpoint and GraphQL v2 on the API host. Both hosts are
//! configurable so the sandbox and self-hosted instances work the same way as production.

mod api;
mod scope;

pub use api::{
    AccountRef, Amount, ApiClient, ApiError, Credential, Expense, Me, Membership, Page,
    PageRequest, Transaction, DEFAULT_RATE_LIMIT_WAIT,
};
pub use scope::{Scope, ScopeDescription, ScopeSeparator};

use datalinks_core::ClientSecret;
use datalinks_oauth::{ClientAuthentication, OAuthClient};
use url::Url;

pub const WEBSITE_URL: &str = "https://opencollective.com/";
pub const API_URL: &str = "https://api.opencollective.com/";

/// Where the website (authorize page) and the API (token endpoint, GraphQL) are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    website: Url,
    api: Url,
}

impl Hosts {
    pub fn production() -> Self {
        Self::new(
            Url::parse(WEBSITE_URL).expect("a valid URL"),
            Url::parse(API_URL).expect("a valid URL"),
        )
    }

    /// Any path prefix of either base is kept (`https://host/oc` serves `https://host/oc/oauth/token`).
    pub fn new(website: Url, api: Url) -> Self {
        Self {
            website: as_directory(website),
            api: as_directory(api),
        }
    }

    /// One server for both, as the sandbox runs it.
    pub fn single(base: Url) -> Self {
        Self::new(base.clone(), base)
    }

    pub fn authorize_url(&self) -> Url {
        self.website
            .join("oauth/authorize")
            .expect("a relative path")
    }

    pub fn token_url(&self) -> Url {
        self.api.join("oauth/token").expect("a relative path")
    }

    pub fn graphql_url(&self) -> Url {
        self.api.join("graphql/v2").expect("a relative path")
    }
}

/// A base ending in `/`, so relative endpoints are joined below it rather than beside it.
fn as_directory(mut base: Url) -> Url {
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base
}

/// The `scope` parameter of the authorize URL (docs/providers/open-collective.md, "Scopes"),
/// joined as the consent page expects; none when no scope is asked for.
pub fn scope_parameter(scopes: &[Scope], separator: ScopeSeparator) -> Option<String> {
    (!scopes.is_empty()).then(|| separator.join(scopes))
}

/// The token endpoint client (docs/providers/open-collective.md, "Signing in", "Tokens"). With a
/// secret, the client authenticates in the form body as Open Collective's docs do (Basic works
/// too, but turns `invalid_client` into a 401). Without one it can still exchange a code proven
/// with PKCE, but it cannot refresh:
/// Open Collective requires the secret for that, so the person reconnects every 90 days.
/// Open Collective has no revocation endpoint for apps.
pub fn oauth_client(
    http: reqwest::Client,
    hosts: &Hosts,
    client_id: String,
    client_secret: Option<ClientSecret>,
) -> OAuthClient {
    let authentication = match client_secret {
        Some(secret) => ClientAuthentication::Body(secret),
        None => ClientAuthentication::PkceOnly,
    };
    OAuthClient::with_authentication(http, hosts.token_url(), None, client_id, authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_endpoints_are_on_their_hosts() {
        let hosts = Hosts::production();
        assert_eq!(
            hosts.authorize_url().as_str(),
            "https://opencollective.com/oauth/authorize"
        );
        assert_eq!(
            hosts.token_url().as_str(),
            "https://api.opencollective.com/oauth/token"
        );
        assert_eq!(
            hosts.graphql_url().as_str(),
            "https://api.opencollective.com/graphql/v2"
        );
    }

    #[test]
    fn a_path_prefix_is_kept() {
        let hosts = Hosts::single(Url::parse("http://127.0.0.1:9000/oc").unwrap());
        assert_eq!(
            hosts.token_url().as_str(),
            "http://127.0.0.1:9000/oc/oauth/token"
        );
    }

    #[test]
    fn scopes_are_joined_as_asked_and_absent_when_none_is() {
        assert_eq!(
            scope_parameter(&[Scope::Email, Scope::Account], ScopeSeparator::Space).as_deref(),
            Some("email account")
        );
        assert_eq!(
            scope_parameter(&[Scope::Email, Scope::Account], ScopeSeparator::Comma).as_deref(),
            Some("email,account")
        );
        assert_eq!(scope_parameter(&[], ScopeSeparator::Comma), None);
    }
}
