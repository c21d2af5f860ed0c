//! Envelope chains as `Settle` and the market's result messages carry them
//! (`decode_envelope_chain`, limits `ENVELOPE_CHAIN_SIZE_BYTES_MAX` and
//! `ENVELOPE_CHAIN_LEN_MAX`): no input panics; what decodes is canonical (through
//! `encode_envelope_chain`), round-trips and within both limits; verifying it, as a prefix or
//! whole, against the bounty, offerer and lineup it names itself (and against a lineup cut
//! short) never panics, and a verified chain's figures are its first envelope's; whole, with
//! the result hash the first envelope would commit to for its own signer's bytes (the input
//! hashed), it settles only if every envelope commits to that hash.
#![no_main]

use bitverse_primitives::Hash;
use bitverse_relay_lineup::{
    ENVELOPE_CHAIN_LEN_MAX, ENVELOPE_CHAIN_SIZE_BYTES_MAX, ExpectedChain, decode_envelope_chain,
    encode_envelope_chain, verify_envelope_chain, verify_envelope_prefix,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(chain) = decode_envelope_chain(data) else {
        return;
    };
    assert!(data.len() <= ENVELOPE_CHAIN_SIZE_BYTES_MAX);
    assert!(chain.len() <= ENVELOPE_CHAIN_LEN_MAX);
    assert_eq!(encode_envelope_chain(&chain), data, "re-encoding differs");
    assert_eq!(
        decode_envelope_chain(&encode_envelope_chain(&chain)).ok(),
        Some(chain.clone())
    );
    let Some(first) = chain.first() else {
        return;
    };
    let lineup: Vec<_> = chain.iter().skip(1).map(|e| e.signer).collect();
    for cut in [lineup.len(), lineup.len().saturating_sub(1)] {
        let expected = ExpectedChain {
            bounty: first.bounty,
            offerer: first.signer,
            lineup: lineup.get(..cut).unwrap_or(&lineup),
            fuel_budget: first.fuel_used,
        };
        if let Ok(verified) = verify_envelope_prefix(&chain, &expected) {
            assert_eq!(verified.fuel_used, first.fuel_used);
            assert_eq!(verified.signers, chain.len());
            assert_eq!(
                verified.tip,
                chain.last().map(|e| e.hash()).unwrap_or_default()
            );
        }
        for revealed in [Hash::digest(data), first.commitment] {
            if verify_envelope_chain(&chain, &expected, &revealed).is_ok() {
                assert!(chain.iter().all(|e| e.commits_to(&revealed)));
            }
        }
    }
});
