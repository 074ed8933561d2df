use crate::TokenEndpointError;
use datalinks_core::{
    now_unix, AccessToken, AccountIdentity, Error, ErrorCode, Provider, RefreshToken, Result,
};
use datalinks_vault::{SecretKind, SecretOwner, TokenSet, Vault};
use std::future::Future;
use tokio::sync::Mutex;

/// Refresh when fewer than this many seconds of the access token remain.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// Keeps one connection's tokens: hands out a valid access token, refreshing it when needed.
///
/// One lock per connection: concurrent callers queue on it, so an expired token causes exactly
/// one refresh and the rest reuse its result. A refreshed token set is written to the vault
/// *before* its access token is handed out; the refresh closure's result never reaches a
/// caller any other way, so a rotated refresh token cannot be used without being stored first.
pub struct TokenKeeper {
    account: AccountIdentity,
    vault: Vault,
    /// `None` until first loaded from the vault; the lock every refresh runs under.
    cached: Mutex<Option<TokenSet>>,
}

impl TokenKeeper {
    pub fn new(account: AccountIdentity, vault: Vault) -> Self {
        Self {
            account,
            vault,
            cached: Mutex::new(None),
        }
    }

    /// Stores a token set obtained from a code exchange.
    pub async fn store(&self, tokens: TokenSet) -> Result<()> {
        let mut cached = self.cached.lock().await;
        self.save(&tokens).await?;
        *cached = Some(tokens);
        Ok(())
    }

    /// The stored token set, if any (read from the vault once, then cached).
    pub async fn current(&self) -> Result<Option<TokenSet>> {
        let mut cached = self.cached.lock().await;
        self.load(&mut cached).await
    }

    /// A valid access token, refreshing first when under [`REFRESH_MARGIN_SECS`] remain.
    pub async fn access_token<F, Fut>(&self, refresh: F) -> Result<AccessToken>
    where
        F: FnOnce(RefreshToken) -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let mut cached = self.cached.lock().await;
        let tokens = self.load(&mut cached).await?.ok_or_else(no_tokens)?;
        if !tokens.expires_within(now_unix(), REFRESH_MARGIN_SECS) {
            return Ok(tokens.access_token);
        }
        self.refresh_locked(&mut cached, tokens, refresh).await
    }

    /// Called after the provider rejected `rejected` (401): refreshes unless another caller
    /// already replaced that token, in which case the newer one is returned.
    pub async fn access_token_after_rejection<F, Fut>(
        &self,
        rejected: &AccessToken,
        refresh: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce(RefreshToken) -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let mut cached = self.cached.lock().await;
        let tokens = self.load(&mut cached).await?.ok_or_else(no_tokens)?;
        if tokens.access_token != *rejected {
            return Ok(tokens.access_token);
        }
        self.refresh_locked(&mut cached, tokens, refresh).await
    }

    /// For a provider that mints a new access token instead of refreshing (Human API): the
    /// stored access token, or a new one from `mint` when none is stored or under
    /// [`REFRESH_MARGIN_SECS`] remain.
    pub async fn access_token_minting<F, Fut>(&self, mint: F) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let mut cached = self.cached.lock().await;
        let valid = self
            .load(&mut cached)
            .await?
            .filter(|t| !t.expires_within(now_unix(), REFRESH_MARGIN_SECS));
        match valid {
            Some(tokens) => Ok(tokens.access_token),
            None => self.mint_locked(&mut cached, mint).await,
        }
    }

    /// [`Self::access_token_minting`] after the provider rejected `rejected`: mints unless
    /// another caller already replaced that token.
    pub async fn access_token_minting_after_rejection<F, Fut>(
        &self,
        rejected: &AccessToken,
        mint: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let mut cached = self.cached.lock().await;
        let replaced = self
            .load(&mut cached)
            .await?
            .filter(|t| t.access_token != *rejected);
        match replaced {
            Some(tokens) => Ok(tokens.access_token),
            None => self.mint_locked(&mut cached, mint).await,
        }
    }

    async fn mint_locked<F, Fut>(
        &self,
        cached: &mut Option<TokenSet>,
        mint: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let fresh = mint().await?;
        self.save(&fresh).await?;
        let access_token = fresh.access_token.clone();
        *cached = Some(fresh);
        Ok(access_token)
    }

    /// Deletes the stored tokens. Returns whether there were any.
    pub async fn forget(&self) -> Result<bool> {
        let mut cached = self.cached.lock().await;
        let vault = self.vault.clone();
        let account = self.account.clone();
        let existed =
            blocking(move || vault.delete(SecretOwner::Account(&account), SecretKind::Tokens))
                .await?;
        *cached = None;
        Ok(existed)
    }

    /// Drops the in-memory copy so the next call reads the vault again (after "Retry").
    pub async fn reload(&self) {
        *self.cached.lock().await = None;
    }

    async fn refresh_locked<F, Fut>(
        &self,
        cached: &mut Option<TokenSet>,
        tokens: TokenSet,
        refresh: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce(RefreshToken) -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let refresh_token = tokens.refresh_token.ok_or_else(|| {
            Error::new(
                ErrorCode::ReconnectNeeded,
                format!(
                    "The {} access token expired and there is no refresh token.",
                    self.account.registration.provider()
                ),
            )
        })?;
        let mut fresh = refresh(refresh_token.clone()).await?;
        // A provider may keep the refresh token and omit it from the response.
        fresh.refresh_token.get_or_insert(refresh_token);
        self.save(&fresh).await?;
        let access_token = fresh.access_token.clone();
        *cached = Some(fresh);
        Ok(access_token)
    }

    async fn load(&self, cached: &mut Option<TokenSet>) -> Result<Option<TokenSet>> {
        if cached.is_none() {
            let vault = self.vault.clone();
            let account = self.account.clone();
            *cached = blocking(move || vault.tokens(&account)).await?;
        }
        Ok(cached.clone())
    }

    async fn save(&self, tokens: &TokenSet) -> Result<()> {
        let vault = self.vault.clone();
        let account = self.account.clone();
        let tokens = tokens.clone();
        blocking(move || vault.set_tokens(&account, &tokens)).await
    }
}

/// What a failed refresh means for the connection: `invalid_grant` (the refresh token was
/// revoked, expired or already rotated) asks the person to connect again; anything else keeps
/// the tokens for a later try.
pub fn refresh_failed(provider: Provider, err: TokenEndpointError) -> Error {
    match err {
        TokenEndpointError::InvalidGrant { .. } => Error::new(
            ErrorCode::ReconnectNeeded,
            format!(
                "{provider} no longer accepts this connection (invalid_grant): access was withdrawn or replaced. Connect again; your account, settings and history are kept."
            ),
        ),
        other => Error::from(other),
    }
}

fn no_tokens() -> Error {
    Error::new(
        ErrorCode::ReconnectNeeded,
        "No tokens are stored for this connection. Connect again.",
    )
}

/// Keyring calls block on D-Bus; keep them off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("keyring task failed: {e}")))?
}
