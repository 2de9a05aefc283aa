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
    const USAGE: &str = "usage: wtsp_client [URL [TOKEN [NUMBER]]]\n\n\
        Connects to URL (default ws://127.0.0.1:8080) with TOKEN (default alice), calls\n\
        NUMBER (default 100), talks for 2 s and hangs up. Reconnects (and says why) while\n\
        the server cannot be reached.";
    ws::help(USAGE);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        ws::unknown_flag(flag, USAGE);
    }
    if args.len() > 3 {
        ws::unknown_flag(&args[3], USAGE);
    }
    let mut args = args.into_iter();
    let url = ws::ws_url(
        &args.next().unwrap_or_else(|| "ws://127.0.0.1:8080".into()),
        USAGE,
    );
    let token = args.next().unwrap_or_else(|| "alice".into());
    let number = args.next().unwrap_or_else(|| "100".into());
    let client = Client::new(ClientConfig::new(url, token));
    let mut app = wtsp_io::OneCall::new(&number, Duration::from_secs(2));
    wtsp_io::run_client(client, &mut app, ws::print_trace("client")).await;
}
