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
pub struct RawJson(Box<RawValue>);

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RawJson").field(&self.get()).finish()
    }
}

impl RawJson {
    /// Wraps JSON text; `None` if it is not one JSON value.
    pub fn new(json: impl Into<String>) -> Option<Self> {
        RawValue::from_string(json.into()).ok().map(RawJson)
    }

    /// One value's text, already checked by the reader that took it out of a frame.
    pub(crate) fn from_raw(raw: &RawValue) -> Self {
        RawJson(raw.to_owned())
    }

    /// The compact text of a tree.
    pub fn from_value(value: &Value) -> Self {
        // A tree always writes as one JSON value.
        RawJson(
            serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()),
        )
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The value as a tree.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }
}

/// Written as the JSON value itself, not as a string.
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Read from JSON text, the value's text as written; from a tree, its compact text.
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(RawJson)
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
