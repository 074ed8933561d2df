use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// The providers Datalinks connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
pub enum Provider {
    /// Serialized as its [`Provider::key`], the one name used everywhere.
    #[serde(rename = "openhumans")]
    OpenHumans,
    #[serde(rename = "opencollective")]
    OpenCollective,
    #[serde(rename = "humanapi")]
    HumanApi,
}

impl Provider {
    pub const ALL: [Provider; 3] = [
        Provider::OpenHumans,
        Provider::OpenCollective,
        Provider::HumanApi,
    ];

    /// Stable key used in SQLite rows, keyring entry names and CLI arguments.
    pub fn key(self) -> &'static str {
        match self {
            Self::OpenHumans => "openhumans",
            Self::OpenCollective => "opencollective",
            Self::HumanApi => "humanapi",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::OpenHumans => "Open Humans",
            Self::OpenCollective => "Open Collective",
            Self::HumanApi => "Human API",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_match_serde() {
        for provider in Provider::ALL {
            assert_eq!(Provider::from_key(provider.key()), Some(provider));
            assert_eq!(serde_json::to_value(provider).unwrap(), provider.key());
        }
        assert_eq!(Provider::from_key("open humans"), None);
    }
}
