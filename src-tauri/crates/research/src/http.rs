//! Requests to the project API: the master token attached, idempotent calls sent again under the
//! retry policy after 5xx, 429 and network failures, and Open Humans' answers turned into coded
//! errors.

use datalinks_core::{Error, ErrorCode, MasterToken, Result};
use datalinks_http::{RetryPolicy, Retryable, Verdict};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

/// Whether a call may be sent again after a failure whose outcome is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Safe,
    /// Sending twice could act twice (a second email, a second removal).
    Never,
}

pub struct Api {
    /// For the project API: redirects only within its origin (the master token rides along).
    client: reqwest::Client,
    /// For storage downloads and uploads, which authorize themselves.
    pub transfer: reqwest::Client,
    base: Url,
    master_token: MasterToken,
}

impl Api {
    pub fn new(mut base: Url, master_token: MasterToken) -> Self {
        // Endpoints join onto the base, so a self-hosted path prefix must end with a slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Self {
            client: datalinks_http::api(),
            transfer: datalinks_http::transfer(),
            base,
            master_token,
        }
    }

    /// The endpoint at `path` under the base, whether or not `path` starts with a slash.
    pub fn endpoint(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .expect("endpoint paths are valid relative URLs")
    }

    /// The members list wants the token in the query string (docs/providers/open-humans.md,
    /// "Project members").
    pub fn members_url(&self) -> Url {
        let mut url = self.endpoint(crate::MEMBERS_PATH);
        url.query_pairs_mut()
            .append_pair("access_token", self.master_token.expose());
        url
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let response = self
            .send(Retry::Safe, || self.client.get(url.clone()))
            .await?;
        read_json(response).await
    }

    pub async fn post_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        retry: Retry,
    ) -> Result<T> {
        let url = self.endpoint(path);
        let response = self
            .send(retry, || self.client.post(url.clone()).form(form))
            .await?;
        read_json(response).await
    }

    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        retry: Retry,
    ) -> Result<T> {
        let url = self.endpoint(path);
        let response = self
            .send(retry, || self.client.post(url.clone()).json(body))
            .await?;
        read_json(response).await
    }

    /// Sends with the master token; a success status is returned, anything else is an error.
    pub async fn send(&self, retry: Retry, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        send_with_retries(retry, &self.master_token, || {
            build()
                .bearer_auth(self.master_token.expose())
                .header(reqwest::header::ACCEPT, "application/json")
        })
        .await
    }
}

/// A failed try of a project API call, and whether another one may succeed.
struct Failed {
    error: Error,
    verdict: Verdict,
}

impl Retryable for Failed {
    fn verdict(&self) -> Verdict {
        self.verdict
    }
}

/// Sends `build()`'s request, again under the retry policy after 5xx, 429 or network failures
/// when `retry` allows it; an error quotes the answer without `master_token`.
async fn send_with_retries(
    retry: Retry,
    master_token: &MasterToken,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response> {
    let passing = |error: Error, verdict: Verdict| Failed {
        error,
        verdict: if retry == Retry::Safe {
            verdict
        } else {
            Verdict::Final
        },
    };
    let final_failure = |error| Failed {
        error,
        verdict: Verdict::Final,
    };
    RetryPolicy::REQUEST
        .run(|| async {
            match datalinks_http::send(build()).await {
                Ok(response)
                    if response.status().is_server_error()
                        || response.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    let verdict = datalinks_http::retry_after(response.headers())
                        .map_or(Verdict::Again, Verdict::After);
                    let error = Error::unreachable(format!(
                        "Open Humans is having trouble (HTTP {}).",
                        response.status().as_u16()
                    ));
                    Err(passing(error, verdict))
                }
                Ok(response) => check_status(response, master_token)
                    .await
                    .map_err(final_failure),
                Err(e) if datalinks_http::is_refused_redirect(&e) => {
                    Err(final_failure(Error::provider(format!(
                        "Open Humans' answer was not followed: {}.",
                        datalinks_http::describe(&e)
                    ))))
                }
                Err(e) => Err(passing(
                    Error::unreachable(format!(
                        "Open Humans could not be reached: {}.",
                        datalinks_http::describe(&e)
                    )),
                    Verdict::Again,
                )),
            }
        })
        .await
        .map_err(|failed| failed.error)
}

async fn check_status(response: Response, master_token: &MasterToken) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    if status == StatusCode::UNAUTHORIZED {
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .map(|detail| datalinks_http::excerpt(&detail, &[master_token.expose()]))
            .unwrap_or_else(|| "HTTP 401".into());
        return Err(Error::new(
            ErrorCode::ReconnectNeeded,
            format!(
                "Open Humans refused the master token ({detail}). Master tokens expire after 24 hours: get a fresh one on the project's page."
            ),
        ));
    }
    let excerpt = datalinks_http::excerpt(&body, &[master_token.expose()]);
    let code = if status == StatusCode::NOT_FOUND {
        ErrorCode::NotFound
    } else {
        ErrorCode::ProviderError
    };
    Err(Error::new(
        code,
        format!("Open Humans answered HTTP {}: {excerpt}", status.as_u16()),
    ))
}

async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T> {
    response.json().await.map_err(|e| {
        Error::provider(format!(
            "Open Humans sent a response Datalinks does not understand: {}.",
            e.without_url()
        ))
    })
}
