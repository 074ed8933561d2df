//! Open Humans for researchers (docs/providers/open-humans.md, from "Master tokens (researchers)"
//! on): a project's members with all their files, bulk download in ohapi's disk layout, metadata
//! export, messaging, uploads to members, file deletion and member removal, all over the
//! project's master token.
//!
//! The master token is a [`MasterToken`]: it travels only to the configured server (in the query
//! string where Open Humans requires it, otherwise in the `Authorization` header) and never
//! appears in an error, a log line or a debug print.

mod download;
mod http;
mod messaging;
mod metadata;
mod upload;
pub mod webhook;

pub use datalinks_openhumans::download::run::{
    FailedFile, FileState, Job, Observer, Outcome, RunProgress, RunSummary,
};
pub use datalinks_openhumans::upload::DeleteTarget;
pub use download::{plan, DownloadOptions, MemberFilter};
pub use messaging::{render_preview, Recipients};
pub use metadata::{metadata_csv, parse_member_ids, parse_size, read_member_ids};
pub use tokio_util::sync::CancellationToken;
pub use upload::{UploadMode, UploadOptions, UploadOutcome, UploadReport};

use datalinks_core::{Error, MasterToken, Result};
use datalinks_openhumans::pages::NextLinks;
use datalinks_openhumans::DataFile;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use url::Url;

/// Whether `id` looks like a project member id: 8 digits.
pub fn is_project_member_id(id: &str) -> bool {
    id.len() == 8 && id.bytes().all(|b| b.is_ascii_digit())
}

const PROJECT_PATH: &str = "api/direct-sharing/project/";
const MEMBERS_PATH: &str = "api/direct-sharing/project/members/";
const EXCHANGE_MEMBER_PATH: &str = "api/direct-sharing/project/exchange-member/";
/// Members whose files are fetched at the same time while listing.
const EXCHANGE_CONCURRENCY: usize = 8;
/// Pages of the members list asked for at the same time.
const PAGE_CONCURRENCY: usize = 4;

/// How far listing the members has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingProgress {
    pub members_listed: usize,
    pub members_total: usize,
}

/// What `GET /api/direct-sharing/project/` says about the project (the fields scripts use; the
/// whole answer is in `raw`).
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectInfo {
    pub id: u64,
    pub id_label: String,
    pub name: String,
    pub slug: String,
    pub authorized_members: u64,
    #[serde(default)]
    pub contact_email: String,
    /// Approved by Open Humans: no more 20-member cap.
    #[serde(default)]
    pub approved: bool,
    /// A study (research) rather than an activity: approval needs an ethics review.
    #[serde(default)]
    pub is_study: bool,
    #[serde(skip)]
    pub raw: serde_json::Value,
}

/// One active member of the project with every file they share (not only the first 10 the
/// members list shows).
#[derive(Debug, Clone)]
pub struct ProjectMember {
    pub project_member_id: String,
    /// Present only when the project requests username access.
    pub username: Option<String>,
    pub created: String,
    pub sources_shared: Vec<String>,
    pub file_count: usize,
    pub files: Vec<DataFile>,
}

/// A member as the members list serializes it.
#[derive(Deserialize)]
struct ListedMember {
    project_member_id: String,
    #[serde(default)]
    username: Option<String>,
    created: String,
    sources_shared: Vec<String>,
    file_count: usize,
    data: Vec<ListedFile>,
}

/// A file with the download link minted when it was listed (valid for an hour).
#[derive(Deserialize)]
struct ListedFile {
    #[serde(flatten)]
    file: DataFile,
    download_url: String,
}

#[derive(Deserialize)]
struct MembersPage {
    count: usize,
    next: Option<String>,
    results: Vec<ListedMember>,
}

/// The members listed so far, and who they are.
#[derive(Default)]
struct Listing {
    members: Vec<ProjectMember>,
    seen: std::collections::HashSet<String>,
}

#[derive(Deserialize)]
struct ExchangePage {
    next: Option<String>,
    data: Vec<ListedFile>,
}

/// A download link and when it was listed.
struct Link {
    url: Url,
    listed_at: Instant,
}

/// A project, seen through its master access token.
pub struct Project {
    http: http::Api,
    /// Download links from the latest listing, by file id, so a bulk download does not ask the
    /// server again for links it was just given.
    links: Mutex<HashMap<u64, Link>>,
}

impl Project {
    /// `base_url` is the Open Humans server (checked with `datalinks_core::server_url`).
    pub fn new(base_url: Url, master_token: MasterToken) -> Result<Self> {
        if master_token.expose().trim().is_empty() {
            return Err(Error::invalid_input("The master access token is empty."));
        }
        Ok(Self {
            http: http::Api::new(base_url, master_token),
            links: Mutex::new(HashMap::new()),
        })
    }

    pub async fn info(&self) -> Result<ProjectInfo> {
        let raw: serde_json::Value = self.http.get_json(self.http.endpoint(PROJECT_PATH)).await?;
        let mut info: ProjectInfo = serde_json::from_value(raw.clone()).map_err(|e| {
            Error::provider(format!(
                "Open Humans sent project info Datalinks does not understand: {e}."
            ))
        })?;
        info.raw = raw;
        Ok(info)
    }

    /// How many active members the project has (one small request).
    pub async fn member_count(&self) -> Result<usize> {
        let mut url = self.http.members_url();
        url.query_pairs_mut().append_pair("limit", "1");
        let page: MembersPage = self.http.get_json(url).await?;
        Ok(page.count)
    }

    /// Every active member, over every page, each with all their files: `exchange_member` is
    /// followed for members who share more files than the list shows.
    pub async fn members(&self) -> Result<Vec<ProjectMember>> {
        self.members_reporting(|_, _| {}).await
    }

    /// [`Project::members`], handing over each page's members as soon as they are complete.
    ///
    /// The first page gives the count; the other pages are then asked for by offset
    /// (`limit`/`offset`, docs/providers/open-humans.md, "Pagination") a few at a time, in order.
    /// Members who join meanwhile are picked up by following the last page's `next`; one who
    /// shifts pages is kept once.
    pub async fn members_reporting(
        &self,
        on_page: impl Fn(ListingProgress, &[ProjectMember]),
    ) -> Result<Vec<ProjectMember>> {
        let first_url = self.http.members_url();
        let mut links = NextLinks::new(&first_url);
        let first: MembersPage = self.http.get_json(first_url).await?;
        let page_size = first.results.len();
        let offsets = match first.next {
            Some(_) if page_size > 0 => (page_size..first.count).step_by(page_size).collect(),
            _ => Vec::new(),
        };
        let mut listing = Listing::default();
        let mut next = self.absorb_page(first, &mut listing, &on_page).await?;
        let mut pages = futures::stream::iter(offsets)
            .map(|offset| {
                let mut url = self.http.members_url();
                url.query_pairs_mut()
                    .append_pair("limit", &page_size.to_string())
                    .append_pair("offset", &offset.to_string());
                self.http.get_json::<MembersPage>(url)
            })
            .buffered(PAGE_CONCURRENCY);
        while let Some(page) = pages.next().await {
            next = self.absorb_page(page?, &mut listing, &on_page).await?;
        }
        while let Some(url) = links.follow(next.take().as_deref())? {
            let page: MembersPage = self.http.get_json(url).await?;
            next = self.absorb_page(page, &mut listing, &on_page).await?;
        }
        Ok(listing.members)
    }

    /// Completes a page's new members, reports them, and returns the page's `next` link.
    async fn absorb_page(
        &self,
        page: MembersPage,
        listing: &mut Listing,
        on_page: &impl Fn(ListingProgress, &[ProjectMember]),
    ) -> Result<Option<String>> {
        let fresh: Vec<ListedMember> = page
            .results
            .into_iter()
            .filter(|m| listing.seen.insert(m.project_member_id.clone()))
            .collect();
        // Members with more files than listed each need their own requests: run those side by
        // side, keeping the list's order.
        let completed: Vec<Result<ProjectMember>> = futures::stream::iter(fresh)
            .map(|listed| self.complete_member(listed))
            .buffered(EXCHANGE_CONCURRENCY)
            .collect()
            .await;
        let start = listing.members.len();
        for member in completed {
            listing.members.push(member?);
        }
        let progress = ListingProgress {
            members_listed: listing.members.len(),
            members_total: page.count.max(listing.members.len()),
        };
        on_page(progress, &listing.members[start..]);
        Ok(page.next)
    }

    async fn complete_member(&self, listed: ListedMember) -> Result<ProjectMember> {
        let listed_files = if listed.data.len() < listed.file_count {
            self.exchange_member(&listed.project_member_id).await?
        } else {
            listed.data
        };
        Ok(ProjectMember {
            files: self.remember_links(listed_files),
            project_member_id: listed.project_member_id,
            username: listed.username,
            created: listed.created,
            sources_shared: listed.sources_shared,
            file_count: listed.file_count,
        })
    }

    /// All files of one member, with fresh download links (exchange-member as the project).
    pub async fn member_files(&self, project_member_id: &str) -> Result<Vec<DataFile>> {
        let files = self.exchange_member(project_member_id).await?;
        Ok(self.remember_links(files))
    }

    async fn exchange_member(&self, project_member_id: &str) -> Result<Vec<ListedFile>> {
        let mut url = self.http.endpoint(EXCHANGE_MEMBER_PATH);
        url.query_pairs_mut()
            .append_pair("project_member_id", project_member_id);
        let mut files = Vec::new();
        let mut links = NextLinks::new(&url);
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let mut page: ExchangePage = self.http.get_json(url).await?;
            files.append(&mut page.data);
            next = links.follow(page.next.as_deref())?;
        }
        Ok(files)
    }

    fn remember_links(&self, listed: Vec<ListedFile>) -> Vec<DataFile> {
        let listed_at = Instant::now();
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        listed
            .into_iter()
            .map(|entry| {
                if let Ok(url) = Url::parse(&entry.download_url) {
                    links.insert(entry.file.id, Link { url, listed_at });
                }
                entry.file
            })
            .collect()
    }

    /// The listed link of a file if it is younger than `max_age`.
    fn recent_link(&self, file_id: u64, max_age: std::time::Duration) -> Option<Url> {
        let links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links
            .get(&file_id)
            .filter(|link| link.listed_at.elapsed() < max_age)
            .map(|link| link.url.clone())
    }
}
