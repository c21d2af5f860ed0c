//! A dispute's evidence as a `Dispute` transaction carries it (the bounty and two envelopes,
//! decoded under `TX_SIZE_BYTES_MAX`) and each envelope alone: no input panics; what decodes is
//! canonical and round-trips; `check_conflict` against the participants the evidence names
//! never panics, refuses two envelopes of one result, and gives the same verdict whichever
//! envelope comes first (a signer cannot escape by choosing the order).
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
        codec::decode_with_limit::<(Hash, Envelope, Envelope), TX_SIZE_BYTES_MAX>(data)
    else {
        return;
    };
    assert_canonical("dispute evidence", data, &evidence, TX_SIZE_BYTES_MAX);
    let (bounty, first, second) = evidence;
    let lineup = [second.signer];
    let expected = ExpectedChain {
        bounty,
        offerer: first.signer,
        lineup: &lineup,
        fuel_budget: first.fuel_used.max(second.fuel_used),
    };
    let forward = check_conflict(&first, &second, &expected);
    let backward = check_conflict(&second, &first, &expected);
    if first.result_hash == second.result_hash {
        assert!(forward.is_err() && backward.is_err());
    }
    assert_eq!(
        forward.is_ok(),
        backward.is_ok(),
        "the evidence's order changes the verdict: {forward:?} / {backward:?}"
    );
});
