//! Request ids.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A request id: a string, a number or `null`. (An absent id makes a notification.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Id {
    /// A string id.
    String(String),
    /// A number id, kept as written.
    Number(IdNumber),
    /// `null`.
    Null,
}

/// A number id, compared and written exactly as it was read. (A non-negative integer,
/// the usual id, is held as one, without an allocation; any other number as its text.
/// Ordered for use as a key, not numerically.)
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdNumber(NumberRepr);

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NumberRepr {
    /// Written as its decimal digits.
    Int(u64),
    /// Any other number, as written; never the digits of an `Int`.
    Text(String),
}

impl IdNumber {
    /// From a number's JSON text, keeping one form per number written.
    fn from_text(text: &str) -> IdNumber {
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let canonical = digits && (text == "0" || !text.starts_with('0'));
        match text.parse::<u64>() {
            Ok(n) if canonical => IdNumber(NumberRepr::Int(n)),
            _ => IdNumber(NumberRepr::Text(text.to_owned())),
        }
    }

    /// The id as a non-negative integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            NumberRepr::Int(n) => Some(n),
            NumberRepr::Text(_) => None,
        }
    }
}

impl From<u64> for IdNumber {
    fn from(n: u64) -> Self {
        IdNumber(NumberRepr::Int(n))
    }
}

impl From<i64> for IdNumber {
    fn from(n: i64) -> Self {
        match u64::try_from(n) {
            Ok(n) => n.into(),
            Err(_) => IdNumber(NumberRepr::Text(n.to_string())),
        }
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            NumberRepr::Int(n) => write!(f, "{n}"),
            NumberRepr::Text(t) => f.write_str(t),
        }
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber(\"{self}\")")
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::String(s) => write!(f, "{s:?}"),
            Id::Number(n) => fmt::Display::fmt(n, f),
            Id::Null => f.write_str("null"),
        }
    }
}

impl Id {
    /// Reads an id from its JSON; `None` if it is not a string, number or null.
    pub fn from_value(v: &Value) -> Option<Id> {
        match v {
            Value::String(s) => Some(Id::String(s.clone())),
            Value::Number(n) => Some(Id::Number(IdNumber::from_text(&n.to_string()))),
            Value::Null => Some(Id::Null),
            _ => None,
        }
    }
}

impl Id {
    /// Reads an id from its JSON text, a number kept digit for digit; an error if it is
    /// not a string, number or null.
    pub(crate) fn from_raw(raw: &RawValue) -> Result<Id, NotAnId> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => Ok(Id::Number(IdNumber::from_text(text))),
            Some(b'n') => Ok(Id::Null),
            Some(b'"') => serde_json::from_str(text)
                .map(Id::String)
                .map_err(|_| NotAnId),
            _ => Err(NotAnId),
        }
    }
}

/// A value that is not a string, number or null.
#[derive(Debug)]
pub(crate) struct NotAnId;

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::String(v) => s.serialize_str(v),
            Id::Number(IdNumber(NumberRepr::Int(n))) => s.serialize_u64(*n),
            // Written back as it was read: the text of a JSON number.
            Id::Number(IdNumber(NumberRepr::Text(t))) => {
                match serde_json::from_str::<&RawValue>(t) {
                    Ok(raw) => raw.serialize(s),
                    Err(_) => s.serialize_str(t),
                }
            }
            Id::Null => s.serialize_unit(),
        }
    }
}

/// Read from JSON text, a number keeps its text when it is an integer that fits `u64` or
/// `i64`; another number (from a checkpoint) is read as serde reads it, through `f64`. The
/// wire reader keeps every number as written (see [`Id`]).
impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id: a string, a number or null")
            }
            fn visit_str<E>(self, v: &str) -> Result<Id, E> {
                Ok(Id::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Id, E> {
                Ok(Id::String(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Id, E> {
                Ok(Id::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Number(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Id, E> {
                serde_json::Number::from_f64(v)
                    .map(|n| Id::Number(IdNumber::from_text(&n.to_string())))
                    .ok_or_else(|| E::custom("an id is a finite number"))
            }
            fn visit_unit<E>(self) -> Result<Id, E> {
                Ok(Id::Null)
            }
            fn visit_none<E>(self) -> Result<Id, E> {
                Ok(Id::Null)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Id {
        Id::from_raw(&RawValue::from_string(text.into()).unwrap()).unwrap()
    }

    #[test]
    fn one_form_per_number_written() {
        // However it was made, `7` is one id.
        let seven = [
            raw("7"),
            Id::from_value(&serde_json::json!(7)).unwrap(),
            Id::Number(7u64.into()),
            Id::Number(7i64.into()),
            serde_json::from_str("7").unwrap(),
        ];
        assert!(seven.iter().all(|id| *id == seven[0]));
        assert_eq!(seven[0].to_string(), "7");
        assert_eq!(
            Id::Number(IdNumber::from_text("7")).as_u64_for_test(),
            Some(7)
        );
        // Other numbers keep their text, and differ from the integer.
        for (text, shown) in [("-7", "-7"), ("7.0", "7.0"), ("1e2", "1e2")] {
            let id = raw(text);
            assert_ne!(id, seven[0], "{text}");
            assert_eq!(id.to_string(), shown, "{text}");
            assert_eq!(id.as_u64_for_test(), None, "{text}");
        }
        assert_eq!(
            raw("18446744073709551615").as_u64_for_test(),
            Some(u64::MAX)
        );
    }

    #[test]
    fn ids_are_written_as_read() {
        for text in [
            "7",
            "0",
            "-7",
            "7.5",
            "18446744073709551615",
            "\"7\"",
            "null",
        ] {
            let id = raw(text);
            let written = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<Id>(&written).unwrap(), id, "{text}");
        }
        assert_eq!(serde_json::to_string(&raw("7")).unwrap(), "7");
        assert_eq!(format!("{:?}", raw("7")), "Number(IdNumber(\"7\"))");
    }

    impl Id {
        fn as_u64_for_test(&self) -> Option<u64> {
            match self {
                Id::Number(n) => n.as_u64(),
                _ => None,
            }
        }
    }
}
