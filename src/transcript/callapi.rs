//! Transcript drivers for `callapi-client` and `callapi-server`. Each machine is one
//! connection, open from the start: `open` is accepted and changes nothing.
//!
//! ## `callapi-server`
//!
//! Config keys (ms): `command_timeout` (120000), `max_running` (1000), `max_frame_len`
//! (1048576), `cmd_id_seed` (0), `param_errors` (`"json_rpc"`, or `"daemon"`), `max_batch`
//! (100).
//!
//! Verbs: `open`, `recv`, `recv_raw`, `closed`.
//!
//! Application calls:
//! - `{"notify": {"cmd_id": "c", "event": "CallerAnswered", "data": {…}}}` (`data` optional)
//! - `{"fail": {"cmd_id": "c", "message": "404 Dialog not found"}}`
//! - `{"end": {"cmd_id": "c"}}`
//!
//! ## `callapi-client`
//!
//! Config keys (ms): `command_timeout` (130000), `cmd_id_prefix` (`"cmd-"`), `first_id` (1),
//! `max_commands` (1000), `max_early_notifications` (64), `max_frame_len` (1048576).
//!
//! Verbs: `open`, `recv`, `recv_raw`, `closed`.
//!
//! Application calls: `{"command": {"method": "CallStart", "params": {…}}}` (`params`
//! optional; a `params.cmd_id` names the command).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{args, Config, Drive, StepError};
use crate::callapi::{Client, ClientConfig, Server, ServerConfig};
use crate::Timestamp;

fn unknown_call(name: &str) -> StepError {
    StepError::Malformed(format!("unknown application call {name:?}"))
}

/// Drives a Call API [`Server`].
pub(crate) struct ServerDriver {
    server: Server,
}

impl ServerDriver {
    pub(crate) fn new(mut c: Config) -> Result<Self, String> {
        let mut config = ServerConfig::default();
        read_config!(c, config,
            millis "command_timeout" => command_timeout,
            value "max_running" => max_running,
            value "max_frame_len" => max_frame_len,
            value "cmd_id_seed" => cmd_id_seed,
            value "param_errors" => param_errors,
            value "max_batch" => max_batch,
        );
        c.finish()?;
        Ok(ServerDriver {
            server: Server::new(config),
        })
    }

    fn call(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
        #[derive(Deserialize)]
        struct Notify {
            cmd_id: String,
            event: String,
            data: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Fail {
            cmd_id: String,
            message: String,
        }
        #[derive(Deserialize)]
        struct End {
            cmd_id: String,
        }
        match name {
            "notify" => {
                let a: Notify = args(name, raw)?;
                Ok(self.server.notify(now, &a.cmd_id, &a.event, a.data)?)
            }
            "fail" => {
                let a: Fail = args(name, raw)?;
                Ok(self.server.fail(now, &a.cmd_id, &a.message)?)
            }
            "end" => {
                let a: End = args(name, raw)?;
                Ok(self.server.end(now, &a.cmd_id)?)
            }
            other => Err(unknown_call(other)),
        }
    }
}

impl Drive for ServerDriver {
    type M = Server;

    fn machine(&mut self) -> &mut Server {
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
}

/// Drives a Call API [`Client`].
pub(crate) struct ClientDriver {
    client: Client,
}

impl ClientDriver {
    pub(crate) fn new(mut c: Config) -> Result<Self, String> {
        let mut config = ClientConfig::default();
        read_config!(c, config,
            millis "command_timeout" => command_timeout,
            value "cmd_id_prefix" => cmd_id_prefix,
            value "first_id" => first_id,
            value "max_commands" => max_commands,
            value "max_early_notifications" => max_early_notifications,
            value "max_frame_len" => max_frame_len,
        );
        c.finish()?;
        Ok(ClientDriver {
            client: Client::new(config),
        })
    }

    fn call(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
        #[derive(Deserialize)]
        struct Command {
            method: String,
            #[serde(default)]
            params: Map<String, Value>,
        }
        match name {
            "command" => {
                let a: Command = args(name, raw)?;
                self.client.command(now, &a.method, a.params)?;
                Ok(())
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
