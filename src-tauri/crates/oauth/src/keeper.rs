use crate::TokenEndpointError;
use datalinks_core::{
    now_unix, AccessToken, AccountIdentity, Error, ErrorCode, Provider, RefreshToken, Result,
};
use datalinks_vault::{SecretKind, SecretOwner, TokenSet, Vault};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

/// Refresh when fewer than this many seconds of the access token remain.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The first pause before writing an unsaved token set again; doubles up to the maximum.
const WRITE_RETRY_FIRST: Duration = Duration::from_millis(500);
const WRITE_RETRY_MAX: Duration = Duration::from_secs(60);

/// Keeps one connection's tokens: hands out a valid access token, renewing it when needed.
///
/// - One lock per connection in this process: concurrent callers queue on it, so an expired
///   token causes exactly one renewal and the rest reuse its result.
/// - One lock file per connection across processes (the app and the CLI): a renewal runs
///   under it, and the keyring is read again once it is held, so a set another process renewed
///   meanwhile is used instead of renewing again with a refresh token that process retired.
/// - A renewed set is written to the keyring as soon as the provider answers. If the write
///   fails, the set is kept in memory, its access token is served, the write is retried until
///   it succeeds, and the next renewal uses the new refresh token: a rotated refresh token is
///   never used again, and never lost while this process lives.
/// - An `invalid_grant` reads the keyring again before giving up: another process may have
///   rotated the refresh token.
///
/// What remains: the provider has rotated the token when it answers, so a process killed between
/// that answer and the keyring write (one D-Bus round trip) loses the new set, and the
/// connection must be made again. No client can close that window; it is kept to the write.
pub struct TokenKeeper {
    inner: Arc<Inner>,
}

struct Inner {
    account: AccountIdentity,
    vault: Vault,
    /// Held across processes while renewing; `None` in tests that need no other process.
    lock_file: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// `None` until first loaded from the vault.
    tokens: Option<TokenSet>,
    /// `tokens` is newer than what the keyring holds: it must be written, never re-read.
    unsaved: bool,
    /// A background task is retrying the write.
    retrying: bool,
}

impl TokenKeeper {
    pub fn new(account: AccountIdentity, vault: Vault, lock_file: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                account,
                vault,
                lock_file,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The token set as this process knows it (read from the vault once, then kept).
    pub async fn current(&self) -> Result<Option<TokenSet>> {
        let mut state = self.inner.state.lock().await;
        self.inner.load(&mut state).await
    }

    /// A valid access token, refreshing first when under [`REFRESH_MARGIN_SECS`] remain.
    pub async fn access_token<F, Fut>(&self, refresh: F) -> Result<AccessToken>
    where
        F: Fn(RefreshToken) -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let now = now_unix();
        let usable = |t: &TokenSet| !t.expires_within(now, REFRESH_MARGIN_SECS);
        self.refreshed(usable, refresh).await
    }

    /// Called after the provider rejected `rejected` (401): refreshes unless another caller
    /// already replaced that token, in which case the newer one is returned.
    pub async fn access_token_after_rejection<F, Fut>(
        &self,
        rejected: &AccessToken,
        refresh: F,
    ) -> Result<AccessToken>
    where
        F: Fn(RefreshToken) -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        self.refreshed(|t: &TokenSet| t.access_token != *rejected, refresh)
            .await
    }

    /// For a provider that mints a new access token instead of refreshing (Human API): the
    /// stored access token, or a new one from `mint` when none is stored or under
    /// [`REFRESH_MARGIN_SECS`] remain.
    pub async fn access_token_minting<F, Fut>(&self, mint: F) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let now = now_unix();
        self.minted(
            |t: &TokenSet| !t.expires_within(now, REFRESH_MARGIN_SECS),
            mint,
        )
        .await
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
        self.minted(|t: &TokenSet| t.access_token != *rejected, mint)
            .await
    }

    /// Deletes the stored tokens. Returns whether there were any.
    pub async fn forget(&self) -> Result<bool> {
        let mut state = self.inner.state.lock().await;
        let inner = self.inner.clone();
        let existed = blocking(move || {
            inner
                .vault
                .delete(SecretOwner::Account(&inner.account), SecretKind::Tokens)
        })
        .await?;
        *state = State::default();
        Ok(existed)
    }

    /// Drops the in-memory copy so the next call reads the vault again (after "Retry"); a set
    /// the keyring does not hold yet is kept.
    pub async fn reload(&self) {
        let mut state = self.inner.state.lock().await;
        if !state.unsaved {
            state.tokens = None;
        }
    }

    async fn refreshed<F, Fut>(
        &self,
        usable: impl Fn(&TokenSet) -> bool,
        refresh: F,
    ) -> Result<AccessToken>
    where
        F: Fn(RefreshToken) -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let inner = &self.inner;
        let mut state = inner.state.lock().await;
        self.flush(&mut state).await;
        let tokens = inner.load(&mut state).await?.ok_or_else(no_tokens)?;
        if usable(&tokens) {
            return Ok(tokens.access_token);
        }
        let _across_processes = inner.process_lock().await?;
        if let Some(renewed) = inner.renewed_elsewhere(&mut state, &usable).await? {
            return Ok(renewed);
        }
        // At most twice: once more when another process turns out to have rotated the token.
        for attempt in 0..2 {
            let current = state.tokens.clone().ok_or_else(no_tokens)?;
            let refresh_token = current.refresh_token.ok_or_else(|| {
                Error::new(
                    ErrorCode::ReconnectNeeded,
                    format!(
                        "The {} access token expired and there is no refresh token.",
                        inner.account.registration.provider()
                    ),
                )
            })?;
            let mut fresh = match refresh(refresh_token.clone()).await {
                Ok(fresh) => fresh,
                Err(err) if err.code == ErrorCode::ReconnectNeeded && attempt == 0 => {
                    // Another process may have rotated the token since this one read it.
                    let stored = inner.read_vault().await?;
                    match stored.filter(|s| s.refresh_token.as_ref() != Some(&refresh_token)) {
                        Some(stored) if !state.unsaved => {
                            let access = stored.access_token.clone();
                            let now_usable = usable(&stored);
                            state.tokens = Some(stored);
                            if now_usable {
                                return Ok(access);
                            }
                            continue;
                        }
                        _ => return Err(err),
                    }
                }
                Err(err) => return Err(err),
            };
            // A provider may keep the refresh token and omit it from the response.
            fresh.refresh_token.get_or_insert(refresh_token);
            return Ok(self.keep(&mut state, fresh).await);
        }
        Err(no_tokens())
    }

    async fn minted<F, Fut>(
        &self,
        usable: impl Fn(&TokenSet) -> bool,
        mint: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenSet>>,
    {
        let inner = &self.inner;
        let mut state = inner.state.lock().await;
        self.flush(&mut state).await;
        if let Some(tokens) = inner.load(&mut state).await?.filter(|t| usable(t)) {
            return Ok(tokens.access_token);
        }
        let _across_processes = inner.process_lock().await?;
        if let Some(renewed) = inner.renewed_elsewhere(&mut state, &usable).await? {
            return Ok(renewed);
        }
        let fresh = mint().await?;
        Ok(self.keep(&mut state, fresh).await)
    }

    /// Makes `fresh` the connection's token set and writes it; a failed write is retried in
    /// the background while the set is served from memory.
    async fn keep(&self, state: &mut MutexGuard<'_, State>, fresh: TokenSet) -> AccessToken {
        let access = fresh.access_token.clone();
        state.tokens = Some(fresh);
        state.unsaved = true;
        self.flush(state).await;
        access
    }

    /// Writes an unsaved token set; on failure, makes sure a background task keeps trying.
    async fn flush(&self, state: &mut MutexGuard<'_, State>) {
        if !state.unsaved {
            return;
        }
        match self.inner.save(state.tokens.as_ref()).await {
            Ok(()) => state.unsaved = false,
            Err(err) => {
                log::warn!(
                    "{}: the renewed tokens could not be written to the keyring yet ({}); they are kept in memory and the write is retried",
                    self.inner.account.registration.provider(),
                    err.code.as_str()
                );
                if !state.retrying {
                    state.retrying = true;
                    tokio::spawn(retry_writes(self.inner.clone()));
                }
            }
        }
    }
}

/// Writes the unsaved token set again, with growing pauses, until it succeeds or is no longer
/// needed (written by a caller, or forgotten).
async fn retry_writes(inner: Arc<Inner>) {
    let mut pause = WRITE_RETRY_FIRST;
    loop {
        tokio::time::sleep(pause).await;
        let mut state = inner.state.lock().await;
        if !state.unsaved {
            state.retrying = false;
            return;
        }
        if inner.save(state.tokens.as_ref()).await.is_ok() {
            state.unsaved = false;
            state.retrying = false;
            log::info!(
                "{}: the renewed tokens are now in the keyring",
                inner.account.registration.provider()
            );
            return;
        }
        pause = (pause * 2).min(WRITE_RETRY_MAX);
    }
}

impl Inner {
    async fn load(&self, state: &mut State) -> Result<Option<TokenSet>> {
        if state.tokens.is_none() {
            state.tokens = self.read_vault().await?;
        }
        Ok(state.tokens.clone())
    }

    async fn read_vault(&self) -> Result<Option<TokenSet>> {
        let vault = self.vault.clone();
        let account = self.account.clone();
        blocking(move || vault.tokens(&account)).await
    }

    async fn save(&self, tokens: Option<&TokenSet>) -> Result<()> {
        let Some(tokens) = tokens.cloned() else {
            return Ok(());
        };
        let vault = self.vault.clone();
        let account = self.account.clone();
        blocking(move || vault.set_tokens(&account, &tokens)).await
    }

    /// Under the process lock: the keyring's set, when another process renewed it (the set
    /// differs from ours and is usable). Ours stays when it is the newer one (unsaved).
    async fn renewed_elsewhere(
        &self,
        state: &mut State,
        usable: &impl Fn(&TokenSet) -> bool,
    ) -> Result<Option<AccessToken>> {
        if state.unsaved {
            return Ok(None);
        }
        let Some(stored) = self.read_vault().await? else {
            return Ok(None);
        };
        let renewed = state.tokens.as_ref() != Some(&stored) && usable(&stored);
        let access = stored.access_token.clone();
        state.tokens = Some(stored);
        Ok(renewed.then_some(access))
    }

    /// The connection's lock file, held exclusively until the guard is dropped.
    async fn process_lock(&self) -> Result<Option<std::fs::File>> {
        let Some(path) = self.lock_file.clone() else {
            return Ok(None);
        };
        blocking(move || {
            let failed = |err: std::io::Error| {
                Error::storage(format!(
                    "Could not take the lock that keeps the app and the command line from renewing the same connection at once ({}): {err}",
                    path.display()
                ))
            };
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).map_err(failed)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(failed)?;
            file.lock().map_err(failed)?;
            Ok(Some(file))
        })
        .await
    }
}

/// What a failed refresh means for the connection: `invalid_grant` (the refresh token was
/// revoked, expired or already rotated) asks the person to connect again; anything else keeps
/// the tokens for a later try.
pub fn refresh_failed(provider: Provider, err: TokenEndpointError) -> Error {
    match err {
        // OAuth has no code for it, so the provider's description is the only sign; Open
        // Collective says "Invalid grant: refresh token has expired" (docs/providers/open-collective.md, "Tokens").
        TokenEndpointError::InvalidGrant {
            description: Some(description),
        } if description.to_ascii_lowercase().contains("expired") => Error::new(
            ErrorCode::ReconnectNeeded,
            format!(
                "The link to {provider} has expired: it went unused longer than {provider} keeps a link alive. Connect again; your account, settings and history are kept."
            ),
        ),
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

/// Keyring calls block on D-Bus, and locking a file blocks; keep them off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("keyring task failed: {e}")))?
}
