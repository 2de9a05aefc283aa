//! WebSocket close codes: the standard ones (RFC 6455) and those WTSP adds (4xxx).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! close_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, )*) => {
        /// A WebSocket close code, named as WTSP and RFC 6455 name it. Any other number is
        /// kept as [`CloseCode::Other`]. Written as its number.
        ///
        /// ```
        /// use callsig::CloseCode;
        /// assert_eq!(CloseCode::from(4441), CloseCode::ForceAttachClose);
        /// assert_eq!(u16::from(CloseCode::KeepaliveTimeout), 4502);
        /// assert_eq!(CloseCode::from(4999), CloseCode::Other(4999));
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum CloseCode {
            $( $(#[$doc])* $name, )*
            /// A code without a name here.
            Other(u16),
        }

        impl From<u16> for CloseCode {
            fn from(code: u16) -> Self {
                match code {
                    $( $code => CloseCode::$name, )*
                    other => CloseCode::Other(other),
                }
            }
        }

        impl From<CloseCode> for u16 {
            fn from(code: CloseCode) -> u16 {
                match code {
                    $( CloseCode::$name => $code, )*
                    CloseCode::Other(other) => other,
                }
            }
        }
    };
}

close_codes! {
    /// 1000: normal closure.
    Normal = 1000,
    /// 1001: going away.
    GoingAway = 1001,
    /// 1002: protocol error (here: the `webtrit-protocol` sub-protocol is missing).
    ProtocolError = 1002,
    /// 1003: unsupported data.
    Unsupported = 1003,
    /// 1005: no status received.
    NoStatus = 1005,
    /// 1006: closed abnormally.
    Abnormal = 1006,
    /// 1007: invalid payload.
    InvalidPayload = 1007,
    /// 1008: policy violation (here: not a signaling URL).
    PolicyViolation = 1008,
    /// 1009: message too big.
    MessageTooBig = 1009,
    /// 1010: mandatory extension.
    MandatoryExtension = 1010,
    /// 1011: internal error.
    InternalError = 1011,
    /// 1012: service restart.
    ServiceRestart = 1012,
    /// 1013: try again later (here: the server is full).
    TryAgainLater = 1013,
    /// 1014: bad gateway.
    BadGateway = 1014,
    /// 1015: TLS handshake failure.
    TlsHandshake = 1015,
    /// 4101: socket message error.
    SocketMessageError = 4101,
    /// 4201: session missed — log out; do not reconnect.
    SessionMissed = 4201,
    /// 4300: app unknown.
    AppUnknown = 4300,
    /// 4301: app missed.
    AppMissed = 4301,
    /// 4302: app unregistered.
    AppUnregistered = 4302,
    /// 4400: controller unknown (transient).
    ControllerUnknown = 4400,
    /// 4401: controller missed.
    ControllerMissed = 4401,
    /// 4402: controller exit.
    ControllerExit = 4402,
    /// 4410: subscriber data adapter.
    SubscriberDataAdapter = 4410,
    /// 4411: subscriber missed.
    SubscriberMissed = 4411,
    /// 4412: subscriber credentials missed.
    SubscriberCredentialsMissed = 4412,
    /// 4420: controller WebRTC.
    ControllerWebrtc = 4420,
    /// 4431: controller attached — `force=false` while another connection is attached.
    ControllerAttached = 4431,
    /// 4432: controller not attached.
    ControllerNotAttached = 4432,
    /// 4441: force attach close — evicted by a newer `force=true` connection.
    ForceAttachClose = 4441,
    /// 4501: signaling message error.
    SignalingMessageError = 4501,
    /// 4502: keepalive timeout.
    KeepaliveTimeout = 4502,
    /// 4600: request unknown.
    RequestUnknown = 4600,
    /// 4601: request execute.
    RequestExecute = 4601,
    /// 4602: request execute timeout.
    RequestExecuteTimeout = 4602,
    /// 4610: request call id error.
    RequestCallIdError = 4610,
}

impl Serialize for CloseCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(u16::from(*self))
    }
}

impl<'de> Deserialize<'de> for CloseCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u16::deserialize(d).map(CloseCode::from)
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for n in 0..=u16::MAX {
            assert_eq!(u16::from(CloseCode::from(n)), n);
        }
        assert_eq!(
            serde_json::to_string(&CloseCode::SessionMissed).unwrap(),
            "4201"
        );
        assert_eq!(
            serde_json::from_str::<CloseCode>("4610").unwrap(),
            CloseCode::RequestCallIdError
        );
    }
}
