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

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;

use serde::forward_to_deserialize_any;

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
        let (start, mut at) = self.open_string()?;
        let text = self.text;
        let bytes = text.as_bytes();
        let plain = bytes[at] == b'"';
        while bytes[at] == b'\\' {
            // The one-letter escapes are checked here; `\u` by `escape`.
            let next = match bytes.get(at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at + 2,
                _ => escape(bytes, at + 1)?.1,
            };
            at = special(bytes, next).ok_or(NotFlat)?;
        }
        // A control character inside a string is an error for serde_json to tell.
        if bytes[at] != b'"' {
            return Err(NotFlat);
        }
        self.pos = at + 1;
        if !plain {
            return Ok(Str::Escaped);
        }
        // Both ends sit next to an ASCII byte, so they are character boundaries.
        text.get(start..at).map(Str::Plain).ok_or(NotFlat)
    }

    /// The value of the string starting here (after whitespace); moves past it. A plain
    /// string is borrowed; one with escapes is checked as [`string`](Self::string) checks
    /// it and decoded in the same pass, into a string of its own for the visitor to keep.
    fn string_value(&mut self) -> Result<std::borrow::Cow<'de, str>, NotFlat> {
        let (start, mut at) = self.open_string()?;
        let text = self.text;
        let bytes = text.as_bytes();
        if bytes[at] == b'"' {
            self.pos = at + 1;
            return text.get(start..at).map(Into::into).ok_or(NotFlat);
        }
        // Decoded text is never longer than the text left, so up to a bound this is the
        // only allocation.
        let mut out = String::with_capacity((text.len() - start).min(8192));
        let mut run = start;
        while bytes[at] == b'\\' {
            let (c, next) = escape(bytes, at + 1)?;
            out.push_str(text.get(run..at).ok_or(NotFlat)?);
            out.push(c);
            run = next;
            at = special(bytes, next).ok_or(NotFlat)?;
        }
        if bytes[at] != b'"' {
            return Err(NotFlat);
        }
        out.push_str(text.get(run..at).ok_or(NotFlat)?);
        self.pos = at + 1;
        // Strings are often kept (an SDP in an offer): bound the room they waste.
        if out.capacity() - out.len() > 256 {
            out.shrink_to_fit();
        }
        Ok(out.into())
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
        self.nested(|s| {
            let mut m = Members {
                s,
                started: false,
                done: false,
            };
            let value = visitor.visit_map(&mut m)?;
            let done = m.done;
            s.close_early(done, b'}')?;
            Ok(value)
        })
    }

    /// The array starting here, served to `visitor` (which may stop with no element left,
    /// as a tuple's visitor does).
    fn array<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, NotFlat> {
        self.nested(|s| {
            let mut e = Elements {
                s,
                started: false,
                done: false,
            };
            let value = visitor.visit_seq(&mut e)?;
            let done = e.done;
            s.close_early(done, b']')?;
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
                Some(b'"') => {
                    self.string()?;
                }
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

    /// A member name and its colon, skipped.
    fn skip_key(&mut self) -> Result<(), NotFlat> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(NotFlat);
        }
        self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(NotFlat);
        }
        self.pos += 1;
        Ok(())
    }
}

/// An object's members, read as they are asked for.
struct Members<'s, 'de> {
    s: &'s mut Scanner<'de>,
    /// Whether a member has been read (so a `,` must come before the next).
    started: bool,
    /// The closing brace has been read.
    done: bool,
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = NotFlat;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NotFlat> {
        self.s.skip_ws();
        match self.s.peek() {
            Some(b'}') => {
                self.s.pos += 1;
                self.done = true;
                return Ok(None);
            }
            Some(b',') if self.started => self.s.pos += 1,
            Some(b'"') if !self.started => {}
            _ => return Err(NotFlat),
        }
        let key = self.s.plain_string()?;
        self.s.skip_ws();
        if self.s.peek() != Some(b':') {
            return Err(NotFlat);
        }
        self.s.pos += 1;
        self.started = true;
        seed.deserialize(PlainStr(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NotFlat> {
        seed.deserialize(Value(self.s))
    }
}

/// An array's elements, read as they are asked for.
struct Elements<'s, 'de> {
    s: &'s mut Scanner<'de>,
    started: bool,
    done: bool,
}

impl Elements<'_, '_> {
    /// Moves to the next element; `false` past the closing bracket.
    fn next_raw(&mut self) -> Result<bool, NotFlat> {
        self.s.skip_ws();
        match self.s.peek() {
            Some(b']') => {
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

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = NotFlat;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NotFlat> {
        if !self.next_raw()? {
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
        // `serde_json`'s own private types (its raw value) speak to its reader only.
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

/// Where the first byte at or after `at` that ends a plain run of string is: a quote, a
/// backslash or a control character; `None` at the end of the text.
#[inline]
fn special(bytes: &[u8], mut at: usize) -> Option<usize> {
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
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = bytes.get(at..)?;
    let i = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + i)
}

/// The escape whose letter is at `at` (just past the backslash): the character it stands
/// for and where the text goes on. A `\u` surrogate must be followed by its pair, as
/// `serde_json` requires of a string value; anything it would refuse is refused here.
fn escape(bytes: &[u8], at: usize) -> Result<(char, usize), NotFlat> {
    let c = match bytes.get(at) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let high = hex4(bytes, at + 1)?;
            if !(0xD800..0xDC00).contains(&high) {
                // Not a surrogate at all, or a trailing one alone (refused).
                let c = char::from_u32(high).ok_or(NotFlat)?;
                return Ok((c, at + 5));
            }
            if bytes.get(at + 5..at + 7) != Some(b"\\u") {
                return Err(NotFlat);
            }
            let low = hex4(bytes, at + 7)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(NotFlat);
            }
            let c = char::from_u32(0x1_0000 + ((high - 0xD800) << 10) + (low - 0xDC00));
            return Ok((c.ok_or(NotFlat)?, at + 11));
        }
        _ => return Err(NotFlat),
    };
    Ok((c, at + 1))
}

/// Four hex digits at `at`, either case.
fn hex4(bytes: &[u8], at: usize) -> Result<u32, NotFlat> {
    let digits = bytes.get(at..at + 4).ok_or(NotFlat)?;
    digits.iter().try_fold(0, |n, &d| {
        let v = (d as char).to_digit(16).ok_or(NotFlat)?;
        Ok(n << 4 | v)
    })
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
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
    use serde::de::IgnoredAny;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// Reads `text` as a map of strings, this reader's way.
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
    fn special_finds_the_first_special_byte_at_every_offset() {
        let naive = |b: &[u8], at: usize| {
            let i = b[at..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            Some(at + i)
        };
        for len in 0..26 {
            for pos in 0..len {
                for special_byte in [b'"', b'\\', 0x01, 0x1f, 0x20, 0x7f, 0xc3] {
                    let mut text = vec![b'a'; len];
                    text[pos] = special_byte;
                    for end in [None, Some(b'"')] {
                        let mut text = text.clone();
                        text.extend(end);
                        for start in 0..2.min(len) {
                            assert_eq!(
                                special(&text, start),
                                naive(&text, start),
                                "{text:?} {start}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Not of the simple shape, or (numbers, `null`, nesting) not what a map of strings
    /// takes: either way the caller goes to the general reader.
    #[test]
    fn anything_else_is_not_read_here() {
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
    fn a_visitor_may_stop_only_at_the_closing_bracket() {
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
        // As serde_json: refused with a member left, taken at the closing brace.
        for (text, taken) in [
            (r#"{"a":"x","b":"y"}"#, None),
            (r#"{"a":"x"}"#, Some(Some(("a", "x")))),
            (r#"{"a":"x" }"#, Some(Some(("a", "x")))),
            ("{}", Some(None)),
        ] {
            use serde::Deserializer as _;
            let theirs = serde_json::Deserializer::from_str(text).deserialize_map(First);
            assert_eq!(theirs.ok(), taken, "{text}");
            assert_eq!(visit(text, First), taken, "{text}");
        }

        // A tuple's visitor stops after its last element.
        struct AsPair;
        impl<'de> Visitor<'de> for AsPair {
            type Value = (u64, RawText<'de>);
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (_, pair) = map
                    .next_entry::<&str, (u64, RawText<'de>)>()?
                    .ok_or_else(|| serde::de::Error::custom("empty"))?;
                Ok(pair)
            }
        }
        for (text, taken) in [
            (
                r#"{"p":[1, {"b":"x"} ]}"#,
                Some((1, RawText(r#"{"b":"x"}"#))),
            ),
            (r#"{"p":[1,{"b":"x"},2]}"#, None),
        ] {
            use serde::Deserializer as _;
            let theirs = serde_json::Deserializer::from_str(text).deserialize_map(AsPair);
            assert_eq!(theirs.ok(), taken, "{text}");
            assert_eq!(visit(text, AsPair), taken, "{text}");
        }
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

    /// Reads an object's first member as raw text (the rest skipped).
    struct AsRaw;

    impl<'de> Visitor<'de> for AsRaw {
        type Value = &'de str;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let raw = map
                .next_entry::<&str, RawText<'de>>()?
                .map_or("", |(_, r)| r.0);
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(raw)
        }
    }

    /// Any JSON value, as text, with the shapes this reader takes and those it leaves.
    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "[a-z]{0,6}".prop_map(|s| format!("\"{s}\"")),
            "[ -~é]{0,4}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0u64..1000).prop_map(|n| n.to_string()),
            Just("-0".to_string()),
            Just("1.5".to_string()),
            Just("1e3".to_string()),
            Just("01".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
            Just("nul".to_string()),
            escaped_string(),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("[a-c]", inner), 0..4).prop_map(|v| {
                    let body: Vec<String> =
                        v.iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
                    format!("{{ {} }}", body.join(" ,"))
                }),
            ]
        })
    }

    /// A string with escapes, well-formed or not, and now and then a raw control character.
    fn escaped_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zé]{0,3}",
            Just(r"\n".to_string()),
            Just(r#"\""#.to_string()),
            Just(r"\\".to_string()),
            Just(r"\/".to_string()),
            Just(r"\b".to_string()),
            Just(r"\u00E9".to_string()),
            any::<u16>().prop_map(|n| format!("\\u{n:04x}")),
            Just(r"\ud83d\ude00".to_string()),
            Just(r"\uD83D\uDE00".to_string()),
            Just(r"\ud83d".to_string()),
            Just(r"\ud83d\n".to_string()),
            Just(r"\ud83d\u0041".to_string()),
            Just(r"\ude00".to_string()),
            Just(r"\q".to_string()),
            Just(r"\u12".to_string()),
            Just(r"\u12g4".to_string()),
            Just("\u{1}".to_string()),
        ];
        proptest::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()))
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
        /// Whatever this reader takes, serde_json reads to the same value; and each value's
        /// text comes out as serde_json's raw value gives it.
        #[test]
        fn nested_values_read_as_serde_json_reads_them(
            members in proptest::collection::vec(("[a-d]", json_value()), 0..4),
            tail in prop_oneof![Just(""), Just(" \n"), Just("x"), Just(",")],
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let text = format!("{{{}}}{tail}", body.join(","));
            let reference = serde_json::from_str::<serde_json::Value>(&text).ok();
            struct AsValue;
            impl<'de> Visitor<'de> for AsValue {
                type Value = serde_json::Value;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                    serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                }
            }
            if let Some(ours) = visit(&text, AsValue) {
                prop_assert_eq!(Some(ours), reference.clone());
            }
            // Plain strings and small integers only: always taken.
            let simple = members.iter().all(|(_, v)| {
                !v.contains(['\\', '.', 'e', 'E']) && !v.contains("-0") && !v.contains("01")
                    && !v.contains("nul,") && !v.ends_with("nul") && !v.contains("nul ")
                    && !v.contains("nul]") && !v.contains("nul}")
                    && v.split(|c: char| !c.is_ascii_digit()).all(|d| d.len() <= 18)
            });
            if simple && (tail.is_empty() || tail == " \n") && reference.is_some() {
                prop_assert!(visit(&text, AsValue).is_some(), "{}", text);
            }
            // Each member's text, through both readers.
            struct Raws;
            impl<'de> Visitor<'de> for Raws {
                type Value = Vec<(&'de str, &'de str)>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, RawText(v))) = map.next_entry::<&str, RawText<'de>>()? {
                        out.push((k, v));
                    }
                    Ok(out)
                }
            }
            if let Some(ours) = visit(&text, Raws) {
                use serde::Deserializer as _;
                let mut de = serde_json::Deserializer::from_str(&text);
                let theirs = (&mut de).deserialize_map(Raws).unwrap();
                prop_assert_eq!(ours, theirs);
            }
        }

        /// Skipping checks the structure as serde_json does: any soup of JSON tokens taken
        /// as a raw value here is taken, to the same text, by serde_json.
        #[test]
        fn skipping_checks_structure(
            tokens in proptest::collection::vec(
                proptest::sample::select(&["{", "}", "[", "]", ",", ":", "\"a\"", "\"\\n\"", "1", "null", " "][..]),
                0..14,
            ),
        ) {
            let text = format!("{{\"k\":{}}}", tokens.concat());
            use serde::Deserializer as _;
            let theirs = serde_json::Deserializer::from_str(&text).deserialize_map(AsRaw).ok();
            let ours = visit(&text, AsRaw);
            if ours.is_some() {
                prop_assert_eq!(ours, theirs, "{}", text);
            }
            // Well-formed values made of these tokens are all taken.
            if let Some(raw) = theirs {
                if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                    prop_assert_eq!(visit(&text, AsRaw), Some(raw), "{}", text);
                }
            }
        }

        /// Every string serde_json writes (escapes and all) is read here, to the same value,
        /// as a value and as raw text.
        #[test]
        fn escaped_strings_are_read(
            text in prop_oneof![any::<String>(), "[a-z\"\\\\/\n\r\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é😀]{0,12}"],
        ) {
            let json = format!("{{\"a\":{}}}", serde_json::to_string(&text).unwrap());
            struct AsValue;
            impl<'de> Visitor<'de> for AsValue {
                type Value = String;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let (_, v) = map.next_entry::<&str, String>()?.unwrap_or_default();
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(v)
                }
            }
            prop_assert_eq!(visit(&json, AsValue), Some(text));
            prop_assert_eq!(visit(&json, AsRaw), Some(&json[5..json.len() - 1]));
        }

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
