//! Zero-copy reading helpers shared by the wire formats.

use std::borrow::Cow;

use serde::Deserialize;

/// Reads an optional string, borrowing it from the frame when it has no escapes. (Serde
/// borrows a `Cow<str>` field itself, but not one inside an `Option`.)
pub(crate) fn borrow_str<'de: 'a, 'a, D>(d: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Option::<Borrowed<'a>>::deserialize(d).map(|o| o.map(|b| b.0))
}
