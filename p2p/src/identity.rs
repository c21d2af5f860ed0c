//! The node's libp2p identity: an ed25519 key kept in the data directory, so a restarted node
//! keeps its peer id (peers' address books and bans stay meaningful across restarts).

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use libp2p::identity::Keypair;

/// File in the data directory holding the node's libp2p key (protobuf encoding, mode 0600).
pub(crate) const IDENTITY_FILE: &str = "p2p.key";
/// Largest identity file read: an ed25519 key is 68 bytes encoded.
const IDENTITY_FILE_BYTES_MAX: u64 = 1024;

/// Loads the identity from `data_dir`, creating and saving a new one on first start.
pub(crate) fn load_or_create(data_dir: &Path) -> anyhow::Result<Keypair> {
    let path = data_dir.join(IDENTITY_FILE);
    match fs::File::open(&path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(IDENTITY_FILE_BYTES_MAX)
                .read_to_end(&mut bytes)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Keypair::from_protobuf_encoding(&bytes).with_context(|| {
                format!(
                    "{} is not a libp2p key; move it away to make a new identity",
                    path.display()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            let bytes = keypair
                .to_protobuf_encoding()
                .context("cannot encode the new libp2p key")?;
            // Written aside and renamed, so a crash never leaves half a key behind.
            let temporary = path.with_extension("key.tmp");
            let _ = fs::remove_file(&temporary);
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)
                .with_context(|| format!("cannot create {}", temporary.display()))?;
            out.write_all(&bytes)
                .and_then(|()| out.sync_all())
                .and_then(|()| fs::rename(&temporary, &path))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(keypair)
        }
        Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
        let other = tempfile::tempdir().unwrap();
        let third = load_or_create(other.path()).unwrap();
        assert_ne!(first.public().to_peer_id(), third.public().to_peer_id());
    }

    #[test]
    fn a_damaged_identity_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(IDENTITY_FILE), b"not a key").unwrap();
        let error = load_or_create(dir.path()).unwrap_err();
        assert!(
            format!("{error:#}").contains("not a libp2p key"),
            "{error:#}"
        );
    }
}
