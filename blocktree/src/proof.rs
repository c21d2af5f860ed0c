//! Proofs for light clients: a value (or its absence) against a header's state root, and a
//! header chain against a known genesis.

use bincode::{Decode, Encode};
use bitverse_keyspace::{KeyspaceName, home_candidates};
use bitverse_primitives::{ChainId, Hash, codec};
use jmt::RootHash;
use jmt::proof::SparseMerkleProof;

use crate::block::header::{Anchor, BlockHeader};
pub use crate::error::ProofError;
use crate::error::StoreError;
use crate::genesis::genesis_header_of;
use crate::headers::HeaderChainChecker;
use crate::params::ChainParams;
use crate::state::{Blake3Jmt, KeyspaceRecord, anchor_key, keyspace_key, value_key};

/// Largest encoded [`ValueProof`]: a maximal value, its proof and a few keyspace proofs.
pub const VALUE_PROOF_SIZE_BYTES_MAX: usize = 256 * 1024;
/// Largest encoded sparse Merkle proof: 256 sibling hashes and a leaf, with room.
const SPARSE_PROOF_SIZE_BYTES_MAX: usize = 16 * 1024;

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

/// One level of the walk from the root down to a data chain: that chain's anchored header,
/// and the proof that the level above holds the anchor naming it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AnchorLink {
    /// The anchored header of the chain one level down.
    pub header: BlockHeader,
    /// Sparse Merkle proof, against the state root of the level above, of the anchor leaf
    /// ([`anchor_key`] of this chain) naming `header`.
    pub anchor_proof: Vec<u8>,
}

/// A key's value (or absence) with everything needed to check it against a root `header`:
/// the keyspace proofs that establish its home (against the root's state), for a keyspace at
/// depth `d` the `d` anchor links down to its chain's anchored header, and the value's proof
/// against the state root at the bottom. Its size grows with the depth, never with chain
/// heights or the number of chains.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ValueProof {
    /// The key.
    pub key: String,
    /// The value, or `None` if the key holds none.
    pub value: Option<Vec<u8>>,
    /// The root header everything is checked against.
    pub header: BlockHeader,
    /// One per candidate home, longest first, ending at the registered home.
    pub keyspaces: Vec<KeyspaceProof>,
    /// Depth 1 first, down to the key's chain; empty for a root keyspace.
    pub links: Vec<AnchorLink>,
    /// Sparse Merkle proof of the value (or its absence) at the key's address, against the
    /// last link's state root (the root header's for a root keyspace).
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

pub(crate) fn check_leaf(
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

    /// Checks the proof against its root header's state root: every longer candidate home
    /// is absent, the home is registered, each level down to the home's chain holds the
    /// anchor of the next, and the value (or its absence) sits at the key's address in the
    /// bottom chain's state. Says nothing about the root header itself: check that with
    /// [`verify_header_chain`]. Returns the chain the value lives on.
    pub fn verify(&self) -> Result<ChainId, ProofError> {
        if !self.header.chain.is_root() {
            return Err(ProofError::Link(format!(
                "the top header is of chain {}, not the root",
                self.header.chain
            )));
        }
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
            check_leaf(
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
        let record: KeyspaceRecord = self
            .keyspaces
            .last()
            .and_then(|p| p.record.as_deref())
            .ok_or_else(|| ProofError::Home("no record for the home".into()))
            .and_then(|bytes| {
                codec::decode(bytes).map_err(|e| ProofError::Malformed(e.to_string()))
            })?;
        let slot = value_key(&home, &self.key);
        let home_chain = ChainId::of_address(&slot.0, record.depth)
            .ok_or_else(|| ProofError::Home(format!("depth {} out of range", record.depth)))?;
        if self.links.len() != usize::from(record.depth) {
            return Err(ProofError::Link(format!(
                "{} links for a keyspace at depth {}",
                self.links.len(),
                record.depth
            )));
        }
        // Down the tree: the chain at each depth on the way to the home's chain.
        let path = home_chain.path_to_root().into_iter().rev().skip(1);
        let state_root = walk_links(root, path, &self.links)?;
        check_leaf(
            &state_root,
            slot,
            self.value.as_ref(),
            &self.value_proof,
            || format!("value of {:?}", self.key),
        )?;
        Ok(home_chain)
    }
}

/// Walks `links` down the tree from `state_root`: each link's header must be of the next
/// chain of `path` (the chains below the top one, shallowest first) and its anchor must be the
/// leaf [`anchor_key`] of that chain in the state above. Returns the last header's state root.
pub(crate) fn walk_links(
    mut state_root: Hash,
    path: impl Iterator<Item = ChainId>,
    links: &[AnchorLink],
) -> Result<Hash, ProofError> {
    let mut path = path;
    for link in links {
        let chain = path
            .next()
            .ok_or_else(|| ProofError::Link("more links than levels".into()))?;
        if link.header.chain != chain {
            return Err(ProofError::Link(format!(
                "a link is a header of chain {}, not {chain}",
                link.header.chain
            )));
        }
        let anchor = Anchor {
            chain,
            height: link.header.height,
            hash: link.header.hash(),
        };
        check_leaf(
            &state_root,
            anchor_key(&chain),
            Some(&codec::encode(&anchor)),
            &link.anchor_proof,
            || format!("anchor of chain {chain}"),
        )?;
        state_root = link.header.state_root;
    }
    Ok(state_root)
}

/// Checks a header chain the way a light client does, by the same rules as a full node (the
/// difficulty floor and retarget rule, median time past, the future-time limit against
/// `now_ms`, linkage and heights): the first header must be the network's genesis, computed
/// from `params`. Returns the chain's cumulative work, by which a client picks among chains.
pub fn verify_header_chain(
    params: &ChainParams,
    headers: &[BlockHeader],
    now_ms: u64,
) -> Result<u128, ProofError> {
    let genesis =
        genesis_header_of(params, ChainId::ROOT).map_err(|e| ProofError::HeaderChain {
            height: 0,
            reason: format!("cannot compute genesis: {e}"),
        })?;
    let Some((first, rest)) = headers.split_first() else {
        return Err(ProofError::HeaderChain {
            height: 0,
            reason: "no headers".into(),
        });
    };
    if *first != genesis {
        return Err(ProofError::HeaderChain {
            height: first.height,
            reason: format!("first header is not genesis {}", genesis.hash()),
        });
    }
    let mut checker =
        HeaderChainChecker::resume(params, [genesis], 0).map_err(|e| ProofError::HeaderChain {
            height: 0,
            reason: e.to_string(),
        })?;
    let mut work = 0;
    for header in rest {
        let height = header.height;
        work = checker
            .push(header.clone(), now_ms)
            .map_err(|e| ProofError::HeaderChain {
                height,
                reason: e.to_string(),
            })?;
    }
    Ok(work)
}
