//! Proofs for light clients: a value (or its absence) against a header's state root, and a
//! header chain against a known genesis.
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

use bincode::{Decode, Encode};
use bitverse_keyspace::{KeyspaceName, home_candidates};
use bitverse_primitives::{Hash, codec};
use jmt::RootHash;
use jmt::proof::SparseMerkleProof;

use crate::block::BlockHeader;
use crate::error::StoreError;
use crate::state::{Blake3Jmt, keyspace_key, value_key};

/// Largest encoded [`ValueProof`]: a maximal value, its proof and a few keyspace proofs.
pub const VALUE_PROOF_SIZE_BYTES_MAX: usize = 256 * 1024;
/// Largest encoded sparse Merkle proof: 256 sibling hashes and a leaf, with room.
const SPARSE_PROOF_SIZE_BYTES_MAX: usize = 16 * 1024;

/// A proof that does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The bytes do not decode.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The key does not follow the key syntax.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A Merkle path does not lead to the header's state root.
    #[error("{what} does not check against state root {root}")]
    Mismatch {
        /// What failed.
        what: String,
        /// The root it was checked against.
        root: Hash,
    },
    /// The keyspace proofs do not establish the key's home.
    #[error("the proof does not establish the key's home keyspace: {0}")]
    Home(String),
    /// A header in a chain does not link to the one before it, or lacks its proof of work.
    #[error("header chain broken at height {height}: {reason}")]
    HeaderChain {
        /// Height of the offending header.
        height: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Proof that a registered keyspace exists, or that a name is not registered.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KeyspaceProof {
    /// The keyspace name.
    pub name: String,
    /// Its encoded record, or `None` if not registered.
    pub record: Option<Vec<u8>>,
    /// Sparse Merkle proof of the record (or its absence).
    pub proof: Vec<u8>,
}

/// A key's value (or absence) with everything needed to check it against `header`: the
/// keyspace proofs that establish its home, longest candidate first, and the value's proof.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ValueProof {
    /// The key.
    pub key: String,
    /// The value, or `None` if the key holds none.
    pub value: Option<Vec<u8>>,
    /// The header whose state root everything is checked against.
    pub header: BlockHeader,
    /// One per candidate home, longest first, ending at the registered home.
    pub keyspaces: Vec<KeyspaceProof>,
    /// Sparse Merkle proof of the value (or its absence) at the key's address.
    pub value_proof: Vec<u8>,
}

pub(crate) fn encode_proof(proof: &SparseMerkleProof<Blake3Jmt>) -> Result<Vec<u8>, StoreError> {
    borsh::to_vec(proof).map_err(|e| StoreError::Corrupt(format!("state proof: {e}")))
}

fn decode_proof(bytes: &[u8]) -> Result<SparseMerkleProof<Blake3Jmt>, ProofError> {
    if bytes.len() > SPARSE_PROOF_SIZE_BYTES_MAX {
        return Err(ProofError::Malformed(format!(
            "sparse proof of {} bytes",
            bytes.len()
        )));
    }
    borsh::from_slice(bytes).map_err(|e| ProofError::Malformed(e.to_string()))
}

fn check(
    root: &Hash,
    key: jmt::KeyHash,
    value: Option<&Vec<u8>>,
    proof: &[u8],
    what: impl Fn() -> String,
) -> Result<(), ProofError> {
    decode_proof(proof)?
        .verify(RootHash(root.0), key, value)
        .map_err(|_| ProofError::Mismatch {
            what: what(),
            root: *root,
        })
}

impl ValueProof {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from exactly `bytes`, refusing more than [`VALUE_PROOF_SIZE_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<ValueProof, ProofError> {
        codec::decode_with_limit::<ValueProof, VALUE_PROOF_SIZE_BYTES_MAX>(bytes)
            .map_err(|e| ProofError::Malformed(e.to_string()))
    }

    /// Checks the proof against its header's state root: every longer candidate home is
    /// absent, the home is registered, and the value (or its absence) sits at the key's
    /// address under that home. Says nothing about the header itself: check that with
    /// [`verify_header_chain`].
    pub fn verify(&self) -> Result<(), ProofError> {
        let root = self.header.state_root;
        let candidates =
            home_candidates(&self.key).map_err(|e| ProofError::InvalidKey(e.to_string()))?;
        let mut home: Option<KeyspaceName> = None;
        let mut proofs = self.keyspaces.iter();
        for candidate in candidates {
            let Some(proof) = proofs.next() else {
                return Err(ProofError::Home(format!(
                    "no proof for candidate {candidate}"
                )));
            };
            if proof.name != candidate.as_str() {
                return Err(ProofError::Home(format!(
                    "proof for {:?} where {candidate} was due",
                    proof.name
                )));
            }
            check(
                &root,
                keyspace_key(&proof.name),
                proof.record.as_ref(),
                &proof.proof,
                || format!("keyspace {:?}", proof.name),
            )?;
            if proof.record.is_some() {
                home = Some(candidate);
                break;
            }
        }
        if proofs.next().is_some() {
            return Err(ProofError::Home("proofs beyond the home keyspace".into()));
        }
        let home =
            home.ok_or_else(|| ProofError::Home("no candidate keyspace is registered".into()))?;
        check(
            &root,
            value_key(&home, &self.key),
            self.value.as_ref(),
            &self.value_proof,
            || format!("value of {:?}", self.key),
        )
    }
}

/// Checks a header chain the way a light client does: the first header hashes to `genesis`,
/// and each next one names the previous as parent, is one higher, and meets its own difficulty.
/// (Whether each difficulty is the one retargeting demands is left to full nodes.)
pub fn verify_header_chain(genesis: &Hash, headers: &[BlockHeader]) -> Result<(), ProofError> {
    let Some(first) = headers.first() else {
        return Err(ProofError::HeaderChain {
            height: 0,
            reason: "no headers".into(),
        });
    };
    if first.hash() != *genesis || first.height != 0 {
        return Err(ProofError::HeaderChain {
            height: first.height,
            reason: format!("first header is not genesis {genesis}"),
        });
    }
    for pair in headers.windows(2) {
        let [previous, header] = pair else { continue };
        let fail = |reason: &str| ProofError::HeaderChain {
            height: header.height,
            reason: reason.into(),
        };
        if header.parent != previous.hash() {
            return Err(fail("parent hash does not match the previous header"));
        }
        if Some(header.height) != previous.height.checked_add(1) {
            return Err(fail("height does not follow the previous header"));
        }
        if !header.meets_difficulty() {
            return Err(fail("insufficient proof of work"));
        }
    }
    Ok(())
}
