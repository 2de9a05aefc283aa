//! Any text: decoding never panics, and whatever decodes re-encodes to text that decodes
//! to the same message.

use callsig::wtsp::Message;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Message::decode(text) {
        let once = m.encode();
        let again = Message::decode(&once).expect("the reader reads what the writer writes");
        assert_eq!(again.encode(), once, "writing is stable");
    }
}
