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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    /// Wraps JSON text; `None` if it is not one JSON value.
    pub fn new(json: impl Into<String>) -> Option<Self> {
        let json = json.into();
        serde_json::from_str::<&RawValue>(&json).ok()?;
        Some(RawJson(json))
    }

    /// One value's text, already checked by the reader that took it out of a frame.
    pub(crate) fn from_checked(text: &str) -> Self {
        RawJson(text.to_owned())
    }

    /// The compact text of a tree.
    pub fn from_value(value: &Value) -> Self {
        RawJson(value.to_string())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The value as a tree.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// Written as the JSON value itself, not as a string.
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
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
                Ok(RawJson(v.to_owned()))
            }
            // From `serde_json`, text or tree: through its raw value, whose box becomes ours.
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<RawJson, D::Error> {
                let raw = Box::<RawValue>::deserialize(d)?;
                Ok(RawJson(String::from(Box::<str>::from(raw))))
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
