//! The drain-and-fire loop every machine target shares, through `callsig::Machine`.

use callsig::{Input, Machine, Output, Timestamp};

/// Drains `m`, showing every output to `check`, then fires each timer due by `now` at its
/// own deadline (draining after each): the deadline must move forward every time.
pub fn settle<M: Machine>(
    m: &mut M,
    now: u64,
    mut check: impl FnMut(&mut M, Output<M::Conn, M::Event>),
) {
    let mut drain = |m: &mut M| loop {
        match m.poll_output() {
            Output::Timeout(d) => return d,
            other => check(m, other),
        }
    };
    let mut deadline = drain(m);
    while let Some(d) = deadline.filter(|d| d.as_millis() <= now) {
        m.handle_input(d, Input::Timeout)
            .expect("a timeout is never refused");
        deadline = drain(m);
        assert!(deadline.is_none_or(|n| n > d), "the deadline did not move");
    }
}

/// A transport input at `at` on connection `conn`.
pub fn frame<M: Machine>(m: &mut M, at: Timestamp, conn: &M::Conn, text: &str) {
    let _ = m.handle_input(at, Input::Frame { conn, text });
}

/// The transport closed connection `conn` at `at`.
pub fn close<M: Machine>(m: &mut M, at: Timestamp, conn: &M::Conn, code: Option<u16>) {
    let _ = m.handle_input(
        at,
        Input::Closed {
            conn,
            code: code.map(Into::into),
            reason: "",
        },
    );
}
