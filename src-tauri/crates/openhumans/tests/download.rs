//! Downloads against the sandbox: both hops, resume, md5, fresh keys, skipping identical files.

use datalinks_core::{part_path, AccessToken, AuthorizationCode, ErrorCode};
use datalinks_openhumans::download::{fetch_file, Fetched, FileToFetch, Progress};
use datalinks_openhumans::{oauth_client, ApiClient};
use datalinks_sandbox::person::{Answer, Person};
use datalinks_sandbox::{BodyFault, Faults, RunningSandbox, SandboxConfig};
use md5::{Digest, Md5};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use url::Url;

const CALLBACK: &str = "http://127.0.0.1:9/callback";

struct Setup {
    sandbox: RunningSandbox,
    api: ApiClient,
    token: AccessToken,
    http: reqwest::Client,
    dir: PathBuf,
}

async fn setup() -> Setup {
    setup_with(SandboxConfig::default()).await
}

async fn setup_with(config: SandboxConfig) -> Setup {
    let sandbox = datalinks_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let verifier = datalinks_oauth::PkceVerifier::generate();
    let authorize = datalinks_openhumans::oauth_client(
        reqwest::Client::new(),
        &base,
        sandbox.client_id().into(),
        sandbox.client_secret().into(),
    )
    .authorize_url(
        &datalinks_openhumans::authorize_endpoint(&base),
        CALLBACK,
        "state",
        &verifier,
        &[],
    )
    .unwrap();
    let redirect = Person::alice()
        .answer(authorize.as_str(), Answer::Authorize)
        .await
        .unwrap();
    let code = Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let http = reqwest::Client::new();
    let client = oauth_client(
        http.clone(),
        &base,
        sandbox.client_id().into(),
        sandbox.client_secret().into(),
    );
    let tokens = client
        .exchange_code(&AuthorizationCode::new(code), CALLBACK, &verifier)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "datalinks-download-{}",
        datalinks_oauth::random_state()
    ));
    Setup {
        api: ApiClient::new(http.clone(), base),
        token: tokens.access_token,
        http,
        dir,
        sandbox,
    }
}

impl Setup {
    async fn first_file(&self) -> (u64, String) {
        let member = self.api.exchange_member(&self.token).await.unwrap();
        let file = &member.files[0];
        (file.id, file.basename.clone())
    }

    /// The file's bytes as a plain client sees them (both hops, no resume).
    async fn reference_bytes(&self, file_id: u64) -> Vec<u8> {
        let url = self.api.download_url(&self.token, file_id).await.unwrap();
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }

    /// The first file, to be fetched into `dir` with its md5 checked, and its reference bytes.
    async fn first_file_to_fetch(&self) -> (FileToFetch, Vec<u8>) {
        let (file_id, basename) = self.first_file().await;
        let expected = self.reference_bytes(file_id).await;
        let file = FileToFetch {
            file_id,
            dest: self.dir.join(&basename),
            max_size: None,
            expected_md5: Some(md5_hex(&expected)),
        };
        (file, expected)
    }

    /// Leaves `bytes` as the file's partial download, as an interrupted run would.
    fn leave_partial(&self, file: &FileToFetch, bytes: &[u8]) {
        std::fs::create_dir_all(&self.dir).unwrap();
        std::fs::write(part_path(&file.dest), bytes).unwrap();
    }

    async fn fetch(&self, file: &FileToFetch) -> datalinks_core::Result<Fetched> {
        self.fetch_with(file, |_| {}, &CancellationToken::new())
            .await
    }

    /// Fetches with fresh URLs from the API, reporting progress to `progress`.
    async fn fetch_with(
        &self,
        file: &FileToFetch,
        progress: impl FnMut(Progress),
        cancel: &CancellationToken,
    ) -> datalinks_core::Result<Fetched> {
        let fresh_url = || async {
            self.api
                .download_url(&self.token, file.file_id)
                .await
                .map_err(Into::into)
        };
        fetch_file(&self.http, file, fresh_url, progress, cancel).await
    }

    /// Storage bodies misbehave as `fault` says, `times` times.
    fn body_fault(&self, fault: BodyFault, times: u32) {
        self.sandbox.set_faults(Faults {
            storage_body_fault: Some(fault),
            storage_body_faults: times,
            ..Faults::default()
        });
    }

    /// Neither the file nor its part is on disk, and nothing else is in the folder.
    fn nothing_kept(&self, file: &FileToFetch) -> bool {
        !file.dest.exists() && !part_path(&file.dest).exists()
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_file_arrives_byte_identical_and_a_second_run_skips_it() {
    let setup = setup().await;
    let (file, expected) = setup.first_file_to_fetch().await;

    let mut seen = Vec::new();
    let fetched = setup
        .fetch_with(
            &file,
            |progress: Progress| seen.push(progress.bytes),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        fetched,
        Fetched::Downloaded {
            bytes: expected.len() as u64,
            received: expected.len() as u64,
        }
    );
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    assert!(!part_path(&file.dest).exists());
    assert_eq!(
        *seen.last().unwrap(),
        expected.len() as u64,
        "progress reached the end"
    );

    assert_eq!(setup.fetch(&file).await.unwrap(), Fetched::AlreadyPresent);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn cancelling_keeps_every_byte_that_arrived_and_the_next_run_resumes_after_them() {
    // Larger than one chunk of the body, smaller than the write buffer.
    let setup = setup_with(SandboxConfig {
        file_size_bytes: Some(200 * 1024),
        files_per_member: 1,
        ..SandboxConfig::default()
    })
    .await;
    let (file, expected) = setup.first_file_to_fetch().await;
    let cancel = CancellationToken::new();
    let mut received = 0;
    let progress = |progress: Progress| {
        received = progress.received;
        if progress.bytes > 0 {
            cancel.cancel();
        }
    };
    let fetched = setup.fetch_with(&file, progress, &cancel).await.unwrap();
    assert_eq!(fetched, Fetched::Cancelled { received });
    assert!(received > 0 && received < expected.len() as u64);
    let kept = std::fs::read(part_path(&file.dest)).unwrap();
    assert_eq!(kept.len() as u64, received, "nothing that arrived was lost");
    assert_eq!(kept, expected[..kept.len()]);

    let resumed = setup.fetch(&file).await.unwrap();
    assert_eq!(
        resumed,
        Fetched::Downloaded {
            bytes: expected.len() as u64,
            received: expected.len() as u64 - received,
        }
    );
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn an_interrupted_download_resumes_with_range_and_ends_identical() {
    let setup = setup().await;
    let (file, expected) = setup.first_file_to_fetch().await;
    let half = expected.len() / 2;
    setup.leave_partial(&file, &expected[..half]);

    let fetched = setup.fetch(&file).await.unwrap();
    assert_eq!(
        fetched,
        Fetched::Downloaded {
            bytes: expected.len() as u64,
            received: (expected.len() - half) as u64,
        }
    );
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_corrupt_partial_file_is_caught_by_md5_and_downloaded_again() {
    let setup = setup().await;
    let (file, expected) = setup.first_file_to_fetch().await;
    setup.leave_partial(&file, &vec![b'x'; expected.len() / 2]);

    setup.fetch(&file).await.unwrap();
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_refused_key_is_replaced_by_a_fresh_one() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    file.expected_md5 = None;
    let file_id = file.file_id;
    let mut stale = setup.api.download_url(&setup.token, file_id).await.unwrap();
    stale.set_query(Some("key=00000000-0000-4000-8000-000000000000"));
    let calls = std::cell::Cell::new(0);
    let setup_ref = &setup;
    let fetched = fetch_file(
        &setup.http,
        &file,
        || {
            calls.set(calls.get() + 1);
            let first = calls.get() == 1;
            let stale = stale.clone();
            async move {
                if first {
                    Ok(stale)
                } else {
                    setup_ref
                        .api
                        .download_url(&setup_ref.token, file_id)
                        .await
                        .map_err(Into::into)
                }
            }
        },
        |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(matches!(fetched, Fetched::Downloaded { .. }));
    assert_eq!(calls.get(), 2, "the 403 led to one more, fresh URL");
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    drop(setup.sandbox);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn without_an_md5_a_file_on_disk_is_compared_by_the_size_storage_announces() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    file.expected_md5 = None;
    std::fs::create_dir_all(&setup.dir).unwrap();

    std::fs::write(&file.dest, vec![b'x'; expected.len()]).unwrap();
    assert_eq!(setup.fetch(&file).await.unwrap(), Fetched::AlreadyPresent);
    assert!(!part_path(&file.dest).exists(), "nothing was written");

    std::fs::write(&file.dest, b"an older, shorter copy").unwrap();
    assert!(matches!(
        setup.fetch(&file).await.unwrap(),
        Fetched::Downloaded { .. }
    ));
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_skipped_on_its_announced_size() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    let size = expected.len() as u64;

    file.max_size = Some(size - 1);
    assert_eq!(
        setup.fetch(&file).await.unwrap(),
        Fetched::TooLarge { size }
    );
    assert!(!file.dest.exists() && !part_path(&file.dest).exists());

    file.max_size = Some(size);
    assert!(matches!(
        setup.fetch(&file).await.unwrap(),
        Fetched::Downloaded { .. }
    ));
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

// The fault matrix: each case ends with exactly the right bytes, or with a clear outcome and
// nothing wrong kept.

#[tokio::test]
async fn a_complete_part_answered_with_416_is_the_file_and_the_error_page_is_not_appended() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    // Without an md5 nothing else would catch an appended error page.
    file.expected_md5 = None;
    setup.leave_partial(&file, &expected);

    let fetched = setup.fetch(&file).await.unwrap();
    assert_eq!(
        fetched,
        Fetched::Downloaded {
            bytes: expected.len() as u64,
            received: 0
        }
    );
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_part_longer_than_the_file_is_started_over() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    file.expected_md5 = None;
    let mut longer = expected.clone();
    longer.extend_from_slice(b"<Error>stray bytes</Error>");
    setup.leave_partial(&file, &longer);

    setup.fetch(&file).await.unwrap();
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_length_that_promises_more_ends_in_a_416_that_completes_the_file() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    file.expected_md5 = None;
    setup.body_fault(BodyFault::LengthTooLong { by: 1000 }, 1);

    let fetched = setup.fetch(&file).await.unwrap();
    assert!(matches!(fetched, Fetched::Downloaded { .. }), "{fetched:?}");
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_length_that_promises_less_is_caught_by_md5_and_fetched_again() {
    let setup = setup().await;
    let (file, expected) = setup.first_file_to_fetch().await;
    setup.body_fault(BodyFault::LengthTooShort { by: 100 }, 2);

    setup.fetch(&file).await.unwrap();
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_body_without_a_length_arrives_whole() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    file.expected_md5 = None;
    setup.body_fault(BodyFault::NoLength, 1);

    setup.fetch(&file).await.unwrap();
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn the_size_limit_holds_for_bodies_without_a_length_and_for_endless_ones() {
    let setup = setup().await;
    let (mut file, expected) = setup.first_file_to_fetch().await;
    let limit = expected.len() as u64 / 2;
    file.max_size = Some(limit);

    for fault in [BodyFault::NoLength, BodyFault::Endless] {
        setup.body_fault(fault, 1);
        let fetched = setup.fetch(&file).await.unwrap();
        let Fetched::TooLarge { size } = fetched else {
            panic!("{fault:?}: {fetched:?}");
        };
        assert!(size > limit, "{fault:?}: {size}");
        assert!(setup.nothing_kept(&file), "{fault:?} left bytes behind");
    }

    // Endless, with the md5 known and a limit above the real size: the body is cut at the
    // limit, never written beyond it.
    file.max_size = Some(expected.len() as u64 * 4);
    setup.body_fault(BodyFault::Endless, 1);
    let fetched = setup.fetch(&file).await.unwrap();
    assert!(matches!(fetched, Fetched::TooLarge { .. }), "{fetched:?}");
    assert!(setup.nothing_kept(&file));
}

#[tokio::test]
async fn a_stalled_body_is_given_up_on_and_resumed() {
    let mut setup = setup_with(SandboxConfig {
        file_size_bytes: Some(200_000),
        files_per_member: 1,
        ..SandboxConfig::default()
    })
    .await;
    setup.http = datalinks_http::transfer_reading_within(std::time::Duration::from_millis(500));
    let (file, expected) = setup.first_file_to_fetch().await;
    setup.body_fault(BodyFault::Stall { after: 70_000 }, 2);

    let fetched = setup.fetch(&file).await.unwrap();
    assert_eq!(
        fetched,
        Fetched::Downloaded {
            bytes: expected.len() as u64,
            received: expected.len() as u64
        }
    );
    assert_eq!(std::fs::read(&file.dest).unwrap(), expected);
    assert_eq!(
        setup.sandbox.faults().storage_body_faults,
        0,
        "both stalled"
    );
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_part_that_is_a_link_is_never_written_through() {
    let setup = setup().await;
    let (file, _) = setup.first_file_to_fetch().await;
    std::fs::create_dir_all(&setup.dir).unwrap();
    let target = setup.dir.join("precious.txt");
    std::fs::write(&target, b"keep me").unwrap();
    std::os::unix::fs::symlink(&target, part_path(&file.dest)).unwrap();

    let error = setup.fetch(&file).await.unwrap_err();
    assert!(error.message.contains("is a link"), "{}", error.message);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    assert!(!file.dest.exists());
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

#[tokio::test]
async fn a_file_that_never_arrives_says_whether_anything_was_kept() {
    let setup = setup().await;
    let (file, _) = setup.first_file_to_fetch().await;
    setup.sandbox.set_faults(Faults {
        storage_error_rate: 1.0,
        ..Faults::default()
    });
    let error = setup.fetch(&file).await.unwrap_err();
    assert!(
        error.message.ends_with("Nothing of it was kept."),
        "{}",
        error.message
    );
    assert!(setup.nothing_kept(&file));

    setup.body_fault(BodyFault::Cut { after: 500 }, 5);
    let error = setup.fetch(&file).await.unwrap_err();
    assert!(
        error
            .message
            .ends_with("What arrived is kept and the next run resumes it."),
        "{}",
        error.message
    );
    assert_eq!(
        std::fs::metadata(part_path(&file.dest)).unwrap().len(),
        2500
    );
    std::fs::remove_dir_all(&setup.dir).unwrap();
}

/// Storage that is busy once, asking for a pause in `Retry-After`, then serves the file.
async fn busy_once_storage(body: &'static [u8]) -> Url {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicBool, Ordering};
    let busy = std::sync::Arc::new(AtomicBool::new(true));
    let app = axum::Router::new().route(
        "/object",
        axum::routing::get(move || async move {
            if busy.swap(false, Ordering::SeqCst) {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "1")],
                )
                    .into_response()
            } else {
                body.into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Url::parse(&format!("http://{address}/object")).unwrap()
}

#[tokio::test]
async fn a_busy_storage_is_asked_again_after_the_pause_it_names() {
    let url = busy_once_storage(b"the file").await;
    let dir = tempfile::tempdir().unwrap();
    let file = FileToFetch {
        file_id: 1,
        dest: dir.path().join("file.txt"),
        expected_md5: None,
        max_size: None,
    };
    let started = std::time::Instant::now();
    let fetched = fetch_file(
        &datalinks_http::transfer(),
        &file,
        || async { Ok(url.clone()) },
        |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(
        matches!(fetched, Fetched::Downloaded { bytes: 8, .. }),
        "{fetched:?}"
    );
    assert_eq!(std::fs::read(&file.dest).unwrap(), b"the file");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(1),
        "asked again after {waited:?}"
    );
}

#[tokio::test]
async fn a_file_larger_than_the_free_disk_space_is_refused_before_a_byte_is_written() {
    // 32 PB announced: more than any disk this runs on has free.
    let setup = setup_with(SandboxConfig {
        files_per_member: 1,
        file_size_bytes: Some(1 << 55),
        seeded_md5: false,
        ..SandboxConfig::default()
    })
    .await;
    let (file_id, basename) = setup.first_file().await;
    let file = FileToFetch {
        file_id,
        dest: setup.dir.join(&basename),
        max_size: None,
        expected_md5: None,
    };
    let error = setup.fetch(&file).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Storage);
    assert!(
        error.message.contains("needs 36.0 PB more, but only")
            && error.message.contains("Make room and download again."),
        "{}",
        error.message
    );
    assert!(!part_path(&file.dest).exists() && !file.dest.exists());
}
