use crate::PkceVerifier;
use datalinks_core::{now_unix, Error, ErrorCode, Provider, Result, Transport};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a person has to finish authorizing in the browser.
pub const ATTEMPT_LIFETIME_SECS: i64 = 10 * 60;

/// An authorization that is open in the browser, waiting for its redirect.
#[derive(Debug, Clone)]
pub struct PendingAttempt {
    pub provider: Provider,
    pub state: String,
    pub verifier: PkceVerifier,
    /// The exact redirect_uri sent at authorize; the token request must repeat it.
    pub redirect_uri: String,
    pub transport: Transport,
    pub authorize_url: String,
    pub expires_at: i64,
}

/// Open attempts keyed by `state`. A state is accepted once, before it expires, and only
/// while its attempt is the provider's current one (starting again or cancelling retires it).
#[derive(Debug, Default)]
pub struct PendingAttempts {
    by_state: Mutex<HashMap<String, PendingAttempt>>,
}

impl PendingAttempts {
    /// Registers an attempt, retiring any earlier one of the same provider.
    pub fn insert(&self, attempt: PendingAttempt) {
        let mut map = self.by_state.lock().unwrap();
        map.retain(|_, open| open.provider != attempt.provider);
        map.insert(attempt.state.clone(), attempt);
    }

    /// Consumes the attempt that `state` belongs to.
    pub fn take(&self, state: &str) -> Result<PendingAttempt> {
        let mut map = self.by_state.lock().unwrap();
        let attempt = map.remove(state).ok_or_else(|| {
            Error::new(
                ErrorCode::StateMismatch,
                "This sign-in response does not match any sign-in Datalinks started (it may be old, already used, or not from us). Nothing was changed.",
            )
        })?;
        if attempt.expires_at < now_unix() {
            return Err(Error::new(
                ErrorCode::StateMismatch,
                format!(
                    "This {} sign-in expired. Start connecting again.",
                    attempt.provider
                ),
            ));
        }
        Ok(attempt)
    }

    /// The provider's open attempt, if any and not expired.
    pub fn current(&self, provider: Provider) -> Option<PendingAttempt> {
        let now = now_unix();
        self.by_state
            .lock()
            .unwrap()
            .values()
            .find(|a| a.provider == provider && a.expires_at >= now)
            .cloned()
    }

    /// Retires the provider's open attempt; returns whether there was one.
    pub fn cancel(&self, provider: Provider) -> bool {
        let mut map = self.by_state.lock().unwrap();
        let before = map.len();
        map.retain(|_, a| a.provider != provider);
        map.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(state: &str, expires_at: i64) -> PendingAttempt {
        PendingAttempt {
            provider: Provider::OpenHumans,
            state: state.into(),
            verifier: PkceVerifier::generate(),
            redirect_uri: "http://127.0.0.1:1/callback".into(),
            transport: Transport::Loopback,
            authorize_url: "https://example.org/authorize".into(),
            expires_at,
        }
    }

    #[test]
    fn a_state_is_accepted_once() {
        let attempts = PendingAttempts::default();
        attempts.insert(attempt("s1", now_unix() + 60));
        assert_eq!(attempts.take("s1").unwrap().state, "s1");
        assert_eq!(
            attempts.take("s1").unwrap_err().code,
            ErrorCode::StateMismatch
        );
    }

    #[test]
    fn unknown_and_expired_states_are_refused() {
        let attempts = PendingAttempts::default();
        attempts.insert(attempt("old", now_unix() - 1));
        assert_eq!(
            attempts.take("nope").unwrap_err().code,
            ErrorCode::StateMismatch
        );
        let expired = attempts.take("old").unwrap_err();
        assert_eq!(expired.code, ErrorCode::StateMismatch);
        assert!(expired.message.contains("expired"));
    }

    #[test]
    fn a_new_attempt_retires_the_previous_one() {
        let attempts = PendingAttempts::default();
        attempts.insert(attempt("first", now_unix() + 60));
        attempts.insert(attempt("second", now_unix() + 60));
        assert!(attempts.take("first").is_err());
        assert_eq!(
            attempts.current(Provider::OpenHumans).unwrap().state,
            "second"
        );
        assert!(attempts.cancel(Provider::OpenHumans));
        assert!(attempts.current(Provider::OpenHumans).is_none());
    }
}
