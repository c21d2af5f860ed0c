//! Writes and reads for chains this node does not track, carried to a peer that does
//! (DESIGN §2, tracking): a transaction is admitted there and confirmed by its answer; an
//! account or a transaction's status is asked there; a value comes back with its proof, which
//! this node checks against its own root chain before it answers, so a lying peer cannot make
//! it serve a forged value.

use bitverse_blocktree::{BlockHeader, Blocktree, ValueProof};
use bitverse_primitives::{AccountId, ChainId, Hash};
use jsonrpsee::types::ErrorObjectOwned;

use bitverse_p2p::{P2pHandle, PeerRef, SyncRequest, SyncResponse, WireTxStatus};
use bitverse_rpc_api::{CODE_INTERNAL_ERROR, CODE_NOT_ANCHORED_YET, CODE_NOT_TRACKED};

/// How long a forwarded request may wait for its answer.
pub(crate) const FORWARD_TIMEOUT_MS: u64 = 10_000;
/// How many times a forwarded proof is asked again when it names a root block this node has
/// not imported yet (the peer is a block ahead), and how long between two asks.
const PROOF_ATTEMPTS_MAX: u32 = 5;
const PROOF_RETRY_PAUSE_MS: u64 = 600;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// Whether requests about `chain` must go to a peer: the node does not track it.
pub(crate) fn is_forwarded(tree: &Blocktree, chain: ChainId) -> bool {
    !tree.tracking().tracks(chain)
}

/// The network, or the plain refusal a node without one gives for an untracked chain.
fn network(p2p: Option<&P2pHandle>, chain: ChainId) -> RpcResult<&P2pHandle> {
    p2p.ok_or_else(|| {
        error(
            CODE_NOT_TRACKED,
            format!("this node does not track chain {chain} and has no network to ask"),
        )
    })
}

/// The answer of a peer tracking `chain`, with who gave it.
fn ask_peer(
    p2p: &P2pHandle,
    chain: ChainId,
    request: SyncRequest,
) -> RpcResult<(PeerRef, SyncResponse)> {
    match p2p.ask_blocking(chain, request, FORWARD_TIMEOUT_MS) {
        Ok((_, SyncResponse::Refused(why))) => Err(error(
            CODE_NOT_TRACKED,
            format!("the peer tracking chain {chain} refused: {why}"),
        )),
        Ok(answer) => Ok(answer),
        Err(why) => Err(error(CODE_NOT_TRACKED, why)),
    }
}

fn ask(p2p: &P2pHandle, chain: ChainId, request: SyncRequest) -> RpcResult<SyncResponse> {
    ask_peer(p2p, chain, request).map(|(_, response)| response)
}

fn wrong_answer(chain: ChainId) -> ErrorObjectOwned {
    error(
        CODE_INTERNAL_ERROR,
        format!("the peer tracking chain {chain} answered with the wrong kind of message"),
    )
}

/// Admits `bytes` (a transaction for `chain`) on a peer that tracks it; its refusal keeps the
/// code a node's own RPC would give.
pub(crate) fn submit(
    p2p: Option<&P2pHandle>,
    chain: ChainId,
    bytes: Vec<u8>,
    hash: Hash,
) -> RpcResult<Hash> {
    let p2p = network(p2p, chain)?;
    match ask(p2p, chain, SyncRequest::SubmitTx { tx: bytes })? {
        SyncResponse::TxAdmitted(admitted) if admitted == hash => {
            tracing::debug!(%hash, %chain, "transaction forwarded and admitted");
            Ok(hash)
        }
        SyncResponse::TxAdmitted(other) => Err(error(
            CODE_INTERNAL_ERROR,
            format!("the peer tracking chain {chain} admitted {other}, not {hash}"),
        )),
        SyncResponse::TxRefused { code, message } => Err(error(code, message)),
        _ => Err(wrong_answer(chain)),
    }
}

/// An account's balance, nonce and pending nonce on `chain`, from a peer that tracks it.
pub(crate) fn account(
    p2p: Option<&P2pHandle>,
    chain: ChainId,
    account: &AccountId,
) -> RpcResult<(u128, u64, u64)> {
    let p2p = network(p2p, chain)?;
    let request = SyncRequest::Account {
        chain,
        account: account.0,
    };
    match ask(p2p, chain, request)? {
        SyncResponse::Account {
            balance,
            nonce,
            pending_nonce,
        } => Ok((balance, nonce, pending_nonce)),
        _ => Err(wrong_answer(chain)),
    }
}

/// Where a transaction stands on `chain`, from a peer that tracks it.
pub(crate) fn tx_status(
    p2p: Option<&P2pHandle>,
    chain: ChainId,
    hash: &Hash,
) -> RpcResult<WireTxStatus> {
    let p2p = network(p2p, chain)?;
    match ask(p2p, chain, SyncRequest::TxStatus { chain, hash: *hash })? {
        SyncResponse::TxStatus(status) => Ok(status),
        _ => Err(wrong_answer(chain)),
    }
}

/// `key`'s value with its proof, from a peer that tracks `chain` (the key's chain), checked
/// here: the proof verifies, is about `key` on `chain`, and ends in a root header on this
/// node's own best chain. A peer a block ahead is asked again a few times.
pub(crate) fn value_proof(
    tree: &Blocktree,
    p2p: Option<&P2pHandle>,
    key: &str,
    chain: ChainId,
) -> RpcResult<ValueProof> {
    let p2p = network(p2p, chain)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let request = SyncRequest::ValueProof {
            key: key.to_owned(),
        };
        let (peer, bytes) = match ask_peer(p2p, chain, request)? {
            (peer, SyncResponse::ValueProof(bytes)) => (peer, bytes),
            _ => return Err(wrong_answer(chain)),
        };
        // A proof that does not check out is the peer's lie (or bug): it counts against it.
        let refused = |why: String| {
            tracing::warn!(%chain, key, %peer, %why, "a peer's proof was refused");
            p2p.report_invalid(peer, format!("forwarded proof of {key:?}: {why}"));
            error(
                CODE_INTERNAL_ERROR,
                format!("the proof a peer sent for {key:?} does not check out: {why}"),
            )
        };
        let proof = ValueProof::from_bytes(&bytes).map_err(|e| refused(e.to_string()))?;
        if proof.key != key {
            return Err(refused(format!("it proves {:?}", proof.key)));
        }
        let proven = proof.verify().map_err(|e| refused(e.to_string()))?;
        if proven != chain {
            return Err(refused(format!("it proves chain {proven}, not {chain}")));
        }
        match on_best_root_chain(tree, &proof.header)? {
            RootHeader::OnBestChain => return Ok(proof),
            RootHeader::NotOurs => {
                return Err(refused(format!(
                    "its root block {} at height {} is not on this node's root chain",
                    proof.header.hash(),
                    proof.header.height
                )));
            }
            RootHeader::Ahead if attempt < PROOF_ATTEMPTS_MAX => {
                std::thread::sleep(std::time::Duration::from_millis(PROOF_RETRY_PAUSE_MS));
            }
            RootHeader::Ahead => {
                return Err(error(
                    CODE_NOT_ANCHORED_YET,
                    format!(
                        "the peer's proof is against root height {}, which this node has not \
                         reached yet; try again",
                        proof.header.height
                    ),
                ));
            }
        }
    }
}

enum RootHeader {
    OnBestChain,
    /// Above this node's tip: the peer may simply be ahead.
    Ahead,
    NotOurs,
}

fn on_best_root_chain(tree: &Blocktree, header: &BlockHeader) -> RpcResult<RootHeader> {
    let root = tree.root().lock();
    if header.height > root.tip().height {
        return Ok(RootHeader::Ahead);
    }
    let ours = root
        .header_at(header.height)
        .map_err(|e| error(CODE_INTERNAL_ERROR, e.to_string()))?;
    Ok(match ours {
        Some(ours) if ours.hash() == header.hash() => RootHeader::OnBestChain,
        _ => RootHeader::NotOurs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::{ChainParams, Tracking};

    /// A peer answering a forwarded proof request with bytes that are no proof, or with a
    /// proof of another key, is refused and reported; the caller gets a clear error.
    #[test]
    fn a_false_forwarded_proof_is_refused_and_its_peer_reported() {
        let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
        let (handle, mut asks, mut reports) = bitverse_p2p::test_handle();
        let chain = ChainId::new(2, 1).unwrap();
        let liar = PeerRef::random();
        let lies = [
            SyncResponse::ValueProof(b"not a proof".to_vec()),
            SyncResponse::ValueProof(Vec::new()),
        ];
        let rounds = lies.len();
        // The swarm's side: each forwarded request answered with the next lie.
        let answering = std::thread::spawn(move || {
            for lie in lies {
                if let Some(ask) = asks.blocking_recv() {
                    ask.answer(liar, lie);
                }
            }
        });
        for _ in 0..rounds {
            let error = value_proof(&tree, Some(&handle), "alice/x", chain).unwrap_err();
            assert_eq!(error.code(), CODE_INTERNAL_ERROR);
            assert!(error.message().contains("does not check out"), "{error:?}");
            let (peer, reason) = reports.try_recv().expect("the liar is reported");
            assert_eq!(peer.to_string(), liar.to_string());
            assert!(reason.contains("alice/x"), "{reason}");
        }
        answering.join().unwrap();
    }
}
