//! `get KEY --verify`: the light-client check. The value is accepted only if the node's proof
//! leads from it (or from its absence) to the state root of a header, and that header is
//! linked by proof of work to the network's genesis, which the client computes itself.

use std::path::{Path, PathBuf};

use bitverse_blocktree::{BlockHeader, ChainParams, ValueProof, genesis_hash_of};
use bitverse_primitives::{ChainId, Hash};

use crate::light::{LightHeaders, SyncReport, fetch_page};
use crate::node_client::{CliError, NodeClient};
use crate::output::emit_value;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// A value checked from the root's header chain down to its chain: what `get --verify` and
/// `proof` report.
pub(crate) struct Verified {
    /// The proof, checked.
    pub proof: ValueProof,
    /// The chain the value lives on.
    pub chain: ChainId,
    /// Bytes of the proof as the node sent it.
    pub proof_bytes: usize,
    /// Whether the root header the proof is against is buried `final_depth_blocks` deep in
    /// the client's header chain: the whole path below it is then final.
    pub is_final: bool,
    /// Root headers the client holds, and how many this call checked and replaced.
    pub headers_held: usize,
    pub report: SyncReport,
    /// The network whose rules the root header chain was checked by (the client's choice).
    pub network: String,
}

/// The light client's settings: the network it verifies against (its own choice, never the
/// node's) and where it keeps the header chains it verified.
pub(crate) struct LightClient {
    pub network: String,
    pub state_dir: PathBuf,
}

impl LightClient {
    pub(crate) fn from_args(args: crate::args::LightArgs) -> LightClient {
        LightClient {
            network: args.network,
            state_dir: args
                .state_dir
                .unwrap_or_else(crate::light::default_state_dir),
        }
    }
}

/// Fetches the proof of `key`, checks it from the value up through every anchor link to a
/// root header, brings the light client's root header chain (kept under its state directory)
/// up to the node's by the rules of the client's network, checks that the root header is in
/// it and that the chain carries at least the network's minimum work.
pub(crate) async fn check_value(
    client: &NodeClient,
    key: &str,
    light_client: &LightClient,
) -> Result<Verified, CliError> {
    let status = client.status().await?;
    let params = trusted_params(&light_client.network, &status.network, status.genesis_hash)?;
    let state_dir = light_client.state_dir.as_path();

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
    let chain = proof
        .verify()
        .map_err(|e| failed(format!("verification failed: {e}")))?;

    // Dev chains all start from the same genesis at difficulty 1: each is kept apart.
    let instance = if params.difficulty_fixed && proof.header.height > 0 {
        fetch_page(client, 1, 1)
            .await?
            .first()
            .map(BlockHeader::hash)
    } else {
        None
    };
    let mut light = LightHeaders::open(state_dir, &params, instance)?;
    // The proof may be against a newer tip than the status read before it.
    let node_height = status.height.max(proof.header.height);
    let report = light.sync(client, node_height, now_ms()).await?;
    // The chain must hold the very header the proof is against, not merely one as high.
    if light.header_at(proof.header.height).map(|h| h.hash()) != Some(proof.header.hash()) {
        return Err(failed(format!(
            "verification failed: the proof's header at height {} is not in the best header chain \
             this client holds (the node's chain carries less work, or it does not hold the header)",
            proof.header.height
        )));
    }
    let work_min = params.light_client_work_min();
    if light.tip_work() < work_min {
        return Err(failed(format!(
            "verification failed: the node's root chain carries {} work, less than the {work_min} \
             network {} demands of a chain before a light client trusts it (a young network \
             has to mine a while first)",
            light.tip_work(),
            params.network
        )));
    }
    let is_final =
        light.tip_height().saturating_sub(proof.header.height) >= params.final_depth_blocks;
    Ok(Verified {
        chain,
        proof_bytes: proof_bytes.len(),
        is_final,
        headers_held: light.len(),
        report,
        proof,
        network: params.network,
    })
}

/// `get KEY --verify`: checks the value as [`check_value`] does, says how on stderr, and
/// prints the value.
pub(crate) async fn get_verified(
    client: &NodeClient,
    key: &str,
    out: Option<&Path>,
    light_client: &LightClient,
) -> Result<(), CliError> {
    let checked = check_value(client, key, light_client).await?;
    let proof = &checked.proof;
    let at = format!(
        "on network {}, chain {} through {} link{} to root height {} (block {}){}; {} root headers held, {} new checked{}",
        checked.network,
        checked.chain,
        proof.links.len(),
        if proof.links.len() == 1 { "" } else { "s" },
        proof.header.height,
        proof.header.hash(),
        if checked.is_final {
            ", final"
        } else {
            ", not final yet"
        },
        checked.headers_held,
        checked.report.fetched,
        if checked.report.replaced > 0 {
            format!(
                ", {} replaced by a chain with more work",
                checked.report.replaced
            )
        } else {
            String::new()
        }
    );
    match &proof.value {
        Some(value) => {
            // A blob's value is its manifest: proven here, so the file fetched next is
            // checked against a content hash no node chose.
            if let Some(manifest) = crate::blob::blob_manifest(client, key, value).await? {
                let Some(out) = out else {
                    return Err(CliError::Failed(format!(
                        "{key} holds a blob of {} bytes: name a file to write it to with --out FILE",
                        manifest.size_bytes
                    )));
                };
                eprintln!(
                    "verified: {key:?} is a blob of {} bytes with content hash {} {at}",
                    manifest.size_bytes, manifest.content_hash
                );
                return crate::blob::get_blob(client, key, &manifest, out).await;
            }
            eprintln!("verified: {key:?} ({} bytes) {at}", value.len());
            emit_value(value, out)
        }
        None => Err(CliError::Absent(format!(
            "absent (verified): {key:?} holds no value {at}"
        ))),
    }
}

/// `get KEY --verify --json`: the check of [`check_value`] and the value as one line of JSON.
pub(crate) async fn get_verified_json(
    client: &NodeClient,
    key: &str,
    light_client: &LightClient,
) -> Result<(), CliError> {
    let checked = check_value(client, key, light_client).await?;
    let Some(value) = &checked.proof.value else {
        return Err(CliError::Absent(format!(
            "absent (verified): {key:?} holds no value"
        )));
    };
    let object = serde_json::json!({
        "key": key,
        "value_hex": hex::encode(value),
        "value": std::str::from_utf8(value).ok(),
        "verified": true,
        "network": checked.network,
        "chain": checked.chain.to_string(),
        "root_height": checked.proof.header.height,
        "final": checked.is_final,
    });
    println!("{object}");
    Ok(())
}

/// `proof KEY [--json]`: the check of [`check_value`] as one JSON object (or a summary), exit
/// status 1 with the reason when it does not verify.
pub(crate) async fn proof(
    client: &NodeClient,
    key: &str,
    light_client: &LightClient,
    json: bool,
) -> Result<(), CliError> {
    let checked = check_value(client, key, light_client).await?;
    let proof = &checked.proof;
    let value_hash = proof.value.as_deref().map(Hash::digest);
    if json {
        let links: Vec<serde_json::Value> = proof
            .links
            .iter()
            .map(|link| {
                serde_json::json!({
                    "chain": link.header.chain.to_string(),
                    "height": link.header.height,
                    "header_hash": link.header.hash(),
                })
            })
            .collect();
        let object = serde_json::json!({
            "key": key,
            "network": checked.network,
            "chain": checked.chain.to_string(),
            "depth": checked.chain.depth(),
            "value_hash": value_hash,
            "links": links,
            "proof_bytes": checked.proof_bytes,
            "root_height": proof.header.height,
            "root_hash": proof.header.hash(),
            "final": checked.is_final,
        });
        println!("{object}");
        return Ok(());
    }
    println!("key:         {key}");
    println!("network:     {}", checked.network);
    println!(
        "chain:       {} (depth {})",
        checked.chain,
        checked.chain.depth()
    );
    match value_hash {
        Some(hash) => println!("value hash:  {hash}"),
        None => println!("value:       absent"),
    }
    for link in &proof.links {
        println!(
            "  link:      chain {} height {} header {}",
            link.header.chain,
            link.header.height,
            link.header.hash()
        );
    }
    println!(
        "root:        height {} header {}",
        proof.header.height,
        proof.header.hash()
    );
    println!("proof bytes: {}", checked.proof_bytes);
    println!(
        "final:       {}",
        if checked.is_final { "yes" } else { "no" }
    );
    Ok(())
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The parameters of the network a header chain must follow: `network`, the client's own
/// choice. The client knows the networks it is built with and computes their genesis; a node
/// that names another network, or this one with another genesis, is refused.
fn trusted_params(
    network: &str,
    node_network: &str,
    node_genesis: Hash,
) -> Result<ChainParams, CliError> {
    let Some(params) = ChainParams::named(network) else {
        return Err(failed(format!(
            "cannot verify: unknown network {network:?} (this client knows dev and local); \
             its header rules and genesis cannot be checked"
        )));
    };
    if node_network != network {
        return Err(failed(format!(
            "verification refused: the node serves network {node_network:?}, this client \
             verifies against network {network:?} (--network or BITVERSE_NETWORK)"
        )));
    }
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
    Ok(params)
}
