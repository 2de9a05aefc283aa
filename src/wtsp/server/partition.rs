//! An account taken out of one server and put into another: the unit a cluster of servers
//! stores and moves between nodes.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use super::{Account, Conn, ConnState, Server, ServerTimer};
use crate::{Timestamp, UsageError};

/// One account with everything of the server that belongs to it: its registration, lines
/// and call logs, and, while a connection is attached, that connection with the requests
/// it has pending and its timers. Taken out of a server with [`Server::take_account`],
/// serialised to any store, and put into the same or another server with
/// [`Server::put_account`], it goes on as if it had never moved.
///
/// Connections not yet attached belong to no account and stay with the server that holds
/// their socket. A partition is untrusted like a checkpoint: deserialising refuses an
/// attached connection attached to another account or with a timer for a request it does
/// not have, and [`Server::put_account`] refuses one that does not fit the server (its
/// limits and line configuration, its connections, its accounts).
///
/// In a cluster, the partition a frame belongs to is known before stepping: the account
/// an attached connection serves ([`Server::connection`]), or for a new connection
/// the account the application attaches it to. Timestamps must then come from one clock
/// all nodes share (wall-clock milliseconds), since an account's deadlines move with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "C: Serialize",
        deserialize = "C: Deserialize<'de> + Ord + Clone"
    ),
    try_from = "Unchecked<C>"
)]
pub struct AccountPartition<C: Ord + Clone> {
    account: String,
    state: Account<C>,
    attached: Option<Attached<C>>,
}

/// The attached connection of an account, with its timers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Attached<C> {
    conn: C,
    state: Conn,
    idle: Option<Timestamp>,
    /// The `request` timer of each pending request that has one.
    requests: BTreeMap<String, Timestamp>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de> + Ord + Clone"))]
struct Unchecked<C> {
    account: String,
    state: Account<C>,
    attached: Option<Attached<C>>,
}

impl<C: Ord + Clone> TryFrom<Unchecked<C>> for AccountPartition<C> {
    type Error = String;

    fn try_from(p: Unchecked<C>) -> Result<Self, String> {
        let name = &p.account;
        match &p.attached {
            None if p.state.conn.is_some() => {
                return Err(format!(
                    "account {name:?} names a connection it does not hold"
                ));
            }
            None => {}
            Some(a) => {
                let serves =
                    matches!(&a.state.state, ConnState::Attached { account } if account == name);
                if !serves || p.state.conn.as_ref() != Some(&a.conn) {
                    return Err(format!(
                        "account {name:?} holds a connection not attached to it"
                    ));
                }
                if a.requests
                    .keys()
                    .any(|tx| !a.state.pending.contains_key(tx))
                {
                    return Err(format!("account {name:?}: a request timer for nothing"));
                }
            }
        }
        Ok(AccountPartition {
            account: p.account,
            state: p.state,
            attached: p.attached,
        })
    }
}

impl<C: Ord + Clone> AccountPartition<C> {
    /// The account's name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The connection attached to the account, if any.
    pub fn connection(&self) -> Option<&C> {
        self.attached.as_ref().map(|a| &a.conn)
    }

    /// The earliest deadline among the account's timers: when a cluster must bring the
    /// account back into a server (and call `handle_timeout`) even if no frame comes.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let a = self.attached.as_ref()?;
        a.idle.into_iter().chain(a.requests.values().copied()).min()
    }
}

impl<C: Ord + Clone + Debug> Server<C> {
    /// Takes an account out of the server with its attached connection and timers (see
    /// [`AccountPartition`]); the server no longer knows it or that connection.
    ///
    /// Refused while outputs are queued (drain first: they may be for its connection)
    /// and for an account the server does not hold.
    pub fn take_account(&mut self, account: &str) -> Result<AccountPartition<C>, UsageError> {
        if !self.out.is_empty() {
            return Err(UsageError::WrongState {
                action: "take_account",
                state: "outputs not drained",
            });
        }
        let Some(state) = self.accounts.remove(account) else {
            return Err(UsageError::UnknownAccount {
                account: account.to_owned(),
            });
        };
        let attached = state.conn.clone().and_then(|conn| {
            let c = self.conns.remove(&conn)?;
            let idle = self.timers.cancel(&ServerTimer::Idle(conn.clone()));
            let requests = c
                .pending
                .keys()
                .filter_map(|tx| {
                    let at = self
                        .timers
                        .cancel(&ServerTimer::Request(conn.clone(), tx.clone()))?;
                    Some((tx.clone(), at))
                })
                .collect();
            Some(Attached {
                conn,
                state: c,
                idle,
                requests,
            })
        });
        Ok(AccountPartition {
            account: account.to_owned(),
            state,
            attached,
        })
    }

    /// Puts an account taken out of this or another server in, with its attached
    /// connection and timers.
    ///
    /// Refused, changing nothing, when the server already holds the account or its
    /// connection, or when the account does not fit its config (`max_accounts`,
    /// `max_connections`, `max_pending_requests`, `lines`, `guest_line`, `call_log_len`).
    pub fn put_account(&mut self, partition: AccountPartition<C>) -> Result<(), UsageError> {
        let AccountPartition {
            account,
            state,
            attached,
        } = partition;
        if self.accounts.contains_key(&account) {
            return Err(UsageError::AccountExists { account });
        }
        if let Some(a) = attached
            .as_ref()
            .filter(|a| self.conns.contains_key(&a.conn))
        {
            return Err(UsageError::ConnectionExists {
                conn: format!("{:?}", a.conn),
            });
        }
        let limits = &self.config;
        let conns = self.conns.len() + usize::from(attached.is_some());
        let pending = attached.as_ref().map_or(0, |a| a.state.pending.len());
        let logs = state
            .lines
            .iter()
            .chain(std::iter::once(&state.guest))
            .flatten()
            .map(|call| call.log.len())
            .max()
            .unwrap_or(0);
        let over = [
            ("accounts", self.accounts.len() + 1, limits.max_accounts),
            ("connections", conns, limits.max_connections),
            ("pending requests", pending, limits.max_pending_requests),
            ("call log entries", logs, limits.call_log_len),
        ]
        .into_iter()
        .find(|(_, n, max)| n > max);
        if let Some((what, _, limit)) = over {
            return Err(UsageError::LimitReached {
                what,
                limit,
                state: "serving",
            });
        }
        if state.lines.len() != limits.lines || (state.guest.is_some() && !limits.guest_line) {
            return Err(UsageError::InvalidMessage {
                message: "put_account".into(),
                field: format!("the configured lines (account {account:?} has others)"),
            });
        }
        if let Some(a) = attached {
            if let Some(at) = a.idle {
                self.timers.set(ServerTimer::Idle(a.conn.clone()), at);
            }
            for (tx, at) in a.requests {
                self.timers
                    .set(ServerTimer::Request(a.conn.clone(), tx), at);
            }
            self.conns.insert(a.conn, a.state);
        }
        self.accounts.insert(account, state);
        Ok(())
    }
}
