//! Envelopes: the signed chain that carries a result from the offerer through every relayer
//! of the lineup to the requester, and on to `Settle`.
//!
//! The offerer signs an attestation (bounty id, result hash, fuel used, its account, and the
//! zero hash as `previous`). Each relayer, once its own computation gives the same result,
//! signs its attestation with `previous` set to the hash of the envelope before it — a hash
//! that covers that envelope's signature, so the chain is fixed link by link. A relayer whose
//! result differs signs its own result instead: its envelope and the offerer's are then the
//! evidence of a dispute ([`check_conflict`]).
//!
//! - signed message: `H_tagged("bitverse envelope v1", encode(bounty, result_hash, fuel_used,
//!   signer, previous))`, BIP-340;
//! - link: `H_tagged("bitverse envelope link v1", encode(envelope))`.
//!
//! A verifier ([`verify_envelope_chain`]) checks, envelope by envelope in order: the bounty,
//! the signer (the offerer first, then the lineup in draw order), the link, the signature, the
//! result hash (one for the whole chain), the fuel (equal to the offerer's, and within the
//! budget). The first failure is reported with its position.

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

/// One signed step of a result's journey from the offerer through each relayer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    /// The bounty.
    pub bounty: Hash,
    /// Hash of the result the signer computed.
    pub result_hash: Hash,
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
            self.result_hash,
            self.fuel_used,
            self.signer,
            self.previous,
        );
        Hash::tagged("bitverse envelope v1", &[&codec::encode(&attestation)])
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
        let mut envelope = Envelope {
            bounty,
            result_hash,
            fuel_used,
            signer: key.account(),
            previous,
            signature: Signature([0; 64]),
        };
        envelope.signature = key.sign(&envelope.signing_hash());
        envelope
    }

    /// The offerer's envelope: the first of a chain.
    pub fn offer(key: &SecretKey, bounty: Hash, result_hash: Hash, fuel_used: u64) -> Envelope {
        Envelope::signed(key, bounty, result_hash, fuel_used, Hash::ZERO)
    }

    /// A relayer's envelope after `previous`, attesting the result and fuel the relayer's own
    /// computation gave (equal to `previous`'s for a chain that settles; different for the
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
    /// The result every signer attested.
    pub result_hash: Hash,
    /// The fuel every signer attested.
    pub fuel_used: u64,
    /// Envelopes verified.
    pub signers: usize,
    /// The hash of the last envelope: what the next relayer links to.
    pub tip: Hash,
}

/// Verifies a chain that may stop before the end of the lineup: what a relayer checks before
/// adding its own envelope. See the module docs for the order of the checks.
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
        if envelope.result_hash != first.result_hash {
            return Err(LineupError::ResultMismatch { position });
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
        result_hash: first.result_hash,
        fuel_used: first.fuel_used,
        signers: chain.len(),
        tip: previous,
    })
}

/// Verifies a complete chain, one envelope from the offerer and one from every relayer of the
/// lineup: what `Settle` and the requester check.
pub fn verify_envelope_chain(
    chain: &[Envelope],
    expected: &ExpectedChain<'_>,
) -> Result<VerifiedChain, LineupError> {
    let verified = verify_envelope_prefix(chain, expected)?;
    if verified.signers < expected.participants() {
        return Err(LineupError::ChainIncomplete {
            length: verified.signers,
            expected: expected.participants(),
        });
    }
    Ok(verified)
}

/// Checks the evidence of a dispute: two envelopes for the bounty, each validly signed by a
/// participant (the offerer or a relayer of the lineup), attesting different results. Which of
/// them is wrong is for re-execution to decide.
pub fn check_conflict(
    first: &Envelope,
    second: &Envelope,
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
    if first.result_hash == second.result_hash {
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
            let verified = verify_envelope_chain(&chain, &expected(&lineup)).unwrap();
            assert_eq!(verified.result_hash, result());
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
            verify_envelope_chain(&chain[..2], &expected(&lineup)),
            Err(LineupError::ChainIncomplete {
                length: 2,
                expected: 4
            })
        );
        assert_eq!(
            verify_envelope_chain(&[], &expected(&lineup)),
            Err(LineupError::EmptyChain)
        );
    }

    #[test]
    fn a_chain_longer_than_its_lineup_is_refused() {
        let (mut chain, lineup) = honest(2);
        let extra = Envelope::relay(&key("stranger"), chain.last().unwrap(), result(), 4_242);
        chain.push(extra);
        assert_eq!(
            verify_envelope_chain(&chain, &expected(&lineup)),
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
            verify_envelope_chain(&[offer, second_first, first_second], &expected(&lineup)),
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
            verify_envelope_chain(&[offer, stranger], &expected(&lineup)),
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
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        let disagree = Envelope::relay(&key("relayer 0"), &offer, Hash::digest(b"other"), 4_242);
        assert_eq!(
            verify_envelope_chain(&[offer, disagree], &expected(&lineup)),
            Err(LineupError::ResultMismatch { position: 1 })
        );
        assert_eq!(
            check_conflict(&offer, &disagree, &expected(&lineup)),
            Ok(())
        );
        let agree = Envelope::relay(&key("relayer 0"), &offer, result(), 4_242);
        assert_eq!(
            check_conflict(&offer, &agree, &expected(&lineup)),
            Err(LineupError::NoConflict)
        );
        let stranger = Envelope::relay(&key("stranger"), &offer, Hash::digest(b"other"), 1);
        assert_eq!(
            check_conflict(&offer, &stranger, &expected(&lineup)),
            Err(LineupError::NotAParticipant(key("stranger").account()))
        );
        let mut forged = disagree;
        forged.result_hash = Hash::digest(b"third");
        assert_eq!(
            check_conflict(&offer, &forged, &expected(&lineup)),
            Err(LineupError::BadSignature { position: 1 })
        );
    }

    #[test]
    fn other_fuel_and_fuel_over_budget_are_refused() {
        let (_, lineup) = honest(1);
        let offer = Envelope::offer(&key("offerer"), bounty(), result(), 4_242);
        let other_fuel = Envelope::relay(&key("relayer 0"), &offer, result(), 4_243);
        assert_eq!(
            verify_envelope_chain(&[offer, other_fuel], &expected(&lineup)),
            Err(LineupError::FuelMismatch { position: 1 })
        );
        let greedy = Envelope::offer(&key("offerer"), bounty(), result(), BUDGET + 1);
        assert_eq!(
            verify_envelope_chain(&[greedy], &expected(&[])),
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
            verify_envelope_chain(&[offer], &expected(&[])),
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
            1 => flip(&mut envelope.result_hash.0),
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
            prop_assert!(verify_envelope_chain(&chain, &expected(&lineup)).is_err());
            prop_assert!(verify_envelope_prefix(&chain, &expected(&lineup)).is_err());
        }

        #[test]
        fn dropping_or_swapping_envelopes_is_refused(hops in 1usize..=3, a in any::<proptest::sample::Index>(), b in any::<proptest::sample::Index>()) {
            let (chain, lineup) = honest(hops);
            let (a, b) = (a.index(chain.len()), b.index(chain.len()));
            let mut dropped = chain.clone();
            dropped.remove(a);
            prop_assert!(verify_envelope_chain(&dropped, &expected(&lineup)).is_err());
            if a != b {
                let mut swapped = chain.clone();
                swapped.swap(a, b);
                prop_assert!(verify_envelope_chain(&swapped, &expected(&lineup)).is_err());
            }
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
