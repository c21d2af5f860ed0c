//! Network parameters: the numbers every node of a network must agree on, genesis included.

use bitverse_primitives::{AccountId, Amount, SecretKey};

/// The dev accounts funded at genesis on `dev` and `local` networks, by name (`dev:alice`).
pub const DEV_ACCOUNT_NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// What a network agrees on. Two nodes with different parameters are on different networks:
/// the parameters' hash is part of the genesis block.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode)]
pub struct ChainParams {
    /// The network's name (`dev`, `local`).
    pub network: String,
    /// Block interval that difficulty retargeting steers toward.
    pub block_interval_target_ms: u64,
    /// Lowest difficulty a block may have; `1` means any nonce is a valid proof of work.
    pub difficulty_min: u64,
    /// Difficulty of the first block after genesis.
    pub difficulty_initial: u64,
    /// How many past blocks the retargeting looks at.
    pub retarget_window_blocks: u64,
    /// Whether retargeting is off (every block at `difficulty_min`), as in `--dev`.
    pub difficulty_fixed: bool,
    /// How far ahead of a node's clock a block's time may be.
    pub future_time_ms_max: u64,
    /// How many past blocks the median-time-past rule takes the median of.
    pub median_time_blocks: u64,
    /// New currency paid to a block's miner, besides the fees.
    pub block_subsidy: Amount,
    /// Price of one byte of keyspace quota, paid into the keyspace's endowment at purchase.
    pub storage_price_per_byte: Amount,
    /// Genesis time.
    pub genesis_time_ms: u64,
    /// Accounts funded at genesis.
    pub genesis_allocations: Vec<(AccountId, Amount)>,
}

/// Balance of each dev account at genesis: 10^12 base units.
pub const DEV_ACCOUNT_BALANCE: Amount = Amount(1_000_000_000_000);

fn dev_allocations() -> Vec<(AccountId, Amount)> {
    DEV_ACCOUNT_NAMES
        .iter()
        .map(|name| (SecretKey::dev(name).account(), DEV_ACCOUNT_BALANCE))
        .collect()
}

impl ChainParams {
    /// The single-node development network: a block is sealed as soon as the mempool holds a
    /// transaction, at minimum difficulty.
    pub fn dev() -> ChainParams {
        ChainParams {
            network: "dev".into(),
            block_interval_target_ms: 1_000,
            difficulty_min: 1,
            difficulty_initial: 1,
            retarget_window_blocks: 16,
            difficulty_fixed: true,
            future_time_ms_max: 120_000,
            median_time_blocks: 11,
            block_subsidy: Amount(0),
            storage_price_per_byte: Amount(1),
            genesis_time_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            genesis_allocations: dev_allocations(),
        }
    }

    /// The local multi-node test network: low difficulty, a few seconds per block.
    pub fn local() -> ChainParams {
        ChainParams {
            network: "local".into(),
            block_interval_target_ms: 3_000,
            difficulty_min: 1,
            difficulty_initial: 4_096,
            retarget_window_blocks: 16,
            difficulty_fixed: false,
            block_subsidy: Amount(50_000),
            ..ChainParams::dev()
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
}
