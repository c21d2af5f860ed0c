//! What a transaction is applied in: the block it belongs to (height, time), the validation
//! scripts' runner (and the transformations' runner, which a Dispute re-executes with), and
//! the payments ledger scripts read, as of the block's parent.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bitverse_compute::TransformRunner;
use bitverse_keyspace::script::{Payments, ScriptRunner};
use bitverse_primitives::{AccountId, Amount, Hash, codec};
use jmt::Version;
use parking_lot::Mutex;

use crate::error::{SandboxFailure, StoreError};
use crate::params::ChainParams;
use crate::state::{payment_key, read_value};
use crate::store::KvStore;

/// The chain's script runner, created the first time a script is uploaded or run: the engine
/// and its pooling allocator reserve address space, which a chain without scripts never needs.
///
/// It also counts the fuel its scripts burned, for the node's metrics: an observation of this
/// node's work (admission dry runs, block building and validation alike), never an input to
/// any decision.
#[derive(Default)]
pub(crate) struct LazyScriptRunner {
    cell: OnceLock<ScriptRunner>,
    fuel_used_total: AtomicU64,
    /// The transformations' runner, created the first time a Dispute re-executes one: other
    /// host API and limits than the scripts'.
    transforms: OnceLock<TransformRunner>,
    /// What re-executing each recently disputed bounty gave, so that a bounty is re-executed
    /// once however many Disputes name it (admission runs none, block building and import
    /// share the verdict).
    pub(crate) dispute_verdicts: DisputeVerdicts,
}

impl LazyScriptRunner {
    /// Adds the fuel one script run burned to the total (wrapping after 2^64, which a
    /// counter's reader treats as a reset).
    pub(crate) fn record_fuel_used(&self, fuel_used: u64) {
        self.fuel_used_total.fetch_add(fuel_used, Ordering::Relaxed);
    }

    /// Fuel burned by every script run since the chain was opened.
    pub(crate) fn fuel_used_total(&self) -> u64 {
        self.fuel_used_total.load(Ordering::Relaxed)
    }

    /// The runner, created now if it does not exist yet. Failing to create it is the node's
    /// failure, never a verdict on a transaction.
    pub(crate) fn get(&self) -> Result<&ScriptRunner, SandboxFailure> {
        if let Some(runner) = self.cell.get() {
            return Ok(runner);
        }
        let runner = ScriptRunner::new().map_err(SandboxFailure::ScriptRunner)?;
        // A concurrent first call may have won the race; either runner is as good.
        let _ = self.cell.set(runner);
        self.cell.get().ok_or(SandboxFailure::ScriptRunnerVanished)
    }

    /// The transformation runner, created now if it does not exist yet. Failing to create it
    /// is the node's failure, never a verdict on a transaction.
    pub(crate) fn transforms(&self) -> Result<&TransformRunner, SandboxFailure> {
        if let Some(runner) = self.transforms.get() {
            return Ok(runner);
        }
        let runner = TransformRunner::new().map_err(SandboxFailure::TransformRunner)?;
        let _ = self.transforms.set(runner);
        self.transforms
            .get()
            .ok_or(SandboxFailure::TransformRunnerVanished)
    }
}

/// Cumulative payments between accounts, read from committed state as of one version (the
/// parent of the block being validated), which is what makes them the same on every node
/// whatever the order of transactions inside the block.
///
/// [`Payments`] cannot fail, so a storage failure is kept here and checked after the script
/// ran ([`StorePayments::take_failure`]): a verdict reached on a failed read is discarded.
pub(crate) struct StorePayments {
    store: Arc<dyn KvStore>,
    version: Option<Version>,
    failure: Mutex<Option<StoreError>>,
}

impl StorePayments {
    pub(crate) fn new(store: Arc<dyn KvStore>, version: Option<Version>) -> StorePayments {
        StorePayments {
            store,
            version,
            failure: Mutex::new(None),
        }
    }

    /// The first storage failure since the last call, if any.
    pub(crate) fn take_failure(&self) -> Result<(), StoreError> {
        match self.failure.lock().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn read(&self, from: AccountId, to: AccountId) -> Result<Amount, StoreError> {
        let Some(version) = self.version else {
            return Ok(Amount::ZERO);
        };
        match read_value(self.store.as_ref(), version, &payment_key(&from, &to))? {
            None => Ok(Amount::ZERO),
            Some(bytes) => codec::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }
}

impl Payments for StorePayments {
    fn paid(&self, from: AccountId, to: AccountId) -> Amount {
        match self.read(from, to) {
            Ok(amount) => amount,
            Err(e) => {
                self.failure.lock().get_or_insert(e);
                Amount::ZERO
            }
        }
    }
}

/// Re-execution verdicts a chain remembers (see [`DisputeVerdicts`]).
pub const DISPUTE_VERDICTS_CACHED_MAX: usize = 256;

/// What re-executing a bounty gave: the result's hash and fuel, or `None` for no result.
pub(crate) type Verdict = Option<(Hash, u64)>;

/// The verdicts of the bounties re-executed last, at most [`DISPUTE_VERDICTS_CACHED_MAX`],
/// the oldest forgotten first, each under a key hashing what its re-execution is a function
/// of (`crate::bounty` computes it: the bounty's transformation and input pins, arguments and
/// fuel budget), so a remembered verdict is the one any node would compute: caching it
/// changes no outcome, only how often a node pays for it.
#[derive(Default)]
pub(crate) struct DisputeVerdicts {
    remembered: Mutex<(BTreeMap<Hash, Verdict>, VecDeque<Hash>)>,
    /// Re-executions run (not answered from memory) since the chain was opened: an
    /// observation for tests and metrics, never an input to a decision.
    pub(crate) runs: AtomicU64,
}

impl DisputeVerdicts {
    pub(crate) fn get(&self, key: &Hash) -> Option<Verdict> {
        self.remembered.lock().0.get(key).copied()
    }

    pub(crate) fn remember(&self, key: Hash, verdict: Verdict) {
        let mut guard = self.remembered.lock();
        let (verdicts, order) = &mut *guard;
        if verdicts.insert(key, verdict).is_none() {
            order.push_back(key);
        }
        while order.len() > DISPUTE_VERDICTS_CACHED_MAX {
            if let Some(oldest) = order.pop_front() {
                verdicts.remove(&oldest);
            }
        }
    }
}

/// The block a transaction is applied in, and what its validation scripts may see of it.
pub(crate) struct BlockContext<'a> {
    pub(crate) params: &'a ChainParams,
    /// Height of the block being built, validated or (for mempool admission) the next one.
    pub(crate) height: u64,
    /// The block's time; scripts see it in whole Unix seconds.
    pub(crate) time_ms: u64,
    pub(crate) scripts: &'a LazyScriptRunner,
    pub(crate) payments: Arc<StorePayments>,
    /// Mempool admission: only the cheap checks of a Dispute run, never its re-execution.
    pub(crate) admission: bool,
    /// Fuel budgets of the Disputes applied in this block so far, against
    /// `crate::bounty::DISPUTE_FUEL_PER_BLOCK_MAX`.
    pub(crate) dispute_fuel_used: AtomicU64,
}

impl BlockContext<'_> {
    /// The block's time in whole Unix seconds, as scripts read it.
    pub(crate) fn time_unix_s(&self) -> u64 {
        self.time_ms.checked_div(1_000).unwrap_or(0)
    }
}
