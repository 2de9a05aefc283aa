//! A WTSP client connecting to a given URL, placing one call and hanging up.
//!
//!     cargo run --example wtsp_client -- ws://127.0.0.1:8080 alice 1234567890
//!
//! Arguments: base URL, token, number to call (default 100). Prints what crosses the wire.

#[path = "support/ws.rs"]
mod ws;
#[path = "support/wtsp_io.rs"]
mod wtsp_io;

use std::time::Duration;

use callsig::wtsp::{Client, ClientConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:8080".into());
    let token = args.next().unwrap_or_else(|| "alice".into());
    let number = args.next().unwrap_or_else(|| "100".into());
    let client = Client::new(ClientConfig::new(url, token));
    let mut app = wtsp_io::OneCall::new(&number, Duration::from_secs(2));
    wtsp_io::run_client(client, &mut app, ws::print_trace("client")).await;
}
