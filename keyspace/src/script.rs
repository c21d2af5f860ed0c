//! Validation scripts: the domain types a keyspace script judges (`ValidationContext`), its
//! answer (`Verdict` plus fuel), and `ScriptRunner`, which runs scripts in compute's
//! deterministic sandbox behind the versioned host API `bitverse_v1` (see `docs/SCRIPTS.md`).
//!
//! A script is a WebAssembly module that imports only functions of `bitverse_v1`, exports its
//! linear memory as `memory` and a function `validate() -> i32`: `0` accepts the write, any
//! other value rejects it with that value (as `u32`) as reason code. A script that traps, runs
//! out of fuel, overflows its stack or memory, or misuses the host API rejects the write with
//! one of the reserved reason codes `REASON_*` (at and above [`REASON_RESERVED_MIN`]).

mod host;

use std::sync::Arc;

use bitverse_compute::{
    LoadedModule, Sandbox, SandboxConfig, SandboxError, ScriptFault, UploadError,
};
use bitverse_primitives::{AccountId, Amount, Hash};

pub use bitverse_compute::Limits;
pub use host::{
    FUEL_PER_BYTE_COPIED, FUEL_PER_HOST_CALL, FUEL_PER_PAYMENT_LOOKUP, FUEL_PER_SIGNATURE_CHECK,
    HOST_MODULE, REASON_TEXT_BYTES_MAX, VALIDATE_EXPORT_NAME,
};

/// Reason codes from here up are reserved for faults the host reports on the script's behalf.
pub const REASON_RESERVED_MIN: u32 = 0xFFFF_FF00;
/// The script used its whole fuel budget.
pub const REASON_OUT_OF_FUEL: u32 = 0xFFFF_FF01;
/// The script overflowed its stack (e.g. unbounded recursion).
pub const REASON_STACK_OVERFLOW: u32 = 0xFFFF_FF02;
/// The script tried to grow memory or a table above the cap.
pub const REASON_RESOURCE_LIMIT: u32 = 0xFFFF_FF03;
/// The script trapped (unreachable, out-of-bounds access, division by zero, ...).
pub const REASON_TRAP: u32 = 0xFFFF_FF04;
/// The script called a host function with bad arguments (out-of-range pointer, reason text
/// longer than [`REASON_TEXT_BYTES_MAX`], ...).
pub const REASON_HOST_CALL_REFUSED: u32 = 0xFFFF_FF05;

/// What a write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteOp {
    /// Store `value` under `key`. Script code 0.
    Put,
    /// Remove `key`; `value` is empty. Script code 1.
    Delete,
    /// Buy the sub-keyspace named `key` inside this keyspace; `value` is empty. Script code 2.
    BuySubKeyspace,
    /// Replace the script of the keyspace (or sub-keyspace) `key`; `value` is the new script's
    /// 32-byte hash. Script code 3.
    SetScript,
}

impl WriteOp {
    /// The code a script reads from `op()`.
    pub fn code(self) -> i32 {
        match self {
            WriteOp::Put => 0,
            WriteOp::Delete => 1,
            WriteOp::BuySubKeyspace => 2,
            WriteOp::SetScript => 3,
        }
    }
}

/// Everything a script may know about one write. Plain data: the chain fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationContext {
    /// What the write does.
    pub op: WriteOp,
    /// The name of the keyspace whose script runs (e.g. `twitter`).
    pub keyspace: Vec<u8>,
    /// The full key written, keyspace prefix included (e.g. `twitter/erik/1`).
    pub key: Vec<u8>,
    /// The new value (empty for delete and sub-keyspace purchase; script hash for set-script).
    pub value: Vec<u8>,
    /// The account that signed the write.
    pub writer: AccountId,
    /// The owner of the keyspace whose script runs.
    pub keyspace_owner: AccountId,
    /// The value stored under `key` before this write, if any.
    pub existing_value: Option<Vec<u8>>,
    /// Height of the block being validated.
    pub block_height: u64,
    /// Timestamp of the block being validated, in Unix seconds.
    pub block_time_unix_s: u64,
}

/// The writer's payments, as of the block being validated. Supplied by the chain.
pub trait Payments: Send + Sync {
    /// Total paid by `from` to `to` as of the block being validated.
    fn paid(&self, from: AccountId, to: AccountId) -> Amount;
}

impl<F: Fn(AccountId, AccountId) -> Amount + Send + Sync> Payments for F {
    fn paid(&self, from: AccountId, to: AccountId) -> Amount {
        self(from, to)
    }
}

/// A script's answer to one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The write is valid.
    Accept,
    /// The write is refused; `reason_code` reaches the client in the error.
    Reject {
        /// The script's code, or a reserved `REASON_*` code for a fault.
        reason_code: u32,
    },
}

/// The full, deterministic result of validating one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutcome {
    /// Accept or reject.
    pub verdict: Verdict,
    /// Fuel used; identical on every node.
    pub fuel_used: u64,
    /// The fault behind a reserved reason code, for the error message.
    pub fault: Option<ScriptFault>,
    /// Text the script attached with `reject_reason`, lossily decoded as UTF-8.
    pub reason_text: Option<String>,
}

/// Why a script could not be judged or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The script is refused at upload: the buy or set-script transaction is invalid.
    #[error("script refused: {0}")]
    Upload(#[from] UploadError),
    /// The node could not run the script. Not a verdict: do not reject the write for it.
    #[error("node could not run the script: {0}")]
    Node(#[from] SandboxError),
}

/// Runs validation scripts. One per node: it owns the engine and the compiled-module cache.
pub struct ScriptRunner {
    sandbox: Sandbox<host::HostState>,
}

impl ScriptRunner {
    /// A runner with the network's default limits.
    pub fn new() -> Result<Self, ScriptError> {
        Self::with_limits(Limits::default())
    }

    /// A runner with other limits (tests, or a network upgrade).
    pub fn with_limits(limits: Limits) -> Result<Self, ScriptError> {
        let config = SandboxConfig {
            limits,
            host_module: HOST_MODULE,
            entry_export_name: VALIDATE_EXPORT_NAME,
        };
        let sandbox = Sandbox::new(config, host::define)?;
        Ok(ScriptRunner { sandbox })
    }

    /// The limits this runner enforces.
    pub fn limits(&self) -> &Limits {
        &self.sandbox.config().limits
    }

    /// Checks a script as at upload (buy keyspace, set script) and returns its hash, the one
    /// the registry stores. The module is compiled and cached on the way.
    pub fn check_upload(&self, wasm: &[u8]) -> Result<Hash, ScriptError> {
        Ok(self.sandbox.load(wasm)?.hash())
    }

    /// Validates one write with the script `wasm`.
    pub fn validate(
        &self,
        wasm: &[u8],
        context: &ValidationContext,
        payments: Arc<dyn Payments>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let module = self.sandbox.load(wasm)?;
        self.run(&module, context, payments)
    }

    /// Validates one write with the script registered under `script_hash`, compiling `wasm`
    /// only when it is not cached; the chain's usual path (it skips hashing the script).
    pub fn validate_by_hash(
        &self,
        script_hash: &Hash,
        wasm: &[u8],
        context: &ValidationContext,
        payments: Arc<dyn Payments>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let module = self.sandbox.load_with_hash(script_hash, wasm)?;
        self.run(&module, context, payments)
    }

    fn run(
        &self,
        module: &LoadedModule<host::HostState>,
        context: &ValidationContext,
        payments: Arc<dyn Payments>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let state = host::HostState::new(context.clone(), payments);
        let outcome = self.sandbox.call(module, state)?;
        let reason_text = outcome.host.into_reason_text();
        let (verdict, fault) = match outcome.result {
            Ok(0) => (Verdict::Accept, None),
            Ok(code) => (
                Verdict::Reject {
                    reason_code: u32::from_ne_bytes(code.to_ne_bytes()),
                },
                None,
            ),
            Err(fault) => (
                Verdict::Reject {
                    reason_code: fault_reason_code(&fault),
                },
                Some(fault),
            ),
        };
        Ok(ScriptOutcome {
            verdict,
            fuel_used: outcome.fuel_used,
            fault,
            reason_text,
        })
    }
}

/// The reserved reason code for a fault.
pub fn fault_reason_code(fault: &ScriptFault) -> u32 {
    match fault {
        ScriptFault::OutOfFuel { .. } => REASON_OUT_OF_FUEL,
        ScriptFault::StackOverflow => REASON_STACK_OVERFLOW,
        ScriptFault::MemoryLimit { .. } | ScriptFault::TableLimit { .. } => REASON_RESOURCE_LIMIT,
        ScriptFault::Trap(_) => REASON_TRAP,
        ScriptFault::Host(_) => REASON_HOST_CALL_REFUSED,
    }
}
