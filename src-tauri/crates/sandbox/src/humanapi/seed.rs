//! What the sandbox seeds: the app's credentials, the sources a person can connect in Connect, and
//! the deterministic derivation of ids from `HumanApiConfig::seed`.

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// A data source offered in Connect.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    /// 24 hex digits, like Human API's source ids (`data-source-id` in Connect).
    pub id: &'static str,
    pub name: &'static str,
    /// The `source` field of Data API records.
    pub slug: &'static str,
    /// Medical sources feed `/medical/...`, the others the wellness lists.
    pub medical: bool,
    pub organization: &'static str,
}

/// The sources Connect offers, in display order. "Starfleet Pharmacy" and its id come from the
/// web guide's sample `onClose` payload.
pub const SOURCES: [Source; 4] = [
    Source {
        id: "5a3f1c2e9d8b7a6f5e4d3c21",
        name: "Demo Health Clinic",
        slug: "demohealthclinic",
        medical: true,
        organization: "Demo Health System",
    },
    Source {
        id: "5b1daf3f079c652eaf41fd23",
        name: "Starfleet Pharmacy",
        slug: "starfleetpharmacy",
        medical: true,
        organization: "Starfleet Medical",
    },
    Source {
        id: "5c2e8b4d1f0a9e7c6b5a4d32",
        name: "Fitbit",
        slug: "fitbit",
        medical: false,
        organization: "Fitbit",
    },
    Source {
        id: "5d3f9c5e2a1b0f8d7c6b5e43",
        name: "Withings",
        slug: "withings",
        medical: false,
        organization: "Withings",
    },
];

pub fn source_by_id(id: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|source| source.id == id)
}

/// The portal app's credentials, 40 hex digits each like the legacy docs' samples.
pub struct App {
    pub client_id: String,
    pub client_secret: String,
}

impl App {
    pub fn generate(seed: u64) -> App {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x4855_4d41_4e41_5049);
        App {
            client_id: random_hex(&mut rng, 20),
            client_secret: random_hex(&mut rng, 20),
        }
    }
}

pub fn random_hex(rng: &mut impl RngCore, bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rng.fill_bytes(&mut raw);
    to_hex(&raw)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Hex digits derived from the seed and `parts`: the same inputs always give the same id.
pub fn derived_hex(seed: u64, parts: &[&str], digits: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_be_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let mut hex = to_hex(&hasher.finalize());
    hex.truncate(digits);
    hex
}

/// A random number generator for one record, derived like `derived_hex`.
pub fn derived_rng(seed: u64, parts: &[&str]) -> StdRng {
    let hex = derived_hex(seed, parts, 16);
    StdRng::seed_from_u64(u64::from_str_radix(&hex, 16).unwrap_or(seed))
}

/// A refresh-token body: 32 random bytes in unpadded URL-safe base64 (43 characters), as in
/// the web guide's `idrt-…` and `atrt-…` samples.
pub fn refresh_token(prefix: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut raw = [0u8; 32];
    rand::rng().fill(&mut raw);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_seed() {
        let first = App::generate(1);
        assert_eq!(first.client_id, App::generate(1).client_id);
        assert_ne!(first.client_id, App::generate(2).client_id);
        assert_eq!(first.client_id.len(), 40);
        assert_ne!(first.client_id, first.client_secret);
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(
            derived_hex(1, &["a", "b"], 24),
            derived_hex(1, &["a", "b"], 24)
        );
        assert_ne!(
            derived_hex(1, &["ab", ""], 24),
            derived_hex(1, &["a", "b"], 24)
        );
        assert_eq!(derived_hex(1, &["x"], 32).len(), 32);
    }

    #[test]
    fn refresh_tokens_look_like_the_samples() {
        let token = refresh_token("idrt-");
        assert_eq!(token.len(), 5 + 43);
        assert!(token.starts_with("idrt-"));
    }
}
