//! The WTSP connection URL: `[/tenant/TENANT_ID]/signaling/v1?token=TOKEN[&force=true|false]`.

/// What a WTSP connection URL says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalingUrl {
    /// The session token (redacted in `Debug`).
    pub token: crate::Secret,
    /// `force=true`: take over from another connection of the account.
    pub force: bool,
    /// The tenant, when the path has `/tenant/ID`.
    pub tenant: Option<String>,
}

/// Why a URL is not a WTSP signaling URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The path is not `[/tenant/ID]/signaling/v1`.
    #[error("path {0:?} is not [/tenant/ID]/signaling/v1")]
    Path(String),
    /// No `token` parameter.
    #[error("no token")]
    NoToken,
}

impl SignalingUrl {
    /// Reads a full URL (`wss://host/signaling/v1?…`) or just its path and query.
    ///
    /// ```
    /// use callsig::wtsp::SignalingUrl;
    /// let u = SignalingUrl::parse("/tenant/acme/signaling/v1?token=a%2Bb&force=true").unwrap();
    /// assert_eq!((u.token.expose(), u.force, u.tenant.as_deref()), ("a+b", true, Some("acme")));
    /// ```
    pub fn parse(url: &str) -> Result<SignalingUrl, UrlError> {
        // Drop scheme and authority, if any.
        let rest = match url.find("://") {
            Some(i) => {
                let after = &url[i + 3..];
                after.find('/').map_or("", |j| &after[j..])
            }
            None => url,
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = path.trim_end_matches('/');
        let prefix = path
            .strip_suffix("/signaling/v1")
            .ok_or_else(|| UrlError::Path(path.to_owned()))?;
        let tenant = if prefix.is_empty() {
            None
        } else {
            match prefix.strip_prefix("/tenant/") {
                Some(t) if !t.is_empty() && !t.contains('/') => Some(percent_decode(t)),
                _ => return Err(UrlError::Path(path.to_owned())),
            }
        };
        let mut token = None;
        let mut force = false;
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "token" => token = Some(percent_decode(v)),
                "force" => force = v == "true",
                _ => {}
            }
        }
        let token = token.filter(|t| !t.is_empty()).ok_or(UrlError::NoToken)?;
        Ok(SignalingUrl {
            token: token.into(),
            force,
            tenant,
        })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes and `+` (as a space); an invalid escape is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_profile_forms() {
        let u = SignalingUrl::parse("wss://core.example.com:443/signaling/v1?token=abc").unwrap();
        assert_eq!(
            u,
            SignalingUrl {
                token: "abc".into(),
                force: false,
                tenant: None
            }
        );
        let u = SignalingUrl::parse("/signaling/v1?force=true&token=t").unwrap();
        assert!(u.force);
        assert_eq!(
            SignalingUrl::parse("/signaling/v1?token="),
            Err(UrlError::NoToken)
        );
        assert_eq!(SignalingUrl::parse("/signaling/v1"), Err(UrlError::NoToken));
        assert!(matches!(
            SignalingUrl::parse("/api/v1?token=t"),
            Err(UrlError::Path(_))
        ));
        assert!(matches!(
            SignalingUrl::parse("/x/y/signaling/v1?token=t"),
            Err(UrlError::Path(_))
        ));
    }

    #[test]
    fn decodes_escapes_and_keeps_bad_ones() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%e2%82%ac"), "€");
    }

    #[test]
    fn client_url_round_trips_through_the_server_parser() {
        let mut c = super::super::ClientConfig::new("https://h/", "t ok/&=?");
        c.tenant = Some("ten ant".into());
        c.force = true;
        let u = SignalingUrl::parse(&c.connect_url()).unwrap();
        assert_eq!(u.token.expose(), "t ok/&=?");
        assert_eq!(u.tenant.as_deref(), Some("ten ant"));
        assert!(u.force);
    }
}
