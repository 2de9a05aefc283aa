//! Byte-level scanning: runs of string, escapes, whitespace.

use super::NotFlat;

/// Where the first byte at or after `at` that ends a plain run of string is: a quote, a
/// backslash or a control character; `None` at the end of the text.
#[inline]
pub(super) fn special(bytes: &[u8], mut at: usize) -> Option<usize> {
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

/// Where the first quote at or after `at` is.
pub(super) fn quote(bytes: &[u8], mut at: usize) -> Option<usize> {
    // Eight bytes at a time, as `special` does (the lowest flag is exact).
    const ONES: u64 = 0x0101_0101_0101_0101;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(word) ^ (ONES * b'"' as u64);
        let flags = x.wrapping_sub(ONES) & !x & (ONES * 0x80);
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    Some(at + bytes.get(at..)?.iter().position(|&b| b == b'"')?)
}

/// The escape whose letter is at `at` (just past the backslash): the character it stands
/// for and where the text goes on. A `\u` surrogate must be followed by its pair, as
/// `serde_json` requires of a string value; anything it would refuse is refused here.
pub(super) fn escape(bytes: &[u8], at: usize) -> Result<(char, usize), NotFlat> {
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

pub(super) fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}
