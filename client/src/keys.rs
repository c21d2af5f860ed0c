//! Keys as the CLI takes them: `--key` specs (`dev:NAME` or a key file), key files on disk,
//! and addresses given as `bv1…` or `dev:NAME`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use bitverse_primitives::{AccountId, SecretKey};
use serde::{Deserialize, Serialize};

/// The prefix that names a well-known development key: `dev:alice`.
const DEV_KEY_PREFIX: &str = "dev:";
/// Largest key file read: a key file is about 150 bytes of JSON; anything far larger is not one.
const KEY_FILE_BYTES_MAX: u64 = 4096;

/// Why a key or address could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file exists; `wallet new` never overwrites a key.
    #[error("key file {0} already exists; refusing to overwrite a key")]
    Exists(String),
    /// The file is not a key file.
    #[error("key file {path} is not a bitverse key file: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `dev:` with no name.
    #[error("a dev key spec is dev:NAME, e.g. dev:alice")]
    EmptyDevName,
    /// Neither `bv1…` nor `dev:NAME`.
    #[error("{0}")]
    BadAddress(String),
}

/// The on-disk form of a key: JSON, so that a person can tell what the file is.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// The 32 secret bytes as hex.
    secret_key: String,
    /// The account, for people reading the file; checked against the key when loaded.
    address: String,
}

/// Loads the key named by a `--key` spec: `dev:NAME` for a well-known dev key, else a key file.
pub fn load_key(spec: &str) -> Result<SecretKey, KeyFileError> {
    if let Some(name) = spec.strip_prefix(DEV_KEY_PREFIX) {
        if name.is_empty() {
            return Err(KeyFileError::EmptyDevName);
        }
        return Ok(SecretKey::dev(name));
    }
    read_key_file(Path::new(spec))
}

/// Parses an address given as `bv1…` or as `dev:NAME` (the account of that dev key).
pub fn parse_address(text: &str) -> Result<AccountId, KeyFileError> {
    if let Some(name) = text.strip_prefix(DEV_KEY_PREFIX) {
        if name.is_empty() {
            return Err(KeyFileError::EmptyDevName);
        }
        return Ok(SecretKey::dev(name).account());
    }
    text.parse::<AccountId>()
        .map_err(|e| KeyFileError::BadAddress(e.to_string()))
}

fn read_key_file(path: &Path) -> Result<SecretKey, KeyFileError> {
    let shown = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: shown.clone(),
        source,
    };
    let invalid = |reason: String| KeyFileError::Invalid {
        path: shown.clone(),
        reason,
    };
    let size_bytes = fs::metadata(path).map_err(io)?.len();
    if size_bytes > KEY_FILE_BYTES_MAX {
        return Err(invalid(format!(
            "{size_bytes} bytes is too large for a key file"
        )));
    }
    let text = fs::read_to_string(path).map_err(io)?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(file.secret_key.trim(), &mut secret)
        .map_err(|_| invalid("secret_key is not 64 hexadecimal digits".into()))?;
    let key = SecretKey::from_bytes(&secret).map_err(|e| invalid(e.to_string()))?;
    if key.account().to_string() != file.address {
        return Err(invalid(format!(
            "address {} does not belong to its secret key (which controls {})",
            file.address,
            key.account()
        )));
    }
    Ok(key)
}

/// Writes `key` to a new file at `path`, readable by its owner only (0600). Refuses to replace
/// an existing file: losing a key loses its funds.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let shown = path.display().to_string();
    let file = KeyFile {
        secret_key: hex::encode(key.to_bytes()),
        address: key.account().to_string(),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| KeyFileError::Invalid {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    // create_new makes the existence check and the creation one atomic step.
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(shown.clone())
            } else {
                KeyFileError::Io {
                    path: shown.clone(),
                    source,
                }
            }
        })?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.sync_all())
        .map_err(|source| KeyFileError::Io {
            path: shown,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_file_round_trips_with_owner_only_permissions_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = SecretKey::from_seed(b"key file test");
        write_key_file(&path, &key).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let back = load_key(path.to_str().unwrap()).unwrap();
        assert_eq!(back.account(), key.account());
        assert!(matches!(
            write_key_file(&path, &key),
            Err(KeyFileError::Exists(_))
        ));
    }

    #[test]
    fn specs_and_addresses_parse() {
        assert_eq!(
            load_key("dev:alice").unwrap().account(),
            SecretKey::dev("alice").account()
        );
        assert!(matches!(load_key("dev:"), Err(KeyFileError::EmptyDevName)));
        let alice = SecretKey::dev("alice").account();
        assert_eq!(parse_address("dev:alice").unwrap(), alice);
        assert_eq!(parse_address(&alice.to_string()).unwrap(), alice);
        assert!(matches!(
            parse_address("bv1nonsense"),
            Err(KeyFileError::BadAddress(_))
        ));
    }
}
