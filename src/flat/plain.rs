//! Compact objects of plain values, read straight off their bytes.
//!
//! Small messages are written compactly (no whitespace) with plain values: strings
//! without escapes, `null`, now and then an object of such members. For those, a cursor
//! that moves over the text with `strip_prefix` and one search per string costs a
//! fraction of the scanner's general machinery. Every method returns `None` for anything
//! else (whitespace, an escape, a number, an array...): the caller then uses the scanner,
//! which stays the reference.

use super::bytes::special;
use super::RawText;

/// The plain string (no escape, no control character) whose inside `text` starts with:
/// the string and the text after its closing quote. `None` if it is not plain or not
/// closed.
pub(crate) fn split_plain_string(text: &str) -> Option<(&str, &str)> {
    let end = special(text.as_bytes(), 0)?;
    if text.as_bytes()[end] != b'"' {
        return None;
    }
    // The quote is ASCII, so both sides of it are character boundaries.
    Some((text.get(..end)?, text.get(end + 1..)?))
}

/// A cursor over a compact object, member by member.
pub(crate) struct PlainObject<'de> {
    rest: &'de str,
    started: bool,
    closed: bool,
}

impl<'de> PlainObject<'de> {
    /// The object `text` starts with.
    pub(crate) fn new(text: &'de str) -> Option<Self> {
        Some(PlainObject {
            rest: text.strip_prefix('{')?,
            started: false,
            closed: false,
        })
    }

    /// The next member's name (moving past its colon), or `None` past the closing brace.
    pub(crate) fn next_name(&mut self) -> Option<Option<&'de str>> {
        if let Some(rest) = self.rest.strip_prefix('}') {
            self.rest = rest;
            self.closed = true;
            return Some(None);
        }
        let rest = if self.started {
            self.rest.strip_prefix(',')?
        } else {
            self.rest
        };
        self.started = true;
        let (name, rest) = split_plain_string(rest.strip_prefix('"')?)?;
        self.rest = rest.strip_prefix(':')?;
        Some(Some(name))
    }

    /// Whether the object has been read to its closing brace and that ended the text.
    pub(crate) fn end(&self) -> Option<()> {
        (self.closed && self.rest.is_empty()).then_some(())
    }

    /// The member's value: a plain string, or `null` (as `None`).
    pub(crate) fn opt_str(&mut self) -> Option<Option<&'de str>> {
        if let Some(rest) = self.rest.strip_prefix("null") {
            self.rest = rest;
            return Some(None);
        }
        self.str().map(Some)
    }

    /// The member's value, which must be a plain string.
    pub(crate) fn str(&mut self) -> Option<&'de str> {
        let (s, rest) = split_plain_string(self.rest.strip_prefix('"')?)?;
        self.rest = rest;
        Some(s)
    }

    /// The member's value as its JSON text (quotes included) if it is a plain string;
    /// `null` as `None`.
    pub(crate) fn opt_raw_str(&mut self) -> Option<Option<RawText<'de>>> {
        let text = self.rest;
        Some(self.opt_str()?.map(|s| RawText(&text[..s.len() + 2])))
    }

    /// The member's value as its JSON text: a plain string, `null`, or an object whose
    /// members are plain strings or `null`.
    pub(crate) fn raw_value(&mut self) -> Option<&'de str> {
        let text = self.rest;
        if text.starts_with('{') {
            let mut inner = PlainObject::new(text)?;
            while inner.next_name()?.is_some() {
                inner.opt_str()?;
            }
            self.rest = inner.rest;
        } else {
            self.opt_str()?;
        }
        Some(&text[..text.len() - self.rest.len()])
    }

    /// The member's value as its JSON text, `null` as `None`.
    pub(crate) fn opt_raw(&mut self) -> Option<Option<RawText<'de>>> {
        match self.rest.as_bytes().first() {
            Some(b'"' | b'n') => self.opt_raw_str(),
            _ => self.value(),
        }
    }

    /// Moves past the member's value, whatever it is.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.rest.as_bytes().first() {
            Some(b'"' | b'n') => self.opt_str().map(drop),
            _ => self.value::<serde::de::IgnoredAny>().map(drop),
        }
    }

    /// The member's value, of any kind, read through the scanner (which takes whitespace
    /// inside it too); reading goes on after it.
    pub(crate) fn value<T: serde::Deserialize<'de>>(&mut self) -> Option<T> {
        let (value, rest) = super::value_at(self.rest)?;
        self.rest = rest;
        Some(value)
    }

    /// The member's value, an object: a cursor over it. Read it to its closing brace,
    /// then hand it back with [`resume`](Self::resume).
    pub(crate) fn object(&self) -> Option<PlainObject<'de>> {
        PlainObject::new(self.rest)
    }

    /// Goes on after a member's object read with `inner`.
    pub(crate) fn resume(&mut self, inner: PlainObject<'de>) -> Option<()> {
        self.rest = inner.closed.then_some(inner.rest)?;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_nested_objects_and_raw_values_are_read_off_the_bytes() {
        let text = r#"{"a":"x","b":null,"o":{"c":"y"},"d":{"e":null,"f":"é"},"g":"z"}"#;
        let mut o = PlainObject::new(text).unwrap();
        assert_eq!(o.next_name(), Some(Some("a")));
        assert_eq!(o.str(), Some("x"));
        assert_eq!(o.next_name(), Some(Some("b")));
        assert_eq!(o.opt_str(), Some(None));
        assert_eq!(o.next_name(), Some(Some("o")));
        let mut inner = o.object().unwrap();
        assert_eq!(inner.next_name(), Some(Some("c")));
        assert_eq!(inner.opt_raw_str(), Some(Some(RawText(r#""y""#))));
        assert_eq!(inner.next_name(), Some(None));
        assert_eq!(inner.end(), None, "text goes on after it");
        o.resume(inner).unwrap();
        assert_eq!(o.next_name(), Some(Some("d")));
        assert_eq!(o.raw_value(), Some(r#"{"e":null,"f":"é"}"#));
        assert_eq!(o.next_name(), Some(Some("g")));
        assert_eq!(o.raw_value(), Some(r#""z""#));
        assert_eq!(o.next_name(), Some(None));
        assert_eq!(o.end(), Some(()));
    }

    #[test]
    fn anything_but_plain_values_is_given_up() {
        for (text, what) in [
            (r#"{ "a":"x"}"#, "whitespace"),
            (r#"{"a":"x\"y"}"#, "an escape"),
            (r#"{"a":1}"#, "a number"),
            (r#"{"a":["x"]}"#, "an array"),
            (r#"{"a":"x",}"#, "a trailing comma"),
            (r#"{"a":"x""#, "no closing brace"),
            (r#"{"a":"x"}x"#, "text after it"),
            (r#"{"a":{"b":1}}"#, "a number inside"),
            (r#"{"a":{"b":{}}}"#, "an object two deep"),
        ] {
            let read = (|| {
                let mut o = PlainObject::new(text)?;
                while o.next_name()?.is_some() {
                    o.raw_value()?;
                }
                o.end()
            })();
            assert_eq!(read, None, "{what}");
        }
    }
}
