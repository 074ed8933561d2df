//! Access and session tokens: HS256 JWTs like OC's `user.jwt(...)`, signed with the sandbox's own
//! key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Serialize, Deserialize)]
pub struct Claims {
    /// The user's legacy id, as a string.
    pub sub: String,
    pub scope: String,
    /// The inner `oauth__…` user token; none in a session token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_token: String,
    /// The user's email, as OC's `user.jwt()` puts it in every token.
    #[serde(default)]
    pub email: String,
    pub iat: u64,
    pub exp: u64,
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

pub fn sign(key: &[u8], claims: &Claims) -> String {
    // OC's key id for its HS256 secret (docs/sandbox.md, "Open Collective tokens").
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"HS256-2019-09-02"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = mac(key);
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// The claims of a JWT carrying a valid signature by `key`; `None` for anything else.
pub fn verify(key: &[u8], token: &str) -> Option<Claims> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header["alg"] != "HS256" {
        return None;
    }
    let mut mac = mac(key);
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}
