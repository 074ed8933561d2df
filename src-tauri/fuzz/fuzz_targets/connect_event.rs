//! Human Connect's results, as the Connect window's page can send anything: `<kind>\0<json>`.
//! Every input is either an event of the documented shape or a refusal, never a panic.
#![no_main]

use datalinks_core::ErrorCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (kind, json) = text.split_once('\0').unwrap_or(("connect", text));
    if let Err(err) = datalinks_humanapi::parse_connect_event(kind, json) {
        assert_eq!(err.code, ErrorCode::CallbackRefused, "{}", err.message);
        assert!(json.len() < 24 || !err.message.contains(json), "a refusal echoed its payload");
    }
});
