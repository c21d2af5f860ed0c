//! Relay lineups (§4 of the design; `docs/MARKET.md` tells the whole flow):
//!
//! - [`proof`]: the lineup proof, a proof of work over a bounty id whose hash seeds the draw;
//! - [`draw`]: the stake-and-reputation-weighted draw of relayers without replacement;
//! - [`envelope`]: the signed envelope chain from the offerer through every relayer, and its
//!   verification against the bounty and the drawn lineup, each envelope committing to its
//!   result under its signer (`result_commitment`) so the result stays secret until settled;
//! - [`shares`]: the split of a settled bounty between offerer, relayers and finder.
//!
//! Every function is pure over plain data, so that a state transition can call it with what
//! root state holds and act on the error it gets back.
//!
//! Invariant: the lineup and every check are deterministic functions of their arguments
//! (integers only; randomness only from hashing the proof); nothing here panics on any input.
//! The crate knows nothing of storage, networks or RPC, and depends only on `primitives` and
//! `pricing`.
//!
//! All of it is consensus: no `unwrap`, `expect`, panics, indexing or unchecked arithmetic
//! outside tests, for the whole crate (the one block below; `bitverse/tests/architecture.rs`
//! checks that every consensus crate carries it, at its root and nowhere else).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod draw;
pub mod envelope;
pub mod proof;
pub mod shares;

pub use draw::{DRAW_ATTEMPTS_MAX, RelayerCandidate, check_lineup, draw_lineup};
pub use envelope::{
    ENVELOPE_CHAIN_LEN_MAX, ENVELOPE_CHAIN_SIZE_BYTES_MAX, Envelope, ExpectedChain, VerifiedChain,
    check_commitments, check_conflict, decode_envelope_chain, encode_envelope_chain,
    result_commitment, verify_envelope_chain, verify_envelope_prefix,
};
pub use proof::{LINEUP_PROOF_SIZE_BYTES, LineupProof, meets_difficulty};
pub use shares::{SettlementShares, settlement_shares};

use bitverse_pricing::PricingError;
use bitverse_primitives::{AccountId, CodecError, Hash};

/// Why a lineup proof, a draw, an envelope chain, a dispute's evidence or a settlement split
/// is refused. Positions count envelopes from 0 (the offerer's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineupError {
    /// The lineup proof names another bounty.
    #[error("lineup proof is for bounty {found}, not {expected}")]
    ProofForOtherBounty {
        /// The bounty being checked.
        expected: Hash,
        /// The bounty the proof names.
        found: Hash,
    },
    /// The lineup proof's hash does not meet the lineup difficulty.
    #[error("lineup proof does not meet difficulty {difficulty}")]
    ProofBelowDifficulty {
        /// The difficulty in force.
        difficulty: u64,
    },
    /// More relayer candidates than a draw considers.
    #[error("{count} relayer candidates exceed the limit of {max}")]
    TooManyCandidates {
        /// Candidates passed.
        count: usize,
        /// `bitverse_pricing::RELAYERS_MAX`.
        max: usize,
    },
    /// The same account appears twice among the candidates.
    #[error("relayer {0} appears twice among the candidates")]
    DuplicateCandidate(AccountId),
    /// A lineup longer than any tier.
    #[error("a lineup of {requested} relayers exceeds the limit of {max}")]
    LineupTooLong {
        /// Relayers asked for.
        requested: usize,
        /// `bitverse_pricing::HOPS_MAX`.
        max: usize,
    },
    /// Fewer eligible relayers than the lineup needs (the tier cannot be served now).
    #[error("the lineup needs {requested} relayers but only {eligible} are eligible")]
    NotEnoughRelayers {
        /// Relayers asked for.
        requested: usize,
        /// Eligible relayers (staked, with reputation, not excluded).
        eligible: usize,
    },
    /// A relayer's weight, or the sum of weights, does not fit in 128 bits.
    #[error("relayer weights overflow 128 bits")]
    WeightOverflow,
    /// Every attempt of the rejection sampler was rejected (probability below 2^-64).
    #[error("the draw rejected {DRAW_ATTEMPTS_MAX} samples in a row")]
    DrawExhausted,
    /// A claimed lineup is not the one the draw gives.
    #[error("the lineup is not the one drawn from this proof")]
    LineupMismatch,
    /// An envelope chain with no envelope.
    #[error("the envelope chain is empty")]
    EmptyChain,
    /// An envelope chain longer than the lineup plus the offerer.
    #[error("the envelope chain has {length} envelopes, more than the {max} of its lineup")]
    ChainTooLong {
        /// Envelopes in the chain.
        length: usize,
        /// The offerer plus the lineup's relayers.
        max: usize,
    },
    /// An envelope chain that stops before the last relayer (settlement needs all).
    #[error("the envelope chain has {length} envelopes of the {expected} it needs")]
    ChainIncomplete {
        /// Envelopes in the chain.
        length: usize,
        /// The offerer plus the lineup's relayers.
        expected: usize,
    },
    /// An envelope names another bounty.
    #[error("envelope {position} is for another bounty")]
    WrongBounty {
        /// Position in the chain.
        position: usize,
    },
    /// An envelope is signed by an account outside the offerer and lineup.
    #[error("envelope {position} is signed by {found}, expected {expected}")]
    WrongSigner {
        /// Position in the chain.
        position: usize,
        /// Who should have signed there.
        expected: AccountId,
        /// Who the envelope names.
        found: AccountId,
    },
    /// An envelope is signed by a participant, but at another participant's place.
    #[error("envelope {position} is signed by {signer}, whose place is {expected_position}")]
    SignerOutOfOrder {
        /// Position in the chain.
        position: usize,
        /// The signer found there.
        signer: AccountId,
        /// Where that signer belongs.
        expected_position: usize,
    },
    /// An envelope does not name the hash of the envelope before it (or, for the offerer's,
    /// does not name the zero hash).
    #[error("envelope {position} does not link to the envelope before it")]
    BrokenLink {
        /// Position in the chain.
        position: usize,
    },
    /// An envelope's signature does not verify for its signer.
    #[error("envelope {position} has a bad signature")]
    BadSignature {
        /// Position in the chain.
        position: usize,
    },
    /// An envelope does not commit to the result hash it is checked against (the one revealed
    /// at settlement, a relayer's own, or the one a dispute reveals for its second envelope):
    /// its signer computed another result, or copied another signer's commitment.
    #[error("envelope {position} does not commit to the result hash revealed")]
    CommitmentMismatch {
        /// Position in the chain (in a dispute's evidence, 0 or 1).
        position: usize,
    },
    /// A relayer attests other fuel than the offerer's (fuel is deterministic).
    #[error("envelope {position} attests other fuel than the offerer's")]
    FuelMismatch {
        /// Position in the chain.
        position: usize,
    },
    /// An envelope attests more fuel than the bounty's budget.
    #[error("envelope {position} attests {fuel_used} fuel, over the budget of {fuel_budget}")]
    FuelOverBudget {
        /// Position in the chain.
        position: usize,
        /// Fuel attested.
        fuel_used: u64,
        /// The bounty's budget.
        fuel_budget: u64,
    },
    /// Dispute evidence whose first envelope commits to the result the second's reveals.
    #[error("the two envelopes commit to the same result: no conflict")]
    NoConflict,
    /// Dispute evidence signed by someone outside the offerer and lineup.
    #[error("{0} is neither the offerer nor in the lineup")]
    NotAParticipant(AccountId),
    /// A finder share of all the bounty or more.
    #[error("finder share of {0} ppm leaves nothing to the executors")]
    InvalidFinderShare(u32),
    /// The lineup passed to a payout does not have the relayer count of the split.
    #[error("{found} relayers passed for a split among {expected}")]
    PayoutLineupMismatch {
        /// Relayers the split was made for.
        expected: usize,
        /// Relayers passed.
        found: usize,
    },
    /// A ledger record could not be read at the height asked (see the inner error).
    #[error("ledger: {0}")]
    Ledger(PricingError),
    /// Bytes that are not a canonical proof or envelope chain.
    #[error("malformed encoding: {0}")]
    Malformed(CodecError),
}
