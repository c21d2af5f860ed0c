//! What the node has heard on the market topic, bounded: recent requests, the offers
//! answering each, and the longest envelope chain (with its result) of each bounty. The RPC
//! reads it for requesters; the agent reads it for the chains its relay jobs wait on.

use std::collections::{BTreeMap, VecDeque};

use bitverse_primitives::Hash;

use super::wire::{MarketRequest, Offer, ResultChain};

/// Requests remembered (with their offers), oldest forgotten first.
pub(crate) const REQUESTS_MAX: usize = 256;
/// Offers kept per request: one per offerer, the first heard.
pub(crate) const OFFERS_PER_REQUEST_MAX: usize = 64;
/// Bounties whose result chain is kept, oldest forgotten first (each up to 64 KiB).
pub(crate) const RESULTS_MAX: usize = 128;

/// The market as this node heard it.
#[derive(Default)]
pub(crate) struct MarketBook {
    requests: BTreeMap<Hash, (MarketRequest, Vec<Offer>)>,
    request_order: VecDeque<Hash>,
    results: BTreeMap<Hash, ResultChain>,
    result_order: VecDeque<Hash>,
}

/// What adding a message changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// Something new was kept.
    New,
    /// Known already, or not better than what is kept.
    Nothing,
}

impl MarketBook {
    /// Keeps a request, forgetting the oldest beyond [`REQUESTS_MAX`].
    pub(crate) fn add_request(&mut self, request: MarketRequest) -> Added {
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
    pub(crate) fn add_offer(&mut self, offer: Offer) -> Added {
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
    pub(crate) fn offers(&self, id: &Hash) -> &[Offer] {
        self.requests
            .get(id)
            .map_or(&[], |(_, offers)| offers.as_slice())
    }

    /// Keeps a bounty's result chain when it is the first heard or extends the one kept (the
    /// same envelopes and one or more after them); forgets the oldest bounty beyond
    /// [`RESULTS_MAX`]. A chain that disagrees with the kept one is not kept: the first is
    /// the one the lineup builds on.
    pub(crate) fn add_result(&mut self, chain: ResultChain) -> Added {
        let Some(bounty) = chain.bounty() else {
            return Added::Nothing;
        };
        match self.results.get(&bounty) {
            Some(kept) => {
                let extends = chain.chain.len() > kept.chain.len()
                    && chain.chain.starts_with(&kept.chain)
                    && chain.result == kept.result;
                if !extends {
                    return Added::Nothing;
                }
            }
            None => {
                if self.result_order.len() >= RESULTS_MAX
                    && let Some(oldest) = self.result_order.pop_front()
                {
                    self.results.remove(&oldest);
                }
                self.result_order.push_back(bounty);
            }
        }
        self.results.insert(bounty, chain);
        Added::New
    }

    /// The longest chain kept for `bounty`.
    pub(crate) fn result(&self, bounty: &Hash) -> Option<&ResultChain> {
        self.results.get(bounty)
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
    use crate::exchange::wire::OfferTerms;
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
    fn a_result_chain_is_kept_only_when_it_extends_the_kept_one() {
        let mut book = MarketBook::default();
        let bounty = Hash([3; 32]);
        let result = b"out".to_vec();
        let offerer = Envelope::offer(&SecretKey::dev("o"), bounty, Hash::digest(&result), 9);
        let relayed = Envelope::relay(&SecretKey::dev("r"), &offerer, Hash::digest(&result), 9);
        let short = ResultChain {
            chain: vec![offerer],
            result: result.clone(),
        };
        let long = ResultChain {
            chain: vec![offerer, relayed],
            result: result.clone(),
        };
        assert_eq!(book.add_result(long.clone()), Added::New);
        assert_eq!(book.add_result(short), Added::Nothing);
        let other = Envelope::offer(&SecretKey::dev("x"), bounty, Hash::digest(b"lie"), 9);
        let rival = ResultChain {
            chain: vec![other, relayed, relayed],
            result: b"lie".to_vec(),
        };
        assert_eq!(book.add_result(rival), Added::Nothing);
        assert_eq!(book.result(&bounty), Some(&long));
    }
}
