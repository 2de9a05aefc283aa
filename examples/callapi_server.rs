//! A Call API daemon on a given address whose SIP side is simulated: every command
//! produces its documented event sequence, 100 ms a step.
//!
//!     cargo run --example callapi_server -- 127.0.0.1:8100 [--fail CallBlindTransfer]...
//!
//! `--fail METHOD` makes every command of that method fail (`Error` then `Ended`).

#[path = "support/callapi_io.rs"]
mod callapi_io;
#[path = "support/ws.rs"]
mod ws;

use std::time::Duration;

use callsig::callapi::ServerConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    const USAGE: &str = "usage: callapi_server [ADDR] [--fail METHOD]...\n\n\
        A Call API daemon on ws://ADDR (default 127.0.0.1:8100) with a simulated SIP side;\n\
        every command of a --fail METHOD fails with `503 Service Unavailable`.";
    ws::help(USAGE);
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8100".to_owned();
    let mut failures = callapi_io::Failures::default();
    while let Some(a) = args.next() {
        if a == "--fail" {
            failures.methods.push(args.next().unwrap_or_default());
        } else if a.starts_with('-') {
            ws::unknown_flag(&a, USAGE);
        } else {
            addr = a;
        }
    }
    let listener = ws::listen(&addr).await;
    println!("Call API daemon on ws://{}", listener.local_addr()?);
    let pace = Duration::from_millis(100);
    callapi_io::serve(
        listener,
        ServerConfig::default(),
        failures,
        pace,
        ws::print_trace("daemon"),
    )
    .await;
    Ok(())
}
