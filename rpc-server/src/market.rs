//! The market's RPC methods: `bv_getStake`, `bv_getLedger`, `bv_quote` and `bv_getBounty`, each a read of the
//! root's state at one height (the tip unless named), so any two nodes answer alike for the
//! same height; and `bv_marketRequest`, `bv_getOffers` and `bv_getResult`, which speak on and
//! read the market gossip as this node heard it (`exchange`); `bv_getResult` shows a result's
//! bytes only once the root settled the bounty and they hash to the result it settled with.
//! The rules are `blocktree`'s (`stake`) and `pricing`'s; this only reads and shapes them.

use bitverse_blocktree::{Bounty, BountyStatus, Chain, PinnedKey, StakeRecord, role_name};
use bitverse_compute::transform::{FUEL_PER_TRANSFORM_MAX, INPUTS_MAX};
use bitverse_keyspace::check_key;
use bitverse_pricing::{QuoteRequest, TaskKind, quote as price_quote};
use bitverse_primitives::{AccountId, Hash};
use jsonrpsee::types::ErrorObjectOwned;

use bitverse_relay_lineup::{encode_envelope_chain, verify_envelope_chain, verify_envelope_prefix};

use crate::context::{RpcContext, RpcResult, chain_error, invalid_params};
use bitverse_market_wire::{MarketMessage, MarketRequest, ResultChain};
use bitverse_rpc_api::{
    BountyResult, LedgerRecordResult, LedgerResult, LineupResult, MarketRequestParams,
    MarketRequestResult, OfferQuoteResult, OfferResult, PinnedKeyResult, QuoteResult,
    ResultChainResult, SlashResult, StakeResult, TierResult, UnbondingResult,
};

/// The roles, in the order answers list them.
const ROLES: [TaskKind; 2] = [TaskKind::Offer, TaskKind::Relay];

fn parse_account(text: &str) -> RpcResult<AccountId> {
    text.parse().map_err(|e| invalid_params(format!("{e}")))
}

/// The height named, or the tip's.
fn height_or_tip(chain: &Chain, height: Option<u64>) -> u64 {
    height.unwrap_or_else(|| chain.tip().height)
}

fn stake_result(account: AccountId, height: u64, record: &StakeRecord) -> StakeResult {
    StakeResult {
        address: account,
        height,
        offerer: record.offerer,
        relayer: record.relayer,
        storer: record.storer,
        unbonding: record
            .unbonding
            .iter()
            .map(|e| UnbondingResult {
                role: role_name(e.role).into(),
                amount: e.amount,
                release_height: e.release_height,
            })
            .collect(),
    }
}

/// `bv_getStake(address[, height])`.
pub(crate) fn get_stake(
    ctx: &RpcContext,
    address: &str,
    height: Option<u64>,
) -> RpcResult<StakeResult> {
    let account = parse_account(address)?;
    let chain = ctx.chain.lock();
    let height = height_or_tip(&chain, height);
    let record = chain.stake_at(&account, height).map_err(chain_error)?;
    Ok(stake_result(account, height, &record))
}

/// `bv_getLedger(address[, height])`.
pub(crate) fn get_ledger(
    ctx: &RpcContext,
    address: &str,
    height: Option<u64>,
) -> RpcResult<LedgerResult> {
    let account = parse_account(address)?;
    let chain = ctx.chain.lock();
    let height = height_or_tip(&chain, height);
    let ledger_params = chain.params().ledger;
    let stake = chain.stake_at(&account, height).map_err(chain_error)?;
    let mut records = Vec::with_capacity(ROLES.len());
    for role in ROLES {
        let stored = chain
            .reliability_record_at(&account, role, height)
            .map_err(chain_error)?;
        let decayed = stored
            .unwrap_or_default()
            .decayed(height, &ledger_params)
            .map_err(pricing_error)?;
        let estimate = decayed.estimate(&ledger_params);
        records.push(LedgerRecordResult {
            role: role_name(role).into(),
            recorded: stored.is_some(),
            successes: decayed.successes,
            failures: decayed.failures,
            latency_ms_total: decayed.latency_ms_total,
            failure_ppm: estimate.failure_ppm,
            reputation_ppm: estimate.reputation_ppm(),
            latency_ms: estimate.latency_ms,
        });
    }
    Ok(LedgerResult {
        stake: stake_result(account, height, &stake),
        records,
    })
}

/// `bv_quote(transform, inputs, fuel_budget[, height[, requester]])`: for every offerer staked
/// at the height, `pricing::quote` over the relayers staked there and everyone's records
/// decayed to it. The keys are checked for syntax and count only: the price depends on the
/// fuel budget and the ledger, not on the values (a bounty pins those).
pub(crate) fn quote(
    ctx: &RpcContext,
    transform: String,
    inputs: Vec<String>,
    fuel_budget: u64,
    height: Option<u64>,
    requester: Option<String>,
) -> RpcResult<QuoteResult> {
    let requester = requester.as_deref().map(parse_account).transpose()?;
    check_key(&transform).map_err(|e| invalid_params(format!("transform {transform:?}: {e}")))?;
    if inputs.is_empty() || inputs.len() > INPUTS_MAX {
        return Err(invalid_params(format!(
            "a request names 1 to {INPUTS_MAX} inputs, not {}",
            inputs.len()
        )));
    }
    for input in &inputs {
        check_key(input).map_err(|e| invalid_params(format!("input {input:?}: {e}")))?;
    }
    if fuel_budget == 0 || fuel_budget > FUEL_PER_TRANSFORM_MAX {
        return Err(invalid_params(format!(
            "fuel budget {fuel_budget} is outside 1..={FUEL_PER_TRANSFORM_MAX}"
        )));
    }
    let chain = ctx.chain.lock();
    let height = height_or_tip(&chain, height);
    let ledger_params = chain.params().ledger;
    let quote_params = chain.params().quote;
    let offerers = chain
        .staked_with_records_at(TaskKind::Offer, height)
        .map_err(chain_error)?;
    let relayers = chain
        .staked_with_records_at(TaskKind::Relay, height)
        .map_err(chain_error)?;
    drop(chain);
    let mut offers = Vec::with_capacity(offerers.len());
    for offerer in &offerers {
        let request = QuoteRequest {
            height,
            fuel_budget,
            // Without a requester, excluding the offerer again excludes no one else.
            requester: requester.unwrap_or(offerer.account),
            offerer: offerer.account,
            offerer_record: offerer.record,
            relayers: &relayers,
        };
        let table = price_quote(&ledger_params, &quote_params, &request).map_err(pricing_error)?;
        offers.push(OfferQuoteResult {
            offerer: offerer.account,
            stake: offerer.stake,
            tiers: table
                .tiers
                .iter()
                .map(|tier| TierResult {
                    hops: tier.hops,
                    undetected_error_ppm: tier.undetected_error_ppm,
                    reliability_ppm: tier.reliability_ppm(),
                    latency_ms: tier.latency_ms,
                    price: tier.price,
                })
                .collect(),
        });
    }
    Ok(QuoteResult {
        height,
        transform,
        inputs,
        fuel_budget,
        requester,
        relayers_staked: u64::try_from(relayers.len()).unwrap_or(u64::MAX),
        offers,
    })
}

/// `bv_getBounty(id[, height])`.
pub(crate) fn get_bounty(
    ctx: &RpcContext,
    id: &str,
    height: Option<u64>,
) -> RpcResult<Option<BountyResult>> {
    let id = parse_hash(id, "bounty id")?;
    let chain = ctx.chain.lock();
    let height = height_or_tip(&chain, height);
    let bounty = chain.bounty_at(&id, height).map_err(chain_error)?;
    Ok(bounty.map(|b| bounty_result(&b, height)))
}

fn pinned_result(pin: &PinnedKey) -> PinnedKeyResult {
    PinnedKeyResult {
        key: pin.key.clone(),
        value_hash: pin.value_hash,
    }
}

/// A bounty as `bv_getBounty` shows it: the status spread over flat, nullable fields.
pub(crate) fn bounty_result(bounty: &Bounty, height: u64) -> BountyResult {
    let (status, ended_height, result_hash, fuel_used, slashed) = match &bounty.status {
        BountyStatus::Open => ("open", None, None, None, Vec::new()),
        BountyStatus::Settled {
            height,
            result_hash,
            fuel_used,
        } => (
            "settled",
            Some(*height),
            Some(*result_hash),
            Some(*fuel_used),
            Vec::new(),
        ),
        BountyStatus::Expired { height } => ("expired", Some(*height), None, None, Vec::new()),
        BountyStatus::Disputed {
            height,
            result_hash,
            slashed,
        } => (
            "disputed",
            Some(*height),
            *result_hash,
            None,
            slashed
                .iter()
                .map(|s| SlashResult {
                    address: s.account,
                    role: role_name(s.role).into(),
                    amount: s.amount,
                })
                .collect(),
        ),
    };
    BountyResult {
        id: bounty.id,
        height,
        requester: bounty.requester,
        offerer: bounty.offerer,
        amount: bounty.amount,
        transform: pinned_result(&bounty.transform),
        inputs: bounty.inputs.iter().map(pinned_result).collect(),
        args_hex: hex::encode(&bounty.args),
        pinned_height: bounty.pinned_height,
        posted_height: bounty.posted_height,
        hops: bounty.hops,
        fuel_budget: bounty.fuel_budget,
        expiry_height: bounty.expiry_height,
        accepted: bounty.accepted,
        lineup: bounty.lineup.as_ref().map(|l| LineupResult {
            finder: l.finder,
            seed: l.seed,
            relayers: l.relayers.clone(),
            drawn_height: l.drawn_height,
        }),
        status: status.into(),
        ended_height,
        result_hash,
        fuel_used,
        slashed,
    }
}

/// A quote or a record that cannot be computed from root state: the state or the network's
/// parameters are wrong, not the caller.
fn pricing_error(e: bitverse_pricing::PricingError) -> ErrorObjectOwned {
    tracing::error!(error = %e, "market read failed inside the node");
    ErrorObjectOwned::owned(
        bitverse_rpc_api::CODE_INTERNAL_ERROR,
        e.to_string(),
        None::<()>,
    )
}

/// `bv_marketRequest(request)`.
pub(crate) fn market_request(
    ctx: &RpcContext,
    asked: MarketRequestParams,
) -> RpcResult<MarketRequestResult> {
    for key in std::iter::once(&asked.transform).chain(&asked.inputs) {
        check_key(key).map_err(|e| invalid_params(format!("{key:?}: {e}")))?;
    }
    if asked.inputs.is_empty() {
        return Err(invalid_params("a request needs at least one input"));
    }
    let args = hex::decode(&asked.args_hex)
        .map_err(|e| invalid_params(format!("args_hex is not hexadecimal: {e}")))?;
    let request = MarketRequest {
        requester: asked.requester,
        transform: asked.transform,
        inputs: asked.inputs,
        args,
        fuel_budget: asked.fuel_budget,
        hops: asked.hops,
        pinned_height: asked.pinned_height,
        expiry_height: asked.expiry_height,
        nonce: asked.nonce,
    };
    let message = MarketMessage::Request(request.clone());
    // What the network would refuse is refused here, with the same reason.
    MarketMessage::from_bytes_checked(&message.to_bytes()).map_err(invalid_params)?;
    let gossiped = ctx.exchange.say(message);
    Ok(MarketRequestResult {
        id: request.id(),
        gossiped,
    })
}

fn parse_hash(text: &str, what: &str) -> RpcResult<Hash> {
    text.parse()
        .map_err(|e| invalid_params(format!("{what}: {e}")))
}

/// `bv_getOffers(request_id)`.
pub(crate) fn get_offers(ctx: &RpcContext, request_id: &str) -> RpcResult<Vec<OfferResult>> {
    let id = parse_hash(request_id, "request id")?;
    let offers = ctx.exchange.read(|book| book.offers(&id).to_vec());
    Ok(offers
        .into_iter()
        .map(|offer| {
            let (price, latency_ms, declined) = offer.terms.parts();
            OfferResult {
                offerer: offer.offerer,
                price,
                latency_ms,
                declined,
                offer_hex: hex::encode(MarketMessage::Offer(offer).to_bytes()),
            }
        })
        .collect())
}

/// `bv_getResult(bounty_id)`.
pub(crate) fn get_result(
    ctx: &RpcContext,
    bounty_id: &str,
) -> RpcResult<Option<ResultChainResult>> {
    let id = parse_hash(bounty_id, "bounty id")?;
    let bounty = {
        let chain = ctx.chain.lock();
        let tip = chain.tip().height;
        chain.bounty_at(&id, tip).map_err(chain_error)?
    };
    let settled = bounty.as_ref().and_then(|b| match &b.status {
        BountyStatus::Settled { result_hash, .. } => Some(*result_hash),
        _ => None,
    });
    // The longest chain whose envelopes fit the bounty as the root holds it (a stranger's
    // never does), and once it is settled, one that commits to the settled result throughout;
    // with the bounty not on this node's root yet, the longest heard.
    let expected = bounty.as_ref().map(Bounty::expected_chain);
    let fits = |heard: &&ResultChain| match (&expected, &settled) {
        (None, _) => true,
        (Some(expected), None) => verify_envelope_prefix(&heard.chain, expected).is_ok(),
        (Some(expected), Some(result_hash)) => {
            verify_envelope_chain(&heard.chain, expected, result_hash).is_ok()
        }
    };
    let (best, revealed) = ctx.exchange.read(|book| {
        let best = book
            .results(&id)
            .iter()
            .filter(fits)
            .max_by_key(|h| h.chain.len())
            .cloned();
        let revealed = settled.and_then(|hash| book.revealed(&id, &hash).map(hex::encode));
        (best, revealed)
    });
    Ok(best.and_then(|heard| {
        let first = heard.chain.first()?;
        Some(ResultChainResult {
            bounty: id,
            signers: heard.chain.iter().map(|e| e.signer).collect(),
            fuel_used: first.fuel_used,
            envelopes_hex: hex::encode(encode_envelope_chain(&heard.chain)),
            result_hash: settled,
            result_hex: revealed,
        })
    }))
}
