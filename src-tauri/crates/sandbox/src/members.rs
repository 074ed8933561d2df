//! `GET /api/direct-sharing/project/members/` (docs/providers/open-humans.md, "Project members"):
//! the project's active members, for the master token only, each with the first 10 of their files.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde::Serialize;

use crate::api::{admit, api_ok, Authentication, Page, Verb};
use crate::files::DataFile;
use crate::pages;
use crate::state::Sandbox;
use crate::text::drf_datetime;
use crate::EXCHANGE_MEMBER_PATH;

/// `ProjectMemberDataSerializer` shows this many files; clients follow `exchange_member` for more.
const FILES_SHOWN: usize = 10;

#[derive(Serialize)]
struct MemberList {
    count: usize,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<MemberData>,
}

#[derive(Serialize)]
struct MemberData {
    created: String,
    project_member_id: String,
    file_count: usize,
    exchange_member: String,
    sources_shared: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    data: Vec<DataFile>,
}

pub async fn members(
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
        Authentication::ProjectOnly,
        Verb::Get,
    );
    let query = match admitted {
        Ok((_, query)) => query,
        Err(refused) => return *refused,
    };
    // Members in the order they joined; Open Humans leaves the order unspecified.
    let active: Vec<usize> = sandbox
        .store()
        .memberships
        .iter()
        .enumerate()
        .filter(|(_, membership)| membership.authorized)
        .map(|(member, _)| member)
        .collect();
    let page = Page::of(&sandbox, active.len(), &query, &uri, &headers);
    let shown: Vec<usize> = active
        .iter()
        .copied()
        .skip(page.offset)
        .take(page.limit)
        .collect();
    if shown.is_empty() {
        return api_ok(&MemberList {
            count: active.len(),
            next: page.next,
            previous: page.previous,
            results: Vec::new(),
        });
    }
    // The serializer reads `request.GET["access_token"]`: a KeyError (500) when the token came
    // in the header, as soon as there is a member to serialize.
    let Some(token) = query.get("access_token") else {
        return pages::server_error();
    };
    let results = shown
        .into_iter()
        .map(|member| {
            let files = sandbox.member_files(member);
            let file_count = files.len();
            let first = files.into_iter().take(FILES_SHOWN).collect();
            let seeded = &sandbox.world.members[member];
            MemberData {
                created: drf_datetime(seeded.created),
                project_member_id: seeded.project_member_id.clone(),
                file_count,
                // Formatted, not encoded, as Open Humans does.
                exchange_member: format!(
                    "{}?project_member_id={}&access_token={token}",
                    sandbox.url(EXCHANGE_MEMBER_PATH),
                    seeded.project_member_id
                ),
                sources_shared: sandbox.sources_shared(),
                username: sandbox.shared_username(member),
                data: sandbox.serialize_files(first),
            }
        })
        .collect();
    api_ok(&MemberList {
        count: active.len(),
        next: page.next,
        previous: page.previous,
        results,
    })
}
