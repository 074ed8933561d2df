use datalinks_core::{AuthorizationCode, Error, ErrorCode, Result};
use url::Url;

/// Longest parameter value we accept; real codes and states are far shorter.
const MAX_PARAM_LEN: usize = 2048;

/// Where a redirect is expected to arrive: scheme, host, port and path must all match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: String,
}

impl CallbackTarget {
    /// The target a redirect_uri names, e.g. `http://127.0.0.1:53682/callback` or
    /// `datalinks://oauth/callback`.
    pub fn from_redirect_uri(redirect_uri: &str) -> Result<Self> {
        let url = Url::parse(redirect_uri).map_err(|e| {
            Error::invalid_input(format!(
                "The redirect URI {redirect_uri:?} is not a valid URL: {e}"
            ))
        })?;
        Ok(Self {
            scheme: url.scheme().to_owned(),
            host: url.host_str().unwrap_or_default().to_owned(),
            port: url.port(),
            path: url.path().to_owned(),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

/// What a valid redirect carries.
#[derive(Debug, PartialEq, Eq)]
pub enum Redirect {
    Code {
        code: AuthorizationCode,
        state: String,
    },
    /// The provider sent `error` (the person declined, or the request was bad).
    Denied {
        state: String,
        error: String,
        description: Option<String>,
    },
}

impl Redirect {
    pub fn state(&self) -> &str {
        match self {
            Self::Code { state, .. } | Self::Denied { state, .. } => state,
        }
    }
}

fn refused(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::CallbackRefused, message)
}

/// Parses a redirect strictly: only the expected scheme, host, port and path; `state` is
/// required; `code`, `state`, `error` and `error_description` may appear at most once; other
/// parameters (Open Humans appends `origin=external`) are tolerated and ignored.
pub fn parse_callback(raw: &str, target: &CallbackTarget) -> Result<Redirect> {
    let url = Url::parse(raw)
        .map_err(|_| refused("Refused a sign-in response that is not a valid URL."))?;
    let port_matches = target.port.is_none() || url.port() == target.port;
    if url.scheme() != target.scheme
        || url.host_str().unwrap_or_default() != target.host
        || !port_matches
        || url.path() != target.path
    {
        return Err(refused(format!(
            "Refused an unexpected link ({}://{}{}): Datalinks only accepts sign-in responses at {}://{}{}.",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.path(),
            target.scheme,
            target.host,
            target.path
        )));
    }

    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in url.query_pairs() {
        let slot = match key.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if slot.is_some() {
            return Err(refused(format!(
                "Refused a sign-in response with a repeated `{key}` parameter."
            )));
        }
        if value.is_empty() || value.len() > MAX_PARAM_LEN {
            return Err(refused(format!(
                "Refused a sign-in response with an empty or oversized `{key}`."
            )));
        }
        *slot = Some(value.into_owned());
    }

    let state =
        state.ok_or_else(|| refused("Refused a sign-in response without a `state` parameter."))?;
    match (error, code) {
        (Some(error), _) => Ok(Redirect::Denied {
            state,
            error,
            description,
        }),
        (None, Some(code)) => Ok(Redirect::Code {
            code: AuthorizationCode::new(code),
            state,
        }),
        (None, None) => Err(refused(
            "Refused a sign-in response with neither `code` nor `error`.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep_link() -> CallbackTarget {
        CallbackTarget::from_redirect_uri("datalinks://oauth/callback").unwrap()
    }

    #[test]
    fn accepts_code_and_state_and_tolerates_extra_parameters() {
        let redirect = parse_callback(
            "datalinks://oauth/callback?code=abc&state=s1&origin=external",
            &deep_link(),
        )
        .unwrap();
        assert_eq!(
            redirect,
            Redirect::Code {
                code: AuthorizationCode::new("abc"),
                state: "s1".into()
            }
        );
    }

    #[test]
    fn error_wins_over_code_and_keeps_the_description() {
        let redirect = parse_callback(
            "datalinks://oauth/callback?error=access_denied&error_description=no%20thanks&state=s1",
            &deep_link(),
        )
        .unwrap();
        assert_eq!(
            redirect,
            Redirect::Denied {
                state: "s1".into(),
                error: "access_denied".into(),
                description: Some("no thanks".into())
            }
        );
    }

    #[test]
    fn refuses_anything_unexpected() {
        for raw in [
            "not a url",
            "https://oauth/callback?code=a&state=s",
            "datalinks://evil/callback?code=a&state=s",
            "datalinks://oauth/other?code=a&state=s",
            "datalinks://oauth/callback",
            "datalinks://oauth/callback?code=a",
            "datalinks://oauth/callback?state=s",
            "datalinks://oauth/callback?code=a&code=b&state=s",
            "datalinks://oauth/callback?code=&state=s",
        ] {
            let err = parse_callback(raw, &deep_link()).unwrap_err();
            assert_eq!(err.code, ErrorCode::CallbackRefused, "{raw}");
        }
    }

    #[test]
    fn loopback_target_checks_port_and_path() {
        let target = CallbackTarget::from_redirect_uri("http://127.0.0.1:4000/callback").unwrap();
        assert!(parse_callback("http://127.0.0.1:4000/callback?code=a&state=s", &target).is_ok());
        assert!(parse_callback("http://127.0.0.1:4001/callback?code=a&state=s", &target).is_err());
        assert!(parse_callback("http://127.0.0.1:4000/callbackx?code=a&state=s", &target).is_err());
        assert!(parse_callback("http://localhost:4000/callback?code=a&state=s", &target).is_err());
    }
}
