//! Any text, read as either side's message: no panic, and what decodes re-encodes to text
//! that decodes to the same message.

use callsig::progress::{ClientMessage, ServerMessage};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = ClientMessage::decode(text) {
        assert_eq!(ClientMessage::decode(&m.encode()).as_ref(), Ok(&m));
    }
    if let Ok(m) = ServerMessage::decode(text) {
        assert_eq!(ServerMessage::decode(&m.encode()).as_ref(), Ok(&m));
    }
}
