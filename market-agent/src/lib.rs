//! The market's network half (DESIGN §4, docs/MARKET.md "Across nodes"): requests and signed
//! offers gossiped on the market topic, and the agent that computes as an offerer and
//! countersigns as a relayer for bounties the root names this node in, passing envelope
//! chains (commitments, never results) on, settling or disputing them, and revealing the
//! result's bytes once the root settled the bounty.
//!
//! Layout: `book` (what the node heard, bounded, read by the RPC), `agent` (the roles, on a
//! thread of their own). The gossip messages and their stand-alone checks are
//! `bitverse-market-wire`'s, since the network checks them before forwarding. The
//! consensus rules the agent follows are `blocktree`'s and `relay-lineup`'s; nothing here is
//! consensus: a node that misbehaves here loses bounties and stake, not agreement.

pub mod agent;
mod book;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use parking_lot::Mutex;

use self::book::{Added, MarketBook};
use bitverse_market_wire::MarketMessage;
use bitverse_p2p::P2pHandle;

/// Market messages waiting for the agent (from the network and from this node's own RPC).
const INBOUND_QUEUE_MAX: usize = 256;

/// The market as the rest of the node holds it: the book, and the way to say something on
/// the market topic.
pub struct Exchange {
    book: Mutex<MarketBook>,
    p2p: Option<P2pHandle>,
    agent: SyncSender<MarketMessage>,
}

impl Exchange {
    /// An exchange publishing through `p2p` (none: this node's own agent still hears what it
    /// says), and the queue its agent reads.
    pub fn new(p2p: Option<P2pHandle>) -> (Arc<Exchange>, Receiver<MarketMessage>) {
        let (agent, inbound) = sync_channel(INBOUND_QUEUE_MAX);
        let exchange = Exchange {
            book: Mutex::new(MarketBook::default()),
            p2p,
            agent,
        };
        (Arc::new(exchange), inbound)
    }

    /// Publishes a message this node makes: kept in the book, handed to this node's agent
    /// (gossip does not deliver a node's own messages back to it) and gossiped. Returns
    /// whether the network took it.
    pub fn say(&self, message: MarketMessage) -> bool {
        let bytes = message.to_bytes();
        self.heard(message);
        match &self.p2p {
            Some(p2p) => p2p.publish_market(bytes),
            None => false,
        }
    }

    /// Takes a checked message: kept in the book when new, then passed to the agent. When
    /// the agent's queue is full the message is dropped for it (the book keeps it).
    pub fn heard(&self, message: MarketMessage) {
        let added = {
            let mut book = self.book.lock();
            match &message {
                MarketMessage::Request(request) => book.add_request(request.clone()),
                MarketMessage::Offer(offer) => book.add_offer(offer.clone()),
                MarketMessage::Result(chain) => book.add_result(chain.clone()),
                MarketMessage::Reveal(reveal) => book.add_reveal(reveal.clone()),
            }
        };
        // The agent acts on requests and chains; a reveal is for readers of the book.
        if added == Added::Nothing || matches!(message, MarketMessage::Reveal(_)) {
            return;
        }
        match self.agent.try_send(message) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("market agent busy; a market message left to the book");
            }
        }
    }

    /// Reads the book.
    pub fn read<R>(&self, f: impl FnOnce(&MarketBook) -> R) -> R {
        f(&self.book.lock())
    }
}
