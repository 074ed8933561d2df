//! Token lifecycle against an in-memory vault: one refresh for many callers, store before use.

use datalinks_core::{
    now_unix, AccessToken, AccountIdentity, ErrorCode, Provider, RefreshToken, RegistrationIdentity,
};
use datalinks_oauth::{refresh_failed, TokenEndpointError, TokenKeeper};
use datalinks_vault::{MemoryStore, TokenSet, Vault};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

async fn keeper_with(store: Arc<MemoryStore>, stored: TokenSet) -> Arc<TokenKeeper> {
    let keeper = Arc::new(TokenKeeper::new(
        account(Provider::OpenHumans),
        Vault::new(store),
    ));
    keeper.store(stored).await.unwrap();
    keeper
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_callers_share_one_refresh() {
    let keeper = keeper_with(
        Arc::new(MemoryStore::new()),
        tokens("old-access", "old-refresh", 30),
    )
    .await;
    let refreshes = Arc::new(AtomicUsize::new(0));
    let calls = (0..50).map(|_| {
        let keeper = keeper.clone();
        let refreshes = refreshes.clone();
        tokio::spawn(async move {
            keeper
                .access_token(|refresh_token| async move {
                    assert_eq!(refresh_token.expose(), "old-refresh");
                    refreshes.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Ok(tokens("new-access", "new-refresh", 36000))
                })
                .await
        })
    });
    for call in futures_join(calls).await {
        assert_eq!(call.unwrap().expose(), "new-access");
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_token_with_time_left_is_used_without_refreshing() {
    let keeper = keeper_with(Arc::new(MemoryStore::new()), tokens("fresh", "r", 3600)).await;
    let token = keeper
        .access_token(|_| async { panic!("must not refresh") })
        .await
        .unwrap();
    assert_eq!(token.expose(), "fresh");
}

#[tokio::test]
async fn the_rotated_refresh_token_is_stored_before_the_access_token_is_handed_out() {
    let store = Arc::new(MemoryStore::new());
    let keeper = keeper_with(store.clone(), tokens("old", "old-refresh", 0)).await;
    store.fail_writes(true);
    let err = keeper
        .access_token(|_| async { Ok(tokens("new", "new-refresh", 36000)) })
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::KeyringUnavailable,
        "no access token without a stored refresh token"
    );

    store.fail_writes(false);
    let vault = Vault::new(store.clone());
    let stored = vault
        .tokens(&account(Provider::OpenHumans))
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.access_token.expose(),
        "old",
        "the failed write changed nothing"
    );

    let token = keeper
        .access_token(|_| async { Ok(tokens("new", "new-refresh", 36000)) })
        .await
        .unwrap();
    assert_eq!(token.expose(), "new");
    let stored = vault
        .tokens(&account(Provider::OpenHumans))
        .unwrap()
        .unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose(), "new-refresh");
}

#[tokio::test]
async fn invalid_grant_means_reconnect_and_keeps_the_tokens() {
    let store = Arc::new(MemoryStore::new());
    let keeper = keeper_with(store.clone(), tokens("old", "dead-refresh", 0)).await;
    let err = keeper
        .access_token(|_| async {
            Err(refresh_failed(
                Provider::OpenHumans,
                TokenEndpointError::InvalidGrant { description: None },
            ))
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReconnectNeeded);
    assert!(Vault::new(store)
        .tokens(&account(Provider::OpenHumans))
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn network_failure_is_unreachable_and_leaves_tokens_untouched() {
    let store = Arc::new(MemoryStore::new());
    let keeper = keeper_with(store.clone(), tokens("old", "refresh", 0)).await;
    let err = keeper
        .access_token(|_| async {
            Err(refresh_failed(
                Provider::OpenHumans,
                TokenEndpointError::Unreachable("connection refused".into()),
            ))
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unreachable);
    let stored = Vault::new(store)
        .tokens(&account(Provider::OpenHumans))
        .unwrap()
        .unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose(), "refresh");
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_even_when_callers_race() {
    let keeper = keeper_with(Arc::new(MemoryStore::new()), tokens("rejected", "r1", 3600)).await;
    let rejected = AccessToken::new("rejected");
    let first = keeper
        .access_token_after_rejection(&rejected, |_| async { Ok(tokens("second", "r2", 3600)) })
        .await
        .unwrap();
    assert_eq!(first.expose(), "second");
    let again = keeper
        .access_token_after_rejection(&rejected, |_| async { panic!("already replaced") })
        .await
        .unwrap();
    assert_eq!(again.expose(), "second");
}

#[tokio::test]
async fn a_locked_keyring_is_reported_and_nothing_is_deleted() {
    let store = Arc::new(MemoryStore::new());
    let keeper = keeper_with(store.clone(), tokens("a", "r", 3600)).await;
    keeper.reload().await;
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
    ));
    let mints = Arc::new(AtomicUsize::new(0));
    let mint = |mints: Arc<AtomicUsize>| async move {
        let n = mints.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Ok(tokens(&format!("access-{n}"), "unused", 86_400))
    };
    let calls = (0..20).map(|_| {
        let keeper = keeper.clone();
        let mints = mints.clone();
        tokio::spawn(async move { keeper.access_token_minting(|| mint(mints)).await })
    });
    for call in futures_join(calls).await {
        assert_eq!(call.unwrap().expose(), "access-1");
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

    keeper
        .store(tokens("nearly-expired", "r", 30))
        .await
        .unwrap();
    let fresh = keeper
        .access_token_minting(|| mint(mints.clone()))
        .await
        .unwrap();
    assert_eq!(fresh.expose(), "access-3");
}
