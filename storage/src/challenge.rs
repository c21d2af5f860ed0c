//! Challenge keys (issue 19 §3, background text 001, `docs/STORAGE.md` "Challenges"): a key
//! pair that only a holder of a whole shard can derive, so that a payment locked to its public
//! key can be claimed only by someone who still holds every byte of the shard.
//!
//! The secret key is derived from a BLAKE3 hash of the shard **keyed by the nonce**: with the
//! nonce as the key, nothing about the shard can be hashed ahead of it, so a storer that
//! deleted the shard after hashing it cannot keep a few chaining values and answer later (an
//! unkeyed `H(shard ‖ nonce)` would let it keep the hash state of the shard's end). The
//! publisher derives each nonce from its own secret (`challenge_nonce`), so it can compute
//! every public key of its schedule while it has the file, delete the file, and still post
//! challenges years later; a storer learns a nonce only when its challenge is posted.
//!
//! A claim does not reveal the secret: it is a signature by the derived key over
//! [`claim_message`], which names the claiming account, and the chain also requires the claim
//! to come from the shard's assigned storer. A reader who once fetched the shard can derive the
//! key too, but cannot sign as the storer.

use std::io::{self, Read, Write};

use bitverse_primitives::{AccountId, Hash, SecretKey};

/// The BLAKE3 derive-key context of the hash key made from a nonce.
const KEY_CONTEXT: &str = "bitverse 2026-12 shard challenge key v1";
/// The tag of a nonce derived from a publisher's secret.
const NONCE_TAG: &str = "bitverse 2026-12 shard challenge nonce v1";
/// The tag of the message a claim signs.
const CLAIM_TAG: &str = "bitverse 2026-12 shard challenge claim v1";
/// The bytes read at a time when hashing a shard from a reader.
const READ_BYTES: usize = 1 << 20;

/// The nonce of challenge `index` of shard `shard` of a blob whose schedule has `salt`,
/// derived from the publisher's secret `seed` (its key's 32 bytes): the same inputs give the
/// same nonce, so the wallet that made a schedule can make it again.
pub fn challenge_nonce(seed: &[u8; 32], salt: &Hash, shard: u8, index: u32) -> Hash {
    Hash::tagged(NONCE_TAG, &[seed, &salt.0, &[shard], &index.to_le_bytes()])
}

/// The message a claim of the challenge with `nonce` on shard `shard` of blob `blob` signs,
/// naming the account that claims it: a signature for one account pays no other.
pub fn claim_message(blob: &Hash, shard: u8, nonce: &Hash, claimer: &AccountId) -> Hash {
    Hash::tagged(CLAIM_TAG, &[&blob.0, &[shard], &nonce.0, &claimer.0])
}

/// Hashes one shard's bytes, as they stream past once, under several nonces at a time: the
/// publisher computes a whole schedule's keys for a shard in the pass that encodes it.
pub struct ChallengeKeyer {
    hashers: Vec<blake3::Hasher>,
}

impl ChallengeKeyer {
    /// A keyer for the challenges with these nonces.
    pub fn new(nonces: &[Hash]) -> ChallengeKeyer {
        ChallengeKeyer {
            hashers: nonces
                .iter()
                .map(|nonce| {
                    let key = blake3::derive_key(KEY_CONTEXT, &nonce.0);
                    blake3::Hasher::new_keyed(&key)
                })
                .collect(),
        }
    }

    /// Feeds the next bytes of the shard.
    pub fn update(&mut self, bytes: &[u8]) {
        for hasher in &mut self.hashers {
            hasher.update(bytes);
        }
    }

    /// The secret key of each challenge, in the order of the nonces.
    pub fn finish(self) -> Vec<SecretKey> {
        self.hashers
            .iter()
            .map(|hasher| SecretKey::from_seed(hasher.finalize().as_bytes()))
            .collect()
    }
}

impl Write for ChallengeKeyer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The secret key of the challenge with `nonce`, from the whole shard read from `shard`: what
/// a storer computes to claim it.
pub fn challenge_secret(nonce: &Hash, mut shard: impl Read) -> io::Result<SecretKey> {
    let mut keyer = ChallengeKeyer::new(std::slice::from_ref(nonce));
    let mut buffer = vec![0u8; READ_BYTES];
    loop {
        let read = match shard.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        keyer.update(buffer.get(..read).unwrap_or_default());
    }
    keyer
        .finish()
        .pop()
        .ok_or_else(|| io::Error::other("a keyer of one nonce made no key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shard(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn the_key_a_storer_derives_from_the_shard_is_the_one_the_publisher_derived_in_its_pass() {
        let seed = [7u8; 32];
        let content = Hash::digest(b"file");
        let nonces: Vec<Hash> = (0..4)
            .map(|i| challenge_nonce(&seed, &content, 2, i))
            .collect();
        let bytes = shard(3 * READ_BYTES + 1234, 1);
        let mut keyer = ChallengeKeyer::new(&nonces);
        // In pieces of an odd size, as an encoder writes them.
        for piece in bytes.chunks(65_537) {
            keyer.write_all(piece).unwrap();
        }
        let keys = keyer.finish();
        for (nonce, key) in nonces.iter().zip(&keys) {
            let derived = challenge_secret(nonce, bytes.as_slice()).unwrap();
            assert_eq!(derived.account(), key.account());
        }
        let accounts: std::collections::BTreeSet<_> = keys.iter().map(|k| k.account()).collect();
        assert_eq!(accounts.len(), 4, "each nonce gives its own key");
    }

    #[test]
    fn a_claim_signature_is_for_one_claimer_only() {
        let key = challenge_secret(&Hash::digest(b"n"), &b"shard"[..]).unwrap();
        let blob = Hash::digest(b"blob");
        let nonce = Hash::digest(b"n");
        let storer = SecretKey::dev("storer").account();
        let reader = SecretKey::dev("reader").account();
        let signature = key.sign(&claim_message(&blob, 0, &nonce, &storer));
        key.account()
            .verify(&claim_message(&blob, 0, &nonce, &storer), &signature)
            .unwrap();
        assert!(
            key.account()
                .verify(&claim_message(&blob, 0, &nonce, &reader), &signature)
                .is_err()
        );
        assert!(
            key.account()
                .verify(&claim_message(&blob, 1, &nonce, &storer), &signature)
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn any_changed_byte_or_nonce_changes_the_key(
            len in 1usize..4096,
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            n in any::<[u8; 32]>(),
        ) {
            let nonce = Hash(n);
            let bytes = shard(len, 3);
            let key = challenge_secret(&nonce, bytes.as_slice()).unwrap().account();
            let mut changed = bytes.clone();
            changed[at.index(len)] ^= flip;
            prop_assert_ne!(challenge_secret(&nonce, changed.as_slice()).unwrap().account(), key);
            let other = Hash::digest(&n);
            prop_assert_ne!(challenge_secret(&other, bytes.as_slice()).unwrap().account(), key);
            // A shard cut short is not the shard.
            prop_assert_ne!(
                challenge_secret(&nonce, &bytes[..len - 1]).unwrap().account(),
                key
            );
        }
    }
}
