//! The same Call API `CallStart` request frame answered by `callsig::callapi::Server` and by
//! jsonrpsee's `RpcModule` (`raw_json_request` with a registered `CallStart` method that
//! reads the same params and returns the same reply), in alternating batches in one run.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml` prints
//! `peer jsonrpsee/callstart callsig_ns=N peer_ns=N speedup=X.XX`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use callsig::callapi::{Server, ServerConfig, ServerOutput};
use callsig::Timestamp;
use jsonrpsee::RpcModule;

/// Frames per batch: each batch starts from a new server, so every `cmd_id` is new to it.
const BATCH: usize = 256;
/// Batches of each side, alternating.
const ROUNDS: usize = 400;

fn frame(i: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{i},"method":"CallStart","params":{{"caller":"sip:alice@10.0.0.10","callee":"sip:bob@10.0.0.11","cmd_id":"c{i}"}}}}"#
    )
}

#[derive(serde::Deserialize)]
struct CallStart<'a> {
    #[serde(borrow)]
    caller: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    callee: std::borrow::Cow<'a, str>,
    cmd_id: String,
}

#[derive(Clone, serde::Serialize)]
struct Started {
    cmd_id: String,
    event: &'static str,
}

fn peer_module() -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .register_method("CallStart", |params, _, _| {
            let p: CallStart<'_> = params.parse()?;
            // What a handler does with the parties; kept so the read is not optimised out.
            black_box((&p.caller, &p.callee));
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(Started {
                cmd_id: p.cmd_id,
                event: "Started",
            })
        })
        .expect("CallStart registers once");
    module
}

/// A server whose connection has run and ended a batch of commands: its tables are grown,
/// as on any connection past its first commands.
fn warm_server() -> Server {
    let mut server = Server::new(ServerConfig::default());
    let now = Timestamp::from_millis(1);
    for i in 0..BATCH {
        server.handle_frame(now, &(), &frame(BATCH + i));
        server
            .end(now, &format!("c{}", BATCH + i))
            .expect("the command runs");
    }
    while !matches!(server.poll_output(), ServerOutput::Timeout(_)) {}
    server
}

/// One batch on a copy of the warm server: frame in, reply out, outputs drained.
fn callsig_batch(warm: &Server, frames: &[String]) -> Duration {
    let mut server = warm.clone();
    let now = Timestamp::from_millis(1);
    let start = Instant::now();
    for f in frames {
        server.handle_frame(now, &(), f);
        loop {
            match server.poll_output() {
                ServerOutput::Transmit { text, .. } => {
                    black_box(text);
                }
                ServerOutput::Timeout(_) => break,
                other => {
                    black_box(other);
                }
            }
        }
    }
    let took = start.elapsed();
    black_box(server);
    took
}

fn peer_batch(rt: &tokio::runtime::Runtime, module: &RpcModule<()>, frames: &[String]) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for f in frames {
            let (reply, _rx) = module
                .raw_json_request(f, 1)
                .await
                .expect("a valid request");
            black_box(reply);
        }
        start.elapsed()
    })
}

fn main() {
    let frames: Vec<String> = (0..BATCH).map(frame).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let module = peer_module();
    let warm = warm_server();

    // Both answer the same: a result naming the command, `Started`.
    let mut check = Server::new(ServerConfig::default());
    check.handle_frame(Timestamp::from_millis(1), &(), &frames[7]);
    let ServerOutput::Transmit { conn: (), text: ours } = check.poll_output() else {
        panic!("callsig answers the request first");
    };
    let (theirs, _rx) = rt
        .block_on(module.raw_json_request(&frames[7], 1))
        .expect("a valid request");
    let ours: serde_json::Value = serde_json::from_str(&ours).expect("JSON");
    let theirs: serde_json::Value = serde_json::from_str(theirs.get()).expect("JSON");
    assert_eq!(ours, theirs, "the two replies differ");

    // Warm up, then alternate.
    for _ in 0..20 {
        callsig_batch(&warm, &frames);
        peer_batch(&rt, &module, &frames);
    }
    let (mut ours, mut peer) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        ours += callsig_batch(&warm, &frames);
        peer += peer_batch(&rt, &module, &frames);
    }
    let n = (ROUNDS * BATCH) as f64;
    let (ours_ns, peer_ns) = (ours.as_nanos() as f64 / n, peer.as_nanos() as f64 / n);
    println!(
        "peer jsonrpsee/callstart callsig_ns={:.0} peer_ns={:.0} speedup={:.2}",
        ours_ns,
        peer_ns,
        peer_ns / ours_ns
    );
}
