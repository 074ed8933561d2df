//! A member's files as the API sees them: the seeded files of the sources they share, plus the
//! completed files the project uploaded for them (docs/providers/open-humans.md, "The account").

use std::time::SystemTime;

use serde::Serialize;
use serde_json::json;

use crate::content::Content;
use crate::seed::SeedFile;
use crate::state::{DownloadKey, Sandbox};
use crate::text::drf_datetime;

/// Names the `hostile_names` fault gives listed files, in turn: each is a way a name from a
/// server can hurt a client that writes it to disk as it is.
const HOSTILE_NAMES: [&str; 12] = [
    "../../outside.txt",
    "",
    "notes.txt",
    "NOTES.TXT",
    "notes.txt.part",
    "a/b/c.csv",
    "..",
    "CON",
    "aux.json",
    "report: final?.csv",
    "trailing dot. ",
    "tab\tand\nnewline.txt",
];

pub enum Origin {
    Seeded(SeedFile),
    /// Uploaded by the project; holds the metadata the uploader gave.
    Uploaded(serde_json::Value),
}

pub struct MemberFile {
    pub id: u64,
    pub basename: String,
    pub created: SystemTime,
    pub source: String,
    pub source_project_id: u32,
    pub origin: Origin,
}

/// `DataFileSerializer`.
#[derive(Serialize)]
pub struct DataFile {
    id: u64,
    basename: String,
    created: String,
    datatypes: Vec<String>,
    download_url: String,
    metadata: serde_json::Value,
    source: String,
    source_project: String,
}

impl Sandbox {
    /// The member's completed files in API order: by source, then id.
    pub fn member_files(&self, member: usize) -> Vec<MemberFile> {
        let mut files: Vec<MemberFile> = self
            .world
            .member_files(member)
            .into_iter()
            .map(seeded)
            .collect();
        let store = self.store();
        let project = &self.world.project;
        files.extend(
            store
                .project_files
                .iter()
                .filter(|(_, file)| file.member == member && file.completed)
                .map(|(id, file)| MemberFile {
                    id: *id,
                    basename: file.basename.clone(),
                    created: file.created,
                    source: project.id_label(),
                    source_project_id: project.id,
                    origin: Origin::Uploaded(file.metadata.clone()),
                }),
        );
        drop(store);
        files.sort_by(|a, b| (&a.source, a.id).cmp(&(&b.source, b.id)));
        files
    }

    /// A completed file by id, with its stored bytes.
    pub fn stored_file(&self, id: u64) -> Option<(String, Content)> {
        if let Some(file) = self.world.file(id) {
            let content = self.world.file_content(&file);
            return Some((file.object_key, content));
        }
        let store = self.store();
        let file = store.project_files.get(&id).filter(|file| file.completed)?;
        let bytes = file.bytes.clone()?;
        Some((file.object_key.clone(), Content::Stored(bytes)))
    }

    /// Serializes files, minting a fresh download key for each (every serialization does).
    pub fn serialize_files(&self, files: Vec<MemberFile>) -> Vec<DataFile> {
        let files: Vec<(MemberFile, serde_json::Value)> = files
            .into_iter()
            .map(|file| {
                let metadata = self.metadata(&file);
                (file, metadata)
            })
            .collect();
        let now = SystemTime::now();
        let mut store = self.store();
        let hostile_names = store.faults.hostile_names;
        files
            .into_iter()
            .enumerate()
            .map(|(index, (file, metadata))| {
                let key = uuid::Uuid::new_v4().to_string();
                let expires_at = now + self.download_key_lifetime;
                store.download_keys.insert(
                    key.clone(),
                    DownloadKey {
                        file_id: file.id,
                        expires_at,
                    },
                    expires_at,
                    now,
                );
                let datatypes = match &file.origin {
                    Origin::Seeded(seed) => vec![self.url(&format!(
                        "/api/public/datatype/{}/",
                        seed.source.datatype_id
                    ))],
                    Origin::Uploaded(_) => Vec::new(),
                };
                DataFile {
                    id: file.id,
                    basename: match hostile_names {
                        true => HOSTILE_NAMES[index % HOSTILE_NAMES.len()].to_owned(),
                        false => file.basename,
                    },
                    created: drf_datetime(file.created),
                    datatypes,
                    download_url: self.url(&format!(
                        "/data-management/datafile-download/{}/?key={key}",
                        file.id
                    )),
                    metadata,
                    source: file.source,
                    source_project: self
                        .url(&format!("/api/public/project/{}/", file.source_project_id)),
                }
            })
            .collect()
    }

    fn metadata(&self, file: &MemberFile) -> serde_json::Value {
        match &file.origin {
            Origin::Uploaded(metadata) => metadata.clone(),
            Origin::Seeded(seed) => {
                let mut metadata = json!({"description": seed.description, "tags": seed.tags});
                if self.seeded_md5 {
                    metadata["md5"] = self.seeded_md5_of(seed).into();
                }
                metadata
            }
        }
    }

    fn seeded_md5_of(&self, file: &SeedFile) -> String {
        let cached = self
            .md5_cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(&file.id).cloned());
        if let Some(md5) = cached {
            return md5;
        }
        // Computed without holding the lock: it may read a gigabyte.
        let md5 = self.world.file_content(file).md5_hex();
        if let Ok(mut cache) = self.md5_cache.lock() {
            cache.insert(file.id, md5.clone());
        }
        md5
    }
}

fn seeded(file: SeedFile) -> MemberFile {
    MemberFile {
        id: file.id,
        basename: file.basename.clone(),
        created: file.created,
        source: file.source.id_label(),
        source_project_id: file.source.project_id,
        origin: Origin::Seeded(file),
    }
}
