//! The Data API (docs/providers/human-api.md, "Data API"): `Authorization: Bearer <access token>`,
//! lists as bare JSON arrays paged with `limit`/`offset` and counted in `X-Total-Count`. Record
//! fields beyond the common ones are not documented, so wellness records keep them as JSON.

use std::path::Path;

use datalinks_core::{part_path, AccessToken, Error, ErrorCode};
use reqwest::{header, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::io::{AsyncWriteExt, BufWriter};
use url::Url;

use crate::config::{check_url, endpoint};
use crate::connect_event::SourceRef;
use crate::error::{error_detail, network_failure, read_json, unexpected_status, HumanApiError};

const TOTAL_COUNT_HEADER: &str = "x-total-count";

/// Which slice of a list to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;

    /// `limit` is kept within Human API's 1 to 500.
    pub fn new(limit: u32, offset: u64) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            offset,
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIMIT, 0)
    }
}

/// One page of a list and the list's total (`X-Total-Count`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// An empty page ends the list even if the total promised more, so a loop cannot spin.
    pub fn has_more(&self) -> bool {
        !self.items.is_empty() && self.request.offset + (self.items.len() as u64) < self.total
    }

    /// The page after this one, with the same limit.
    pub fn next_request(&self) -> Option<PageRequest> {
        self.has_more().then(|| {
            PageRequest::new(
                self.request.limit,
                self.request.offset + self.items.len() as u64,
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub human_id: String,
    #[serde(default)]
    pub email: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A connected source and how far Human API got fetching its data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    pub id: String,
    /// The `source` value of this source's records.
    pub source: String,
    pub source_name: String,
    pub connected_since: String,
    pub history_sync: HistorySync,
    pub sync_status: SyncStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistorySync {
    pub status: String,
    #[serde(default)]
    pub oldest_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub status: String,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub synched_at: Option<String>,
    #[serde(default)]
    pub newest_date: Option<String>,
}

/// A medical report as listed (`unity`, `healthcheck`, `highlights`, `ccdraw`, `covid`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub sources: Vec<SourceRef>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Pdf,
    Json,
    Html,
}

impl ReportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Json => "json",
            Self::Html => "html",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Json => "application/json",
            Self::Html => "text/html",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellnessList {
    ActivitySummaries,
    Sleeps,
    HeartRateReadings,
}

impl WellnessList {
    fn path(self) -> &'static [&'static str] {
        match self {
            Self::ActivitySummaries => &["activities", "summaries"],
            Self::Sleeps => &["sleeps"],
            Self::HeartRateReadings => &["heart_rate", "readings"],
        }
    }
}

/// A wellness record: the fields every record has, and the rest as sent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WellnessRecord {
    pub id: String,
    pub human_id: String,
    pub source: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Reads one user's data with their access token. A [`HumanApiError::TokenRejected`] means:
/// mint a new access token and call again.
#[derive(Clone)]
pub struct DataApi {
    http: reqwest::Client,
    base: Url,
}

impl DataApi {
    /// `data_api_url` is the `…/v1/human` root.
    pub fn new(http: reqwest::Client, data_api_url: Url) -> Result<Self, Error> {
        check_url("Data API URL", &data_api_url)?;
        Ok(Self {
            http,
            base: data_api_url,
        })
    }

    pub async fn profile(&self, access_token: &AccessToken) -> Result<Profile, HumanApiError> {
        let response = self.get(access_token, &["profile"], &[], None).await?;
        read_json(response).await
    }

    /// Every connected source with its sync status.
    pub async fn sources(
        &self,
        access_token: &AccessToken,
    ) -> Result<Vec<SourceStatus>, HumanApiError> {
        let response = self.get(access_token, &["sources"], &[], None).await?;
        read_json(response).await
    }

    pub async fn reports(
        &self,
        access_token: &AccessToken,
        page: PageRequest,
    ) -> Result<Page<Report>, HumanApiError> {
        self.page(access_token, &["medical", "reports"], page).await
    }

    pub async fn wellness(
        &self,
        access_token: &AccessToken,
        list: WellnessList,
        page: PageRequest,
    ) -> Result<Page<WellnessRecord>, HumanApiError> {
        self.page(access_token, list.path(), page).await
    }

    /// Streams a report into `<dest>.part`, then renames it to `dest`: a half-written report
    /// never carries the final name. Returns the bytes written.
    pub async fn download_report(
        &self,
        access_token: &AccessToken,
        report_id: &str,
        format: ReportFormat,
        dest: &Path,
    ) -> Result<u64, HumanApiError> {
        let path = ["medical", "reports", report_id, "raw"];
        let query = [("format", format.as_str().to_string())];
        let response = self
            .get(access_token, &path, &query, Some(format.media_type()))
            .await?;
        let part = part_path(dest);
        match stream_to_file(response, &part).await {
            Ok(bytes) => {
                tokio::fs::rename(&part, dest)
                    .await
                    .map_err(|e| storage_failure(dest, e))?;
                Ok(bytes)
            }
            Err(error) => {
                // The endpoint has no documented Range support, so a partial file is useless.
                let _ = tokio::fs::remove_file(&part).await;
                Err(error)
            }
        }
    }

    async fn page<T: DeserializeOwned>(
        &self,
        access_token: &AccessToken,
        path: &[&str],
        page: PageRequest,
    ) -> Result<Page<T>, HumanApiError> {
        let query = [
            ("limit", page.limit.to_string()),
            ("offset", page.offset.to_string()),
        ];
        let response = self.get(access_token, path, &query, None).await?;
        let total = response
            .headers()
            .get(TOTAL_COUNT_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
            .ok_or_else(|| {
                HumanApiError::Failed(Error::provider(
                    "Human API sent a list without a valid X-Total-Count header.",
                ))
            })?;
        Ok(Page {
            items: read_json(response).await?,
            total,
            request: page,
        })
    }

    /// A successful response, or the refusal as a typed error. `accept` defaults to JSON.
    async fn get(
        &self,
        access_token: &AccessToken,
        path: &[&str],
        query: &[(&str, String)],
        accept: Option<&str>,
    ) -> Result<Response, HumanApiError> {
        let request = self
            .http
            .get(endpoint(&self.base, path))
            .query(query)
            .bearer_auth(access_token.expose())
            .header(header::ACCEPT, accept.unwrap_or("application/json"));
        let response = datalinks_http::send(request)
            .await
            .map_err(network_failure)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let detail = error_detail(response).await;
        Err(match status {
            StatusCode::UNAUTHORIZED => HumanApiError::TokenRejected { detail },
            StatusCode::NOT_FOUND => HumanApiError::Failed(Error::new(
                ErrorCode::NotFound,
                format!("Human API has no {}: {detail}", path.join("/")),
            )),
            _ => unexpected_status(status, &detail),
        })
    }
}

async fn stream_to_file(mut response: Response, path: &Path) -> Result<u64, HumanApiError> {
    let file = tokio::fs::File::create(path)
        .await
        .map_err(|e| storage_failure(path, e))?;
    let mut out = BufWriter::new(file);
    let mut written = 0;
    while let Some(chunk) = response.chunk().await.map_err(network_failure)? {
        out.write_all(&chunk)
            .await
            .map_err(|e| storage_failure(path, e))?;
        written += chunk.len() as u64;
    }
    out.flush().await.map_err(|e| storage_failure(path, e))?;
    Ok(written)
}

fn storage_failure(path: &Path, error: std::io::Error) -> HumanApiError {
    HumanApiError::Failed(Error::storage(format!("{}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(offset: u64, items: usize, total: u64) -> Page<u8> {
        Page {
            items: vec![0; items],
            total,
            request: PageRequest::new(50, offset),
        }
    }

    #[test]
    fn pages_continue_until_the_total() {
        assert_eq!(
            page(0, 50, 120).next_request(),
            Some(PageRequest::new(50, 50))
        );
        assert_eq!(page(100, 20, 120).next_request(), None);
        // A short page is not the end while the total says more.
        assert_eq!(
            page(0, 30, 120).next_request(),
            Some(PageRequest::new(50, 30))
        );
        assert_eq!(page(60, 0, 120).next_request(), None);
    }

    #[test]
    fn limits_stay_within_human_apis_range() {
        assert_eq!(PageRequest::new(0, 0).limit(), 1);
        assert_eq!(PageRequest::new(10_000, 0).limit(), PageRequest::MAX_LIMIT);
        assert_eq!(PageRequest::default().limit(), 50);
    }
}
