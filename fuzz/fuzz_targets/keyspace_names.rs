//! Keyspace names and keys as RPC, the CLI and transactions carry them (`KeyspaceName::new`,
//! `check_key`, `home_candidates`, `key_address`, and a `KeyspaceName` decoded from bytes):
//! no text panics; a valid key's candidates are names a keyspace can have (within
//! `KEYSPACE_NAME_BYTES_MAX`), longest first, each a prefix of the key ending before a `/`; a name is valid exactly when `name/x` is a valid key within the
//! key limit; addresses are deterministic and start with the keyspace's part.
#![no_main]

use bitverse_keyspace::{
    KEY_SIZE_BYTES_MAX, KEYSPACE_NAME_BYTES_MAX, KeyspaceName, check_key, home_candidates,
    key_address,
};
use bitverse_primitives::codec;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // A decoded name (it travels in state records): never panics, round-trips.
    if let Ok(name) = codec::decode::<KeyspaceName>(data) {
        assert_eq!(codec::encode(&name), data);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = KeyspaceName::new(text);
    if let Ok(name) = &name {
        assert!(name.as_str().len() <= KEYSPACE_NAME_BYTES_MAX);
        if let Some(parent) = name.parent() {
            assert!(
                KeyspaceName::new(parent.as_str()).is_ok(),
                "parent of {text:?}"
            );
        }
        let key = format!("{text}/x");
        assert!(check_key(&key).is_ok(), "{key:?} under a valid keyspace");
    }
    match check_key(text) {
        Ok(()) => {
            assert!(text.len() <= KEY_SIZE_BYTES_MAX);
            let candidates = match home_candidates(text) {
                Ok(candidates) => candidates,
                Err(e) => panic!("a valid key {text:?} has no candidates: {e}"),
            };
            let mut longer = usize::MAX;
            for candidate in &candidates {
                let s = candidate.as_str();
                assert!(KeyspaceName::new(s).is_ok(), "candidate {s:?} of {text:?}");
                assert!(text.starts_with(s) && text.as_bytes().get(s.len()) == Some(&b'/'));
                assert!(s.len() < longer, "candidates longest first");
                longer = s.len();
                let address = key_address(candidate, text);
                assert_eq!(address, key_address(candidate, text));
                let (high, _) = address.split_at(16);
                let other = key_address(candidate, "other/key");
                assert_eq!(high, &other[..16], "a keyspace's keys share its half");
            }
        }
        Err(_) => assert!(home_candidates(text).is_err()),
    }
});
