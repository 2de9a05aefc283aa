//! A fast reader for flat JSON objects into a struct of `Option` slots.
//!
//! `#[derive(Deserialize)]` keeps one local per field, then moves them into the struct and
//! the struct out to the caller; for wide structs and small frames that costs more than
//! the parse. [`read_members!`] instead writes each member straight into a caller's struct
//! (so it can live on the caller's stack, and be reused), finds the member by one `match`
//! on its name, and marks members seen in a bit set: a repeated member is an error, an
//! unknown one is skipped, strings are borrowed from the frame when they have no escapes.

use std::borrow::Cow;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `text` without its leading JSON whitespace: a frame's kind is often told by its first
/// bytes (`[` for a batch, `{"response"` for a WTSP response) without building anything.
pub(crate) fn skip_json_ws(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// A string, borrowed from the frame when it has no escapes. (Serde's own `Cow<str>`
/// always copies unless a derive says `borrow`.)
pub(crate) struct Str<'a>(pub Cow<'a, str>);

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(Str)
    }
}

/// An optional string (`null` reads as absent), borrowed like [`Str`]. One visitor for
/// both layers: through `Option<newtype<Cow<str>>>` it cost twice the parse of the string.
#[derive(Default)]
pub(crate) struct OptStr<'a>(pub Option<Cow<'a, str>>);

// For any shorter lifetime too, so a derived struct can hold one with `#[serde(borrow)]`.
impl<'de: 'a, 'a> Deserialize<'de> for OptStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = OptStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(OptStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(OptStr(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_str(StrVisitor).map(|s| OptStr(Some(s)))
            }
        }
        d.deserialize_option(Opt)
    }
}

/// Any JSON value, taken as a string when it is one; another value is consumed, never an
/// error: for tolerant readers, which treat a member of the wrong type as absent.
pub(crate) enum AnyStr<'a> {
    Str(Cow<'a, str>),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for AnyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = AnyStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AnyStr::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AnyStr::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(AnyStr::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(AnyStr::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(AnyStr::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(AnyStr::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(AnyStr::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(AnyStr::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(AnyStr::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AnyStr::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AnyStr::Other)
            }
        }
        d.deserialize_any(Any)
    }
}

/// A string member read tolerantly: `null` or another type reads as absent.
pub(crate) struct LenientStr<'a>(pub Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for LenientStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AnyStr::deserialize(d).map(|v| match v {
            AnyStr::Str(s) => LenientStr(Some(s)),
            AnyStr::Null | AnyStr::Other => LenientStr(None),
        })
    }
}

/// A struct of [`read_members!`], read member by member off a compact object's bytes.
pub(crate) trait PlainMembers<'de>: Default {
    /// Reads `obj`'s members to its closing brace; `None` gives up (an escape, whitespace,
    /// a repeated member...).
    fn read_plain_object(&mut self, obj: &mut crate::flat::PlainObject<'de>) -> Option<()>;
}

/// The member's value, an object, read into a fresh `T` off its bytes.
pub(crate) fn read_plain_object<'de, T: PlainMembers<'de>>(
    obj: &mut crate::flat::PlainObject<'de>,
) -> Option<T> {
    let mut inner = obj.object()?;
    let mut value = T::default();
    value.read_plain_object(&mut inner)?;
    obj.resume(inner)?;
    Some(value)
}

/// A member's slot type with a reader of its own off a compact object's bytes (the
/// `custom` kind of [`read_members!`]). It must read what its `Deserialize` reads, or
/// give up (`None`) for the scanner to read the whole object.
pub(crate) trait PlainValue<'de>: Sized {
    /// Reads the member's value, moving past it.
    fn read_plain(obj: &mut crate::flat::PlainObject<'de>) -> Option<Self>;
}

/// Reads one member's value into its slot.
macro_rules! read_member {
    // A string: `null` reads as absent.
    (str, $map:ident, $slot:expr) => {
        $slot = $map.next_value::<$crate::members::OptStr<'de>>()?.0
    };
    // Any other value: `null` reads as absent.
    (value, $map:ident, $slot:expr) => {
        $slot = $map.next_value()?
    };
    // A value kept as its JSON text (`RawText`): `null` reads as absent.
    (raw, $map:ident, $slot:expr) => {
        $slot = $map.next_value()?
    };
    // A member where `null` means something: absent stays `None`, `null` is `Some(None)`.
    (nullable, $map:ident, $slot:expr) => {
        $slot = Some($map.next_value()?)
    };
    // An object read into another struct of `read_members!`; `null` or another type is an
    // error.
    (object, $map:ident, $slot:expr) => {
        $slot = Some($map.next_value()?)
    };
    // A slot type with a reader of its own off the bytes ([`PlainValue`]); here, as `value`.
    (custom, $map:ident, $slot:expr) => {
        $slot = $map.next_value()?
    };
    // Through a newtype whose field is the slot's whole value.
    ($wrapper:ident, $map:ident, $slot:expr) => {
        $slot = $map.next_value::<$wrapper<'de>>()?.0
    };
}

/// Reads one member's value into its slot from a [`crate::flat::PlainObject`]: string
/// kinds off the bytes when plain (a string with an escape gives up, `None`, for the
/// scanner to read the whole object), any other kind through the scanner.
macro_rules! read_plain_member {
    (str, $obj:ident, $slot:expr) => {
        $slot = $obj.opt_str()?.map(std::borrow::Cow::Borrowed)
    };
    (LenientStr, $obj:ident, $slot:expr) => {
        $slot = $obj.opt_str()?.map(std::borrow::Cow::Borrowed)
    };
    (StrictStr, $obj:ident, $slot:expr) => {
        $slot = Some(std::borrow::Cow::Borrowed($obj.str()?))
    };
    (raw, $obj:ident, $slot:expr) => {
        $slot = $obj.opt_raw()?
    };
    // Any other kind through the scanner, as `read_member!` reads it.
    (value, $obj:ident, $slot:expr) => {
        $slot = $obj.value()?
    };
    (nullable, $obj:ident, $slot:expr) => {
        $slot = Some($obj.value()?)
    };
    (object, $obj:ident, $slot:expr) => {
        $slot = Some($crate::members::read_plain_object($obj)?)
    };
    (custom, $obj:ident, $slot:expr) => {
        $slot = $crate::members::PlainValue::read_plain($obj)?
    };
    ($wrapper:ident, $obj:ident, $slot:expr) => {
        $slot = $obj.value::<$wrapper<'de>>()?.0
    };
}

/// Generates, for `$ty<'de>` (a struct of `Option` slots with `Default`):
/// `fn read_members(map, &mut $ty)`, `$ty::read(&mut self, text)` (one whole frame) and
/// `Deserialize for $ty` (for nesting and for reading from a `Value`). Each member is
/// `"name" => field: how`, `how` being `str`, `value`, `raw` (an `Option<RawText>`: the
/// value's JSON text), `nullable`, `object` (another struct of this macro, read off the
/// bytes with the rest when plain), `custom` (a slot type implementing [`PlainValue`]) or
/// a wrapper type; with
/// `nested "name" => field`, a member of that name reads another `$ty` into `field`; with
/// `unknown => flag`, an unknown member sets the `bool` field `flag`.
macro_rules! read_members {
    ($ty:ident { $($name:literal => $field:ident: $how:ident,)* }
     $(nested $nested:literal => $nfield:ident)?
     $(unknown => $ufield:ident)?) => {
        // In an anonymous block, so one module may read several structs.
        const _: () = {
            /// A member name, as an index into `NAMES`.
            #[allow(non_camel_case_types)]
            #[derive(Clone, Copy)]
            enum Member {
                $($field,)*
                $($nfield,)?
                unknown,
            }

            const NAMES: &[&str] = &[$($name,)* $($nested)?];

            // One bit per member in `read_members`.
            const _: () = assert!(NAMES.len() <= 64);

            impl<'de> serde::Deserialize<'de> for Member {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    struct Name;
                    impl serde::de::Visitor<'_> for Name {
                        type Value = Member;
                        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                            f.write_str("a member name")
                        }
                        fn visit_str<E>(self, v: &str) -> Result<Member, E> {
                            Ok(match v {
                                $($name => Member::$field,)*
                                $($nested => Member::$nfield,)?
                                _ => Member::unknown,
                            })
                        }
                    }
                    d.deserialize_identifier(Name)
                }
            }

            /// Reads every member of an object into `f`.
            fn read_members<'de, A: serde::de::MapAccess<'de>>(
                map: &mut A,
                f: &mut $ty<'de>,
            ) -> Result<(), A::Error> {
                use serde::de::Error as _;
                let mut seen = 0u64;
                while let Some(member) = map.next_key::<Member>()? {
                    if !matches!(member, Member::unknown) {
                        let bit = 1u64 << member as u32;
                        if seen & bit != 0 {
                            return Err(A::Error::duplicate_field(NAMES[member as usize]));
                        }
                        seen |= bit;
                    }
                    match member {
                        $(Member::$field => $crate::members::read_member!($how, map, f.$field),)*
                        $(Member::$nfield => f.$nfield = map.next_value()?,)?
                        Member::unknown => {
                            $(f.$ufield = true;)?
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(())
            }

            /// Reads an object's members into the struct it holds.
            struct ReadInto<'x, 'de>(&'x mut $ty<'de>);

            impl<'de> serde::de::Visitor<'de> for ReadInto<'_, 'de> {
                type Value = ();
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                    read_members(&mut map, self.0)
                }
            }

            impl<'de> $ty<'de> {
                /// Reads one whole frame into `self` (which should be empty), borrowing from
                /// `text`. Only a JSON object is read.
                pub fn read(&mut self, text: &'de str) -> serde_json::Result<()> {
                    use serde::Deserializer as _;
                    let mut de = serde_json::Deserializer::from_str(text);
                    (&mut de).deserialize_map(ReadInto(self))?;
                    de.end()
                }

                /// Like [`read`](Self::read), trying the fast readers first: a compact
                /// object member by member off its bytes (plain strings there, other
                /// values through the scanner), then the scanner ([`crate::flat`]) for
                /// frames usually of its shape (no floats, no odd escapes), which then
                /// cost a fraction; others pay a partial scan.
                #[allow(dead_code)]
                pub fn read_flat_first(&mut self, text: &'de str) -> serde_json::Result<()> {
                    if self.read_plain(text).is_some() {
                        return Ok(());
                    }
                    if $crate::flat::visit(text, ReadInto(self)).is_some() {
                        return Ok(());
                    }
                    *self = Self::default();
                    self.read(text)
                }

                /// Reads `text` if it is a compact object whose string members are plain
                /// ([`crate::flat::PlainObject`]; other values are read through the
                /// scanner); `None` for anything else, a repeated member included, with
                /// `self` (empty before) as empty again: only the slots touched are
                /// reset, since resetting a wide struct whole cost more than most reads.
                fn read_plain(&mut self, text: &'de str) -> Option<()> {
                    let mut seen = 0u64;
                    let read = self.read_plain_into(text, &mut seen);
                    if read.is_none() {
                        $(
                            if seen & (1u64 << Member::$field as u32) != 0 {
                                self.$field = Default::default();
                            }
                        )*
                        $(
                            if seen & (1u64 << Member::$nfield as u32) != 0 {
                                self.$nfield = Default::default();
                            }
                        )?
                        $( self.$ufield = false; )?
                    }
                    read
                }

                fn read_plain_into(&mut self, text: &'de str, seen: &mut u64) -> Option<()> {
                    let mut obj = $crate::flat::PlainObject::new(text)?;
                    self.read_plain_members(&mut obj, seen)?;
                    obj.end()
                }

                /// Reads `obj`'s members to its closing brace.
                #[inline(always)]
                fn read_plain_members(
                    &mut self,
                    obj: &mut $crate::flat::PlainObject<'de>,
                    seen: &mut u64,
                ) -> Option<()> {
                    while let Some(name) = obj.next_name()? {
                        let member = match name {
                            $($name => Member::$field,)*
                            $($nested => Member::$nfield,)?
                            _ => Member::unknown,
                        };
                        if !matches!(member, Member::unknown) {
                            let bit = 1u64 << member as u32;
                            if *seen & bit != 0 {
                                return None;
                            }
                            *seen |= bit;
                        }
                        match member {
                            $(Member::$field => $crate::members::read_plain_member!($how, obj, self.$field),)*
                            $(Member::$nfield => self.$nfield = obj.value()?,)?
                            Member::unknown => {
                                $(self.$ufield = true;)?
                                obj.skip()?;
                            }
                        }
                    }
                    Some(())
                }
            }

            impl<'de> $crate::members::PlainMembers<'de> for $ty<'de> {
                fn read_plain_object(&mut self, obj: &mut $crate::flat::PlainObject<'de>) -> Option<()> {
                    self.read_plain_members(obj, &mut 0)
                }
            }

            impl<'de> serde::Deserialize<'de> for $ty<'de> {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let mut f = $ty::default();
                    d.deserialize_map(ReadInto(&mut f))?;
                    Ok(f)
                }
            }
        };
    };
}

/// `fn lift_data(&mut self)` for a struct read with `nested "data" => data`: the obsolete
/// 2022 WTSP format nested type-specific members in `data`; each listed member of `data`
/// (itself lifted first) counts where the top level lacks it.
macro_rules! lift_data {
    ($($f:ident),* $(,)?) => {
        /// Treats the members of a legacy `data` object as top-level fields (the top
        /// level wins).
        pub fn lift_data(&mut self) {
            let Some(mut data) = self.data.take() else {
                return;
            };
            data.lift_data();
            $( if self.$f.is_none() { self.$f = data.$f.take(); } )*
        }
    };
}

pub(crate) use {lift_data, read_member, read_members, read_plain_member};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Default, PartialEq)]
    struct Probe<'a> {
        s: Option<Cow<'a, str>>,
        v: Option<serde_json::Value>,
        n: Option<Option<u32>>,
        l: Option<Cow<'a, str>>,
        r: Option<crate::flat::RawText<'a>>,
        o: Option<Strings<'a>>,
        other: bool,
    }

    read_members! {
        Probe {
            "s" => s: str,
            "v" => v: value,
            "n" => n: nullable,
            "l" => l: LenientStr,
            "r" => r: raw,
            "o" => o: object,
        }
        unknown => other
    }

    /// A struct of string kinds only, which tries the plain reader first.
    #[derive(Debug, Default, PartialEq)]
    struct Strings<'a> {
        s: Option<Cow<'a, str>>,
        l: Option<Cow<'a, str>>,
        r: Option<crate::flat::RawText<'a>>,
        other: bool,
    }

    read_members! {
        Strings {
            "s" => s: str,
            "l" => l: LenientStr,
            "r" => r: raw,
        }
        unknown => other
    }

    proptest! {
        /// Reading flat-first gives exactly what the general reader gives, errors included,
        /// whatever the members' kinds and values.
        #[test]
        fn flat_first_reads_as_the_general_reader(
            members in proptest::collection::vec((
                prop_oneof![
                    Just("s"), Just("v"), Just("n"), Just("l"), Just("r"), Just("o"), Just("x"),
                ],
                prop_oneof![
                    Just("\"plain\""), Just("\"\""), Just(r#""q\"""#), Just("7"), Just("null"),
                    Just("{}"), Just("[1]"), Just("-3"), Just("1.5"), Just(r#"{"a":[1,"x"]}"#),
                    Just(r#"{"s":"x","l":null,"r":"y"}"#), Just(r#"{"s":"q\"","l":7}"#),
                    Just(r#"{"s":"a","s":"b"}"#), Just(r#"{ "s":"x"}"#), Just(r#"{"r":{"s":1}}"#),
                    Just(r#"{"s":null}"#),
                ],
            ), 0..5),
            tail in prop_oneof![Just(""), Just(" "), Just(","), Just("}")],
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let text = format!("{{{}}}{tail}", body.join(","));
            let mut general = Probe::default();
            let general_result = general.read(&text).map_err(|e| e.to_string());
            let mut flat = Probe::default();
            let flat_result = flat.read_flat_first(&text).map_err(|e| e.to_string());
            prop_assert_eq!(&flat_result, &general_result);
            if flat_result.is_ok() {
                prop_assert_eq!(&flat, &general);
            }
            let mut plain = Probe::default();
            match plain.read_plain(&text) {
                Some(()) => prop_assert_eq!(Ok(plain), general_result.clone().map(|()| general)),
                None => prop_assert_eq!(plain, Probe::default()),
            }
            // The same members, read by a struct of string kinds (plain reader first).
            let mut general = Strings::default();
            let general_result = general.read(&text).map_err(|e| e.to_string());
            let mut fast = Strings::default();
            let fast_result = fast.read_flat_first(&text).map_err(|e| e.to_string());
            prop_assert_eq!(&fast_result, &general_result);
            if fast_result.is_ok() {
                prop_assert_eq!(&fast, &general);
            }
            // What the plain reader takes, it reads as the general reader does; what it
            // gives up, it leaves as it found.
            let mut plain = Strings::default();
            match plain.read_plain(&text) {
                Some(()) => prop_assert_eq!(Ok(plain), general_result.map(|()| general)),
                None => prop_assert_eq!(plain, Strings::default()),
            }
        }
    }
}
