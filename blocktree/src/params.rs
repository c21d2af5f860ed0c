//! Network parameters: the numbers every node of a network must agree on, genesis included.

use bitverse_pricing::{LedgerParams, QuoteParams, StorageParams};
use bitverse_primitives::{AccountId, Amount, SecretKey};

/// The dev accounts funded at genesis on `dev` and `local` networks, by name (`dev:alice`).
pub const DEV_ACCOUNT_NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// The parameters that differ with a chain's depth in the blocktree (DESIGN §2): deeper chains
/// produce blocks less often and hold data more cheaply.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode)]
pub struct DepthParams {
    /// Block interval that difficulty retargeting steers toward.
    pub block_interval_target_ms: u64,
    /// Lowest difficulty a block may have; `1` means any nonce is a valid proof of work.
    pub difficulty_min: u64,
    /// Difficulty of the first blocks after genesis, before a window's worth of blocks exists.
    pub difficulty_initial: u64,
    /// How many past blocks retargeting averages over.
    pub retarget_window_blocks: u64,
    /// Price of one byte of keyspace quota, paid into the keyspace's endowment at purchase.
    pub storage_price_per_byte: Amount,
}

/// What a network agrees on. Two nodes with different parameters are on different networks:
/// the parameters' hash is part of the genesis block.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode)]
pub struct ChainParams {
    /// The network's name (`dev`, `local`).
    pub network: String,
    /// The root chain's (depth 0) block interval, difficulty and storage price.
    pub root: DepthParams,
    /// Depths 1, 2, …: `deeper[d - 1]` is depth `d`. The deepest chain a keyspace may be bought
    /// on is `deeper.len()`.
    pub deeper: Vec<DepthParams>,
    /// Whether retargeting is off (every block at its depth's `difficulty_min`), as in `--dev`.
    pub difficulty_fixed: bool,
    /// How far ahead of a node's clock a block's time may be.
    pub future_time_ms_max: u64,
    /// How many past blocks the median-time-past rule takes the median of.
    pub median_time_blocks: u64,
    /// `k_ref`: how many root blocks must follow a data-chain block's relay parent before the
    /// block may name it (0: the root's tip will do).
    pub relay_parent_depth_min: u64,
    /// `k`: how deep on the root an anchor must be buried for what it anchors (and,
    /// transitively, what that anchors) to be final.
    pub final_depth_blocks: u64,
    /// New currency paid to a block's miner, besides the fees.
    pub block_subsidy: Amount,
    /// Each block of a chain releases what is left of its endowment pool, shifted right by
    /// this many bits, to its miner (`crate::endowment`): half a pool is paid out over about
    /// `0.69 · 2^shift` blocks of its chain.
    pub endowment_release_shift: u32,
    /// Genesis time.
    pub genesis_time_ms: u64,
    /// Accounts funded at genesis.
    pub genesis_allocations: Vec<(AccountId, Amount)>,
    /// Root blocks between an `Unstake` and the return of its amount to the balance: the
    /// amount is released at the start of root block `unstake height + unbonding_delay_blocks`
    /// (a delay of 0 counts as 1: the block holding the Unstake has begun already). Long
    /// enough that a stake cannot leave before a dispute about its work can slash it.
    pub unbonding_delay_blocks: u64,
    /// The reliability ledger's forgetting and prior (`docs/MARKET.md`).
    pub ledger: LedgerParams,
    /// What a quote charges and assumes (`docs/MARKET.md`).
    pub quote: QuoteParams,
    /// The difficulty a bounty's lineup proof must meet (`relay_lineup::LineupProof::check`):
    /// `D` hashes on average, the price of grinding for a lineup that suits the finder.
    pub lineup_difficulty: u64,
    /// What a bounty pays, beyond its amount, per root block it may stay open (to its expiry
    /// height), into the root's endowment pool: holding an escrow and a place in the open
    /// table costs in proportion to how long it is held, so filling the table with tiny
    /// bounties expiring far out costs real money (issue 18 §5).
    pub bounty_price_per_block: Amount,
    /// What storing a blob costs, how fast it gets cheaper, and how long a storer has to
    /// confirm a shard (`docs/STORAGE.md`).
    pub storage: StorageParams,
}

/// Balance of each dev account at genesis: 10^12 base units.
pub const DEV_ACCOUNT_BALANCE: Amount = Amount(1_000_000_000_000);

/// A year of 365.25 days, in milliseconds: the clock of the storage rate's yearly fall is
/// this many milliseconds of root blocks at their target interval.
pub const YEAR_MS: u64 = 31_557_600_000;

/// The deepest chain `dev` and `local` let a keyspace be bought on.
pub const DEV_DEPTH_MAX: u8 = 8;

fn dev_allocations() -> Vec<(AccountId, Amount)> {
    DEV_ACCOUNT_NAMES
        .iter()
        .map(|name| (SecretKey::dev(name).account(), DEV_ACCOUNT_BALANCE))
        .collect()
}

/// Depths 1..=`depth_max` from the root's parameters by one rule: each level down adds the
/// root's interval once more (depth 3 of a 3 s root: 12 s) and halves the storage price (never
/// below one base unit), so depth is a security tier bought more cheaply.
fn deeper_from(root: &DepthParams, depth_max: u8) -> Vec<DepthParams> {
    (1..=u64::from(depth_max))
        .map(|depth| DepthParams {
            block_interval_target_ms: root
                .block_interval_target_ms
                .saturating_mul(depth.saturating_add(1)),
            storage_price_per_byte: Amount(
                (root.storage_price_per_byte.0 >> depth.min(127)).max(1),
            ),
            ..root.clone()
        })
        .collect()
}

impl ChainParams {
    /// The single-node development network: a block is sealed as soon as the mempool holds a
    /// transaction, at minimum difficulty.
    pub fn dev() -> ChainParams {
        let root = DepthParams {
            block_interval_target_ms: 1_000,
            difficulty_min: 1,
            difficulty_initial: 1,
            retarget_window_blocks: 60,
            storage_price_per_byte: Amount(256),
        };
        ChainParams {
            network: "dev".into(),
            deeper: deeper_from(&root, DEV_DEPTH_MAX),
            root,
            difficulty_fixed: true,
            future_time_ms_max: 120_000,
            median_time_blocks: 11,
            relay_parent_depth_min: 0,
            final_depth_blocks: 0,
            block_subsidy: Amount(0),
            // 45,000 blocks to pay out half a pool: half a day on a 1 s chain.
            endowment_release_shift: 16,
            genesis_time_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            genesis_allocations: dev_allocations(),
            // Two blocks: enough to see the unbonding happen on a dev node (which seals only
            // when it has a transaction), short enough for a demo.
            unbonding_delay_blocks: 2,
            ledger: LedgerParams::DEFAULT,
            quote: QuoteParams::DEFAULT,
            // Any proof will do: a dev node publishes the lineup at once.
            lineup_difficulty: 1,
            // A 20-block bounty pays 2 000 base units to be held; the whole open table held
            // for the longest expiry, 10^10 (10 BV).
            bounty_price_per_block: Amount(100),
            storage: StorageParams {
                // Paid every 10 one-second blocks: a dev node shows payments within a demo.
                period_blocks: 10,
                year_blocks: YEAR_MS / 1_000,
                // 1 BV (10^9 base units) a GiB of shards for the first year, 10 % less every
                // year: 1 GiB at 3-of-10 costs about 3.3 BV its first year, 33 BV for ever.
                price_per_gib_year: Amount(1_000_000_000),
                yearly_retention_ppm: 900_000,
                placement_price_per_shard: Amount(1_000),
                // 200 blocks: three minutes of dev blocks to take and receipt a shard.
                confirm_deadline_blocks: 200,
                // 100 blocks to answer an audit. A dev node seals blocks only when it has
                // transactions, so this is 100 blocks of activity, not of time: a burst of
                // writes (the puts bench seals tens of blocks a second) must not run out an
                // honest storer whose node looks at the chain every two seconds. Also the
                // least gap between two audits of a shard, which keeps a dev node from
                // sealing a block for each answer for ever (each answer's block issues
                // audits of its own).
                audit_deadline_blocks: 100,
                // 1 % of the storer stake burnt per audit missed: a storer that lost one
                // shard of many pays for that shard; one that dropped everything loses most
                // of its stake after about a hundred audits (0.99^100 = 37 % left).
                audit_slash_ppm: 10_000,
            },
        }
    }

    /// The local multi-node test network: low difficulty, a few seconds per block.
    pub fn local() -> ChainParams {
        let root = DepthParams {
            block_interval_target_ms: 3_000,
            difficulty_min: 1,
            difficulty_initial: 4_096,
            // 60 blocks (three minutes on the root): enough that a window's mean is a steady
            // estimate of the hash rate (±13 %), few enough that a fresh network settles and a
            // changed hash rate is followed within minutes.
            retarget_window_blocks: 60,
            storage_price_per_byte: Amount(256),
        };
        ChainParams {
            network: "local".into(),
            deeper: deeper_from(&root, DEV_DEPTH_MAX),
            root,
            difficulty_fixed: false,
            relay_parent_depth_min: 1,
            final_depth_blocks: 6,
            block_subsidy: Amount(50_000),
            // Thirty seconds of root blocks.
            unbonding_delay_blocks: 10,
            // About 65 thousand hashes: milliseconds for an honest finder, a real cost for
            // grinding many lineups.
            lineup_difficulty: 1 << 16,
            storage: StorageParams {
                // Five minutes of three-second blocks.
                period_blocks: 100,
                year_blocks: YEAR_MS / 3_000,
                // Ten minutes to take and receipt a shard.
                confirm_deadline_blocks: 200,
                // A minute of three-second blocks to answer an audit: an honest storer's node
                // answers within its next look at the chain (two seconds) and a block or two
                // of propagation; a node restarted within a minute misses nothing; a devnet
                // test sees a deleted shard repaired within a few minutes.
                audit_deadline_blocks: 20,
                ..ChainParams::dev().storage
            },
            ..ChainParams::dev()
        }
    }

    /// The work a root header chain must carry before a light client trusts a proof against
    /// it (as Bitcoin's `nMinimumChainWork`): a fresh client cannot be shown a short chain of
    /// the node's own making. A policy of the client, not a rule of consensus, so it is not
    /// part of the parameters hashed into genesis and a release may raise it. `dev` demands
    /// nothing (its difficulty is fixed at 1, so no work protects it anyway); `local`, the
    /// work of its first 16 blocks at its initial difficulty (a fresh local network mines
    /// that in seconds); a public network would ship the work of its chain at release.
    pub fn light_client_work_min(&self) -> u128 {
        match self.network.as_str() {
            "local" => 16u128.saturating_mul(u128::from(self.root.difficulty_initial)),
            _ => 0,
        }
    }

    /// The parameter set called `name`, if there is one.
    pub fn named(name: &str) -> Option<ChainParams> {
        match name {
            "dev" => Some(ChainParams::dev()),
            "local" => Some(ChainParams::local()),
            _ => None,
        }
    }

    /// The parameters of chains at `depth`, if the network allows that depth.
    pub fn depth(&self, depth: u8) -> Option<&DepthParams> {
        match depth.checked_sub(1) {
            None => Some(&self.root),
            Some(below) => self.deeper.get(usize::from(below)),
        }
    }

    /// The deepest chain a keyspace may be bought on.
    pub fn depth_max(&self) -> u8 {
        u8::try_from(self.deeper.len()).unwrap_or(u8::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeper_chains_are_slower_and_cheaper_down_to_the_maximum_depth() {
        for params in [ChainParams::dev(), ChainParams::local()] {
            assert!(params.depth_max() >= 8);
            for depth in 1..=params.depth_max() {
                let above = params.depth(depth - 1).unwrap();
                let here = params.depth(depth).unwrap();
                assert!(here.block_interval_target_ms > above.block_interval_target_ms);
                assert!(here.storage_price_per_byte <= above.storage_price_per_byte);
                assert!(here.storage_price_per_byte.0 >= 1);
            }
            assert_eq!(params.depth(params.depth_max() + 1), None);
        }
    }
}
