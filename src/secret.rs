//! [`Secret`]: a token that never shows in `Debug` output.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A session token, auth value or other credential. `Debug` prints `"<redacted>"`, so a
/// config, a machine or an output that holds one can be logged with `{:?}`; it has no
/// `Display`. Serialised (checkpoints, transcripts) it is the plain string, so a restored
/// machine has the real value. Read it with [`Secret::expose`].
///
/// ```
/// use callsig::Secret;
///
/// let s = Secret::from("hunter2");
/// assert_eq!(format!("{s:?}"), "\"<redacted>\"");
/// assert_eq!(s.expose(), "hunter2");
/// assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret's text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

/// Looked up by its text in maps keyed by secrets (it hashes and orders as its text).
impl Borrow<str> for Secret {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A URL with its `token` query parameter's value replaced by `<redacted>`, for `Debug`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == "token" || k == "auth" => format!("{k}=<redacted>"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{head}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_token_only() {
        assert_eq!(
            redact_url("wss://h/signaling/v1?token=abc%20d&force=true"),
            "wss://h/signaling/v1?token=<redacted>&force=true"
        );
        assert_eq!(redact_url("wss://h/progress/c1"), "wss://h/progress/c1");
        assert_eq!(
            redact_url("/x?force=false&token="),
            "/x?force=false&token=<redacted>"
        );
    }
}
