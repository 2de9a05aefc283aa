//! Runs one Call API command and prints its events as they arrive.
//!
//!     cargo run --example callapi_client -- ws://127.0.0.1:8100 CallStart caller=sip:alice@x callee=sip:bob@x
//!
//! Exits 0 when the command completes, 1 otherwise.

#[path = "support/callapi_io.rs"]
mod callapi_io;
#[path = "support/ws.rs"]
mod ws;

use callsig::callapi::{Client, ClientConfig, Command, Outcome};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    const USAGE: &str = "usage: callapi_client URL METHOD [name=value]...\n\n\
        Runs one Call API command (e.g. CallStart caller=sip:a@x callee=sip:b@x) against the\n\
        daemon at URL; exits 0 when it completes.";
    ws::help(USAGE);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, method, params @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let url = &ws::ws_url(url, USAGE);
    let mut map = serde_json::Map::new();
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            eprintln!("parameters are name=value, got {p:?}");
            std::process::exit(2);
        };
        map.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
    }
    let command = match Command::from_params(method, Some(&serde_json::Value::Object(map))) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("{method}: {e}");
            std::process::exit(2);
        }
        None => {
            eprintln!(
                "unknown method {method}; known: {}",
                callsig::callapi::METHODS.join(", ")
            );
            std::process::exit(2);
        }
    };
    let outcomes = callapi_io::run_client(
        Client::new(ClientConfig::default()),
        url,
        vec![command],
        ws::print_trace("client"),
    )
    .await;
    let ok = outcomes.iter().all(|(_, o)| *o == Outcome::Completed) && !outcomes.is_empty();
    std::process::exit(if ok { 0 } else { 1 });
}
