//! `bitverse bench request`: the compute market's request → settled latency per tier, on real
//! market nodes on loopback, broken down by step (offers, bounty, lineup, each hop,
//! settlement), against the same transformation run natively in the sandbox, and against the
//! aim of issue 10 §6: two root block intervals plus (hops + 1) × the native run.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bitverse_blocktree::{BlockHeader, ChainParams, TxPayload, UnsignedTx};
use bitverse_compute::transform::{
    INPUT_SIZE_BYTES_MAX, TRANSFORM_MODULE_SIZE_BYTES_MAX, TransformRequest, TransformRunner,
};
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use serde_json::json;

use bitverse_client::NodeClient;
use bitverse_client::request::{self, RequestOptions, RequestTimings};
use bitverse_client::wait_for_inclusion;
use bitverse_node::tools::RequestBenchOptions;

use crate::bench_network::{clients, work_dir};
use crate::devnet::{DEVNET_NODES_MAX, stake_every_node, start_devnet_nodes};

/// Requests per tier at most: each takes several root blocks.
const RUNS_PER_TIER_MAX: usize = 100;
/// Timed native runs of the transformation, after one that compiles the module; the median is
/// the native cost.
const NATIVE_RUNS: usize = 5;
/// How long one request may take before the bench gives up on it.
const REQUEST_TIMEOUT_MS: u64 = 300_000;
/// How long a request gathers offers (the CLI's default; it stops early once every offerer
/// quoted has answered).
const OFFERS_WAIT_MS: u64 = 3_000;
/// Root blocks a bounty stays open: the CLI's default.
const EXPIRES_IN_BLOCKS: u64 = 20;
/// The fee of every transaction the bench sends.
const TX_FEE: Amount = Amount(1);
/// How long a keyspace purchase or a put may take to be included, and every node to reach it.
const SETUP_TIMEOUT_MS: u64 = 180_000;
/// How often the bench asks the nodes for their height while it waits for them.
const POLL_MS: u64 = 200;
/// Extra quota bytes over the value's size for a keyspace the bench buys (key and accounting).
const QUOTA_SLACK_BYTES: u64 = 1024;
/// The keyspace the transformation is published in (owned by dev:alice).
const FILTERS_KEYSPACE: &str = "filters";
/// The keyspace the photo is published in (owned by dev:bob, the requester).
const PHOTOS_KEYSPACE: &str = "photos";
/// The photo's key.
const PHOTO_KEY: &str = "photos/sample";

/// Runs the bench; every node it started is stopped on every path out.
pub(crate) async fn run(options: RequestBenchOptions) -> anyhow::Result<()> {
    check_options(&options)?;
    let module = read_bounded(
        &options.module,
        TRANSFORM_MODULE_SIZE_BYTES_MAX,
        "a transformation module",
    )?;
    let photo = read_bounded(&options.photo, INPUT_SIZE_BYTES_MAX, "an input value")?;
    let module_name = options
        .module
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| "transform".to_owned());
    let transform_key = format!("{FILTERS_KEYSPACE}/{module_name}");

    let (dir, _temp) = work_dir(options.dir.as_deref())?;
    if fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .next()
        .is_some()
    {
        bail!(
            "{} is not empty; the bench starts a fresh network (give --dir a new directory)",
            dir.display()
        );
    }
    let exe = crate::bitverse_exe()?;
    // As `bitverse devnet` starts them, every node offering and relaying honestly.
    let nodes = start_devnet_nodes(&exe, &dir, options.nodes, None, &[])?;
    let clients = clients(&nodes.0)?;
    let client = clients.first().context("no node started")?;
    let names: Vec<String> = nodes.0.iter().map(|n| n.name.clone()).collect();
    eprintln!(
        "bench: funding and staking {} nodes as offerer and relayer (a few root blocks) …",
        names.len()
    );
    stake_every_node(client.url().to_owned(), names)
        .await
        .context("staking the nodes failed")?;

    eprintln!("bench: publishing {transform_key} and {PHOTO_KEY} …");
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob");
    let published_height = publish(
        client,
        &[
            (&alice, FILTERS_KEYSPACE, &transform_key, &module),
            (&bob, PHOTOS_KEYSPACE, PHOTO_KEY, &photo),
        ],
    )
    .await?;
    wait_all_reach(&clients, published_height).await?;

    eprintln!(
        "bench: running {transform_key} natively ({NATIVE_RUNS} runs after one that compiles) …"
    );
    let native =
        tokio::task::block_in_place(|| measure_native(&module, &photo, options.fuel_budget))?;

    let params = ChainParams::local();
    let interval_target_ms = params.root.block_interval_target_ms;
    let from_height = client.status().await?.height;
    let mut tiers = Vec::new();
    for &hops in &options.tiers {
        let mut runs = Vec::new();
        let mut price = Amount(0);
        let tier_from_height = client.status().await?.height;
        for index in 1..=options.runs {
            eprintln!("bench: tier {hops}, request {index}/{} …", options.runs);
            let request_options = RequestOptions {
                transform: transform_key.clone(),
                inputs: vec![PHOTO_KEY.to_owned()],
                args: Vec::new(),
                fuel_budget: options.fuel_budget,
                hops,
                offerer: None,
                price_max: None,
                offers_wait_ms: OFFERS_WAIT_MS,
                expires_in_blocks: EXPIRES_IN_BLOCKS,
                fee: TX_FEE,
                timeout_ms: REQUEST_TIMEOUT_MS,
            };
            let began_height = client.status().await?.height;
            let outcome = request::run(client, &bob, &request_options, |progress| {
                eprintln!(
                    "bench:   [{:>6.1} s] {:<8} {}",
                    progress.elapsed_ms as f64 / 1000.0,
                    progress.step,
                    progress.said
                );
            })
            .await
            .with_context(|| format!("tier {hops}, request {index}"))?;
            // The market's settled result must be the one the sandbox computes here: the
            // native run measured is the same work.
            if outcome.result_hash != native.result_hash || outcome.fuel_used != native.fuel_used {
                bail!(
                    "tier {hops}, request {index}: the market settled result {} ({} fuel), the \
                     native run gives {} ({} fuel)",
                    outcome.result_hash,
                    outcome.fuel_used,
                    native.result_hash,
                    native.fuel_used
                );
            }
            eprintln!(
                "bench: tier {hops}, request {index}: settled in {} ms",
                outcome.timings.total_ms
            );
            price = outcome.price;
            runs.push(RunMeasured {
                root_blocks: outcome.settled_height.saturating_sub(began_height),
                timings: outcome.timings,
            });
        }
        let mut summary = summarise(hops, &runs).context("no request was measured")?;
        // The network retargets while the bench runs, so each tier is judged against the
        // interval its own requests lived through, not the whole run's.
        let tier_to_height = client.status().await?.height;
        summary.interval_measured_ms =
            measured_interval_ms(client, tier_from_height, tier_to_height).await?;
        tiers.push((summary, price));
    }
    let to_height = client.status().await?.height;
    let interval_measured_ms = measured_interval_ms(client, from_height, to_height).await?;

    eprintln!("bench: stopping {} nodes …", nodes.0.len());
    tokio::task::block_in_place(|| drop(nodes));

    let report = Report {
        nodes: options.nodes,
        runs: options.runs,
        transform_key,
        module_bytes: module.len(),
        photo_bytes: photo.len(),
        native,
        interval_target_ms,
        interval_measured_ms,
        from_height,
        to_height,
        tiers,
    };
    if options.json {
        println!("{}", report.to_json());
    } else {
        report.print();
    }
    Ok(())
}

fn check_options(options: &RequestBenchOptions) -> anyhow::Result<()> {
    if options.nodes < 2 || options.nodes > DEVNET_NODES_MAX {
        bail!(
            "--nodes must be between 2 and {DEVNET_NODES_MAX}, not {}",
            options.nodes
        );
    }
    if options.tiers.is_empty() {
        bail!("--tiers names no tier");
    }
    // The offerer is one of the nodes and may not relay its own result; the requester
    // (dev:bob) is none of them.
    if let Some(&hops) = options
        .tiers
        .iter()
        .find(|&&h| usize::from(h) >= options.nodes)
    {
        bail!(
            "tier {hops} needs {} relayers besides the offerer: at least {} nodes, not {}",
            hops,
            usize::from(hops) + 1,
            options.nodes
        );
    }
    if options.runs == 0 || options.runs > RUNS_PER_TIER_MAX {
        bail!(
            "--runs must be between 1 and {RUNS_PER_TIER_MAX}, not {}",
            options.runs
        );
    }
    Ok(())
}

/// Reads a whole file of at most `size_bytes_max` bytes; `what` names it in the error.
fn read_bounded(path: &Path, size_bytes_max: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let size_bytes = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size_bytes > size_bytes_max as u64 {
        bail!(
            "{} holds {size_bytes} bytes; {what} may be at most {size_bytes_max}",
            path.display()
        );
    }
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Buys each `(owner, keyspace, key, value)`'s root keyspace with room for the value, then
/// puts the value, waiting for each step's transactions; the root height of the last put.
async fn publish(
    client: &NodeClient,
    entries: &[(&SecretKey, &str, &str, &[u8])],
) -> anyhow::Result<u64> {
    let timeout = Duration::from_millis(SETUP_TIMEOUT_MS);
    let price_per_byte = client.status().await?.storage_price_per_byte;
    let mut buys = Vec::new();
    for (owner, keyspace, _, value) in entries {
        let quota_bytes = (value.len() as u64)
            .saturating_mul(2)
            .saturating_add(QUOTA_SLACK_BYTES);
        let prepaid = price_per_byte
            .checked_mul(u128::from(quota_bytes))
            .context("the keyspace's price overflows")?;
        let payload = TxPayload::BuyKeyspace {
            name: (*keyspace).to_owned(),
            owner: owner.account(),
            quota_bytes,
            prepaid,
            script: None,
            depth: 0,
        };
        buys.push(send(client, owner, payload).await?);
    }
    for hash in &buys {
        wait_for_inclusion(client, hash, None, timeout)
            .await
            .context("buying a keyspace")?;
    }
    let mut puts = Vec::new();
    for (owner, _, key, value) in entries {
        let payload = TxPayload::Put {
            key: (*key).to_owned(),
            value: value.to_vec(),
        };
        puts.push(send(client, owner, payload).await?);
    }
    let mut height = 0;
    for hash in &puts {
        let included = wait_for_inclusion(client, hash, None, timeout)
            .await
            .context("putting a value")?;
        height = height.max(included);
    }
    Ok(height)
}

/// Signs `payload` for the root with `key` at its next nonce and sends it; its hash.
async fn send(client: &NodeClient, key: &SecretKey, payload: TxPayload) -> anyhow::Result<Hash> {
    let nonce = client.account(&key.account()).await?.pending_nonce;
    let tx = UnsignedTx {
        chain: ChainId::ROOT,
        sender: key.account(),
        nonce,
        fee: TX_FEE,
        payload,
    }
    .sign(key);
    Ok(client.send_transaction(&tx).await?)
}

/// Waits until every node's root is at `height` or above: each must hold the stakes and the
/// published values before it can offer or relay.
async fn wait_all_reach(clients: &[NodeClient], height: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(SETUP_TIMEOUT_MS);
    loop {
        let mut heights = Vec::with_capacity(clients.len());
        for client in clients {
            heights.push(client.status().await.map_or(0, |s| s.height));
        }
        if heights.iter().all(|&h| h >= height) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("the nodes did not all reach root height {height} in time; heights {heights:?}");
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
}

/// The transformation run in-process, in the sandbox the nodes use.
#[derive(Clone, Debug)]
struct NativeRun {
    /// The median of the timed runs, µs.
    median_us: u64,
    /// The first run, which compiles the module too, µs.
    first_us: u64,
    /// Fuel one run uses.
    fuel_used: u64,
    /// BLAKE3 of the output, which every request must settle with.
    result_hash: Hash,
    /// The output's size.
    output_bytes: usize,
}

fn measure_native(module: &[u8], photo: &[u8], fuel_budget: u64) -> anyhow::Result<NativeRun> {
    let runner = TransformRunner::new().context("cannot start the sandbox")?;
    let request = TransformRequest {
        inputs: vec![photo.to_vec()],
        args: Vec::new(),
        fuel_max: fuel_budget,
    };
    let once = || -> anyhow::Result<(u64, Vec<u8>, u64)> {
        let started = Instant::now();
        let outcome = runner
            .run(module, request.clone())
            .context("the sandbox cannot run the transformation")?;
        let elapsed_us = micros(started.elapsed());
        let output = outcome.result.with_context(|| {
            format!("the transformation gives no output with {fuel_budget} fuel")
        })?;
        Ok((elapsed_us, output, outcome.fuel_used))
    };
    let (first_us, output, fuel_used) = once()?;
    let mut timed_us = Vec::with_capacity(NATIVE_RUNS);
    for _ in 0..NATIVE_RUNS {
        timed_us.push(once()?.0);
    }
    Ok(NativeRun {
        median_us: median(&timed_us).context("no native run was timed")?,
        first_us,
        fuel_used,
        result_hash: Hash::digest(&output),
        output_bytes: output.len(),
    })
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// The mean root block interval between two heights, from the headers' own times (the root
/// retargets on `local`, so the interval users see is not the target).
async fn measured_interval_ms(
    client: &NodeClient,
    from_height: u64,
    to_height: u64,
) -> anyhow::Result<Option<u64>> {
    let first = header_at(client, from_height).await?;
    let last = header_at(client, to_height).await?;
    Ok(mean_interval_ms(
        (first.height, first.time_ms),
        (last.height, last.time_ms),
    ))
}

async fn header_at(client: &NodeClient, height: u64) -> anyhow::Result<BlockHeader> {
    let page = client.headers(height, 1).await?;
    let text = page
        .first()
        .with_context(|| format!("the node has no root header at height {height}"))?;
    let bytes = hex::decode(text).context("the node sent a header that is not hex")?;
    let header = BlockHeader::from_bytes(&bytes).context("the node sent a malformed header")?;
    if header.height != height {
        bail!(
            "the node sent the header of height {} for {height}",
            header.height
        );
    }
    Ok(header)
}

/// One request as measured.
#[derive(Clone, Debug)]
struct RunMeasured {
    /// Its steps' times.
    timings: RequestTimings,
    /// Root blocks from the tip when it began to the block that settled it.
    root_blocks: u64,
}

/// One tier's requests, summarised (milliseconds, means rounded to the nearest).
#[derive(Clone, Debug, PartialEq, Eq)]
struct TierSummary {
    hops: u8,
    runs: usize,
    /// Each request's total, in order.
    total_ms_each: Vec<u64>,
    /// Each request's root blocks, in order.
    root_blocks_each: Vec<u64>,
    total_ms_mean: u64,
    total_ms_worst: u64,
    offers_ms_mean: u64,
    bounty_ms_mean: u64,
    lineup_ms_mean: u64,
    /// Per position (the offerer, then each relayer): from the previous envelope (for the
    /// offerer, from the bounty's or the lineup's block) to this one's.
    hop_ms_mean: Vec<u64>,
    settlement_ms_mean: u64,
    /// The mean root block interval while this tier's requests ran.
    interval_measured_ms: Option<u64>,
}

/// The summary of one tier's requests; `None` without any.
fn summarise(hops: u8, runs: &[RunMeasured]) -> Option<TierSummary> {
    let timings: Vec<&RequestTimings> = runs.iter().map(|r| &r.timings).collect();
    let field = |get: fn(&RequestTimings) -> u64| -> Option<u64> {
        mean(&timings.iter().map(|t| get(t)).collect::<Vec<_>>())
    };
    let increments: Vec<Vec<u64>> = timings
        .iter()
        .map(|t| hop_increments_ms(&t.hops_ms))
        .collect();
    let positions = increments.iter().map(Vec::len).max().unwrap_or(0);
    let hop_ms_mean = (0..positions)
        .filter_map(|p| {
            mean(
                &increments
                    .iter()
                    .filter_map(|i| i.get(p).copied())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    Some(TierSummary {
        hops,
        runs: runs.len(),
        total_ms_each: timings.iter().map(|t| t.total_ms).collect(),
        root_blocks_each: runs.iter().map(|r| r.root_blocks).collect(),
        total_ms_mean: field(|t| t.total_ms)?,
        total_ms_worst: timings.iter().map(|t| t.total_ms).max()?,
        offers_ms_mean: field(|t| t.offers_ms)?,
        bounty_ms_mean: field(|t| t.bounty_ms)?,
        lineup_ms_mean: field(|t| t.lineup_ms)?,
        hop_ms_mean,
        settlement_ms_mean: field(|t| t.settlement_ms)?,
        interval_measured_ms: None,
    })
}

/// The mean, rounded to the nearest (halves up); `None` for no values.
fn mean(values: &[u64]) -> Option<u64> {
    let count = u128::try_from(values.len()).ok().filter(|&n| n > 0)?;
    let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
    u64::try_from((sum + count / 2) / count).ok()
}

/// The median (the lower of the middle two for an even count); `None` for no values.
fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len().checked_sub(1)? / 2).copied()
}

/// Times between successive envelopes from the times each was heard since a common start.
fn hop_increments_ms(cumulative_ms: &[u64]) -> Vec<u64> {
    let mut previous = 0;
    cumulative_ms
        .iter()
        .map(|&at| {
            let step = at.saturating_sub(previous);
            previous = at;
            step
        })
        .collect()
}

/// The aim of issue 10 §6 in µs: two root block intervals plus one native run per execution
/// (the offerer's and each relayer's).
fn bound_us(interval_ms: u64, hops: u8, native_us: u64) -> u64 {
    interval_ms
        .saturating_mul(2_000)
        .saturating_add((u64::from(hops) + 1).saturating_mul(native_us))
}

/// A measured latency over its bound; `None` for a zero bound.
fn ratio(total_ms: u64, bound_us: u64) -> Option<f64> {
    (bound_us > 0).then(|| total_ms as f64 * 1000.0 / bound_us as f64)
}

/// The mean interval between two `(height, time_ms)` points, rounded to the nearest; `None`
/// unless the second is higher.
fn mean_interval_ms(first: (u64, u64), last: (u64, u64)) -> Option<u64> {
    let blocks = last.0.checked_sub(first.0).filter(|&b| b > 0)?;
    let elapsed_ms = last.1.saturating_sub(first.1);
    Some(elapsed_ms.saturating_add(blocks / 2) / blocks)
}

/// Everything measured, for prose or JSON.
struct Report {
    nodes: usize,
    runs: usize,
    transform_key: String,
    module_bytes: usize,
    photo_bytes: usize,
    native: NativeRun,
    interval_target_ms: u64,
    interval_measured_ms: Option<u64>,
    from_height: u64,
    to_height: u64,
    tiers: Vec<(TierSummary, Amount)>,
}

/// One tier's figures against the bound at one root block interval.
struct Against {
    bound_us: u64,
    ratio: Option<f64>,
}

impl Report {
    fn against(&self, tier: &TierSummary, interval_ms: u64) -> Against {
        let bound_us = bound_us(interval_ms, tier.hops, self.native.median_us);
        Against {
            bound_us,
            ratio: ratio(tier.total_ms_mean, bound_us),
        }
    }

    fn overhead_ms(&self, tier: &TierSummary) -> f64 {
        tier.total_ms_mean as f64 - self.native.median_us as f64 / 1000.0
    }

    fn to_json(&self) -> serde_json::Value {
        let tiers: Vec<serde_json::Value> = self
            .tiers
            .iter()
            .map(|(tier, price)| {
                let target = self.against(tier, self.interval_target_ms);
                let measured = tier
                    .interval_measured_ms
                    .map(|interval| self.against(tier, interval));
                json!({
                    "hops": tier.hops,
                    "runs": tier.runs,
                    "price": price.0.to_string(),
                    "total_ms_each": tier.total_ms_each,
                    "root_blocks_each": tier.root_blocks_each,
                    "total_ms_mean": tier.total_ms_mean,
                    "total_ms_worst": tier.total_ms_worst,
                    "offers_ms_mean": tier.offers_ms_mean,
                    "bounty_ms_mean": tier.bounty_ms_mean,
                    "lineup_ms_mean": tier.lineup_ms_mean,
                    "hop_ms_mean": tier.hop_ms_mean,
                    "settlement_ms_mean": tier.settlement_ms_mean,
                    "root_block_interval_measured_ms": tier.interval_measured_ms,
                    "overhead_ms": self.overhead_ms(tier),
                    "bound_ms": target.bound_us as f64 / 1000.0,
                    "ratio": target.ratio,
                    "bound_ms_at_measured_interval": measured.as_ref().map(|m| m.bound_us as f64 / 1000.0),
                    "ratio_at_measured_interval": measured.and_then(|m| m.ratio),
                })
            })
            .collect();
        json!({
            "nodes": self.nodes,
            "runs_per_tier": self.runs,
            "transform": self.transform_key,
            "module_bytes": self.module_bytes,
            "input_bytes": self.photo_bytes,
            "native": {
                "median_ms": self.native.median_us as f64 / 1000.0,
                "first_run_with_compile_ms": self.native.first_us as f64 / 1000.0,
                "runs": NATIVE_RUNS,
                "fuel_used": self.native.fuel_used,
                "output_bytes": self.native.output_bytes,
                "result_hash": self.native.result_hash.to_string(),
            },
            "root_block_interval_target_ms": self.interval_target_ms,
            "root_block_interval_measured_ms": self.interval_measured_ms,
            "root_heights": [self.from_height, self.to_height],
            "tiers": tiers,
        })
    }

    fn print(&self) {
        println!(
            "{} nodes; {} ({} bytes) over {PHOTO_KEY} ({} bytes); {} requests per tier",
            self.nodes, self.transform_key, self.module_bytes, self.photo_bytes, self.runs
        );
        println!(
            "native in the sandbox: {:.2} ms (median of {NATIVE_RUNS}; the first run, compiling, \
             {:.1} ms), {} fuel, {} bytes out",
            self.native.median_us as f64 / 1000.0,
            self.native.first_us as f64 / 1000.0,
            self.native.fuel_used,
            self.native.output_bytes
        );
        println!(
            "root block interval: target {} ms, measured {} over root heights {}..={}",
            self.interval_target_ms,
            self.interval_measured_ms
                .map_or_else(|| "— (no block)".to_owned(), |ms| format!("{ms} ms")),
            self.from_height,
            self.to_height
        );
        println!(
            "{:>4} {:>8} {:>8} {:>7} {:>7} {:>7} {:>24} {:>7} {:>9} {:>8} {:>6} {:>9} {:>6}",
            "tier",
            "mean ms",
            "worst",
            "offers",
            "bounty",
            "lineup",
            "hops (each)",
            "settle",
            "overhead",
            "bound",
            "ratio",
            "bound@m",
            "ratio"
        );
        for (tier, _) in &self.tiers {
            let target = self.against(tier, self.interval_target_ms);
            let measured = tier
                .interval_measured_ms
                .map(|interval| self.against(tier, interval));
            let hops = tier
                .hop_ms_mean
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("+");
            let shown = |r: Option<f64>| r.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}"));
            println!(
                "{:>4} {:>8} {:>8} {:>7} {:>7} {:>7} {:>24} {:>7} {:>9.1} {:>8.1} {:>6} {:>9} {:>6}",
                tier.hops,
                tier.total_ms_mean,
                tier.total_ms_worst,
                tier.offers_ms_mean,
                tier.bounty_ms_mean,
                tier.lineup_ms_mean,
                hops,
                tier.settlement_ms_mean,
                self.overhead_ms(tier),
                target.bound_us as f64 / 1000.0,
                shown(target.ratio),
                measured.as_ref().map_or_else(
                    || "—".to_owned(),
                    |m| format!("{:.1}", m.bound_us as f64 / 1000.0)
                ),
                shown(measured.and_then(|m| m.ratio)),
            );
        }
        for (tier, _) in &self.tiers {
            let each: Vec<String> = tier
                .total_ms_each
                .iter()
                .zip(&tier.root_blocks_each)
                .map(|(ms, blocks)| format!("{ms} ms / {blocks} blocks"))
                .collect();
            println!(
                "tier {} requests (root block interval {}): {}",
                tier.hops,
                tier.interval_measured_ms
                    .map_or_else(|| "—".to_owned(), |ms| format!("{ms} ms")),
                each.join(", ")
            );
        }
        println!(
            "bound = 2 × root block interval + (hops + 1) × native; ratio = mean / bound (the aim: \
             under 1); bound@m and its ratio use the interval measured during the tier's requests"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timings(offers: u64, hops: &[u64], settlement: u64, total: u64) -> RunMeasured {
        let timings = RequestTimings {
            offers_ms: offers,
            bounty_ms: 3_000,
            lineup_ms: if hops.len() > 1 { 2_000 } else { 0 },
            hops_ms: hops.to_vec(),
            settlement_ms: settlement,
            total_ms: total,
        };
        RunMeasured {
            timings,
            root_blocks: if hops.len() > 1 { 3 } else { 2 },
        }
    }

    #[test]
    fn summary_takes_means_rounded_to_nearest_and_the_worst_total() {
        let runs = [
            timings(100, &[400, 700, 1_000], 2_000, 9_000),
            timings(201, &[500, 900, 1_200], 3_001, 12_001),
        ];
        let summary = summarise(2, &runs).expect("two runs summarise");
        assert_eq!(
            summary,
            TierSummary {
                hops: 2,
                runs: 2,
                total_ms_each: vec![9_000, 12_001],
                root_blocks_each: vec![3, 3],
                total_ms_mean: 10_501,
                total_ms_worst: 12_001,
                offers_ms_mean: 151,
                bounty_ms_mean: 3_000,
                lineup_ms_mean: 2_000,
                // Each position from the previous envelope: (400, 300, 300) and (500, 400, 300).
                hop_ms_mean: vec![450, 350, 300],
                settlement_ms_mean: 2_501,
                // Read from the headers by the bench, not from the requests.
                interval_measured_ms: None,
            }
        );
        assert_eq!(summarise(0, &[]), None);
    }

    #[test]
    fn hop_increments_are_differences_of_cumulative_times() {
        assert_eq!(
            hop_increments_ms(&[250, 600, 600, 1_000]),
            vec![250, 350, 0, 400]
        );
        assert_eq!(hop_increments_ms(&[]), Vec::<u64>::new());
        // Out of order (never from `request::run`, which only appends) does not underflow.
        assert_eq!(hop_increments_ms(&[500, 400]), vec![500, 0]);
    }

    #[test]
    fn bound_is_two_intervals_plus_one_native_run_per_execution() {
        // local's 3 s target, a 1.5 ms native run: tier 0 pays one execution, tier 3 four.
        assert_eq!(bound_us(3_000, 0, 1_500), 6_001_500);
        assert_eq!(bound_us(3_000, 3, 1_500), 6_006_000);
        let ratio = ratio(9_003, 6_002_000).expect("a non-zero bound");
        assert!((ratio - 1.5).abs() < 1e-9, "{ratio}");
        assert_eq!(super::ratio(1, 0), None);
        assert_eq!(bound_us(u64::MAX, 3, u64::MAX), u64::MAX);
    }

    #[test]
    fn mean_and_median_of_small_sets() {
        assert_eq!(mean(&[1, 2]), Some(2), "halves round up");
        assert_eq!(mean(&[1, 1, 2]), Some(1));
        assert_eq!(mean(&[u64::MAX, u64::MAX]), Some(u64::MAX), "no overflow");
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[9, 1, 5, 3, 7]), Some(5));
        assert_eq!(
            median(&[4, 1, 3, 2]),
            Some(2),
            "the lower middle for an even count"
        );
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn measured_interval_is_the_mean_spacing_of_header_times() {
        assert_eq!(mean_interval_ms((10, 100_000), (20, 128_005)), Some(2_801));
        assert_eq!(mean_interval_ms((10, 100_000), (10, 100_000)), None);
        assert_eq!(mean_interval_ms((20, 0), (10, 0)), None);
    }
}
