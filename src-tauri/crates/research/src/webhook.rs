//! Open Humans' deauthorization webhook (docs/providers/open-humans.md, "Members who leave"):
//! when a member leaves a project, or the project removes them, Open Humans posts
//! `{"project_member_id", "erasure_requested", "timestamp"}` to the project's webhook URL,
//! signed with the project's webhook secret in `X-OpenHumans-Webhooks-Signature:
//! sha1=<hex HMAC-SHA1 of the exact body bytes>`.

use datalinks_core::{Error, Result, WebhookSecret};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

/// The signature header, lower-cased as HTTP header names are compared.
pub const SIGNATURE_HEADER: &str = "x-openhumans-webhooks-signature";
/// Bodies larger than this are not a deauthorization notification (one is about 110 bytes).
pub const MAX_BODY_BYTES: usize = 4 * 1024;
/// How long a webhook secret may be, in ASCII characters (Open Humans' form accepts 16 to 64).
pub const SECRET_LENGTH: std::ops::RangeInclusive<usize> = 16..=64;

/// Why a delivery's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// No signature header. Open Humans' retry after a failed delivery is always unsigned.
    Unsigned,
    /// A header that is not `sha1=` and 40 hex digits.
    Malformed,
    /// A well-formed signature made with another secret or over other bytes.
    Mismatch,
}

impl SignatureRefusal {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unsigned => "it carries no signature",
            Self::Malformed => "its signature is not \"sha1=\" and 40 hex digits",
            Self::Mismatch => "its signature does not match the body and the webhook secret",
        }
    }
}

/// A verified notification: a member left the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deauthorization {
    pub project_member_id: String,
    pub erasure_requested: bool,
    /// ISO 8601, as Open Humans sent it: the time of the erasure request when there is one.
    pub timestamp: String,
}

/// Checks a webhook secret as Open Humans' project form does: 16 to 64 ASCII characters.
pub fn check_secret(secret: &str) -> Result<WebhookSecret> {
    let secret = secret.trim();
    if !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::invalid_input(
            "A webhook secret is made of ASCII letters, digits and punctuation, with no spaces.",
        ));
    }
    if !SECRET_LENGTH.contains(&secret.len()) {
        return Err(Error::invalid_input(format!(
            "A webhook secret has {} to {} characters; this one has {}. Copy it from the \
             project's settings on Open Humans.",
            SECRET_LENGTH.start(),
            SECRET_LENGTH.end(),
            secret.len()
        )));
    }
    Ok(WebhookSecret::new(secret))
}

fn mac(secret: &WebhookSecret, body: &[u8]) -> Hmac<Sha1> {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac
}

/// The header value Open Humans sends with `body`: `sha1=` and the lower-case hex digest.
pub fn signature(secret: &WebhookSecret, body: &[u8]) -> String {
    let digest = mac(secret, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha1={hex}")
}

/// Checks `header` (the signature header's value, if any) against `body`, in constant time.
pub fn verify(
    secret: &WebhookSecret,
    body: &[u8],
    header: Option<&[u8]>,
) -> std::result::Result<(), SignatureRefusal> {
    let header = header.ok_or(SignatureRefusal::Unsigned)?;
    let digest = header
        .trim_ascii()
        .strip_prefix(b"sha1=")
        .and_then(decode_hex)
        .ok_or(SignatureRefusal::Malformed)?;
    mac(secret, body)
        .verify_slice(&digest)
        .map_err(|_| SignatureRefusal::Mismatch)
}

/// 40 hex digits (either case) as the 20 bytes of a SHA-1 digest.
fn decode_hex(hex: &[u8]) -> Option<[u8; 20]> {
    if hex.len() != 40 {
        return None;
    }
    let mut digest = [0u8; 20];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(digest)
}

/// Reads a verified body. Open Humans' unsigned retry double-encodes it (a JSON string holding
/// the JSON), which is refused here too, like anything but the three fields.
pub fn parse(body: &[u8]) -> Result<Deauthorization> {
    let notification: Deauthorization = serde_json::from_slice(body).map_err(|err| {
        Error::invalid_input(format!(
            "The notification is not the JSON object Open Humans sends ({err})."
        ))
    })?;
    if !crate::is_project_member_id(&notification.project_member_id) {
        return Err(Error::invalid_input(format!(
            "The notification names {:?}, which is not a project member id (8 digits).",
            notification.project_member_id
        )));
    }
    time::OffsetDateTime::parse(
        &notification.timestamp,
        &time::format_description::well_known::Iso8601::DEFAULT,
    )
    .map_err(|_| {
        Error::invalid_input(format!(
            "The notification's timestamp {:?} is not an ISO 8601 time.",
            notification.timestamp
        ))
    })?;
    Ok(notification)
}

/// The body Open Humans sends for `notification`: Python's `json.dumps`, with `", "` and
/// `": "` between items.
pub fn python_json_body(notification: &Deauthorization) -> String {
    let text = |value: &str| serde_json::to_string(value).expect("a string serializes");
    format!(
        "{{\"project_member_id\": {}, \"erasure_requested\": {}, \"timestamp\": {}}}",
        text(&notification.project_member_id),
        notification.erasure_requested,
        text(&notification.timestamp)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_SECRET: &str = "abcdefghijklmnop";
    const EXAMPLE_BODY: &str = r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00.000000+00:00"}"#;
    const EXAMPLE_SIGNATURE: &str = "sha1=ebda5c0a38593a4350ad8401b7d8c8f1cd08ec67";

    fn secret() -> WebhookSecret {
        check_secret(EXAMPLE_SECRET).unwrap()
    }

    #[test]
    fn open_humans_worked_example_signs_and_verifies() {
        assert_eq!(
            signature(&secret(), EXAMPLE_BODY.as_bytes()),
            EXAMPLE_SIGNATURE
        );
        verify(
            &secret(),
            EXAMPLE_BODY.as_bytes(),
            Some(EXAMPLE_SIGNATURE.as_bytes()),
        )
        .unwrap();
        // Upper-case hex and surrounding spaces are the same signature.
        let upper = format!(" sha1={} ", EXAMPLE_SIGNATURE[5..].to_uppercase());
        verify(&secret(), EXAMPLE_BODY.as_bytes(), Some(upper.as_bytes())).unwrap();
        let parsed = parse(EXAMPLE_BODY.as_bytes()).unwrap();
        assert_eq!(python_json_body(&parsed), EXAMPLE_BODY);
        assert!(parsed.erasure_requested);
    }

    #[test]
    fn any_other_byte_secret_or_header_is_refused() {
        let body = EXAMPLE_BODY.as_bytes();
        let signed = Some(EXAMPLE_SIGNATURE.as_bytes());
        assert_eq!(
            verify(&secret(), body, None),
            Err(SignatureRefusal::Unsigned)
        );
        let reformatted = EXAMPLE_BODY.replace(", ", ",");
        assert_eq!(
            verify(&secret(), reformatted.as_bytes(), signed),
            Err(SignatureRefusal::Mismatch)
        );
        let other = check_secret("abcdefghijklmnoq").unwrap();
        assert_eq!(
            verify(&other, body, signed),
            Err(SignatureRefusal::Mismatch)
        );
        for header in [
            "ebda5c0a38593a4350ad8401b7d8c8f1cd08ec67",
            "sha256=ebda5c0a38593a4350ad8401b7d8c8f1cd08ec67",
            "sha1=ebda5c0a38593a4350ad8401b7d8c8f1cd08ec6",
            "sha1=zbda5c0a38593a4350ad8401b7d8c8f1cd08ec67",
            "sha1=ébda5c0a38593a4350ad8401b7d8c8f1cd08ec6",
            "",
        ] {
            assert_eq!(
                verify(&secret(), body, Some(header.as_bytes())),
                Err(SignatureRefusal::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn the_double_encoded_retry_and_other_shapes_do_not_parse() {
        let double = serde_json::to_string(EXAMPLE_BODY).unwrap();
        for body in [
            double.as_str(),
            "",
            "[]",
            "{}",
            r#"{"project_member_id": 12345678, "erasure_requested": true, "timestamp": "2020-06-30T20:00:00+00:00"}"#,
            r#"{"project_member_id": "1234567", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00+00:00"}"#,
            r#"{"project_member_id": "../../etc", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00+00:00"}"#,
            r#"{"project_member_id": "12345678", "erasure_requested": "yes", "timestamp": "2020-06-30T20:00:00+00:00"}"#,
            r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "yesterday"}"#,
            r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00+00:00", "extra": 1}"#,
        ] {
            let error = parse(body.as_bytes()).unwrap_err();
            assert_eq!(
                error.code,
                datalinks_core::ErrorCode::InvalidInput,
                "{body}"
            );
        }
    }

    #[test]
    fn secrets_are_16_to_64_printable_ascii_characters() {
        assert!(check_secret(&"a".repeat(15)).is_err());
        assert!(check_secret(&"a".repeat(16)).is_ok());
        assert!(check_secret(&"a".repeat(64)).is_ok());
        assert!(check_secret(&"a".repeat(65)).is_err());
        assert!(check_secret("abcdefgh ijklmnop").is_err());
        assert!(check_secret("abcdefghijklmnopé").is_err());
        // Pasted with a trailing newline is the same secret.
        assert_eq!(
            check_secret("abcdefghijklmnop\n").unwrap().expose(),
            EXAMPLE_SECRET
        );
    }
}
