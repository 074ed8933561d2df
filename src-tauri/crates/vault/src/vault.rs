use crate::SecretStore;
use datalinks_core::{
    AccessToken, AccountIdentity, ClientSecret, Error, MasterToken, PersonalToken, Provider,
    PublicToken, RefreshToken, RegistrationIdentity, Result, SecretString, WebhookSecret,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One connection's OAuth tokens. Debug output redacts both tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    /// Unix seconds when the access token expires; `None` when the provider gave no lifetime
    /// (the token is used until the provider refuses it).
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
}

impl TokenSet {
    /// Whether at most `margin_secs` of the access token's life remain at `now`.
    pub fn expires_within(&self, now: i64, margin_secs: i64) -> bool {
        self.expires_at.is_some_and(|at| at - now <= margin_secs)
    }
}

/// Releases before typed expiries wrote `i64::MAX` for "no lifetime known".
const NO_EXPIRY_SENTINEL: i64 = i64::MAX;

/// How a [`TokenSet`] is written: one JSON keyring entry, so a rotated refresh token and its
/// access token are replaced together or not at all.
#[derive(Serialize)]
struct StoredTokensOut<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    expires_at: Option<i64>,
    scope: Option<&'a str>,
}

#[derive(Deserialize)]
struct StoredTokensIn {
    access_token: AccessToken,
    refresh_token: Option<RefreshToken>,
    expires_at: Option<i64>,
    scope: Option<String>,
}

/// The kinds of secret the vault keeps, each under its own entry name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A registration's client secret.
    ClientSecret,
    /// An account's OAuth token set (one JSON entry).
    Tokens,
    /// An account's personal token (Open Collective).
    PersonalToken,
    /// An account's legacy public token (Human API Connect 1.x).
    PublicToken,
    /// A project's master token, bound to the server it was issued by.
    MasterToken,
    /// A project's webhook secret, bound to its server and project id.
    WebhookSecret,
}

impl SecretKind {
    fn name(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::Tokens => "tokens",
            Self::PersonalToken => "personal_token",
            Self::PublicToken => "public_token",
            Self::MasterToken => "master_token",
            Self::WebhookSecret => "webhook_secret",
        }
    }
}

/// Whom a secret belongs to, which names its keyring entry.
#[derive(Debug, Clone, Copy)]
pub enum SecretOwner<'a> {
    /// A registration (its client secret) or, with no client id, a server (a master token).
    Registration(&'a RegistrationIdentity),
    Account(&'a AccountIdentity),
}

impl SecretOwner<'_> {
    /// `<provider>/<registration fingerprint>[/<account>]/<kind>`: the registration's
    /// fingerprint changes with its client id and every server address, so a secret is found
    /// only under the identity it was stored with.
    pub fn key(self, kind: SecretKind) -> String {
        match self {
            Self::Registration(registration) => format!(
                "{}/{}/{}",
                registration.provider().key(),
                registration.fingerprint(),
                kind.name()
            ),
            Self::Account(account) => format!(
                "{}/{}/{}/{}",
                account.registration.provider().key(),
                account.registration.fingerprint(),
                entry_name_part(&account.account_id),
                kind.name()
            ),
        }
    }
}

/// The entry name releases before registrations used: `<provider>/<kind>` (the master token
/// was `openhumans/master_token`).
pub fn legacy_key(provider: Provider, kind: SecretKind) -> String {
    format!("{}/{}", provider.key(), kind.name())
}

/// An account id as part of an entry name: letters, digits, `.`, `_` and `-` stay, everything
/// else (a `/` a server might send) is percent-encoded, so ids cannot run into each other.
fn entry_name_part(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Typed access to every secret, on top of any [`SecretStore`].
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

    /// The secret `owner` keeps as `kind`, as its own type.
    fn get<T: for<'a> From<&'a str>>(
        &self,
        owner: SecretOwner<'_>,
        kind: SecretKind,
    ) -> Result<Option<T>> {
        Ok(self
            .store
            .get(&owner.key(kind))?
            .map(|s| T::from(s.expose())))
    }

    fn set(&self, owner: SecretOwner<'_>, kind: SecretKind, value: &str) -> Result<()> {
        self.store.set(&owner.key(kind), &SecretString::new(value))
    }

    /// Deletes one secret; `Ok(false)` when there was none.
    pub fn delete(&self, owner: SecretOwner<'_>, kind: SecretKind) -> Result<bool> {
        self.store.delete(&owner.key(kind))
    }

    pub fn client_secret(
        &self,
        registration: &RegistrationIdentity,
    ) -> Result<Option<ClientSecret>> {
        self.get(
            SecretOwner::Registration(registration),
            SecretKind::ClientSecret,
        )
    }

    pub fn set_client_secret(
        &self,
        registration: &RegistrationIdentity,
        secret: &ClientSecret,
    ) -> Result<()> {
        let owner = SecretOwner::Registration(registration);
        self.set(owner, SecretKind::ClientSecret, secret.expose())
    }

    /// A token the person made on the provider's website and pasted in (Open Collective's
    /// `Personal-Token`), used instead of OAuth.
    pub fn personal_token(&self, account: &AccountIdentity) -> Result<Option<PersonalToken>> {
        self.get(SecretOwner::Account(account), SecretKind::PersonalToken)
    }

    pub fn set_personal_token(
        &self,
        account: &AccountIdentity,
        token: &PersonalToken,
    ) -> Result<()> {
        self.set(
            SecretOwner::Account(account),
            SecretKind::PersonalToken,
            token.expose(),
        )
    }

    /// Human API's legacy public token, which relaunches Connect 1.x for a returning person.
    pub fn public_token(&self, account: &AccountIdentity) -> Result<Option<PublicToken>> {
        self.get(SecretOwner::Account(account), SecretKind::PublicToken)
    }

    pub fn set_public_token(&self, account: &AccountIdentity, token: &PublicToken) -> Result<()> {
        self.set(
            SecretOwner::Account(account),
            SecretKind::PublicToken,
            token.expose(),
        )
    }

    /// A stored entry that cannot be parsed is an `internal` error and stays in place.
    pub fn tokens(&self, account: &AccountIdentity) -> Result<Option<TokenSet>> {
        let Some(stored) =
            self.get::<SecretString>(SecretOwner::Account(account), SecretKind::Tokens)?
        else {
            return Ok(None);
        };
        let parsed: StoredTokensIn = serde_json::from_str(stored.expose()).map_err(|err| {
            // Only the position: serde's message can quote the (secret) input.
            Error::internal(format!(
                "The {} tokens stored in the keyring are unreadable (malformed at line {}, \
                 column {}). They were left in place; disconnect and connect again to replace them.",
                account.registration.provider(),
                err.line(),
                err.column()
            ))
        })?;
        Ok(Some(TokenSet {
            access_token: parsed.access_token,
            refresh_token: parsed.refresh_token,
            expires_at: parsed.expires_at.filter(|&at| at != NO_EXPIRY_SENTINEL),
            scope: parsed.scope,
        }))
    }

    pub fn set_tokens(&self, account: &AccountIdentity, tokens: &TokenSet) -> Result<()> {
        let stored = StoredTokensOut {
            access_token: tokens.access_token.expose(),
            refresh_token: tokens.refresh_token.as_ref().map(RefreshToken::expose),
            expires_at: tokens.expires_at,
            scope: tokens.scope.as_deref(),
        };
        let json = serde_json::to_string(&stored).map_err(|err| {
            Error::internal(format!(
                "Could not encode the {} tokens: {err}",
                account.registration.provider()
            ))
        })?;
        self.set(SecretOwner::Account(account), SecretKind::Tokens, &json)
    }

    /// A project's master token, present only when the researcher chose to keep it. `server`
    /// names the Open Humans server it was issued by (no client id).
    pub fn master_token(&self, server: &RegistrationIdentity) -> Result<Option<MasterToken>> {
        self.get(SecretOwner::Registration(server), SecretKind::MasterToken)
    }

    pub fn set_master_token(
        &self,
        server: &RegistrationIdentity,
        token: &MasterToken,
    ) -> Result<()> {
        self.set(
            SecretOwner::Registration(server),
            SecretKind::MasterToken,
            token.expose(),
        )
    }

    /// A project's webhook secret; `project` names its server (no client id) and, as the
    /// account, the project id.
    pub fn webhook_secret(&self, project: &AccountIdentity) -> Result<Option<WebhookSecret>> {
        self.get(SecretOwner::Account(project), SecretKind::WebhookSecret)
    }

    pub fn set_webhook_secret(
        &self,
        project: &AccountIdentity,
        secret: &WebhookSecret,
    ) -> Result<()> {
        self.set(
            SecretOwner::Account(project),
            SecretKind::WebhookSecret,
            secret.expose(),
        )
    }

    /// Moves a secret from its name before registrations (`legacy`) to where `owner` keeps it:
    /// written under the new name first, then deleted under the old one, so an interruption
    /// loses nothing. `Ok(false)` when there was nothing to move.
    pub fn adopt_legacy(
        &self,
        legacy: &str,
        owner: SecretOwner<'_>,
        kind: SecretKind,
    ) -> Result<bool> {
        let Some(value) = self.store.get(legacy)? else {
            return Ok(false);
        };
        self.store.set(&owner.key(kind), &value)?;
        self.store.delete(legacy)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use datalinks_core::ErrorCode;

    fn registration() -> RegistrationIdentity {
        RegistrationIdentity::new(
            Provider::OpenHumans,
            "client-1",
            vec!["https://www.openhumans.org".into()],
        )
    }

    fn account() -> AccountIdentity {
        registration().account("12345678")
    }

    fn vault() -> (Arc<MemoryStore>, Vault) {
        let store = Arc::new(MemoryStore::new());
        (store.clone(), Vault::new(store))
    }

    fn tokens() -> TokenSet {
        TokenSet {
            access_token: AccessToken::new("access-abc"),
            refresh_token: Some(RefreshToken::new("refresh-xyz")),
            expires_at: Some(1_700_036_000),
            scope: Some("read write".into()),
        }
    }

    #[test]
    fn entry_names_carry_the_registration_fingerprint_and_the_account() {
        let fingerprint = registration().fingerprint();
        assert_eq!(
            SecretOwner::Registration(&registration()).key(SecretKind::ClientSecret),
            format!("openhumans/{fingerprint}/client_secret")
        );
        assert_eq!(
            SecretOwner::Account(&account()).key(SecretKind::Tokens),
            format!("openhumans/{fingerprint}/12345678/tokens")
        );
        let hostile = registration().account("../22222222/x");
        assert_eq!(
            SecretOwner::Account(&hostile).key(SecretKind::Tokens),
            format!("openhumans/{fingerprint}/..%2F22222222%2Fx/tokens")
        );
    }

    #[test]
    fn a_secret_is_found_only_under_the_identity_it_was_stored_with() {
        let (_, vault) = vault();
        vault
            .set_client_secret(&registration(), &ClientSecret::new("cs-1"))
            .unwrap();
        vault.set_tokens(&account(), &tokens()).unwrap();
        let elsewhere = RegistrationIdentity::new(
            Provider::OpenHumans,
            "client-1",
            vec!["https://attacker.example".into()],
        );
        assert_eq!(vault.client_secret(&elsewhere).unwrap(), None);
        assert_eq!(vault.tokens(&elsewhere.account("12345678")).unwrap(), None);
        assert_eq!(
            vault.tokens(&registration().account("87654321")).unwrap(),
            None
        );
        assert_eq!(
            vault
                .client_secret(&registration())
                .unwrap()
                .unwrap()
                .expose(),
            "cs-1"
        );
        assert_eq!(vault.tokens(&account()).unwrap(), Some(tokens()));
    }

    #[test]
    fn tokens_round_trip_as_one_entry() {
        let (store, vault) = vault();
        vault.set_tokens(&account(), &tokens()).unwrap();
        assert_eq!(store.writes(), 1);
        assert_eq!(vault.tokens(&account()).unwrap(), Some(tokens()));

        let without_refresh = TokenSet {
            refresh_token: None,
            scope: None,
            expires_at: None,
            ..tokens()
        };
        vault.set_tokens(&account(), &without_refresh).unwrap();
        assert_eq!(vault.tokens(&account()).unwrap(), Some(without_refresh));

        assert!(vault
            .delete(SecretOwner::Account(&account()), SecretKind::Tokens)
            .unwrap());
        assert_eq!(vault.tokens(&account()).unwrap(), None);
    }

    #[test]
    fn an_old_no_expiry_sentinel_reads_as_no_expiry() {
        let (store, vault) = vault();
        store
            .set(
                &SecretOwner::Account(&account()).key(SecretKind::Tokens),
                &SecretString::new(format!(
                    r#"{{"access_token":"a","refresh_token":null,"expires_at":{},"scope":null}}"#,
                    i64::MAX
                )),
            )
            .unwrap();
        assert_eq!(vault.tokens(&account()).unwrap().unwrap().expires_at, None);
    }

    #[test]
    fn legacy_entries_move_to_their_new_name_once() {
        let (store, vault) = vault();
        let legacy = legacy_key(Provider::OpenHumans, SecretKind::ClientSecret);
        assert_eq!(legacy, "openhumans/client_secret");
        store
            .set(&legacy, &SecretString::new("old-secret"))
            .unwrap();
        let owner = SecretOwner::Registration(&registration());
        assert!(vault
            .adopt_legacy(&legacy, owner, SecretKind::ClientSecret)
            .unwrap());
        assert!(!store.contains(&legacy));
        assert_eq!(
            vault
                .client_secret(&registration())
                .unwrap()
                .unwrap()
                .expose(),
            "old-secret"
        );
        assert!(!vault
            .adopt_legacy(&legacy, owner, SecretKind::ClientSecret)
            .unwrap());
    }

    #[test]
    fn a_failed_move_keeps_the_legacy_entry() {
        let (store, vault) = vault();
        let legacy = legacy_key(Provider::OpenHumans, SecretKind::Tokens);
        store.set(&legacy, &SecretString::new("{}")).unwrap();
        store.fail_writes(true);
        let err = vault
            .adopt_legacy(
                &legacy,
                SecretOwner::Account(&account()),
                SecretKind::Tokens,
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::KeyringUnavailable);
        assert!(store.contains(&legacy));
    }

    #[test]
    fn unavailable_store_reports_keyring_unavailable_and_loses_nothing() {
        let (store, vault) = vault();
        vault.set_tokens(&account(), &tokens()).unwrap();
        vault
            .set_client_secret(&registration(), &ClientSecret::new("cs-1"))
            .unwrap();
        store.set_unavailable(Some("org.freedesktop.secrets is locked".into()));

        let errors = [
            vault.tokens(&account()).unwrap_err(),
            vault.client_secret(&registration()).unwrap_err(),
            vault.set_tokens(&account(), &tokens()).unwrap_err(),
            vault
                .delete(SecretOwner::Account(&account()), SecretKind::Tokens)
                .unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.code, ErrorCode::KeyringUnavailable);
        }

        store.set_unavailable(None);
        assert_eq!(vault.tokens(&account()).unwrap(), Some(tokens()));
        assert_eq!(
            vault
                .client_secret(&registration())
                .unwrap()
                .unwrap()
                .expose(),
            "cs-1"
        );
    }

    #[test]
    fn corrupt_tokens_are_an_internal_error_without_the_content_and_stay_stored() {
        let (store, vault) = vault();
        let key = SecretOwner::Account(&account()).key(SecretKind::Tokens);
        store
            .set(
                &key,
                &SecretString::new(r#"{"access_token": "a", "expires_at": "leaky-secret"}"#),
            )
            .unwrap();
        let err = vault.tokens(&account()).unwrap_err();
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(
            err.message.contains("Open Humans tokens"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("leaky-secret"), "{}", err.message);
        assert!(store.contains(&key));
    }

    #[test]
    fn master_tokens_are_kept_per_server() {
        let (_, vault) = vault();
        let server =
            |url: &str| RegistrationIdentity::new(Provider::OpenHumans, "", vec![url.into()]);
        let production = server("https://www.openhumans.org");
        vault
            .set_master_token(&production, &MasterToken::new("m".repeat(64)))
            .unwrap();
        assert_eq!(
            vault.master_token(&production).unwrap().unwrap().expose(),
            "m".repeat(64)
        );
        assert_eq!(
            vault
                .master_token(&server("https://staging.openhumans.org"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn token_set_debug_redacts_tokens() {
        let shown = format!("{:?}", tokens());
        assert!(!shown.contains("access-abc"), "{shown}");
        assert!(!shown.contains("refresh-xyz"), "{shown}");
        assert!(shown.contains("1700036000"), "{shown}");
    }
}
