//! The sign-in redirect parser, against both kinds of target: whatever arrives as a deep link or
//! on the loopback port is either a redirect for the expected target or a `callback_refused`.
#![no_main]

use datalinks_core::ErrorCode;
use datalinks_oauth::{parse_callback, CallbackTarget, Redirect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for redirect_uri in ["datalinks://oauth/callback", "http://127.0.0.1:53682/callback"] {
        let target = CallbackTarget::from_redirect_uri(redirect_uri).unwrap();
        match parse_callback(raw, &target) {
            Ok(Redirect::Code { code, state }) => {
                assert!(!code.is_empty() && !state.is_empty());
            }
            Ok(Redirect::Denied { state, error, .. }) => {
                assert!(!state.is_empty() && !error.is_empty());
            }
            Err(err) => assert_eq!(err.code, ErrorCode::CallbackRefused),
        }
    }
});
