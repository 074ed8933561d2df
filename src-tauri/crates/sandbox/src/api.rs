//! The direct-sharing API (docs/providers/open-humans.md, "API authentication", "Pagination", "The
//! account", "Project information"): DRF authentication, LimitOffset pagination and the
//! exchange-member and project serializers. The researcher endpoints (members, messaging,
//! uploads) live in their own modules and share what is here.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::files::DataFile;
use crate::form::{parse_failure_response, RequestData};
use crate::pages;
use crate::state::{AccessTokenStatus, Sandbox};
use crate::text::drf_datetime;
use crate::urls::{with_query_param, Params};

/// The project's contact email (the Reply-To of its messages).
pub const CONTACT_EMAIL: &str = "sandbox@datalinks.invalid";

/// DRF `PAGE_SIZE`; Open Humans' view-level limits are ignored by DRF, so there is no maximum.
const DEFAULT_LIMIT: usize = 100;

pub enum Caller {
    Member(usize),
    /// The project's master access token.
    Project,
}

/// Which DRF authentication classes a view lists.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// `CustomOAuth2Authentication` then `MasterTokenAuthentication`.
    MemberOrProject,
    /// `MasterTokenAuthentication` alone (the members list).
    ProjectOnly,
}

/// The HTTP method a view implements.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl Verb {
    /// The methods DRF names in the `Allow` header of every answer of such a view.
    fn allow(self) -> &'static str {
        match self {
            Verb::Get => "GET, HEAD, OPTIONS",
            Verb::Post => "POST, OPTIONS",
        }
    }
}

fn with_allow(mut response: Response, verb: Verb) -> Response {
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(verb.allow()));
    response
}

/// DRF's `Allow` on every answer of a GET view, refusals included (a route layer).
pub async fn allow_get(response: Response) -> Response {
    with_allow(response, Verb::Get)
}

/// DRF's `Allow` on every answer of a POST view (a route layer).
pub async fn allow_post(response: Response) -> Response {
    with_allow(response, Verb::Post)
}

/// A DRF `AuthenticationFailed` or `NotAuthenticated` detail, and whether DOT looked the bearer
/// token up and refused it (its challenge then says `invalid_token`).
struct Unauthenticated(&'static str, Challenge);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Challenge {
    Realm,
    InvalidToken,
}

impl Challenge {
    /// DOT's `authenticate_header`: the realm, plus oauthlib's error when a token was refused
    /// (docs/sandbox.md, "Open Humans API answers").
    fn header(self) -> &'static str {
        match self {
            Challenge::Realm => "Bearer realm=\"api\"",
            Challenge::InvalidToken => "Bearer realm=\"api\",error=\"invalid_token\",error_description=\"The access token is invalid.\"",
        }
    }
}

/// DRF's authentication as Open Humans configures it: `CustomOAuth2Authentication` (expired OAuth2
/// tokens fail early), DOT's `OAuth2Authentication`, then `MasterTokenAuthentication`.
/// `?access_token=` is copied over the Authorization header by a middleware, so it wins.
fn authenticate(
    sandbox: &Sandbox,
    query: &Params,
    headers: &HeaderMap,
    authentication: Authentication,
) -> Result<Caller, Unauthenticated> {
    let authorization = match query.get("access_token") {
        Some(token) => format!("Bearer {token}"),
        None => headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string(),
    };
    let words: Vec<&str> = authorization.split_whitespace().collect();
    let store = sandbox.store();
    if authentication == Authentication::MemberOrProject {
        if let Some(token) = words.get(1) {
            if let AccessTokenStatus::Expired = store.access_token_status(token) {
                return Err(Unauthenticated("Expired token.", Challenge::Realm));
            }
        }
        if let [scheme, token] = words.as_slice() {
            if scheme.eq_ignore_ascii_case("bearer") {
                if let AccessTokenStatus::Valid(member) = store.access_token_status(token) {
                    return Ok(Caller::Member(member));
                }
            }
        }
    }
    match words.as_slice() {
        [] => Err(Unauthenticated(
            "Authentication credentials were not provided.",
            Challenge::Realm,
        )),
        [scheme, ..] if !scheme.eq_ignore_ascii_case("bearer") => Err(Unauthenticated(
            "Authentication credentials were not provided.",
            Challenge::Realm,
        )),
        [_] => Err(Unauthenticated(
            "Invalid token header. No credentials provided.",
            Challenge::Realm,
        )),
        [_, token] if *token == store.master_token.token => {
            if SystemTime::now() >= store.master_token.expires_at {
                Err(Unauthenticated("Expired token.", Challenge::Realm))
            } else {
                Ok(Caller::Project)
            }
        }
        [_, _] => Err(Unauthenticated("Invalid token.", Challenge::InvalidToken)),
        _ => Err(Unauthenticated(
            "Invalid token header. Token string should not contain spaces.",
            Challenge::Realm,
        )),
    }
}

/// Django's `never_cache` (with `private`, as Django 3 and later add it), applied to every
/// direct-sharing view (`NeverCacheMixin`).
pub fn api_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CACHE_CONTROL,
                "max-age=0, no-cache, no-store, must-revalidate, private",
            ),
        ],
        body,
    )
        .into_response()
}

/// An answer serialized from a struct (to keep DRF's key order) or a `json!` value.
pub fn api_json(status: StatusCode, body: &impl Serialize) -> Response {
    api_response(status, serde_json::to_string(body).unwrap_or_default())
}

/// A successful answer.
pub fn api_ok(body: &impl Serialize) -> Response {
    api_json(StatusCode::OK, body)
}

/// A DRF `ValidationError` (400) with `body` as it is.
pub fn bad_request(body: serde_json::Value) -> Response {
    api_json(StatusCode::BAD_REQUEST, &body)
}

/// Authentication, then DRF's method check (which comes after authentication). Returns the caller
/// and the parsed query.
pub fn admit(
    sandbox: &Sandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    authentication: Authentication,
    verb: Verb,
) -> Result<(Caller, Params), Box<Response>> {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let outcome = authenticate(sandbox, &query, headers, authentication);
    let mut store = sandbox.store();
    store.stats.api_calls += 1;
    let caller = match outcome {
        Ok(caller) => caller,
        Err(Unauthenticated(detail, challenge)) => {
            store.stats.api_auth_failures += 1;
            let mut response = api_response(
                StatusCode::UNAUTHORIZED,
                json!({ "detail": detail }).to_string(),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge.header()),
            );
            return Err(Box::new(response));
        }
    };
    let allowed = match verb {
        Verb::Get => method == Method::GET || method == Method::HEAD,
        Verb::Post => method == Method::POST,
    };
    if !allowed {
        let response = api_response(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "detail": format!("Method \"{method}\" not allowed.") }).to_string(),
        );
        return Err(Box::new(with_allow(response, verb)));
    }
    Ok((caller, query))
}

/// A project-member POST form (`ProjectFormBaseView`, `ProjMemberFormAPIMixin`): the caller, then
/// the parsed request data.
pub async fn admit_form(
    sandbox: &Sandbox,
    request: Request,
) -> Result<(Caller, RequestData), Box<Response>> {
    let (parts, body) = request.into_parts();
    let (caller, _) = admit(
        sandbox,
        &parts.method,
        &parts.uri,
        &parts.headers,
        Authentication::MemberOrProject,
        Verb::Post,
    )?;
    let (data, _) = RequestData::parse(Request::from_parts(parts, body))
        .await
        .map_err(|failure| Box::new(parse_failure_response(failure)))?;
    Ok((caller, data))
}

#[derive(Serialize)]
struct ExchangeMemberPage {
    count: usize,
    next: Option<String>,
    previous: Option<String>,
    created: String,
    project_member_id: String,
    sources_shared: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    data: Vec<DataFile>,
}

/// DRF's `_positive_int`: negatives (and zero when strict) are invalid.
fn positive_int(value: Option<&str>, strict: bool) -> Option<usize> {
    let parsed: i64 = value?.trim().parse().ok()?;
    if parsed < 0 || (strict && parsed == 0) {
        return None;
    }
    usize::try_from(parsed).ok()
}

/// One page of DRF's `LimitOffsetPagination`.
pub struct Page {
    pub offset: usize,
    pub limit: usize,
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl Page {
    /// The page `query` asks for among `count` items, with `next` and `previous` built from the
    /// request URL.
    pub fn of(
        sandbox: &Sandbox,
        count: usize,
        query: &Params,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Page {
        let limit = positive_int(query.get("limit"), true).unwrap_or(DEFAULT_LIMIT);
        let offset = positive_int(query.get("offset"), false).unwrap_or(0);
        let request_url = absolute_request_url(sandbox, uri, headers);
        let next = if sandbox.store().faults.next_link_loops {
            Some(with_query_param(&request_url, "offset", None))
        } else {
            (offset.saturating_add(limit) < count).then(|| {
                let url = with_query_param(&request_url, "limit", Some(&limit.to_string()));
                with_query_param(&url, "offset", Some(&(offset + limit).to_string()))
            })
        };
        let previous = (offset > 0).then(|| {
            let url = with_query_param(&request_url, "limit", Some(&limit.to_string()));
            if offset <= limit {
                with_query_param(&url, "offset", None)
            } else {
                with_query_param(&url, "offset", Some(&(offset - limit).to_string()))
            }
        });
        Page {
            offset,
            limit,
            next,
            previous,
        }
    }
}

/// The member a master-token request names with `project_member_id`: a 500 when missing, a 400
/// when unknown (docs/providers/open-humans.md, "The account").
pub fn named_member(sandbox: &Sandbox, query: &Params) -> Result<usize, Box<Response>> {
    match query.non_empty("project_member_id") {
        // Open Humans crashes on the unbound variable here.
        None => Err(Box::new(pages::server_error())),
        Some(id) => sandbox
            .world
            .member_by_project_member_id(id)
            .ok_or_else(|| {
                Box::new(bad_request(
                    json!({"project_member_id": "project_member_id is invalid"}),
                ))
            }),
    }
}

/// `GET /api/direct-sharing/project/exchange-member/`
pub async fn exchange_member(
    State(sandbox): State<Arc<Sandbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let admitted = admit(
        &sandbox,
        &method,
        &uri,
        &headers,
        Authentication::MemberOrProject,
        Verb::Get,
    );
    let (caller, query) = match admitted {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let member = match caller {
        Caller::Member(member) => member,
        Caller::Project => match named_member(&sandbox, &query) {
            Ok(member) => member,
            Err(refused) => return *refused,
        },
    };

    let files = sandbox.member_files(member);
    let page = Page::of(&sandbox, files.len(), &query, &uri, &headers);
    let count = files.len();
    let shown = files
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .collect();
    let seeded = &sandbox.world.members[member];
    let body = ExchangeMemberPage {
        count,
        next: page.next,
        previous: page.previous,
        created: drf_datetime(seeded.created),
        project_member_id: seeded.project_member_id.clone(),
        sources_shared: sandbox.sources_shared(),
        username: sandbox.shared_username(member),
        data: sandbox.serialize_files(shown),
    };
    api_ok(&body)
}

impl Sandbox {
    /// Every member grants every source the project requests.
    pub fn sources_shared(&self) -> Vec<String> {
        self.world.sources.iter().map(|s| s.id_label()).collect()
    }

    /// The username, when the project requests username access.
    pub fn shared_username(&self, member: usize) -> Option<String> {
        self.world
            .project
            .request_username_access
            .then(|| self.world.members[member].username.clone())
    }
}

/// Django's `request.build_absolute_uri()`: the Host the client used plus the full path.
fn absolute_request_url(sandbox: &Sandbox, uri: &Uri, headers: &HeaderMap) -> String {
    let path = uri
        .path_and_query()
        .map_or(uri.path(), |path_and_query| path_and_query.as_str());
    match headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
    {
        Some(host) => format!("http://{host}{path}"),
        None => sandbox.url(path),
    }
}

/// `GET /api/direct-sharing/project/` (ProjectDataSerializer; docs/providers/open-humans.md,
/// "Project information").
pub async fn project(
    State(sandbox): State<Arc<Sandbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let admitted = admit(
        &sandbox,
        &method,
        &uri,
        &headers,
        Authentication::MemberOrProject,
        Verb::Get,
    );
    if let Err(refused) = admitted {
        return *refused;
    }
    let project = &sandbox.world.project;
    let authorized_members = sandbox
        .store()
        .memberships
        .iter()
        .filter(|membership| membership.authorized)
        .count();
    let body = ProjectData {
        active: true,
        approved: false,
        authorized_members,
        badge_image: "",
        contact_email: CONTACT_EMAIL,
        id: project.id,
        id_label: project.id_label(),
        info_url: "https://datalinks.invalid/sandbox",
        is_academic_or_nonprofit: false,
        is_study: false,
        leader: "Datalinks Sandbox",
        long_description:
            "A simulated Open Humans project for trying Datalinks without an account.",
        name: &project.name,
        organization: "Datalinks",
        registered_datatypes: Vec::new(),
        requested_sources: sandbox
            .world
            .sources
            .iter()
            .map(|s| format!("/api/public/project/{}/", s.project_id))
            .collect(),
        request_sources_access: sandbox.sources_shared(),
        request_username_access: project.request_username_access,
        returned_data_description: "",
        short_description: "Simulated Open Humans project (sandbox).",
        slug: &project.slug,
        kind: "oauth2",
    };
    api_ok(&body)
}

/// `GET /api/public/project/<id>/`: what Open Humans shows anyone about a project (the same
/// ProjectDataSerializer, no authentication; docs/providers/open-humans.md, "Public project
/// data"). The sandbox knows its own project and the sources its members share.
pub async fn public_project(
    State(sandbox): State<Arc<Sandbox>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let world = &sandbox.world;
    let id: Option<u32> = id.parse().ok();
    let name = match id {
        Some(id) if id == world.project.id => Some(world.project.name.as_str()),
        Some(id) => world
            .sources
            .iter()
            .find(|source| source.project_id == id)
            .map(|source| source.name),
        None => None,
    };
    let (Some(id), Some(name)) = (id, name) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"detail": "Not found."})),
        )
            .into_response();
    };
    api_ok(&ProjectData {
        active: true,
        approved: true,
        authorized_members: 0,
        badge_image: "",
        contact_email: CONTACT_EMAIL,
        id,
        id_label: format!("direct-sharing-{id}"),
        info_url: "",
        is_academic_or_nonprofit: false,
        is_study: false,
        leader: "",
        long_description: "",
        name,
        organization: "",
        registered_datatypes: Vec::new(),
        requested_sources: Vec::new(),
        request_sources_access: Vec::new(),
        request_username_access: false,
        returned_data_description: "",
        short_description: "",
        slug: "",
        kind: "oauth2",
    })
}

#[derive(Serialize)]
struct ProjectData<'a> {
    active: bool,
    approved: bool,
    authorized_members: usize,
    badge_image: &'a str,
    contact_email: &'a str,
    id: u32,
    id_label: String,
    info_url: &'a str,
    is_academic_or_nonprofit: bool,
    is_study: bool,
    leader: &'a str,
    long_description: &'a str,
    name: &'a str,
    organization: &'a str,
    registered_datatypes: Vec<String>,
    requested_sources: Vec<String>,
    request_sources_access: Vec<String>,
    request_username_access: bool,
    returned_data_description: &'a str,
    short_description: &'a str,
    slug: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}
