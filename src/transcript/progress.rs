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

use super::{args, Config, Drive, OpenArgs, StepError};
use crate::progress::{Client, ClientConfig, RawJson, Reason, Role, Server, ServerConfig};
use crate::Timestamp;

fn unknown_call(name: &str) -> StepError {
    StepError::Malformed(format!("unknown application call {name:?}"))
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

    fn call(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
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

impl Drive for ServerDriver {
    type M = Server<String>;

    fn machine(&mut self) -> &mut Server<String> {
        &mut self.server
    }

    fn app(
        &mut self,
        now: Timestamp,
        _conn: Option<&str>,
        name: &str,
        raw: &RawValue,
    ) -> Result<(), StepError> {
        self.call(now, name, raw)
    }

    /// `{"call_id": …}` names the call itself; else the URL does.
    fn open(&mut self, now: Timestamp, conn: &String, o: OpenArgs) -> Result<(), StepError> {
        let call_id = o
            .call_id
            .or_else(|| crate::progress::call_id_from_url(&o.url));
        Ok(self
            .server
            .handle_open(now, conn.clone(), call_id.as_deref())?)
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

    fn call(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
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

impl Drive for ClientDriver {
    type M = Client;

    fn machine(&mut self) -> &mut Client {
        &mut self.client
    }

    fn app(
        &mut self,
        now: Timestamp,
        _conn: Option<&str>,
        name: &str,
        raw: &RawValue,
    ) -> Result<(), StepError> {
        self.call(now, name, raw)
    }
}
