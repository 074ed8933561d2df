//! Reads of the connected person's account through GraphQL v2
//! (docs/providers/open-collective.md, "GraphQL").

use std::time::Duration;

use datalinks_core::{AccessToken, Error, ErrorCode, PersonalToken};
use reqwest::header::{HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use url::Url;

use crate::Hosts;

/// How long to wait after a 429 that has no `Retry-After` header: Open Collective counts
/// requests per minute, so a full minute always reaches a fresh budget.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

const ME_QUERY: &str = "query Me { me { id slug name email imageUrl type createdAt } }";

/// Appends the fields read of every account a node points to.
macro_rules! with_account_fields {
    ($query:literal) => {
        concat!(
            $query,
            "\nfragment AccountFields on Account { id slug name type }"
        )
    };
}

const MEMBERSHIPS_QUERY: &str = with_account_fields!(
    "query Memberships($limit: Int!, $offset: Int!) {
  me { memberOf(limit: $limit, offset: $offset) { offset limit totalCount
    nodes { id role since isActive totalDonations { valueInCents currency }
      account { ...AccountFields } } } } }"
);

const TRANSACTIONS_QUERY: &str = with_account_fields!(
    "query Transactions($limit: Int!, $offset: Int!) {
  me { transactions(limit: $limit, offset: $offset) { offset limit totalCount
    nodes { id kind type createdAt description
      amount { valueInCents currency } netAmount { valueInCents currency }
      account { ...AccountFields } oppositeAccount { ...AccountFields } } } } }"
);

/// `me { id }` rides along so a removed token is noticed here too: the root `expenses` field
/// answers anonymous requests as well.
const EXPENSES_QUERY: &str = with_account_fields!(
    "query Expenses($slug: String!, $limit: Int!, $offset: Int!) {
  me { id }
  expenses(fromAccount: {slug: $slug}, limit: $limit, offset: $offset) { offset limit totalCount
    nodes { id description status type createdAt amountV2 { valueInCents currency }
      account { ...AccountFields } } } }"
);

/// What a request presents to Open Collective.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An OAuth access token, sent as `Authorization: Bearer`.
    OAuth(AccessToken),
    /// A personal token made under the account's "For developers" settings, sent as
    /// `Personal-Token`.
    PersonalToken(PersonalToken),
}

impl Credential {
    fn attach(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        match self {
            Credential::OAuth(token) => Ok(request.bearer_auth(token.expose())),
            Credential::PersonalToken(token) => {
                let mut value =
                    HeaderValue::from_str(token.expose()).map_err(|_| ApiError::TokenRejected {
                        message: "the personal token contains characters a header cannot carry"
                            .into(),
                    })?;
                value.set_sensitive(true);
                Ok(request.header("Personal-Token", value))
            }
        }
    }
}

/// Why a GraphQL call failed. Messages never contain a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// HTTP 200 with `me: null`: the token is no longer known. Open Collective keeps one token per
    /// (person, app), so linking the same account elsewhere, or a refresh, replaced it.
    #[error("Open Collective no longer accepts this connection: access was removed or replaced (linking the same account elsewhere replaces it). Connect again.")]
    AccessRemoved,
    /// HTTP 401 `jwt_expired`: refresh, then try again.
    #[error("The Open Collective access token has expired.")]
    TokenExpired,
    /// Any other 401, such as an expired personal token.
    #[error("Open Collective refused the token: {message}.")]
    TokenRejected { message: String },
    /// HTTP 429: wait `retry_after` (the `Retry-After` header, else [`DEFAULT_RATE_LIMIT_WAIT`]).
    #[error("Open Collective's rate limit was reached; trying again is possible in {} s.", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// A GraphQL `errors` array, another 4xx, or an answer that is not the expected shape.
    #[error("Open Collective answered with an error: {message}")]
    Provider { message: String },
    /// Network failure, timeout or 5xx.
    #[error("Open Collective could not be reached: {message}.")]
    Unreachable { message: String },
}

impl From<ApiError> for Error {
    fn from(err: ApiError) -> Self {
        let code = match err {
            ApiError::AccessRemoved | ApiError::TokenExpired | ApiError::TokenRejected { .. } => {
                ErrorCode::ReconnectNeeded
            }
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Unreachable { .. } => ErrorCode::Unreachable,
            ApiError::Provider { .. } => ErrorCode::ProviderError,
        };
        Error::new(code, err.to_string())
    }
}

/// Which part of a collection to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { offset: 0, limit }
    }
}

/// One page of an Open Collective collection: `{offset, limit, totalCount, nodes}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub offset: u32,
    pub limit: u32,
    pub total_count: u32,
    pub nodes: Vec<T>,
}

impl<T> Page<T> {
    /// Whether items remain after this page. An empty page ends the walk even if `totalCount`
    /// says otherwise, so a miscounting server cannot make a caller loop forever.
    pub fn has_more(&self) -> bool {
        !self.nodes.is_empty() && self.after() < u64::from(self.total_count)
    }

    /// The request for the following page, if any.
    pub fn next(&self) -> Option<PageRequest> {
        self.has_more().then(|| PageRequest {
            offset: u32::try_from(self.after()).unwrap_or(u32::MAX),
            limit: self.limit,
        })
    }

    fn after(&self) -> u64 {
        u64::from(self.offset) + self.nodes.len() as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub slug: String,
    pub name: Option<String>,
    /// `None` unless the token carries the `email` scope.
    pub email: Option<String>,
    pub image_url: Option<String>,
    /// `INDIVIDUAL` for a person.
    #[serde(rename = "type")]
    pub account_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountRef {
    pub id: String,
    pub slug: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub account_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    pub value_in_cents: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub id: String,
    /// `BACKER`, `ADMIN`, `MEMBER`, …
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    pub is_active: bool,
    pub total_donations: Amount,
    pub account: AccountRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: String,
    /// `CONTRIBUTION`, `EXPENSE`, …
    pub kind: String,
    /// `CREDIT` or `DEBIT`.
    #[serde(rename = "type")]
    pub direction: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub description: Option<String>,
    pub amount: Amount,
    pub net_amount: Amount,
    pub account: AccountRef,
    pub opposite_account: Option<AccountRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expense {
    pub id: String,
    pub description: Option<String>,
    /// `PENDING`, `APPROVED`, `PAID`, …
    pub status: String,
    /// `INVOICE`, `RECEIPT`, …
    #[serde(rename = "type")]
    pub expense_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(rename = "amountV2")]
    pub amount: Amount,
    /// The collective the expense was submitted to.
    pub account: AccountRef,
}

/// `data` is read only once `errors` is known to be empty: with errors it may be partial.
#[derive(Deserialize)]
struct GraphqlResponse {
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
}

#[derive(Deserialize)]
struct MeData<T> {
    me: Option<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberOf {
    member_of: Page<Membership>,
}

#[derive(Deserialize)]
struct Transactions {
    transactions: Page<Transaction>,
}

#[derive(Deserialize)]
struct Expenses {
    me: Option<serde::de::IgnoredAny>,
    expenses: Page<Expense>,
}

/// OC's error handler: `{"error": {"code", "type", "message"}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

/// Calls Open Collective's GraphQL v2 API.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    graphql_url: Url,
}

impl ApiClient {
    pub fn new(http: reqwest::Client, hosts: &Hosts) -> Self {
        Self {
            http,
            graphql_url: hosts.graphql_url(),
        }
    }

    pub async fn me(&self, credential: &Credential) -> Result<Me, ApiError> {
        self.query_me(credential, ME_QUERY, json!({})).await
    }

    /// The collectives and organizations the person belongs to, newest first.
    pub async fn memberships(
        &self,
        credential: &Credential,
        page: PageRequest,
    ) -> Result<Page<Membership>, ApiError> {
        let me: MemberOf = self
            .query_me(credential, MEMBERSHIPS_QUERY, window(page))
            .await?;
        Ok(me.member_of)
    }

    /// The person's transactions, newest first.
    pub async fn transactions(
        &self,
        credential: &Credential,
        page: PageRequest,
    ) -> Result<Page<Transaction>, ApiError> {
        let me: Transactions = self
            .query_me(credential, TRANSACTIONS_QUERY, window(page))
            .await?;
        Ok(me.transactions)
    }

    /// Expenses submitted by the account `slug` (the person's own, from [`ApiClient::me`]).
    pub async fn expenses(
        &self,
        credential: &Credential,
        slug: &str,
        page: PageRequest,
    ) -> Result<Page<Expense>, ApiError> {
        let mut variables = window(page);
        variables["slug"] = json!(slug);
        let data: Expenses = self.query(credential, EXPENSES_QUERY, variables).await?;
        data.me.ok_or(ApiError::AccessRemoved)?;
        Ok(data.expenses)
    }

    /// A query of fields under `me`, which is `null` when the token is no longer known.
    async fn query_me<T: DeserializeOwned>(
        &self,
        credential: &Credential,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T, ApiError> {
        let data: MeData<T> = self.query(credential, query, variables).await?;
        data.me.ok_or(ApiError::AccessRemoved)
    }

    async fn query<T: DeserializeOwned>(
        &self,
        credential: &Credential,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T, ApiError> {
        let request = self
            .http
            .post(self.graphql_url.clone())
            .header(ACCEPT, "application/json")
            .json(&json!({"query": query, "variables": variables}));
        let response = datalinks_http::send(credential.attach(request)?)
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(unreachable)?;
        read_response(
            status,
            retry_after.as_deref(),
            &body,
            OffsetDateTime::now_utc(),
        )
    }
}

fn window(page: PageRequest) -> serde_json::Value {
    json!({"limit": page.limit, "offset": page.offset})
}

fn unreachable(err: reqwest::Error) -> ApiError {
    let message = datalinks_http::describe(&err);
    if datalinks_http::is_refused_redirect(&err) {
        return ApiError::Provider { message };
    }
    ApiError::Unreachable { message }
}

fn read_response<T: DeserializeOwned>(
    status: StatusCode,
    retry_after: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<T, ApiError> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = retry_after
            .and_then(|value| parse_retry_after(value, now))
            .unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
        return Err(ApiError::RateLimited { retry_after });
    }
    if status == StatusCode::UNAUTHORIZED {
        let detail = serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|b| b.error);
        if detail.as_ref().and_then(|d| d.kind.as_deref()) == Some("jwt_expired") {
            return Err(ApiError::TokenExpired);
        }
        let message = detail
            .and_then(|d| d.message)
            .unwrap_or_else(|| "HTTP 401".into());
        return Err(ApiError::TokenRejected { message });
    }
    if status.is_server_error() {
        return Err(ApiError::Unreachable {
            message: format!("HTTP {}", status.as_u16()),
        });
    }
    let not_understood = |err: serde_json::Error| ApiError::Provider {
        message: format!("a response Datalinks does not understand ({err})"),
    };
    let parsed = serde_json::from_slice::<GraphqlResponse>(body);
    if let Ok(GraphqlResponse { errors, .. }) = &parsed {
        if !errors.is_empty() {
            let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
            return Err(ApiError::Provider {
                message: messages.join("; "),
            });
        }
    }
    if !status.is_success() {
        return Err(ApiError::Provider {
            message: format!("HTTP {}", status.as_u16()),
        });
    }
    let data = parsed
        .map_err(not_understood)?
        .data
        .ok_or(ApiError::Provider {
            message: "a response without data".into(),
        })?;
    serde_json::from_value(data).map_err(not_understood)
}

/// `Retry-After` is either a number of seconds or an HTTP date (RFC 9110 §10.2.3).
fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    Some((at - now).try_into().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-10-21 07:28:00 UTC);

    fn refusal(status: u16, retry_after: Option<&str>, body: &str) -> ApiError {
        read_response::<MeData<Me>>(
            StatusCode::from_u16(status).unwrap(),
            retry_after,
            body.as_bytes(),
            NOW,
        )
        .err()
        .expect("an error")
    }

    #[test]
    fn a_429_waits_as_retry_after_says_or_a_minute() {
        let limited = |retry_after| refusal(429, retry_after, "{}");
        assert_eq!(
            limited(Some("7")),
            ApiError::RateLimited {
                retry_after: Duration::from_secs(7)
            }
        );
        assert_eq!(
            limited(Some("Tue, 21 Oct 2025 07:28:30 GMT")),
            ApiError::RateLimited {
                retry_after: Duration::from_secs(30)
            }
        );
        assert_eq!(
            limited(Some("Tue, 21 Oct 2025 07:00:00 GMT")),
            ApiError::RateLimited {
                retry_after: Duration::ZERO
            }
        );
        for unusable in [None, Some("soon")] {
            assert_eq!(
                limited(unusable),
                ApiError::RateLimited {
                    retry_after: DEFAULT_RATE_LIMIT_WAIT
                }
            );
        }
    }

    #[test]
    fn a_401_other_than_jwt_expired_is_a_rejected_token() {
        let body = r#"{"error":{"code":401,"type":"unauthorized","message":"Expired Personal Token (Api Key)"}}"#;
        assert_eq!(
            refusal(401, None, body),
            ApiError::TokenRejected {
                message: "Expired Personal Token (Api Key)".into()
            }
        );
        assert_eq!(
            refusal(401, None, ""),
            ApiError::TokenRejected {
                message: "HTTP 401".into()
            }
        );
    }

    #[test]
    fn server_errors_are_unreachable_and_other_failures_provider_errors() {
        assert!(matches!(
            refusal(502, None, "<html>"),
            ApiError::Unreachable { .. }
        ));
        assert_eq!(
            refusal(400, None, r#"{"errors":[{"message":"Syntax Error"}]}"#),
            ApiError::Provider {
                message: "Syntax Error".into()
            }
        );
        assert_eq!(
            refusal(404, None, "Not found"),
            ApiError::Provider {
                message: "HTTP 404".into()
            }
        );
        assert!(matches!(
            refusal(200, None, r#"{"data":{"me":{"id":1}}}"#),
            ApiError::Provider { .. }
        ));
    }

    #[test]
    fn pages_say_whether_more_remain() {
        let page = |offset, nodes: usize, total_count| Page {
            offset,
            limit: 10,
            total_count,
            nodes: vec![(); nodes],
        };
        assert_eq!(
            page(0, 10, 25).next(),
            Some(PageRequest {
                offset: 10,
                limit: 10
            })
        );
        assert!(!page(20, 5, 25).has_more());
        assert!(!page(30, 0, 25).has_more());
        assert!(!page(0, 0, 3).has_more(), "an empty page ends the walk");
    }

    #[test]
    fn errors_become_coded_errors_without_losing_the_reason() {
        let error = Error::from(ApiError::AccessRemoved);
        assert_eq!(error.code, ErrorCode::ReconnectNeeded);
        assert!(error.message.contains("removed or replaced"));
        let limited = Error::from(ApiError::RateLimited {
            retry_after: Duration::from_secs(60),
        });
        assert_eq!(limited.code, ErrorCode::RateLimited);
        assert!(limited.message.contains("60 s"));
    }
}
