//! Arbitrary frames, commands and schedules for a Loop client: no panic, the setup ends at
//! most once, nothing is sent after it ended, deadlines move forward.

use arbitrary::{Arbitrary, Unstructured};
use callsig::progress::{Client, ClientConfig, ClientEvent, ClientOutput, RawJson, Reason, Role};
use callsig::Timestamp;

use super::settle;

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

/// The setup ends at most once, and nothing is sent after it ended.
fn check(ended: &mut u32, o: ClientOutput) {
    match o {
        ClientOutput::Event(ClientEvent::Ended(_)) => {
            *ended += 1;
            assert!(*ended <= 1, "the setup ended twice");
        }
        ClientOutput::Transmit { .. } => assert_eq!(*ended, 0, "sent after the setup ended"),
        _ => {}
    }
}

pub fn run(data: &[u8]) {
    let Ok(input) = <(bool, Vec<Op>) as Arbitrary>::arbitrary_take_rest(Unstructured::new(data))
    else {
        return;
    };
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
            Op::Frame(f) => settle::frame(&mut c, at, &(), &f),
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
            Op::Close => settle::close(&mut c, at, &(), None),
            Op::Wait(dt) => now += u64::from(dt) * 16,
        }
        settle::settle(&mut c, now, |_, o| check(&mut ended, o));
    }
}
