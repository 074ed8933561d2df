//! The vocabulary every Datalinks crate shares: one coded error type, secret wrappers that
//! redact themselves, the providers we connect to and the states a connection can be in.
//! No I/O lives here.

mod connection;
mod error;
mod identity;
mod provider;
mod secret;
mod server_url;

pub use connection::{
    AccountSummary, ConnectionId, ConnectionState, ConnectionView, ConnectionsOverview,
    CredentialKind, ProviderConnections, RegistrationId, RegistrationSummary, Remedy, SignInState,
    SignInTarget, SignInView, Transport, WaitingHint,
};
pub use error::{Error, ErrorCode, Result};
pub use identity::{AccountIdentity, RegistrationIdentity, SANDBOX_SERVER};
pub use provider::Provider;
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, MasterToken, PersonalToken, PublicToken,
    RefreshToken, SecretString, WebhookSecret,
};
pub use server_url::server_url;

/// The app identifier: the D-Bus single-instance name, the app data folder and the keyring
/// service all derive from it, so the app and the CLI find the same state.
pub const APP_IDENTIFIER: &str = "org.datalinks.app";

/// The custom URL scheme the app registers for deep links.
pub const DEEP_LINK_SCHEME: &str = "datalinks";

/// Where a download is written until it is complete: `<dest>.part` beside the destination,
/// so a half-written file never carries the final name.
pub fn part_path(dest: &std::path::Path) -> std::path::PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// A size for people: "512 bytes", "3.4 MB", "1.2 TB" (powers of 1000, as file managers).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Seconds since the Unix epoch, the one clock format stored and shown across crates.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn part_files_sit_beside_the_destination() {
        assert_eq!(
            part_path(Path::new("/a/b/data.csv")),
            PathBuf::from("/a/b/data.csv.part")
        );
    }
}
