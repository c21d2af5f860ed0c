//! What the node has heard on the market topic, bounded: recent requests, the offers
//! answering each, the envelope chains of each bounty, and the reveals of settled bounties'
//! results. The RPC reads it for requesters; the agent reads it for the chains its relay jobs
//! wait on.
//!
//! Several rival chains of one bounty are kept, because anyone can sign a self-consistent
//! chain: the book cannot tell the offerer's from a stranger's without root state, so it keeps
//! each (a longer one replacing the one it extends) and readers take the one that verifies
//! against the bounty the root holds.
//!
//! Reveals are alike: the network forwards only a reveal whose bytes match the result hash the
//! bounty settled with on this node's root, but one that arrives before this node has the
//! Settle's block cannot be judged yet, so it is kept, unjudged, beside others (the newest
//! replacing the oldest, so a peer's stream of wrong ones cannot keep the right one out), and
//! readers take the one whose bytes hash to the settled result.

use std::collections::{BTreeMap, VecDeque};

use bitverse_primitives::Hash;

use bitverse_market_wire::{MarketRequest, Offer, ResultChain, Reveal};

/// Requests remembered (with their offers), oldest forgotten first.
pub(crate) const REQUESTS_MAX: usize = 256;
/// Offers kept per request: one per offerer, the first heard.
pub(crate) const OFFERS_PER_REQUEST_MAX: usize = 64;
/// Bounties whose result chains are kept, oldest forgotten first.
pub(crate) const RESULTS_MAX: usize = 128;
/// Rival chains kept per bounty (each up to 1.8 KiB); past it the newest rival is dropped.
pub(crate) const CHAINS_PER_BOUNTY_MAX: usize = 4;
/// Bounties whose reveals are kept, oldest forgotten first.
pub(crate) const REVEALS_MAX: usize = 64;
/// Reveals kept per bounty, each up to 64 KiB (so at most 16 MiB in all): one is the right
/// one once the bounty settled; the others are what arrived before this node could judge
/// them. Past it the oldest is dropped.
pub(crate) const REVEALS_PER_BOUNTY_MAX: usize = 4;

/// The market as this node heard it.
#[derive(Default)]
pub struct MarketBook {
    requests: BTreeMap<Hash, (MarketRequest, Vec<Offer>)>,
    request_order: VecDeque<Hash>,
    results: BTreeMap<Hash, Vec<ResultChain>>,
    result_order: VecDeque<Hash>,
    reveals: BTreeMap<Hash, VecDeque<Vec<u8>>>,
    reveal_order: VecDeque<Hash>,
}

/// What adding a message changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// Something new was kept.
    New,
    /// Known already, or not better than what is kept.
    Nothing,
}

impl MarketBook {
    /// Keeps a request, forgetting the oldest beyond [`REQUESTS_MAX`].
    pub fn add_request(&mut self, request: MarketRequest) -> Added {
        let id = request.id();
        if self.requests.contains_key(&id) {
            return Added::Nothing;
        }
        if self.request_order.len() >= REQUESTS_MAX
            && let Some(oldest) = self.request_order.pop_front()
        {
            self.requests.remove(&oldest);
        }
        self.requests.insert(id, (request, Vec::new()));
        self.request_order.push_back(id);
        Added::New
    }

    /// The request `id`, if remembered.
    #[cfg(test)]
    fn request(&self, id: &Hash) -> Option<&MarketRequest> {
        self.requests.get(id).map(|(request, _)| request)
    }

    /// Keeps an offer for a remembered request: the first from each offerer, at most
    /// [`OFFERS_PER_REQUEST_MAX`]. An offer for a request not heard is dropped.
    pub fn add_offer(&mut self, offer: Offer) -> Added {
        let Some((_, offers)) = self.requests.get_mut(&offer.request) else {
            return Added::Nothing;
        };
        if offers.len() >= OFFERS_PER_REQUEST_MAX
            || offers.iter().any(|o| o.offerer == offer.offerer)
        {
            return Added::Nothing;
        }
        offers.push(offer);
        Added::New
    }

    /// The offers heard for request `id`, in the order heard.
    pub fn offers(&self, id: &Hash) -> &[Offer] {
        self.requests
            .get(id)
            .map_or(&[], |(_, offers)| offers.as_slice())
    }

    /// Keeps a bounty's envelope chain: in place of a kept chain it extends (the same
    /// envelopes and more after them), else beside the kept ones up to
    /// [`CHAINS_PER_BOUNTY_MAX`]. Forgets the oldest bounty beyond [`RESULTS_MAX`].
    pub fn add_result(&mut self, chain: ResultChain) -> Added {
        let Some(bounty) = chain.bounty() else {
            return Added::Nothing;
        };
        if !self.results.contains_key(&bounty) {
            if self.result_order.len() >= RESULTS_MAX
                && let Some(oldest) = self.result_order.pop_front()
            {
                self.results.remove(&oldest);
            }
            self.result_order.push_back(bounty);
        }
        let kept = self.results.entry(bounty).or_default();
        if kept.iter().any(|k| k.chain.starts_with(&chain.chain)) {
            return Added::Nothing;
        }
        let extended = kept.iter().position(|k| chain.chain.starts_with(&k.chain));
        match extended {
            Some(index) => {
                if let Some(slot) = kept.get_mut(index) {
                    *slot = chain;
                }
            }
            None if kept.len() >= CHAINS_PER_BOUNTY_MAX => return Added::Nothing,
            None => kept.push(chain),
        }
        Added::New
    }

    /// The chains kept for `bounty`, in the order first heard.
    pub fn results(&self, bounty: &Hash) -> &[ResultChain] {
        self.results.get(bounty).map_or(&[], Vec::as_slice)
    }

    /// Keeps a reveal, unjudged: beside the bounty's others, the oldest dropped past
    /// [`REVEALS_PER_BOUNTY_MAX`]; the oldest bounty forgotten past [`REVEALS_MAX`]. The same
    /// bytes twice are kept once.
    pub fn add_reveal(&mut self, reveal: Reveal) -> Added {
        if !self.reveals.contains_key(&reveal.bounty) {
            if self.reveal_order.len() >= REVEALS_MAX
                && let Some(oldest) = self.reveal_order.pop_front()
            {
                self.reveals.remove(&oldest);
            }
            self.reveal_order.push_back(reveal.bounty);
        }
        let kept = self.reveals.entry(reveal.bounty).or_default();
        if kept.contains(&reveal.result) {
            return Added::Nothing;
        }
        if kept.len() >= REVEALS_PER_BOUNTY_MAX {
            kept.pop_front();
        }
        kept.push_back(reveal.result);
        Added::New
    }

    /// The revealed bytes of `bounty` that hash to `settled_result_hash`, the result the root
    /// settled it with, if heard.
    pub fn revealed(&self, bounty: &Hash, settled_result_hash: &Hash) -> Option<&[u8]> {
        self.reveals
            .get(bounty)?
            .iter()
            .find(|bytes| Hash::digest(bytes) == *settled_result_hash)
            .map(Vec::as_slice)
    }

    /// Whether `offerer` answered request `id`.
    #[cfg(test)]
    fn answered(&self, id: &Hash, offerer: &bitverse_primitives::AccountId) -> bool {
        self.offers(id).iter().any(|o| o.offerer == *offerer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_market_wire::OfferTerms;
    use bitverse_primitives::{Amount, SecretKey};
    use bitverse_relay_lineup::Envelope;

    fn request(nonce: u64) -> MarketRequest {
        MarketRequest {
            requester: SecretKey::dev("alice").account(),
            transform: "filters/bw".into(),
            inputs: vec!["photos/one".into()],
            args: Vec::new(),
            fuel_budget: 1_000,
            hops: 0,
            pinned_height: 1,
            expiry_height: 50,
            nonce,
        }
    }

    fn offer(name: &str, request: Hash) -> Offer {
        Offer::signed(
            &SecretKey::dev(name),
            request,
            OfferTerms::Priced {
                price: Amount(10),
                latency_ms: 5,
                acceptance: bitverse_primitives::Signature([7; 64]),
            },
        )
    }

    #[test]
    fn requests_are_bounded_oldest_first_and_offers_one_per_offerer() {
        let mut book = MarketBook::default();
        let first = request(0).id();
        for nonce in 0..=REQUESTS_MAX as u64 {
            assert_eq!(book.add_request(request(nonce)), Added::New);
        }
        assert!(book.request(&first).is_none(), "the oldest is forgotten");
        let last = request(REQUESTS_MAX as u64).id();
        assert_eq!(book.add_offer(offer("node-0", last)), Added::New);
        assert_eq!(book.add_offer(offer("node-0", last)), Added::Nothing);
        assert_eq!(book.add_offer(offer("node-1", first)), Added::Nothing);
        assert!(book.answered(&last, &SecretKey::dev("node-0").account()));
        assert_eq!(book.offers(&last).len(), 1);
    }

    #[test]
    fn a_longer_chain_replaces_the_one_it_extends_and_rivals_are_kept_beside_up_to_the_bound() {
        let mut book = MarketBook::default();
        let bounty = Hash([3; 32]);
        let result = b"out".to_vec();
        let offerer = Envelope::offer(&SecretKey::dev("o"), bounty, Hash::digest(&result), 9);
        let relayed = Envelope::relay(&SecretKey::dev("r"), &offerer, Hash::digest(&result), 9);
        let short = ResultChain {
            chain: vec![offerer],
        };
        let long = ResultChain {
            chain: vec![offerer, relayed],
        };
        assert_eq!(book.add_result(short.clone()), Added::New);
        assert_eq!(book.add_result(long.clone()), Added::New);
        assert_eq!(
            book.add_result(short),
            Added::Nothing,
            "a prefix of a kept chain"
        );
        assert_eq!(book.results(&bounty), std::slice::from_ref(&long));
        // A stranger's self-consistent chain cannot push the offerer's out.
        for n in 0..CHAINS_PER_BOUNTY_MAX {
            let liar = SecretKey::dev(&format!("x{n}"));
            let rival = ResultChain {
                chain: vec![Envelope::offer(&liar, bounty, Hash::digest(b"lie"), 9)],
            };
            let expected = if n + 1 < CHAINS_PER_BOUNTY_MAX {
                Added::New
            } else {
                Added::Nothing
            };
            assert_eq!(book.add_result(rival), expected);
        }
        assert_eq!(book.results(&bounty).len(), CHAINS_PER_BOUNTY_MAX);
        assert_eq!(book.results(&bounty).first(), Some(&long));
    }

    /// The right reveal is found among wrong ones, whatever came before it: a peer that sends
    /// wrong bytes before this node can judge them pushes out only the oldest.
    #[test]
    fn the_reveal_that_matches_the_settled_hash_is_found_and_wrong_ones_are_bounded() {
        let mut book = MarketBook::default();
        let bounty = Hash([5; 32]);
        let right = b"the output".to_vec();
        let settled = Hash::digest(&right);
        let reveal = |result: &[u8]| Reveal {
            bounty,
            result: result.to_vec(),
        };
        assert_eq!(book.revealed(&bounty, &settled), None);
        for n in 0..2 * REVEALS_PER_BOUNTY_MAX {
            book.add_reveal(reveal(format!("wrong {n}").as_bytes()));
        }
        assert_eq!(book.add_reveal(reveal(&right)), Added::New);
        assert_eq!(book.add_reveal(reveal(&right)), Added::Nothing);
        assert_eq!(book.revealed(&bounty, &settled), Some(right.as_slice()));
        assert_eq!(
            book.revealed(&bounty, &Hash::digest(b"wrong 0")),
            None,
            "pushed out"
        );
        assert_eq!(
            book.reveals.get(&bounty).map(VecDeque::len),
            Some(REVEALS_PER_BOUNTY_MAX)
        );
        // Bounties are bounded too, oldest first.
        for n in 0..REVEALS_MAX {
            book.add_reveal(Reveal {
                bounty: Hash::digest(&n.to_le_bytes()),
                result: right.clone(),
            });
        }
        assert_eq!(book.revealed(&bounty, &settled), None);
        assert_eq!(book.reveals.len(), REVEALS_MAX);
    }
}
