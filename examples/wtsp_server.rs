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
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "WTSP server on ws://{}/signaling/v1",
        listener.local_addr()?
    );
    wtsp_io::serve(listener, ServerConfig::default(), ws::print_trace("server")).await;
    Ok(())
}
