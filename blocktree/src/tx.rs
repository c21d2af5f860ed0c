//! Transactions: what a signed transaction says, its canonical bytes, hash and signature, and
//! the checks that need no state.

use bincode::{Decode, Encode};
use bitverse_keyspace::{KeyspaceName, check_key};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey, Signature, codec};
use bitverse_relay_lineup::{ENVELOPE_CHAIN_LEN_MAX, Envelope, LineupProof};
use bitverse_storage::Manifest;

use crate::blob::{ShardProof, ShardReceipt};
use crate::bounty::BOUNTY_INPUTS_MAX;
use crate::endowment::EarningsProof;
use crate::error::StatelessError;

/// Largest value a Put may carry on chain. Larger values are for off-chain chunk storage (§6).
pub const VALUE_SIZE_BYTES_MAX: usize = 64 * 1024;
/// Largest validation script a BuyKeyspace or SetScript may carry. Below the sandbox's module
/// cap (`bitverse_compute::MODULE_SIZE_BYTES_MAX`, 256 KiB) so that a script transaction is no
/// larger than a maximal Put: an optimised AssemblyScript validator is a few KiB.
pub const SCRIPT_SIZE_BYTES_MAX: usize = 64 * 1024;
/// Largest encoded transaction: a maximal Put (or script) and room for everything around it.
pub const TX_SIZE_BYTES_MAX: usize =
    max_usize(VALUE_SIZE_BYTES_MAX, SCRIPT_SIZE_BYTES_MAX) + 4 * 1024;

const fn max_usize(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum TxPayload {
    /// Moves `amount` from the sender to `to`.
    Transfer {
        /// Recipient.
        to: AccountId,
        /// Amount moved, besides the fee.
        amount: Amount,
    },
    /// Registers keyspace `name` for `owner`, paying `prepaid` into its endowment. The
    /// endowment must cover `quota_bytes` at the network's storage price. A sub-keyspace
    /// (`twitter/erik`) is bought inside its parent, the longest registered keyspace prefixing
    /// it, when the parent's script accepts the purchase.
    BuyKeyspace {
        /// The keyspace name (`erik`).
        name: String,
        /// The account the keyspace's script sees as its owner; without a script, the only
        /// account that may write in it.
        owner: AccountId,
        /// Bytes of keys and values it may hold.
        quota_bytes: u64,
        /// Amount moved from the sender into the keyspace's endowment.
        prepaid: Amount,
        /// The WebAssembly validation script judging every write in it (`docs/SCRIPTS.md`);
        /// `None` gives owner-only.
        script: Option<Vec<u8>>,
        /// The depth of the chain its keys live on: 0 for the root; deeper is cheaper and
        /// less verified. The chain is the one whose prefix is the first `depth` bits of the
        /// keyspace's address.
        depth: u8,
    },
    /// Replaces the validation script of `keyspace`, when its current script accepts that
    /// (without a script: when the sender is its owner). `None` returns it to owner-only.
    SetScript {
        /// The keyspace (or sub-keyspace) name.
        keyspace: String,
        /// The new script.
        script: Option<Vec<u8>>,
    },
    /// Sets `key` to `value`.
    Put {
        /// Full key, keyspace included (`erik/photos/1`).
        key: String,
        /// The value's bytes.
        value: Vec<u8>,
    },
    /// Removes `key`.
    Delete {
        /// Full key, keyspace included.
        key: String,
    },
    /// Pays a data chain's miner on the root what it earned there from the chain's endowment
    /// pool (`crate::endowment`), beyond what it was paid before. Anyone may send it; the
    /// money goes to the miner the proof names.
    ClaimMinerReward {
        /// The earnings and their proof through the anchors.
        proof: Box<EarningsProof>,
    },
    /// Moves `amount` from the sender's balance into its stake for `role` (root only): what
    /// makes it an offerer or a relayer the market can draw and slash (`docs/MARKET.md`).
    Stake {
        /// Amount moved, besides the fee.
        amount: Amount,
        /// `Offer` to stake as an offerer, `Relay` as a relayer, `Store` as a storer.
        role: TaskKind,
    },
    /// Moves `amount` of the sender's stake for `role` into an unbonding entry, returned to
    /// its balance at the start of root block `height + unbonding_delay_blocks` (root only).
    Unstake {
        /// Amount unbonded.
        amount: Amount,
        /// The role it was staked for.
        role: TaskKind,
    },
    /// Escrows `amount` from the sender (the requester) into a bounty for running the
    /// transformation stored at `transform` over the values of `inputs`, each pinned to the
    /// hash of its value in root state at root height `pinned_height`, by `offerer` with a
    /// lineup of `hops` relayers (root only; `crate::bounty`). The bounty's id is this
    /// transaction's id.
    PostBounty {
        /// The escrowed amount, besides the fee: what settlement splits.
        amount: Amount,
        /// The key whose value is the transformation's WebAssembly module.
        transform: String,
        /// The keys whose values are the inputs, in the order the transformation takes them;
        /// at most [`BOUNTY_INPUTS_MAX`].
        inputs: Vec<String>,
        /// The root height whose state the keys are read at: at most the tip's, at least
        /// `crate::bounty::PIN_AGE_BLOCKS_MAX` below the bounty's block.
        pinned_height: u64,
        /// The request's argument bytes, passed to the transformation (`docs/TRANSFORMS.md`;
        /// e.g. a thumbnail's width); at most `bitverse_compute::ARGS_SIZE_BYTES_MAX`.
        args: Vec<u8>,
        /// The tier: relayers in the lineup (0: the offerer alone).
        hops: u8,
        /// The offerer, staked as one at `pinned_height`.
        offerer: AccountId,
        /// The most fuel a computation of the transformation may use: 1 to
        /// `bitverse_compute::FUEL_PER_TRANSFORM_MAX`.
        fuel_budget: u64,
        /// The root height at whose start the bounty, if still open, is refunded: above the
        /// bounty's block, at most `crate::bounty::EXPIRY_BLOCKS_MAX` after it.
        expiry_height: u64,
        /// One proven value for each input whose keyspace lives on a data chain, in the
        /// inputs' order: the root cannot read those chains, so the requester brings each
        /// value with its proof through the anchors (`crate::bounty::DeepValue`); empty when
        /// every input is a root key.
        deep_values: Vec<crate::bounty::DeepValue>,
        /// The offerer's BIP-340 signature over these terms
        /// ([`crate::bounty::BountyTerms::acceptance_hash`]), which it gives with its offer:
        /// with it, the bounty expiring unserved counts against the offerer's record; without
        /// it the offerer never agreed, and its record is left alone.
        acceptance: Option<Signature>,
    },
    /// Publishes the proof of work over a bounty's id whose hash seeds its lineup's draw
    /// (bounties with `hops > 0`; anyone may send it, the proof's finder earns the share).
    LineupProof {
        /// The proof; it names the bounty.
        proof: LineupProof,
    },
    /// Settles an open bounty with its complete envelope chain: the offerer's envelope, then
    /// one per relayer of the drawn lineup, in draw order, every one committing to
    /// `result_hash` (`bitverse_relay_lineup::result_commitment`). Anyone who knows the
    /// result's hash may send it: it reveals the hash, which the chain kept secret until every
    /// relayer had committed; the result's bytes follow on the market topic, checked against it.
    Settle {
        /// The bounty's id.
        bounty: Hash,
        /// The result's hash, revealed: what every envelope must commit to, and what the
        /// bounty records as settled.
        result_hash: Hash,
        /// The chain; at most [`ENVELOPE_CHAIN_LEN_MAX`] envelopes.
        chain: Vec<Envelope>,
    },
    /// Disputes an open bounty with two envelopes of its participants committing to different
    /// results, shown by `result_hash`: the result `second` commits to, which `first` does not.
    /// The root re-executes the transformation over the pinned values and slashes whoever
    /// signed a wrong result; the bounty is refunded (`crate::bounty`). Anyone may send it.
    Dispute {
        /// The bounty's id.
        bounty: Hash,
        /// One signed result (boxed: two envelopes are most of a payload's size).
        first: Box<Envelope>,
        /// The conflicting one.
        second: Box<Envelope>,
        /// The result hash `second` commits to, revealed by the disputer (a relayer disputing
        /// reveals its own).
        result_hash: Hash,
    },
    /// Sets the bytes of shards the sender, staked as a storer, offers to hold (root only):
    /// the root places no shard on a storer without room for it (`crate::blob`).
    DeclareCapacity {
        /// At most `crate::blob::CAPACITY_BYTES_MAX`.
        capacity_bytes: u64,
        /// The storer's libp2p peer id as text (`12D3Koo…`, at most
        /// `crate::blob::STORER_PEER_BYTES_MAX` ASCII letters and digits): where uploaders and
        /// readers reach it. The chain keeps it as given; a storer that names another's peer
        /// only fails its own placements.
        peer: String,
    },
    /// Registers a blob at `key` (root only, for now; `crate::blob`): the key's value becomes
    /// the manifest's canonical bytes, written as a Put would write it (the keyspace's rule
    /// judges it), and `endowment` leaves the sender's balance: a placement charge per shard
    /// to the root's pool, the rest escrowed to pay the storers the root draws, per period.
    /// The blob's id is this transaction's id.
    RegisterBlob {
        /// Full key, keyspace included.
        key: String,
        /// The blob's manifest (size, content hash, k-of-n, shard roots).
        manifest: Manifest,
        /// What the sender prepays: at least the first period of every shard and the
        /// placement charge of every shard (`crate::blob::endowment_min`).
        endowment: Amount,
        /// The blob's media type as a gateway serves it (`image/png`), at most
        /// `crate::blob::CONTENT_TYPE_BYTES_MAX` bytes of `type/subtype`; empty for bytes.
        content_type: String,
    },
    /// A storer's receipts for shards placed on it (root only): it holds them, checked against
    /// their shard roots. The transaction's signature is the storer's over every receipt.
    ConfirmShards {
        /// 1 to `crate::blob::RECEIPTS_PER_TX_MAX` receipts.
        receipts: Vec<ShardReceipt>,
    },
    /// A storer's answers to the root's audits of shards placed on it (root only;
    /// `crate::blob`, `docs/STORAGE.md` "Audits"): for each, the audited chunk group of the
    /// shard with its path to the shard's root. The transaction's signature is the storer's.
    ProveShards {
        /// 1 to `crate::blob::SHARD_PROOFS_PER_TX_MAX` proofs, each at most
        /// `crate::blob::SHARD_PROOF_BYTES_MAX` bytes.
        proofs: Vec<ShardProof>,
    },
    /// A challenge bounty (root only; `crate::blob`, `docs/STORAGE.md` "Challenges"): the
    /// publisher of `blob` locks `amount` for the storer of shard `shard`, claimable with a
    /// signature by `key`, whose secret only the shard's whole bytes hashed under `nonce`
    /// give (`bitverse_storage::challenge`); refunded, with a failure on the storer's record
    /// and the shard repaired elsewhere, if unclaimed within `audit_deadline_blocks`.
    PostChallenge {
        /// The blob's id.
        blob: Hash,
        /// The shard challenged.
        shard: u8,
        /// The nonce the key is derived with, secret until now.
        nonce: Hash,
        /// The public key the claim must be signed with.
        key: AccountId,
        /// What a claim pays, at least `crate::blob::CHALLENGE_AMOUNT_MIN`.
        amount: Amount,
    },
    /// The storer of a challenged shard claims its challenge: `signature` is by the
    /// challenge's key over `bitverse_storage::claim_message` naming the sender.
    ClaimChallenge {
        /// The blob's id.
        blob: Hash,
        /// The shard.
        shard: u8,
        /// By the derived key, over the claim message.
        signature: Signature,
    },
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct UnsignedTx {
    /// The chain this transaction is for, so that it cannot be replayed on another.
    pub chain: ChainId,
    /// The account that signs and pays.
    pub sender: AccountId,
    /// The sender's transaction count before this one.
    pub nonce: u64,
    /// Paid to the block's miner.
    pub fee: Amount,
    /// What it does.
    pub payload: TxPayload,
}

/// A signed transaction, as it travels and as blocks hold it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Transaction {
    /// What is signed.
    pub body: UnsignedTx,
    /// BIP-340 signature of [`Transaction::signing_hash`] by `body.sender`.
    pub signature: Signature,
}

impl TxPayload {
    /// A PostBounty's terms as its offerer accepts them, `requester` being its sender; `None`
    /// for another payload.
    pub fn bounty_terms(&self, requester: AccountId) -> Option<crate::bounty::BountyTerms<'_>> {
        let TxPayload::PostBounty {
            amount,
            transform,
            inputs,
            args,
            pinned_height,
            hops,
            offerer,
            fuel_budget,
            expiry_height,
            ..
        } = self
        else {
            return None;
        };
        Some(crate::bounty::BountyTerms {
            requester,
            offerer: *offerer,
            amount: *amount,
            transform,
            inputs,
            args,
            pinned_height: *pinned_height,
            hops: *hops,
            fuel_budget: *fuel_budget,
            expiry_height: *expiry_height,
        })
    }
}

impl UnsignedTx {
    /// The digest a sender signs: the canonical bytes of the body under a domain tag.
    pub fn signing_hash(&self) -> Hash {
        Hash::tagged("bitverse transaction signing v1", &[&codec::encode(self)])
    }

    /// Signs the body with `key`. The key should be the sender's; if it is not, the
    /// transaction is still built, and refused as badly signed wherever it is checked.
    pub fn sign(self, key: &SecretKey) -> Transaction {
        let signature = key.sign(&self.signing_hash());
        Transaction {
            body: self,
            signature,
        }
    }
}

impl Transaction {
    /// The transaction's id: the hash of its canonical bytes, signature included.
    pub fn hash(&self) -> Hash {
        Transaction::id_of_bytes(&self.to_bytes())
    }

    /// The id of the transaction whose canonical bytes are `bytes`: lets a caller that already
    /// holds the encoding (to measure it) skip encoding it again.
    pub fn id_of_bytes(bytes: &[u8]) -> Hash {
        Hash::tagged("bitverse transaction id v1", &[bytes])
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a transaction from exactly `bytes`, refusing more than [`TX_SIZE_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Transaction, StatelessError> {
        codec::decode_with_limit::<Transaction, TX_SIZE_BYTES_MAX>(bytes)
            .map_err(StatelessError::Malformed)
    }

    /// Checks the signature against the sender.
    pub fn verify_signature(&self) -> Result<(), StatelessError> {
        self.body
            .sender
            .verify(&self.body.signing_hash(), &self.signature)
            .map_err(|_| StatelessError::BadSignature)
    }

    /// Every check that needs no state: the chain, sizes and syntax. The signature is checked
    /// apart, by [`Transaction::verify_signature`], because it is the costly part. Data chains
    /// take only puts and deletes, without a fee: all currency lives on the root, and their
    /// miners are paid there.
    pub fn check_stateless(&self, chain: ChainId) -> Result<(), StatelessError> {
        if self.body.chain != chain {
            return Err(StatelessError::WrongChain {
                expected: chain,
                got: self.body.chain,
            });
        }
        if !chain.is_root() {
            if !matches!(
                self.body.payload,
                TxPayload::Put { .. } | TxPayload::Delete { .. }
            ) {
                return Err(StatelessError::RootOnly { chain });
            }
            if self.body.fee != Amount::ZERO {
                return Err(StatelessError::FeeOnDataChain { chain });
            }
        }
        match &self.body.payload {
            TxPayload::Transfer { .. }
            | TxPayload::ClaimMinerReward { .. }
            | TxPayload::LineupProof { .. }
            | TxPayload::Dispute { .. }
            | TxPayload::DeclareCapacity { .. }
            | TxPayload::ConfirmShards { .. }
            | TxPayload::ProveShards { .. }
            | TxPayload::PostChallenge { .. }
            | TxPayload::ClaimChallenge { .. } => Ok(()),
            TxPayload::RegisterBlob { key, .. } => {
                check_key(key).map_err(StatelessError::InvalidKey)
            }
            TxPayload::BuyKeyspace {
                name,
                quota_bytes,
                script,
                ..
            } => {
                KeyspaceName::new(name).map_err(StatelessError::InvalidKeyspaceName)?;
                if *quota_bytes == 0 {
                    return Err(StatelessError::ZeroQuota);
                }
                check_script_size(script.as_deref())
            }
            TxPayload::SetScript { keyspace, script } => {
                KeyspaceName::new(keyspace).map_err(StatelessError::InvalidKeyspaceName)?;
                check_script_size(script.as_deref())
            }
            TxPayload::Put { key, value } => {
                check_key(key).map_err(StatelessError::InvalidKey)?;
                if value.len() > VALUE_SIZE_BYTES_MAX {
                    return Err(StatelessError::ValueTooLarge {
                        size_bytes: value.len(),
                        size_bytes_max: VALUE_SIZE_BYTES_MAX,
                    });
                }
                Ok(())
            }
            TxPayload::Delete { key } => check_key(key).map_err(StatelessError::InvalidKey),
            TxPayload::Stake { amount, .. } | TxPayload::Unstake { amount, .. } => {
                if *amount == Amount::ZERO {
                    return Err(StatelessError::ZeroStakeAmount);
                }
                Ok(())
            }
            TxPayload::PostBounty { .. } => {
                check_bounty_request(&self.body.sender, &self.body.payload)
            }
            TxPayload::Settle { chain, .. } => {
                if chain.len() > ENVELOPE_CHAIN_LEN_MAX {
                    return Err(StatelessError::EnvelopeChainTooLong {
                        length: chain.len(),
                        max: ENVELOPE_CHAIN_LEN_MAX,
                    });
                }
                Ok(())
            }
        }
    }
}

/// The stateless rules of a PostBounty sent by `sender` (none for another payload): an
/// offerer other than the requester, no more proven values than inputs, something escrowed,
/// inputs within [`BOUNTY_INPUTS_MAX`] and keys of the key syntax, hops within
/// `bitverse_pricing::HOPS_MAX`, arguments and fuel within one transformation run's.
fn check_bounty_request(sender: &AccountId, payload: &TxPayload) -> Result<(), StatelessError> {
    let TxPayload::PostBounty {
        amount,
        transform,
        inputs,
        args,
        hops,
        fuel_budget,
        deep_values,
        offerer,
        acceptance,
        ..
    } = payload
    else {
        return Ok(());
    };
    if offerer == sender {
        return Err(StatelessError::OffererIsRequester { account: *sender });
    }
    if deep_values.len() > inputs.len() {
        return Err(StatelessError::TooManyDeepValues {
            count: deep_values.len(),
            inputs: inputs.len(),
        });
    }
    if *amount == Amount::ZERO {
        return Err(StatelessError::ZeroBountyAmount);
    }
    if inputs.len() > BOUNTY_INPUTS_MAX {
        return Err(StatelessError::TooManyBountyInputs {
            count: inputs.len(),
            max: BOUNTY_INPUTS_MAX,
        });
    }
    for key in std::iter::once(transform).chain(inputs) {
        check_key(key).map_err(StatelessError::InvalidKey)?;
    }
    if *hops > bitverse_pricing::HOPS_MAX {
        return Err(StatelessError::TooManyHops {
            hops: *hops,
            max: bitverse_pricing::HOPS_MAX,
        });
    }
    crate::bounty::check_request_bounds(args, *fuel_budget)?;
    // Last: a signature check costs more than every rule above.
    if let Some(signature) = acceptance
        && let Some(terms) = payload.bounty_terms(*sender)
    {
        offerer
            .verify(&terms.acceptance_hash(), signature)
            .map_err(|_| StatelessError::BadAcceptance { offerer: *offerer })?;
    }
    Ok(())
}

/// A transaction whose stateless checks (chain rules, sizes, syntax) and signature have passed,
/// with its id computed once. Only [`VerifiedTx::check`] makes one, so a chain admitting a
/// `VerifiedTx` under its lock knows the costly part was done, outside the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    tx: Transaction,
    hash: Hash,
}

impl VerifiedTx {
    /// Checks `tx` for the chain it names: [`Transaction::check_stateless`], then
    /// [`Transaction::verify_signature`], the same checks and errors in the same order as
    /// admission has always made them. Needs no lock: callers run it on many threads.
    pub fn check(tx: Transaction) -> Result<VerifiedTx, StatelessError> {
        tx.check_stateless(tx.body.chain)?;
        tx.verify_signature()?;
        let hash = tx.hash();
        Ok(VerifiedTx { tx, hash })
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }

    /// Its id.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The chain it names.
    pub fn chain(&self) -> ChainId {
        self.tx.body.chain
    }

    /// The transaction, for the mempool.
    pub fn into_tx(self) -> Transaction {
        self.tx
    }
}

fn check_script_size(script: Option<&[u8]>) -> Result<(), StatelessError> {
    match script {
        Some(wasm) if wasm.len() > SCRIPT_SIZE_BYTES_MAX => Err(StatelessError::ScriptTooLarge {
            size_bytes: wasm.len(),
            size_bytes_max: SCRIPT_SIZE_BYTES_MAX,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payload() -> impl Strategy<Value = TxPayload> {
        prop_oneof![
            (any::<[u8; 32]>(), any::<u128>()).prop_map(|(to, a)| TxPayload::Transfer {
                to: AccountId(to),
                amount: Amount(a)
            }),
            (
                "[a-z]{1,12}",
                any::<[u8; 32]>(),
                any::<u64>(),
                any::<u128>(),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256)),
                any::<u8>(),
            )
                .prop_map(|(name, owner, quota_bytes, p, script, depth)| {
                    TxPayload::BuyKeyspace {
                        name,
                        owner: AccountId(owner),
                        quota_bytes,
                        prepaid: Amount(p),
                        script,
                        depth,
                    }
                }),
            (
                "[a-z]{1,8}(/[a-z]{1,8})?",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256))
            )
                .prop_map(|(keyspace, script)| TxPayload::SetScript { keyspace, script }),
            (
                "[a-z]{1,8}/[a-z0-9/]{1,20}",
                proptest::collection::vec(any::<u8>(), 0..256)
            )
                .prop_map(|(key, value)| TxPayload::Put { key, value }),
            "[a-z]{1,8}/[a-z0-9]{1,20}".prop_map(|key| TxPayload::Delete { key }),
            (any::<u128>(), any::<bool>()).prop_map(|(a, offer)| TxPayload::Stake {
                amount: Amount(a),
                role: if offer {
                    TaskKind::Offer
                } else {
                    TaskKind::Relay
                },
            }),
            (any::<u128>(), any::<bool>()).prop_map(|(a, offer)| TxPayload::Unstake {
                amount: Amount(a),
                role: if offer {
                    TaskKind::Offer
                } else {
                    TaskKind::Relay
                },
            }),
            (
                any::<[u8; 32]>(),
                any::<u8>(),
                any::<[u8; 32]>(),
                any::<[u8; 32]>(),
                any::<u128>()
            )
                .prop_map(|(blob, shard, nonce, key, a)| TxPayload::PostChallenge {
                    blob: Hash(blob),
                    shard,
                    nonce: Hash(nonce),
                    key: AccountId(key),
                    amount: Amount(a),
                }),
            (
                any::<[u8; 32]>(),
                any::<u8>(),
                any::<[u8; 32]>(),
                any::<[u8; 32]>()
            )
                .prop_map(|(blob, shard, r, s)| {
                    let mut signature = [0u8; 64];
                    signature[..32].copy_from_slice(&r);
                    signature[32..].copy_from_slice(&s);
                    TxPayload::ClaimChallenge {
                        blob: Hash(blob),
                        shard,
                        signature: Signature(signature),
                    }
                }),
        ]
    }

    fn transaction() -> impl Strategy<Value = Transaction> {
        (any::<[u8; 32]>(), any::<u64>(), any::<u128>(), payload()).prop_map(
            |(seed, nonce, fee, payload)| {
                let key = SecretKey::from_seed(&seed);
                UnsignedTx {
                    chain: ChainId::ROOT,
                    sender: key.account(),
                    nonce,
                    fee: Amount(fee),
                    payload,
                }
                .sign(&key)
            },
        )
    }

    proptest! {
        #[test]
        fn codec_round_trips_and_signature_holds(tx in transaction()) {
            let bytes = tx.to_bytes();
            let back = Transaction::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&back, &tx);
            prop_assert_eq!(back.hash(), tx.hash());
            prop_assert!(back.verify_signature().is_ok());
        }

        #[test]
        fn codec_rejects_trailing_bytes(tx in transaction(), extra in 1usize..8) {
            let mut bytes = tx.to_bytes();
            bytes.extend(std::iter::repeat_n(0u8, extra));
            prop_assert!(Transaction::from_bytes(&bytes).is_err());
        }

        #[test]
        fn any_changed_field_breaks_the_signature(tx in transaction(), bump in 1u64..1000) {
            let mut changed = tx.clone();
            changed.body.nonce = changed.body.nonce.wrapping_add(bump);
            prop_assert_eq!(changed.verify_signature(), Err(StatelessError::BadSignature));
        }
    }

    #[test]
    fn oversized_transactions_are_refused_before_decoding() {
        let bytes = vec![0u8; TX_SIZE_BYTES_MAX + 1];
        assert!(matches!(
            Transaction::from_bytes(&bytes),
            Err(StatelessError::Malformed(_))
        ));
    }

    #[test]
    fn stateless_checks_refuse_bad_input() {
        let key = SecretKey::dev("alice");
        let tx = |payload| {
            UnsignedTx {
                chain: ChainId::ROOT,
                sender: key.account(),
                nonce: 0,
                fee: Amount(1),
                payload,
            }
            .sign(&key)
        };
        let big = tx(TxPayload::Put {
            key: "a/b".into(),
            value: vec![0; VALUE_SIZE_BYTES_MAX + 1],
        });
        assert!(matches!(
            big.check_stateless(ChainId::ROOT),
            Err(StatelessError::ValueTooLarge { .. })
        ));
        let nokey = tx(TxPayload::Put {
            key: "nokeyspace".into(),
            value: vec![],
        });
        assert!(matches!(
            nokey.check_stateless(ChainId::ROOT),
            Err(StatelessError::InvalidKey(_))
        ));
        let script = Some(vec![0; SCRIPT_SIZE_BYTES_MAX + 1]);
        assert!(matches!(
            tx(TxPayload::SetScript {
                keyspace: "a".into(),
                script: script.clone()
            })
            .check_stateless(ChainId::ROOT),
            Err(StatelessError::ScriptTooLarge { .. })
        ));
        assert!(matches!(
            tx(TxPayload::BuyKeyspace {
                name: "a".into(),
                owner: key.account(),
                quota_bytes: 1,
                prepaid: Amount(1),
                script,
                depth: 0,
            })
            .check_stateless(ChainId::ROOT),
            Err(StatelessError::ScriptTooLarge { .. })
        ));
        let other = ChainId::new(1, 1).unwrap();
        assert!(matches!(
            tx(TxPayload::Delete { key: "a/b".into() }).check_stateless(other),
            Err(StatelessError::WrongChain { .. })
        ));
        let on_data_chain = |fee, payload| {
            UnsignedTx {
                chain: other,
                sender: key.account(),
                nonce: 0,
                fee: Amount(fee),
                payload,
            }
            .sign(&key)
            .check_stateless(other)
        };
        assert!(on_data_chain(0, TxPayload::Delete { key: "a/b".into() }).is_ok());
        // Stakes live on the root only: a data chain refuses them before any state is read.
        for payload in [
            TxPayload::Stake {
                amount: Amount(1),
                role: TaskKind::Relay,
            },
            TxPayload::Unstake {
                amount: Amount(1),
                role: TaskKind::Offer,
            },
        ] {
            assert_eq!(
                on_data_chain(0, payload),
                Err(StatelessError::RootOnly { chain: other })
            );
        }
        for payload in [
            TxPayload::Stake {
                amount: Amount::ZERO,
                role: TaskKind::Offer,
            },
            TxPayload::Unstake {
                amount: Amount::ZERO,
                role: TaskKind::Relay,
            },
        ] {
            assert_eq!(
                tx(payload).check_stateless(ChainId::ROOT),
                Err(StatelessError::ZeroStakeAmount)
            );
        }
        assert!(matches!(
            on_data_chain(1, TxPayload::Delete { key: "a/b".into() }),
            Err(StatelessError::FeeOnDataChain { .. })
        ));
        assert!(matches!(
            on_data_chain(
                0,
                TxPayload::Transfer {
                    to: key.account(),
                    amount: Amount(1)
                }
            ),
            Err(StatelessError::RootOnly { .. })
        ));
    }

    fn put_for(chain: ChainId, fee: u128) -> UnsignedTx {
        UnsignedTx {
            chain,
            sender: SecretKey::dev("alice").account(),
            nonce: 0,
            fee: Amount(fee),
            payload: TxPayload::Put {
                key: "a/b".into(),
                value: vec![1],
            },
        }
    }

    #[test]
    fn verified_tx_makes_admissions_checks_in_admissions_order() {
        let alice = SecretKey::dev("alice");
        let data = ChainId::new(2, 1).unwrap();
        let good = put_for(data, 0).sign(&alice);
        let verified = VerifiedTx::check(good.clone()).unwrap();
        assert_eq!(verified.hash(), good.hash());
        assert_eq!(verified.chain(), data);
        assert_eq!(
            VerifiedTx::check(put_for(data, 0).sign(&SecretKey::dev("bob"))),
            Err(StatelessError::BadSignature)
        );
        // A stateless fault is named before the signature is looked at, as before.
        assert_eq!(
            VerifiedTx::check(put_for(data, 1).sign(&SecretKey::dev("bob"))),
            Err(StatelessError::FeeOnDataChain { chain: data })
        );
    }
}
