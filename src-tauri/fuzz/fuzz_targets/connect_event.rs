//! Human Connect's results, as the Connect window's page can send anything: `<kind>\0<json>`.
//! Every input is either an event of the documented shape or a refusal, never a panic.
//! A refusal says why in a sentence of bounded length: the most it quotes of the page's text is
//! a source id cut to 40 characters, so a long payload never reaches the screen whole.
#![no_main]

use datalinks_core::ErrorCode;
use libfuzzer_sys::fuzz_target;

/// The longest refusal: the fixed sentence around a 40-character id written with `{:?}` (which
/// may escape every character as `\u{…}`, up to 10 characters each).
const LONGEST_REFUSAL: usize = 120 + 2 + 40 * 10;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (kind, json) = text.split_once('\0').unwrap_or(("connect", text));
    if let Err(err) = datalinks_humanapi::parse_connect_event(kind, json) {
        assert_eq!(err.code, ErrorCode::CallbackRefused, "{}", err.message);
        assert!(
            err.message.chars().count() <= LONGEST_REFUSAL,
            "a refusal grew with its payload: {}",
            err.message
        );
    }
});
