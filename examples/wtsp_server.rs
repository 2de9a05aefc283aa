//! A WTSP server on a given address, with a simulated core behind it.
//!
//!     cargo run --example wtsp_server -- 127.0.0.1:8080
//!
//! Any token is accepted as an account of the same name (`bad` is refused with 4201);
//! calls go calling → ringing → accepted. Prints what crosses the wire.

#[path = "support/ws.rs"]
mod ws;
#[path = "support/wtsp_io.rs"]
mod wtsp_io;

use callsig::wtsp::ServerConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    const USAGE: &str = "usage: wtsp_server [ADDR]   (default 127.0.0.1:8080)\n\n\
        Serves ws://ADDR/signaling/v1 with a simulated core: any token is an account of the\n\
        same name (`bad` is refused with 4201); calls go calling -> ringing -> accepted.";
    ws::help(USAGE);
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    if let Some(extra) = args
        .next()
        .or_else(|| addr.starts_with('-').then(|| addr.clone()))
    {
        ws::unknown_flag(&extra, USAGE);
    }
    let listener = ws::listen(&addr).await;
    println!(
        "WTSP server on ws://{}/signaling/v1",
        listener.local_addr()?
    );
    wtsp_io::serve(listener, ServerConfig::default(), ws::print_trace("server")).await;
    Ok(())
}
