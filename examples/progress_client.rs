//! One party of a Loop call setup, played from flags.
//!
//!     cargo run --example progress_client -- ws://127.0.0.1:8090/progress/c1 callee tokB --accept-after 500
//!
//! Arguments: progress URL, role (`caller` or `callee`), token. The hello names the call
//! (`--call-id ID`, else the URL's). Flags: `--accept-after MS`
//! (callee; never accept without it), `--media-up-after MS` (default 200),
//! `--alerting-timeout MS` (callee). Exits 0 when the setup connects, 1 otherwise.

#[path = "support/progress_io.rs"]
mod progress_io;
#[path = "support/ws.rs"]
mod ws;

use std::time::Duration;

use callsig::progress::{Client, ClientConfig, Outcome, Role};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    const USAGE: &str =
        "usage: progress_client URL caller|callee TOKEN [--call-id ID] [--accept-after MS]\n\
        \x20                      [--media-up-after MS] [--alerting-timeout MS]\n\n\
        Plays one party of a Loop call setup; the hello names the call (--call-id, else the\n\
        URL's /progress/ID or ?callId=ID). Exits 0 when the setup connects.";
    ws::help(USAGE);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("{USAGE}");
        std::process::exit(2)
    };
    let [url, role, token, flags @ ..] = args.as_slice() else {
        usage()
    };
    let role = match role.as_str() {
        "caller" => Role::Caller,
        "callee" => Role::Callee,
        _ => usage(),
    };
    let url = &ws::ws_url(url, USAGE);
    let mut config = ClientConfig::new(role, token.clone());
    // Real Loop servers want the call named in the hello, not only in the URL.
    config.call_id = callsig::progress::call_id_from_url(url);
    let (mut accept_after, mut media_up_after) = (None, Duration::from_millis(200));
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        if flag == "--call-id" {
            config.call_id = Some(it.next().cloned().unwrap_or_else(|| usage()));
            continue;
        }
        let ms = it
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or_else(|| usage());
        match flag.as_str() {
            "--accept-after" => accept_after = Some(ms),
            "--media-up-after" => media_up_after = ms,
            "--alerting-timeout" => config.alerting_timeout = Some(ms),
            _ => usage(),
        }
    }
    let mut script = progress_io::Script::new(accept_after, media_up_after);
    progress_io::run_client(
        Client::new(config),
        url,
        &mut script,
        ws::print_trace(if role == Role::Caller {
            "caller"
        } else {
            "callee"
        }),
    )
    .await;
    std::process::exit(if script.outcome == Some(Outcome::Connected) {
        0
    } else {
        1
    });
}
