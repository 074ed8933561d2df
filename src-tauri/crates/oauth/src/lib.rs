//! The OAuth 2 authorization-code flow as a desktop app runs it (RFC 6749, RFC 7636 PKCE,
//! RFC 8252 native apps, RFC 7009 revocation), independent of any one provider.

mod attempts;
mod callback;
mod client;
mod keeper;
mod loopback;
mod pkce;

pub use attempts::{AttemptView, PendingAttempt, PendingAttempts, ATTEMPT_LIFETIME_SECS};
pub use callback::{parse_callback, CallbackTarget, Redirect};
pub use client::{parse_token_response, ClientAuthentication, OAuthClient, TokenEndpointError};
pub use keeper::{refresh_failed, TokenKeeper, REFRESH_MARGIN_SECS};
pub use loopback::{loopback_redirect_uri, LoopbackListener, LoopbackReply};
pub use pkce::{random_state, PkceVerifier};
