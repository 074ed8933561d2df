use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use datalinks_core::SecretString;
use rand::RngCore;
use sha2::{Digest, Sha256};

fn random_urlsafe(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A fresh `state` value: 256 random bits, URL-safe (RFC 6749 §10.12 asks for unguessable).
pub fn random_state() -> String {
    random_urlsafe(32)
}

/// A PKCE code verifier (RFC 7636 §4.1): 43 characters from 32 random bytes. Not `Clone`: it
/// lives in its attempt until the code exchange, and nothing else needs a copy.
pub struct PkceVerifier(SecretString);

impl std::fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

impl PkceVerifier {
    pub fn generate() -> Self {
        Self(SecretString::new(random_urlsafe(32)))
    }

    /// The S256 challenge sent with the authorize request.
    pub fn s256_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.expose().as_bytes()))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenge_matches_rfc7636_appendix_b() {
        let verifier = PkceVerifier(SecretString::new(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(
            verifier.s256_challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn states_and_verifiers_are_long_and_distinct() {
        let (a, b) = (random_state(), random_state());
        assert_ne!(a, b);
        assert!(a.len() >= 43, "at least 256 bits, base64url");
        let verifier = PkceVerifier::generate();
        assert!((43..=128).contains(&verifier.secret().expose().len()));
    }
}
