//! Transcript drivers for `progress-client` and `progress-server`.
//!
//! ## `progress-server`
//!
//! Config keys (ms): `supervisory` (10000), `ringing` (30000), `connection` (10000),
//! `hello_timeout` (10000),
//! `ended_call_retention` (30000), `max_calls` (100000), `max_connections` (200000),
//! `max_devices_per_party` (8), `max_frame_len` (65536).
//!
//! Verbs (with the step's `"conn"`): `open` (`{"call_id": "c1"}`, or `{"url": "…"}` whose
//! query `callId=c1` or path `…/progress/c1` names the call, or `{}`), `recv`, `recv_raw`,
//! `closed`.
//!
//! Application calls:
//! - `{"create_call": {"call_id": "c1", "caller_auth": "tA", "callee_auth": "tB"}}`
//! - `{"terminate_call": {"call_id": "c1", "reason": "cancel"}}`
//! - `{"remove_call": {"call_id": "c1"}}`
//!
//! ## `progress-client`
//!
//! Config keys: `role` (`"caller"` or `"callee"`, required), `auth` (""), `call_id`
//! (none), `url` (none), `response` (5000), `media_setup` (10000), `alerting_timeout`
//! (none: no alerting timer), `max_frame_len` (65536).
//!
//! Verbs: `open` (`{}`), `recv`, `recv_raw`, `closed`.
//!
//! Application calls: `{"accept": {}}`, `{"media_up": {}}`,
//! `{"terminate": {"reason": "cancel"}}` (`reason` optional), `{"echo": {"echo": …}}`,
//! `{"connect": {}}` (needs `url`).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    args, close_line, connect_line, event_line, send_line, Config, Driver, StepError, Verb,
};
use crate::progress::{
    Client, ClientConfig, ClientOutput, RawJson, Reason, Role, Server, ServerConfig, ServerOutput,
};
use crate::{Routing, Timestamp};

fn unknown_call(name: &str) -> StepError {
    StepError::Malformed(format!("unknown application call {name:?}"))
}

fn not_mine(conn: &str) -> StepError {
    StepError::Refused(format!("connection {conn:?} is not open"))
}

/// Drives a progress [`Server`] whose connections are named by the transcript's strings.
pub(crate) struct ServerDriver {
    server: Server<String>,
}

impl ServerDriver {
    pub(crate) fn new(mut c: Config) -> Result<Self, String> {
        let mut config = ServerConfig::default();
        read_config!(c, config,
            millis "supervisory" => supervisory,
            millis "hello_timeout" => hello_timeout,
            millis "ringing" => ringing,
            millis "connection" => connection,
            millis "ended_call_retention" => ended_call_retention,
            value "max_calls" => max_calls,
            value "max_connections" => max_connections,
            value "max_devices_per_party" => max_devices_per_party,
            value "max_frame_len" => max_frame_len,
        );
        c.finish()?;
        Ok(ServerDriver {
            server: Server::new(config),
        })
    }

    fn app(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
        #[derive(Deserialize)]
        struct Create {
            call_id: String,
            caller_auth: String,
            callee_auth: String,
        }
        #[derive(Deserialize)]
        struct Terminate {
            call_id: String,
            reason: String,
        }
        #[derive(Deserialize)]
        struct Remove {
            call_id: String,
        }
        match name {
            "create_call" => {
                let a: Create = args(name, raw)?;
                Ok(self
                    .server
                    .create_call(now, &a.call_id, &a.caller_auth, &a.callee_auth)?)
            }
            "terminate_call" => {
                let a: Terminate = args(name, raw)?;
                Ok(self
                    .server
                    .terminate_call(now, &a.call_id, Reason::parse(&a.reason))?)
            }
            "remove_call" => {
                let a: Remove = args(name, raw)?;
                Ok(self.server.remove_call(now, &a.call_id)?)
            }
            other => Err(unknown_call(other)),
        }
    }
}

impl Driver for ServerDriver {
    fn step(
        &mut self,
        now: Timestamp,
        conn: Option<&str>,
        verb: Verb<'_>,
    ) -> Result<(), StepError> {
        let need =
            |what: &str| conn.ok_or_else(|| StepError::Refused(format!("{what} needs conn")));
        match verb {
            Verb::None => Ok(()),
            Verb::Open(raw) => {
                #[derive(Deserialize)]
                struct Open {
                    call_id: Option<String>,
                    url: Option<String>,
                }
                let o: Open = args("open", raw)?;
                let conn = need("open")?;
                let call_id = o
                    .call_id
                    .or_else(|| o.url.as_deref().and_then(crate::progress::call_id_from_url));
                Ok(self
                    .server
                    .handle_open(now, conn.to_owned(), call_id.as_deref())?)
            }
            Verb::Recv(text) => {
                let conn = need("recv")?;
                match self.server.handle_frame(now, &conn.to_owned(), &text) {
                    Routing::Handled => Ok(()),
                    Routing::NotMine => Err(not_mine(conn)),
                }
            }
            Verb::Closed(_) => {
                let conn = need("closed")?;
                match self.server.handle_close(now, &conn.to_owned()) {
                    Routing::Handled => Ok(()),
                    Routing::NotMine => Err(not_mine(conn)),
                }
            }
            Verb::App(name, raw) => self.app(now, name, raw),
        }
    }

    fn handle_timeout(&mut self, now: Timestamp) {
        self.server.handle_timeout(now);
    }

    fn drain(&mut self, at: Timestamp, out: &mut Vec<String>) -> Option<Timestamp> {
        loop {
            match self.server.poll_output() {
                ServerOutput::Transmit { conn, text } => {
                    out.push(send_line(at, &text, Some(&conn)))
                }
                ServerOutput::Close { conn, code, reason } => {
                    out.push(close_line(at, code, &reason, Some(&conn)))
                }
                ServerOutput::Event(e) => out.push(event_line(at, &e)),
                ServerOutput::Timeout(deadline) => return deadline,
            }
        }
    }
}

/// Drives a progress [`Client`].
pub(crate) struct ClientDriver {
    client: Client,
}

impl ClientDriver {
    pub(crate) fn new(mut c: Config) -> Result<Self, String> {
        let role: Role = c.take("role")?.ok_or("config key \"role\" is required")?;
        let mut config = ClientConfig::new(role, String::new());
        read_config!(c, config,
            value "auth" => auth,
            option "call_id" => call_id,
            option "url" => url,
            millis "response" => response,
            millis "media_setup" => media_setup,
            value "max_frame_len" => max_frame_len,
        );
        config.alerting_timeout = c.millis("alerting_timeout")?;
        c.finish()?;
        Ok(ClientDriver {
            client: Client::new(config),
        })
    }

    fn app(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
        match name {
            "accept" => Ok(self.client.accept(now)?),
            "media_up" => Ok(self.client.media_up(now)?),
            "connect" => Ok(self.client.connect(now)?),
            "terminate" => {
                #[derive(Deserialize)]
                struct Args {
                    reason: Option<String>,
                }
                let a: Args = args(name, raw)?;
                Ok(self
                    .client
                    .terminate(now, a.reason.as_deref().map(Reason::parse))?)
            }
            "echo" => {
                #[derive(Deserialize)]
                struct Args<'a> {
                    #[serde(borrow)]
                    echo: &'a RawValue,
                }
                let a: Args<'_> = serde_json::from_str(raw.get())
                    .map_err(|e| StepError::Refused(format!("echo: {e}")))?;
                let echo = RawJson::new(super::minify(a.echo.get()))
                    .ok_or_else(|| StepError::Refused("echo: not JSON".into()))?;
                Ok(self.client.echo(now, echo)?)
            }
            other => Err(unknown_call(other)),
        }
    }
}

impl Driver for ClientDriver {
    fn step(
        &mut self,
        now: Timestamp,
        _conn: Option<&str>,
        verb: Verb<'_>,
    ) -> Result<(), StepError> {
        match verb {
            Verb::None => Ok(()),
            Verb::Open(_) => Ok(self.client.handle_open(now)?),
            Verb::Recv(text) => {
                self.client.handle_frame(now, &text);
                Ok(())
            }
            Verb::Closed(_) => {
                self.client.handle_close(now);
                Ok(())
            }
            Verb::App(name, raw) => self.app(now, name, raw),
        }
    }

    fn handle_timeout(&mut self, now: Timestamp) {
        self.client.handle_timeout(now);
    }

    fn drain(&mut self, at: Timestamp, out: &mut Vec<String>) -> Option<Timestamp> {
        loop {
            match self.client.poll_output() {
                ClientOutput::Transmit(text) => out.push(send_line(at, &text, None)),
                ClientOutput::Connect(req) => out.push(connect_line(at, &req)),
                ClientOutput::Close { code, reason } => {
                    out.push(close_line(at, code, &reason, None))
                }
                ClientOutput::Event(e) => out.push(event_line(at, &e)),
                ClientOutput::Timeout(deadline) => return deadline,
            }
        }
    }
}
