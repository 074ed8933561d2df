//! `POST /graphql/v2`: the part of Open Collective's GraphQL v2 schema a personal account reads
//! (docs/providers/open-collective.md, "GraphQL", "Personal tokens"), with OC's field names,
//! defaults and limits, its token handling and its rate limits.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, Enum, InputObject, Object, Schema, SimpleObject,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::json;
use time::OffsetDateTime;

use super::jwt;
use super::state::OpenCollective;
use super::world::{self, AccountKind, PERSONAL_TOKEN_SCOPES};
use crate::http::bearer_or_query_token;
use crate::text::unix_seconds;
use crate::urls::Params;

pub type OpenCollectiveSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema() -> OpenCollectiveSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish()
}

/// Who is asking: `None` for anonymous requests, else the seeded user with the token's scopes.
struct Viewer(Option<Vec<String>>);

/// OC's `DateTime` as JavaScript's `toISOString()` renders it (always with milliseconds).
fn date_time(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = OffsetDateTime::from_unix_timestamp(since_epoch.as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        whole.year(),
        u8::from(whole.month()),
        whole.day(),
        whole.hour(),
        whole.minute(),
        whole.second(),
        since_epoch.subsec_millis()
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
enum Currency {
    Usd,
}

#[derive(SimpleObject)]
struct Amount {
    value_in_cents: i64,
    currency: Currency,
}

fn usd(cents: i64) -> Amount {
    Amount {
        value_in_cents: cents,
        currency: Currency::Usd,
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Account")]
struct AccountSummary {
    id: String,
    legacy_id: i32,
    slug: String,
    name: String,
    #[graphql(name = "type")]
    kind: AccountKind,
}

fn summary(account: &world::Account) -> AccountSummary {
    AccountSummary {
        id: account.id.clone(),
        legacy_id: account.legacy_id,
        slug: account.slug.clone(),
        name: account.name.clone(),
        kind: account.kind,
    }
}

#[derive(SimpleObject)]
struct MemberOf {
    id: String,
    role: world::Role,
    since: String,
    is_active: bool,
    total_donations: Amount,
    account: AccountSummary,
}

#[derive(SimpleObject)]
struct Transaction {
    id: String,
    legacy_id: i32,
    kind: world::TransactionKind,
    #[graphql(name = "type")]
    direction: world::TransactionType,
    created_at: String,
    description: String,
    amount: Amount,
    net_amount: Amount,
    account: AccountSummary,
    opposite_account: AccountSummary,
}

#[derive(SimpleObject)]
struct Expense {
    id: String,
    legacy_id: i32,
    description: String,
    status: world::ExpenseStatus,
    #[graphql(name = "type")]
    kind: world::ExpenseType,
    created_at: String,
    amount_v2: Amount,
    account: AccountSummary,
}

/// OC's collection shape: `{offset, limit, totalCount, nodes}`.
#[derive(SimpleObject)]
#[graphql(concrete(name = "MemberOfCollection", params(MemberOf)))]
#[graphql(concrete(name = "TransactionCollection", params(Transaction)))]
#[graphql(concrete(name = "ExpenseCollection", params(Expense)))]
struct Collection<T: async_graphql::OutputType> {
    offset: i32,
    limit: i32,
    total_count: i32,
    nodes: Vec<T>,
}

fn collection<S, T>(items: &[S], offset: i32, limit: i32, node: impl Fn(&S) -> T) -> Collection<T>
where
    T: async_graphql::OutputType,
{
    let start = usize::try_from(offset).unwrap_or(0);
    let count = usize::try_from(limit).unwrap_or(0);
    Collection {
        offset,
        limit,
        total_count: items.len() as i32,
        nodes: items.iter().skip(start).take(count).map(node).collect(),
    }
}

fn open_collective<'a>(ctx: &Context<'a>) -> &'a OpenCollective {
    ctx.data_unchecked::<Arc<OpenCollective>>()
}

/// A negative `limit` or `offset` is refused, like OC's argument checks.
fn check_window(limit: i32, offset: i32, max: i32, what: &str) -> async_graphql::Result<()> {
    if limit < 0 || offset < 0 {
        return Err("Invalid pagination arguments".into());
    }
    if limit > max {
        return Err(format!(
            "Cannot fetch more than {max} {what} at the same time, please adjust the limit"
        )
        .into());
    }
    Ok(())
}

fn logged_in(ctx: &Context<'_>) -> Option<Individual> {
    ctx.data_unchecked::<Viewer>()
        .0
        .as_ref()
        .map(|_| Individual)
}

pub struct Query;

#[Object]
impl Query {
    /// The account of the token's user (`null` for anonymous requests).
    async fn me(&self, ctx: &Context<'_>) -> Option<Individual> {
        logged_in(ctx)
    }

    /// The same account as `me`.
    async fn logged_in_account(&self, ctx: &Context<'_>) -> Option<Individual> {
        logged_in(ctx)
    }

    /// Expenses, optionally only those submitted by `fromAccount`; newest first.
    async fn expenses(
        &self,
        ctx: &Context<'_>,
        from_account: Option<AccountReferenceInput>,
        #[graphql(default = 10)] limit: Option<i32>,
        #[graphql(default = 0)] offset: Option<i32>,
    ) -> async_graphql::Result<Collection<Expense>> {
        let (limit, offset) = (limit.unwrap_or(10), offset.unwrap_or(0));
        check_window(limit, offset, 1000, "expenses")?;
        let oc = open_collective(ctx);
        let world = &oc.world;
        let expenses: &[world::Expense] = match from_account {
            None => &world.expenses,
            Some(reference) if reference.matches(&world.user) => &world.expenses,
            Some(reference) if world.collectives.iter().any(|c| reference.matches(c)) => &[],
            Some(_) => return Err("Account Not Found".into()),
        };
        Ok(collection(expenses, offset, limit, |expense| Expense {
            id: expense.id.clone(),
            legacy_id: expense.legacy_id,
            description: expense.description.clone(),
            status: expense.status,
            kind: expense.kind,
            created_at: date_time(expense.created_at),
            amount_v2: usd(expense.amount_cents),
            account: summary(&world.collectives[expense.collective]),
        }))
    }
}

#[derive(InputObject)]
struct AccountReferenceInput {
    id: Option<String>,
    legacy_id: Option<i32>,
    slug: Option<String>,
}

impl AccountReferenceInput {
    fn matches(&self, account: &world::Account) -> bool {
        self.id.as_deref() == Some(account.id.as_str())
            || self.legacy_id == Some(account.legacy_id)
            || self.slug.as_deref() == Some(account.slug.as_str())
    }
}

/// The seeded user's account.
pub struct Individual;

#[Object]
impl Individual {
    async fn id(&self, ctx: &Context<'_>) -> String {
        open_collective(ctx).world.user.id.clone()
    }

    async fn legacy_id(&self, ctx: &Context<'_>) -> i32 {
        open_collective(ctx).world.user.legacy_id
    }

    async fn slug(&self, ctx: &Context<'_>) -> String {
        open_collective(ctx).world.user.slug.clone()
    }

    async fn name(&self, ctx: &Context<'_>) -> String {
        open_collective(ctx).world.user.name.clone()
    }

    /// `null` unless the token carries the `email` scope.
    async fn email(&self, ctx: &Context<'_>) -> Option<String> {
        let scopes = ctx.data_unchecked::<Viewer>().0.as_ref()?;
        scopes
            .iter()
            .any(|scope| scope == "email")
            .then(|| open_collective(ctx).world.email.clone())
    }

    async fn image_url(&self, ctx: &Context<'_>, height: Option<i32>) -> String {
        let slug = &open_collective(ctx).world.user.slug;
        match height {
            Some(height) => format!("https://images.opencollective.com/{slug}/avatar/{height}.png"),
            None => format!("https://images.opencollective.com/{slug}/avatar.png"),
        }
    }

    #[graphql(name = "type")]
    async fn kind(&self) -> AccountKind {
        AccountKind::Individual
    }

    async fn created_at(&self, ctx: &Context<'_>) -> String {
        date_time(open_collective(ctx).world.user.created_at)
    }

    /// Memberships, newest first.
    async fn member_of(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 150)] limit: Option<i32>,
        #[graphql(default = 0)] offset: Option<i32>,
    ) -> async_graphql::Result<Collection<MemberOf>> {
        let (limit, offset) = (limit.unwrap_or(150), offset.unwrap_or(0));
        check_window(limit, offset, i32::MAX, "members")?;
        let world = &open_collective(ctx).world;
        Ok(collection(
            &world.memberships,
            offset,
            limit,
            |membership| MemberOf {
                id: membership.id.clone(),
                role: membership.role,
                since: date_time(membership.since),
                is_active: membership.is_active,
                total_donations: usd(membership.total_donations_cents),
                account: summary(&world.collectives[membership.collective]),
            },
        ))
    }

    /// Transactions of the account, newest first.
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] limit: Option<i32>,
        #[graphql(default = 0)] offset: Option<i32>,
    ) -> async_graphql::Result<Collection<Transaction>> {
        let (limit, offset) = (limit.unwrap_or(100), offset.unwrap_or(0));
        check_window(limit, offset, 1000, "transactions")?;
        let world = &open_collective(ctx).world;
        Ok(collection(
            &world.transactions,
            offset,
            limit,
            |transaction| Transaction {
                id: transaction.id.clone(),
                legacy_id: transaction.legacy_id,
                kind: transaction.kind,
                direction: transaction.direction,
                created_at: date_time(transaction.created_at),
                description: transaction.description.clone(),
                amount: usd(transaction.amount_cents),
                net_amount: usd(transaction.net_amount_cents),
                account: summary(&world.user),
                opposite_account: summary(&world.collectives[transaction.collective]),
            },
        ))
    }
}

enum Caller {
    /// A JWT past its `exp`: refused before anything else.
    ExpiredJwt,
    /// The personal token is past its expiry: refused too.
    ExpiredPersonalToken,
    Anonymous,
    OAuth(Vec<String>),
    PersonalToken,
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `CustomError(401, 'jwt_expired', 'jwt expired')` as OC's error handler renders it.
fn jwt_expired() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": 401, "type": "jwt_expired", "message": "jwt expired"}})
            .to_string(),
    )
}

/// `checkPersonalToken` on a token past its expiry (docs/providers/open-collective.md, "GraphQL").
fn expired_personal_token() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": 401, "type": "unauthorized", "message": "Expired Personal Token (Api Key)"}})
            .to_string(),
    )
}

/// OC's authentication middleware: a JWT with a bad signature, or whose user token is gone or
/// expired, is ignored (the request goes on anonymously); an expired JWT is a 401.
fn identify(oc: &OpenCollective, headers: &HeaderMap, query: &Params) -> Caller {
    let mut store = oc.store();
    if let Some(token) = bearer_or_query_token(headers, query) {
        let Some(claims) = jwt::verify(&oc.world.jwt_key, token) else {
            store.stats.graphql_unrecognized_tokens += 1;
            return Caller::Anonymous;
        };
        let now = SystemTime::now();
        if claims.exp <= unix_seconds(now) || store.jwt_expired(&claims.access_token) {
            store.stats.graphql_expired_tokens += 1;
            return Caller::ExpiredJwt;
        }
        return match store.user_token(&claims.access_token) {
            Some(user_token) if user_token.access_token_expires_at > now => {
                Caller::OAuth(user_token.scopes.clone())
            }
            _ => {
                store.stats.graphql_unrecognized_tokens += 1;
                Caller::Anonymous
            }
        };
    }
    let personal_token = headers
        .get("personal-token")
        .and_then(|value| value.to_str().ok())
        .or_else(|| query.non_empty("personalToken"));
    match personal_token {
        Some(token) if token == oc.world.personal_token => {
            if store.personal_token_expired {
                Caller::ExpiredPersonalToken
            } else {
                Caller::PersonalToken
            }
        }
        Some(_) => {
            store.stats.graphql_unrecognized_tokens += 1;
            Caller::Anonymous
        }
        None => Caller::Anonymous,
    }
}

/// `POST /graphql/v2`
pub async fn graphql(
    State(oc): State<Arc<OpenCollective>>,
    Extension(schema): Extension<OpenCollectiveSchema>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    oc.store().stats.graphql_requests += 1;
    let query = Params::from_query(uri.query().unwrap_or(""));
    let settings = &oc.settings;
    let (budget_key, limit, scopes) = match identify(&oc, &headers, &query) {
        Caller::ExpiredJwt => return jwt_expired(),
        Caller::ExpiredPersonalToken => return expired_personal_token(),
        Caller::Anonymous => ("anonymous", settings.anonymous_rate_limit, None),
        Caller::OAuth(scopes) => ("user", settings.authenticated_rate_limit, Some(scopes)),
        Caller::PersonalToken => (
            "personal-token",
            settings.authenticated_rate_limit,
            Some(PERSONAL_TOKEN_SCOPES.map(String::from).to_vec()),
        ),
    };
    // Anonymous budgets are per IP in OC; every sandbox client is local, so they share one.
    if !oc
        .store()
        .within_rate_limit(budget_key.into(), limit, settings.rate_limit_window)
    {
        oc.store().stats.graphql_rate_limited += 1;
        return json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"message": "Rate limit exceeded. Create a Personal Token to get higher limits."}})
                .to_string(),
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"errors": [{"message": format!("Invalid JSON body: {error}")}]}).to_string(),
            )
        }
    };
    let response = schema
        .execute(request.data(oc.clone()).data(Viewer(scopes)))
        .await;
    json_response(
        StatusCode::OK,
        serde_json::to_string(&response).unwrap_or_default(),
    )
}
