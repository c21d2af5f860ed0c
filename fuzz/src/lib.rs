//! What the fuzz targets share: the round-trip oracle every decoder target applies, and the
//! state-transition driver ([`state`]) behind the `state_transition` target. See
//! `docs/FUZZING.md` for the targets, the seed corpora and how to run them.

use std::fmt::Debug;

use bincode::{Decode, Encode};
use bitverse_primitives::codec;

// The instrumented code calls libFuzzer's coverage hooks: a test binary of this crate links its
// runtime (not its `main`).
#[cfg(test)]
use libfuzzer_sys as _;

pub mod ops;
pub mod state;

/// Checks what a canonical decoder promises of `value`, decoded from `bytes` under a limit of
/// `limit_bytes`: the input was within the limit; encoding the value gives back exactly the
/// input (one encoding per value, so ids over re-encoded bytes cannot be malleated); and
/// decoding that encoding gives back the value.
pub fn assert_canonical<T>(what: &str, bytes: &[u8], value: &T, limit_bytes: usize)
where
    T: Encode + Decode<()> + PartialEq + Debug,
{
    assert!(
        bytes.len() <= limit_bytes,
        "{what}: {} bytes decoded over a limit of {limit_bytes}",
        bytes.len()
    );
    let encoded = codec::encode(value);
    assert_eq!(encoded, bytes, "{what}: re-encoding differs from the input");
    let back: T = match codec::decode(&encoded) {
        Ok(back) => back,
        Err(e) => panic!("{what}: its own encoding does not decode: {e}"),
    };
    assert_eq!(&back, value, "{what}: decode(encode(x)) != x");
}
