//! The line model: which call is on each line and how far it has got, and the
//! reconciliation of a reconnect's `state` handshake with what the application knows.

use serde::{Deserialize, Serialize};

use super::event::{CallOffer, Event, EventKind};
use super::message::StateHandshake;
use super::request::{RequestGroup, RequestKind};
use super::values::{Line, LineInfo};
use super::wire::Wire;
use crate::UsageError;

/// Who placed the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// This client called out.
    Outgoing,
    /// The call came in.
    Incoming,
}

/// How far a call on a line has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallPhase {
    /// `outgoing_call` sent, nothing heard yet.
    Dialing,
    /// `calling` received.
    Calling,
    /// `proceeding` or `ringing` received.
    Ringing,
    /// `progress` received: early media.
    EarlyMedia,
    /// `incoming_call` received, not answered.
    Incoming,
    /// `accept` sent or `accepting` received.
    Accepting,
    /// `accepted`: the call is up.
    Accepted,
    /// `hangup` or `decline` sent, or `hangingup`/`declining` received.
    HangingUp,
}

/// The call on a line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineCall {
    /// The call.
    pub call_id: String,
    /// Who placed it, when known.
    pub direction: Option<Direction>,
    /// How far it has got.
    pub phase: CallPhase,
    /// The `incoming_call` offer, for an incoming call.
    pub offer: Option<CallOffer>,
}

/// Every line of a session and the guest line.
///
/// Transitions, by what is seen (requests sent by the client, events from the server):
///
/// | seen                                   | line becomes                                  |
/// |----------------------------------------|-----------------------------------------------|
/// | request `outgoing_call`                | call, outgoing, `Dialing`                     |
/// | event `incoming_call`                  | call, incoming, `Incoming` (offer kept)       |
/// | event `calling`                        | `Calling`                                     |
/// | event `proceeding` / `ringing`         | `Ringing`                                     |
/// | event `progress`                       | `EarlyMedia`                                  |
/// | request `accept`, event `accepting`    | `Accepting`                                   |
/// | event `accepted`                       | `Accepted`                                    |
/// | request `hangup`/`decline`, event `hangingup`/`declining` | `HangingUp`                |
/// | event `hangup`; `error` response to `outgoing_call` | idle                             |
/// | any other call event                   | the call stays as it is (created if unknown)  |
///
/// The server is the authority: an event for a call the model does not have puts that call
/// on the line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lines {
    lines: Vec<Option<LineCall>>,
    guest: Option<LineCall>,
}

fn line_name(line: Line) -> String {
    match line {
        Line::Index(i) => i.to_string(),
        Line::Guest => "guest".into(),
    }
}

impl Lines {
    /// `count` idle lines.
    pub fn new(count: usize) -> Self {
        Lines {
            lines: vec![None; count],
            guest: None,
        }
    }

    /// The lines as a `state` handshake describes them, each call's phase replayed from its
    /// `call_logs` (oldest first) by the table above. A log counts when
    /// [`CallLog::decode`](super::CallLog::decode) reads it: one that does not (say, with
    /// `"code": "486"`) is skipped, as the application would find it unreadable too.
    pub fn from_handshake(state: &StateHandshake) -> Self {
        let mut lines = Lines::new(state.lines.len());
        for (i, info) in state.lines.iter().enumerate() {
            if let Some(info) = info {
                lines.lines[i] = call_from_info(info);
            }
        }
        lines.guest = state.guest_line.as_ref().and_then(call_from_info);
        lines
    }

    /// How many numbered lines the session has.
    pub fn count(&self) -> usize {
        self.lines.len()
    }

    /// The call on `line`, if any (`None` also for a line that does not exist).
    pub fn get(&self, line: Line) -> Option<&LineCall> {
        match line {
            Line::Index(i) => self.lines.get(i as usize).and_then(Option::as_ref),
            Line::Guest => self.guest.as_ref(),
        }
    }

    /// Whether `line` exists and carries no call.
    pub fn is_free(&self, line: Line) -> bool {
        match line {
            Line::Index(i) => matches!(self.lines.get(i as usize), Some(None)),
            Line::Guest => self.guest.is_none(),
        }
    }

    /// The first numbered line with no call.
    pub fn first_free(&self) -> Option<Line> {
        self.lines
            .iter()
            .position(Option::is_none)
            .map(|i| Line::Index(i as u32))
    }

    /// The line carrying `call_id`.
    pub fn find(&self, call_id: &str) -> Option<Line> {
        self.iter()
            .find(|(_, c)| c.call_id == call_id)
            .map(|(l, _)| l)
    }

    /// Every line that carries a call, numbered lines first, then the guest line.
    pub fn iter(&self) -> impl Iterator<Item = (Line, &LineCall)> {
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (Line::Index(i as u32), c)))
            .chain(self.guest.as_ref().map(|c| (Line::Guest, c)))
    }

    fn slot(&mut self, line: Line) -> Option<&mut Option<LineCall>> {
        match line {
            Line::Index(i) => self.lines.get_mut(i as usize),
            Line::Guest => Some(&mut self.guest),
        }
    }

    /// Checks that a request may be sent: `outgoing_call` needs a free line, other call
    /// requests need their call on that line.
    pub fn check_request(
        &self,
        line: Option<Line>,
        call_id: Option<&str>,
        kind: &RequestKind,
    ) -> Result<(), UsageError> {
        let group = kind.group();
        if group == RequestGroup::Session {
            return Ok(());
        }
        let Some(line) = line else {
            return Err(UsageError::InvalidMessage {
                message: kind.name().into(),
                field: "line".into(),
            });
        };
        if let Line::Index(i) = line {
            if i as usize >= self.lines.len() {
                return Err(UsageError::NoSuchLine {
                    line: line_name(line),
                    lines: self.lines.len(),
                });
            }
        }
        if group == RequestGroup::Line {
            return Ok(());
        }
        let Some(call_id) = call_id else {
            return Err(UsageError::InvalidMessage {
                message: kind.name().into(),
                field: "call_id".into(),
            });
        };
        match (kind, self.get(line)) {
            (RequestKind::OutgoingCall { .. }, Some(busy)) => Err(UsageError::LineBusy {
                line: line_name(line),
                call_id: busy.call_id.clone(),
            }),
            (RequestKind::OutgoingCall { .. }, None) => Ok(()),
            (_, Some(c)) if c.call_id == call_id => Ok(()),
            _ => Err(UsageError::CallNotOnLine {
                call_id: call_id.into(),
                line: line_name(line),
            }),
        }
    }

    /// Applies a request the client sends.
    pub fn on_request(&mut self, line: Option<Line>, call_id: Option<&str>, kind: &RequestKind) {
        let (Some(line), Some(call_id)) = (line, call_id) else {
            return;
        };
        let Some(slot) = self.slot(line) else { return };
        apply_request(slot, call_id, request_step(kind));
    }

    /// An `outgoing_call` was refused: the line is free again.
    pub fn on_request_failed(&mut self, line: Option<Line>, call_id: Option<&str>) {
        let (Some(line), Some(call_id)) = (line, call_id) else {
            return;
        };
        if let Some(slot) = self.slot(line) {
            if slot
                .as_ref()
                .is_some_and(|c| c.call_id == call_id && c.phase == CallPhase::Dialing)
            {
                *slot = None;
            }
        }
    }

    /// Applies an event from the server.
    pub fn on_event(&mut self, event: &Event) {
        let (Some(line), Some(call_id)) = (event.line, event.call_id.as_deref()) else {
            return;
        };
        let Some(slot) = self.slot(line) else { return };
        apply_event(slot, call_id, event_step(&event.kind), || offer_of(event));
    }
}

/// An `incoming_call`'s offer.
fn offer_of(event: &Event) -> CallOffer {
    match &event.kind {
        EventKind::IncomingCall(offer) => offer.clone(),
        _ => CallOffer::default(),
    }
}

/// What a request does to the call on its line (the table on [`Lines`]), by its name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum RequestStep {
    /// `outgoing_call`: the line takes the new call.
    Dial,
    /// The call moves on.
    Phase(CallPhase),
    /// Nothing.
    Keep,
}

/// A request's step, by its kind.
fn request_step(kind: &RequestKind) -> RequestStep {
    let referred = matches!(kind, RequestKind::Decline { refer_id: Some(_) });
    request_step_of(kind.name(), referred)
}

/// A request's step, by its name and whether it refers the call elsewhere: a `decline`
/// that does (`refer_id`) does not end it here.
fn request_step_of(name: &str, referred: bool) -> RequestStep {
    match name {
        "outgoing_call" => RequestStep::Dial,
        "accept" => RequestStep::Phase(CallPhase::Accepting),
        "hangup" => RequestStep::Phase(CallPhase::HangingUp),
        "decline" if !referred => RequestStep::Phase(CallPhase::HangingUp),
        _ => RequestStep::Keep,
    }
}

fn apply_request(slot: &mut Option<LineCall>, call_id: &str, step: RequestStep) {
    match step {
        RequestStep::Dial => {
            *slot = Some(LineCall {
                call_id: call_id.into(),
                direction: Some(Direction::Outgoing),
                phase: CallPhase::Dialing,
                offer: None,
            })
        }
        RequestStep::Phase(phase) => {
            if let Some(c) = slot.as_mut().filter(|c| c.call_id == call_id) {
                c.phase = phase;
            }
        }
        RequestStep::Keep => {}
    }
}

/// What an event does to the call on its line (the table on [`Lines`]), by its name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum EventStep {
    /// `incoming_call`: the line takes the offered call.
    Offer,
    /// `hangup`: the call is gone.
    End,
    /// A call event: the call moves to this phase, or stays where it is; either way a call
    /// the model does not have is put on the line (the server is the authority).
    Call(Option<CallPhase>),
    /// A line or session event, or one we do not know.
    Keep,
}

/// An event's step, by its kind.
fn event_step(kind: &EventKind) -> EventStep {
    let referred = matches!(
        kind,
        EventKind::Declining {
            refer_id: Some(_),
            ..
        }
    );
    event_step_of(kind.name(), referred)
}

/// An event's step, by its name and whether it refers the call elsewhere: a `declining`
/// that does (`refer_id`) does not end it here.
fn event_step_of(name: &str, referred: bool) -> EventStep {
    use CallPhase::*;
    match name {
        "incoming_call" => EventStep::Offer,
        "hangup" => EventStep::End,
        "calling" => EventStep::Call(Some(Calling)),
        "proceeding" | "ringing" => EventStep::Call(Some(Ringing)),
        "progress" => EventStep::Call(Some(EarlyMedia)),
        "accepting" => EventStep::Call(Some(Accepting)),
        "accepted" => EventStep::Call(Some(Accepted)),
        "hangingup" => EventStep::Call(Some(HangingUp)),
        "declining" if !referred => EventStep::Call(Some(HangingUp)),
        "declining" | "holding" | "resuming" | "transferring" | "updating" | "updated"
        | "updating_call" | "notify" | "transfer" => EventStep::Call(None),
        _ => EventStep::Keep,
    }
}

fn apply_event(
    slot: &mut Option<LineCall>,
    call_id: &str,
    step: EventStep,
    offer: impl FnOnce() -> CallOffer,
) {
    match step {
        EventStep::Offer => {
            *slot = Some(LineCall {
                call_id: call_id.into(),
                direction: Some(Direction::Incoming),
                phase: CallPhase::Incoming,
                offer: Some(offer()),
            })
        }
        EventStep::End => {
            if slot.as_ref().is_some_and(|c| c.call_id == call_id) {
                *slot = None;
            }
        }
        EventStep::Call(phase) => match slot {
            Some(c) if c.call_id == call_id => {
                if let Some(p) = phase {
                    c.phase = p;
                }
            }
            _ => {
                *slot = Some(LineCall {
                    call_id: call_id.into(),
                    direction: None,
                    phase: phase.unwrap_or(CallPhase::Accepted),
                    offer: None,
                })
            }
        },
        EventStep::Keep => {}
    }
}

pub(super) fn call_from_info(info: &LineInfo) -> Option<LineCall> {
    let call_id = info.call_id.as_deref()?;
    let mut slot = None;
    // Logs are newest first; replay them oldest first.
    for log in info.call_logs.iter().rev() {
        match log_step(log, call_id) {
            Some(LogStep::Request(step)) => apply_request(&mut slot, call_id, step),
            Some(LogStep::Event(step, offer)) => {
                apply_event(&mut slot, call_id, step, || offer.unwrap_or_default())
            }
            None => {}
        }
    }
    // A call with no telling log is still on the server: treat it as up.
    Some(slot.unwrap_or_else(|| LineCall {
        call_id: call_id.into(),
        direction: None,
        phase: CallPhase::Accepted,
        offer: None,
    }))
}

/// What a logged message does to its call.
enum LogStep {
    Request(RequestStep),
    /// With the offer of an `incoming_call`.
    Event(EventStep, Option<CallOffer>),
}

/// A log's step: what [`CallLog::decode`](super::CallLog::decode) reads it as, put through
/// the table, without building the typed message (its SDPs, its strings): the log's wire
/// shape read by the same reader, a request checked by the same rules. A log that does not
/// read, and a response or a handshake, does nothing.
fn log_step(log: &super::CallLog, call_id: &str) -> Option<LogStep> {
    // The line number only completes a call request for reading; any line will do.
    let read = log.read_wire(Line::Index(0), call_id, |wire| match wire {
        Wire::Request(f) => {
            let name = f.request.take().unwrap_or_default();
            super::codec::request_check(&name, f).ok()?;
            Some(LogStep::Request(request_step_of(
                &name,
                f.refer_id.is_some(),
            )))
        }
        Wire::Event(f) => {
            let name = f.event.take().unwrap_or_default();
            let step = event_step_of(&name, f.refer_id.is_some());
            let offer = (step == EventStep::Offer).then(|| super::codec::offer_from(f));
            Some(LogStep::Event(step, offer))
        }
        Wire::Handshake(_) | Wire::Response(_) => None,
    });
    read.ok().flatten().flatten()
}

/// A call the application knows about, for [`reconcile`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownCall {
    /// The call.
    pub call_id: String,
}

/// What to do with one call after a reconnect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReconcileAction {
    /// The server still has a call the application knows: carry on with it (an accepted
    /// call's media may need an `update` to restore).
    Restore {
        /// Its line.
        line: Line,
        /// The call.
        call_id: String,
        /// Its phase on the server.
        phase: CallPhase,
    },
    /// The server has an unanswered incoming call the application does not know: offer it.
    Offer {
        /// Its line.
        line: Line,
        /// The call.
        call_id: String,
        /// The `incoming_call` fields, when the log had them.
        offer: Option<CallOffer>,
    },
    /// The server has a call the application does not know and cannot take up: hang it up.
    HangUp {
        /// Its line.
        line: Line,
        /// The call.
        call_id: String,
    },
    /// The application knows a call the server no longer has: end it locally.
    EndLocally {
        /// The call.
        call_id: String,
    },
}

/// Reconciles a reconnect's `state` handshake with the calls the application knows.
///
/// Actions come in line order (numbered lines, then the guest line), then the calls to end
/// locally in the order given.
///
/// ```
/// use callsig::wtsp::{reconcile, KnownCall, Message, Handshake, ReconcileAction};
///
/// let state = r#"{"handshake":"state","timestamp":0,"registration":{"status":"registered"},
///   "lines":[{"call_id":"in1","call_logs":[[5,{"event":"incoming_call","caller":"1"}]]},null]}"#;
/// let Message::Handshake(Handshake::State(state)) = Message::decode(state).unwrap() else { panic!() };
/// let actions = reconcile(&state, &[KnownCall { call_id: "gone".into() }]);
/// assert!(matches!(&actions[0], ReconcileAction::Offer { call_id, .. } if call_id == "in1"));
/// assert_eq!(actions[1], ReconcileAction::EndLocally { call_id: "gone".into() });
/// ```
pub fn reconcile(state: &StateHandshake, known: &[KnownCall]) -> Vec<ReconcileAction> {
    reconcile_lines(&Lines::from_handshake(state), known)
}

/// [`reconcile`] against a line model already built.
pub fn reconcile_lines(lines: &Lines, known: &[KnownCall]) -> Vec<ReconcileAction> {
    let mut actions = Vec::new();
    for (line, call) in lines.iter() {
        let call_id = call.call_id.clone();
        let action = if known.iter().any(|k| k.call_id == call.call_id) {
            ReconcileAction::Restore {
                line,
                call_id,
                phase: call.phase,
            }
        } else if call.phase == CallPhase::Incoming {
            ReconcileAction::Offer {
                line,
                call_id,
                offer: call.offer.clone(),
            }
        } else {
            ReconcileAction::HangUp { line, call_id }
        };
        actions.push(action);
    }
    for k in known {
        if lines.find(&k.call_id).is_none() {
            actions.push(ReconcileAction::EndLocally {
                call_id: k.call_id.clone(),
            });
        }
    }
    actions
}
