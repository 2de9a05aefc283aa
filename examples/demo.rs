//! The callsig demo: a WTSP server on 127.0.0.1 (ephemeral port) and a client placing a
//! call through the whole seed flow — connect, `state`, `outgoing_call`, calling, ringing,
//! accepted, `hangup`, hangingup, hangup — over real loopback WebSockets, printing a
//! timestamped transcript of what crossed the wire.
//!
//!     cargo run --example demo

#[path = "support/wtsp_io.rs"]
mod wtsp_io;

use std::time::Duration;

use callsig::wtsp::{Client, ClientConfig, ServerConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    wtsp_demo().await
}

async fn wtsp_demo() -> std::io::Result<()> {
    println!("== WTSP: a call from dial to hangup");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("server listening on ws://{addr}/signaling/v1");
    tokio::spawn(wtsp_io::serve(
        listener,
        ServerConfig::default(),
        Box::new(|_, _| {}),
    ));

    let client = Client::new(ClientConfig::new(format!("ws://{addr}"), "alice"));
    let mut app = wtsp_io::OneCall::new("1234567890", Duration::from_millis(1500));
    wtsp_io::run_client(client, &mut app, wtsp_io::print_trace("client")).await;
    println!("what the application saw: {}", app.seen.join(", "));
    if app.seen.last().map(String::as_str) != Some("hangup") {
        eprintln!("the call did not end with hangup");
        std::process::exit(1);
    }
    Ok(())
}
