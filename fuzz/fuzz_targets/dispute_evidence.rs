//! A dispute's evidence as a `Dispute` transaction carries it (the bounty, two envelopes and the
//! result hash the second commits to, decoded under `TX_SIZE_BYTES_MAX`) and each envelope
//! alone: no input panics; what decodes is canonical and round-trips; `check_conflict` against
//! the participants the evidence names never panics, accepts only evidence whose second
//! envelope commits to the revealed hash and whose first does not, and refuses two envelopes
//! of one signer with one commitment (one result).
#![no_main]

use bitverse_blocktree::TX_SIZE_BYTES_MAX;
use bitverse_fuzz::assert_canonical;
use bitverse_primitives::{Hash, codec};
use bitverse_relay_lineup::{Envelope, ExpectedChain, check_conflict};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = codec::decode_with_limit::<Envelope, TX_SIZE_BYTES_MAX>(data) {
        assert_canonical("envelope", data, &envelope, TX_SIZE_BYTES_MAX);
        let _ = envelope.signature_is_valid();
    }
    let Ok(evidence) =
        codec::decode_with_limit::<(Hash, Envelope, Envelope, Hash), TX_SIZE_BYTES_MAX>(data)
    else {
        return;
    };
    assert_canonical("dispute evidence", data, &evidence, TX_SIZE_BYTES_MAX);
    let (bounty, first, second, revealed) = evidence;
    let lineup = [second.signer];
    let expected = ExpectedChain {
        bounty,
        offerer: first.signer,
        lineup: &lineup,
        fuel_budget: first.fuel_used.max(second.fuel_used),
    };
    let verdict = check_conflict(&first, &second, &revealed, &expected);
    if verdict.is_ok() {
        assert!(
            second.commits_to(&revealed),
            "accepted an unopened commitment"
        );
        assert!(
            !first.commits_to(&revealed),
            "accepted two commitments to one result"
        );
    }
    if first.signer == second.signer && first.commitment == second.commitment {
        assert!(
            verdict.is_err(),
            "one signer's one result taken as a conflict"
        );
    }
});
