//! [`Text`]: an immutable string that clones without copying, and that several values read
//! from one frame can share.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string: a clone shares it (one reference count), and strings read from one
/// frame share one buffer.
///
/// The Call API server hands a started command's cmd_id and parameters to the
/// application as `Text`s cut from one buffer: one allocation for all of them, however
/// long they are, and the cmd_id the server keeps for its map and timer is the same
/// buffer. Use it as a `&str` (it derefs to one); it compares, orders and hashes as its
/// text, and serialises as a JSON string.
///
/// ```
/// use callsig::Text;
///
/// let t = Text::from("sip:alice@example.com");
/// assert_eq!(t, "sip:alice@example.com");
/// assert!(t.starts_with("sip:"));
/// let owned: String = t.to_string();
/// assert_eq!(owned.len(), t.len());
/// ```
#[derive(Clone)]
pub struct Text {
    buf: Arc<str>,
    /// The part of `buf` this is; `WHOLE` in `start` for all of it (a buffer of any
    /// length, and no slicing on the common path).
    start: u32,
    end: u32,
}

const WHOLE: u32 = u32::MAX;

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        if self.start == WHOLE {
            &self.buf
        } else {
            // Cut at boundaries `join` recorded, so `get` always succeeds.
            self.buf
                .get(self.start as usize..self.end as usize)
                .unwrap_or_default()
        }
    }

    /// `parts` copied into one buffer (`scratch` is the staging area, left holding them),
    /// and one `Text` for each, sharing it: one allocation in all.
    pub(crate) fn join<const N: usize>(parts: [&str; N], scratch: &mut String) -> [Text; N] {
        scratch.clear();
        let mut bounds = [(0u32, 0u32); N];
        for (part, bound) in parts.iter().zip(bounds.iter_mut()) {
            let start = scratch.len();
            scratch.push_str(part);
            // A buffer past 4 GiB cannot be cut with `u32` bounds; no frame is that long,
            // but the answer would still be right, one allocation per part.
            let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(scratch.len())) else {
                return parts.map(Text::from);
            };
            if e == WHOLE {
                return parts.map(Text::from);
            }
            *bound = (s, e);
        }
        // The last part takes the buffer itself: one reference count fewer to move.
        let mut buf = Some(Arc::<str>::from(scratch.as_str()));
        let mut left = N;
        bounds.map(|(start, end)| {
            left -= 1;
            let buf = if left == 0 { buf.take() } else { buf.clone() };
            Text {
                buf: buf.unwrap_or_else(|| Arc::from("")),
                start,
                end,
            }
        })
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// As a map key, a `Text` is found by its text.
impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::from(Arc::<str>::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::from(Arc::<str>::from(s))
    }
}

/// Without a copy.
impl From<Arc<str>> for Text {
    fn from(buf: Arc<str>) -> Text {
        Text {
            buf,
            start: WHOLE,
            end: WHOLE,
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes as its text (so a `&str` finds it in a map).
impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, s: &str) -> Result<Text, E> {
                Ok(Text::from(s))
            }
        }
        d.deserialize_str(V)
    }
}

/// A staging buffer for [`Text::join`], kept by a machine to reuse its capacity. Not part
/// of the machine's state: equal to any other, empty when cloned, left out of checkpoints.
#[derive(Default)]
pub(crate) struct Scratch(pub(crate) String);

impl Clone for Scratch {
    fn clone(&self) -> Scratch {
        Scratch::default()
    }
}

impl PartialEq for Scratch {
    fn eq(&self, _: &Scratch) -> bool {
        true
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scratch")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn joined_parts_share_one_buffer_and_read_back_as_given() {
        let mut scratch = String::new();
        let [a, b, c, d] = Text::join(["cmd-1", "", "sip:alice@x", "é∑"], &mut scratch);
        assert_eq!((&*a, &*b, &*c, &*d), ("cmd-1", "", "sip:alice@x", "é∑"));
        assert!(Arc::ptr_eq(&a.buf, &d.buf));
        assert_eq!(Arc::strong_count(&a.buf), 4);
        // The staging area is reused: a second join does not see the first.
        let [e] = Text::join(["x"], &mut scratch);
        assert_eq!(e, "x");
        assert_eq!(a, "cmd-1");
    }

    #[test]
    fn compares_orders_and_hashes_as_its_text() {
        let mut scratch = String::new();
        let [cut, _] = Text::join(["b", "a"], &mut scratch);
        let whole = Text::from("b");
        assert_eq!(cut, whole);
        let a = Text::from("a");
        assert!(a < cut);
        let mut map = HashMap::new();
        map.insert(cut, 1);
        assert_eq!(map.get("b"), Some(&1));
        assert_eq!(format!("{whole:?} {whole}"), "\"b\" b");
    }

    #[test]
    fn serialises_as_a_string() {
        let mut scratch = String::new();
        let [_, t] = Text::join(["a", "q\"\u{1}"], &mut scratch);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#""q\"\u0001""#);
        let back: Text = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_str::<Text>("7").is_err());
    }
}
