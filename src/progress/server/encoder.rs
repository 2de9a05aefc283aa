//! How the server writes its frames: each named `progress` frame only once.

use crate::progress::{Reason, ServerMessage, State};

/// A `progress` frame depends only on its state and reason, and a server sends the same
/// few to every call: each (named state, no or named reason) is written the first time it
/// is needed and copied from then on (a copy is a quarter of the cost of writing it). (An `Other` state or reason is written each time:
/// a peer's made-up reasons must not grow the cache.) It holds nothing of the machine's
/// state: every encoder equals every other, and a checkpoint leaves it out.
#[derive(Clone, Debug, Default)]
pub(super) struct Encoder {
    /// By `state × (1 + reason)`, reason 0 meaning none; empty until first used.
    progress: Vec<Option<String>>,
}

impl PartialEq for Encoder {
    fn eq(&self, _: &Encoder) -> bool {
        true
    }
}

const SLOTS_PER_STATE: usize = 1 + Reason::NAMED;

impl Encoder {
    /// Any message.
    pub fn encode(&mut self, message: &ServerMessage) -> String {
        message.encode()
    }

    /// `progress` with this state and reason.
    pub fn progress(&mut self, state: &State, reason: Option<&Reason>) -> String {
        let slot = match (state.named_index(), reason.map(Reason::named_index)) {
            (Some(s), None) => Some(s * SLOTS_PER_STATE),
            (Some(s), Some(Some(r))) => Some(s * SLOTS_PER_STATE + 1 + r),
            _ => None,
        };
        let message = || ServerMessage::Progress {
            state: state.clone(),
            reason: reason.cloned(),
        };
        let Some(slot) = slot else {
            return self.encode(&message());
        };
        if self.progress.is_empty() {
            self.progress.resize(State::NAMED * SLOTS_PER_STATE, None);
        }
        match self.progress.get_mut(slot) {
            Some(Some(text)) => text.clone(),
            Some(empty) => {
                let text = message().encode();
                *empty = Some(text.clone());
                text
            }
            None => self.encode(&message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_states() -> Vec<State> {
        [
            "init",
            "alerting",
            "connecting",
            "half-connected",
            "connected",
            "terminated",
            "odd",
        ]
        .map(State::parse)
        .to_vec()
    }

    fn all_reasons() -> Vec<Option<Reason>> {
        let named = [
            "reject",
            "busy",
            "timeout",
            "cancel",
            "media-fail",
            "user-unknown",
            "closed",
            "answered-elsewhere",
            "made-up",
        ];
        std::iter::once(None)
            .chain(named.map(|r| Some(Reason::parse(r))))
            .collect()
    }

    #[test]
    fn every_cached_frame_is_the_frame_written_fresh() {
        let mut e = Encoder::default();
        for round in 0..2 {
            for state in all_states() {
                for reason in all_reasons() {
                    let fresh = ServerMessage::Progress {
                        state: state.clone(),
                        reason: reason.clone(),
                    }
                    .encode();
                    let got = e.progress(&state, reason.as_ref());
                    assert_eq!(got, fresh, "round {round}: {state} {reason:?}");
                }
            }
        }
        // Named pairs only: 6 states × (no reason + 8 reasons).
        assert_eq!(e.progress.iter().flatten().count(), 6 * 9);
        assert_eq!((State::NAMED, Reason::NAMED), (6, 8));
    }

    #[test]
    fn made_up_states_and_reasons_are_never_cached() {
        let mut e = Encoder::default();
        e.progress(&State::HalfConnected, None);
        let odd = Reason::Other("x".into());
        e.progress(&State::Terminated, Some(&odd));
        e.progress(&State::Other("y".into()), None);
        assert_eq!(e.progress.iter().flatten().count(), 1);
    }
}
