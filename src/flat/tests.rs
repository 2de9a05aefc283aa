//! The scanner against serde_json: what it takes, it reads as serde_json does.

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
                let body: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
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
