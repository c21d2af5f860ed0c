//! `get KEY --verify`: the light-client check. The value is accepted only if the node's proof
//! leads from it (or from its absence) to the state root of a header, and that header is
//! linked by proof of work to the network's genesis, which the client computes itself.

use std::path::Path;

use bitverse_blocktree::{
    BlockHeader, ChainParams, ValueProof, genesis_hash_of, verify_header_chain,
};
use bitverse_primitives::Hash;

use crate::client::{CliError, NodeClient};
use crate::commands::emit_value;
use crate::rpc_api::HEADERS_PER_CALL_MAX;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// Fetches the proof and the header chain, checks both, and prints the value.
pub(crate) async fn get_verified(
    client: &NodeClient,
    key: &str,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let status = client.status().await?;
    let genesis = trusted_genesis(&status.network, status.genesis_hash)?;

    let proof_hex = client.proof(key).await?.proof_hex;
    let proof_bytes = hex::decode(&proof_hex)
        .map_err(|e| failed(format!("verification failed: proof is not hex: {e}")))?;
    let proof = ValueProof::from_bytes(&proof_bytes)
        .map_err(|e| failed(format!("verification failed: {e}")))?;
    if proof.key != key {
        return Err(failed(format!(
            "verification failed: the node proved key {:?}, not {key:?}",
            proof.key
        )));
    }
    proof
        .verify()
        .map_err(|e| failed(format!("verification failed: {e}")))?;

    let headers = fetch_headers(client, proof.header.height).await?;
    verify_header_chain(&genesis, &headers)
        .map_err(|e| failed(format!("verification failed: {e}")))?;
    // The chain must end at the very header the proof is against, not merely one as high.
    if headers.last().map(BlockHeader::hash) != Some(proof.header.hash()) {
        return Err(failed(format!(
            "verification failed: the proof's header at height {} is not in the header chain from genesis",
            proof.header.height
        )));
    }

    let at = format!(
        "at height {} (block {}, state root {}), {} headers checked from genesis {}",
        proof.header.height,
        proof.header.hash(),
        proof.header.state_root,
        headers.len(),
        genesis
    );
    match &proof.value {
        Some(value) => {
            eprintln!("verified: {key:?} ({} bytes) {at}", value.len());
            emit_value(value, out)
        }
        None => Err(CliError::Absent(format!(
            "absent (verified): {key:?} holds no value {at}"
        ))),
    }
}

/// The genesis a header chain must start from. For a network the client knows, it computes
/// the genesis from the parameters and refuses a node that disagrees; for any other it can
/// only take the node's word, and says so.
fn trusted_genesis(network: &str, node_genesis: Hash) -> Result<Hash, CliError> {
    let Some(params) = ChainParams::named(network) else {
        eprintln!(
            "warning: unknown network {network:?}: trusting the node's genesis {node_genesis}; \
             the proof is checked against it, but the genesis itself is not"
        );
        return Ok(node_genesis);
    };
    let genesis = genesis_hash_of(&params).map_err(|e| {
        failed(format!(
            "cannot compute the genesis of network {network:?}: {e}"
        ))
    })?;
    if genesis != node_genesis {
        return Err(failed(format!(
            "verification failed: node says network {network:?} with genesis {node_genesis}, \
             but that network's genesis is {genesis}"
        )));
    }
    Ok(genesis)
}

/// Headers from genesis to `height` inclusive, paged by [`HEADERS_PER_CALL_MAX`].
async fn fetch_headers(client: &NodeClient, height: u64) -> Result<Vec<BlockHeader>, CliError> {
    let wanted = height.saturating_add(1);
    let mut headers = Vec::new();
    while (headers.len() as u64) < wanted {
        let from_height = headers.len() as u64;
        let count = (wanted - from_height).min(HEADERS_PER_CALL_MAX);
        let page = client.headers(from_height, count).await?;
        if page.is_empty() {
            return Err(failed(format!(
                "verification failed: node has no header at height {from_height}, below the proof's {height}"
            )));
        }
        if page.len() as u64 > count {
            return Err(failed(format!(
                "node sent {} headers where {count} were asked",
                page.len()
            )));
        }
        for header_hex in page {
            let bytes = hex::decode(&header_hex)
                .map_err(|e| failed(format!("verification failed: header is not hex: {e}")))?;
            let header = BlockHeader::from_bytes(&bytes)
                .map_err(|e| failed(format!("verification failed: {e}")))?;
            headers.push(header);
        }
    }
    Ok(headers)
}
