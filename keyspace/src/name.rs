//! Keyspace names, key syntax, home resolution candidates and key addresses.

use std::fmt;

use bincode::{Decode, Encode};
use bitverse_primitives::Hash;

/// Longest keyspace name, in bytes (sub-keyspaces included: `twitter/erik`).
pub const KEYSPACE_NAME_BYTES_MAX: usize = 128;
/// Longest key, in bytes, keyspace prefix included.
pub const KEY_SIZE_BYTES_MAX: usize = 512;

/// A key or keyspace name that does not follow the syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty name or key.
    #[error("empty name")]
    Empty,
    /// Longer than allowed.
    #[error("{size_bytes} bytes exceeds the maximum of {size_bytes_max}")]
    TooLong {
        /// Actual length.
        size_bytes: usize,
        /// Maximum length.
        size_bytes_max: usize,
    },
    /// A segment holds a character outside `a-z 0-9 - _ .`.
    #[error(
        "invalid character {0:?}: names use a-z, 0-9, '-', '_' and '.' in '/'-separated segments"
    )]
    InvalidCharacter(char),
    /// Two slashes in a row, or a slash at either end.
    #[error("empty segment: names are '/'-separated segments, none of them empty")]
    EmptySegment,
    /// A key without a `/`: every key lives under a keyspace (`erik/photos/1`).
    #[error("a key is KEYSPACE/PATH, e.g. erik/photos/1")]
    NoKeyspace,
}

/// A keyspace name: one or more `/`-separated segments of `a-z 0-9 - _ .` (`erik`,
/// `twitter/erik`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct KeyspaceName(String);

impl KeyspaceName {
    /// Checks `name` and wraps it.
    pub fn new(name: &str) -> Result<KeyspaceName, KeyError> {
        check_segments(name, KEYSPACE_NAME_BYTES_MAX)?;
        Ok(KeyspaceName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent keyspace of a sub-keyspace (`twitter` for `twitter/erik`), if any.
    pub fn parent(&self) -> Option<KeyspaceName> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| KeyspaceName(parent.to_owned()))
    }
}

impl fmt::Display for KeyspaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyspaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyspaceName({})", self.0)
    }
}

fn check_segments(text: &str, size_bytes_max: usize) -> Result<(), KeyError> {
    if text.is_empty() {
        return Err(KeyError::Empty);
    }
    if text.len() > size_bytes_max {
        return Err(KeyError::TooLong {
            size_bytes: text.len(),
            size_bytes_max,
        });
    }
    for segment in text.split('/') {
        if segment.is_empty() {
            return Err(KeyError::EmptySegment);
        }
        if let Some(c) = segment.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        }) {
            return Err(KeyError::InvalidCharacter(c));
        }
    }
    Ok(())
}

/// Checks a key's syntax: `KEYSPACE/PATH`, segments as for names, at most
/// [`KEY_SIZE_BYTES_MAX`] bytes.
pub fn check_key(key: &str) -> Result<(), KeyError> {
    check_segments(key, KEY_SIZE_BYTES_MAX)?;
    if !key.contains('/') {
        return Err(KeyError::NoKeyspace);
    }
    Ok(())
}

/// The keyspaces that could be the home of `key`, longest first: for `a/b/c` that is `a/b`,
/// then `a`. A key's home is the first of them that is registered. Prefixes longer than
/// [`KEYSPACE_NAME_BYTES_MAX`] are left out: no keyspace can have them, and each candidate
/// costs a lookup and a non-inclusion proof in every value proof of the key (a key of 512
/// bytes has up to 255 prefixes, 191 of them too long to be a name).
pub fn home_candidates(key: &str) -> Result<Vec<KeyspaceName>, KeyError> {
    check_key(key)?;
    let mut candidates = Vec::new();
    let mut rest = key;
    while let Some((prefix, _)) = rest.rsplit_once('/') {
        if prefix.len() <= KEYSPACE_NAME_BYTES_MAX {
            candidates.push(KeyspaceName(prefix.to_owned()));
        }
        rest = prefix;
    }
    Ok(candidates)
}

/// Where `key` of keyspace `home` lives in the 256-bit address space:
/// `H(keyspace)[..16] ‖ H(key)[..16]`, so that a keyspace's keys sit together in the tree.
pub fn key_address(home: &KeyspaceName, key: &str) -> [u8; 32] {
    let space = Hash::tagged("bitverse keyspace address v1", &[home.as_str().as_bytes()]);
    let within = Hash::tagged("bitverse key address v1", &[key.as_bytes()]);
    let mut address = [0u8; 32];
    let (high, low) = address.split_at_mut(16);
    high.copy_from_slice(&space.0[..16]);
    low.copy_from_slice(&within.0[..16]);
    address
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `keyspace_names` fuzz target (fuzz/regressions/keyspace_names/): a valid
    /// key of 134 bytes listed its 130-byte prefix as a candidate home, a name no keyspace can
    /// have.
    #[test]
    fn home_candidates_are_names_a_keyspace_can_have() {
        let key = "os/a/a-l/a-l/hoh/t/a/a--l/hoh/t/a-l/h/t/a-l/hoh/t/l/h/t/a-l/hos-b/s/aos/a/a-l/\
                   a-l/hoh/t/a-l/h/t/a-l/hoh/t/a-l/hos-b/s/aos/a/a-lht/a-g";
        check_key(key).unwrap();
        let candidates = home_candidates(key).unwrap();
        assert_eq!(candidates.len(), 39);
        for candidate in &candidates {
            assert!(KeyspaceName::new(candidate.as_str()).is_ok(), "{candidate}");
        }
        // The longest key of one-letter segments: 255 prefixes, 64 of them short enough.
        let longest = ["a"; 256].join("/");
        assert_eq!(longest.len(), KEY_SIZE_BYTES_MAX - 1);
        let candidates = home_candidates(&longest).unwrap();
        assert_eq!(candidates.len(), 64);
        assert_eq!(candidates[0].as_str().len(), KEYSPACE_NAME_BYTES_MAX - 1);
        // A key whose only prefix is too long has no candidate home.
        let long_name = "a".repeat(KEYSPACE_NAME_BYTES_MAX + 1);
        assert_eq!(
            home_candidates(&format!("{long_name}/k")).unwrap(),
            Vec::new()
        );
    }

    #[test]
    fn names_follow_the_syntax() {
        assert!(KeyspaceName::new("erik").is_ok());
        assert!(KeyspaceName::new("twitter/erik").is_ok());
        assert_eq!(KeyspaceName::new(""), Err(KeyError::Empty));
        assert_eq!(
            KeyspaceName::new("Erik"),
            Err(KeyError::InvalidCharacter('E'))
        );
        assert_eq!(KeyspaceName::new("a//b"), Err(KeyError::EmptySegment));
        assert_eq!(KeyspaceName::new("a/"), Err(KeyError::EmptySegment));
        assert!(matches!(
            KeyspaceName::new(&"a".repeat(129)),
            Err(KeyError::TooLong { .. })
        ));
    }

    #[test]
    fn home_candidates_are_longest_first() {
        let names: Vec<String> = home_candidates("a/b/c")
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["a/b", "a"]);
        assert_eq!(home_candidates("a"), Err(KeyError::NoKeyspace));
    }

    #[test]
    fn keys_of_a_keyspace_share_their_address_prefix() {
        let erik = KeyspaceName::new("erik").unwrap();
        let a = key_address(&erik, "erik/photos/1");
        let b = key_address(&erik, "erik/photos/2");
        assert_eq!(a[..16], b[..16]);
        assert_ne!(a[16..], b[16..]);
        assert_eq!(
            KeyspaceName::new("twitter/erik").unwrap().parent(),
            KeyspaceName::new("twitter").ok()
        );
    }
}
