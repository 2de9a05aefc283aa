//! Arbitrary frames, commands and schedules for a Loop client: no panic, the setup ends at
//! most once, nothing is sent after it ended, deadlines move forward.
#![no_main]

use arbitrary::Arbitrary;
use callsig::progress::{Client, ClientConfig, ClientEvent, ClientOutput, RawJson, Reason, Role};
use callsig::Timestamp;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Open,
    Frame(String),
    Accept,
    MediaUp,
    Terminate(Option<String>),
    Echo,
    Close,
    Wait(u16),
}

fn drain(c: &mut Client, ended: &mut u32) -> Option<Timestamp> {
    loop {
        match c.poll_output() {
            ClientOutput::Timeout(d) => return d,
            ClientOutput::Event(ClientEvent::Ended(_)) => {
                *ended += 1;
                assert!(*ended <= 1, "the setup ended twice");
            }
            ClientOutput::Transmit(_) => assert_eq!(*ended, 0, "sent after the setup ended"),
            _ => {}
        }
    }
}

fuzz_target!(|input: (bool, Vec<Op>)| {
    let (callee, ops) = input;
    let mut config = ClientConfig::new(if callee { Role::Callee } else { Role::Caller }, "t");
    config.alerting_timeout = Some(std::time::Duration::from_secs(3));
    let mut c = Client::new(config);
    let mut now = 0u64;
    let mut ended = 0;
    for op in ops {
        let at = Timestamp::from_millis(now);
        match op {
            Op::Open => {
                let _ = c.handle_open(at);
            }
            Op::Frame(f) => c.handle_frame(at, &f),
            Op::Accept => {
                let _ = c.accept(at);
            }
            Op::MediaUp => {
                let _ = c.media_up(at);
            }
            Op::Terminate(r) => {
                let _ = c.terminate(at, r.as_deref().map(Reason::parse));
            }
            Op::Echo => {
                let _ = c.echo(at, RawJson::new("{}").unwrap());
            }
            Op::Close => c.handle_close(at),
            Op::Wait(dt) => now += u64::from(dt) * 16,
        }
        let mut deadline = drain(&mut c, &mut ended);
        while let Some(d) = deadline.filter(|d| d.as_millis() <= now) {
            c.handle_timeout(d);
            deadline = drain(&mut c, &mut ended);
            assert!(deadline.is_none_or(|n| n > d), "the deadline did not move");
        }
    }
});
