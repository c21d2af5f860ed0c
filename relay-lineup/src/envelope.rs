//! Envelopes: the signed chain that carries a result from the offerer through every relayer
//! of the lineup to the requester, and on to `Settle`.
//!
//! No envelope carries its result's hash in clear. Each attests a *commitment* bound to its
//! signer, [`result_commitment`]`(result_hash, signer)` = `H_tagged("bitverse result
//! commitment v1", result_hash ‖ signer)`: a relayer holding its own result `R` computes
//! `result_commitment(H(R), offerer)` and compares it with the offerer's envelope (equal iff
//! the results are), yet cannot make its own envelope's commitment without `H(R)`, which only
//! computing `R` gives (or the offerer telling it: collusion, which this does not prevent).
//! Copying the offerer's commitment under another signer is refused at settlement.
//!
//! The offerer signs an attestation (bounty id, commitment, fuel used, its account, and the
//! zero hash as `previous`). Each relayer, once its own computation gives the same result,
//! signs its attestation with `previous` set to the hash of the envelope before it — a hash
//! that covers that envelope's signature, so the chain is fixed link by link. A relayer whose
//! result differs signs its own result instead: its envelope and the differing one are then
//! the evidence of a dispute ([`check_conflict`]), with its own result hash revealed.
//!
//! - signed message: `H_tagged("bitverse envelope v2", encode(bounty, commitment, fuel_used,
//!   signer, previous))`, BIP-340 (v1 signed the bare result hash);
//! - link: `H_tagged("bitverse envelope link v1", encode(envelope))`.
//!
//! A verifier of a prefix ([`verify_envelope_prefix`]) checks, envelope by envelope in order:
//! the bounty, the signer (the offerer first, then the lineup in draw order), the link, the
//! signature, the fuel (equal to the offerer's, and within the budget). It cannot compare
//! results across signers. At settlement ([`verify_envelope_chain`]) the result hash is
//! revealed, and every envelope's commitment must open to it. The first failure is reported
//! with its position.

use bincode::{Decode, Encode};
use bitverse_pricing::HOPS_MAX;
use bitverse_primitives::{AccountId, Hash, SecretKey, Signature, codec};

use crate::LineupError;

/// The most envelopes a chain can hold: the offerer and the longest lineup.
pub const ENVELOPE_CHAIN_LEN_MAX: usize = 1 + HOPS_MAX as usize;

/// The decode limit of an envelope chain: a length and [`ENVELOPE_CHAIN_LEN_MAX`] envelopes
/// (bincode charges a vector at its elements' in-memory size, 200 bytes, equal to the encoded).
pub const ENVELOPE_CHAIN_SIZE_BYTES_MAX: usize =
    8 + ENVELOPE_CHAIN_LEN_MAX * std::mem::size_of::<Envelope>();

/// What an envelope of `signer` attests for a result whose hash is `result_hash`:
/// `H_tagged("bitverse result commitment v1", result_hash ‖ signer)`. Two signers' commitments
/// to one result differ, so one cannot be copied as the other's; whoever holds the result hash
/// can check anyone's.
pub fn result_commitment(result_hash: &Hash, signer: &AccountId) -> Hash {
    Hash::tagged(
        "bitverse result commitment v1",
        &[&result_hash.0, &signer.0],
    )
}

/// One signed step of a result's journey from the offerer through each relayer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    /// The bounty.
    pub bounty: Hash,
    /// The signer's commitment to the result it computed: [`result_commitment`] of the
    /// result's hash and the signer.
    pub commitment: Hash,
    /// Fuel the signer's computation used.
    pub fuel_used: u64,
    /// The signer.
    pub signer: AccountId,
    /// The link to the envelope before ([`Envelope::hash`]), or the zero hash for the
    /// offerer's.
    pub previous: Hash,
    /// The signer's BIP-340 signature over [`Envelope::signing_hash`].
    pub signature: Signature,
}

impl Envelope {
    /// The message the signer signs: every field but the signature.
    pub fn signing_hash(&self) -> Hash {
        let attestation = (
            self.bounty,
            self.commitment,
            self.fuel_used,
            self.signer,
            self.previous,
        );
        Hash::tagged("bitverse envelope v2", &[&codec::encode(&attestation)])
    }

    /// The envelope's hash, signature included: what the next envelope links to.
    pub fn hash(&self) -> Hash {
        Hash::tagged("bitverse envelope link v1", &[&codec::encode(self)])
    }

    fn signed(
        key: &SecretKey,
        bounty: Hash,
        result_hash: Hash,
        fuel_used: u64,
        previous: Hash,
    ) -> Envelope {
        let signer = key.account();
        let mut envelope = Envelope {
            bounty,
            commitment: result_commitment(&result_hash, &signer),
            fuel_used,
            signer,
            previous,
            signature: Signature([0; 64]),
        };
        envelope.signature = key.sign(&envelope.signing_hash());
        envelope
    }

    /// The offerer's envelope, the first of a chain, committing to the result whose hash is
    /// `result_hash`.
    pub fn offer(key: &SecretKey, bounty: Hash, result_hash: Hash, fuel_used: u64) -> Envelope {
        Envelope::signed(key, bounty, result_hash, fuel_used, Hash::ZERO)
    }

    /// A relayer's envelope after `previous`, committing to the result and fuel the relayer's
    /// own computation gave (equal to `previous`'s for a chain that settles; different for the
    /// evidence of a dispute).
    pub fn relay(
        key: &SecretKey,
        previous: &Envelope,
        result_hash: Hash,
        fuel_used: u64,
    ) -> Envelope {
        Envelope::signed(
            key,
            previous.bounty,
            result_hash,
            fuel_used,
            previous.hash(),
        )
    }

    /// Whether the signature verifies for the signer.
    pub fn signature_is_valid(&self) -> bool {
        self.signer
            .verify(&self.signing_hash(), &self.signature)
            .is_ok()
    }

    /// Whether this envelope commits to the result whose hash is `result_hash`.
    pub fn commits_to(&self, result_hash: &Hash) -> bool {
        self.commitment == result_commitment(result_hash, &self.signer)
    }
}

/// What a chain must match: the bounty as root state holds it, and the lineup drawn for it.
#[derive(Clone, Copy, Debug)]
pub struct ExpectedChain<'a> {
    /// The bounty id.
    pub bounty: Hash,
    /// The offerer the bounty names.
    pub offerer: AccountId,
    /// The drawn lineup, in draw order (empty for a tier of 0 hops).
    pub lineup: &'a [AccountId],
    /// The bounty's fuel budget per execution.
    pub fuel_budget: u64,
}

impl ExpectedChain<'_> {
    /// Who signs at `position`: the offerer at 0, then the lineup.
    fn signer_at(&self, position: usize) -> Option<AccountId> {
        match position.checked_sub(1) {
            None => Some(self.offerer),
            Some(hop) => self.lineup.get(hop).copied(),
        }
    }

    /// Where `account` signs, if it is a participant.
    fn position_of(&self, account: &AccountId) -> Option<usize> {
        if *account == self.offerer {
            return Some(0);
        }
        self.lineup
            .iter()
            .position(|member| member == account)
            .and_then(|hop| hop.checked_add(1))
    }

    fn participants(&self) -> usize {
        self.lineup.len().saturating_add(1)
    }
}

/// What a verified chain establishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedChain {
    /// The fuel every signer attested.
    pub fuel_used: u64,
    /// Envelopes verified.
    pub signers: usize,
    /// The hash of the last envelope: what the next relayer links to.
    pub tip: Hash,
}

/// Verifies a chain that may stop before the end of the lineup: what a relayer checks before
/// adding its own envelope, and what anyone can check before the result is revealed. It says
/// nothing of whether the signers computed the same result: a relayer compares the
/// commitments with its own result ([`check_commitments`]), and settlement with the revealed
/// one ([`verify_envelope_chain`]). See the module docs for the order of the checks.
pub fn verify_envelope_prefix(
    chain: &[Envelope],
    expected: &ExpectedChain<'_>,
) -> Result<VerifiedChain, LineupError> {
    let first = chain.first().ok_or(LineupError::EmptyChain)?;
    if chain.len() > expected.participants() {
        return Err(LineupError::ChainTooLong {
            length: chain.len(),
            max: expected.participants(),
        });
    }
    let mut previous = Hash::ZERO;
    for (position, envelope) in chain.iter().enumerate() {
        if envelope.bounty != expected.bounty {
            return Err(LineupError::WrongBounty { position });
        }
        let expected_signer = expected
            .signer_at(position)
            .ok_or(LineupError::ChainTooLong {
                length: chain.len(),
                max: expected.participants(),
            })?;
        if envelope.signer != expected_signer {
            return Err(match expected.position_of(&envelope.signer) {
                Some(expected_position) => LineupError::SignerOutOfOrder {
                    position,
                    signer: envelope.signer,
                    expected_position,
                },
                None => LineupError::WrongSigner {
                    position,
                    expected: expected_signer,
                    found: envelope.signer,
                },
            });
        }
        if envelope.previous != previous {
            return Err(LineupError::BrokenLink { position });
        }
        if !envelope.signature_is_valid() {
            return Err(LineupError::BadSignature { position });
        }
        if envelope.fuel_used != first.fuel_used {
            return Err(LineupError::FuelMismatch { position });
        }
        if envelope.fuel_used > expected.fuel_budget {
            return Err(LineupError::FuelOverBudget {
                position,
                fuel_used: envelope.fuel_used,
                fuel_budget: expected.fuel_budget,
            });
        }
        previous = envelope.hash();
    }
    Ok(VerifiedChain {
        fuel_used: first.fuel_used,
        signers: chain.len(),
        tip: previous,
    })
}

/// Checks that every envelope of `chain` commits to the result whose hash is `result_hash`:
/// the first that does not is `CommitmentMismatch` with its position. What a relayer checks
/// with its own result's hash (a mismatch is what it disputes), and settlement with the
/// revealed one.
pub fn check_commitments(chain: &[Envelope], result_hash: &Hash) -> Result<(), LineupError> {
    match chain.iter().position(|e| !e.commits_to(result_hash)) {
        Some(position) => Err(LineupError::CommitmentMismatch { position }),
        None => Ok(()),
    }
}

/// Verifies a complete chain, one envelope from the offerer and one from every relayer of the
/// lineup, against the result hash revealed at settlement: what `Settle` and the requester
/// check. The chain's own checks ([`verify_envelope_prefix`]) and its completeness come first,
/// then every commitment ([`check_commitments`]).
pub fn verify_envelope_chain(
    chain: &[Envelope],
    expected: &ExpectedChain<'_>,
    result_hash: &Hash,
) -> Result<VerifiedChain, LineupError> {
    let verified = verify_envelope_prefix(chain, expected)?;
    if verified.signers < expected.participants() {
        return Err(LineupError::ChainIncomplete {
            length: verified.signers,
            expected: expected.participants(),
        });
    }
    check_commitments(chain, result_hash)?;
    Ok(verified)
}

/// Checks the evidence of a dispute: two envelopes for the bounty, each validly signed by a
/// participant (the offerer or a relayer of the lineup), and `revealed`, the result hash the
/// second one commits to (its signer's own, made public by disputing), which the first one
/// does not commit to: so the two signers attested different results. Which of them is wrong
/// is for re-execution to decide.
///
/// Without `revealed`, two envelopes of different signers always differ in commitment, honest
/// ones too: anyone could make the root re-execute, and refund, a bounty served honestly.
pub fn check_conflict(
    first: &Envelope,
    second: &Envelope,
    revealed: &Hash,
    expected: &ExpectedChain<'_>,
) -> Result<(), LineupError> {
    for (position, envelope) in [first, second].into_iter().enumerate() {
        if envelope.bounty != expected.bounty {
            return Err(LineupError::WrongBounty { position });
        }
        if expected.position_of(&envelope.signer).is_none() {
            return Err(LineupError::NotAParticipant(envelope.signer));
        }
        if !envelope.signature_is_valid() {
            return Err(LineupError::BadSignature { position });
        }
    }
    if !second.commits_to(revealed) {
        return Err(LineupError::CommitmentMismatch { position: 1 });
    }
    if first.commits_to(revealed) {
        return Err(LineupError::NoConflict);
    }
    Ok(())
}

/// The canonical bytes of a chain.
pub fn encode_envelope_chain(chain: &[Envelope]) -> Vec<u8> {
    codec::encode(&chain.to_vec())
}

/// Decodes a chain from exactly `bytes`, refusing more than [`ENVELOPE_CHAIN_SIZE_BYTES_MAX`]
/// bytes or [`ENVELOPE_CHAIN_LEN_MAX`] envelopes.
pub fn decode_envelope_chain(bytes: &[u8]) -> Result<Vec<Envelope>, LineupError> {
    let chain = codec::decode_with_limit::<Vec<Envelope>, ENVELOPE_CHAIN_SIZE_BYTES_MAX>(bytes)
        .map_err(LineupError::Malformed)?;
    if chain.len() > ENVELOPE_CHAIN_LEN_MAX {
        return Err(LineupError::ChainTooLong {
            length: chain.len(),
            max: ENVELOPE_CHAIN_LEN_MAX,
        });
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BUDGET: u64 = 1_000_000;

    fn key(name: &str) -> SecretKey {
        SecretKey::dev(name)
    }

    fn bounty() -> Hash {
        Hash::digest(b"bounty")
    }

    fn result() -> Hash {
        Hash::digest(b"result")
    }

    /// A complete honest chain of `hops` relayers, and its lineup.
    fn honest(hops: usize) -> (Vec<Envelope>, Vec<AccountId>) {
        let mut chain = vec![Envelope::offer(&key("offerer"), bounty(), result(), 4_242)];
        let mut lineup = Vec::new();
        for hop in 0..hops {
            let relayer = key(&format!("relayer {hop}"));
            lineup.push(relayer.account());
            let next = Envelope::relay(&relayer, chain.last().unwrap(), result(), 4_242);
            chain.push(next);
        }
        (chain, lineup)
    }

    fn expected(lineup: &[AccountId]) -> ExpectedChain<'_> {
        ExpectedChain {
            bounty: bounty(),
            offerer: key("offerer").account(),
            lineup,
            fuel_budget: BUDGET,
        }
    }

    #[test]
    fn an_honest_chain_verifies_and_reports_its_result_and_tip() {
        for hops in 0..=usize::from(HOPS_MAX) {
            let (chain, lineup) = honest(hops);
            let verified = verify_envelope_chain(&chain, &expected(&lineup), &result()).unwrap();
            assert_eq!(verified.fuel_used, 4_242);
            assert_eq!(verified.signers, hops + 1);
            assert_eq!(verified.tip, chain.last().unwrap().hash());
        }
    }

    #[test]
    fn a_prefix_verifies_as_a_prefix_but_not_as_a_complete_chain() {
        let (chain, lineup) = honest(3);
        assert!(verify_envelope_prefix(&chain[..2], &expected(&lineup)).is_ok());
        assert_eq!(
            verify_envelope_chain(&chain[..2], &expected(&lineup), &result()),
            Err(LineupError::ChainIncomplete {
                length: 2,
                expected: 4
            })
        );
        assert_eq!(
            verify_envelope_chain(&[], &expected(&lineup), &result()),
            Err(LineupError::EmptyChain)
        );
    }

    #[test]
    fn a_chain_longer_than_its_lineup_is_refused() {
        let (mut chain, lineup) = honest(2);
        let extra = Envelope::relay(&key("stranger"), chain.last().unwrap(), result(), 4_242);
        chain.push(extra);
        assert_eq!(
            verify_envelope_chain(&chain, &expected(&lineup), &result()),
            Err(LineupError::ChainTooLong { length: 4, max: 3 })
        );
    }

    #[test]
    fn relayers_signing_out_of_order_are_named() {
        let (_, lineup) = honest(2);
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        let second_first = Envelope::relay(&key("relayer 1"), &offer, result(), 4_242);
        let first_second = Envelope::relay(&key("relayer 0"), &second_first, result(), 4_242);
        assert_eq!(
            verify_envelope_chain(
                &[offer, second_first, first_second],
                &expected(&lineup),
                &result()
            ),
            Err(LineupError::SignerOutOfOrder {
                position: 1,
                signer: lineup[1],
                expected_position: 2
            })
        );
    }

    #[test]
    fn a_stranger_in_the_chain_is_a_wrong_signer() {
        let (_, lineup) = honest(1);
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        let stranger = Envelope::relay(&key("stranger"), &offer, result(), 4_242);
        assert_eq!(
            verify_envelope_chain(&[offer, stranger], &expected(&lineup), &result()),
            Err(LineupError::WrongSigner {
                position: 1,
                expected: lineup[0],
                found: key("stranger").account()
            })
        );
    }

    #[test]
    fn a_relayer_with_another_result_breaks_the_chain_and_is_evidence_of_a_conflict() {
        let (_, lineup) = honest(1);
        let other = Hash::digest(b"other");
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        let disagree = Envelope::relay(&key("relayer 0"), &offer, other, 4_242);
        // Before the reveal nobody can tell, from the chain alone, that the results differ.
        assert!(verify_envelope_prefix(&[offer, disagree], &expected(&lineup)).is_ok());
        // The relayer can, from its own result.
        assert_eq!(
            check_commitments(&[offer], &other),
            Err(LineupError::CommitmentMismatch { position: 0 })
        );
        // Settlement cannot, whichever of the two results is revealed.
        assert_eq!(
            verify_envelope_chain(&[offer, disagree], &expected(&lineup), &result()),
            Err(LineupError::CommitmentMismatch { position: 1 })
        );
        assert_eq!(
            verify_envelope_chain(&[offer, disagree], &expected(&lineup), &other),
            Err(LineupError::CommitmentMismatch { position: 0 })
        );
        assert_eq!(
            check_conflict(&offer, &disagree, &other, &expected(&lineup)),
            Ok(())
        );
        // The disputer must reveal the result its own envelope commits to.
        assert_eq!(
            check_conflict(&offer, &disagree, &result(), &expected(&lineup)),
            Err(LineupError::CommitmentMismatch { position: 1 })
        );
        // Two honest envelopes differ in commitment, but are no conflict.
        let agree = Envelope::relay(&key("relayer 0"), &offer, result(), 4_242);
        assert_ne!(offer.commitment, agree.commitment);
        assert_eq!(
            check_conflict(&offer, &agree, &result(), &expected(&lineup)),
            Err(LineupError::NoConflict)
        );
        let stranger = Envelope::relay(&key("stranger"), &offer, other, 1);
        assert_eq!(
            check_conflict(&offer, &stranger, &other, &expected(&lineup)),
            Err(LineupError::NotAParticipant(key("stranger").account()))
        );
        let mut forged = disagree;
        forged.commitment = result_commitment(&Hash::digest(b"third"), &forged.signer);
        assert_eq!(
            check_conflict(&offer, &forged, &Hash::digest(b"third"), &expected(&lineup)),
            Err(LineupError::BadSignature { position: 1 })
        );
    }

    #[test]
    fn a_commitment_copied_under_another_signer_is_refused_at_settlement() {
        let (_, lineup) = honest(2);
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        // The lazy relayer signs the offerer's commitment (and fuel) as its own.
        let lazy = key("relayer 0");
        let mut copied = Envelope {
            bounty: bounty(),
            commitment: offer.commitment,
            fuel_used: offer.fuel_used,
            signer: lazy.account(),
            previous: offer.hash(),
            signature: Signature([0; 64]),
        };
        copied.signature = lazy.sign(&copied.signing_hash());
        let next = Envelope::relay(&key("relayer 1"), &copied, result(), 4_242);
        let chain = [offer, copied, next];
        // It links and is signed: a prefix cannot tell it apart ...
        assert!(verify_envelope_prefix(&chain, &expected(&lineup)).is_ok());
        // ... but the next honest relayer can, and settlement refuses it.
        assert_eq!(
            check_commitments(&chain[..2], &result()),
            Err(LineupError::CommitmentMismatch { position: 1 })
        );
        assert_eq!(
            verify_envelope_chain(&chain, &expected(&lineup), &result()),
            Err(LineupError::CommitmentMismatch { position: 1 })
        );
    }

    #[test]
    fn a_relayer_compares_its_result_with_the_offerers_commitment() {
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        assert!(offer.commits_to(&result()));
        assert_eq!(
            offer.commitment,
            result_commitment(&result(), &key("offerer").account())
        );
        assert!(!offer.commits_to(&Hash::digest(b"other")));
        assert_eq!(check_commitments(&[offer], &result()), Ok(()));
    }

    #[test]
    fn other_fuel_and_fuel_over_budget_are_refused() {
        let (_, lineup) = honest(1);
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        let other_fuel = Envelope::relay(&key("relayer 0"), &offer, result(), 4_243);
        assert_eq!(
            verify_envelope_chain(&[offer, other_fuel], &expected(&lineup), &result()),
            Err(LineupError::FuelMismatch { position: 1 })
        );
        let greedy = Envelope::offer(&key("offerer"), bounty(), result(), BUDGET + 1);
        assert_eq!(
            verify_envelope_chain(&[greedy], &expected(&[]), &result()),
            Err(LineupError::FuelOverBudget {
                position: 0,
                fuel_used: BUDGET + 1,
                fuel_budget: BUDGET
            })
        );
    }

    #[test]
    fn an_envelope_for_another_bounty_is_refused() {
        let offer = Envelope::offer(&key("offerer"), Hash::digest(b"other"), result(), 1);
        assert_eq!(
            verify_envelope_chain(&[offer], &expected(&[]), &result()),
            Err(LineupError::WrongBounty { position: 0 })
        );
    }

    #[test]
    fn the_longest_chain_encodes_within_its_limit_and_a_longer_one_is_refused() {
        let (chain, _) = honest(usize::from(HOPS_MAX));
        let bytes = encode_envelope_chain(&chain);
        assert!(bytes.len() <= ENVELOPE_CHAIN_SIZE_BYTES_MAX);
        assert_eq!(decode_envelope_chain(&bytes), Ok(chain.clone()));
        let mut longer = chain.clone();
        longer.push(chain[0]);
        assert!(decode_envelope_chain(&encode_envelope_chain(&longer)).is_err());
    }

    /// Changes one field of one envelope: `field` picks which, `bit` which bit.
    fn tamper(envelope: &mut Envelope, field: usize, bit: usize) {
        let flip = |bytes: &mut [u8]| bytes[bit % bytes.len()] ^= 1 << (bit % 8);
        match field {
            0 => flip(&mut envelope.bounty.0),
            1 => flip(&mut envelope.commitment.0),
            2 => envelope.fuel_used ^= 1 << (bit % 64),
            3 => flip(&mut envelope.signer.0),
            4 => flip(&mut envelope.previous.0),
            _ => flip(&mut envelope.signature.0),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_single_field_tamper_is_refused(
            hops in 0usize..=3, at in any::<proptest::sample::Index>(), field in 0usize..6, bit in any::<usize>(),
        ) {
            let (mut chain, lineup) = honest(hops);
            let position = at.index(chain.len());
            tamper(&mut chain[position], field, bit);
            prop_assert!(verify_envelope_chain(&chain, &expected(&lineup), &result()).is_err());
            prop_assert!(verify_envelope_prefix(&chain, &expected(&lineup)).is_err());
        }

        #[test]
        fn dropping_or_swapping_envelopes_is_refused(hops in 1usize..=3, a in any::<proptest::sample::Index>(), b in any::<proptest::sample::Index>()) {
            let (chain, lineup) = honest(hops);
            let (a, b) = (a.index(chain.len()), b.index(chain.len()));
            let mut dropped = chain.clone();
            dropped.remove(a);
            prop_assert!(verify_envelope_chain(&dropped, &expected(&lineup), &result()).is_err());
            if a != b {
                let mut swapped = chain.clone();
                swapped.swap(a, b);
                prop_assert!(verify_envelope_chain(&swapped, &expected(&lineup), &result()).is_err());
            }
        }

        /// The commitment binds both its fields: another result or another signer gives
        /// another commitment, so none passes for another's.
        #[test]
        fn a_commitment_changes_with_any_changed_field(
            result in any::<[u8; 32]>(), signer in any::<[u8; 32]>(), bit in 0usize..256, which in any::<bool>(),
        ) {
            let (result, signer) = (Hash(result), AccountId(signer));
            let (mut other_result, mut other_signer) = (result, signer);
            let flip = |bytes: &mut [u8; 32]| bytes[bit / 8] ^= 1 << (bit % 8);
            if which {
                flip(&mut other_result.0);
            } else {
                flip(&mut other_signer.0);
            }
            prop_assert_ne!(
                result_commitment(&result, &signer),
                result_commitment(&other_result, &other_signer)
            );
        }

        /// An honest chain settles only with the result its signers computed: any other
        /// revealed hash is refused at the offerer's envelope.
        #[test]
        fn only_the_computed_result_settles_an_honest_chain(hops in 0usize..=3, other in any::<[u8; 32]>()) {
            let (chain, lineup) = honest(hops);
            let other = Hash(other);
            prop_assume!(other != result());
            prop_assert_eq!(
                verify_envelope_chain(&chain, &expected(&lineup), &other),
                Err(LineupError::CommitmentMismatch { position: 0 })
            );
        }

        #[test]
        fn envelope_chain_codec_round_trips(hops in 0usize..=8) {
            let (chain, _) = honest(hops);
            prop_assert_eq!(decode_envelope_chain(&encode_envelope_chain(&chain)), Ok(chain));
        }

        #[test]
        fn envelope_chain_decoding_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
            let _ = decode_envelope_chain(&bytes);
        }
    }
}
