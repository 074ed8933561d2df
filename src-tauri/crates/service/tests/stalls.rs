//! The two stalls seen with the in-process sandbox (a sign-in that never finished identifying
//! the account; a start-up that lost half a second in one wait) both pointed at the async
//! runtime: a blocking call on one of its few worker threads would explain either. These tests
//! would catch one: a keyring that takes a second per call must never hold the workers, and
//! many sign-ins in a row, with the UI asking for the connections all the while, must each end.

mod support;

use datalinks_core::{ConnectionState, Provider, SignInTarget};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Harness;

/// Measures the longest pause the runtime took to run a task that wakes every 10 ms.
fn watch_the_runtime() -> (Arc<AtomicBool>, tokio::task::JoinHandle<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let ticker = tokio::spawn(async move {
        let mut longest = Duration::ZERO;
        let mut last = Instant::now();
        while !stopped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            longest = longest.max(last.elapsed());
            last = Instant::now();
        }
        longest
    });
    (stop, ticker)
}

#[tokio::test]
async fn a_slow_keyring_never_holds_the_async_runtime() {
    // One worker thread: any keyring call made on it stops everything else for a second.
    let harness = Harness::without_sandbox();
    *harness.host.username.lock().unwrap() = "alice";
    harness.secrets.set_latency(Duration::from_secs(1));
    let (stop, ticker) = watch_the_runtime();

    harness.service.start_sandbox().await.unwrap();
    let view = harness.connect_provider(Provider::OpenHumans).await;
    harness.service.member_overview(view.id).await.unwrap();
    harness.service.disconnect(view.id).await.unwrap();

    stop.store(true, Ordering::SeqCst);
    let longest = ticker.await.unwrap();
    assert!(
        longest < Duration::from_millis(600),
        "the runtime stalled for {longest:?}: a keyring call ran on it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sign_ins_in_a_row_each_end_while_the_ui_keeps_asking() {
    let harness = Harness::without_sandbox();
    *harness.host.username.lock().unwrap() = "alice";
    harness.service.start_sandbox().await.unwrap();
    let registration = harness.registration(Provider::OpenHumans);
    let stop = Arc::new(AtomicBool::new(false));
    // What the window does all the time: list, read settings, and show the member.
    let poller = {
        let (service, stop) = (harness.service.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let overview = service.list_connections().await.unwrap();
                service
                    .provider_settings(Provider::OpenHumans)
                    .await
                    .unwrap();
                if let Some(c) = overview.connections().next() {
                    let _ = service.member_overview(c.id).await;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut longest = Duration::ZERO;
    for round in 0..20 {
        let started = Instant::now();
        let signed_in = tokio::time::timeout(
            Duration::from_secs(15),
            harness.sign_in_with(SignInTarget::NewAccount { registration }, registration),
        )
        .await
        .unwrap_or_else(|_| panic!("sign-in {round} never ended"))
        .unwrap();
        assert_eq!(signed_in.state, ConnectionState::Connected);
        longest = longest.max(started.elapsed());
        harness.service.disconnect(signed_in.id).await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    poller.await.unwrap();
    println!("20 sign-ins on the in-process sandbox; the slowest took {longest:?}");
}
