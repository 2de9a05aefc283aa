//! The ids of the transactions a client opens.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The id of a transaction this client opened: `transaction-<n>` on the wire, `n`
/// counting up from [`ClientConfig::first_transaction`](super::ClientConfig).
///
/// A number rather than a string, so handing one to the application (with every
/// [`ClientEvent::TransactionEnded`](super::ClientEvent)) costs no allocation. It prints,
/// serializes and compares as its wire form:
///
/// ```
/// use callsig::wtsp::TransactionId;
///
/// let id = TransactionId::parse("transaction-7").unwrap();
/// assert_eq!(id.number(), 7);
/// assert_eq!(id, "transaction-7");
/// assert_eq!(id.to_string(), "transaction-7");
/// assert_eq!(TransactionId::parse("transaction-07"), None); // not a string we write
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

const PREFIX: &str = "transaction-";

impl TransactionId {
    pub(crate) fn new(n: u64) -> Self {
        TransactionId(n)
    }

    /// Its number.
    pub fn number(self) -> u64 {
        self.0
    }

    /// The id whose wire form is `text`, if `text` is exactly what this client would write
    /// (`transaction-` and the number's decimal digits, no sign, no leading zero).
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix(PREFIX)?;
        let canonical = match digits.as_bytes() {
            [b'0'] => true,
            [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
            _ => false,
        };
        if !canonical {
            return None;
        }
        digits.parse().ok().map(TransactionId)
    }

    /// The wire form in a new string.
    pub(crate) fn to_wire(self) -> String {
        let mut digits = [0u8; 20];
        let digits = crate::json_out::decimal(self.0, &mut digits);
        let mut s = String::with_capacity(PREFIX.len() + digits.len());
        s.push_str(PREFIX);
        s.push_str(digits);
        s
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0u8; 20];
        f.write_str(PREFIX)?;
        f.write_str(crate::json_out::decimal(self.0, &mut digits))
    }
}

impl PartialEq<str> for TransactionId {
    fn eq(&self, other: &str) -> bool {
        TransactionId::parse(other) == Some(*self)
    }
}

impl PartialEq<&str> for TransactionId {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<TransactionId> for str {
    fn eq(&self, other: &TransactionId) -> bool {
        other == self
    }
}

impl PartialEq<TransactionId> for String {
    fn eq(&self, other: &TransactionId) -> bool {
        other == self.as_str()
    }
}

impl Serialize for TransactionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TransactionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        TransactionId::parse(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&text), &"transaction-<n>")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_written_form_reads_back() {
        for text in [
            "transaction-",
            "transaction-00",
            "transaction-01",
            "transaction-+1",
            "transaction--1",
            "transaction-1 ",
            "transaction-18446744073709551616",
            "Transaction-1",
            "1",
        ] {
            assert_eq!(TransactionId::parse(text), None, "{text}");
        }
        assert_eq!(
            TransactionId::parse("transaction-0"),
            Some(TransactionId(0))
        );
    }

    #[test]
    fn serde_uses_the_wire_form() {
        let id = TransactionId(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""transaction-42""#);
        assert_eq!(
            serde_json::from_str::<TransactionId>(r#""transaction-42""#).unwrap(),
            id
        );
        assert!(serde_json::from_str::<TransactionId>(r#""t-42""#).is_err());
    }

    proptest! {
        #[test]
        fn every_number_round_trips(n: u64) {
            let id = TransactionId(n);
            prop_assert_eq!(id.to_wire(), format!("transaction-{n}"));
            prop_assert_eq!(id.to_string(), id.to_wire());
            prop_assert_eq!(TransactionId::parse(&id.to_wire()), Some(id));
            prop_assert!(id == id.to_wire().as_str());
        }
    }
}
