//! The primitives' decoders of outside text and bytes: amounts (`Amount::from_str` as the wire
//! carries them, `Amount::from_user_text` as people type them), chain ids, hashes and accounts
//! (bech32m) from text; chain ids, accounts, amounts and signatures from canonical bytes; and
//! a signature check over arbitrary key and signature bytes. No input panics; every value that
//! parses prints back to text that parses to it again, and every decoded value is canonical.
#![no_main]

use bitverse_fuzz::assert_canonical;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, Signature, codec};

fn canonical_if_decodes<T>(what: &str, data: &[u8])
where
    T: bincode::Encode + bincode::Decode<()> + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = codec::decode::<T>(data) {
        assert_canonical(what, data, &value, codec::DECODE_SIZE_BYTES_MAX);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    canonical_if_decodes::<ChainId>("chain id", data);
    canonical_if_decodes::<AccountId>("account", data);
    canonical_if_decodes::<Amount>("amount", data);
    canonical_if_decodes::<Signature>("signature", data);
    if let Some((head, rest)) = data.split_first_chunk::<32>()
        && let Some((sig, msg)) = rest.split_first_chunk::<64>()
    {
        let message = Hash::digest(msg);
        let _ = AccountId(*head).verify(&message, &Signature(*sig));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(amount) = text.parse::<Amount>() {
        assert_eq!(amount.to_string().parse::<Amount>().ok(), Some(amount));
    }
    if let Ok(amount) = Amount::from_user_text(text) {
        let coins = amount.coins().to_string();
        assert_eq!(
            Amount::from_user_text(&coins).ok(),
            Some(amount),
            "{coins:?}"
        );
    }
    if let Ok(chain) = text.parse::<ChainId>() {
        assert_eq!(chain.to_string().parse::<ChainId>().ok(), Some(chain));
        if let Some(parent) = chain.parent() {
            assert!(parent.children().is_some_and(|c| c.contains(&chain)));
        }
    }
    if let Ok(hash) = text.parse::<Hash>() {
        assert_eq!(hash.to_string().parse::<Hash>().ok(), Some(hash));
    }
    if let Ok(account) = text.parse::<AccountId>() {
        assert_eq!(account.to_string().parse::<AccountId>().ok(), Some(account));
    }
});
