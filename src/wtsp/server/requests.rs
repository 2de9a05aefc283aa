//! How the server answers requests: validation, line checks, and the one response each
//! transaction gets.

use crate::CloseCode;
use std::collections::VecDeque;
use std::fmt::Debug;

use super::account::*;
use super::{code, ConnState, Server, ServerEvent, ServerTimer};
use crate::wtsp::{
    DecodeError, Line, Message, Request, RequestGroup, RequestKind, Response, ResponseKind,
};
use crate::Timestamp;

impl<C: Ord + Clone + Debug> Server<C> {
    pub(super) fn on_bad_frame(&mut self, conn: &C, attached: bool, e: DecodeError) {
        let Some(transaction) = e.transaction().filter(|_| attached).map(str::to_owned) else {
            let reason = if attached {
                e.to_string()
            } else {
                "message before state".into()
            };
            self.close_for(conn, CloseCode::SignalingMessageError, reason);
            return;
        };
        let (request, code, reason) = match &e {
            DecodeError::MissingField { message, field, .. } => (
                Some(message.clone()),
                code::MISSING_MANDATORY_ELEMENT,
                format!("missing mandatory element {field}"),
            ),
            DecodeError::InvalidField { message, .. } => {
                (message.clone(), code::INVALID_ELEMENT_TYPE, e.to_string())
            }
            _ => (None, code::INVALID_ELEMENT_TYPE, e.to_string()),
        };
        self.answer_now(conn, transaction, None, None, request, code, reason);
    }

    /// Answers a request with an error right away, without the application.
    #[allow(clippy::too_many_arguments)]
    fn answer_now(
        &mut self,
        conn: &C,
        transaction: String,
        line: Option<Line>,
        call_id: Option<String>,
        request: Option<String>,
        code: i64,
        reason: String,
    ) {
        let resp = Response {
            transaction: transaction.clone(),
            line,
            call_id,
            kind: ResponseKind::Error {
                code,
                reason: reason.clone(),
            },
        };
        self.transmit(conn, Message::Response(resp).encode());
        self.event(ServerEvent::RequestRefused {
            conn: conn.clone(),
            transaction,
            request,
            code,
            reason,
        });
    }

    fn refuse(&mut self, conn: &C, r: &Request, code: i64, reason: String) {
        let name = Some(r.kind.name().to_owned());
        self.answer_now(
            conn,
            r.transaction.clone(),
            r.line,
            r.call_id.clone(),
            name,
            code,
            reason,
        );
    }

    pub(super) fn on_request(&mut self, now: Timestamp, conn: &C, r: Request) {
        let Some(c) = self.conns.get(conn) else {
            return;
        };
        let ConnState::Attached { account } = &c.state else {
            return;
        };
        let account = account.clone();
        if c.pending.contains_key(&r.transaction) {
            // Its first copy will get the one response this transaction has.
            self.event(ServerEvent::PeerError {
                conn: conn.clone(),
                error: format!("duplicate transaction {}", r.transaction),
            });
            return;
        }
        if c.pending.len() >= self.config.max_pending_requests {
            return self.refuse(
                conn,
                &r,
                code::UNKNOWN_ERROR,
                "too many pending requests".into(),
            );
        }
        if let RequestKind::Unknown { name } = &r.kind {
            let reason = format!("unknown request {name}");
            return self.refuse(conn, &r, code::UNKNOWN_REQUEST, reason);
        }
        let lines = self.config.lines;
        let guest_line = self.config.guest_line;
        let log_len = self.config.call_log_len;
        if let Err((code, reason)) = self.check_line(&account, &r, lines, guest_line) {
            return self.refuse(conn, &r, code, reason);
        }
        let mut dropped = 0;
        if let (Some(line), Some(call_id)) = (r.line, r.call_id.as_deref()) {
            if let Some(acc) = self.accounts.get_mut(&account) {
                if let Some(s) = slot(acc, line) {
                    if matches!(r.kind, RequestKind::OutgoingCall { .. }) {
                        *s = Some(LineCall {
                            call_id: call_id.to_owned(),
                            log: VecDeque::new(),
                        });
                    }
                    if let Some(call) = s.as_mut().filter(|c| c.call_id == call_id) {
                        push_log(call, now, log_entry(&r), log_len);
                    }
                }
                dropped = trim_logs(&self.config, acc);
            }
        }
        if let Some(c) = self.conns.get_mut(conn) {
            c.pending.insert(
                r.transaction.clone(),
                PendingRequest {
                    request: r.kind.name().to_owned(),
                    line: r.line,
                    call_id: r.call_id.clone(),
                },
            );
        }
        self.timers.set(
            ServerTimer::Request(conn.clone(), r.transaction.clone()),
            now.after(self.config.request_timeout),
        );
        self.logs_trimmed(&account, dropped);
        self.event(ServerEvent::Request {
            conn: conn.clone(),
            account,
            request: r,
        });
    }

    fn check_line(
        &mut self,
        account: &str,
        r: &Request,
        lines: usize,
        guest_line: bool,
    ) -> Result<(), (i64, String)> {
        let group = r.kind.group();
        if group == RequestGroup::Session {
            return Ok(());
        }
        let Some(acc) = self.accounts.get_mut(account) else {
            return Ok(());
        };
        let line = r.line.unwrap_or(Line::Guest);
        let bad_line = match line {
            Line::Index(i) => i as usize >= lines,
            Line::Guest => !guest_line,
        };
        if bad_line {
            return Err((
                code::INVALID_ELEMENT_TYPE,
                format!("no line {}", line_name(line)),
            ));
        }
        if group == RequestGroup::Line {
            return Ok(());
        }
        let call_id = r.call_id.as_deref().unwrap_or_default();
        let on_line = slot(acc, line).and_then(|s| s.as_ref());
        match (&r.kind, on_line) {
            (RequestKind::OutgoingCall { .. }, Some(_)) => {
                Err((code::BUSY_LINE, "busy line".into()))
            }
            (RequestKind::OutgoingCall { .. }, None) => Ok(()),
            (_, Some(c)) if c.call_id == call_id => Ok(()),
            _ => Err((
                code::CALL_NOT_FOUND,
                format!("call {call_id} not found on line {}", line_name(line)),
            )),
        }
    }

    /// Sends the one response of a pending transaction; false if it is not pending.
    pub(super) fn answer(&mut self, conn: &C, transaction: &str, kind: ResponseKind) -> bool {
        let Some(c) = self.conns.get_mut(conn) else {
            return false;
        };
        let Some(p) = c.pending.remove(transaction) else {
            return false;
        };
        let account = match &c.state {
            ConnState::Attached { account } => Some(account.clone()),
            ConnState::AwaitingAuth { .. } => None,
        };
        self.timers
            .cancel(&ServerTimer::Request(conn.clone(), transaction.to_owned()));
        // A refused outgoing_call leaves its line free again.
        if let (
            ResponseKind::Error { .. },
            "outgoing_call",
            Some(line),
            Some(call_id),
            Some(account),
        ) = (
            &kind,
            p.request.as_str(),
            p.line,
            p.call_id.as_deref(),
            account,
        ) {
            if let Some(s) = self.accounts.get_mut(&account).and_then(|a| slot(a, line)) {
                if s.as_ref().is_some_and(|c| c.call_id == call_id) {
                    *s = None;
                }
            }
        }
        let r = Response {
            transaction: transaction.to_owned(),
            line: p.line,
            call_id: p.call_id,
            kind,
        };
        self.transmit(conn, Message::Response(r).encode());
        true
    }
}
