//! Compact objects of plain values, read straight off their bytes.
//!
//! Small messages are written compactly (no whitespace) with plain values: strings
//! without escapes, `null`, now and then an object of such members. For those, a cursor
//! that moves over the text with `strip_prefix` and one search per string costs a
//! fraction of the scanner's general machinery. Every method returns `None` for anything
//! else (whitespace, an escape, a number, an array...): the caller then uses the scanner,
//! which stays the reference.

use super::bytes::{quote, special};
use super::{RawText, Scanner};

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
        if self.null() {
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
            Some(b'"') => self.string_text().map(|t| Some(RawText(t))),
            Some(b'n') => self.opt_raw_str(),
            _ => self.value(),
        }
    }

    /// The member's value, a string of any kind, as its JSON text (quotes and escapes
    /// included): escapes are checked as the scanner checks them, not decoded.
    pub(crate) fn string_text(&mut self) -> Option<&'de str> {
        if !self.rest.starts_with('"') {
            return None;
        }
        take_scanned(&mut self.rest, 0, Scanner::skip_string).map(|((), text)| text)
    }

    /// Like [`string_text`](Self::string_text), for text already known to be JSON (a
    /// [`crate::RawJson`]'s): its escapes are not checked again, and the string ends at
    /// the first quote after an even run of backslashes, found eight bytes at a time.
    pub(crate) fn checked_string_text(&mut self) -> Option<&'de str> {
        let bytes = self.rest.as_bytes();
        if bytes.first() != Some(&b'"') {
            return None;
        }
        let mut at = 1;
        let end = loop {
            let q = quote(bytes, at)?;
            let backslashes = bytes[at..q]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if backslashes % 2 == 0 {
                break q;
            }
            at = q + 1;
        };
        let (text, rest) = self.rest.split_at_checked(end + 1)?;
        self.rest = rest;
        Some(text)
    }

    /// Moves past the member's value, whatever it is.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.rest.as_bytes().first() {
            Some(b'"') => self.string_text().map(drop),
            Some(b'n') => self.opt_str().map(drop),
            _ => self.value::<serde::de::IgnoredAny>().map(drop),
        }
    }

    /// Moves past a `null` value: whether it was one.
    pub(crate) fn null(&mut self) -> bool {
        take_null(&mut self.rest)
    }

    /// The member's value, an array: a cursor over it, to be handed back with
    /// [`resume_array`](Self::resume_array).
    pub(crate) fn array(&self) -> Option<PlainArray<'de>> {
        PlainArray::new(self.rest)
    }

    /// Goes on after a member's array read with `inner`.
    pub(crate) fn resume_array(&mut self, inner: PlainArray<'de>) -> Option<()> {
        self.rest = inner.closed.then_some(inner.rest)?;
        Some(())
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

/// Moves past `null` at the start of `rest`: whether it was there.
fn take_null(rest: &mut &str) -> bool {
    match rest.strip_prefix("null") {
        Some(r) => {
            *rest = r;
            true
        }
        None => false,
    }
}

/// What `read` reads through the scanner at the start of `rest` (the scanner `depth` deep,
/// for its nesting limit), and the text it moved over; `rest` moves past it.
fn take_scanned<'de, T>(
    rest: &mut &'de str,
    depth: u32,
    read: impl FnOnce(&mut Scanner<'de>) -> Result<T, super::NotFlat>,
) -> Option<(T, &'de str)> {
    let mut s = Scanner {
        text: rest,
        pos: 0,
        depth,
    };
    let value = read(&mut s).ok()?;
    let (text, after) = rest.split_at_checked(s.pos)?;
    *rest = after;
    Some((value, text))
}

/// A non-negative integer at the start of `rest`, as the scanner reads one (at most 18
/// digits, no fraction); anything else is given up.
fn take_u64(rest: &mut &str) -> Option<u64> {
    let mut after = *rest;
    let (n, _) = take_scanned(&mut after, 0, Scanner::integer)?;
    let n = n.ok()?;
    *rest = after;
    Some(n)
}

/// The value at the start of `rest` (no whitespace before it), checked by the scanner, as
/// its JSON text; `depth` is how deep it sits, for the scanner's nesting limit.
fn take_raw<'de>(rest: &mut &'de str, depth: u32) -> Option<&'de str> {
    if !matches!(
        rest.as_bytes().first(),
        Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    ) {
        return None;
    }
    take_scanned(rest, depth, Scanner::skip_value).map(|((), text)| text)
}

/// A cursor over a compact array, item by item.
pub(crate) struct PlainArray<'de> {
    rest: &'de str,
    started: bool,
    closed: bool,
}

impl<'de> PlainArray<'de> {
    /// The array `text` starts with.
    pub(crate) fn new(text: &'de str) -> Option<Self> {
        Some(PlainArray {
            rest: text.strip_prefix('[')?,
            started: false,
            closed: false,
        })
    }

    /// Whether another item follows (moving past its comma), or `false` past the closing
    /// bracket.
    pub(crate) fn next_item(&mut self) -> Option<bool> {
        if let Some(rest) = self.rest.strip_prefix(']') {
            self.rest = rest;
            self.closed = true;
            return Some(false);
        }
        if self.started {
            self.rest = self.rest.strip_prefix(',')?;
        }
        self.started = true;
        Some(true)
    }

    /// Moves past a `null` item: whether it was one.
    pub(crate) fn null(&mut self) -> bool {
        take_null(&mut self.rest)
    }

    /// The item, a small non-negative integer.
    pub(crate) fn u64(&mut self) -> Option<u64> {
        take_u64(&mut self.rest)
    }

    /// The item, any value, checked by the scanner, as its JSON text; `depth` is how deep
    /// the item sits.
    pub(crate) fn raw(&mut self, depth: u32) -> Option<&'de str> {
        take_raw(&mut self.rest, depth)
    }

    /// The item, an object: a cursor over it, to be handed back with
    /// [`resume_object`](Self::resume_object).
    pub(crate) fn object(&self) -> Option<PlainObject<'de>> {
        PlainObject::new(self.rest)
    }

    /// Goes on after an item read with `inner`.
    pub(crate) fn resume_object(&mut self, inner: PlainObject<'de>) -> Option<()> {
        self.rest = inner.closed.then_some(inner.rest)?;
        Some(())
    }

    /// The item, an array: a cursor over it, to be handed back with
    /// [`resume_array`](Self::resume_array).
    pub(crate) fn array(&self) -> Option<PlainArray<'de>> {
        PlainArray::new(self.rest)
    }

    /// Goes on after an item read with `inner`.
    pub(crate) fn resume_array(&mut self, inner: PlainArray<'de>) -> Option<()> {
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

    /// A cursor at a member's value.
    fn at_value(rest: &str) -> PlainObject<'_> {
        PlainObject {
            rest,
            started: true,
            closed: false,
        }
    }

    #[test]
    fn strings_of_any_kind_are_read_to_their_closing_quote() {
        for text in [
            r#""""#,
            r#""a\"b""#,
            r#""a\\""#,
            r#""\\\"\\""#,
            r#""\u00e9\r\n""#,
            r#""0123456789abcdef\"0123456789""#,
        ] {
            let end = text.len();
            let rest = format!("{text},1");
            let mut o = at_value(&rest);
            assert_eq!(o.checked_string_text(), Some(&rest[..end]), "{text}");
            assert_eq!(o.rest, ",1", "{text}");
            let mut o = at_value(&rest);
            assert_eq!(o.string_text(), Some(&rest[..end]), "{text}");
        }
        // Only the checking reader refuses a bad escape or a control character.
        for bad in ["\"\\x\"", "\"a\u{1}\"", "\"\\ud800\""] {
            let mut o = at_value(bad);
            assert_eq!(o.string_text(), None, "{bad:?}");
        }
        for unclosed in ["\"abc", "\"abc\\\"", "abc\""] {
            let mut o = at_value(unclosed);
            assert_eq!(o.checked_string_text(), None, "{unclosed:?}");
        }
    }

    #[test]
    fn arrays_of_integers_nulls_raw_values_and_nested_containers() {
        let text = r#"[7,null,{"a":"x"},[0,{"b":[1, 2]}],123456789012345678]"#;
        let mut a = PlainArray::new(text).unwrap();
        assert_eq!(a.next_item(), Some(true));
        assert_eq!(a.u64(), Some(7));
        assert_eq!(a.next_item(), Some(true));
        assert!(a.null());
        assert_eq!(a.next_item(), Some(true));
        let mut o = a.object().unwrap();
        assert_eq!(o.next_name(), Some(Some("a")));
        assert_eq!(o.str(), Some("x"));
        assert_eq!(o.next_name(), Some(None));
        a.resume_object(o).unwrap();
        assert_eq!(a.next_item(), Some(true));
        let mut inner = a.array().unwrap();
        assert_eq!(inner.next_item(), Some(true));
        assert_eq!(inner.u64(), Some(0));
        assert_eq!(inner.next_item(), Some(true));
        assert_eq!(inner.raw(2), Some(r#"{"b":[1, 2]}"#));
        assert_eq!(inner.next_item(), Some(false));
        a.resume_array(inner).unwrap();
        assert_eq!(a.next_item(), Some(true));
        assert_eq!(a.u64(), Some(123_456_789_012_345_678));
        assert_eq!(a.next_item(), Some(false));
        assert_eq!(a.rest, "");

        for number in ["-1", "01", "1.5", "1e3", "1234567890123456789", "x"] {
            let mut rest = number;
            assert_eq!(take_u64(&mut rest), None, "{number}");
            assert_eq!(rest, number);
        }
        for bad in [" 1", "{", r#"{"a":}"#, "[1,]", "tru"] {
            let mut rest = bad;
            assert_eq!(take_raw(&mut rest, 1), None, "{bad}");
        }
        // An array not read to its end cannot be resumed after.
        let mut o = PlainObject::new(r#"{"a":[1,2]}"#).unwrap();
        o.next_name().unwrap();
        let mut inner = o.array().unwrap();
        inner.next_item().unwrap();
        assert_eq!(o.resume_array(inner), None);
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
