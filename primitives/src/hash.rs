//! The BLAKE3-256 hash that names blocks, transactions, scripts and state.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};

/// A BLAKE3-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Hash(pub [u8; 32]);

/// A hash given as text was not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a hash of 64 hexadecimal digits")]
pub struct HashParseError;

impl Hash {
    /// The all-zero hash, used as the parent of a genesis block.
    pub const ZERO: Hash = Hash([0; 32]);

    /// Hashes `bytes`.
    pub fn digest(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    /// Hashes `parts` under a domain tag, so that equal bytes hashed for different purposes
    /// never collide (a transaction can never be mistaken for a header).
    pub fn tagged(tag: &str, parts: &[&[u8]]) -> Hash {
        let mut hasher = blake3::Hasher::new_derive_key(tag);
        for part in parts {
            hasher.update(part);
        }
        Hash(*hasher.finalize().as_bytes())
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError)?;
        Ok(Hash(out))
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_hashes_differ_by_tag() {
        assert_ne!(Hash::tagged("a", &[b"x"]), Hash::tagged("b", &[b"x"]));
        assert_ne!(Hash::tagged("a", &[b"x"]), Hash::digest(b"x"));
    }

    #[test]
    fn hex_round_trip_and_rejects_bad_text() {
        let h = Hash::digest(b"bitverse");
        assert_eq!(h.to_hex().parse::<Hash>(), Ok(h));
        assert_eq!(format!("0x{h}").parse::<Hash>(), Ok(h));
        assert!("abc".parse::<Hash>().is_err());
        assert!("zz".repeat(32).parse::<Hash>().is_err());
    }
}
