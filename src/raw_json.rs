//! JSON text kept as it was written.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// One JSON value kept as text, exactly as it was written: a Loop `echo` goes back
/// unchanged, and a WTSP call log is stored without building a tree (read it with
/// [`crate::wtsp::CallLog::decode`], or as a tree with [`RawJson::to_value`]).
///
/// ```
/// use callsig::RawJson;
///
/// let raw = RawJson::new(r#"{"b": 1, "a": [true]}"#).unwrap();
/// assert_eq!(raw.get(), r#"{"b": 1, "a": [true]}"#);
/// assert_eq!(raw.to_value()["a"][0], true);
/// assert!(RawJson::new("{").is_none());
/// ```
#[derive(Clone)]
pub struct RawJson {
    text: String,
    /// Checked by this crate's scanner ([`crate::flat`]), which also refuses a `\u`
    /// escape that is half a surrogate pair: every string in it has a value. (serde_json
    /// takes such escapes as valid JSON text.) Not part of the value: equality and
    /// debug output are the text's.
    strings_decode: bool,
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for RawJson {}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RawJson").field(&self.text).finish()
    }
}

impl RawJson {
    /// Wraps JSON text; `None` if it is not one JSON value.
    pub fn new(json: impl Into<String>) -> Option<Self> {
        let json = json.into();
        serde_json::from_str::<&RawValue>(&json).ok()?;
        Some(RawJson::unscanned(json))
    }

    fn unscanned(text: String) -> Self {
        RawJson {
            text,
            strings_decode: false,
        }
    }

    /// One value's text, already checked by the reader that took it out of a frame.
    pub(crate) fn from_checked(text: &str) -> Self {
        RawJson::unscanned(text.to_owned())
    }

    /// One value's text, checked by the scanner ([`crate::flat`]).
    pub(crate) fn from_scanned(text: &str) -> Self {
        RawJson {
            text: text.to_owned(),
            strings_decode: true,
        }
    }

    /// Whether every string in it is known to have a value (no lone surrogate escape);
    /// `false` only says it was not checked.
    pub(crate) fn strings_decode(&self) -> bool {
        self.strings_decode
    }

    /// The compact text of a tree.
    pub fn from_value(value: &Value) -> Self {
        RawJson {
            text: value.to_string(),
            // Written from a tree of Rust strings.
            strings_decode: true,
        }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.text
    }

    /// The value as a tree.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// Written as the JSON value itself, not as a string.
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.text) {
            Ok(raw) => raw.serialize(s),
            Err(_) => s.serialize_unit(),
        }
    }
}

/// Read from JSON text, the value's text as written; from a tree, its compact text.
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawJson;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            // From the fast reader (`crate::flat`): the text itself.
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<RawJson, E> {
                Ok(RawJson::from_scanned(v))
            }
            // From `serde_json`, text or tree: through its raw value, whose box becomes ours.
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<RawJson, D::Error> {
                let raw = Box::<RawValue>::deserialize(d)?;
                Ok(RawJson::unscanned(String::from(Box::<str>::from(raw))))
            }
        }
        d.deserialize_newtype_struct(crate::flat::RAW_TEXT, V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_kept_as_written_and_trees_are_written_compact() {
        let (t, raw): (u8, RawJson) = serde_json::from_str(r#"[1, { "a" : 1 }]"#).unwrap();
        assert_eq!((t, raw.get()), (1, r#"{ "a" : 1 }"#));
        let from_tree: RawJson = serde_json::from_value(serde_json::json!({"a": 1})).unwrap();
        assert_eq!(from_tree.get(), r#"{"a":1}"#);
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{ "a" : 1 }"#);
        assert_eq!(RawJson::from_value(&raw.to_value()), from_tree);
    }
}
