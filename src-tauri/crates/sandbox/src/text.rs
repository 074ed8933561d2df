//! Small text helpers: random tokens, Django/DRF datetime rendering, HTML escaping.

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

/// oauthlib's `generate_token()`: 30 characters from `[A-Za-z0-9]`.
pub fn generate_token() -> String {
    random_alphanumeric(&mut rand::rng(), 30)
}

pub fn random_alphanumeric(rng: &mut impl Rng, length: usize) -> String {
    Alphanumeric.sample_string(rng, length)
}

/// A datetime the way DRF renders it: `isoformat()` with `+00:00` replaced by `Z`.
pub fn drf_datetime(at: SystemTime) -> String {
    let mut out = python_isoformat(at);
    out.truncate(out.len() - "+00:00".len());
    out.push('Z');
    out
}

/// A UTC datetime the way Python's `isoformat()` writes it: microseconds only when they are not
/// zero, then `+00:00`.
pub fn python_isoformat(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let whole = OffsetDateTime::from_unix_timestamp(since_epoch.as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        whole.year(),
        u8::from(whole.month()),
        whole.day(),
        whole.hour(),
        whole.minute(),
        whole.second()
    );
    let micros = since_epoch.subsec_micros();
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push_str("+00:00");
    out
}

pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_render_like_drf() {
        let at = UNIX_EPOCH + Duration::from_micros(1_527_441_747_123_456);
        assert_eq!(drf_datetime(at), "2018-05-27T17:22:27.123456Z");
        assert_eq!(
            drf_datetime(UNIX_EPOCH + Duration::from_secs(1_527_441_747)),
            "2018-05-27T17:22:27Z"
        );
    }

    #[test]
    fn tokens_are_30_alphanumerics() {
        let token = generate_token();
        assert_eq!(token.len(), 30);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
