//! A Loop progress server on a given address, with calls created from the command line.
//!
//!     cargo run --example progress_server -- 127.0.0.1:8090 --call c1:tokA:tokB
//!
//! Connect to `ws://ADDR/progress/CALL_ID` (or `?callId=CALL_ID`). Prints what crosses the wire.

#[path = "support/progress_io.rs"]
mod progress_io;
#[path = "support/ws.rs"]
mod ws;

use callsig::progress::ServerConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    const USAGE: &str =
        "usage: progress_server [ADDR] [--call ID:CALLER_TOKEN:CALLEE_TOKEN]...\n\n\
        Serves ws://ADDR/progress/CALL_ID (default 127.0.0.1:8090) for the calls given.";
    ws::help(USAGE);
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8090".to_owned();
    let mut calls = Vec::new();
    while let Some(a) = args.next() {
        if a == "--call" {
            let spec = args.next().unwrap_or_default();
            let parts: Vec<&str> = spec.split(':').collect();
            let [id, caller, callee] = parts.as_slice() else {
                eprintln!("--call wants ID:CALLER_TOKEN:CALLEE_TOKEN, got {spec:?}");
                std::process::exit(2);
            };
            calls.push((id.to_string(), caller.to_string(), callee.to_string()));
        } else if a.starts_with('-') {
            ws::unknown_flag(&a, USAGE);
        } else {
            addr = a;
        }
    }
    let listener = ws::listen(&addr).await;
    println!(
        "Loop progress server on ws://{}/progress/CALL_ID",
        listener.local_addr()?
    );
    progress_io::serve(
        listener,
        ServerConfig::default(),
        calls,
        ws::print_trace("server"),
    )
    .await;
    Ok(())
}
