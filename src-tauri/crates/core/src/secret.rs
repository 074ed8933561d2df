use serde::{Deserialize, Deserializer};
use std::fmt;
use zeroize::Zeroizing;

/// A secret string. It prints as `[redacted]` in `Debug` and `Display`, is wiped from memory on
/// drop, and deliberately does not implement `Serialize`: the only way to get the value is
/// [`SecretString::expose`], which makes every use visible in review.
///
/// Each kind of secret has its own type on top of this one ([`AccessToken`], [`ClientSecret`],
/// …), so one kind cannot be passed where another is expected.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Declares a kind of secret: a redacting wrapper around [`SecretString`] with its own name.
macro_rules! secret_kind {
    ($(#[$doc:meta])* $name:ident $(, $derive:ident)*) => {
        $(#[$doc])*
        #[derive(PartialEq, Eq $(, $derive)*)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::new(value))
            }
            pub fn expose(&self) -> &str {
                self.0.expose()
            }
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                SecretString::deserialize(deserializer).map(Self)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_kind!(
    /// An OAuth access token, or another token that authorizes API calls as a person (a Human
    /// API access token).
    AccessToken,
    Clone
);
secret_kind!(
    /// An OAuth refresh token. Providers that rotate them (Open Humans) kill the old one the
    /// moment they hand out a new one.
    RefreshToken,
    Clone
);
secret_kind!(
    /// An app registration's client secret. It only ever goes to that registration's token
    /// endpoint (or, for Human API, its auth service).
    ClientSecret,
    Clone
);
secret_kind!(
    /// An Open Humans project's master access token (the researcher console).
    MasterToken,
    Clone
);
secret_kind!(
    /// An Open Humans project's webhook secret, which signs the notifications Open Humans sends
    /// when a member leaves.
    WebhookSecret,
    Clone
);
secret_kind!(
    /// A token the person made on the provider's website (Open Collective's `Personal-Token`).
    PersonalToken,
    Clone
);
secret_kind!(
    /// Human API's legacy public token, which reopens Connect 1.x for a returning person.
    PublicToken,
    Clone
);
secret_kind!(
    /// A single-use authorization code from a redirect. Not `Clone`: it is exchanged once.
    AuthorizationCode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = SecretString::new("s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        assert!(!format!("{secret}").contains("s3cr3t"));
        assert!(!format!("{:?}", Some(&secret)).contains("s3cr3t"));
        assert_eq!(secret.expose(), "s3cr3t-value");
    }

    #[test]
    fn each_kind_redacts_and_names_itself() {
        let token = AccessToken::new("at-value");
        let shown = format!("{token:?}");
        assert_eq!(shown, "AccessToken([redacted])");
        assert_eq!(token.expose(), "at-value");
        let code: AuthorizationCode = serde_json::from_str("\"code-value\"").unwrap();
        assert_eq!(format!("{code:?}"), "AuthorizationCode([redacted])");
        assert_eq!(code.expose(), "code-value");
    }
}
