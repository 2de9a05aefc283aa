//! What the derived wire readers need beyond serde's own attributes.
//!
//! Every frame of every protocol is read by serde_json into a `#[derive(Deserialize)]`
//! struct that borrows from the frame. These helpers say the few things serde's attributes
//! cannot: borrow a string through `Option` (serde copies an `Option<Cow<str>>`), tell an
//! absent member from a `null` one, and read a member tolerantly (a value of another type
//! counts as absent). Use them with `#[serde(default, borrow, deserialize_with = "…")]`.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// `text` without its leading JSON whitespace: a frame's kind is often told by its first
/// byte (`[` for a JSON-RPC batch) without reading it.
pub(crate) fn skip_ws(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// Reads a frame that must be one JSON object into `T`. (A derived struct would also take
/// an array, member by position; no protocol here writes one.)
pub(crate) fn from_object<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    if !skip_ws(text).starts_with('{') {
        // Not JSON at all gets serde_json's own error; other JSON, "not an object".
        serde_json::from_str::<IgnoredAny>(text)?;
        return Err(serde::de::Error::custom("not a JSON object"));
    }
    serde_json::from_str(text)
}

/// A member that must be a JSON object, read into `T`: a derived struct would also take an
/// array, member by position, and this says no to it (as [`from_object`] does for a
/// frame). For reading a nested object in the pass that reads its frame.
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData)).map(Object)
    }
}

/// The longest error text made from a reader's error, in bytes: serde's messages quote the
/// value they refused, and a peer's value must not come back at any length.
pub(crate) const MAX_ERROR_TEXT: usize = 120;

/// A reader's error as text for an error frame, an error response or an event: at most
/// [`MAX_ERROR_TEXT`] bytes, cut at a character and marked `…` when cut.
pub(crate) fn error_text(e: &serde_json::Error) -> String {
    let mut text = e.to_string();
    if text.len() > MAX_ERROR_TEXT {
        let mut cut = MAX_ERROR_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// A frame dispatched on a kind tag, read by [`tag_first`].
pub(crate) trait Tagged<'de> {
    /// What a frame is read into.
    type Value;
    /// The tag member names; the position of the one found is passed to `read_rest`.
    const TAGS: &'static [&'static str];

    /// Reads the members after the tag; `None` sends the frame to the caller's other path.
    fn read_rest<A: MapAccess<'de>>(
        &mut self,
        tag: usize,
        value: Cow<'de, str>,
        rest: A,
    ) -> Result<Option<Self::Value>, A::Error>;
}

/// Reads a frame in one pass when one of its first [`MAX_BEFORE_TAG`] + 1 members is one of
/// `T`'s tags with a string value: the members before the tag are kept as raw text
/// (borrowed, not parsed) and handed to [`Tagged::read_rest`] ahead of the rest of the
/// object, which goes straight through. (An internally tagged enum would buffer the whole
/// frame into a tree first; the tag comes first as every implementation writes it, but
/// some write members in name order.) `None` for any other frame, or any error: the caller
/// then reads the frame the general way, which has the error to tell.
pub(crate) fn tag_first<'de, T: Tagged<'de>>(text: &'de str, reader: &mut T) -> Option<T::Value> {
    struct First<'r, T>(&'r mut T);
    impl<'de, T: Tagged<'de>> Visitor<'de> for First<'_, T> {
        type Value = Option<T::Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let Some(key) = map.next_key_seed(StrSeed)? else {
                return Ok(None);
            };
            // The tag first, as implementations write it: the rest goes through untouched
            // (wrapping it would cost small frames a sixth of their read).
            if let Some(tag) = T::TAGS.iter().position(|t| *t == key) {
                let value = map.next_value_seed(StrSeed)?;
                return self.0.read_rest(tag, value, map);
            }
            let mut before = Before::default();
            let mut key = key;
            loop {
                // Past the bound, or a key with escapes (not borrowable), the frame is left
                // unread: the deserializer then fails at the unread members.
                let (Cow::Borrowed(k), false) = (key, before.len == MAX_BEFORE_TAG) else {
                    return Ok(None);
                };
                let value: &'de RawValue = map.next_value()?;
                before.members[before.len] = (k, Some(value));
                before.len += 1;
                key = match map.next_key_seed(StrSeed)? {
                    Some(key) => key,
                    None => return Ok(None),
                };
                if let Some(tag) = T::TAGS.iter().position(|t| *t == key) {
                    let value = map.next_value_seed(StrSeed)?;
                    let rest = Prefixed {
                        before,
                        next: 0,
                        pending: None,
                        rest: map,
                    };
                    return self.0.read_rest(tag, value, rest);
                }
            }
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let read = de.deserialize_map(First(reader)).ok()?;
    de.end().ok()?;
    read
}

/// How many members [`tag_first`] keeps before the tag: enough for any frame written in
/// name order (the WTSP tags sort after most members of their kind), small enough to keep
/// on the stack.
pub(crate) const MAX_BEFORE_TAG: usize = 8;

/// The members [`tag_first`] passed over before the tag, as written (every value is
/// `Some`; the `Option` only gives the array a default).
#[derive(Default)]
struct Before<'de> {
    members: [(&'de str, Option<&'de RawValue>); MAX_BEFORE_TAG],
    len: usize,
}

/// The members before the tag (each read from its raw text), then the rest of the object.
struct Prefixed<'de, A> {
    before: Before<'de>,
    /// The next of `before` to hand out.
    next: usize,
    /// The value of the member of `before` whose key was just handed out.
    pending: Option<&'de RawValue>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Prefixed<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if self.next == self.before.len {
            return self.rest.next_key_seed(seed);
        }
        let (key, value) = self.before.members[self.next];
        self.next += 1;
        self.pending = value;
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let Some(raw) = self.pending.take() else {
            return self.rest.next_value_seed(seed);
        };
        let mut de = serde_json::Deserializer::from_str(raw.get());
        seed.deserialize(&mut de).map_err(A::Error::custom)
    }
}

/// A string, borrowed from the frame when it has no escapes.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(CowStr)
    }
}

/// A string, borrowed from the frame when it has no escapes.
struct CowStr;

impl<'de> Visitor<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// An optional string borrowed from the frame; `null` reads as absent. (One dispatch on
/// the value's first byte: through `Option` a string cost two.)
pub(crate) fn opt_str<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Opt;
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(Opt)
}

/// A member where `null` means something: absent stays `None` (with `default`), `null`
/// is `Some(None)`.
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A member present as any value, `null` included: absent stays `None` (with `default`).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A member read tolerantly: a string, or any other value (consumed, never an error).
#[derive(Debug, PartialEq)]
pub(crate) enum Lenient<'a> {
    /// A string, borrowed when it has no escapes.
    Str(Cow<'a, str>),
    /// Any other value, `null` included.
    Other,
}

impl<'a> Lenient<'a> {
    /// The string, if it was one.
    pub fn str(self) -> Option<Cow<'a, str>> {
        match self {
            Lenient::Str(s) => Some(s),
            Lenient::Other => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(a).map(|_| Lenient::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(a).map(|_| Lenient::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string when the member is one; any other value (`null` too) reads as absent and is
/// never an error: for tolerant readers, which treat a member of the wrong type as absent.
pub(crate) fn lenient_str<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Lenient::deserialize(d).map(Lenient::str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    #[derive(Deserialize, Debug)]
    struct Probe<'a> {
        #[serde(default, borrow, deserialize_with = "opt_str")]
        s: Option<Cow<'a, str>>,
        #[serde(default, deserialize_with = "nullable")]
        n: Option<Option<u32>>,
        #[serde(default, borrow, deserialize_with = "present")]
        r: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "lenient_str")]
        l: Option<Cow<'a, str>>,
    }

    fn read(text: &str) -> Probe<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        assert!(matches!(read(r#"{"s":"a"}"#).s, Some(Cow::Borrowed("a"))));
        let escaped = read(r#"{"s":"a\"b"}"#).s;
        assert!(matches!(escaped, Some(Cow::Owned(ref s)) if s == "a\"b"));
        assert_eq!(read(r#"{"s":null}"#).s, None);
        assert!(serde_json::from_str::<Probe<'_>>(r#"{"s":1}"#).is_err());
    }

    #[test]
    fn absent_and_null_are_told_apart_where_asked() {
        assert_eq!(read("{}").n, None);
        assert_eq!(read(r#"{"n":null}"#).n, Some(None));
        assert_eq!(read(r#"{"n":7}"#).n, Some(Some(7)));
        assert!(read("{}").r.is_none());
        assert_eq!(read(r#"{"r":null}"#).r.map(RawValue::get), Some("null"));
        assert_eq!(
            read(r#"{"r": [1, 2] }"#).r.map(RawValue::get),
            Some("[1, 2]")
        );
    }

    #[test]
    fn lenient_strings_take_other_types_as_absent() {
        assert_eq!(read(r#"{"l":"x"}"#).l.as_deref(), Some("x"));
        for other in ["null", "1", "[1,{}]", "{\"a\":1}", "true"] {
            let text = format!(r#"{{"l":{other},"s":"after"}}"#);
            let p = read(&text);
            assert_eq!((p.l, p.s.as_deref()), (None, Some("after")), "{other}");
        }
    }

    #[test]
    fn object_members_take_objects_only() {
        #[derive(Deserialize)]
        struct Outer<'a> {
            #[serde(borrow)]
            o: Option<Object<Probe<'a>>>,
        }
        let read = |text| serde_json::from_str::<Outer<'_>>(text).map(|o| o.o.map(|p| p.0.s));
        assert_eq!(read(r#"{"o":{"s":"a"}}"#).unwrap(), Some(Some("a".into())));
        assert_eq!(read(r#"{"o":{}}"#).unwrap(), Some(None));
        assert_eq!(read(r#"{"o":null}"#).unwrap(), None);
        // The derived struct alone would read the array member by position.
        assert!(serde_json::from_str::<Probe<'_>>(r#"["a"]"#).is_ok());
        for other in [r#"{"o":["a"]}"#, r#"{"o":"a"}"#, r#"{"o":1}"#] {
            assert!(read(other).is_err(), "{other}");
        }
    }

    /// A toy frame with two kinds, `a` (with a member `n`) and `b`.
    struct Toy;

    #[derive(Deserialize)]
    struct Rest {
        #[serde(default)]
        n: Option<u32>,
        #[serde(default)]
        a: Option<IgnoredAny>,
    }

    impl<'de> Tagged<'de> for Toy {
        type Value = (usize, String, Option<u32>);
        const TAGS: &'static [&'static str] = &["a", "b"];
        fn read_rest<A: MapAccess<'de>>(
            &mut self,
            tag: usize,
            value: Cow<'de, str>,
            rest: A,
        ) -> Result<Option<Self::Value>, A::Error> {
            let r = Rest::deserialize(serde::de::value::MapAccessDeserializer::new(rest))?;
            // A repeated tag sends the frame to the caller's other path.
            if r.a.is_some() {
                return Ok(None);
            }
            Ok(Some((tag, value.into_owned(), r.n)))
        }
    }

    #[test]
    fn tag_first_reads_frames_with_a_tag_among_their_first_members() {
        let read = |text: &str| tag_first(text, &mut Toy);
        assert_eq!(read(r#"{"a":"x","n":7}"#), Some((0, "x".into(), Some(7))));
        assert_eq!(read(r#" { "b" : "y" } "#), Some((1, "y".into(), None)));
        assert_eq!(read(r#"{"a":"x\"y"}"#), Some((0, "x\"y".into(), None)));
        // Members before the tag are read after it, from their text.
        assert_eq!(read(r#"{"n":7,"a":"x"}"#), Some((0, "x".into(), Some(7))));
        assert_eq!(
            read(r#"{"z":[1,{"q":2}],"n" : 7 ,"b":"y"}"#),
            Some((1, "y".into(), Some(7)))
        );
        let eight = (0..MAX_BEFORE_TAG)
            .map(|i| format!(r#""m{i}":{i},"#))
            .collect::<String>();
        assert_eq!(
            read(&format!(r#"{{{eight}"a":"x"}}"#)),
            Some((0, "x".into(), None))
        );
        for other in [
            format!(r#"{{{eight}"n":1,"a":"x"}}"#), // too many members before the tag
            r#"{"\u006e":7,"a":"x"}"#.into(),       // a key before it with an escape
            r#"{"n":"seven","a":"x"}"#.into(),      // a member before it does not read
            r#"{"n":7,"a":"x","a":"y"}"#.into(),    // repeated after members
            r#"{"n":7,"n":8,"a":"x"}"#.into(),      // a member repeated
        ] {
            assert_eq!(read(&other), None, "{other}");
        }
        for other in [
            r#"{"c":"x"}"#,             // not a tag
            r#"{"a":5}"#,               // a tag that is not a string
            r#"{"a":"x","n":"seven"}"#, // the rest does not read
            r#"{"a":"x","a":"y"}"#,     // repeated
            r#"{"a":"x"} trailing"#,    // not one value
            r#"["a","x"]"#,             // not an object
            "{}",
            "",
        ] {
            assert_eq!(read(other), None, "{other}");
        }
    }

    #[test]
    fn error_texts_are_cut_short_at_a_character() {
        let long = format!(r#"{{"s":"{}"}}"#, "é".repeat(500));
        #[derive(Deserialize, Debug)]
        struct N {
            #[allow(dead_code)]
            s: u32,
        }
        let e = serde_json::from_str::<N>(&long).unwrap_err();
        assert!(e.to_string().len() > 1000);
        let text = error_text(&e);
        assert!(text.len() <= MAX_ERROR_TEXT + '…'.len_utf8(), "{text}");
        assert!(
            text.ends_with('…') && text.starts_with("invalid type: string"),
            "{text}"
        );
        let short = serde_json::from_str::<N>(r#"{"s":"a"}"#).unwrap_err();
        assert_eq!(error_text(&short), short.to_string());
    }
}
