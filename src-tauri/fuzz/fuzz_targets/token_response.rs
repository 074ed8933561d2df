//! A token endpoint's answer: any bytes give a bearer token set or an error, and no error
//! message quotes the answer (it may hold a token).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match datalinks_oauth::parse_token_response(data) {
        Ok(tokens) => assert!(tokens.expires_at.is_none_or(|at| at > 0)),
        Err(err) => {
            let shown = err.to_string();
            if let Ok(text) = std::str::from_utf8(data) {
                assert!(text.len() < 24 || !shown.contains(text), "{shown}");
            }
        }
    }
});
