//! The application's mistakes. Peer faults are never errors: they are handled as the
//! protocol says and reported as events.

/// The application asked a machine for something the protocol or the machine's state does
/// not allow. Nothing was sent and the machine is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The command needs a state the machine is not in.
    #[error("{action} is not allowed while {state}")]
    WrongState {
        /// What was asked.
        action: &'static str,
        /// The state the machine was in.
        state: &'static str,
    },
    /// A configured limit would be exceeded.
    #[error("{what} limit of {limit} reached while {state}")]
    LimitReached {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
        /// The state the machine was in.
        state: &'static str,
    },
    /// WTSP: the line already carries a call.
    #[error("line {line} is busy with call {call_id}")]
    LineBusy {
        /// The line (`guest` for the guest line).
        line: String,
        /// The call on it.
        call_id: String,
    },
    /// WTSP: the line does not exist.
    #[error("line {line} does not exist (the session has {lines} lines)")]
    NoSuchLine {
        /// The line asked for.
        line: String,
        /// How many lines the session has.
        lines: usize,
    },
    /// WTSP: the call is not on that line.
    #[error("call {call_id} is not on line {line}")]
    CallNotOnLine {
        /// The call asked for.
        call_id: String,
        /// The line asked for.
        line: String,
    },
    /// A field the message needs is missing or invalid.
    #[error("{message} needs {field}")]
    InvalidMessage {
        /// The message.
        message: String,
        /// What is missing or wrong.
        field: String,
    },
    /// The connection id is not one the machine holds.
    #[error("unknown connection {conn}")]
    UnknownConnection {
        /// The connection, as `Debug` text.
        conn: String,
    },
    /// The connection id is already in use.
    #[error("connection {conn} is already open")]
    ConnectionExists {
        /// The connection, as `Debug` text.
        conn: String,
    },
    /// No open transaction has that id (never seen, answered, or timed out).
    #[error("no open transaction {transaction} on connection {conn}")]
    UnknownTransaction {
        /// The transaction.
        transaction: String,
        /// The connection, as `Debug` text.
        conn: String,
    },
    /// A call with that id already exists.
    #[error("call {call_id} already exists")]
    CallExists {
        /// The call.
        call_id: String,
    },
    /// No call with that id is known.
    #[error("unknown call {call_id}")]
    UnknownCall {
        /// The call.
        call_id: String,
    },
    /// No running command has that id.
    #[error("no running command {cmd_id}")]
    UnknownCommand {
        /// The command.
        cmd_id: String,
    },
    /// No account of that name is known.
    #[error("unknown account {account}")]
    UnknownAccount {
        /// The account.
        account: String,
    },
    /// WTSP: an account of that name is already held (putting a partition).
    #[error("account {account} already exists")]
    AccountExists {
        /// The account.
        account: String,
    },
}
