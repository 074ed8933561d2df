//! The member view: who the person is to the Open Humans project and what they share.

use crate::audit::actions;
use crate::providers::OpenHumans;
use crate::{wrong_provider, Datalinks, FileGroup, MemberFile, MemberOverview};
use datalinks_core::{ConnectionId, Provider, Result};
use datalinks_openhumans::{ApiClient, ApiError, DataFile, Member};
use std::sync::Arc;

impl Datalinks {
    /// The project API of an Open Humans connection's registration: its token goes nowhere else.
    pub(crate) async fn member_api(&self, connection: ConnectionId) -> Result<ApiClient> {
        let (registration, record) = self.connection_for_use(connection).await?;
        if record.provider != Provider::OpenHumans {
            return Err(wrong_provider(record.provider, Provider::OpenHumans));
        }
        OpenHumans::api(self, &registration)
    }

    /// The connected member and every file they share (all pages).
    pub(crate) async fn member(
        self: &Arc<Self>,
        connection: ConnectionId,
        api: &ApiClient,
    ) -> Result<Member> {
        self.with_token(connection, actions::MEMBER_VIEW, |credential| {
            let api = api.clone();
            async move {
                let token = credential.access_token().map_err(ApiError::Failed)?;
                api.exchange_member(token).await
            }
        })
        .await
    }

    /// People's names for sources such as `direct-sharing-131`: each project's public name,
    /// asked of Open Humans once per server and kept while the app runs. A source it cannot
    /// name keeps its id.
    pub(crate) async fn source_names(
        self: &Arc<Self>,
        connection: ConnectionId,
        api: &ApiClient,
        sources: &[String],
    ) -> Vec<String> {
        let mut names = Vec::with_capacity(sources.len());
        for source in sources {
            let key = format!("{} {source}", api.base());
            let known = self.source_names.lock().unwrap().get(&key).cloned();
            let name = match known {
                Some(name) => name,
                None => {
                    let asked = match source
                        .strip_prefix("direct-sharing-")
                        .and_then(|id| id.parse().ok())
                    {
                        Some(id) => {
                            let asking = api.public_project_name(id);
                            self.audited(connection, actions::LEDGER, asking).await.ok()
                        }
                        None => None,
                    };
                    match asked {
                        Some(name) => {
                            self.source_names.lock().unwrap().insert(key, name.clone());
                            name
                        }
                        None => source.clone(),
                    }
                }
            };
            names.push(name);
        }
        names
    }

    /// Fetches the member and every shared file (all pages), grouped by source.
    pub async fn member_overview(
        self: &Arc<Self>,
        connection: ConnectionId,
    ) -> Result<MemberOverview> {
        let api = self.member_api(connection).await?;
        let member = self.member(connection, &api).await?;
        let stored = self.store.connection(connection)?.and_then(|c| c.username);
        if stored != member.username {
            self.store
                .set_username(connection, member.username.as_deref())?;
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
            description: file.description(),
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
