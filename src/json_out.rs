//! Small JSON writers for frames written by hand on the hot path (each checked against
//! serde_json by the tests of the frames that use them).

/// Whether `s` can be written between quotes as it is: nothing serde_json would escape,
/// and (to stay simple) ASCII only.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
}

/// Appends `s` as a JSON string: as is when nothing in it needs escaping (the usual case
/// for states, reasons and ids), else through serde_json.
pub(crate) fn str_to_vec(buf: &mut Vec<u8>, s: &str) {
    if plain(s) {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *buf, s);
    }
}

/// [`str_to_vec`] for a `String`.
pub(crate) fn str_to_string(out: &mut String, s: &str) {
    if plain(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted);
    }
}

/// `n` in decimal, written at the end of `buf`. (By hand: `format!` costs more than the
/// frames these numbers go into.)
pub(crate) fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut rest = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// Appends `n` in decimal.
pub(crate) fn u64_to_string(out: &mut String, n: u64) {
    out.push_str(decimal(n, &mut [0; 20]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn strings_and_numbers_are_written_as_serde_json_writes_them(s in ".{0,12}", n: u64) {
            let mut v = Vec::new();
            str_to_vec(&mut v, &s);
            prop_assert_eq!(String::from_utf8(v).unwrap(), serde_json::to_string(&s).unwrap());
            let mut out = String::new();
            str_to_string(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
            let mut out = String::new();
            u64_to_string(&mut out, n);
            prop_assert_eq!(out, n.to_string());
        }
    }
}
