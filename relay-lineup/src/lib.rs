//! Relay lineups: the proof of work over a bounty id that seeds a stake- and reputation-weighted
//! draw of relayers, and the envelope chain they sign (§4 of the design). The draw and the
//! checks come with the compute marketplace; today the crate holds the types they act on.
//!
//! Invariant: the draw is a deterministic function of the lineup proof and root state; this
//! crate knows nothing of storage, networks or RPC, and depends only on `primitives`,
//! `compute` and `pricing`.

use bitverse_primitives::{AccountId, Hash, Signature};

/// A proof of work over a bounty id whose hash seeds the relayer draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineupProof {
    /// The bounty the lineup serves.
    pub bounty: Hash,
    /// Who found the proof, and earns its share.
    pub finder: AccountId,
    /// Varied to meet the lineup difficulty.
    pub nonce: u64,
}

/// One signed step of a result's journey from the offerer through each relayer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The bounty.
    pub bounty: Hash,
    /// Hash of the result the signer computed or checked.
    pub result_hash: Hash,
    /// Fuel the computation used.
    pub fuel_used: u64,
    /// The signer.
    pub signer: AccountId,
    /// Signature over the previous envelope and this attestation.
    pub signature: Signature,
}
