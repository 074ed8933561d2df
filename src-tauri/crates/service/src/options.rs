//! Each provider's own settings, beside the shared ones (client ID, server, transport). They
//! are stored as a JSON object in the settings row; the type comes from the provider.

use crate::providers::adapter;
use datalinks_core::{Error, Provider, Result};
use datalinks_opencollective::{Scope, ScopeSeparator};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The path of every loopback redirect: register `http://127.0.0.1/callback` with Open Humans
/// (any port), `http://127.0.0.1:<port>/callback` with Open Collective.
pub const LOOPBACK_PATH: &str = "/callback";

/// A provider's own settings, tagged with the provider they belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ProviderOptions {
    OpenHumans,
    OpenCollective(OpenCollectiveOptions),
    HumanApi(HumanApiOptions),
}

/// Open Collective: the website (`base_url`) serves the authorize page, the API host the token
/// endpoint and GraphQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct OpenCollectiveOptions {
    pub api_url: String,
    /// Open Collective compares the whole redirect URI with the one registered callback, so the
    /// loopback transport needs a fixed port: `http://127.0.0.1:<port>/callback`.
    #[ts(type = "number | null")]
    pub loopback_port: Option<u16>,
    pub scopes: Vec<Scope>,
    pub scope_separator: ScopeSeparator,
    /// Whether sign-ins prove the code exchange with PKCE. Off only for a server whose consent
    /// page drops the challenge; the client secret must then be stored.
    pub pkce: bool,
}

impl Default for OpenCollectiveOptions {
    fn default() -> Self {
        Self {
            api_url: datalinks_opencollective::API_URL
                .trim_end_matches('/')
                .to_owned(),
            loopback_port: None,
            // All the account overview needs (everything else it reads needs no scope), and a
            // single scope is read alike by every consent page version
            // (docs/providers/open-collective.md, "Scopes").
            scopes: vec![Scope::Email],
            scope_separator: ScopeSeparator::Comma,
            pkce: true,
        }
    }
}

/// Human API: whom "Connect" links next and where each Human API host is. Its auth service
/// (`auth_url`) is also stored as the settings' server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct HumanApiOptions {
    /// The email of the person "Connect" links (a new connection, unless one of this
    /// registration already belongs to that email).
    pub email: Option<String>,
    pub connect_script_url: String,
    pub auth_url: String,
    pub data_api_url: String,
    /// The legacy 1.x host (`/v1/connect/tokens`, `/v1/connect/publictokens`).
    pub legacy_url: String,
    /// The app still uses Connect 1.x: access comes from finalizing its `sessionTokenObject`.
    pub legacy_flow: bool,
    /// The Connect 1.x script the legacy flow opens.
    pub legacy_connect_script_url: String,
}

impl Default for HumanApiOptions {
    fn default() -> Self {
        Self {
            email: None,
            connect_script_url: datalinks_humanapi::DEFAULT_CONNECT_SCRIPT_URL.to_owned(),
            auth_url: datalinks_humanapi::DEFAULT_AUTH_BASE_URL.to_owned(),
            data_api_url: datalinks_humanapi::DEFAULT_DATA_API_URL.to_owned(),
            legacy_url: datalinks_humanapi::DEFAULT_LEGACY_BASE_URL.to_owned(),
            legacy_flow: false,
            legacy_connect_script_url: datalinks_humanapi::DEFAULT_LEGACY_CONNECT_SCRIPT_URL
                .to_owned(),
        }
    }
}

impl ProviderOptions {
    /// The options a new registration of `provider` starts with.
    pub fn default_for(provider: Provider) -> Self {
        adapter(provider).default_options()
    }

    pub fn provider(&self) -> Provider {
        match self {
            Self::OpenHumans => Provider::OpenHumans,
            Self::OpenCollective(_) => Provider::OpenCollective,
            Self::HumanApi(_) => Provider::HumanApi,
        }
    }

    /// Sets the separate API address and the fixed loopback port, as a command line gives
    /// them; refused for a provider that has no such setting.
    pub fn set_addresses(
        &mut self,
        api_url: Option<String>,
        loopback_port: Option<u16>,
    ) -> Result<()> {
        if api_url.is_none() && loopback_port.is_none() {
            return Ok(());
        }
        let Self::OpenCollective(options) = self else {
            return Err(Error::invalid_input(format!(
                "{} has no separate API address or fixed loopback port to set.",
                self.provider()
            )));
        };
        if let Some(api_url) = api_url {
            options.api_url = api_url;
        }
        if loopback_port.is_some() {
            options.loopback_port = loopback_port;
        }
        Ok(())
    }

    /// Reads the stored JSON object of `provider`'s options.
    pub fn from_column(provider: Provider, column: &str) -> Result<Self> {
        let unreadable = |err: serde_json::Error| {
            Error::storage(format!(
                "The stored {provider} settings are unreadable: {err}"
            ))
        };
        adapter(provider).options_from(column).map_err(unreadable)
    }

    /// The JSON object stored for these options (without the tag: the row names the provider).
    pub fn to_column(&self) -> String {
        let value = match self {
            Self::OpenHumans => Ok(serde_json::json!({})),
            Self::OpenCollective(options) => serde_json::to_value(options),
            Self::HumanApi(options) => serde_json::to_value(options),
        };
        value.map(|v| v.to_string()).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_from_a_command_line_reach_only_a_provider_that_has_them() {
        let mut oc = ProviderOptions::default_for(Provider::OpenCollective);
        oc.set_addresses(Some("http://127.0.0.1:3060".into()), Some(8123))
            .unwrap();
        let ProviderOptions::OpenCollective(options) = &oc else {
            unreachable!()
        };
        assert_eq!(options.api_url, "http://127.0.0.1:3060");
        assert_eq!(options.loopback_port, Some(8123));

        let mut oh = ProviderOptions::default_for(Provider::OpenHumans);
        oh.set_addresses(None, None).unwrap();
        let err = oh.set_addresses(None, Some(8123)).unwrap_err();
        assert!(
            err.message.contains("Open Humans has no"),
            "{}",
            err.message
        );
    }

    #[test]
    fn options_round_trip_through_their_column_and_old_rows_get_defaults() {
        for provider in Provider::ALL {
            let options = ProviderOptions::default_for(provider);
            assert_eq!(options.provider(), provider);
            let column = options.to_column();
            assert_eq!(
                ProviderOptions::from_column(provider, &column).unwrap(),
                options
            );
            assert_eq!(
                ProviderOptions::from_column(provider, "{}").unwrap(),
                options,
                "a row from before the options column reads as the defaults"
            );
        }
        let stored = r#"{"scopes":["email","virtualCards"],"scope_separator":"space","loopback_port":53682}"#;
        let ProviderOptions::OpenCollective(oc) =
            ProviderOptions::from_column(Provider::OpenCollective, stored).unwrap()
        else {
            panic!("Open Collective options")
        };
        assert_eq!(oc.scopes, [Scope::Email, Scope::VirtualCards]);
        assert_eq!(oc.scope_separator, ScopeSeparator::Space);
        assert_eq!(oc.loopback_port, Some(53682));
    }
}
