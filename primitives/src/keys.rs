//! BIP-340 Schnorr keys and signatures over secp256k1, and accounts shown as bech32m `bv1…`.

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use bincode::{Decode, Encode};
use k256::schnorr::{SigningKey, VerifyingKey};

use crate::Hash;

/// The human-readable part of every account address.
const ACCOUNT_HRP: &str = "bv";

/// An account: the 32-byte x-only BIP-340 public key that controls it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct AccountId(pub [u8; 32]);

/// A 64-byte BIP-340 Schnorr signature.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

/// A secret signing key. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

/// A key or signature that does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not a valid secret scalar.
    #[error("invalid secret key")]
    InvalidSecret,
    /// The account is not a valid x-only public key.
    #[error("account is not a valid public key")]
    InvalidPublicKey,
    /// The signature does not verify for this message and account.
    #[error("bad signature")]
    BadSignature,
}

/// An address given as text is not a `bv1…` bech32m account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {text:?}: {reason}")]
pub struct AccountParseError {
    text: String,
    reason: &'static str,
}

impl SecretKey {
    /// A key from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<SecretKey, KeyError> {
        SigningKey::from_bytes(bytes)
            .map(SecretKey)
            .map_err(|_| KeyError::InvalidSecret)
    }

    /// A key from a 32-byte seed; the seed is rehashed until it is a valid scalar, which for a
    /// uniformly random seed happens on the first try with overwhelming probability.
    pub fn from_seed(seed: &[u8]) -> SecretKey {
        let mut candidate = Hash::tagged("bitverse secret key v1", &[seed]);
        loop {
            if let Ok(key) = SecretKey::from_bytes(&candidate.0) {
                return key;
            }
            candidate = Hash::digest(&candidate.0);
        }
    }

    /// The well-known development key named `name` (`alice`, `bob`, …). Anyone can derive it:
    /// it guards nothing but dev and local networks.
    pub fn dev(name: &str) -> SecretKey {
        SecretKey::from_seed(format!("dev:{name}").as_bytes())
    }

    /// The 32 secret bytes, for writing a key file.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The account this key controls.
    pub fn account(&self) -> AccountId {
        AccountId(self.0.verifying_key().to_bytes().into())
    }

    /// Signs a 32-byte message digest. The auxiliary randomness is derived from the key and the
    /// message, so signing is deterministic and needs no random source.
    pub fn sign(&self, message: &Hash) -> Signature {
        let aux = Hash::tagged("bitverse signing aux v1", &[&self.to_bytes(), &message.0]);
        // sign_raw fails only for a message the curve cannot sign, which a 32-byte digest never is.
        match self.0.sign_raw(&message.0, &aux.0) {
            Ok(sig) => Signature(sig.to_bytes()),
            Err(_) => Signature([0; 64]),
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.account())
    }
}

impl AccountId {
    /// Checks that `signature` signs `message` for this account.
    pub fn verify(&self, message: &Hash, signature: &Signature) -> Result<(), KeyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::InvalidPublicKey)?;
        let sig = k256::schnorr::Signature::try_from(&signature.0[..])
            .map_err(|_| KeyError::BadSignature)?;
        key.verify_raw(&message.0, &sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The account as `bv1…` bech32m text.
    pub fn to_bech32(&self) -> String {
        // The HRP is a valid constant and 32 bytes are far below bech32m's length limit.
        match Hrp::parse(ACCOUNT_HRP) {
            Ok(hrp) => bech32::encode::<Bech32m>(hrp, &self.0).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_bech32())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_bech32())
    }
}

impl FromStr for AccountId {
    type Err = AccountParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason| AccountParseError {
            text: s.to_owned(),
            reason,
        };
        let checked = CheckedHrpstring::new::<Bech32m>(s)
            .map_err(|_| fail("not bech32m text with a valid checksum"))?;
        if checked.hrp().as_str() != ACCOUNT_HRP {
            return Err(fail("prefix is not `bv`"));
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| fail("payload is not 32 bytes"))?;
        Ok(AccountId(bytes))
    }
}

impl serde::Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_bech32())
    }
}

impl<'de> serde::Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dev_keys_are_stable_and_distinct() {
        assert_eq!(
            SecretKey::dev("alice").account(),
            SecretKey::dev("alice").account()
        );
        assert_ne!(
            SecretKey::dev("alice").account(),
            SecretKey::dev("bob").account()
        );
    }

    #[test]
    fn address_round_trips_and_rejects_other_text() {
        let account = SecretKey::dev("alice").account();
        let text = account.to_string();
        assert!(text.starts_with("bv1"), "{text}");
        assert_eq!(text.parse::<AccountId>(), Ok(account));
        assert!(
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
                .parse::<AccountId>()
                .is_err()
        );
        let mut broken = text.clone();
        broken.pop();
        broken.push(if text.ends_with('q') { 'p' } else { 'q' });
        assert!(broken.parse::<AccountId>().is_err());
    }

    proptest! {
        #[test]
        fn signatures_verify_and_tampering_fails(seed in any::<[u8; 32]>(), msg in any::<[u8; 32]>(), flip in 0usize..64) {
            let key = SecretKey::from_seed(&seed);
            let message = Hash(msg);
            let sig = key.sign(&message);
            prop_assert_eq!(key.account().verify(&message, &sig), Ok(()));
            let mut bad = sig;
            bad.0[flip] ^= 1;
            prop_assert!(key.account().verify(&message, &bad).is_err());
            let mut other = msg;
            other[flip % 32] ^= 1;
            prop_assert!(key.account().verify(&Hash(other), &sig).is_err());
        }
    }
}
