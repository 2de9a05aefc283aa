//! A fast reader for the common shape of frame: JSON whose numbers are small integers,
//! such as `{"messageType":"action","event":"media-up"}`, `{"jsonrpc":"2.0","method":
//! "CallStart","params":{"cmd_id":"c1","event":"Ended"}}` or a WTSP `accepted` event whose
//! SDP is full of `\r\n`.
//!
//! [`visit`] serves such a frame to any `serde` visitor at a fraction of a general
//! parser's cost: strings are scanned eight bytes at a time for quotes, backslashes and
//! control characters; a string without escapes is handed over borrowed from the frame, one
//! with escapes is decoded in the same pass straight into the `String` handed over (a
//! visitor that keeps it takes it without a copy); skipped and raw values are checked in
//! one loop over the bytes. The moment the text is anything else — a fraction or exponent,
//! a long or negative-zero number, a lone `\u` surrogate or bad escape, an escaped member
//! name, deep nesting, a syntax error, trailing bytes, or a value the visitor refuses — it
//! fails with [`NotFlat`], which costs nothing to make, and the caller reads the frame
//! again with `serde_json`. That reader stays the reference for every value and every
//! error, so this one only has to be right about what it accepts, and hand each visitor
//! what `serde_json` would: a borrowed string (or an owned one where escapes were decoded),
//! `u64` for a non-negative integer and `i64` for a negative one, `visit_some` for a
//! present option, and a visitor may stop early only where `serde_json` lets it (at the
//! closing bracket, as a tuple's does). (A JSON string is `"`, then characters other than
//! `"`, `\` and U+0000–U+001F or escapes, then `"`; the text is a `&str`, so what lies
//! between escapes is valid UTF-8.) A value can also be taken as its JSON text
//! ([`RawText`]), from either reader.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

mod bytes;
mod plain;

use bytes::{escape, skip_ws, special};
pub(crate) use plain::{split_plain_string, PlainObject};

/// The frame is not of the simple shape this reader takes: read it with the general one.
#[derive(Debug)]
pub(crate) struct NotFlat;

impl std::fmt::Display for NotFlat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a frame of the simple shape")
    }
}

impl std::error::Error for NotFlat {}

impl serde::de::Error for NotFlat {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotFlat
    }
}

/// Deeper than this is left to the general reader (whose own limit is 128).
const MAX_DEPTH: u32 = 32;

/// Reads `text` with `visitor` if it is a JSON object of the simple shape that the
/// visitor accepts whole; `None` means: use the general reader (the visitor may have
/// written part of its output, which the caller must reset).
pub(crate) fn visit<'de, V: Visitor<'de>>(text: &'de str, visitor: V) -> Option<V::Value> {
    let mut s = Scanner {
        text,
        pos: 0,
        depth: 0,
    };
    s.skip_ws();
    if s.peek() != Some(b'{') {
        return None;
    }
    let value = s.object(visitor).ok()?;
    s.skip_ws();
    (s.pos == text.len()).then_some(value)
}

/// The value of `text`, which must be one JSON string and nothing else (as a
/// [`RawText`] of a string is); `None` if it is not, or is not of the shape read here
/// (a lone `\u` surrogate).
pub(crate) fn string(text: &str) -> Option<Cow<'_, str>> {
    let mut s = Scanner {
        text,
        pos: 0,
        depth: 0,
    };
    let value = s.string_value().ok()?;
    (s.pos == text.len()).then_some(value)
}

/// The value `text` starts with, read by `T` through the scanner, and the text after it.
fn value_at<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Option<(T, &'de str)> {
    let mut s = Scanner {
        text,
        pos: 0,
        depth: 1,
    };
    let value = T::deserialize(Value(&mut s)).ok()?;
    Some((value, text.get(s.pos..)?))
}

/// A value's JSON text, exactly as it stands in the frame (like `serde_json`'s raw value,
/// which it is read through by `serde_json`, but served by this reader too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawText<'a>(pub &'a str);

/// The name this reader recognises to hand over a value's text.
pub(crate) const RAW_TEXT: &str = "$callsig::RawText";

// For any shorter lifetime too, so a derived struct can hold one with `#[serde(borrow)]`.
impl<'de: 'a, 'a> serde::Deserialize<'de> for RawText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            // From this reader: the text itself.
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawText(v))
            }
            // From `serde_json`: through its raw value.
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Self::Value, D::Error> {
                <&serde_json::value::RawValue as serde::Deserialize>::deserialize(d)
                    .map(|r| RawText(r.get()))
            }
        }
        d.deserialize_newtype_struct(RAW_TEXT, V)
    }
}

/// The text and where reading has got to, shared by every nested value.
struct Scanner<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
}

/// A string read by [`Scanner::string`].
enum Str<'de> {
    /// No escapes: the text itself.
    Plain(&'de str),
    /// Escapes (checked, not decoded).
    Escaped,
}

impl<'de> Scanner<'de> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        self.pos = skip_ws(self.text.as_bytes(), self.pos);
    }

    /// Where the string starting here (after whitespace) has its inside, and where the
    /// first quote, backslash or control character in it is.
    fn open_string(&self) -> Result<(usize, usize), NotFlat> {
        let bytes = self.text.as_bytes();
        let open = skip_ws(bytes, self.pos);
        if bytes.get(open) != Some(&b'"') {
            return Err(NotFlat);
        }
        Ok((open + 1, special(bytes, open + 1).ok_or(NotFlat)?))
    }

    /// The plain string starting here (after whitespace); moves past it. A string with an
    /// escape is not plain.
    fn plain_string(&mut self) -> Result<&'de str, NotFlat> {
        match self.string()? {
            Str::Plain(s) => Ok(s),
            Str::Escaped => Err(NotFlat),
        }
    }

    /// The string starting here (after whitespace); moves past it. A plain one is handed
    /// back as it stands; one with escapes is checked as `serde_json` checks a string value
    /// (a `\u` surrogate must be one of a pair) but not decoded (see
    /// [`string_value`](Self::string_value) for that).
    fn string(&mut self) -> Result<Str<'de>, NotFlat> {
        let (start, at) = self.open_string()?;
        let text = self.text;
        if text.as_bytes().get(at) == Some(&b'"') {
            self.pos = at + 1;
            // Both ends sit next to an ASCII byte, so they are character boundaries.
            return text.get(start..at).map(Str::Plain).ok_or(NotFlat);
        }
        self.escaped_string(at).map(|()| Str::Escaped)
    }

    /// The rest of a string from its first special byte at `at` (kept out of the plain
    /// path, which most strings take: it stays small).
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, mut at: usize) -> Result<(), NotFlat> {
        let bytes = self.text.as_bytes();
        while bytes.get(at) == Some(&b'\\') {
            // The one-letter escapes are checked here; `\u` by `escape`.
            let next = match bytes.get(at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at + 2,
                _ => escape(bytes, at + 1)?.1,
            };
            at = special(bytes, next).ok_or(NotFlat)?;
        }
        // A control character inside a string is an error for serde_json to tell.
        if bytes.get(at) != Some(&b'"') {
            return Err(NotFlat);
        }
        self.pos = at + 1;
        Ok(())
    }

    /// The value of the string starting here (after whitespace); moves past it. A plain
    /// string is borrowed; one with escapes is checked as [`string`](Self::string) checks
    /// it and decoded in the same pass, into a string of its own for the visitor to keep.
    fn string_value(&mut self) -> Result<std::borrow::Cow<'de, str>, NotFlat> {
        let (start, at) = self.open_string()?;
        let text = self.text;
        if text.as_bytes().get(at) == Some(&b'"') {
            self.pos = at + 1;
            return text.get(start..at).map(Into::into).ok_or(NotFlat);
        }
        self.decode_string(start, at).map(Into::into)
    }

    /// Decodes a string with escapes whose inside starts at `start` and whose first
    /// special byte is at `at`.
    #[cold]
    #[inline(never)]
    fn decode_string(&mut self, start: usize, mut at: usize) -> Result<String, NotFlat> {
        let text = self.text;
        let bytes = text.as_bytes();
        // Decoded text is never longer than the text left, so up to a bound this is the
        // only allocation.
        let mut out = String::with_capacity((text.len() - start).min(8192));
        let mut run = start;
        while bytes.get(at) == Some(&b'\\') {
            let (c, next) = escape(bytes, at + 1)?;
            out.push_str(text.get(run..at).ok_or(NotFlat)?);
            out.push(c);
            run = next;
            at = special(bytes, next).ok_or(NotFlat)?;
        }
        if bytes.get(at) != Some(&b'"') {
            return Err(NotFlat);
        }
        out.push_str(text.get(run..at).ok_or(NotFlat)?);
        self.pos = at + 1;
        // Strings are often kept (an SDP in an offer): bound the room they waste.
        if out.capacity() - out.len() > 256 {
            out.shrink_to_fit();
        }
        Ok(out)
    }

    /// An integer of at most 18 digits (so it fits either way), as `serde_json` would
    /// hand it over: `Ok(Ok(u))` non-negative, `Ok(Err(i))` negative.
    fn integer(&mut self) -> Result<Result<u64, i64>, NotFlat> {
        let bytes = self.text.as_bytes();
        let negative = bytes.get(self.pos) == Some(&b'-');
        let start = self.pos + usize::from(negative);
        let mut end = start;
        let mut n: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = bytes.get(end) {
            n = n * 10 + u64::from(d - b'0');
            end += 1;
            if end - start > 18 {
                return Err(NotFlat);
            }
        }
        let digits = end - start;
        let leading_zero = digits > 1 && bytes[start] == b'0';
        // A fraction or exponent makes a float, whose reading is left to serde_json; so
        // is `-0`.
        let fraction = matches!(bytes.get(end), Some(b'.' | b'e' | b'E'));
        if digits == 0 || leading_zero || fraction || (negative && n == 0) {
            return Err(NotFlat);
        }
        self.pos = end;
        // At most 18 digits: below 10^18, within both i64 and u64.
        Ok(if negative { Err(-(n as i64)) } else { Ok(n) })
    }

    fn literal(&mut self, word: &str) -> Result<(), NotFlat> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(NotFlat)
        }
    }

    /// The object starting here, served to `visitor`. A visitor may stop before the
    /// closing brace only where `serde_json` lets it: with no member left.
    fn object<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, NotFlat> {
        self.items(b'}', |items| visitor.visit_map(items))
    }

    /// The array starting here, served to `visitor` (which may stop with no element left,
    /// as a tuple's visitor does).
    fn array<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, NotFlat> {
        self.items(b']', |items| visitor.visit_seq(items))
    }

    /// The items of the object or array starting here, closed by `close`, served to `read`.
    fn items<T>(
        &mut self,
        close: u8,
        read: impl FnOnce(&mut Items<'_, 'de>) -> Result<T, NotFlat>,
    ) -> Result<T, NotFlat> {
        self.nested(|s| {
            let mut items = Items {
                s,
                started: false,
                done: false,
            };
            let value = read(&mut items)?;
            let done = items.done;
            s.close_early(done, close)?;
            Ok(value)
        })
    }

    /// After a visitor has returned: unless it read the closing bracket itself, that
    /// bracket must come next (anything else is an error for serde_json to tell).
    fn close_early(&mut self, done: bool, close: u8) -> Result<(), NotFlat> {
        if done {
            return Ok(());
        }
        self.skip_ws();
        if self.peek() != Some(close) {
            return Err(NotFlat);
        }
        self.pos += 1;
        Ok(())
    }

    /// Steps into the bracket here for `read`, within the depth limit.
    fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, NotFlat>,
    ) -> Result<T, NotFlat> {
        if self.depth >= MAX_DEPTH {
            return Err(NotFlat);
        }
        self.depth += 1;
        self.pos += 1;
        let value = read(self)?;
        self.depth -= 1;
        Ok(value)
    }

    /// Moves past the value starting here, checking it: in one loop over the bytes rather
    /// than through visitors, since skipped and raw values are often most of a frame.
    fn skip_value(&mut self) -> Result<(), NotFlat> {
        // One bit per open bracket, innermost lowest: set for an object.
        let mut open: u64 = 0;
        let mut depth = 0;
        loop {
            // A value starts here.
            self.skip_ws();
            match self.peek() {
                Some(b @ (b'{' | b'[')) => {
                    if self.depth + depth >= MAX_DEPTH {
                        return Err(NotFlat);
                    }
                    self.pos += 1;
                    let object = b == b'{';
                    self.skip_ws();
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.pos += 1;
                    } else {
                        open = open << 1 | u64::from(object);
                        depth += 1;
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => self.skip_string()?,
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                _ => drop(self.integer()?),
            }
            // A value has ended: close brackets until one goes on with a comma.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                self.skip_ws();
                let object = open & 1 == 1;
                match (self.peek(), object) {
                    (Some(b','), _) => {
                        self.pos += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.pos += 1;
                        open >>= 1;
                        depth -= 1;
                    }
                    _ => return Err(NotFlat),
                }
            }
        }
    }

    /// The string whose opening quote is here, checked and skipped (no value is made).
    fn skip_string(&mut self) -> Result<(), NotFlat> {
        let bytes = self.text.as_bytes();
        let at = special(bytes, self.pos + 1).ok_or(NotFlat)?;
        if bytes.get(at) == Some(&b'"') {
            self.pos = at + 1;
            return Ok(());
        }
        self.escaped_string(at)
    }

    /// A member name and its colon, skipped.
    fn skip_key(&mut self) -> Result<(), NotFlat> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(NotFlat);
        }
        self.skip_string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(NotFlat);
        }
        self.pos += 1;
        Ok(())
    }
}

/// An object's members or an array's elements, read as they are asked for.
struct Items<'s, 'de> {
    s: &'s mut Scanner<'de>,
    /// Whether an item has been read (so a `,` must come before the next).
    started: bool,
    /// The closing bracket has been read.
    done: bool,
}

impl Items<'_, '_> {
    /// Moves to the next item; `false` past the closing bracket `close`.
    fn next(&mut self, close: u8) -> Result<bool, NotFlat> {
        self.s.skip_ws();
        match self.s.peek() {
            Some(b) if b == close => {
                self.s.pos += 1;
                self.done = true;
                return Ok(false);
            }
            Some(b',') if self.started => self.s.pos += 1,
            Some(_) if !self.started => {}
            _ => return Err(NotFlat),
        }
        self.started = true;
        Ok(true)
    }
}

impl<'de> MapAccess<'de> for Items<'_, 'de> {
    type Error = NotFlat;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NotFlat> {
        if !self.next(b'}')? {
            return Ok(None);
        }
        // A name with escapes is decoded (as serde_json does), for the visitor to match.
        let key = self.s.string_value()?;
        self.s.skip_ws();
        if self.s.peek() != Some(b':') {
            return Err(NotFlat);
        }
        self.s.pos += 1;
        match key {
            std::borrow::Cow::Borrowed(key) => seed.deserialize(PlainStr(key)).map(Some),
            std::borrow::Cow::Owned(key) => seed
                .deserialize(serde::de::value::StringDeserializer::<NotFlat>::new(key))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NotFlat> {
        seed.deserialize(Value(self.s))
    }
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = NotFlat;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NotFlat> {
        if !self.next(b']')? {
            return Ok(None);
        }
        seed.deserialize(Value(self.s)).map(Some)
    }
}

/// The value at the scanner's position.
struct Value<'s, 'de>(&'s mut Scanner<'de>);

impl<'de> serde::Deserializer<'de> for Value<'_, 'de> {
    type Error = NotFlat;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        let s = self.0;
        s.skip_ws();
        match s.peek() {
            Some(b'"') => match s.string_value()? {
                Cow::Borrowed(v) => visitor.visit_borrowed_str(v),
                // Handed over owned: a visitor that keeps it takes it without a copy.
                Cow::Owned(v) => visitor.visit_string(v),
            },
            Some(b'{') => s.object(visitor),
            Some(b'[') => s.array(visitor),
            Some(b't') => s.literal("true").and_then(|()| visitor.visit_bool(true)),
            Some(b'f') => s.literal("false").and_then(|()| visitor.visit_bool(false)),
            Some(b'n') => s.literal("null").and_then(|()| visitor.visit_unit()),
            _ => match s.integer()? {
                Ok(u) => visitor.visit_u64(u),
                Err(i) => visitor.visit_i64(i),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        let s = self.0;
        s.skip_ws();
        if s.peek() == Some(b'n') {
            s.literal("null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(Value(s))
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NotFlat> {
        if name == RAW_TEXT {
            let s = self.0;
            s.skip_ws();
            let start = s.pos;
            s.skip_value()?;
            return visitor.visit_borrowed_str(s.text.get(start..s.pos).ok_or(NotFlat)?);
        }
        speaks_to_us(name)?;
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NotFlat> {
        // A unit variant by name; a variant with content is left to serde_json.
        let s = self.0;
        s.skip_ws();
        if s.peek() != Some(b'"') {
            return Err(NotFlat);
        }
        PlainStr(s.plain_string()?).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        let s = self.0;
        s.skip_ws();
        if s.peek() == Some(b'"') {
            return match s.string_value()? {
                Cow::Borrowed(v) => visitor.visit_borrowed_bytes(v.as_bytes()),
                Cow::Owned(v) => visitor.visit_byte_buf(v.into_bytes()),
            };
        }
        Value(s).deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NotFlat> {
        self.0.skip_value()?;
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// A newtype by this name may be read here: `serde_json`'s own private types (its raw
/// value) speak to its reader only.
fn speaks_to_us(name: &str) -> Result<(), NotFlat> {
    if name.starts_with("$serde_json") {
        Err(NotFlat)
    } else {
        Ok(())
    }
}

/// A plain JSON string (a member name, or a string value asked for as an enum), as
/// `serde_json` would present it: borrowed, `Some` to an `Option`, a unit variant to an
/// enum, the inside to a newtype.
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
        speaks_to_us(name)?;
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
mod tests;
