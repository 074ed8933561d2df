//! A token endpoint's answer: any bytes give a bearer token set or an error. An error says what
//! was wrong in a sentence of bounded length, and never quotes a token the answer carried.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The longest error: the fixed sentence around a `token_type` cut to 40 characters and written
/// with `{:?}` (up to 10 characters for each escaped one).
const LONGEST_ERROR: usize = 120 + 2 + 40 * 10;

fuzz_target!(|data: &[u8]| {
    match datalinks_oauth::parse_token_response(data) {
        Ok(tokens) => assert!(tokens.expires_at.is_none_or(|at| at > 0)),
        Err(err) => {
            let shown = err.to_string();
            assert!(
                shown.chars().count() <= LONGEST_ERROR,
                "an error grew with the answer: {shown}"
            );
            let Ok(answer) = serde_json::from_slice::<serde_json::Value>(data) else {
                return;
            };
            for name in ["access_token", "refresh_token"] {
                if let Some(token) = answer[name].as_str().filter(|token| token.len() >= 8) {
                    assert!(!shown.contains(token), "{name} quoted: {shown}");
                }
            }
        }
    }
});
