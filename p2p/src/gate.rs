//! The inbound gate: IP addresses whose connections are refused before their handshake, for a
//! while. An address that brought more new identities in a minute than the peer book admits
//! ([`super::peers::NEW_IDENTITIES_PER_IP_MAX`]) is refused at once until its minute ends:
//! otherwise each further identity costs the node a TCP accept, a Noise handshake and Yamux
//! before the book, which needs the peer id, can refuse it, and a flooder that redials at once
//! kept each node of `bitverse bench flood` at a fifth of a core doing that, ~290 times a second.
//! The gate sees only the remote address (no peer id before the handshake), so an honest peer
//! already admitted from the same address that reconnects meanwhile waits for the minute too.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use super::peers::ip_of;

/// Addresses gated at once; when full, the one whose gate ends first is dropped.
pub(crate) const GATED_IPS_MAX: usize = 1024;

/// Why a connection was refused before its handshake.
#[derive(Debug, thiserror::Error)]
#[error("{ip} brought too many new identities this minute; refused until the minute ends")]
pub(crate) struct Gated {
    ip: IpAddr,
}

/// The addresses refused before their handshake, and until when.
#[derive(Debug, Default)]
pub(crate) struct InboundGate {
    until: HashMap<IpAddr, Instant>,
}

impl InboundGate {
    /// Refuses connections from `ip` before their handshake until `until`.
    pub(crate) fn refuse_until(&mut self, ip: IpAddr, until: Instant, now: Instant) {
        self.until.retain(|_, end| *end > now);
        if !self.until.contains_key(&ip) && self.until.len() >= GATED_IPS_MAX {
            let first = self
                .until
                .iter()
                .min_by_key(|(ip, end)| (**end, **ip))
                .map(|(ip, _)| *ip);
            if let Some(first) = first {
                self.until.remove(&first);
            }
        }
        self.until.insert(ip, until);
    }

    /// Whether a connection from `remote` is refused at `now`.
    pub(crate) fn refuses(&self, remote: &Multiaddr, now: Instant) -> Option<IpAddr> {
        let ip = ip_of(remote)?;
        self.until
            .get(&ip)
            .is_some_and(|end| now < *end)
            .then_some(ip)
    }
}

impl NetworkBehaviour for InboundGate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        match self.refuses(remote, Instant::now()) {
            Some(ip) => Err(ConnectionDenied::new(Gated { ip })),
            None => Ok(()),
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    fn addr(last: u8) -> Multiaddr {
        format!("/ip4/10.0.0.{last}/tcp/4001").parse().unwrap()
    }

    #[test]
    fn a_gated_address_is_refused_until_its_time_ends_and_others_never() {
        let mut gate = InboundGate::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        gate.refuse_until(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), later, now);
        assert!(gate.refuses(&addr(1), now).is_some());
        assert!(
            gate.refuses(&addr(1), later - Duration::from_millis(1))
                .is_some()
        );
        assert!(
            gate.refuses(&addr(1), later).is_none(),
            "the minute is over"
        );
        assert!(gate.refuses(&addr(2), now).is_none());
        let relayed: Multiaddr = "/dns4/example.org/tcp/4001".parse().unwrap();
        assert!(gate.refuses(&relayed, now).is_none(), "no IP, no gate");
    }

    #[test]
    fn the_table_is_bounded_and_drops_the_gate_that_ends_first() {
        let mut gate = InboundGate::default();
        let now = Instant::now();
        for i in 0..=GATED_IPS_MAX {
            let ip = IpAddr::V4(Ipv4Addr::from(u32::try_from(i).unwrap() + 1));
            gate.refuse_until(ip, now + Duration::from_secs(10 + i as u64), now);
        }
        assert_eq!(gate.until.len(), GATED_IPS_MAX);
        assert!(!gate.until.contains_key(&IpAddr::V4(Ipv4Addr::from(1))));
        // Expired gates go first.
        gate.refuse_until(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            now + Duration::from_secs(5_000),
            now + Duration::from_secs(4_000),
        );
        assert_eq!(gate.until.len(), 1);
    }
}
