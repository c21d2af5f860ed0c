//! The market's pure rules end to end, as the root's state transition will call them: quote,
//! lineup proof, draw, envelope chain, settlement split and ledger update, then a fresh quote
//! that reflects the settled work; and a lying offerer caught by its lineup.

use bitverse_pricing::{
    EVENT_WEIGHT, LedgerParams, QuoteParams, QuoteRequest, ReliabilityRecord, StakedNode, quote,
};
use bitverse_primitives::Signature;
use bitverse_primitives::{AccountId, Amount, Hash, SecretKey};
use bitverse_relay_lineup::{
    Envelope, ExpectedChain, LineupError, LineupProof, RelayerCandidate, check_commitments,
    check_conflict, check_lineup, draw_lineup, result_commitment, settlement_shares,
    verify_envelope_chain, verify_envelope_prefix,
};
use proptest::prelude::*;

const LEDGER: LedgerParams = LedgerParams::DEFAULT;
const PARAMS: QuoteParams = QuoteParams::DEFAULT;
const LINEUP_DIFFICULTY: u64 = 64;
const FUEL_BUDGET: u64 = 2_000_000;

struct Market {
    requester: SecretKey,
    offerer: SecretKey,
    offerer_record: ReliabilityRecord,
    relayer_keys: Vec<SecretKey>,
    relayers: Vec<StakedNode>,
}

fn market() -> Market {
    let relayer_keys: Vec<SecretKey> = (0..6)
        .map(|i| SecretKey::dev(&format!("relayer {i}")))
        .collect();
    let relayers = relayer_keys
        .iter()
        .enumerate()
        .map(|(i, key)| StakedNode {
            account: key.account(),
            stake: Amount(10_000 * (u128::try_from(i).unwrap() + 1)),
            record: ReliabilityRecord::default(),
        })
        .collect();
    Market {
        requester: SecretKey::dev("requester"),
        offerer: SecretKey::dev("offerer"),
        offerer_record: ReliabilityRecord::default(),
        relayer_keys,
        relayers,
    }
}

impl Market {
    fn quote_at(&self, height: u64) -> bitverse_pricing::PriceQuote {
        quote(
            &LEDGER,
            &PARAMS,
            &QuoteRequest {
                height,
                fuel_budget: FUEL_BUDGET,
                requester: self.requester.account(),
                offerer: self.offerer.account(),
                offerer_record: self.offerer_record,
                relayers: &self.relayers,
            },
        )
        .unwrap()
    }

    fn lineup(&self, bounty: Hash, height: u64, hops: usize) -> (LineupProof, Vec<AccountId>) {
        let finder = SecretKey::dev("finder").account();
        let proof = LineupProof::find(bounty, finder, LINEUP_DIFFICULTY, 0, 1_000_000).unwrap();
        let seed = proof.check(&bounty, LINEUP_DIFFICULTY).unwrap();
        let candidates: Vec<RelayerCandidate> = self
            .relayers
            .iter()
            .map(|r| RelayerCandidate::at_height(r, height, &LEDGER).unwrap())
            .collect();
        let excluded = [self.offerer.account(), self.requester.account()];
        let lineup = draw_lineup(&seed, &candidates, &excluded, hops).unwrap();
        check_lineup(&seed, &candidates, &excluded, &lineup).unwrap();
        (proof, lineup)
    }

    fn key_of(&self, account: &AccountId) -> &SecretKey {
        self.relayer_keys
            .iter()
            .find(|k| k.account() == *account)
            .unwrap()
    }
}

#[test]
fn a_settled_bounty_pays_every_role_exactly_and_improves_the_next_quote() {
    let mut market = market();
    let height = 1_000;
    let before = market.quote_at(height);
    assert_eq!(before.tiers.len(), 4, "hops 0 to 3 with six relayers");
    let tier = *before.tier(2).unwrap();

    let bounty = Hash::digest(b"bounty: filters/bw over erik/photos/1");
    let (proof, lineup) = market.lineup(bounty, height, usize::from(tier.hops));

    let result = Hash::digest(b"the grayscale png");
    let mut chain = vec![Envelope::offer(&market.offerer, bounty, result, 1_234_567)];
    for relayer in &lineup {
        let next = Envelope::relay(
            market.key_of(relayer),
            chain.last().unwrap(),
            result,
            1_234_567,
        );
        chain.push(next);
    }
    let expected = ExpectedChain {
        bounty,
        offerer: market.offerer.account(),
        lineup: &lineup,
        fuel_budget: FUEL_BUDGET,
    };
    // Before settlement the chain verifies as a prefix: linked, signed, one fuel.
    verify_envelope_prefix(&chain, &expected).unwrap();
    // Every relayer compared its own result with the commitments before it ...
    for position in 1..chain.len() {
        check_commitments(&chain[..position], &result).unwrap();
    }
    // ... and settlement, with the result hash revealed, checks every commitment.
    let verified = verify_envelope_chain(&chain, &expected, &result).unwrap();
    assert_eq!(verified.fuel_used, 1_234_567);

    let shares = settlement_shares(tier.price, lineup.len(), PARAMS.finder_share_ppm).unwrap();
    let payouts = shares
        .payouts(market.offerer.account(), &lineup, proof.finder)
        .unwrap();
    let paid = payouts
        .iter()
        .try_fold(Amount::ZERO, |sum, (_, part)| sum.checked_add(*part))
        .unwrap();
    assert_eq!(paid, tier.price);
    assert_eq!(payouts.len(), lineup.len() + 2);

    // The chain records the successes at the settlement height.
    let settled_at = height + 3;
    market
        .offerer_record
        .record_success(settled_at, 900, EVENT_WEIGHT, &LEDGER)
        .unwrap();
    for relayer in market
        .relayers
        .iter_mut()
        .filter(|r| lineup.contains(&r.account))
    {
        relayer
            .record
            .record_success(settled_at, 900, EVENT_WEIGHT, &LEDGER)
            .unwrap();
    }
    let after = market.quote_at(settled_at);
    assert!(after.tiers[0].undetected_error_ppm < before.tiers[0].undetected_error_ppm);
    for (a, b) in after.tiers.iter().zip(&before.tiers) {
        assert!(
            a.undetected_error_ppm <= b.undetected_error_ppm,
            "{a:?} vs {b:?}"
        );
        assert_eq!(a.price, b.price);
    }
}

#[test]
fn a_lying_offerer_is_caught_by_its_first_relayer_and_the_evidence_checks() {
    let market = market();
    let bounty = Hash::digest(b"bounty with a liar");
    let (_, lineup) = market.lineup(bounty, 1_000, 2);
    let truth = Hash::digest(b"true output");
    let lie = Hash::digest(b"flipped output");

    let offer = Envelope::offer(&market.offerer, bounty, lie, 500);
    let disagreement = Envelope::relay(market.key_of(&lineup[0]), &offer, truth, 500);
    let expected = ExpectedChain {
        bounty,
        offerer: market.offerer.account(),
        lineup: &lineup,
        fuel_budget: FUEL_BUDGET,
    };
    // The relayer finds the offerer's commitment is not to its own result ...
    assert_eq!(
        check_commitments(&[offer], &truth),
        Err(LineupError::CommitmentMismatch { position: 0 })
    );
    // ... and disputes, revealing its own result's hash: the evidence checks.
    assert_eq!(
        check_conflict(&offer, &disagreement, &truth, &expected),
        Ok(())
    );

    // A relayer that was not drawn cannot countersign in the lineup's place.
    let outsider = market
        .relayer_keys
        .iter()
        .find(|k| !lineup.contains(&k.account()))
        .unwrap();
    let forged = Envelope::relay(outsider, &offer, lie, 500);
    assert!(matches!(
        verify_envelope_prefix(&[offer, forged], &expected),
        Err(LineupError::WrongSigner { position: 1, .. })
    ));
}

/// A drawn relayer that signs without computing, from what it can see of the chain before it
/// (the offerer's envelope: its commitment and fuel, never the result nor its hash).
fn lazy_envelope(key: &SecretKey, previous: &Envelope, commitment: Hash) -> Envelope {
    let mut envelope = Envelope {
        bounty: previous.bounty,
        commitment,
        fuel_used: previous.fuel_used,
        signer: key.account(),
        previous: previous.hash(),
        signature: Signature([0; 64]),
    };
    envelope.signature = key.sign(&envelope.signing_hash());
    envelope
}

/// The strategies a relayer that never computed has: copy the offerer's commitment, derive
/// one from it, or guess the result's hash. None settles, and the next honest relayer sees it.
#[test]
fn a_relayer_that_never_computed_cannot_make_a_valid_envelope() {
    let market = market();
    let bounty = Hash::digest(b"bounty with a lazy relayer");
    let (_, lineup) = market.lineup(bounty, 1_000, 2);
    let result = Hash::digest(b"the true output");
    let expected = ExpectedChain {
        bounty,
        offerer: market.offerer.account(),
        lineup: &lineup,
        fuel_budget: FUEL_BUDGET,
    };
    let offer = Envelope::offer(&market.offerer, bounty, result, 500);
    let lazy = market.key_of(&lineup[0]);
    let guesses = [
        offer.commitment,
        Hash::digest(&offer.commitment.0),
        result_commitment(&offer.commitment, &lazy.account()),
        result_commitment(&Hash::digest(b""), &lazy.account()),
        result_commitment(&Hash::ZERO, &lazy.account()),
    ];
    for commitment in guesses {
        let copied = lazy_envelope(lazy, &offer, commitment);
        let honest = Envelope::relay(market.key_of(&lineup[1]), &copied, result, 500);
        let chain = [offer, copied, honest];
        assert!(verify_envelope_prefix(&chain, &expected).is_ok());
        assert_eq!(
            check_commitments(&chain[..2], &result),
            Err(LineupError::CommitmentMismatch { position: 1 }),
            "the next relayer sees it"
        );
        assert_eq!(
            verify_envelope_chain(&chain, &expected, &result),
            Err(LineupError::CommitmentMismatch { position: 1 }),
            "settlement refuses it"
        );
    }
    // Only the result's hash makes the relayer's commitment: computing it is the way.
    let computed = Envelope::relay(lazy, &offer, result, 500);
    let honest = Envelope::relay(market.key_of(&lineup[1]), &computed, result, 500);
    verify_envelope_chain(&[offer, computed, honest], &expected, &result).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever commitment a relayer signs without the result's hash, settlement refuses it.
    #[test]
    fn no_guessed_commitment_settles(guess in any::<[u8; 32]>()) {
        let market = market();
        let bounty = Hash::digest(b"bounty with a guessing relayer");
        let (_, lineup) = market.lineup(bounty, 1_000, 1);
        let result = Hash::digest(b"the true output");
        let lazy = market.key_of(&lineup[0]);
        prop_assume!(Hash(guess) != result_commitment(&result, &lazy.account()));
        let offer = Envelope::offer(&market.offerer, bounty, result, 500);
        let guessed = lazy_envelope(lazy, &offer, Hash(guess));
        let expected = ExpectedChain {
            bounty,
            offerer: market.offerer.account(),
            lineup: &lineup,
            fuel_budget: FUEL_BUDGET,
        };
        prop_assert_eq!(
            verify_envelope_chain(&[offer, guessed], &expected, &result),
            Err(LineupError::CommitmentMismatch { position: 1 })
        );
    }
}
