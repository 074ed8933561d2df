//! Open Humans' deauthorization webhook as the receiver sees it: any body and any signature
//! header. Verification never panics, accepts exactly the signature of the exact body, and a
//! body that parses is a real notification that writes back to the same value.
#![no_main]

use datalinks_research::webhook::{check_secret, parse, python_json_body, signature, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte says where the header ends and the body begins.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (header, body) = rest.split_at(split);
    let secret = check_secret("abcdefghijklmnop").unwrap();

    let _ = verify(&secret, body, Some(header));
    let signed = signature(&secret, body);
    assert!(verify(&secret, body, Some(signed.as_bytes())).is_ok());
    if let Some((&first, others)) = body.split_first() {
        let mut changed = vec![first ^ 1];
        changed.extend_from_slice(others);
        assert!(verify(&secret, &changed, Some(signed.as_bytes())).is_err());
    }

    if let Ok(notification) = parse(body) {
        assert!(notification.project_member_id.len() == 8);
        assert!(notification.project_member_id.bytes().all(|b| b.is_ascii_digit()));
        let written = python_json_body(&notification);
        assert_eq!(parse(written.as_bytes()).unwrap(), notification);
    }
});
