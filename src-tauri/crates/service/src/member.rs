//! The member view: who the person is to the Open Humans project and what they share.

use crate::{Datalinks, FileGroup, MemberFile, MemberOverview};
use datalinks_core::{Provider, Result};
use datalinks_openhumans::{ApiClient, DataFile, Member};
use std::sync::Arc;

impl Datalinks {
    /// The connected member and every file they share (all pages).
    pub(crate) async fn member(self: &Arc<Self>, api: &ApiClient) -> Result<Member> {
        self.with_token(Provider::OpenHumans, |credential| {
            let api = api.clone();
            async move { api.exchange_member(credential.secret()).await }
        })
        .await
    }

    /// Fetches the member and every shared file (all pages), grouped by source.
    pub async fn member_overview(self: &Arc<Self>) -> Result<MemberOverview> {
        let provider = Provider::OpenHumans;
        let member = self.member(&self.api_client(provider)?).await?;
        if let Some(mut account) = self
            .store
            .account(provider)?
            .filter(|a| a.username != member.username)
        {
            account.username = member.username.clone();
            self.store.save_account(&account)?;
        }

        Ok(MemberOverview {
            project_member_id: member.project_member_id,
            username: member.username,
            created: member.created,
            sources_shared: member.sources_shared,
            file_count: member.files.len() as u32,
            groups: group_by_source(&member.files),
        })
    }
}

/// Files grouped by source, groups in order of first appearance.
pub(crate) fn group_by_source(files: &[DataFile]) -> Vec<FileGroup> {
    let mut groups: Vec<FileGroup> = Vec::new();
    for file in files {
        let entry = MemberFile {
            id: file.id,
            basename: file.basename.clone(),
            created: file.created.clone(),
            description: file.description().map(str::to_owned),
            tags: file.tags(),
        };
        match groups.iter_mut().find(|g| g.source == file.source) {
            Some(group) => group.files.push(entry),
            None => groups.push(FileGroup {
                source: file.source.clone(),
                files: vec![entry],
            }),
        }
    }
    groups
}
