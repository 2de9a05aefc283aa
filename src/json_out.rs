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

/// Appends `n` in decimal.
pub(crate) fn u64_to_string(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
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
