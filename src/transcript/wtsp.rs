//! Transcript drivers for `wtsp-client` and `wtsp-server`.
//!
//! ## `wtsp-client`
//!
//! Config keys (durations in ms): `url` (""), `token` (""), `force` (false), `tenant`
//! (none), `transaction_timeout` (10000), `keepalive_timeout` (10000), `reconnect_delay`
//! (3000), `reconnect_max_delay` (60000), `handshake_timeout` (10000),
//! `keepalive_interval` (30000: used when `state` has none), `max_queued_requests` (32),
//! `max_pending_transactions` (256), `max_frame_len` (1048576), `first_transaction` (1).
//!
//! Verbs: `open` (`{}`: the connection asked for is up), `recv`, `recv_raw`,
//! `closed` (`{"code": 4441, "reason": "…"}`, both optional).
//!
//! Application calls:
//! - `{"connect": {}}`
//! - `{"request": {WTSP request without "transaction"}}` — the machine assigns it
//! - `{"disconnect": {}}`
//! - `{"reconcile": {"known": ["call-id", …]}}` — an event `reconcile` with the actions
//!
//! ## `wtsp-server`
//!
//! Config keys: `lines` (2), `guest_line` (false), `keepalive_interval` (30000),
//! `request_timeout` (10000), `call_log_len` (64), `max_connections` (100000),
//! `max_accounts` (100000), `max_pending_requests` (64), `max_frame_len` (1048576),
//! `max_state_len` (1048576).
//!
//! Verbs (with the step's `"conn"`): `open` (`{"url": "/signaling/v1?token=t",
//! "protocols": ["webtrit-protocol"]}`), `recv`, `recv_raw`, `closed` (`{"code": 1006}`).
//!
//! Application calls (`conn` inside the call, or else the step's):
//! - `{"attach": {"conn": "a", "account": "alice", "timestamp": 1700000000000,
//!   "registration": {"status": "registered"}}}` (`registration` optional)
//! - `{"reject": {"conn": "a", "code": 4201, "reason": "…"}}` (`reason` optional)
//! - `{"respond": {"conn": "a", "transaction": "transaction-1", "ack": {}}}` or
//!   `{"respond": {…, "error": {"code": 456, "reason": "…"}}}`; without any `conn`, the one
//!   connection whose request has that transaction
//! - `{"event": {"account": "alice", …WTSP event…}}`
//! - `{"forget": {"account": "alice"}}`

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{args, event_line, Config, Drive, StepError};
use crate::wtsp::{
    self, Attach, Client, ClientConfig, KnownCall, Message, Registration, ResponseKind, Server,
    ServerConfig,
};
use crate::Timestamp;

fn unknown_call(name: &str) -> StepError {
    StepError::Malformed(format!("unknown application call {name:?}"))
}

/// Drives a [`Client`].
pub(crate) struct ClientDriver {
    client: Client,
    /// Answers to application calls that are not machine outputs (`reconcile`).
    replies: Vec<Box<RawValue>>,
}

impl ClientDriver {
    pub(crate) fn new(mut c: Config) -> Result<Self, String> {
        let mut config = ClientConfig::default();
        read_config!(c, config,
            value "url" => url,
            value "token" => token,
            value "force" => force,
            option "tenant" => tenant,
            millis "transaction_timeout" => transaction_timeout,
            millis "keepalive_timeout" => keepalive_timeout,
            millis "reconnect_delay" => reconnect_delay,
            millis "reconnect_max_delay" => reconnect_max_delay,
            millis "handshake_timeout" => handshake_timeout,
            millis "keepalive_interval" => default_keepalive_interval,
            value "max_queued_requests" => max_queued_requests,
            value "max_pending_transactions" => max_pending_transactions,
            value "max_frame_len" => max_frame_len,
            value "first_transaction" => first_transaction,
        );
        c.finish()?;
        Ok(ClientDriver {
            client: Client::new(config),
            replies: Vec::new(),
        })
    }

    fn call(&mut self, now: Timestamp, name: &str, raw: &RawValue) -> Result<(), StepError> {
        match name {
            "connect" => Ok(self.client.connect(now)?),
            "disconnect" => {
                self.client.disconnect(now);
                Ok(())
            }
            "request" => {
                let mut v: Value = args("request", raw)?;
                let Some(obj) = v.as_object_mut() else {
                    return Err(StepError::Refused("request: must be an object".into()));
                };
                // The machine assigns the transaction; a placeholder lets the request be
                // read with the wire codec.
                obj.insert("transaction".into(), Value::String(String::new()));
                match Message::decode(&v.to_string()) {
                    Ok(Message::Request(r)) => {
                        self.client.request(now, r.line, r.call_id, r.kind)?;
                        Ok(())
                    }
                    Ok(_) => Err(StepError::Refused("request: not a WTSP request".into())),
                    Err(e) => Err(StepError::Refused(format!("request: {e}"))),
                }
            }
            "reconcile" => {
                #[derive(Deserialize)]
                struct Args {
                    #[serde(default)]
                    known: Vec<String>,
                }
                let a: Args = args("reconcile", raw)?;
                let known: Vec<KnownCall> = a
                    .known
                    .into_iter()
                    .map(|call_id| KnownCall { call_id })
                    .collect();
                let actions = self.client.reconcile(&known);
                #[derive(serde::Serialize)]
                struct Reconciled {
                    r#type: &'static str,
                    actions: Vec<wtsp::ReconcileAction>,
                }
                let reply = Reconciled {
                    r#type: "reconcile",
                    actions,
                };
                let raw = serde_json::value::to_raw_value(&reply)
                    .map_err(|e| StepError::Refused(format!("reconcile: {e}")))?;
                self.replies.push(raw);
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

    fn replies(&mut self, at: Timestamp, out: &mut Vec<String>) {
        for reply in self.replies.drain(..) {
            out.push(event_line(at, &reply));
        }
    }
}

/// Drives a [`Server`] whose connections are named by the transcript's strings.
pub(crate) struct ServerDriver {
    server: Server<String>,
}

impl ServerDriver {
    pub(crate) fn new(mut c: Config) -> Result<Self, String> {
        let mut config = ServerConfig::default();
        read_config!(c, config,
            value "lines" => lines,
            value "guest_line" => guest_line,
            millis "keepalive_interval" => keepalive_interval,
            millis "request_timeout" => request_timeout,
            value "call_log_len" => call_log_len,
            value "max_connections" => max_connections,
            value "max_accounts" => max_accounts,
            value "max_pending_requests" => max_pending_requests,
            value "max_frame_len" => max_frame_len,
            value "max_state_len" => max_state_len,
        );
        c.finish()?;
        Ok(ServerDriver {
            server: Server::new(config),
        })
    }

    fn call(
        &mut self,
        now: Timestamp,
        step_conn: Option<&str>,
        name: &str,
        raw: &RawValue,
    ) -> Result<(), StepError> {
        let mut v: serde_json::Map<String, Value> = args(name, raw)?;
        let conn = match v.remove("conn") {
            Some(Value::String(c)) => Some(c),
            Some(_) => return Err(StepError::Refused(format!("{name}: conn must be a string"))),
            None => step_conn.map(str::to_owned),
        };
        let need_conn = || {
            conn.clone()
                .ok_or_else(|| StepError::Refused(format!("{name}: needs conn")))
        };
        let v = Value::Object(v);
        match name {
            "attach" => {
                #[derive(Deserialize)]
                struct Args {
                    account: String,
                    #[serde(default)]
                    timestamp: u64,
                    registration: Option<Registration>,
                }
                let a: Args = from_value(name, v)?;
                let conn = need_conn()?;
                self.server.attach(
                    now,
                    &conn,
                    Attach {
                        account: a.account,
                        timestamp: a.timestamp,
                        registration: a.registration,
                    },
                )?;
                Ok(())
            }
            "reject" => {
                #[derive(Deserialize)]
                struct Args {
                    code: u16,
                    #[serde(default)]
                    reason: String,
                }
                let a: Args = from_value(name, v)?;
                let conn = need_conn()?;
                Ok(self.server.reject(now, &conn, a.code.into(), &a.reason)?)
            }
            "respond" => {
                #[derive(Deserialize)]
                struct ErrorArgs {
                    code: i64,
                    #[serde(default)]
                    reason: String,
                }
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Args {
                    transaction: String,
                    ack: Option<Value>,
                    error: Option<ErrorArgs>,
                }
                let a: Args = from_value(name, v)?;
                let kind = match (a.ack, a.error) {
                    (Some(_), None) => ResponseKind::Ack,
                    (None, Some(e)) => ResponseKind::Error {
                        code: e.code,
                        reason: e.reason,
                    },
                    _ => {
                        return Err(StepError::Refused(
                            "respond: needs exactly one of ack, error".into(),
                        ))
                    }
                };
                // Without a conn, the one connection waiting on that transaction.
                let conn = match conn.clone() {
                    Some(c) => c,
                    None => match self.server.connections_awaiting(&a.transaction).as_slice() {
                        [only] => (*only).clone(),
                        [] => {
                            return Err(StepError::Refused(format!(
                                "respond: no connection awaits {}",
                                a.transaction
                            )))
                        }
                        _ => {
                            return Err(StepError::Refused(format!(
                                "respond: several connections await {}; name conn",
                                a.transaction
                            )))
                        }
                    },
                };
                Ok(self.server.respond(now, &conn, &a.transaction, kind)?)
            }
            "event" => {
                let Value::Object(mut obj) = v else {
                    return Err(StepError::Refused("event: must be an object".into()));
                };
                let account = match obj.remove("account") {
                    Some(Value::String(a)) => a,
                    _ => return Err(StepError::Refused("event: needs account".into())),
                };
                match Message::decode(&Value::Object(obj).to_string()) {
                    Ok(Message::Event(e)) => {
                        self.server.send_event(now, &account, e)?;
                        Ok(())
                    }
                    Ok(_) => Err(StepError::Refused("event: not a WTSP event".into())),
                    Err(e) => Err(StepError::Refused(format!("event: {e}"))),
                }
            }
            "forget" => {
                #[derive(Deserialize)]
                struct Args {
                    account: String,
                }
                let a: Args = from_value(name, v)?;
                Ok(self.server.forget_account(&a.account)?)
            }
            other => Err(unknown_call(other)),
        }
    }
}

fn from_value<T: serde::de::DeserializeOwned>(verb: &str, v: Value) -> Result<T, StepError> {
    serde_json::from_value(v).map_err(|e| StepError::Refused(format!("{verb}: {e}")))
}

impl Drive for ServerDriver {
    type M = Server<String>;

    fn machine(&mut self) -> &mut Server<String> {
        &mut self.server
    }

    fn app(
        &mut self,
        now: Timestamp,
        conn: Option<&str>,
        name: &str,
        raw: &RawValue,
    ) -> Result<(), StepError> {
        self.call(now, conn, name, raw)
    }
}
