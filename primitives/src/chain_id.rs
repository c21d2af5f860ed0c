//! Chain ids: a chain's place in the blocktree, as a depth and the bit prefix it covers.

use std::fmt;
use std::str::FromStr;

use bincode::de::Decoder;
use bincode::error::DecodeError;
use bincode::{Decode, Encode};

/// The deepest chain the blocktree may hold. 64 levels give 2^64 leaf chains, far beyond any
/// network's needs, and let the prefix live in one `u64`.
pub const DEPTH_MAX: u8 = 64;

/// A chain of the blocktree: the `depth` first bits of the address space, equal to `prefix`.
///
/// The prefix is kept in the low `depth` bits of a `u64`, most significant bit first, and every
/// bit above them is zero, so each chain has exactly one encoding. The root chain is depth 0.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode)]
pub struct ChainId {
    depth: u8,
    prefix: u64,
}

/// A chain id that names no chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainIdError {
    /// Deeper than [`DEPTH_MAX`].
    #[error("chain depth {0} exceeds the maximum of {DEPTH_MAX}")]
    TooDeep(usize),
    /// The prefix has bits set beyond its depth.
    #[error("chain prefix has bits beyond its depth")]
    PrefixOutOfRange,
    /// The text is neither `root` nor a string of `0` and `1`.
    #[error("invalid chain id {0:?}: expected `root` or a bit string such as `0110`")]
    Parse(String),
}

impl ChainId {
    /// The root chain: the settlement layer, depth 0.
    pub const ROOT: ChainId = ChainId {
        depth: 0,
        prefix: 0,
    };

    /// The chain at `depth` whose prefix is the low `depth` bits of `prefix`.
    pub fn new(depth: u8, prefix: u64) -> Result<ChainId, ChainIdError> {
        if depth > DEPTH_MAX {
            return Err(ChainIdError::TooDeep(usize::from(depth)));
        }
        if depth < 64 && prefix >> depth != 0 {
            return Err(ChainIdError::PrefixOutOfRange);
        }
        Ok(ChainId { depth, prefix })
    }

    /// Depth in the tree; 0 for the root.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The prefix bits, in the low `depth` bits.
    pub fn prefix(&self) -> u64 {
        self.prefix
    }

    /// Whether this is the root chain.
    pub fn is_root(&self) -> bool {
        self.depth == 0
    }

    /// The chain at `depth` that holds `address`: the first `depth` bits of the address
    /// (DESIGN §2). `None` deeper than [`DEPTH_MAX`].
    pub fn of_address(address: &[u8; 32], depth: u8) -> Option<ChainId> {
        if depth > DEPTH_MAX {
            return None;
        }
        let mut top = [0u8; 8];
        top.copy_from_slice(address.get(..8)?);
        let bits = u64::from_be_bytes(top);
        let prefix = bits
            .checked_shr(64u32.checked_sub(u32::from(depth))?)
            .unwrap_or(0);
        ChainId::new(depth, prefix).ok()
    }

    /// The chain this one is a child of; `None` for the root.
    pub fn parent(&self) -> Option<ChainId> {
        let depth = self.depth.checked_sub(1)?;
        Some(ChainId {
            depth,
            prefix: self.prefix >> 1,
        })
    }

    /// The two children, `…0` then `…1`; `None` at [`DEPTH_MAX`].
    pub fn children(&self) -> Option<[ChainId; 2]> {
        let depth = self.depth.checked_add(1).filter(|d| *d <= DEPTH_MAX)?;
        let left = self.prefix.checked_shl(1)?;
        Some([
            ChainId {
                depth,
                prefix: left,
            },
            ChainId {
                depth,
                prefix: left | 1,
            },
        ])
    }

    /// This chain and its ancestors up to the root, this one first.
    pub fn path_to_root(&self) -> Vec<ChainId> {
        let mut path = vec![*self];
        let mut cursor = *self;
        while let Some(parent) = cursor.parent() {
            path.push(parent);
            cursor = parent;
        }
        path
    }

    /// Fixed-width bytes naming the chain (depth, then the prefix big-endian): storage
    /// prefixes, genesis derivation. No chain's bytes are a prefix of another's.
    pub fn to_bytes(&self) -> [u8; 9] {
        let mut bytes = [0u8; 9];
        let (depth, prefix) = bytes.split_at_mut(1);
        depth.copy_from_slice(&[self.depth]);
        prefix.copy_from_slice(&self.prefix.to_be_bytes());
        bytes
    }
}

impl<Context> Decode<Context> for ChainId {
    fn decode<D: Decoder<Context = Context>>(decoder: &mut D) -> Result<Self, DecodeError> {
        let depth = u8::decode(decoder)?;
        let prefix = u64::decode(decoder)?;
        ChainId::new(depth, prefix).map_err(|_| DecodeError::Other("invalid chain id"))
    }
}
bincode::impl_borrow_decode!(ChainId);

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.depth == 0 {
            return f.write_str("root");
        }
        for bit in (0..self.depth).rev() {
            f.write_str(if (self.prefix >> bit) & 1 == 1 {
                "1"
            } else {
                "0"
            })?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({self})")
    }
}

impl FromStr for ChainId {
    type Err = ChainIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "root" {
            return Ok(ChainId::ROOT);
        }
        if s.is_empty() || !s.bytes().all(|b| b == b'0' || b == b'1') {
            return Err(ChainIdError::Parse(s.to_owned()));
        }
        let depth = u8::try_from(s.len()).map_err(|_| ChainIdError::TooDeep(s.len()))?;
        if depth > DEPTH_MAX {
            return Err(ChainIdError::TooDeep(s.len()));
        }
        let prefix = s
            .bytes()
            .fold(0u64, |acc, b| (acc << 1) | u64::from(b == b'1'));
        ChainId::new(depth, prefix)
    }
}

impl serde::Serialize for ChainId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ChainId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_root_and_bit_strings() {
        assert_eq!(ChainId::ROOT.to_string(), "root");
        let c = ChainId::new(4, 0b0110).unwrap();
        assert_eq!(c.to_string(), "0110");
        assert_eq!("0110".parse::<ChainId>().unwrap(), c);
        assert_eq!("root".parse::<ChainId>().unwrap(), ChainId::ROOT);
    }

    #[test]
    fn tree_navigation_agrees_with_addresses() {
        let mut address = [0u8; 32];
        address[0] = 0b0110_1000;
        assert_eq!(ChainId::of_address(&address, 0), Some(ChainId::ROOT));
        let c = ChainId::of_address(&address, 4).unwrap();
        assert_eq!(c.to_string(), "0110");
        assert_eq!(c.parent().unwrap().to_string(), "011");
        assert_eq!(ChainId::ROOT.parent(), None);
        let [l, r] = c.children().unwrap();
        assert_eq!(
            (l.to_string(), r.to_string()),
            ("01100".into(), "01101".into())
        );
        assert_eq!(l.parent(), Some(c));
        assert_eq!(
            c.path_to_root()
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>(),
            ["0110", "011", "01", "0", "root"]
        );
        address = [0xff; 32];
        assert_eq!(
            ChainId::of_address(&address, 64).unwrap().prefix(),
            u64::MAX
        );
        assert_eq!(ChainId::of_address(&address, 65), None);
        assert!(
            ChainId::of_address(&address, 64)
                .unwrap()
                .children()
                .is_none()
        );
        assert_ne!(
            ChainId::ROOT.to_bytes(),
            ChainId::new(1, 0).unwrap().to_bytes()
        );
    }

    #[test]
    fn rejects_out_of_range_prefixes_and_bad_text() {
        assert_eq!(ChainId::new(2, 0b100), Err(ChainIdError::PrefixOutOfRange));
        assert!(ChainId::new(65, 0).is_err());
        assert!("01a".parse::<ChainId>().is_err());
        assert!("".parse::<ChainId>().is_err());
        assert!("0".repeat(65).parse::<ChainId>().is_err());
        assert!(ChainId::new(64, u64::MAX).is_ok());
    }
}
