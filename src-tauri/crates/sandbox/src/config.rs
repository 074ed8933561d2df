//! Sandbox configuration. `SandboxConfig::default()` behaves like the real Open Humans server.

use std::path::PathBuf;
use std::time::Duration;

use crate::faults::Faults;

#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// DOT `ACCESS_TOKEN_EXPIRE_SECONDS` (36000 s, not overridden by Open Humans).
    pub access_token_lifetime: Duration,
    /// Open Humans `AUTHORIZATION_CODE_EXPIRE_SECONDS` (30 min).
    pub code_lifetime: Duration,
    /// Lifetime of the `?key=` of a `download_url` (1 h).
    pub download_key_lifetime: Duration,
    /// Lifetime of the pre-signed storage URL a download redirects to (10 min).
    pub storage_url_lifetime: Duration,
    /// Lifetime of the project's master access token (24 h).
    pub master_token_lifetime: Duration,
    /// Schemes added to the redirect allow-list, like Open Humans'
    /// `OAUTH2_PROVIDER_ALLOWED_REDIRECT_URI_SCHEMES` environment variable (empty in production).
    pub extra_redirect_schemes: Vec<String>,
    /// Everything seeded (credentials, member ids, files) is derived from this.
    pub seed: u64,
    /// Members of the seeded project, `alice` first; the others are `member00002`, ….
    pub member_count: usize,
    /// Completed files each member shares with the project.
    pub files_per_member: usize,
    /// Size of every seeded file. `None` gives small documents in each file's format; a size gives
    /// pseudo-random bytes generated from the seed as they are sent (never held in memory), so a
    /// 1 GiB file costs nothing until it is downloaded.
    pub file_size_bytes: Option<u64>,
    /// Whether seeded files carry an `md5` in their metadata, as files uploaded with ohapi's
    /// `ohproj-upload` do. Computing it reads the whole content once per file (about 2 s per GiB),
    /// the first time the file is listed; it is then cached. Turn it off for large sized files.
    pub seeded_md5: bool,
    /// Injected failures and latency (none by default).
    pub faults: Faults,
    /// The token endpoint answers this many requests with 503 `temporarily_unavailable` before
    /// serving normally (0 in production, of course).
    pub token_endpoint_failures: u32,
    /// Where to keep grants (token digests, memberships) across restarts; `None` keeps them in
    /// memory only. Codes, sessions and download keys are never saved.
    pub state_file: Option<PathBuf>,
    /// The key `/_sandbox/…` requests must carry (`X-Sandbox-Key`); a fresh random one when
    /// `None`.
    pub admin_key: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            access_token_lifetime: Duration::from_secs(36_000),
            code_lifetime: Duration::from_secs(30 * 60),
            download_key_lifetime: Duration::from_secs(60 * 60),
            storage_url_lifetime: Duration::from_secs(10 * 60),
            master_token_lifetime: Duration::from_secs(24 * 60 * 60),
            extra_redirect_schemes: Vec::new(),
            seed: 1,
            member_count: 1,
            // More than one page at the API's default limit of 100.
            files_per_member: 130,
            file_size_bytes: None,
            seeded_md5: true,
            faults: Faults::default(),
            token_endpoint_failures: 0,
            state_file: None,
            admin_key: None,
        }
    }
}
