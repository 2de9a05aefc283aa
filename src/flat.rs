//! A scanner for the commonest small frame: one JSON object whose every member is a plain
//! string (no escapes), such as `{"messageType":"action","event":"media-up"}` or
//! `{"response":"ack","transaction":"t-1"}`.
//!
//! [`FlatMap`] serves such an object to any `serde` visitor as a `MapAccess`, with every
//! key and value borrowed from the frame, at a fraction of a general parser's cost: it
//! looks for nothing but quotes, backslashes and control characters. The moment the text
//! is anything else — a number, `null`, a nested value, an escape, a syntax error,
//! trailing bytes — it fails with [`NotFlat`], which costs nothing to make, and the caller
//! reads the frame again with `serde_json`: that reader stays the reference for every
//! value and every error, so this one only has to be right about what it accepts.
//! (A plain JSON string is exactly `"`, any characters but `"`, `\` and U+0000–U+001F,
//! `"`; the text is a `&str`, so what lies between is valid UTF-8.)

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// The frame is not a flat object of plain strings: read it with the general reader.
#[derive(Debug)]
pub(crate) struct NotFlat;

impl std::fmt::Display for NotFlat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a flat object of plain strings")
    }
}

impl std::error::Error for NotFlat {}

impl serde::de::Error for NotFlat {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotFlat
    }
}

/// Reads `text` with `visitor` if it is a flat object of plain strings that the visitor
/// accepts whole; `None` means: use the general reader (the visitor may have written
/// part of its output, which the caller must reset).
pub(crate) fn visit<'de, V: Visitor<'de>>(text: &'de str, visitor: V) -> Option<V::Value> {
    let mut map = FlatMap::new(text)?;
    let value = visitor.visit_map(&mut map).ok()?;
    // A visitor that stopped before the closing brace has not seen the whole frame.
    map.done.then_some(value)
}

/// A flat object's members, scanned as they are asked for.
struct FlatMap<'de> {
    text: &'de str,
    /// Where scanning resumes: after `{`, or after a member's value.
    pos: usize,
    /// Whether a member has been read (so a `,` must come before the next).
    started: bool,
    /// The closing brace and nothing but whitespace after it have been seen.
    done: bool,
}

impl<'de> FlatMap<'de> {
    fn new(text: &'de str) -> Option<Self> {
        let pos = skip_ws(text.as_bytes(), 0);
        (text.as_bytes().get(pos) == Some(&b'{')).then_some(FlatMap {
            text,
            pos: pos + 1,
            started: false,
            done: false,
        })
    }

    /// The plain string starting at `self.pos` (after whitespace); moves past it.
    fn string(&mut self) -> Result<&'de str, NotFlat> {
        let bytes = self.text.as_bytes();
        let open = skip_ws(bytes, self.pos);
        if bytes.get(open) != Some(&b'"') {
            return Err(NotFlat);
        }
        let end = string_end(bytes, open + 1).ok_or(NotFlat)?;
        self.pos = end + 1;
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        self.text.get(open + 1..end).ok_or(NotFlat)
    }
}

impl<'de> MapAccess<'de> for &mut FlatMap<'de> {
    type Error = NotFlat;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NotFlat> {
        let bytes = self.text.as_bytes();
        let at = skip_ws(bytes, self.pos);
        match bytes.get(at) {
            Some(b'}') => {
                self.done = skip_ws(bytes, at + 1) == bytes.len();
                return if self.done { Ok(None) } else { Err(NotFlat) };
            }
            Some(b',') if self.started => self.pos = at + 1,
            Some(b'"') if !self.started => self.pos = at,
            _ => return Err(NotFlat),
        }
        let key = self.string()?;
        let colon = skip_ws(bytes, self.pos);
        if bytes.get(colon) != Some(&b':') {
            return Err(NotFlat);
        }
        self.pos = colon + 1;
        self.started = true;
        seed.deserialize(PlainStr(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NotFlat> {
        let value = self.string()?;
        seed.deserialize(PlainStr(value))
    }
}

/// Where the plain string whose inside starts at `at` ends (its closing quote); `None`
/// at an escape, a control character or the end of the text.
fn string_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    // Eight bytes at a time: a byte is flagged when it is `"`, `\` or below 0x20 (the
    // usual has-zero-byte tricks; only the lowest flag is exact, and only it is used).
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(word);
        let quote = x ^ (ONES * b'"' as u64);
        let backslash = x ^ (ONES * b'\\' as u64);
        let flags = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if flags != 0 {
            at += (flags.trailing_zeros() / 8) as usize;
            return (bytes.get(at) == Some(&b'"')).then_some(at);
        }
        at += 8;
    }
    loop {
        match bytes.get(at) {
            Some(b'"') => return Some(at),
            Some(&b) if b == b'\\' || b < 0x20 => return None,
            Some(_) => at += 1,
            None => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A plain JSON string, as `serde_json` would present it: borrowed, `Some` to an
/// `Option`, a unit variant to an enum, the inside to a newtype.
struct PlainStr<'de>(&'de str);

impl<'de> serde::Deserializer<'de> for PlainStr<'de> {
    type Error = NotFlat;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NotFlat> {
        // `serde_json`'s own private types (a raw value) speak to its deserializer only.
        if name.starts_with("$serde_json") {
            return Err(NotFlat);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NotFlat> {
        serde::de::value::BorrowedStrDeserializer::new(self.0)
            .deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// Reads `text` as a map of strings, the flat way.
    fn flat(text: &str) -> Option<BTreeMap<&str, &str>> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = BTreeMap<&'de str, &'de str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        visit(text, Pairs)
    }

    #[test]
    fn plain_objects_are_read_borrowed() {
        let m = flat(" {\"a\" : \"x\",\n\"b\":\"\"} \r\n").unwrap();
        assert_eq!(m, BTreeMap::from([("a", "x"), ("b", "")]));
        assert_eq!(flat("{}"), Some(BTreeMap::new()));
        assert_eq!(flat("{\"é\":\"ü→\"}").unwrap()["é"], "ü→");
    }

    #[test]
    fn string_end_finds_the_first_special_byte_at_every_offset() {
        let naive = |b: &[u8], at: usize| {
            let i = at
                + b[at..]
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            (b[i] == b'"').then_some(i)
        };
        for len in 0..26 {
            for pos in 0..len {
                for special in [b'"', b'\\', 0x01, 0x1f, 0x20, 0x7f, 0xc3] {
                    let mut text = vec![b'a'; len];
                    text[pos] = special;
                    text.push(b'"');
                    for start in 0..2.min(len) {
                        assert_eq!(
                            string_end(&text, start),
                            naive(&text, start),
                            "{text:?} {start}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn anything_else_is_not_flat() {
        for text in [
            "",
            "[]",
            "{",
            "{,}",
            r#"{"a":"x",}"#,
            r#"{"a":"x" "b":"y"}"#,
            r#"{"a""x"}"#,
            r#"{"a":1}"#,
            r#"{"a":null}"#,
            r#"{"a":{}}"#,
            r#"{"a":"x\"y"}"#,
            "{\"a\":\"x\ty\"}",
            r#"{"a":"x"} x"#,
            r#"{"a":"x"}}"#,
            r#"{"a":"x"#,
            r#"{a:"x"}"#,
        ] {
            assert_eq!(flat(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_visitor_that_stops_early_is_not_whole() {
        struct First;
        impl<'de> Visitor<'de> for First {
            type Value = Option<(&'de str, &'de str)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                map.next_entry()
            }
        }
        assert_eq!(visit(r#"{"a":"x","b":"y"}"#, First), None);
        assert_eq!(visit(r#"{"a":"x"}"#, First), None);
        assert_eq!(visit("{}", First), Some(None));
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Kind {
            Ack,
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct Id(String);
        #[derive(Debug, PartialEq, Deserialize)]
        struct Frame {
            response: Kind,
            transaction: Option<Id>,
            other: Option<serde_json::Value>,
        }
        let text = r#"{"response":"ack","transaction":"t","other":"o"}"#;
        let via_flat = visit(text, FrameVisitor).unwrap();
        assert_eq!(via_flat, serde_json::from_str::<Frame>(text).unwrap());

        struct FrameVisitor;
        impl<'de> Visitor<'de> for FrameVisitor {
            type Value = Frame;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a frame")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Frame, A::Error> {
                Frame::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        // A raw value is serde_json's own: left to it.
        struct Raw;
        impl<'de> Visitor<'de> for Raw {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while map
                    .next_entry::<&str, &serde_json::value::RawValue>()?
                    .is_some()
                {}
                Ok(())
            }
        }
        assert_eq!(visit(r#"{"a":"x"}"#, Raw), None);
    }

    fn json_string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{0,20}".prop_map(|s| format!("\"{s}\"")),
            "[a-zé\u{1}\u{1f}\u{7f}]{0,20}".prop_map(|s| format!("\"{s}\"")),
            "[ -~é\\\\\t]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just("1".to_string()),
            Just("null".to_string()),
            Just("{}".to_string()),
        ]
    }

    proptest! {
        /// Whatever the scanner accepts, serde_json reads to the same members; and every
        /// object of plain strings is accepted.
        #[test]
        fn agrees_with_serde_json(
            members in proptest::collection::vec((json_string(), json_string()), 0..5),
            ws in "[ \t\n\r]{0,2}",
            tail in prop_oneof![Just(""), Just(" "), Just("x"), Just("}")],
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("{k}{ws}:{ws}{v}")).collect();
            let text = format!("{ws}{{{}}}{tail}", body.join(","));
            let reference = serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&text).ok();
            let plain = |s: &str| s.starts_with('"') && !s.contains(|c: char| c == '\\' || c < ' ');
            let all_plain = members.iter().all(|(k, v)| plain(k) && plain(v));
            match flat(&text) {
                Some(m) => {
                    let reference = reference.expect("serde_json reads what the scanner reads");
                    let ours: BTreeMap<String, serde_json::Value> =
                        m.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
                    prop_assert_eq!(ours, reference);
                }
                None => prop_assert!(!all_plain || reference.is_none()),
            }
            if all_plain && (tail.is_empty() || tail == " ") {
                prop_assert!(flat(&text).is_some());
            }
        }
    }
}
