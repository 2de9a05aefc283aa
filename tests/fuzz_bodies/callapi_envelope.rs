//! Any text through both JSON-RPC readers: no panic; every error answer written is JSON.

use callsig::callapi::jsonrpc::{read_from_server, read_incoming, Incoming};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let answers = match read_incoming(text) {
        Incoming::Invalid(r) => vec![r],
        Incoming::Single(r) => r.err().into_iter().collect(),
        Incoming::Batch(items) => items.into_iter().filter_map(Result::err).collect(),
    };
    for a in answers {
        // JSON by its grammar: an id is echoed digit for digit, and a number past f64's
        // range (which `Value` refuses to hold) is still JSON.
        let written = a.encode();
        assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(&written).is_ok(),
            "{written}"
        );
    }
    let _ = read_from_server(text);
}
