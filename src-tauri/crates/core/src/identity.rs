//! Who issued a secret. Every token and client secret belongs to one app registration (a
//! provider's server addresses and client id) and, for tokens, to one account there. Secrets are
//! kept under names derived from that identity, so a secret can only be looked up by code that
//! is about to talk to the very servers it was issued by.

use crate::Provider;
use sha2::{Digest, Sha256};
use std::fmt;

/// What every built-in sandbox registration names instead of a server address: the sandbox runs
/// inside the app on whatever port is free, and no server outside it can be one.
pub const SANDBOX_SERVER: &str = "sandbox";

/// An app registration: the provider, the client id (empty for a personal-token-only setup) and
/// the server addresses (normalized base URLs) its secrets are sent to, in the provider's fixed
/// order. Changing any of them makes a different registration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrationIdentity {
    provider: Provider,
    client_id: String,
    servers: Vec<String>,
}

impl RegistrationIdentity {
    pub fn new(provider: Provider, client_id: impl Into<String>, servers: Vec<String>) -> Self {
        Self {
            provider,
            client_id: client_id.into(),
            servers,
        }
    }

    /// The built-in sandbox's registration of `provider`.
    pub fn sandbox(provider: Provider, client_id: impl Into<String>) -> Self {
        Self::new(provider, client_id, vec![SANDBOX_SERVER.to_owned()])
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn servers(&self) -> &[String] {
        &self.servers
    }

    pub fn is_sandbox(&self) -> bool {
        self.servers == [SANDBOX_SERVER]
    }

    /// 16 hex digits of SHA-256 over the provider, the client id and the servers, each
    /// prefixed with its length: short enough for a keyring entry name, and different for any
    /// change of them.
    pub fn fingerprint(&self) -> String {
        let mut digest = Sha256::new();
        let parts = [self.provider.key(), self.client_id.as_str()]
            .into_iter()
            .chain(self.servers.iter().map(String::as_str));
        for part in parts {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        digest.finalize()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The account `account_id` at this registration.
    pub fn account(&self, account_id: impl Into<String>) -> AccountIdentity {
        AccountIdentity {
            registration: self.clone(),
            account_id: account_id.into(),
        }
    }
}

impl fmt::Display for RegistrationIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client = if self.client_id.is_empty() {
            "no client id".to_owned()
        } else {
            format!("client {}", self.client_id)
        };
        write!(
            f,
            "{} at {} ({client})",
            self.provider,
            self.servers.join(", ")
        )
    }
}

/// One account at one registration: whose tokens these are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountIdentity {
    pub registration: RegistrationIdentity,
    /// The provider's id of the account (Open Humans: the project member id).
    pub account_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oh(client_id: &str, server: &str) -> RegistrationIdentity {
        RegistrationIdentity::new(Provider::OpenHumans, client_id, vec![server.to_owned()])
    }

    #[test]
    fn any_change_of_client_or_server_changes_the_fingerprint() {
        let base = oh("abc", "https://www.openhumans.org");
        let fingerprint = base.fingerprint();
        assert_eq!(fingerprint.len(), 16);
        assert_eq!(
            oh("abc", "https://www.openhumans.org").fingerprint(),
            fingerprint
        );
        for other in [
            oh("abd", "https://www.openhumans.org"),
            oh("abc", "https://staging.openhumans.org"),
            oh("abc", "http://www.openhumans.org"),
            RegistrationIdentity::new(
                Provider::OpenCollective,
                "abc",
                vec!["https://www.openhumans.org".into()],
            ),
            RegistrationIdentity::sandbox(Provider::OpenHumans, "abc"),
        ] {
            assert_ne!(other.fingerprint(), fingerprint, "{other}");
        }
        // A client id cannot pass for a server: each part carries its length.
        assert_ne!(
            RegistrationIdentity::new(Provider::OpenHumans, "a\nb", vec![]).fingerprint(),
            RegistrationIdentity::new(Provider::OpenHumans, "a", vec!["b".into()]).fingerprint()
        );
    }

    #[test]
    fn the_sandbox_names_no_server_address() {
        let sandbox = RegistrationIdentity::sandbox(Provider::HumanApi, "id");
        assert!(sandbox.is_sandbox());
        assert!(!oh("id", "http://127.0.0.1:8765").is_sandbox());
    }
}
