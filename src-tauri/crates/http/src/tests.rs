use super::*;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::{Arc, Mutex};

/// A local server that records what it receives; `/go?to=<url>` answers 307 to `<url>`.
struct Server {
    base: url::Url,
    seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
}

async fn server() -> Server {
    let seen: Arc<Mutex<Vec<(String, HeaderMap)>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push((uri.to_string(), headers));
            let to = uri
                .query()
                .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "to"))
                .map(|(_, v)| v.into_owned());
            let response: Response = match (uri.path(), to) {
                ("/go", Some(to)) => Redirect::temporary(&to).into_response(),
                _ => (StatusCode::OK, "arrived").into_response(),
            };
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server { base, seen }
}

fn go(from: &Server, to: &str) -> url::Url {
    let mut url = from.base.join("/go").unwrap();
    url.query_pairs_mut()
        .append_pair("access_token", "the-master-token-in-the-query")
        .append_pair("to", to);
    url
}

#[tokio::test]
async fn an_api_request_is_never_redirected_to_another_origin() {
    let (a, b) = (server().await, server().await);
    let target = b.base.join("/elsewhere").unwrap();
    let err = api()
        .post(go(&a, target.as_str()))
        .header("Personal-Token", "a-personal-token")
        .bearer_auth("a-bearer-token")
        .body(r#"{"client_secret":"s"}"#)
        .send()
        .await
        .unwrap_err();
    assert!(
        b.seen.lock().unwrap().is_empty(),
        "the other origin received nothing"
    );
    let described = describe(&err);
    assert!(described.contains("another site"), "{described}");
    assert!(
        described.contains(&b.base.origin().ascii_serialization()),
        "{described}"
    );
    assert!(!described.contains("master-token"), "{described}");
}

#[tokio::test]
async fn an_api_redirect_within_the_origin_is_followed_without_a_referer() {
    let a = server().await;
    let same = a.base.join("/next").unwrap();
    let answer = api().get(go(&a, same.as_str())).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "arrived");
    let seen = a.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|(_, headers)| !headers.contains_key("referer")));
    assert!(seen.iter().all(|(_, headers)| headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("Datalinks/")));
}

#[tokio::test]
async fn a_transfer_follows_storage_elsewhere_and_sends_no_referer() {
    let (a, storage) = (server().await, server().await);
    let object = storage.base.join("/bucket/object").unwrap();
    let answer = transfer()
        .get(go(&a, object.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "arrived");
    let seen = storage.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(
        !seen[0].1.contains_key("referer"),
        "the token in the first URL stays there"
    );
}

#[test]
fn excerpts_scrub_known_secrets_credential_parameters_and_long_tokens() {
    let page = "<h1>Not found</h1><p>/api/x?access_token=abcdef&amp;page=2 and key=K3Y-99 \
                token=t0k personalToken=pt sent by 0123456789abcdef0123456789abcdef01 for secret-value</p>";
    let shown = excerpt(page, &["secret-value"]);
    for leaked in [
        "abcdef&",
        "K3Y-99",
        "t0k",
        "=pt ",
        "0123456789abcdef",
        "secret-value",
    ] {
        assert!(!shown.contains(leaked), "{leaked} in {shown}");
    }
    assert!(shown.contains("access_token=[redacted]"), "{shown}");
    assert!(shown.contains("page=2"), "other parameters stay: {shown}");
    assert!(shown.contains("Not found"));
    // A word that merely ends in a parameter's name is left alone.
    assert_eq!(excerpt("monkey=1", &[]), "monkey=1");
    let long = "x".repeat(500);
    let cut = excerpt(&format!("{} {}", "word ".repeat(100), long), &[]);
    assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
    assert!(cut.ends_with('…'));
}

/// Keeps what it is given, as the audit log's writer would.
#[derive(Default)]
struct Kept(Mutex<Vec<audit::Exchange>>);

impl audit::AuditSink for Kept {
    fn record(&self, exchange: audit::Exchange) {
        self.0.lock().unwrap().push(exchange);
    }
}

#[tokio::test]
async fn each_hop_of_a_redirect_is_one_exchange_and_no_query_secret_is_kept() {
    let (a, b) = (server().await, server().await);
    let mut target = b.base.join("/file").unwrap();
    target
        .query_pairs_mut()
        .append_pair("X-Amz-Signature", "a-storage-signature")
        .append_pair("limit", "10");
    let kept = Arc::new(Kept::default());
    let sending = audit::action("download", send(transfer().get(go(&a, target.as_str()))));
    let response = audit::scope(kept.clone(), sending).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let kept = kept.0.lock().unwrap();
    let hops: Vec<(String, String, Option<u16>)> = kept
        .iter()
        .map(|e| (e.origin.clone(), e.path.clone(), e.status))
        .collect();
    assert_eq!(
        hops,
        [
            (
                a.base.origin().ascii_serialization(),
                "/go".to_owned(),
                Some(307)
            ),
            (
                b.base.origin().ascii_serialization(),
                "/file?limit=10".to_owned(),
                Some(200)
            ),
        ]
    );
    assert!(kept
        .iter()
        .all(|e| e.action == "download" && e.method == "GET"));
}

#[tokio::test]
async fn a_request_outside_a_scope_is_counted_as_missed() {
    let a = server().await;
    let before = audit::unscoped_requests();
    send(api().get(a.base.join("/x").unwrap())).await.unwrap();
    assert_eq!(audit::unscoped_requests(), before + 1);
}
