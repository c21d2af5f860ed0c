//! The RPC side of miners' pay from keyspace endowments: what a miner earned on each data
//! chain and what the root paid it (`bv_getEarnings`), and the proof a claim carries
//! (`bv_getEarningsProof`). The rule itself is `bitverse_blocktree::endowment`.

use bitverse_blocktree::ChainError;
use bitverse_primitives::{AccountId, Amount, ChainId};

use crate::context::{RpcContext, RpcResult, chain_error, invalid_params, parse_chain};
use bitverse_rpc_api::{EarningsProofResult, EarningsResult};

/// `bv_getEarnings(miner[, chain])`.
pub(crate) fn earnings(
    ctx: &RpcContext,
    miner: String,
    chain: Option<String>,
) -> RpcResult<Vec<EarningsResult>> {
    let miner = parse_miner(miner)?;
    let chains = match chain {
        Some(text) => vec![data_chain(Some(text), ctx)?],
        None => ctx.tree.data_chains(),
    };
    chains
        .into_iter()
        .map(|chain| line(ctx, chain, miner).map_err(chain_error))
        .collect()
}

/// `bv_getEarningsProof(miner, chain)`.
pub(crate) fn earnings_proof(
    ctx: &RpcContext,
    miner: String,
    chain: String,
) -> RpcResult<EarningsProofResult> {
    let miner = parse_miner(miner)?;
    let chain = data_chain(Some(chain), ctx)?;
    let proof = ctx.tree.earnings_proof(chain, miner).map_err(chain_error)?;
    Ok(EarningsProofResult {
        chain: chain.to_string(),
        miner,
        earned: proof.earned,
        proof: hex::encode(proof.to_bytes()),
    })
}

fn parse_miner(text: String) -> RpcResult<AccountId> {
    text.parse()
        .map_err(|e| invalid_params(format!("miner: {e}")))
}

/// A data chain this node has open, named by `text`.
fn data_chain(text: Option<String>, ctx: &RpcContext) -> RpcResult<ChainId> {
    let chain = parse_chain(text)?;
    if chain.is_root() {
        return Err(invalid_params(
            "the root's miners are paid in their blocks: name a data chain",
        ));
    }
    if ctx.tree.chain(chain).is_none() {
        return Err(chain_error(ChainError::NotTracked(chain)));
    }
    Ok(chain)
}

/// One chain's line: the miner's earnings at the chain's tip and as far as the root anchors
/// them, and the root's pay and pool. Each chain is locked alone, in turn.
fn line(ctx: &RpcContext, chain: ChainId, miner: AccountId) -> Result<EarningsResult, ChainError> {
    let data = ctx.tree.chain(chain).ok_or(ChainError::NotTracked(chain))?;
    let earned = {
        let data = data.lock();
        data.miner_earned(&miner, data.tip().height)?
    };
    // What a proof made now would show: the earnings at the block the root's tip anchors,
    // read without building the proof.
    let provable = match ctx.tree.anchored_from_root(chain) {
        Ok(height) => Some(data.lock().miner_earned(&miner, height)?),
        // Not anchored down to it yet, or an ancestor not open here: nothing provable now.
        Err(ChainError::RelayPending(_) | ChainError::NotTracked(_)) => None,
        Err(e) => return Err(e),
    };
    let (claimed, pool) = {
        let root = ctx.tree.root().lock();
        (
            root.miner_claimed(&chain, &miner)?,
            root.endowment_pool(&chain)?,
        )
    };
    let owed = Amount(provable.unwrap_or(Amount::ZERO).0.saturating_sub(claimed.0));
    Ok(EarningsResult {
        chain: chain.to_string(),
        earned,
        provable,
        claimed,
        claimable: owed.min(pool.held()),
        pool_deposited: pool.deposited,
        pool_paid: pool.paid,
    })
}
