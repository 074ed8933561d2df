//! The seeded world: one OAuth2 project, its members and their files, all derived from
//! `SandboxConfig::seed`. Files are generated on demand from (seed, member, index), so a project
//! with 10,000 members costs no memory.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::config::SandboxConfig;
use crate::content::Content;
use crate::text::random_alphanumeric;

pub const SEEDED_USERNAME: &str = "alice";
pub const SEEDED_PASSWORD: &str = "sandbox";

/// Open Humans `OAUTH2_PROVIDER["SCOPES"]`, in settings order (the default when `scope` is omitted).
pub const ALL_SCOPES: [&str; 7] = [
    "read",
    "write",
    "american-gut",
    "go-viral",
    "pgp",
    "wildlife",
    "open-humans",
];

pub const REGISTERED_REDIRECT_URIS: [&str; 2] =
    ["http://127.0.0.1/callback", "datalinks://oauth/callback"];

/// A data source (another Open Humans project) whose files members can share.
#[derive(Debug)]
pub struct Source {
    pub project_id: u32,
    pub name: &'static str,
    pub datatype_id: u32,
    stem: &'static str,
    extension: &'static str,
    description: &'static str,
    tags: &'static [&'static str],
}

impl Source {
    pub fn id_label(&self) -> String {
        format!("direct-sharing-{}", self.project_id)
    }
}

const SOURCE_CATALOGUE: [Source; 7] = [
    Source {
        project_id: 128,
        name: "Fitbit Connection",
        datatype_id: 12,
        stem: "fitbit-intraday",
        extension: "json",
        description: "Fitbit intraday steps and heart rate",
        tags: &["fitbit", "activity", "heart-rate"],
    },
    Source {
        project_id: 102,
        name: "Oura Connect",
        datatype_id: 31,
        stem: "oura-sleep",
        extension: "json",
        description: "Oura ring sleep summary",
        tags: &["oura", "sleep"],
    },
    Source {
        project_id: 138,
        name: "Google Location History",
        datatype_id: 44,
        stem: "location-history",
        extension: "json",
        description: "Location history export",
        tags: &["location", "gps"],
    },
    Source {
        project_id: 131,
        name: "Apple Health Importer",
        datatype_id: 27,
        stem: "healthkit-export",
        extension: "xml",
        description: "Apple HealthKit export",
        tags: &["apple-health", "healthkit"],
    },
    Source {
        project_id: 70,
        name: "RunKeeper Connection",
        datatype_id: 9,
        stem: "runkeeper-activities",
        extension: "csv",
        description: "RunKeeper activity log",
        tags: &["runkeeper", "activity", "running"],
    },
    Source {
        project_id: 45,
        name: "Spotify Integration",
        datatype_id: 50,
        stem: "spotify-listening",
        extension: "json",
        description: "Spotify listening history",
        tags: &["spotify", "music"],
    },
    Source {
        project_id: 26,
        name: "Genome Upload",
        datatype_id: 3,
        stem: "genome-variants",
        extension: "txt",
        description: "Genotype calls",
        tags: &["genome", "dna", "23andme"],
    },
];

#[derive(Debug)]
pub struct Project {
    pub id: u32,
    pub name: String,
    pub slug: String,
    pub client_id: String,
    pub client_secret: String,
    pub master_access_token: String,
    pub redirect_uris: Vec<String>,
    pub request_username_access: bool,
}

impl Project {
    pub fn id_label(&self) -> String {
        format!("direct-sharing-{}", self.id)
    }
}

#[derive(Debug)]
pub struct Member {
    pub username: String,
    pub project_member_id: String,
    pub created: SystemTime,
}

#[derive(Clone, Debug)]
pub struct SeedFile {
    pub id: u64,
    pub basename: String,
    pub created: SystemTime,
    pub source: &'static Source,
    /// The storage key, `member-files/<source>/<uuid1>/<basename>`.
    pub object_key: String,
    pub description: String,
    pub tags: &'static [&'static str],
}

#[derive(Debug)]
pub struct World {
    pub project: Project,
    pub members: Vec<Member>,
    /// The sources the project requests and every member has granted.
    pub sources: Vec<&'static Source>,
    seed: u64,
    files_per_member: usize,
    file_size_bytes: Option<u64>,
    first_file_id: u64,
}

// 2016-01-01 .. 2024-12-01, when the files were created.
const FILES_FROM: u64 = 1_451_606_400;
const FILES_UNTIL: u64 = 1_733_011_200;
// 2022-01-01 .. 2024-06-01, when members joined the project.
const MEMBERS_FROM: u64 = 1_640_995_200;
const MEMBERS_UNTIL: u64 = 1_717_200_000;

impl World {
    pub fn generate(config: &SandboxConfig) -> World {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let project_id = rng.random_range(200..1000);
        let project = Project {
            id: project_id,
            name: "Datalinks Sandbox Project".to_string(),
            slug: "datalinks-sandbox-project".to_string(),
            client_id: random_alphanumeric(&mut rng, 40),
            client_secret: random_alphanumeric(&mut rng, 128),
            master_access_token: random_alphanumeric(&mut rng, 64),
            redirect_uris: REGISTERED_REDIRECT_URIS.map(String::from).to_vec(),
            request_username_access: true,
        };
        let mut catalogue: Vec<&'static Source> = SOURCE_CATALOGUE.iter().collect();
        catalogue.shuffle(&mut rng);
        let source_count = rng.random_range(2..=3);
        let sources = catalogue.into_iter().take(source_count).collect();

        let mut taken_ids = HashSet::new();
        let members = (0..config.member_count.max(1))
            .map(|index| {
                let project_member_id = loop {
                    let candidate = format!("{:08}", rng.random_range(0..100_000_000u32));
                    if taken_ids.insert(candidate.clone()) {
                        break candidate;
                    }
                };
                Member {
                    username: if index == 0 {
                        SEEDED_USERNAME.to_string()
                    } else {
                        format!("member{:05}", index + 1)
                    },
                    project_member_id,
                    created: random_instant(&mut rng, MEMBERS_FROM, MEMBERS_UNTIL),
                }
            })
            .collect();
        World {
            project,
            members,
            sources,
            seed: config.seed,
            files_per_member: config.files_per_member,
            file_size_bytes: config.file_size_bytes,
            first_file_id: rng.random_range(10_000..60_000),
        }
    }

    pub fn member_by_username(&self, username: &str) -> Option<usize> {
        self.members.iter().position(|m| m.username == username)
    }

    pub fn member_by_project_member_id(&self, id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.project_member_id == id)
    }

    /// The member's files in API order: by source, then id.
    pub fn member_files(&self, member: usize) -> Vec<SeedFile> {
        let mut rng = StdRng::seed_from_u64(mix(self.seed, member as u64 + 1));
        let first_id = self.first_file_id + (member * self.files_per_member) as u64;
        let mut files: Vec<SeedFile> = (0..self.files_per_member)
            .map(|index| self.generate_file(&mut rng, first_id + index as u64))
            .collect();
        files.sort_by_key(|file| (file.source.id_label(), file.id));
        files
    }

    pub fn file(&self, id: u64) -> Option<SeedFile> {
        let offset = id.checked_sub(self.first_file_id)?;
        let member = usize::try_from(offset / self.files_per_member.max(1) as u64).ok()?;
        if member >= self.members.len() {
            return None;
        }
        self.member_files(member).into_iter().find(|f| f.id == id)
    }

    /// The first id after the seeded files, where uploads start.
    pub fn next_file_id(&self) -> u64 {
        self.first_file_id + (self.members.len() * self.files_per_member) as u64
    }

    fn generate_file(&self, rng: &mut StdRng, id: u64) -> SeedFile {
        let source = self.sources[rng.random_range(0..self.sources.len())];
        let created = random_instant(rng, FILES_FROM, FILES_UNTIL);
        let day = crate::text::drf_datetime(created)[..10].to_string();
        let basename = format!("{}-{day}.{}", source.stem, source.extension);
        let uuid1 = uuid_v1_shaped(rng.random());
        SeedFile {
            id,
            object_key: format!("member-files/{}/{uuid1}/{basename}", source.id_label()),
            basename,
            created,
            source,
            description: format!("{}, {day}", source.description),
            tags: source.tags,
        }
    }

    /// The bytes "stored" for a file: generated ones of the configured size, or else a small
    /// document in the file's format.
    pub fn file_content(&self, file: &SeedFile) -> Content {
        match self.file_size_bytes {
            Some(length) => Content::Generated {
                seed: mix(self.seed, file.id),
                length,
            },
            None => Content::Stored(self.document(file).into()),
        }
    }

    /// A small, deterministic document in the file's format.
    fn document(&self, file: &SeedFile) -> Vec<u8> {
        let mut rng = StdRng::seed_from_u64(mix(self.seed, file.id));
        let rows = rng.random_range(20..60);
        let created = crate::text::drf_datetime(file.created);
        let day = &created[..10];
        let mut out = String::new();
        match file.source.extension {
            "csv" => {
                out.push_str("date,type,duration_s,distance_m\n");
                for _ in 0..rows {
                    let (duration, distance) =
                        (rng.random_range(600..5400), rng.random_range(1000..21000));
                    out.push_str(&format!("{day},running,{duration},{distance}\n"));
                }
            }
            "txt" => {
                out.push_str("# rsid\tchromosome\tposition\tgenotype\n");
                for _ in 0..rows {
                    let bases = ["AA", "AG", "CC", "CT", "GG", "TT"];
                    out.push_str(&format!(
                        "rs{}\t{}\t{}\t{}\n",
                        rng.random_range(1000..99_999_999u32),
                        rng.random_range(1..23),
                        rng.random_range(10_000..200_000_000u32),
                        bases[rng.random_range(0..bases.len())]
                    ));
                }
            }
            "xml" => {
                out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HealthData>\n");
                for _ in 0..rows {
                    out.push_str(&format!(
                        "  <Record type=\"HKQuantityTypeIdentifierStepCount\" startDate=\"{day}\" value=\"{}\"/>\n",
                        rng.random_range(10..2000)
                    ));
                }
                out.push_str("</HealthData>\n");
            }
            _ => {
                let values: Vec<String> = (0..rows)
                    .map(|_| rng.random_range(0..200).to_string())
                    .collect();
                out.push_str(&format!(
                    "{{\"source\": \"{}\", \"date\": \"{day}\", \"values\": [{}]}}\n",
                    file.source.id_label(),
                    values.join(", ")
                ));
            }
        }
        out.into_bytes()
    }
}

fn random_instant(rng: &mut StdRng, from: u64, until: u64) -> SystemTime {
    // Microseconds never zero, so every datetime shows them, like most real rows do.
    UNIX_EPOCH
        + Duration::from_secs(rng.random_range(from..until))
        + Duration::from_micros(rng.random_range(1..1_000_000))
}

/// A UUID formatted as version 1 (the storage keys of Open Humans use `uuid1()`).
pub fn uuid_v1_shaped(bits: u128) -> uuid::Uuid {
    let versioned = (bits & !(0xF << 76)) | (0x1 << 76);
    let with_variant = (versioned & !(0x3 << 62)) | (0x2 << 62);
    uuid::Uuid::from_u128(with_variant)
}

/// SplitMix64 finaliser, to derive independent streams from the one seed.
pub fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world() {
        let config = SandboxConfig::default();
        let (a, b) = (World::generate(&config), World::generate(&config));
        assert_eq!(a.project.client_id, b.project.client_id);
        assert_eq!(a.project.client_id.len(), 40);
        assert_eq!(a.members[0].project_member_id.len(), 8);
        assert_eq!(a.members[0].username, "alice");
        assert!((2..=3).contains(&a.sources.len()));
        let files = a.member_files(0);
        assert_eq!(files.len(), 130);
        assert_eq!(
            files.iter().map(|f| f.id).collect::<Vec<_>>(),
            b.member_files(0).iter().map(|f| f.id).collect::<Vec<_>>()
        );
        let other = World::generate(&SandboxConfig {
            seed: 2,
            ..SandboxConfig::default()
        });
        assert_ne!(other.project.client_id, a.project.client_id);
    }

    #[test]
    fn files_are_ordered_by_source_then_id_and_found_by_id() {
        let world = World::generate(&SandboxConfig {
            member_count: 3,
            ..SandboxConfig::default()
        });
        let files = world.member_files(2);
        let keys: Vec<(String, u64)> = files.iter().map(|f| (f.source.id_label(), f.id)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let wanted = &files[17];
        assert_eq!(
            world.file(wanted.id).map(|f| f.basename),
            Some(wanted.basename.clone())
        );
        assert!(world.file(wanted.id + 10_000_000).is_none());
        assert!(world.file_content(wanted).len() > 0);
        let sized = World::generate(&SandboxConfig {
            file_size_bytes: Some(1 << 30),
            ..SandboxConfig::default()
        });
        assert_eq!(sized.file_content(&sized.member_files(0)[0]).len(), 1 << 30);
    }
}
