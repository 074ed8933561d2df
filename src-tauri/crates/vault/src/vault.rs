use crate::SecretStore;
use datalinks_core::{Error, Provider, Result, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One provider's OAuth tokens. Debug output redacts both tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Unix seconds when the access token expires.
    pub expires_at: i64,
    pub scope: Option<String>,
}

/// How a [`TokenSet`] is written: one JSON keyring entry, so a rotated refresh token and its
/// access token are replaced together or not at all.
#[derive(Serialize)]
struct StoredTokensOut<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    expires_at: i64,
    scope: Option<&'a str>,
}

#[derive(Deserialize)]
struct StoredTokensIn {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_at: i64,
    scope: Option<String>,
}

/// Typed access to the secrets of each provider, on top of any [`SecretStore`].
#[derive(Clone)]
pub struct Vault {
    pub store: Arc<dyn SecretStore>,
}

impl Vault {
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self { store }
    }

    /// Where the secrets live, in words for people.
    pub fn location(&self) -> String {
        self.store.location()
    }

    pub fn client_secret(&self, provider: Provider) -> Result<Option<SecretString>> {
        self.store.get(&client_secret_key(provider))
    }

    pub fn set_client_secret(&self, provider: Provider, secret: &SecretString) -> Result<()> {
        self.store.set(&client_secret_key(provider), secret)
    }

    pub fn delete_client_secret(&self, provider: Provider) -> Result<bool> {
        self.store.delete(&client_secret_key(provider))
    }

    /// A token the person made on the provider's website and pasted in (Open Collective's
    /// `Personal-Token`), used instead of OAuth.
    pub fn personal_token(&self, provider: Provider) -> Result<Option<SecretString>> {
        self.store.get(&personal_token_key(provider))
    }

    pub fn set_personal_token(&self, provider: Provider, token: &SecretString) -> Result<()> {
        self.store.set(&personal_token_key(provider), token)
    }

    pub fn delete_personal_token(&self, provider: Provider) -> Result<bool> {
        self.store.delete(&personal_token_key(provider))
    }

    /// Human API's legacy public token, which relaunches Connect 1.x for a returning user.
    pub fn public_token(&self, provider: Provider) -> Result<Option<SecretString>> {
        self.store.get(&public_token_key(provider))
    }

    pub fn set_public_token(&self, provider: Provider, token: &SecretString) -> Result<()> {
        self.store.set(&public_token_key(provider), token)
    }

    pub fn delete_public_token(&self, provider: Provider) -> Result<bool> {
        self.store.delete(&public_token_key(provider))
    }

    /// A stored entry that cannot be parsed is an `internal` error and stays in place.
    pub fn tokens(&self, provider: Provider) -> Result<Option<TokenSet>> {
        let Some(stored) = self.store.get(&tokens_key(provider))? else {
            return Ok(None);
        };
        let parsed: StoredTokensIn = serde_json::from_str(stored.expose()).map_err(|err| {
            // Only the position: serde's message can quote the (secret) input.
            Error::internal(format!(
                "The {provider} tokens stored in the keyring are unreadable (malformed at line {}, \
                 column {}). They were left in place; disconnect and connect again to replace them.",
                err.line(),
                err.column()
            ))
        })?;
        Ok(Some(TokenSet {
            access_token: parsed.access_token,
            refresh_token: parsed.refresh_token,
            expires_at: parsed.expires_at,
            scope: parsed.scope,
        }))
    }

    pub fn set_tokens(&self, provider: Provider, tokens: &TokenSet) -> Result<()> {
        let stored = StoredTokensOut {
            access_token: tokens.access_token.expose(),
            refresh_token: tokens.refresh_token.as_ref().map(SecretString::expose),
            expires_at: tokens.expires_at,
            scope: tokens.scope.as_deref(),
        };
        let json = serde_json::to_string(&stored).map_err(|err| {
            Error::internal(format!("Could not encode the {provider} tokens: {err}"))
        })?;
        self.store
            .set(&tokens_key(provider), &SecretString::new(json))
    }

    pub fn delete_tokens(&self, provider: Provider) -> Result<bool> {
        self.store.delete(&tokens_key(provider))
    }

    /// The Open Humans project master token, present only when the researcher chose to keep it.
    pub fn master_token(&self) -> Result<Option<SecretString>> {
        self.store.get(MASTER_TOKEN_KEY)
    }

    pub fn set_master_token(&self, token: &SecretString) -> Result<()> {
        self.store.set(MASTER_TOKEN_KEY, token)
    }

    pub fn delete_master_token(&self) -> Result<bool> {
        self.store.delete(MASTER_TOKEN_KEY)
    }
}

const MASTER_TOKEN_KEY: &str = "openhumans/master_token";

fn client_secret_key(provider: Provider) -> String {
    format!("{}/client_secret", provider.key())
}

fn personal_token_key(provider: Provider) -> String {
    format!("{}/personal_token", provider.key())
}

fn public_token_key(provider: Provider) -> String {
    format!("{}/public_token", provider.key())
}

fn tokens_key(provider: Provider) -> String {
    format!("{}/tokens", provider.key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use datalinks_core::ErrorCode;

    const OH: Provider = Provider::OpenHumans;

    fn vault() -> (Arc<MemoryStore>, Vault) {
        let store = Arc::new(MemoryStore::new());
        (store.clone(), Vault::new(store))
    }

    fn tokens() -> TokenSet {
        TokenSet {
            access_token: SecretString::new("access-abc"),
            refresh_token: Some(SecretString::new("refresh-xyz")),
            expires_at: 1_700_036_000,
            scope: Some("read write".into()),
        }
    }

    #[test]
    fn client_secret_round_trip_under_its_key() {
        let (store, vault) = vault();
        assert_eq!(vault.client_secret(OH).unwrap(), None);
        vault
            .set_client_secret(OH, &SecretString::new("cs-1"))
            .unwrap();
        assert!(store.contains("openhumans/client_secret"));
        assert_eq!(vault.client_secret(OH).unwrap().unwrap().expose(), "cs-1");
        assert!(vault.delete_client_secret(OH).unwrap());
        assert!(!vault.delete_client_secret(OH).unwrap());
        assert_eq!(vault.client_secret(OH).unwrap(), None);
    }

    #[test]
    fn personal_token_round_trip_under_its_key() {
        let (store, vault) = vault();
        let oc = Provider::OpenCollective;
        assert_eq!(vault.personal_token(oc).unwrap(), None);
        vault
            .set_personal_token(oc, &SecretString::new("pt-1"))
            .unwrap();
        assert!(store.contains("opencollective/personal_token"));
        assert_eq!(vault.personal_token(oc).unwrap().unwrap().expose(), "pt-1");
        assert!(vault.delete_personal_token(oc).unwrap());
        assert_eq!(vault.personal_token(oc).unwrap(), None);
    }

    #[test]
    fn tokens_round_trip_as_one_entry() {
        let (store, vault) = vault();
        assert_eq!(vault.tokens(OH).unwrap(), None);
        vault.set_tokens(OH, &tokens()).unwrap();
        assert_eq!(store.writes(), 1);
        assert!(store.contains("openhumans/tokens"));
        assert_eq!(vault.tokens(OH).unwrap(), Some(tokens()));

        let without_refresh = TokenSet {
            refresh_token: None,
            scope: None,
            ..tokens()
        };
        vault.set_tokens(OH, &without_refresh).unwrap();
        assert_eq!(vault.tokens(OH).unwrap(), Some(without_refresh));

        assert!(vault.delete_tokens(OH).unwrap());
        assert_eq!(vault.tokens(OH).unwrap(), None);
        assert!(!vault.delete_tokens(OH).unwrap());
    }

    #[test]
    fn unavailable_store_reports_keyring_unavailable_and_loses_nothing() {
        let (store, vault) = vault();
        vault.set_tokens(OH, &tokens()).unwrap();
        vault
            .set_client_secret(OH, &SecretString::new("cs-1"))
            .unwrap();
        store.set_unavailable(Some("org.freedesktop.secrets is locked".into()));

        let errors = [
            vault.tokens(OH).unwrap_err(),
            vault.client_secret(OH).unwrap_err(),
            vault
                .set_tokens(
                    OH,
                    &TokenSet {
                        expires_at: 1,
                        ..tokens()
                    },
                )
                .unwrap_err(),
            vault.delete_tokens(OH).unwrap_err(),
            vault.delete_client_secret(OH).unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.code, ErrorCode::KeyringUnavailable);
        }

        store.set_unavailable(None);
        assert_eq!(vault.tokens(OH).unwrap(), Some(tokens()));
        assert_eq!(vault.client_secret(OH).unwrap().unwrap().expose(), "cs-1");
    }

    #[test]
    fn corrupt_tokens_are_an_internal_error_without_the_content_and_stay_stored() {
        let (store, vault) = vault();
        store
            .set(
                "openhumans/tokens",
                &SecretString::new(r#"{"access_token": "a", "expires_at": "leaky-secret"}"#),
            )
            .unwrap();
        let err = vault.tokens(OH).unwrap_err();
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(
            err.message.contains("Open Humans tokens"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("leaky-secret"), "{}", err.message);
        assert!(store.contains("openhumans/tokens"));
    }

    #[test]
    fn master_token_round_trip_under_its_own_key() {
        let (store, vault) = vault();
        vault.set_tokens(OH, &tokens()).unwrap();
        assert_eq!(vault.master_token().unwrap(), None);
        vault
            .set_master_token(&SecretString::new("m".repeat(64)))
            .unwrap();
        assert!(store.contains("openhumans/master_token"));
        assert_eq!(
            vault.master_token().unwrap().unwrap().expose(),
            "m".repeat(64)
        );
        assert!(vault.delete_master_token().unwrap());
        assert_eq!(vault.master_token().unwrap(), None);
        assert_eq!(vault.tokens(OH).unwrap(), Some(tokens()));
    }

    #[test]
    fn token_set_debug_redacts_tokens() {
        let shown = format!("{:?}", tokens());
        assert!(!shown.contains("access-abc"), "{shown}");
        assert!(!shown.contains("refresh-xyz"), "{shown}");
        assert!(shown.contains("1700036000"), "{shown}");
    }
}
