//! The node's book of peers: who is connected, what tip each announced, how many invalid
//! messages each sent, and which peers are banned and until when. Every table is bounded.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use bitverse_primitives::{ChainId, Hash};

use super::protocol::{ChainTip, PeerStatus, most_work};

/// Most peers connected at once; the swarm's connection limit enforces it, and the book refuses
/// more as a second line.
pub(crate) const PEERS_MAX: usize = 64;
/// Most banned peers remembered; when full, the oldest ban is lifted early.
pub(crate) const BANNED_PEERS_MAX: usize = 1024;
/// Invalid messages (rejected gossip, bad sync answers) after which a peer is banned. Three,
/// so that one bad message from an honest peer with a bug is not fatal, but a peer that keeps
/// sending garbage is gone at once, whatever its gossip score.
pub(crate) const REJECTED_MESSAGES_BEFORE_BAN: u32 = 3;
/// How long a ban lasts.
pub(crate) const BAN_DURATION_MS: u64 = 10 * 60 * 1000;
/// Useless gossip a peer may have to its count before it is banned: well-formed messages that
/// can never help, however often they come — orphan blocks and transactions from senders that
/// cannot pay (issue 18 §6: a flooder sent 3,001 orphans at 476/s and 1,500 unfunded transfers
/// at 283/s, ignored and never scored). The count loses a tenth every second
/// ([`PeerBook::decay_useless_gossip`]), so it settles at about ten times a peer's rate: a peer
/// sending more than about 20 such messages a second, for seconds on end, is banned; an honest
/// one (an orphan now and then while it is ahead, a transaction its own tip could pay) stays
/// far below.
pub(crate) const USELESS_GOSSIP_MAX: u32 = 200;
/// New identities admitted from one IP address per [`IDENTITY_WINDOW_MS`] (issue 18 §6: a
/// flooder had a fresh identity admitted every time, 167 of 167, each starting with a clean
/// count and score). Sixteen lets a devnet of a dozen nodes on one loopback address start at
/// once; a peer that reconnects under an identity already admitted is not new.
pub(crate) const NEW_IDENTITIES_PER_IP_MAX: usize = 16;
/// The window [`NEW_IDENTITIES_PER_IP_MAX`] counts over: a minute.
pub(crate) const IDENTITY_WINDOW_MS: u64 = 60_000;
/// IP addresses whose window is kept; when full, the oldest window is dropped.
const IDENTITY_WINDOWS_MAX: usize = 1024;

/// Why the book refused a connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConnectRefusal {
    /// [`PEERS_MAX`] peers are connected.
    #[error("the book holds its {PEERS_MAX} peers")]
    BookFull,
    /// The address's IP brought [`NEW_IDENTITIES_PER_IP_MAX`] new identities this window.
    #[error("{ip} brought {NEW_IDENTITIES_PER_IP_MAX} new identities within a minute")]
    NewIdentitiesFromIp {
        /// The IP address.
        ip: IpAddr,
    },
}

/// The identities admitted from one IP address since `started`.
#[derive(Debug)]
struct IdentityWindow {
    started: Instant,
    /// At most [`NEW_IDENTITIES_PER_IP_MAX`].
    peers: Vec<PeerId>,
}

/// The IP address a connection's address names, if any (a relayed or DNS address names none).
pub(crate) fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|protocol| match protocol {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

/// Orphan blocks remembered per peer (their hashes), so that an orphan whose parent is one the
/// same peer sent before is known for what it is: the next block of a branch we are behind on.
/// An honest peer that produces blocks faster than we catch up (a `--dev` sealer, dozens a
/// second over several chains, while we sync after missing one) sends nothing but such
/// orphans until the sync is done; counting each as useless banned it within seconds and
/// left us behind for [`BAN_DURATION_MS`] (found by `bitverse bench crash`). Only the first
/// orphan of each such run counts. Linked orphans cost their sender the proof of work of as
/// many blocks, as valid side-branch blocks (never counted) do.
pub(crate) const ORPHANS_REMEMBERED_PER_PEER: usize = 64;

/// What the node knows of one connected peer.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerInfo {
    /// The address of the connection, as the swarm reported it.
    pub addr: Option<Multiaddr>,
    /// The tip it last announced.
    pub status: Option<PeerStatus>,
    /// Invalid messages it sent.
    pub rejected_messages: u32,
    /// Why its last message was rejected.
    pub last_rejection: Option<String>,
    /// When the node last asked it for its status.
    pub status_asked_at: Option<Instant>,
    /// Useless gossip it sent, decayed (see [`USELESS_GOSSIP_MAX`]).
    pub useless_gossip: u32,
    /// The last orphan blocks it sent, oldest first (see [`ORPHANS_REMEMBERED_PER_PEER`]).
    pub recent_orphans: VecDeque<Hash>,
}

/// A banned peer.
#[derive(Clone, Debug)]
pub(crate) struct Ban {
    /// When the ban ends.
    pub until: Instant,
    /// Why it was banned.
    pub reason: String,
    /// Invalid messages it had sent.
    pub rejected_messages: u32,
}

/// Connected peers and bans.
#[derive(Debug, Default)]
pub(crate) struct PeerBook {
    peers: HashMap<PeerId, PeerInfo>,
    bans: HashMap<PeerId, Ban>,
    /// Bans in the order they were made, for lifting the oldest when the table is full.
    ban_order: VecDeque<PeerId>,
    /// New identities per IP address, at most [`IDENTITY_WINDOWS_MAX`] addresses.
    identity_windows: HashMap<IpAddr, IdentityWindow>,
}

impl PeerBook {
    /// Records a connection at `now`, or says why the peer should be dropped: the book is
    /// full, or its IP address brought too many new identities this minute.
    pub(crate) fn connected(
        &mut self,
        peer: PeerId,
        addr: Multiaddr,
        now: Instant,
    ) -> Result<(), ConnectRefusal> {
        if let Some(info) = self.peers.get_mut(&peer) {
            info.addr.get_or_insert(addr);
            return Ok(());
        }
        if self.peers.len() >= PEERS_MAX {
            return Err(ConnectRefusal::BookFull);
        }
        if let Some(ip) = ip_of(&addr) {
            self.admit_identity(ip, peer, now)?;
        }
        self.peers.insert(
            peer,
            PeerInfo {
                addr: Some(addr),
                ..PeerInfo::default()
            },
        );
        Ok(())
    }

    /// Counts `peer` among the identities `ip` brought in its window, unless it is one
    /// already; refused when the window holds its maximum.
    fn admit_identity(
        &mut self,
        ip: IpAddr,
        peer: PeerId,
        now: Instant,
    ) -> Result<(), ConnectRefusal> {
        let window_length = Duration::from_millis(IDENTITY_WINDOW_MS);
        if !self.identity_windows.contains_key(&ip)
            && self.identity_windows.len() >= IDENTITY_WINDOWS_MAX
        {
            let oldest = self
                .identity_windows
                .iter()
                .min_by_key(|(ip, window)| (window.started, **ip))
                .map(|(ip, _)| *ip);
            if let Some(oldest) = oldest {
                self.identity_windows.remove(&oldest);
            }
        }
        let window = self.identity_windows.entry(ip).or_insert(IdentityWindow {
            started: now,
            peers: Vec::new(),
        });
        if now.saturating_duration_since(window.started) >= window_length {
            window.started = now;
            window.peers.clear();
        }
        if window.peers.contains(&peer) {
            return Ok(());
        }
        if window.peers.len() >= NEW_IDENTITIES_PER_IP_MAX {
            return Err(ConnectRefusal::NewIdentitiesFromIp { ip });
        }
        window.peers.push(peer);
        Ok(())
    }

    /// When the current window of new identities from `ip` ends, if it has one: an address
    /// refused for bringing too many is gated until then ([`super::gate::InboundGate`]).
    pub(crate) fn identity_window_end(&self, ip: IpAddr) -> Option<Instant> {
        self.identity_windows
            .get(&ip)
            .map(|window| window.started + Duration::from_millis(IDENTITY_WINDOW_MS))
    }

    /// Forgets a peer whose last connection closed.
    pub(crate) fn disconnected(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// The connected peers.
    pub(crate) fn peers(&self) -> impl Iterator<Item = (&PeerId, &PeerInfo)> {
        self.peers.iter()
    }

    /// How many peers are connected.
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }

    /// One connected peer.
    pub(crate) fn get_mut(&mut self, peer: &PeerId) -> Option<&mut PeerInfo> {
        self.peers.get_mut(peer)
    }

    /// Records a peer's announced tip.
    pub(crate) fn set_status(&mut self, peer: &PeerId, status: PeerStatus) {
        if let Some(info) = self.peers.get_mut(peer) {
            info.status = Some(status);
        }
    }

    /// Counts an invalid message; `true` when the peer has now earned a ban.
    pub(crate) fn record_rejection(&mut self, peer: &PeerId, reason: &str) -> bool {
        match self.peers.get_mut(peer) {
            Some(info) => {
                info.rejected_messages = info.rejected_messages.saturating_add(1);
                info.last_rejection = Some(reason.to_owned());
                info.rejected_messages >= REJECTED_MESSAGES_BEFORE_BAN
            }
            None => false,
        }
    }

    /// Counts a useless gossip message (an orphan block, a transaction its sender cannot pay);
    /// `true` when the peer has now sent more than [`USELESS_GOSSIP_MAX`] and earned a ban.
    pub(crate) fn record_useless_gossip(&mut self, peer: &PeerId) -> bool {
        match self.peers.get_mut(peer) {
            Some(info) => {
                info.useless_gossip = info.useless_gossip.saturating_add(1);
                info.useless_gossip > USELESS_GOSSIP_MAX
            }
            None => false,
        }
    }

    /// Counts an orphan block `hash` (whose parent, `parent`, is unknown here) as useless
    /// gossip unless it extends an orphan the same peer sent before; remembers it either way.
    /// `true` when the peer has now earned a ban.
    pub(crate) fn record_orphan(&mut self, peer: &PeerId, hash: Hash, parent: Hash) -> bool {
        let Some(info) = self.peers.get_mut(peer) else {
            return false;
        };
        let extends_its_own = info.recent_orphans.contains(&parent);
        if info.recent_orphans.len() >= ORPHANS_REMEMBERED_PER_PEER {
            info.recent_orphans.pop_front();
        }
        info.recent_orphans.push_back(hash);
        !extends_its_own && self.record_useless_gossip(peer)
    }

    /// Takes a tenth off every peer's count of useless gossip: called once a second.
    pub(crate) fn decay_useless_gossip(&mut self) {
        for info in self.peers.values_mut() {
            info.useless_gossip -= info.useless_gossip.div_ceil(10);
        }
    }

    /// Bans `peer` until `now + BAN_DURATION_MS`. Returns a peer whose ban was lifted early to
    /// keep the table within [`BANNED_PEERS_MAX`]; the caller unblocks it.
    pub(crate) fn ban(&mut self, peer: PeerId, reason: String, now: Instant) -> Option<PeerId> {
        let rejected_messages = self.peers.get(&peer).map_or(0, |p| p.rejected_messages);
        self.peers.remove(&peer);
        let ban = Ban {
            until: now + Duration::from_millis(BAN_DURATION_MS),
            reason,
            rejected_messages,
        };
        if self.bans.insert(peer, ban).is_some() {
            self.ban_order.retain(|p| *p != peer);
        }
        self.ban_order.push_back(peer);
        if self.bans.len() > BANNED_PEERS_MAX {
            let oldest = self.ban_order.pop_front()?;
            self.bans.remove(&oldest);
            return Some(oldest);
        }
        None
    }

    /// Lifts the bans that ended by `now`; returns the peers to unblock.
    pub(crate) fn lift_expired_bans(&mut self, now: Instant) -> Vec<PeerId> {
        let mut lifted = Vec::new();
        while let Some(peer) = self.ban_order.front().copied() {
            match self.bans.get(&peer) {
                Some(ban) if ban.until > now => break,
                _ => {
                    self.ban_order.pop_front();
                    self.bans.remove(&peer);
                    lifted.push(peer);
                }
            }
        }
        lifted
    }

    /// Whether `peer` is banned.
    pub(crate) fn is_banned(&self, peer: &PeerId) -> bool {
        self.bans.contains_key(peer)
    }

    /// The banned peers.
    pub(crate) fn bans(&self) -> impl Iterator<Item = (&PeerId, &Ban)> {
        self.bans.iter()
    }

    /// The connected peers that track `chain`, with the tip each announced for it.
    pub(crate) fn tracking(&self, chain: ChainId) -> impl Iterator<Item = (PeerId, ChainTip)> {
        self.peers.iter().filter_map(move |(peer, info)| {
            let tip = info.status.as_ref()?.chain(chain)?;
            Some((*peer, *tip))
        })
    }

    /// The connected peer with the most work on `chain` among those that track it: where a
    /// request about the chain goes. By [`most_work`], the rule sync follows too.
    pub(crate) fn best_tracking(&self, chain: ChainId) -> Option<(PeerId, ChainTip)> {
        most_work(self.tracking(chain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_primitives::Hash;

    fn addr() -> Multiaddr {
        "/ip4/127.0.0.1/tcp/1".parse().unwrap()
    }

    /// An address of its own for the `n`th peer.
    fn addr_of(n: usize) -> Multiaddr {
        format!("/ip4/10.0.{}.{}/tcp/1", n / 256, n % 256)
            .parse()
            .unwrap()
    }

    fn tip(chain: ChainId, work: u128) -> ChainTip {
        ChainTip {
            chain,
            height: 1,
            tip: Hash::digest(&work.to_le_bytes()),
            cumulative_work: work,
        }
    }

    fn status(work: u128) -> PeerStatus {
        PeerStatus {
            genesis: Hash::ZERO,
            chains: vec![tip(ChainId::ROOT, work)],
        }
    }

    #[test]
    fn the_book_holds_at_most_its_maximum_of_peers() {
        let mut book = PeerBook::default();
        let now = Instant::now();
        for n in 0..PEERS_MAX {
            assert_eq!(book.connected(PeerId::random(), addr_of(n), now), Ok(()));
        }
        assert_eq!(
            book.connected(PeerId::random(), addr_of(PEERS_MAX), now),
            Err(ConnectRefusal::BookFull)
        );
        assert_eq!(book.len(), PEERS_MAX);
    }

    #[test]
    fn a_peer_is_banned_after_its_maximum_of_rejected_messages() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        book.connected(peer, addr(), Instant::now()).unwrap();
        for _ in 1..REJECTED_MESSAGES_BEFORE_BAN {
            assert!(!book.record_rejection(&peer, "garbage"));
        }
        assert!(book.record_rejection(&peer, "garbage"));
        let now = Instant::now();
        assert_eq!(book.ban(peer, "garbage".into(), now), None);
        assert!(book.is_banned(&peer));
        assert_eq!(book.len(), 0);
        assert!(book.lift_expired_bans(now).is_empty());
        let later = now + Duration::from_millis(BAN_DURATION_MS + 1);
        assert_eq!(book.lift_expired_bans(later), vec![peer]);
        assert!(!book.is_banned(&peer));
    }

    #[test]
    fn the_ban_table_is_bounded_by_lifting_the_oldest_ban() {
        let mut book = PeerBook::default();
        let now = Instant::now();
        let first = PeerId::random();
        assert_eq!(book.ban(first, "x".into(), now), None);
        for _ in 1..BANNED_PEERS_MAX {
            assert_eq!(book.ban(PeerId::random(), "x".into(), now), None);
        }
        assert_eq!(book.ban(PeerId::random(), "x".into(), now), Some(first));
        assert_eq!(book.bans().count(), BANNED_PEERS_MAX);
        assert!(!book.is_banned(&first));
    }

    #[test]
    fn an_ip_brings_at_most_its_new_identities_a_minute() {
        let mut book = PeerBook::default();
        let start = Instant::now();
        let mut admitted = Vec::new();
        for _ in 0..NEW_IDENTITIES_PER_IP_MAX {
            let peer = PeerId::random();
            assert_eq!(book.connected(peer, addr(), start), Ok(()));
            admitted.push(peer);
        }
        // The flooder's next fresh identity is refused, whatever port it comes from.
        let other_port: Multiaddr = "/ip4/127.0.0.1/tcp/2".parse().unwrap();
        assert_eq!(
            book.connected(PeerId::random(), other_port, start),
            Err(ConnectRefusal::NewIdentitiesFromIp {
                ip: "127.0.0.1".parse().unwrap()
            })
        );
        // An identity already admitted comes back after a disconnection; another IP is not
        // affected.
        book.disconnected(&admitted[0]);
        assert_eq!(book.connected(admitted[0], addr(), start), Ok(()));
        assert_eq!(book.connected(PeerId::random(), addr_of(1), start), Ok(()));
        // The window ends a minute after its first identity: the gate holds the IP till then.
        let later = start + Duration::from_millis(IDENTITY_WINDOW_MS);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(book.identity_window_end(ip), Some(later));
        assert_eq!(book.identity_window_end("10.9.9.9".parse().unwrap()), None);
        // A minute later the window starts over.
        assert_eq!(book.connected(PeerId::random(), addr(), later), Ok(()));
        assert_eq!(
            book.identity_window_end(ip),
            Some(later + Duration::from_millis(IDENTITY_WINDOW_MS))
        );
    }

    #[test]
    fn the_identity_windows_are_bounded_by_dropping_the_oldest() {
        let mut book = PeerBook::default();
        let start = Instant::now();
        for n in 0..IDENTITY_WINDOWS_MAX + 10 {
            let at = start + Duration::from_millis(u64::try_from(n).unwrap());
            book.connected(PeerId::random(), addr_of(n), at).unwrap();
            book.peers.clear();
        }
        assert_eq!(book.identity_windows.len(), IDENTITY_WINDOWS_MAX);
        assert!(
            !book
                .identity_windows
                .contains_key(&"10.0.0.0".parse().unwrap())
        );
    }

    #[test]
    fn the_best_peer_is_the_one_with_most_work() {
        let mut book = PeerBook::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        book.connected(a, addr(), Instant::now()).unwrap();
        book.connected(b, addr(), Instant::now()).unwrap();
        book.set_status(&a, status(10));
        book.set_status(&b, status(20));
        assert_eq!(book.best_tracking(ChainId::ROOT).map(|(p, _)| p), Some(b));
    }

    #[test]
    fn a_data_chain_is_asked_only_of_peers_that_track_it() {
        let mut book = PeerBook::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        let chain = ChainId::new(2, 1).unwrap();
        book.connected(a, addr(), Instant::now()).unwrap();
        book.connected(b, addr(), Instant::now()).unwrap();
        book.set_status(&a, status(100));
        let mut tracking = status(10);
        tracking.chains.push(tip(chain, 7));
        book.set_status(&b, tracking);
        assert_eq!(book.best_tracking(chain).map(|(p, _)| p), Some(b));
        assert_eq!(book.tracking(chain).count(), 1);
        assert_eq!(book.tracking(ChainId::ROOT).count(), 2);
    }

    #[test]
    fn a_peer_flooding_useless_gossip_is_banned_and_an_occasional_one_never_is() {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let (honest, flooder) = (PeerId::random(), PeerId::random());
        let mut book = PeerBook::default();
        assert_eq!(book.connected(honest, addr.clone(), Instant::now()), Ok(()));
        assert_eq!(book.connected(flooder, addr, Instant::now()), Ok(()));
        // An hour of an honest peer at 5 a second (a busy network's orphans) stays below.
        for _ in 0..3_600 {
            for _ in 0..5 {
                assert!(!book.record_useless_gossip(&honest));
            }
            book.decay_useless_gossip();
        }
        // The measured flooder, 476 a second, is over the bound within its first second.
        let sent = (1..=476).find(|_| book.record_useless_gossip(&flooder));
        assert_eq!(sent, Some(USELESS_GOSSIP_MAX as usize + 1));
    }

    /// Found by `bitverse bench crash`: a follower that fell behind a `--dev` sealer got only
    /// orphans from it (each block's parent the one before) until its sync caught up, and
    /// banned it. A run of linked orphans counts once; orphans that link to nothing it sent
    /// still count one each, and the memory of them is bounded.
    #[test]
    fn a_run_of_linked_orphans_counts_once_and_unlinked_ones_each() {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let (ahead, flooder) = (PeerId::random(), PeerId::random());
        let mut book = PeerBook::default();
        assert_eq!(book.connected(ahead, addr.clone(), Instant::now()), Ok(()));
        assert_eq!(book.connected(flooder, addr, Instant::now()), Ok(()));
        // 5,000 blocks in one burst, on 5 chains, each the child of the one before on its chain.
        let block = |chain: u64, height: u64| {
            Hash::tagged("test", &[&chain.to_le_bytes(), &height.to_le_bytes()])
        };
        for height in 1..=1_000u64 {
            for chain in 0..5 {
                let earned =
                    book.record_orphan(&ahead, block(chain, height), block(chain, height - 1));
                assert!(!earned, "banned at height {height}");
            }
        }
        assert_eq!(
            book.get_mut(&ahead).map(|p| p.useless_gossip),
            Some(5),
            "one per run"
        );
        assert_eq!(
            book.get_mut(&ahead).map(|p| p.recent_orphans.len()),
            Some(ORPHANS_REMEMBERED_PER_PEER)
        );
        // Orphans whose parents it never sent: one each, banned past the bound.
        let sent = (1..=476u64).find(|n| book.record_orphan(&flooder, block(9, *n), block(8, *n)));
        assert_eq!(sent, Some(u64::from(USELESS_GOSSIP_MAX) + 1));
    }
}
