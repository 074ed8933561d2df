//! Open Humans as Datalinks talks to it (docs/providers/open-humans.md). Endpoints are relative
//! to a base URL so staging, self-hosted servers and the sandbox work the same way.

pub mod download;
pub mod pages;
pub mod upload;

use datalinks_core::{AccessToken, ClientSecret, Error, ErrorCode};
use datalinks_oauth::OAuthClient;
use serde::Deserialize;
use url::Url;

pub const DEFAULT_BASE_URL: &str = "https://www.openhumans.org";
const AUTHORIZE_PATH: &str = "/direct-sharing/projects/oauth2/authorize/";
const TOKEN_PATH: &str = "/oauth2/token/";
const REVOKE_PATH: &str = "/oauth2/revoke_token/";
const EXCHANGE_MEMBER_PATH: &str = "/api/direct-sharing/project/exchange-member/";
const PROJECT_PATH: &str = "/api/direct-sharing/project/";

fn endpoint(base: &Url, path: &str) -> Url {
    // Keep any path prefix of a self-hosted server (https://host/oh/ + oauth2/token/).
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url
}

/// The authorize page (docs/providers/open-humans.md, "Signing in"); the OAuth client adds the
/// request's parameters.
pub fn authorize_endpoint(base: &Url) -> Url {
    endpoint(base, AUTHORIZE_PATH)
}

/// The token and revocation endpoints, with HTTP Basic client authentication.
pub fn oauth_client(
    http: reqwest::Client,
    base: &Url,
    client_id: String,
    client_secret: ClientSecret,
) -> OAuthClient {
    OAuthClient::new(
        http,
        endpoint(base, TOKEN_PATH),
        endpoint(base, REVOKE_PATH),
        client_id,
        client_secret,
    )
}

/// What exchange-member says about the connected person (docs/providers/open-humans.md, "The
/// account"). The download URL of each file is not kept: it authorizes a download for an hour
/// and is fetched when needed.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub project_member_id: String,
    /// Present only when the project requests username access.
    #[serde(default)]
    pub username: Option<String>,
    pub created: String,
    pub sources_shared: Vec<String>,
    pub count: u32,
    #[serde(rename = "data")]
    pub files: Vec<DataFile>,
}

/// The project a member's token belongs to, as far as the consent ledger needs it
/// (`GET /api/direct-sharing/project/`, ProjectDataSerializer).
#[derive(Debug, Clone, Deserialize)]
pub struct GrantingProject {
    pub id: u64,
    pub name: String,
    /// Whether the project sees the member's username.
    #[serde(default)]
    pub request_username_access: bool,
    /// The sources the project asks members to share, as `/api/public/project/<id>/` paths.
    #[serde(default)]
    pub requested_sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DataFile {
    pub id: u64,
    pub basename: String,
    pub created: String,
    pub source: String,
    #[serde(default)]
    pub metadata: Metadata,
}

impl DataFile {
    pub fn description(&self) -> Option<String> {
        match self.metadata.parsed().get("description")? {
            serde_json::Value::String(description) => Some(description.clone()),
            _ => None,
        }
    }
    /// The md5 the uploader put in the metadata (as ohapi does), when it is a well-formed one,
    /// in lower case.
    pub fn md5(&self) -> Option<String> {
        let metadata = self.metadata.parsed();
        let md5 = metadata.get("md5")?.as_str()?;
        (md5.len() == 32 && md5.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| md5.to_ascii_lowercase())
    }
    pub fn tags(&self) -> Vec<String> {
        let metadata = self.metadata.parsed();
        let tags = metadata.get("tags").and_then(|t| t.as_array());
        tags.into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    }
}

/// A file's metadata as Open Humans sent it, kept as compact JSON text and parsed when read: a
/// parsed map costs about ten times the memory, and a project's listing holds one per file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(Box<str>);

impl Metadata {
    pub fn new(value: &serde_json::Value) -> Self {
        Metadata(value.to_string().into_boxed_str())
    }

    /// The metadata as a JSON value (`null` when there was none).
    pub fn parsed(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(|value| Metadata::new(&value))
    }
}

#[derive(Deserialize)]
struct MemberPage {
    #[serde(flatten)]
    member: Member,
    next: Option<String>,
}

/// A page of exchange-member read only for its download links.
#[derive(Deserialize)]
struct LinkPage {
    data: Vec<FileLink>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct FileLink {
    id: u64,
    download_url: String,
}

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// HTTP 401: the token is expired ("Expired token."), unknown or revoked.
    TokenRejected {
        detail: String,
    },
    Failed(Error),
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError::Failed(err)
    }
}

impl From<ApiError> for Error {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::TokenRejected { detail } => Error::new(
                ErrorCode::ReconnectNeeded,
                format!("Open Humans no longer accepts this connection's token ({detail})."),
            ),
            ApiError::Failed(err) => err,
        }
    }
}

#[derive(Deserialize)]
struct DetailBody {
    detail: String,
}

/// Calls Open Humans' project API with a member's access token.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
}

impl ApiClient {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self { http, base }
    }

    /// The server it calls.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The member and every file they share, following `next` through all pages.
    pub async fn exchange_member(&self, access_token: &AccessToken) -> Result<Member, ApiError> {
        let first = endpoint(&self.base, EXCHANGE_MEMBER_PATH);
        let mut links = pages::NextLinks::new(&first);
        let mut page: MemberPage = self.get_json(first, access_token).await?;
        let mut files = std::mem::take(&mut page.member.files);
        while let Some(next) = links.follow(page.next.take().as_deref())? {
            page = self.get_json(next, access_token).await?;
            files.append(&mut page.member.files);
        }
        page.member.files = files;
        Ok(page.member)
    }

    /// A fresh download URL for one file (its key works for an hour: ask again for every
    /// download rather than keeping it).
    pub async fn download_url(
        &self,
        access_token: &AccessToken,
        file_id: u64,
    ) -> Result<Url, ApiError> {
        let first = endpoint(&self.base, EXCHANGE_MEMBER_PATH);
        let mut links = pages::NextLinks::new(&first);
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: LinkPage = self.get_json(url, access_token).await?;
            if let Some(link) = page.data.into_iter().find(|f| f.id == file_id) {
                return Url::parse(&link.download_url).map_err(|_| {
                    ApiError::Failed(Error::provider(format!(
                        "Open Humans sent an invalid download URL for file {file_id}."
                    )))
                });
            }
            next = links.follow(page.next.as_deref())?;
        }
        Err(ApiError::Failed(Error::new(
            ErrorCode::NotFound,
            format!("Open Humans no longer lists file {file_id}."),
        )))
    }

    /// The project the member's token was granted to.
    pub async fn project(&self, access_token: &AccessToken) -> Result<GrantingProject, ApiError> {
        self.get_json(endpoint(&self.base, PROJECT_PATH), access_token)
            .await
    }

    /// A project's name as Open Humans shows it to anyone (`/api/public/project/<id>/`, no
    /// token): how a source such as `direct-sharing-131` is named for people.
    pub async fn public_project_name(&self, project_id: u64) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Public {
            name: String,
        }
        let url = endpoint(&self.base, &format!("/api/public/project/{project_id}/"));
        let public: Public = read_json(self.http.get(url), "").await?;
        Ok(public.name)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        access_token: &AccessToken,
    ) -> Result<T, ApiError> {
        let request = self.http.get(url).bearer_auth(access_token.expose());
        read_json(request, access_token.expose()).await
    }

    /// POSTs a form to an API endpoint (`path` as in [`upload::DIRECT_UPLOAD_PATH`]) with the
    /// member's token; Open Humans fills in the member's `project_member_id` itself.
    pub async fn post_form<T: serde::de::DeserializeOwned>(
        &self,
        access_token: &AccessToken,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let request = self
            .http
            .post(endpoint(&self.base, path))
            .bearer_auth(access_token.expose())
            .form(form);
        read_json(request, access_token.expose()).await
    }
}

/// Sends an API request and reads its JSON answer: 401 is a rejected token, 5xx and network
/// failures are unreachable, other failures are quoted.
async fn read_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    secret: &str,
) -> Result<T, ApiError> {
    let response =
        datalinks_http::send(request.header(reqwest::header::ACCEPT, "application/json"))
            .await
            .map_err(|e| {
                let detail = datalinks_http::describe(&e);
                ApiError::Failed(if datalinks_http::is_refused_redirect(&e) {
                    Error::provider(format!("Open Humans' answer was not followed: {detail}."))
                } else {
                    Error::unreachable(format!("Open Humans could not be reached: {detail}."))
                })
            })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        let detail = response
            .json::<DetailBody>()
            .await
            .map(|b| datalinks_http::excerpt(&b.detail, &[secret]))
            .unwrap_or_else(|_| "HTTP 401".into());
        return Err(ApiError::TokenRejected { detail });
    }
    if status.is_server_error() {
        return Err(ApiError::Failed(Error::unreachable(format!(
            "Open Humans is having trouble (HTTP {}).",
            status.as_u16()
        ))));
    }
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let excerpt = datalinks_http::excerpt(&body, &[secret]);
        return Err(ApiError::Failed(Error::provider(format!(
            "Open Humans answered HTTP {}: {excerpt}",
            status.as_u16()
        ))));
    }
    response.json().await.map_err(|e| {
        ApiError::Failed(Error::provider(format!(
            "Open Humans sent a response Datalinks does not understand: {e}."
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_page_is_under_the_base() {
        let base = datalinks_core::server_url("https://example.org/oh/").unwrap();
        assert_eq!(
            authorize_endpoint(&base).as_str(),
            "https://example.org/oh/direct-sharing/projects/oauth2/authorize/"
        );
    }

    #[test]
    fn endpoints_keep_a_self_hosted_path_prefix() {
        let base = datalinks_core::server_url("https://example.org/oh/").unwrap();
        assert_eq!(
            endpoint(&base, TOKEN_PATH).as_str(),
            "https://example.org/oh/oauth2/token/"
        );
    }

    #[test]
    fn only_a_well_formed_md5_is_taken_from_metadata() {
        let file = |metadata: serde_json::Value| DataFile {
            id: 1,
            basename: "a.json".into(),
            created: "2024-01-01T00:00:00Z".into(),
            source: "direct-sharing-1".into(),
            metadata: Metadata::new(&metadata),
        };
        let md5 = "5EB63BBBE01EEED093CB22BB8F5ACDC3";
        assert_eq!(
            file(serde_json::json!({ "md5": md5 })).md5(),
            Some(md5.to_ascii_lowercase())
        );
        assert_eq!(file(serde_json::json!({ "md5": "xyz" })).md5(), None);
        assert_eq!(file(serde_json::json!({ "md5": 12 })).md5(), None);
        assert_eq!(file(serde_json::json!({})).md5(), None);
    }
}
