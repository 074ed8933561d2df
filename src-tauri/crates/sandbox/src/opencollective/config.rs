//! `OpenCollectiveConfig::default()` behaves like the real Open Collective API
//! (docs/providers/open-collective.md).

use std::path::PathBuf;
use std::time::Duration;

/// The shape of a successful token response, which changed over Open Collective's history
/// (docs/providers/open-collective.md, "Tokens"), so clients can be tested against each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenResponseShape {
    /// Since 2025-12-12: `access_token, token_type, expires_in, refresh_token, scope`; the
    /// `refresh_token` grant exists.
    #[default]
    Current,
    /// 2025-06-30 to 2025-12-12: no `refresh_token`, and the `refresh_token` grant is refused.
    WithoutRefreshToken,
    /// Before 2025-06-30: only `access_token`.
    AccessTokenOnly,
}

#[derive(Clone, Debug)]
pub struct OpenCollectiveConfig {
    /// `authorizationCodeLifetime` (5 min).
    pub code_lifetime: Duration,
    /// `TOKEN_EXPIRATION_SESSION_OAUTH`: the JWT's `exp` and `expires_in` (90 days).
    pub access_token_lifetime: Duration,
    /// `refreshTokenLifetime` (1 year).
    pub refresh_token_lifetime: Duration,
    /// GraphQL requests per window for an OAuth or personal token (100).
    pub authenticated_rate_limit: u32,
    /// GraphQL requests per window without a (valid) token (10).
    pub anonymous_rate_limit: u32,
    /// The rate-limit window (1 min).
    pub rate_limit_window: Duration,
    /// The application's single `callbackUrl`, normalized as `new URL(v).toString()` does.
    pub callback_url: String,
    pub token_response_shape: TokenResponseShape,
    /// Whether the consent page passes `code_challenge` on to the API. Older frontends
    /// (before PKCE support) drop it, so the code is stored without a challenge and an exchange
    /// with a verifier fails `invalid_grant` "code verifier is invalid".
    pub consent_page_forwards_pkce: bool,
    /// Whether the consent page joins the scopes it passes on with commas, as the stored older
    /// frontend does; the API splits on whitespace only, so several scopes then fail with a 503
    /// `server_error`. Newer pages join them with spaces.
    pub consent_page_joins_scopes_with_commas: bool,
    /// Everything seeded (credentials, ids, amounts) is derived from this.
    pub seed: u64,
    /// Transactions of the seeded account.
    pub transaction_count: usize,
    /// Expenses the seeded account submitted.
    pub expense_count: usize,
    /// Where to keep the authorization and the user tokens (by their digests) across restarts;
    /// `None` keeps them in memory only. Codes, sessions and rate windows are never saved.
    pub state_file: Option<PathBuf>,
    /// The key `/_sandbox/…` requests must carry (`X-Sandbox-Key`); a fresh random one when
    /// `None`.
    pub admin_key: Option<String>,
}

impl Default for OpenCollectiveConfig {
    fn default() -> Self {
        OpenCollectiveConfig {
            code_lifetime: Duration::from_secs(5 * 60),
            access_token_lifetime: Duration::from_secs(7_776_000),
            refresh_token_lifetime: Duration::from_secs(365 * 24 * 60 * 60),
            authenticated_rate_limit: 100,
            anonymous_rate_limit: 10,
            rate_limit_window: Duration::from_secs(60),
            callback_url: "datalinks://oauth/callback".into(),
            token_response_shape: TokenResponseShape::Current,
            consent_page_forwards_pkce: true,
            consent_page_joins_scopes_with_commas: false,
            seed: 1,
            // More than two pages at the default transactions limit of 100.
            transaction_count: 250,
            // More than one page at the default expenses limit of 10.
            expense_count: 30,
            state_file: None,
            admin_key: None,
        }
    }
}
