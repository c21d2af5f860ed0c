//! The market's gossip messages (DESIGN §4): a requester's request, offerers' signed answers,
//! envelope chains carrying a bounty's commitments from the offerer through its lineup, and,
//! once the root settled the bounty, the reveal of the result's bytes. Each is checked on its
//! own here (bounds, signatures, links) before the node keeps or forwards it; whether it fits
//! a bounty on the root is the agent's and the requester's check, and, for a reveal, the
//! network's chain worker's (its bytes must hash to the result the root settled).
//!
//! No message carries a result before settlement: a chain carries only commitments bound to
//! each signer (`bitverse_relay_lineup::result_commitment`), so a relayer cannot countersign
//! without computing, and no node sees the output before the requester's bounty paid for it
//! (docs/MARKET.md, "Keeping the result secret").

use bincode::{Decode, Encode};
use bitverse_compute::transform::{
    ARGS_SIZE_BYTES_MAX, FUEL_PER_TRANSFORM_MAX, INPUTS_MAX, OUTPUT_SIZE_BYTES_MAX,
};
use bitverse_pricing::HOPS_MAX;
use bitverse_primitives::{AccountId, Amount, Hash, SecretKey, Signature, codec};
use bitverse_relay_lineup::{ENVELOPE_CHAIN_LEN_MAX, Envelope};

// Longest key a request names: any key the chain takes (one limit, the chain's).
use bitverse_keyspace::KEY_SIZE_BYTES_MAX;
/// Longest reason an offerer gives for declining.
pub const DECLINE_REASON_BYTES_MAX: usize = 256;
/// Largest encoded market message: a full result (a reveal) or the longest envelope chain,
/// with room for the framing.
pub const MARKET_MESSAGE_BYTES_MAX: usize =
    OUTPUT_SIZE_BYTES_MAX + ENVELOPE_CHAIN_LEN_MAX * 256 + 1024;

/// What a requester asks offerers for: run `transform` over `inputs` (root keys, read at
/// `pinned_height`) with `args`, within `fuel_budget`, at a tier of `hops` relayers.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MarketRequest {
    /// Who will post the bounty: offerers price it, and the draw excludes it.
    pub requester: AccountId,
    /// The key whose value is the transformation's module.
    pub transform: String,
    /// The input keys, in order.
    pub inputs: Vec<String>,
    /// The argument bytes.
    pub args: Vec<u8>,
    /// Fuel per execution.
    pub fuel_budget: u64,
    /// Relayers in the lineup the requester wants.
    pub hops: u8,
    /// The root height whose values the bounty will pin.
    pub pinned_height: u64,
    /// The root height at whose start the bounty will be refunded if still open: an offerer
    /// accepts the bounty's terms with it, so its latency can be judged against it.
    pub expiry_height: u64,
    /// Makes two otherwise equal requests two requests.
    pub nonce: u64,
}

impl MarketRequest {
    /// The request's id: what offers answer.
    pub fn id(&self) -> Hash {
        Hash::tagged("bitverse market request v1", &[&codec::encode(self)])
    }

    fn check(&self) -> Result<(), String> {
        if self.inputs.len() > INPUTS_MAX {
            return Err(format!(
                "{} inputs; at most {INPUTS_MAX}",
                self.inputs.len()
            ));
        }
        if std::iter::once(&self.transform)
            .chain(&self.inputs)
            .any(|k| k.is_empty() || k.len() > KEY_SIZE_BYTES_MAX)
        {
            return Err(format!("a key is empty or over {KEY_SIZE_BYTES_MAX} bytes"));
        }
        if self.hops > HOPS_MAX {
            return Err(format!("{} hops; at most {HOPS_MAX}", self.hops));
        }
        if self.fuel_budget == 0 || self.fuel_budget > FUEL_PER_TRANSFORM_MAX {
            return Err(format!(
                "a fuel budget of {}; 1 to {FUEL_PER_TRANSFORM_MAX}",
                self.fuel_budget
            ));
        }
        if self.args.len() > ARGS_SIZE_BYTES_MAX {
            return Err(format!(
                "{} argument bytes; at most {ARGS_SIZE_BYTES_MAX}",
                self.args.len()
            ));
        }
        Ok(())
    }
}

/// An offerer's terms for a request, or why it will not take it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum OfferTerms {
    /// It will compute for `price` (the whole bounty at the requested tier) and expects to
    /// deliver within `latency_ms` of the bounty's posting.
    Priced {
        /// The bounty amount it asks.
        price: Amount,
        /// Its expected latency.
        latency_ms: u64,
        /// Its signature over the bounty's terms at that price (the blocktree's
        /// `BountyTerms::acceptance_hash`), which the requester's PostBounty carries: with it,
        /// the bounty expiring unserved counts against the offerer, and only then.
        acceptance: Signature,
    },
    /// It will not: the inputs are not there, or the module refuses them, loops or traps.
    Declined {
        /// Why, for the requester to read.
        reason: String,
    },
}

impl OfferTerms {
    /// The terms spread over flat, optional fields, as the RPC shows them: price, latency
    /// (both set when priced) and the decline's reason.
    pub fn parts(&self) -> (Option<Amount>, Option<u64>, Option<String>) {
        match self {
            OfferTerms::Priced {
                price, latency_ms, ..
            } => (Some(*price), Some(*latency_ms), None),
            OfferTerms::Declined { reason } => (None, None, Some(reason.clone())),
        }
    }
}

/// An offerer's signed answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Offer {
    /// The request answered.
    pub request: Hash,
    /// The offerer.
    pub offerer: AccountId,
    /// Its terms.
    pub terms: OfferTerms,
    /// The offerer's BIP-340 signature over [`Offer::signing_hash`].
    pub signature: Signature,
}

impl Offer {
    /// Signs `terms` for `request` with `key`.
    pub fn signed(key: &SecretKey, request: Hash, terms: OfferTerms) -> Offer {
        let mut offer = Offer {
            request,
            offerer: key.account(),
            terms,
            signature: Signature([0; 64]),
        };
        offer.signature = key.sign(&offer.signing_hash());
        offer
    }

    /// What the offerer signs: every field but the signature.
    pub fn signing_hash(&self) -> Hash {
        let signed = (self.request, self.offerer, self.terms.clone());
        Hash::tagged("bitverse market offer v1", &[&codec::encode(&signed)])
    }

    /// Whether the signature verifies for the offerer, and the terms are in bounds.
    pub fn check(&self) -> Result<(), String> {
        if let OfferTerms::Declined { reason } = &self.terms
            && reason.len() > DECLINE_REASON_BYTES_MAX
        {
            return Err(format!(
                "a decline reason of {} bytes; at most {DECLINE_REASON_BYTES_MAX}",
                reason.len()
            ));
        }
        self.offerer
            .verify(&self.signing_hash(), &self.signature)
            .map_err(|_| format!("offer from {} has a bad signature", self.offerer))
    }
}

/// A bounty's envelope chain so far: commitments to the result, never the result itself
/// (its bytes come in a [`Reveal`] once the root settled the bounty).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ResultChain {
    /// The offerer's envelope, then each relayer's that countersigned, in lineup order.
    pub chain: Vec<Envelope>,
}

impl ResultChain {
    /// The bounty, from the first envelope.
    pub fn bounty(&self) -> Option<Hash> {
        self.chain.first().map(|e| e.bounty)
    }

    /// Checks what needs no root state: a chain of 1 to [`ENVELOPE_CHAIN_LEN_MAX`] envelopes
    /// of one bounty, each validly signed, linked to the one before (the first to nothing).
    /// Who may sign, and where, is checked against the bounty by whoever acts on the chain;
    /// whether the signers computed one result, by each relayer against its own and by the
    /// root at settlement.
    pub fn check(&self) -> Result<(), String> {
        if self.chain.is_empty() || self.chain.len() > ENVELOPE_CHAIN_LEN_MAX {
            return Err(format!(
                "an envelope chain of {} envelopes; 1 to {ENVELOPE_CHAIN_LEN_MAX}",
                self.chain.len()
            ));
        }
        let mut previous = Hash::ZERO;
        for (position, envelope) in self.chain.iter().enumerate() {
            if Some(envelope.bounty) != self.bounty() {
                return Err(format!("envelope {position} is for another bounty"));
            }
            if envelope.previous != previous {
                return Err(format!(
                    "envelope {position} does not link to the one before"
                ));
            }
            if !envelope.signature_is_valid() {
                return Err(format!("envelope {position} has a bad signature"));
            }
            previous = envelope.hash();
        }
        Ok(())
    }
}

/// A settled bounty's result bytes, sent by its offerer and relayers once the root settled
/// it: the only message that carries a result. Unsigned: what makes it right is that its
/// bytes hash to the `result_hash` the bounty's Settle revealed, which a node checks against
/// its root before keeping or forwarding it ([`Reveal::matches`]).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Reveal {
    /// The bounty.
    pub bounty: Hash,
    /// The result's bytes (at most `OUTPUT_SIZE_BYTES_MAX`).
    pub result: Vec<u8>,
}

impl Reveal {
    /// Checks what needs no root state: the result's size.
    pub fn check(&self) -> Result<(), String> {
        if self.result.len() > OUTPUT_SIZE_BYTES_MAX {
            return Err(format!(
                "a result of {} bytes; at most {OUTPUT_SIZE_BYTES_MAX}",
                self.result.len()
            ));
        }
        Ok(())
    }

    /// Whether the bytes are the result whose hash a bounty settled with.
    pub fn matches(&self, settled_result_hash: &Hash) -> bool {
        Hash::digest(&self.result) == *settled_result_hash
    }
}

/// One message on the market topic.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum MarketMessage {
    /// A requester's request.
    Request(MarketRequest),
    /// An offerer's answer.
    Offer(Offer),
    /// A bounty's envelopes so far (commitments, no result).
    Result(ResultChain),
    /// A settled bounty's result bytes.
    Reveal(Reveal),
}

impl MarketMessage {
    /// The message's bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes and checks a message from the wire: bounds, signatures and links.
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<MarketMessage, String> {
        let message: MarketMessage = codec::decode_with_limit::<_, MARKET_MESSAGE_BYTES_MAX>(bytes)
            .map_err(|e| format!("not a market message: {e}"))?;
        match &message {
            MarketMessage::Request(request) => request.check()?,
            MarketMessage::Offer(offer) => offer.check()?,
            MarketMessage::Result(chain) => chain.check()?,
            MarketMessage::Reveal(reveal) => reveal.check()?,
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request() -> MarketRequest {
        MarketRequest {
            requester: SecretKey::dev("alice").account(),
            transform: "filters/bw".into(),
            inputs: vec!["photos/one".into()],
            args: Vec::new(),
            fuel_budget: 1_000_000,
            hops: 1,
            pinned_height: 7,
            expiry_height: 60,
            nonce: 1,
        }
    }

    fn result_chain(result: &[u8]) -> ResultChain {
        let bounty = Hash([9; 32]);
        let offerer = SecretKey::dev("node-0");
        let relayer = SecretKey::dev("node-1");
        let first = Envelope::offer(&offerer, bounty, Hash::digest(result), 50);
        let second = Envelope::relay(&relayer, &first, Hash::digest(result), 50);
        ResultChain {
            chain: vec![first, second],
        }
    }

    fn reveal(result: &[u8]) -> Reveal {
        Reveal {
            bounty: Hash([9; 32]),
            result: result.to_vec(),
        }
    }

    #[test]
    fn every_kind_round_trips_checked() {
        let offer = Offer::signed(
            &SecretKey::dev("node-0"),
            request().id(),
            OfferTerms::Priced {
                price: Amount(1_500),
                latency_ms: 300,
                acceptance: Signature([3; 64]),
            },
        );
        for message in [
            MarketMessage::Request(request()),
            MarketMessage::Offer(offer),
            MarketMessage::Result(result_chain(b"grey")),
            MarketMessage::Reveal(reveal(b"grey")),
        ] {
            let decoded = MarketMessage::from_bytes_checked(&message.to_bytes()).unwrap();
            assert_eq!(decoded, message);
        }
    }

    #[test]
    fn a_forged_offer_or_chain_is_refused() {
        let mut offer = Offer::signed(
            &SecretKey::dev("node-0"),
            request().id(),
            OfferTerms::Priced {
                price: Amount(1_500),
                latency_ms: 300,
                acceptance: Signature([3; 64]),
            },
        );
        offer.terms = OfferTerms::Priced {
            price: Amount(1),
            latency_ms: 300,
            acceptance: Signature([3; 64]),
        };
        let error = MarketMessage::from_bytes_checked(&MarketMessage::Offer(offer).to_bytes());
        assert!(error.unwrap_err().contains("bad signature"));

        let mut forged = result_chain(b"grey");
        forged.chain[1].commitment = forged.chain[0].commitment;
        let error = MarketMessage::from_bytes_checked(&MarketMessage::Result(forged).to_bytes());
        assert!(error.unwrap_err().contains("bad signature"));

        let mut unlinked = result_chain(b"grey");
        unlinked.chain.swap(0, 1);
        let error = MarketMessage::from_bytes_checked(&MarketMessage::Result(unlinked).to_bytes());
        assert!(error.unwrap_err().contains("does not link"));

        let empty = ResultChain { chain: Vec::new() };
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Result(empty).to_bytes()).is_err()
        );
    }

    /// A chain carries no result, nor its hash: only commitments bound to each signer, from
    /// which the result's hash cannot be read (each is a hash of it and the signer).
    #[test]
    fn a_result_chain_carries_no_result_nor_its_hash() {
        let result = b"a grey photo".to_vec();
        let bytes = MarketMessage::Result(result_chain(&result)).to_bytes();
        let hash = Hash::digest(&result);
        for needle in [&result[..], &hash.0[..]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the chain's bytes hold the result or its hash"
            );
        }
    }

    /// A reveal is checked for size on receipt, then against the settled result hash: the
    /// wrong bytes, or one flipped bit of the right ones, do not match.
    #[test]
    fn a_reveal_matches_only_the_settled_result() {
        let right = reveal(b"grey");
        let settled = Hash::digest(b"grey");
        assert!(right.matches(&settled));
        assert!(!reveal(b"gray").matches(&settled));
        let mut flipped = right.clone();
        flipped.result[0] ^= 1;
        assert!(!flipped.matches(&settled));
        let huge = Reveal {
            bounty: Hash([9; 32]),
            result: vec![0; OUTPUT_SIZE_BYTES_MAX + 1],
        };
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Reveal(huge).to_bytes()).is_err()
        );
        let largest = Reveal {
            bounty: Hash([9; 32]),
            result: vec![0; OUTPUT_SIZE_BYTES_MAX],
        };
        let bytes = MarketMessage::Reveal(largest).to_bytes();
        assert!(bytes.len() <= MARKET_MESSAGE_BYTES_MAX);
        MarketMessage::from_bytes_checked(&bytes).unwrap();
    }

    #[test]
    fn an_oversized_request_is_refused() {
        let mut many = request();
        many.inputs = vec!["a/b".into(); INPUTS_MAX + 1];
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Request(many).to_bytes()).is_err()
        );
        let mut deep = request();
        deep.hops = HOPS_MAX + 1;
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Request(deep).to_bytes()).is_err()
        );
        let mut greedy = request();
        greedy.fuel_budget = FUEL_PER_TRANSFORM_MAX + 1;
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Request(greedy).to_bytes()).is_err()
        );
        let mut long_args = request();
        long_args.args = vec![0; ARGS_SIZE_BYTES_MAX + 1];
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Request(long_args).to_bytes())
                .is_err()
        );
    }

    /// Issue 17 §4: the wire's key limit is the chain's. A key as long as the chain takes
    /// (it was refused at 300 bytes when the wire kept a limit of its own) can be named in
    /// a request, every input at once; one byte more cannot.
    #[test]
    fn a_request_names_any_key_the_chain_takes() {
        let longest = format!(
            "k/{}",
            "p".repeat(bitverse_keyspace::KEY_SIZE_BYTES_MAX - 2)
        );
        bitverse_keyspace::check_key(&longest).unwrap();
        let mut long_keys = request();
        long_keys.transform = longest.clone();
        long_keys.inputs = vec![longest.clone(); INPUTS_MAX];
        let bytes = MarketMessage::Request(long_keys).to_bytes();
        assert!(bytes.len() <= MARKET_MESSAGE_BYTES_MAX);
        MarketMessage::from_bytes_checked(&bytes).unwrap();
        let too_long = format!("{longest}p");
        assert!(bitverse_keyspace::check_key(&too_long).is_err());
        let mut over = request();
        over.inputs = vec![too_long];
        assert!(
            MarketMessage::from_bytes_checked(&MarketMessage::Request(over).to_bytes()).is_err()
        );
    }

    proptest! {
        /// Garbage never panics the decoder, and anything it accepts re-encodes to itself.
        #[test]
        fn arbitrary_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(message) = MarketMessage::from_bytes_checked(&bytes) {
                prop_assert_eq!(message.to_bytes(), bytes);
            }
        }

        /// No changed byte of a signed chain's encoding passes as another checked chain.
        #[test]
        fn a_changed_byte_of_a_chain_is_caught(position in 0usize..4096, flip in 1u8..=255) {
            let message = MarketMessage::Result(result_chain(b"a grey photo"));
            let mut bytes = message.to_bytes();
            let position = position % bytes.len();
            bytes[position] ^= flip;
            if let Ok(decoded) = MarketMessage::from_bytes_checked(&bytes) {
                prop_assert_eq!(decoded, message);
            }
        }
    }
}
