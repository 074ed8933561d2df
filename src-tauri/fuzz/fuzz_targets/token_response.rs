//! A token endpoint's answer: any bytes give a bearer token set or an error, and no error quotes
//! the answer: apart from numbers (a parse error's line and column), every error reads as one of
//! a few fixed sentences.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SHAPES: [&str; 2] = [
    "the provider could not be reached: unreadable token response (at line N, column N)",
    "the provider refused the request: unsupported_token_type: Datalinks only uses bearer tokens, and this server issued another type (HTTP N)",
];

/// `text` with every run of digits written as `N`.
fn shape(text: &str) -> String {
    let mut shaped = String::new();
    for c in text.chars() {
        if !c.is_ascii_digit() {
            shaped.push(c);
        } else if !shaped.ends_with('N') {
            shaped.push('N');
        }
    }
    shaped
}

fuzz_target!(|data: &[u8]| {
    match datalinks_oauth::parse_token_response(data) {
        Ok(tokens) => assert!(tokens.expires_at.is_none_or(|at| at > 0)),
        Err(err) => {
            let shown = err.to_string();
            assert!(SHAPES.contains(&shape(&shown).as_str()), "{shown}");
        }
    }
});
