use crate::PkceVerifier;
use datalinks_core::{now_unix, Error, ErrorCode, Result, Transport};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// How long a person has to finish authorizing in the browser.
pub const ATTEMPT_LIFETIME_SECS: i64 = 10 * 60;

/// An authorization that is open in the browser, waiting for its redirect. `C` is what the
/// caller needs to finish it (the exact client it started with, whom it is for).
#[derive(Debug)]
pub struct PendingAttempt<C> {
    pub state: String,
    pub verifier: PkceVerifier,
    /// The exact redirect_uri sent at authorize; the token request must repeat it.
    pub redirect_uri: String,
    pub transport: Transport,
    pub authorize_url: String,
    pub expires_at: i64,
    pub context: C,
}

/// What can be shown of an open attempt: nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptView {
    pub authorize_url: String,
    pub transport: Transport,
    pub expires_at: i64,
}

/// Open attempts keyed by `state`, each under a scope `K` (the registration it signs in to). A
/// state is accepted once, before it expires, and only while its attempt is the scope's current
/// one (starting again or cancelling retires it).
#[derive(Debug)]
pub struct PendingAttempts<K, C> {
    by_state: Mutex<HashMap<String, (K, PendingAttempt<C>)>>,
}

impl<K, C> Default for PendingAttempts<K, C> {
    fn default() -> Self {
        Self {
            by_state: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Clone + Eq + Hash, C> PendingAttempts<K, C> {
    /// Registers an attempt, retiring any earlier one of the same scope.
    pub fn insert(&self, scope: K, attempt: PendingAttempt<C>) {
        let mut map = self.by_state.lock().unwrap();
        map.retain(|_, (open, _)| *open != scope);
        map.insert(attempt.state.clone(), (scope, attempt));
    }

    /// Consumes the attempt that `state` belongs to.
    pub fn take(&self, state: &str) -> Result<(K, PendingAttempt<C>)> {
        let mut map = self.by_state.lock().unwrap();
        let (scope, attempt) = map.remove(state).ok_or_else(|| {
            Error::new(
                ErrorCode::StateMismatch,
                "This sign-in response does not match any sign-in Datalinks started (it may be old, already used, or not from us). Nothing was changed.",
            )
        })?;
        if attempt.expires_at < now_unix() {
            return Err(Error::new(
                ErrorCode::StateMismatch,
                "This sign-in expired. Start connecting again.",
            ));
        }
        Ok((scope, attempt))
    }

    /// What `look` sees of the scope's open attempt, if any and not expired.
    pub fn inspect<R>(&self, scope: &K, look: impl FnOnce(&PendingAttempt<C>) -> R) -> Option<R> {
        let now = now_unix();
        let map = self.by_state.lock().unwrap();
        map.values()
            .find(|(open, a)| open == scope && a.expires_at >= now)
            .map(|(_, attempt)| look(attempt))
    }

    /// The scope's open attempt as it can be shown, if any and not expired.
    pub fn current(&self, scope: &K) -> Option<AttemptView> {
        self.inspect(scope, |attempt| AttemptView {
            authorize_url: attempt.authorize_url.clone(),
            transport: attempt.transport,
            expires_at: attempt.expires_at,
        })
    }

    /// Retires the scope's open attempt; returns whether there was one.
    pub fn cancel(&self, scope: &K) -> bool {
        let mut map = self.by_state.lock().unwrap();
        let before = map.len();
        map.retain(|_, (open, _)| open != scope);
        map.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(state: &str, expires_at: i64) -> PendingAttempt<()> {
        PendingAttempt {
            state: state.into(),
            verifier: PkceVerifier::generate(),
            redirect_uri: "http://127.0.0.1:1/callback".into(),
            transport: Transport::Loopback,
            authorize_url: "https://example.org/authorize".into(),
            expires_at,
            context: (),
        }
    }

    #[test]
    fn a_state_is_accepted_once() {
        let attempts = PendingAttempts::default();
        attempts.insert(1, attempt("s1", now_unix() + 60));
        let (scope, taken) = attempts.take("s1").unwrap();
        assert_eq!((scope, taken.state.as_str()), (1, "s1"));
        assert_eq!(
            attempts.take("s1").unwrap_err().code,
            ErrorCode::StateMismatch
        );
    }

    #[test]
    fn unknown_and_expired_states_are_refused() {
        let attempts = PendingAttempts::default();
        attempts.insert(1, attempt("old", now_unix() - 1));
        assert_eq!(
            attempts.take("nope").unwrap_err().code,
            ErrorCode::StateMismatch
        );
        let expired = attempts.take("old").unwrap_err();
        assert_eq!(expired.code, ErrorCode::StateMismatch);
        assert!(expired.message.contains("expired"));
    }

    #[test]
    fn a_new_attempt_retires_the_previous_one_of_its_scope_only() {
        let attempts = PendingAttempts::default();
        attempts.insert(1, attempt("first", now_unix() + 60));
        attempts.insert(2, attempt("other", now_unix() + 60));
        attempts.insert(1, attempt("second", now_unix() + 60));
        assert!(attempts.take("first").is_err());
        assert_eq!(
            attempts.current(&1).unwrap().authorize_url,
            "https://example.org/authorize"
        );
        assert!(attempts.cancel(&1));
        assert!(attempts.current(&1).is_none());
        assert!(
            attempts.current(&2).is_some(),
            "another scope's attempt stays open"
        );
    }
}
