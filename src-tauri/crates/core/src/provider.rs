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
}

impl Provider {
    pub const ALL: [Provider; 1] = [Provider::OpenHumans];

    /// Stable key used in SQLite rows, keyring entry names and CLI arguments.
    pub fn key(self) -> &'static str {
        match self {
            Self::OpenHumans => "openhumans",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::OpenHumans => "Open Humans",
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
