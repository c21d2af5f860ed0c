//! `bitverse request`: everything a requester does to get a transformation's result through
//! the market (docs/MARKET.md, "Across nodes"), each step reported as it happens:
//!
//! 1. quote the tier at the tip (`bv_quote`);
//! 2. gossip the request and gather signed offers (`bv_marketRequest`, `bv_getOffers`),
//!    checking each signature here;
//! 3. post the bounty to the cheapest offer (`PostBounty`), pinning the values at the tip;
//! 4. for a tier with relayers, find and publish the lineup proof (`LineupProof`) right behind
//!    the bounty, so both can land in one root block: the requester is the finder;
//! 5. follow the envelope chain as the offerer and each relayer sign it (`bv_getResult`): it
//!    carries commitments to the result, never the result;
//! 6. verify the complete chain against the bounty the root holds (offerer, lineup and fuel
//!    budget), wait for the root to settle it (the Settle reveals the result's hash, and the
//!    root checked every commitment against it), check the chain against that hash too, then
//!    wait for the result's bytes, revealed on the market topic after the settlement, and hand
//!    them back only if they hash to the settled result.
//!
//! A dispute or an expiry ends the request with an error naming what the root recorded; no
//! result is ever returned that did not verify.

use std::time::{Duration, Instant};

use bitverse_blocktree::{BountyTerms, ChainParams, DeepValue, TxPayload, UnsignedTx, ValueProof};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey, Signature};
use bitverse_relay_lineup::{
    Envelope, ExpectedChain, LineupProof, decode_envelope_chain, verify_envelope_chain,
    verify_envelope_prefix,
};
use serde::Serialize;

use crate::node_client::{CliError, NodeClient};
use crate::wait::wait_for_inclusion;
use bitverse_market_wire::{MarketMessage, OfferTerms};
use bitverse_rpc_api::{BountyResult, MarketRequestParams, OfferResult, ResultChainResult};

/// How often the requester asks its node how things stand.
const POLL_INTERVAL_MS: u64 = 100;
/// How long a deep input's value may take to be anchored up to the root after it is written.
const ANCHOR_WAIT_MS: u64 = 60_000;
/// Nonces tried per lineup proof search before giving up (the difficulty is 1 on dev and
/// 2^16 on local, so this is thousands of expected searches).
const LINEUP_ATTEMPTS_MAX: u64 = 1 << 28;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// What the requester asks for and how long it waits.
#[derive(Clone, Debug)]
pub struct RequestOptions {
    /// The transformation's key.
    pub transform: String,
    /// The input keys.
    pub inputs: Vec<String>,
    /// The argument bytes.
    pub args: Vec<u8>,
    /// Fuel per execution.
    pub fuel_budget: u64,
    /// The tier: relayers in the lineup.
    pub hops: u8,
    /// Only this offerer, when given.
    pub offerer: Option<AccountId>,
    /// The most the requester pays.
    pub price_max: Option<Amount>,
    /// How long offers are gathered.
    pub offers_wait_ms: u64,
    /// Root blocks after the bounty's before it expires.
    pub expires_in_blocks: u64,
    /// The fee of each transaction.
    pub fee: Amount,
    /// How long the whole request may take before the requester gives up.
    pub timeout_ms: u64,
}

/// One step, as it is reported.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    /// The step's name: `quote`, `request`, `offer`, `proof`, `bounty`, `lineup`, `hop`,
    /// `settled`, `revealed`.
    pub step: &'static str,
    /// What happened, in one line.
    pub said: String,
    /// Milliseconds since the request began.
    pub elapsed_ms: u64,
}

/// The request's timings, broken down by step (milliseconds).
#[derive(Clone, Debug, Default, Serialize)]
pub struct RequestTimings {
    /// Gathering offers.
    pub offers_ms: u64,
    /// Posting the bounty until its block.
    pub bounty_ms: u64,
    /// Finding and publishing the lineup proof until its block (0 without relayers).
    pub lineup_ms: u64,
    /// From the bounty (or lineup) block to each envelope heard, per position.
    pub hops_ms: Vec<u64>,
    /// From the complete chain to the root's settlement and the result's bytes revealed.
    pub settlement_ms: u64,
    /// The whole request.
    pub total_ms: u64,
}

/// A verified, settled result.
#[derive(Clone, Debug, Serialize)]
pub struct RequestOutcome {
    /// The bounty.
    pub bounty: Hash,
    /// The offerer chosen.
    pub offerer: AccountId,
    /// What was paid.
    pub price: Amount,
    /// The lineup, in relay order.
    pub lineup: Vec<AccountId>,
    /// The result's hash.
    pub result_hash: Hash,
    /// Fuel each execution used.
    pub fuel_used: u64,
    /// The root height that settled it.
    pub settled_height: u64,
    /// The timings.
    pub timings: RequestTimings,
    /// The result's bytes.
    #[serde(skip)]
    pub result: Vec<u8>,
}

/// Runs a request to its end, reporting each step to `report`.
pub async fn run(
    client: &NodeClient,
    key: &SecretKey,
    options: &RequestOptions,
    mut report: impl FnMut(Progress),
) -> Result<RequestOutcome, CliError> {
    let started = Instant::now();
    let deadline = started + Duration::from_millis(options.timeout_ms);
    let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut say = |step: &'static str, said: String| {
        report(Progress {
            step,
            said,
            elapsed_ms: elapsed(),
        })
    };
    let requester = key.account();
    let status = client.status().await?;
    let params = ChainParams::named(&status.network).ok_or_else(|| {
        failed(format!(
            "the node runs unknown network {:?}",
            status.network
        ))
    })?;
    let pinned_height = status.height;
    // Fixed now, as the offerers accept the bounty's terms with it: counted from the block
    // after the tip, as `--expires-in` says.
    let expiry_height = pinned_height
        .saturating_add(1)
        .saturating_add(options.expires_in_blocks);

    // 1. The quote: which offerers can serve the tier at all.
    let quote = client
        .quote(
            &options.transform,
            &options.inputs,
            options.fuel_budget,
            Some(pinned_height),
            Some(&requester),
        )
        .await?;
    let serving: Vec<&bitverse_rpc_api::OfferQuoteResult> = quote
        .offers
        .iter()
        .filter(|o| o.tiers.iter().any(|t| t.hops == options.hops))
        .filter(|o| options.offerer.is_none_or(|only| only == o.offerer))
        .collect();
    if serving.is_empty() {
        return Err(failed(format!(
            "no staked offerer{} can serve tier {} at root height {pinned_height} ({} offerer(s) \
             staked, {} relayer(s) staked)",
            options.offerer.map(|o| format!(" {o}")).unwrap_or_default(),
            options.hops,
            quote.offers.len(),
            quote.relayers_staked
        )));
    }
    let cheapest = serving
        .iter()
        .filter_map(|o| o.tiers.iter().find(|t| t.hops == options.hops))
        .min_by_key(|t| t.price);
    if let Some(tier) = cheapest {
        say(
            "quote",
            format!(
                "root height {pinned_height}: {} offerer(s) serve tier {}; from {} base units, \
                 a wrong result passing unnoticed ≤ {} ppm, ~{} ms",
                serving.len(),
                options.hops,
                tier.price,
                tier.undetected_error_ppm,
                tier.latency_ms
            ),
        );
    }

    // 2. Offers.
    let asked = client
        .market_request(&MarketRequestParams {
            requester,
            transform: options.transform.clone(),
            inputs: options.inputs.clone(),
            args_hex: hex::encode(&options.args),
            fuel_budget: options.fuel_budget,
            hops: options.hops,
            pinned_height,
            expiry_height,
            nonce: crate::verify::now_ms(),
        })
        .await?;
    say(
        "request",
        format!(
            "asked the market (request {}){}; gathering offers for up to {} ms",
            asked.id,
            if asked.gossiped {
                ""
            } else {
                ", this node only: it has no peers"
            },
            options.offers_wait_ms
        ),
    );
    let offers_started = Instant::now();
    let offers_deadline = offers_started + Duration::from_millis(options.offers_wait_ms);
    let mut heard: Vec<OfferResult> = Vec::new();
    // The priced offers' acceptances of the bounty's terms, which the bounty carries.
    let mut acceptances: Vec<(AccountId, Signature)> = Vec::new();
    loop {
        for mut offer in client.offers(&asked.id).await? {
            if heard.iter().any(|h| h.offerer == offer.offerer) {
                continue;
            }
            let acceptance = check_offer(&offer, &asked.id)?;
            if let (Some(price), Some(acceptance)) = (offer.price, acceptance) {
                let terms = BountyTerms {
                    requester,
                    offerer: offer.offerer,
                    amount: price,
                    transform: &options.transform,
                    inputs: &options.inputs,
                    args: &options.args,
                    pinned_height,
                    hops: options.hops,
                    fuel_budget: options.fuel_budget,
                    expiry_height,
                };
                if offer
                    .offerer
                    .verify(&terms.acceptance_hash(), &acceptance)
                    .is_ok()
                {
                    acceptances.push((offer.offerer, acceptance));
                } else {
                    // The offerer's fault, not the node's: the offer is of no use.
                    offer.price = None;
                    offer.declined =
                        Some("its acceptance is not its signature over this bounty's terms".into());
                }
            }
            match (&offer.price, &offer.declined) {
                (Some(price), _) => say(
                    "offer",
                    format!(
                        "{} offers {} base units, ~{} ms",
                        offer.offerer,
                        price,
                        offer.latency_ms.unwrap_or(0)
                    ),
                ),
                (None, Some(reason)) => {
                    say("offer", format!("{} declines: {reason}", offer.offerer))
                }
                (None, None) => {}
            }
            heard.push(offer);
        }
        let all_answered = serving
            .iter()
            .all(|s| heard.iter().any(|h| h.offerer == s.offerer));
        if all_answered || Instant::now() >= offers_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
    let offers_ms = millis(offers_started.elapsed());
    let chosen = heard
        .iter()
        .filter(|o| serving.iter().any(|s| s.offerer == o.offerer))
        .filter_map(|o| Some((o.price?, o.latency_ms.unwrap_or(u64::MAX), o.offerer)))
        .filter(|(price, _, _)| options.price_max.is_none_or(|max| *price <= max))
        .min();
    let Some((price, _, offerer)) = chosen else {
        let declines: Vec<String> = heard
            .iter()
            .filter_map(|o| Some(format!("{}: {}", o.offerer, o.declined.as_ref()?)))
            .collect();
        return Err(failed(if declines.is_empty() {
            format!(
                "no offer within {} ms{}",
                options.offers_wait_ms,
                options
                    .price_max
                    .map(|m| format!(" at or under {m} base units"))
                    .unwrap_or_default()
            )
        } else if declines.iter().any(|d| d.contains("out of fuel")) {
            format!(
                "every offerer declined: {}; the budget was {} units: give a larger one with --fuel",
                declines.join("; "),
                options.fuel_budget
            )
        } else {
            format!("every offerer declined: {}", declines.join("; "))
        }));
    };

    // 3. The bounty, with the proven value of each input on a data chain.
    let bounty_started = Instant::now();
    // A data chain's anchor can move between reading a proof and the root judging it (a
    // reorganisation of the chain, or a root block anchoring a block this node has not
    // synced): the node answers `CODE_NOT_ANCHORED_YET`, not yet, and the proofs are read again.
    let mut proofs_told = false;
    let mut wait_told = false;
    let id = loop {
        let mut deep_values = Vec::new();
        for input in &options.inputs {
            if let Some((home, deep)) = deep_value(client, input, deadline).await? {
                if !proofs_told {
                    say(
                        "proof",
                        format!(
                            "{input} lives on chain {home}: its value ({} bytes) goes with the \
                             bounty, proven through {} anchor link(s) from a header the root \
                             anchored",
                            deep.value.len(),
                            deep.links.len().saturating_add(1)
                        ),
                    );
                }
                deep_values.push(deep);
            }
        }
        proofs_told = true;
        let post = TxPayload::PostBounty {
            amount: price,
            transform: options.transform.clone(),
            inputs: options.inputs.clone(),
            pinned_height,
            args: options.args.clone(),
            hops: options.hops,
            offerer,
            fuel_budget: options.fuel_budget,
            expiry_height,
            deep_values,
            acceptance: acceptances
                .iter()
                .find(|(account, _)| *account == offerer)
                .map(|(_, acceptance)| *acceptance),
        };
        match send(client, key, options.fee, post).await {
            Err(CliError::Refused { code, message })
                if code == bitverse_rpc_api::CODE_NOT_ANCHORED_YET && Instant::now() < deadline =>
            {
                if !wait_told {
                    say(
                        "proof",
                        format!("the root cannot judge the proofs yet: {message}"),
                    );
                    wait_told = true;
                }
                tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
            }
            sent => break sent?,
        }
    };
    // With relayers, the lineup proof goes right behind the bounty (the id is the
    // transaction's, known now), so both can land in one root block.
    let mut lineup_tx = None;
    if options.hops > 0 {
        let proof = find_lineup_proof(id, requester, params.lineup_difficulty).await?;
        match send(client, key, options.fee, TxPayload::LineupProof { proof }).await {
            Ok(hash) => lineup_tx = Some(hash),
            // A node that will not hold the proof before the bounty: sent again below.
            Err(e) => say(
                "lineup",
                format!("the lineup proof waits for the bounty: {e}"),
            ),
        }
    }
    let posted_height = wait_for_inclusion(client, &id, None, remaining(deadline)?).await?;
    let bounty_ms = millis(bounty_started.elapsed());
    say(
        "bounty",
        format!(
            "bounty {id} posted at root height {posted_height}: {price} base units escrowed for \
             {offerer}, values pinned at {pinned_height}, expires at {expiry_height}"
        ),
    );

    // 4. The lineup.
    let lineup_started = Instant::now();
    let mut lineup = Vec::new();
    if options.hops > 0 {
        let drawn = match lineup_tx {
            Some(hash) => wait_for_inclusion(client, &hash, None, remaining(deadline)?).await,
            None => Err(failed("not sent")),
        };
        let drawn_height = match drawn {
            Ok(height) => height,
            // Dropped with the bounty's block (or never sent): publish it now the bounty is on
            // the root.
            Err(_) => {
                let proof = find_lineup_proof(id, requester, params.lineup_difficulty).await?;
                let hash = send(client, key, options.fee, TxPayload::LineupProof { proof }).await?;
                wait_for_inclusion(client, &hash, None, remaining(deadline)?).await?
            }
        };
        let bounty = fetch_bounty(client, &id).await?;
        lineup = bounty
            .lineup
            .map(|l| l.relayers)
            .ok_or_else(|| failed("the lineup proof is included but the root drew no lineup"))?;
        say(
            "lineup",
            format!(
                "lineup drawn at root height {drawn_height}: {}",
                lineup
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let lineup_ms = if options.hops > 0 {
        millis(lineup_started.elapsed())
    } else {
        0
    };

    // 5. The envelope chain, hop by hop.
    let chain_started = Instant::now();
    let participants = lineup.len().saturating_add(1);
    let mut hops_ms: Vec<u64> = Vec::new();
    let heard_chain = loop {
        let chain = client.result_chain(&id).await?;
        let signers = chain.as_ref().map_or(0, |c| c.signers.len());
        while hops_ms.len() < signers.min(participants) {
            let position = hops_ms.len();
            hops_ms.push(millis(chain_started.elapsed()));
            let signer = chain
                .as_ref()
                .and_then(|c| c.signers.get(position))
                .map(ToString::to_string)
                .unwrap_or_default();
            say(
                "hop",
                if position == 0 {
                    format!("offerer {signer} signed its result")
                } else {
                    format!("relayer {position} ({signer}) recomputed it and countersigned")
                },
            );
        }
        if let Some(chain) = chain
            && chain.signers.len() >= participants
        {
            break chain;
        }
        let bounty = fetch_bounty(client, &id).await?;
        if bounty.status != "open" {
            return Err(ended_without_result(&bounty));
        }
        if Instant::now() >= deadline {
            return Err(failed(format!(
                "gave up after {} ms with {} of {participants} envelopes; the bounty expires \
                 at root height {expiry_height} and is then refunded",
                options.timeout_ms, signers
            )));
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    };

    // 6. Check the chain as far as it can be before the reveal, wait for the root's
    // settlement (its Settle reveals the result's hash), check every commitment against that
    // hash, then wait for the result's bytes and check them against it.
    let settle_started = Instant::now();
    let bounty = fetch_bounty(client, &id).await?;
    let expected = ExpectedChain {
        bounty: id,
        offerer: bounty.offerer,
        lineup: &lineup,
        fuel_budget: bounty.fuel_budget,
    };
    let verified = verify_envelope_prefix(&decode_chain(&heard_chain)?, &expected)
        .map_err(|e| failed(format!("the envelope chain does not verify: {e}")))?;
    // The relayer that completed the chain settles it, and the offerer after a few root blocks
    // should that Settle be lost; the requester cannot, as it does not know the result's hash.
    let (settled_height, result_hash) = loop {
        let bounty = fetch_bounty(client, &id).await?;
        match bounty.status.as_str() {
            "settled" => {
                let hash = bounty.result_hash.ok_or_else(|| {
                    failed(format!(
                        "the node shows bounty {id} settled without a result"
                    ))
                })?;
                break (bounty.ended_height.unwrap_or(bounty.height), hash);
            }
            "open" if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
            }
            "open" => {
                return Err(failed(format!(
                    "the chain is complete but the root has not settled bounty {id} within {} \
                     ms",
                    options.timeout_ms
                )));
            }
            _ => return Err(ended_without_result(&bounty)),
        }
    };
    say(
        "settled",
        format!(
            "settled at root height {settled_height}: result {result_hash} ({} fuel); waiting \
             for its bytes",
            verified.fuel_used
        ),
    );
    let result = loop {
        let heard = client.result_chain(&id).await?;
        if let Some(heard) = &heard
            && let Some(result_hex) = &heard.result_hex
        {
            // The chain the root settled: every envelope commits to the revealed hash.
            verify_envelope_chain(&decode_chain(heard)?, &expected, &result_hash)
                .map_err(|e| failed(format!("the settled envelope chain does not verify: {e}")))?;
            let bytes = hex::decode(result_hex)
                .map_err(|e| failed(format!("the node sent a result that is not hex: {e}")))?;
            if Hash::digest(&bytes) != result_hash {
                return Err(failed(format!(
                    "the result the node sent is not the one bounty {id} settled with"
                )));
            }
            break bytes;
        }
        if Instant::now() >= deadline {
            return Err(failed(format!(
                "bounty {id} settled at root height {settled_height} with result {result_hash}, \
                 but no executor revealed its bytes within {} ms",
                options.timeout_ms
            )));
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    };
    let settlement_ms = millis(settle_started.elapsed());
    say(
        "revealed",
        format!(
            "result {result_hash} revealed ({} bytes), checked against the settled hash",
            result.len()
        ),
    );
    Ok(RequestOutcome {
        bounty: id,
        offerer,
        price,
        lineup,
        result_hash,
        fuel_used: verified.fuel_used,
        settled_height,
        timings: RequestTimings {
            offers_ms,
            bounty_ms,
            lineup_ms,
            hops_ms,
            settlement_ms,
            total_ms: millis(started.elapsed()),
        },
        result,
    })
}

/// For a key whose keyspace lives on a data chain, that chain and the key's value with the
/// proof the root checks (`DeepValue`), from the node's value proof; `None` for a root key. Waits while the value's
/// block is not anchored up to the root yet.
async fn deep_value(
    client: &NodeClient,
    key: &str,
    deadline: Instant,
) -> Result<Option<(String, DeepValue)>, CliError> {
    let home = client.key_chain(key).await?;
    if home.depth == 0 {
        return Ok(None);
    }
    // A value just written is on its chain before a root block anchors it: until then the
    // proof (against the root) shows the key as it was anchored last.
    let anchored_by = Instant::now() + Duration::from_millis(ANCHOR_WAIT_MS);
    loop {
        let proof = match client.proof(key).await {
            Ok(proof) => proof,
            Err(CliError::Refused { code, .. })
                if code == bitverse_rpc_api::CODE_NOT_ANCHORED_YET && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let bytes = hex::decode(&proof.proof_hex)
            .map_err(|e| failed(format!("the node sent a proof that is not hex: {e}")))?;
        let proof = ValueProof::from_bytes(&bytes)
            .map_err(|e| failed(format!("the node sent a malformed proof of {key}: {e}")))?;
        // The requester checks it as the root will, against the root header it ends at.
        proof
            .verify()
            .map_err(|e| failed(format!("the node's proof of {key} does not check: {e}")))?;
        if let Some(deep) = DeepValue::from_value_proof(proof) {
            return Ok(Some((home.chain, deep)));
        }
        if Instant::now() >= anchored_by.min(deadline) {
            return Err(failed(format!(
                "{key} has no value anchored to the root to pin (waited {ANCHOR_WAIT_MS} ms)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
}

/// Searches the lineup proof over bounty `id` with `finder` as its finder, off the runtime.
async fn find_lineup_proof(
    id: Hash,
    finder: AccountId,
    difficulty: u64,
) -> Result<LineupProof, CliError> {
    tokio::task::spawn_blocking(move || {
        LineupProof::find(id, finder, difficulty, 0, LINEUP_ATTEMPTS_MAX)
    })
    .await
    .map_err(|e| failed(format!("lineup proof search failed: {e}")))?
    .ok_or_else(|| failed("no lineup proof found within the attempts allowed"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn remaining(deadline: Instant) -> Result<Duration, CliError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(failed("the request timed out"));
    }
    Ok(left)
}

/// The envelope chain a node's `bv_getResult` answer carries.
fn decode_chain(heard: &ResultChainResult) -> Result<Vec<Envelope>, CliError> {
    let bytes = hex::decode(&heard.envelopes_hex)
        .map_err(|e| failed(format!("the node sent envelopes that are not hex: {e}")))?;
    decode_envelope_chain(&bytes)
        .map_err(|e| failed(format!("the node sent a malformed envelope chain: {e}")))
}

async fn fetch_bounty(client: &NodeClient, id: &Hash) -> Result<BountyResult, CliError> {
    client
        .bounty(id, None)
        .await?
        .ok_or_else(|| failed(format!("bounty {id} is no longer on the root's best chain")))
}

/// Why a bounty ended without a result for the requester.
fn ended_without_result(bounty: &BountyResult) -> CliError {
    let at = bounty
        .ended_height
        .map(|h| format!(" at root height {h}"))
        .unwrap_or_default();
    match bounty.status.as_str() {
        "disputed" => {
            let slashed: Vec<String> = bounty
                .slashed
                .iter()
                .map(|s| {
                    format!(
                        "{} as {} ({} base units burnt)",
                        s.address, s.role, s.amount
                    )
                })
                .collect();
            failed(format!(
                "bounty {} was disputed{at}: the root re-executed it ({}); slashed: {}; the \
                 bounty is refunded and no result is written",
                bounty.id,
                bounty
                    .result_hash
                    .map(|h| format!("result {h}"))
                    .unwrap_or_else(|| "no output".into()),
                if slashed.is_empty() {
                    "nobody".to_owned()
                } else {
                    slashed.join(", ")
                }
            ))
        }
        "expired" => failed(format!(
            "bounty {} expired{at} without a complete result: refunded, and a failure recorded \
             for offerer {}",
            bounty.id, bounty.offerer
        )),
        other => failed(format!("bounty {} ended as {other}{at}", bounty.id)),
    }
}

/// Checks an offer as heard against its own signature and the request it answers.
/// Checks that the node's account of an offer is what the offerer signed; the offer's
/// acceptance of the bounty's terms when priced.
fn check_offer(offer: &OfferResult, request: &Hash) -> Result<Option<Signature>, CliError> {
    let bytes = hex::decode(&offer.offer_hex)
        .map_err(|e| failed(format!("the node sent an offer that is not hex: {e}")))?;
    let message = MarketMessage::from_bytes_checked(&bytes)
        .map_err(|e| failed(format!("the node sent a bad offer: {e}")))?;
    let MarketMessage::Offer(signed) = message else {
        return Err(failed("the node sent something else as an offer"));
    };
    let (price, latency_ms, declined) = signed.terms.parts();
    if signed.request != *request
        || signed.offerer != offer.offerer
        || price != offer.price
        || latency_ms != offer.latency_ms
        || declined != offer.declined
    {
        return Err(failed(format!(
            "the node's account of {}'s offer does not match what it signed",
            offer.offerer
        )));
    }
    Ok(match signed.terms {
        OfferTerms::Priced { acceptance, .. } => Some(acceptance),
        OfferTerms::Declined { .. } => None,
    })
}

/// Signs `payload` for the root with `key` at its next nonce and sends it; its hash.
async fn send(
    client: &NodeClient,
    key: &SecretKey,
    fee: Amount,
    payload: TxPayload,
) -> Result<Hash, CliError> {
    let nonce = client.account(&key.account()).await?.pending_nonce;
    let tx = UnsignedTx {
        chain: ChainId::ROOT,
        sender: key.account(),
        nonce,
        fee,
        payload,
    }
    .sign(key);
    client.send_transaction(&tx).await
}
