//! Token lifecycle against an in-memory vault and a fake provider that rotates as Open Humans
//! does: every refresh issues a new refresh token, and the old one is dead at once (no grace
//! period), so using a retired refresh token is `invalid_grant`.

use datalinks_core::{
    now_unix, AccessToken, AccountIdentity, ErrorCode, Provider, RefreshToken,
    RegistrationIdentity, Result,
};
use datalinks_oauth::{refresh_failed, TokenEndpointError, TokenKeeper};
use datalinks_vault::{MemoryStore, TokenSet, Vault};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn tokens(access: &str, refresh: &str, expires_in: i64) -> TokenSet {
    TokenSet {
        access_token: AccessToken::new(access),
        refresh_token: Some(RefreshToken::new(refresh)),
        expires_at: Some(now_unix() + expires_in),
        scope: None,
    }
}

fn account(provider: Provider) -> AccountIdentity {
    RegistrationIdentity::new(provider, "client", vec!["https://provider.example".into()])
        .account("12345678")
}

/// A provider that rotates refresh tokens and kills the old one at once.
struct RotatingProvider {
    /// The one refresh token it accepts now.
    live: Mutex<String>,
    issued: AtomicUsize,
    refused: AtomicUsize,
}

impl RotatingProvider {
    fn new(live: &str) -> Arc<Self> {
        Arc::new(Self {
            live: Mutex::new(live.to_owned()),
            issued: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        })
    }

    /// A refresh as the token endpoint answers it, after `delay`.
    async fn refresh(&self, refresh_token: RefreshToken, delay: Duration) -> Result<TokenSet> {
        tokio::time::sleep(delay).await;
        let mut live = self.live.lock().unwrap();
        if refresh_token.expose() != *live {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(refresh_failed(
                Provider::OpenHumans,
                TokenEndpointError::InvalidGrant { description: None },
            ));
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        *live = format!("refresh-{n}");
        Ok(tokens(&format!("access-{n}"), &live, 36_000))
    }

    fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

fn vault_with(store: &Arc<MemoryStore>, stored: &TokenSet) -> Vault {
    let vault = Vault::new(store.clone());
    vault
        .set_tokens(&account(Provider::OpenHumans), stored)
        .unwrap();
    vault
}

fn keeper(store: &Arc<MemoryStore>, lock_file: Option<std::path::PathBuf>) -> Arc<TokenKeeper> {
    Arc::new(TokenKeeper::new(
        account(Provider::OpenHumans),
        Vault::new(store.clone()),
        lock_file,
    ))
}

fn stored(store: &Arc<MemoryStore>) -> TokenSet {
    Vault::new(store.clone())
        .tokens(&account(Provider::OpenHumans))
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_callers_share_one_refresh() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("old-access", "refresh-0", 30));
    let provider = RotatingProvider::new("refresh-0");
    let keeper = keeper(&store, None);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (keeper, provider) = (keeper.clone(), provider.clone());
            tokio::spawn(async move {
                keeper
                    .access_token(|token| provider.refresh(token, Duration::from_millis(20)))
                    .await
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().expose(), "access-1");
    }
    assert_eq!((provider.issued(), provider.refused()), (1, 0));
    assert_eq!(stored(&store).refresh_token.unwrap().expose(), "refresh-1");
}

#[tokio::test]
async fn a_token_with_time_left_is_used_without_refreshing() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("fresh", "r", 3600));
    let token = keeper(&store, None)
        .access_token(|_| async { panic!("must not refresh") })
        .await
        .unwrap();
    assert_eq!(token.expose(), "fresh");
}

#[tokio::test]
async fn a_failed_keyring_write_keeps_the_rotated_set_serves_it_and_writes_it_later() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("old", "refresh-0", 0));
    let provider = RotatingProvider::new("refresh-0");
    let keeper = keeper(&store, None);
    let refresh = |token| provider.refresh(token, Duration::ZERO);

    store.fail_writes(true);
    let served = keeper.access_token(refresh).await.unwrap();
    assert_eq!(
        served.expose(),
        "access-1",
        "the fresh access token is served"
    );
    assert_eq!(
        stored(&store).refresh_token.unwrap().expose(),
        "refresh-0",
        "the keyring still holds the retired set"
    );

    // The access token is rejected: the next refresh uses the new refresh token, never the
    // retired one the keyring still holds.
    let again = keeper
        .access_token_after_rejection(&served, refresh)
        .await
        .unwrap();
    assert_eq!(again.expose(), "access-2");
    assert_eq!(
        provider.refused(),
        0,
        "a retired refresh token was never sent"
    );

    // Once the keyring takes writes again, the newest set is written without anyone asking.
    store.fail_writes(false);
    let mut waited = Duration::ZERO;
    while stored(&store).refresh_token.unwrap().expose() != "refresh-2" {
        assert!(
            waited < Duration::from_secs(5),
            "the write was never retried"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert_eq!(stored(&store).access_token.expose(), "access-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_sharing_the_keyring_and_the_lock_file_refresh_once() {
    // The app and the CLI: two keepers over the same keyring, each with its own memory.
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("old", "refresh-0", 0));
    let provider = RotatingProvider::new("refresh-0");
    let folder = tempfile::tempdir().unwrap();
    let lock = folder.path().join("locks").join("connection.lock");
    let (app, cli) = (
        keeper(&store, Some(lock.clone())),
        keeper(&store, Some(lock)),
    );
    // Both have read the expired set before either refreshes.
    app.current().await.unwrap();
    cli.current().await.unwrap();
    let (a, b) = tokio::join!(
        app.access_token(|token| provider.refresh(token, Duration::from_millis(50))),
        cli.access_token(|token| provider.refresh(token, Duration::from_millis(50))),
    );
    assert_eq!(a.unwrap().expose(), "access-1");
    assert_eq!(
        b.unwrap().expose(),
        "access-1",
        "the second used the first one's set"
    );
    assert_eq!((provider.issued(), provider.refused()), (1, 0));
}

#[tokio::test]
async fn invalid_grant_after_another_process_rotated_reads_the_keyring_again() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("old", "refresh-0", 0));
    let provider = RotatingProvider::new("refresh-0");
    // No lock file: the other process did not take part (or died before this one locked).
    let ours = keeper(&store, None);
    ours.current().await.unwrap();
    let theirs = keeper(&store, None);
    theirs
        .access_token(|token| provider.refresh(token, Duration::ZERO))
        .await
        .unwrap();

    // Ours still holds the retired refresh token in memory and meets a 401.
    let token = ours
        .access_token_after_rejection(&AccessToken::new("old"), |token| {
            provider.refresh(token, Duration::ZERO)
        })
        .await
        .unwrap();
    assert_eq!(token.expose(), "access-1", "the other process's set");
    assert_eq!(provider.issued(), 1);
}

#[tokio::test]
async fn invalid_grant_with_nothing_newer_means_reconnect_and_keeps_the_tokens() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("old", "revoked", 0));
    let provider = RotatingProvider::new("something-else");
    let err = keeper(&store, None)
        .access_token(|token| provider.refresh(token, Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    assert_eq!(stored(&store).refresh_token.unwrap().expose(), "revoked");
}

#[tokio::test]
async fn network_failure_is_unreachable_and_leaves_tokens_untouched() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("old", "refresh", 0));
    let err = keeper(&store, None)
        .access_token(|_| async {
            Err(refresh_failed(
                Provider::OpenHumans,
                TokenEndpointError::Unreachable("connection refused".into()),
            ))
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unreachable);
    assert_eq!(stored(&store).refresh_token.unwrap().expose(), "refresh");
}

#[tokio::test]
async fn a_locked_keyring_is_reported_and_nothing_is_deleted() {
    let store = Arc::new(MemoryStore::new());
    vault_with(&store, &tokens("a", "r", 3600));
    let keeper = keeper(&store, None);
    store.set_unavailable(Some("locked".into()));
    let err = keeper
        .access_token(|_| async { panic!("no refresh") })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KeyringUnavailable);
    store.set_unavailable(None);
    assert_eq!(
        keeper
            .access_token(|_| async { panic!("no refresh") })
            .await
            .unwrap()
            .expose(),
        "a"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_minting_provider_mints_once_when_none_is_stored_and_again_after_rejection() {
    let store = Arc::new(MemoryStore::new());
    let keeper = Arc::new(TokenKeeper::new(
        account(Provider::HumanApi),
        Vault::new(store.clone()),
        None,
    ));
    let mints = Arc::new(AtomicUsize::new(0));
    let mint = |mints: Arc<AtomicUsize>| async move {
        let n = mints.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(tokens(&format!("access-{n}"), "unused", 86_400))
    };
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let keeper = keeper.clone();
            let mints = mints.clone();
            tokio::spawn(async move { keeper.access_token_minting(|| mint(mints)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().expose(), "access-1");
    }
    assert_eq!(mints.load(Ordering::SeqCst), 1);
    let stored = Vault::new(store.clone())
        .tokens(&account(Provider::HumanApi))
        .unwrap();
    assert_eq!(stored.unwrap().access_token.expose(), "access-1");

    let rejected = AccessToken::new("access-1");
    let renewed = keeper
        .access_token_minting_after_rejection(&rejected, || mint(mints.clone()))
        .await
        .unwrap();
    assert_eq!(renewed.expose(), "access-2");
    let again = keeper
        .access_token_minting_after_rejection(&rejected, || mint(mints.clone()))
        .await
        .unwrap();
    assert_eq!(
        again.expose(),
        "access-2",
        "another caller already replaced it"
    );
    assert_eq!(mints.load(Ordering::SeqCst), 2);
}
