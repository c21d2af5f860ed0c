//! The sandbox: one engine configured for determinism, the embedder's pre-linked host API, a
//! bounded cache of compiled modules keyed by hash, and calls that each run in a fresh store
//! with a fixed fuel budget and a resource limiter.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bitverse_primitives::Hash;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Module, OperatorCost,
    PoolingAllocationConfig, Store, Trap, WasmFeatures,
};

use crate::error::{HostFault, SandboxError, ScriptFault, TrapKind, UploadError};
use crate::host::{CallLimiter, HostError, HostOutOfMemory, LimitExceeded, Linker, StoreData};
use crate::limits::{Limits, MEMORIES_PER_MODULE_MAX, TABLES_PER_MODULE_MAX};
use crate::upload::check_shape;

/// The export every module must have: its linear memory, through which host functions pass
/// bytes.
pub const MEMORY_EXPORT_NAME: &str = "memory";

/// Fuel charged per 64 KiB page that `memory.grow` adds, for zeroing it. The rest of the fuel
/// schedule is wasmtime 48's default table, pinned here by setting it explicitly: the schedule
/// is consensus, so an upgrade of wasmtime that changes it is a network upgrade.
pub const FUEL_PER_MEMORY_PAGE_GROWN: u8 = 100;

/// What a sandbox is for: its limits, the one module scripts may import from, and the entry
/// point they must export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The bounds of every module and call.
    pub limits: Limits,
    /// The only import module allowed, e.g. `bitverse_v1`.
    pub host_module: &'static str,
    /// The function every module must export, of type `() -> i32`.
    pub entry_export_name: &'static str,
}

/// A module that passed upload checks, compiled and linked: ready to instantiate.
pub struct LoadedModule<T: 'static> {
    hash: Hash,
    instance_pre: InstancePre<StoreData<T>>,
}

impl<T: 'static> Clone for LoadedModule<T> {
    fn clone(&self) -> Self {
        LoadedModule {
            hash: self.hash,
            instance_pre: self.instance_pre.clone(),
        }
    }
}

impl<T: 'static> LoadedModule<T> {
    /// The hash of the module's bytes (BLAKE3), the key it is cached under.
    pub fn hash(&self) -> Hash {
        self.hash
    }
}

/// The result of one call: what the script returned or how it failed, the fuel it used, and
/// the host state back. Both the result and the fuel are the same on every node and every run.
#[derive(Debug)]
pub struct CallOutcome<T> {
    /// The entry point's return value, or the deterministic fault that ended the call.
    pub result: Result<i32, ScriptFault>,
    /// Fuel consumed, host charges included; the whole budget when out of fuel.
    pub fuel_used: u64,
    /// The host state after the call.
    pub host: T,
}

/// Compiled modules by hash, evicting the least recently used beyond its maximum.
struct ModuleCache<T: 'static> {
    entries: HashMap<Hash, (LoadedModule<T>, u64)>,
    entries_max: usize,
    clock: u64,
}

impl<T: 'static> ModuleCache<T> {
    fn get(&mut self, hash: &Hash) -> Option<LoadedModule<T>> {
        self.clock = self.clock.wrapping_add(1);
        let clock = self.clock;
        self.entries.get_mut(hash).map(|(module, last_used)| {
            *last_used = clock;
            module.clone()
        })
    }

    fn insert(&mut self, module: LoadedModule<T>) {
        if self.entries_max == 0 {
            return;
        }
        while self.entries.len() >= self.entries_max {
            // The walk's order cannot show: every entry's last use is a distinct tick of
            // `clock`, so the least recently used is one entry whatever the order.
            #[expect(
                clippy::disallowed_methods,
                reason = "the minimum of distinct ticks does not depend on the order"
            )]
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(h, _)| *h);
            match oldest {
                Some(hash) => self.entries.remove(&hash),
                None => break,
            };
        }
        self.clock = self.clock.wrapping_add(1);
        self.entries.insert(module.hash, (module, self.clock));
    }
}

/// The deterministic WebAssembly sandbox, generic over the embedder's host state `T`.
/// Cheap to share: calls take `&self` and may run concurrently.
pub struct Sandbox<T: 'static> {
    engine: Engine,
    linker: Linker<StoreData<T>>,
    config: SandboxConfig,
    cache: Mutex<ModuleCache<T>>,
}

/// The engine configuration that makes execution deterministic and bounded.
fn engine_config(limits: &Limits) -> Result<Config, SandboxError> {
    let memory_bytes_max = limits
        .memory_bytes_max()
        .ok_or_else(|| SandboxError::Config("memory cap does not fit usize".into()))?;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(limits.instances_concurrent_max)
        .total_memories(limits.instances_concurrent_max)
        .total_tables(limits.instances_concurrent_max)
        .max_memories_per_module(MEMORIES_PER_MODULE_MAX)
        .max_tables_per_module(TABLES_PER_MODULE_MAX)
        .max_memory_size(memory_bytes_max)
        .table_elements(limits.table_elements_max as usize);

    let mut cost = OperatorCost::new();
    cost.variable.memory_grow_per_page = FUEL_PER_MEMORY_PAGE_GROWN;

    let mut config = Config::new();
    config
        .consume_fuel(true)
        .operator_cost(cost)
        // Belt and braces: floats are refused at upload (WasmFeatures::FLOATS below), and
        // should a float ever get through, its NaNs are canonical on every host.
        .cranelift_nan_canonicalization(true)
        .max_wasm_stack(limits.stack_bytes_max)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        // Only the MVP plus the deterministic, integer-only proposals that AssemblyScript
        // emits (bulk memory, sign extension, multi-value, mutable globals, saturating
        // conversions) are on; everything else is refused at upload.
        .wasm_features(
            WasmFeatures::THREADS
                | WasmFeatures::SHARED_EVERYTHING_THREADS
                | WasmFeatures::SIMD
                | WasmFeatures::RELAXED_SIMD
                | WasmFeatures::REFERENCE_TYPES
                | WasmFeatures::FUNCTION_REFERENCES
                | WasmFeatures::GC
                | WasmFeatures::TAIL_CALL
                | WasmFeatures::MULTI_MEMORY
                | WasmFeatures::MEMORY64
                | WasmFeatures::EXCEPTIONS
                | WasmFeatures::LEGACY_EXCEPTIONS
                | WasmFeatures::STACK_SWITCHING
                | WasmFeatures::WIDE_ARITHMETIC
                | WasmFeatures::CUSTOM_PAGE_SIZES
                | WasmFeatures::EXTENDED_CONST
                | WasmFeatures::COMPONENT_MODEL,
            false,
        )
        .wasm_features(WasmFeatures::FLOATS, false);
    Ok(config)
}

/// Sorts an error from instantiating or calling into a script fault (a verdict) or a node
/// error (not one).
fn classify(error: HostError, limits: &Limits, fuel_max: u64) -> Result<ScriptFault, SandboxError> {
    if let Some(fault) = error.downcast_ref::<HostFault>() {
        return Ok(ScriptFault::Host(fault.clone()));
    }
    if let Some(limit) = error.downcast_ref::<LimitExceeded>() {
        return Ok(match limit {
            LimitExceeded::Memory {
                pages_requested,
                pages_max,
            } => ScriptFault::MemoryLimit {
                pages_requested: *pages_requested,
                pages_max: *pages_max,
            },
            LimitExceeded::Table {
                elements_requested,
                elements_max,
            } => ScriptFault::TableLimit {
                elements_requested: *elements_requested,
                elements_max: *elements_max,
            },
        });
    }
    if error.downcast_ref::<HostOutOfMemory>().is_some() {
        return Err(SandboxError::HostResources);
    }
    if error
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return Err(SandboxError::PoolExhausted {
            instances_max: limits.instances_concurrent_max,
        });
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return Ok(match trap {
            Trap::OutOfFuel => ScriptFault::OutOfFuel { fuel_max },
            Trap::StackOverflow => ScriptFault::StackOverflow,
            Trap::MemoryOutOfBounds => ScriptFault::Trap(TrapKind::MemoryOutOfBounds),
            Trap::TableOutOfBounds | Trap::IndirectCallToNull => {
                ScriptFault::Trap(TrapKind::TableOutOfBounds)
            }
            Trap::BadSignature => ScriptFault::Trap(TrapKind::IndirectCallTypeMismatch),
            Trap::IntegerDivisionByZero => ScriptFault::Trap(TrapKind::IntegerDivisionByZero),
            Trap::IntegerOverflow | Trap::BadConversionToInteger => {
                ScriptFault::Trap(TrapKind::IntegerOverflow)
            }
            Trap::UnreachableCodeReached => ScriptFault::Trap(TrapKind::Unreachable),
            // Interruption only comes from epochs, which this sandbox does not enable; were it
            // ever to happen it would be wall-clock, hence not a verdict.
            Trap::Interrupt => return Err(SandboxError::Internal("interrupted".into())),
            other => ScriptFault::Trap(TrapKind::Other(other.to_string())),
        });
    }
    Err(SandboxError::Internal(format!("{error:#}")))
}

impl<T: Send + 'static> Sandbox<T> {
    /// A sandbox whose host API is what `define_host` adds to the linker (functions of
    /// `config.host_module` only: anything else can never be imported).
    pub fn new(
        config: SandboxConfig,
        define_host: impl FnOnce(&mut Linker<StoreData<T>>) -> Result<(), HostError>,
    ) -> Result<Self, SandboxError> {
        let engine = Engine::new(&engine_config(&config.limits)?)
            .map_err(|e| SandboxError::Config(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        define_host(&mut linker).map_err(|e| SandboxError::Config(format!("{e:#}")))?;
        let cache = Mutex::new(ModuleCache {
            entries: HashMap::new(),
            entries_max: config.limits.compiled_modules_cached_max,
            clock: 0,
        });
        Ok(Sandbox {
            engine,
            linker,
            config,
            cache,
        })
    }

    /// The configuration this sandbox enforces.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    fn cache(&self) -> MutexGuard<'_, ModuleCache<T>> {
        // A panic while holding the lock cannot leave the map inconsistent (every mutation is
        // one HashMap call), so a poisoned lock is still safe to use.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks `wasm` as at upload (size, imports, exports, memory and table shape, valid code
    /// without floats or threads), compiles and links it, and caches it under its hash.
    pub fn load(&self, wasm: &[u8]) -> Result<LoadedModule<T>, UploadError> {
        let hash = Hash::digest(wasm);
        if let Some(module) = self.cache().get(&hash) {
            return Ok(module);
        }
        let module = self.compile(hash, wasm)?;
        self.cache().insert(module.clone());
        Ok(module)
    }

    /// The module cached under `hash`, compiling `wasm` (checked to hash to it) on a miss.
    /// This is how a validator runs a script named by hash in chain state.
    pub fn load_with_hash(
        &self,
        hash: &Hash,
        wasm: &[u8],
    ) -> Result<LoadedModule<T>, SandboxError> {
        if let Some(module) = self.cache().get(hash) {
            return Ok(module);
        }
        let actual = Hash::digest(wasm);
        if actual != *hash {
            return Err(SandboxError::HashMismatch {
                expected: *hash,
                actual,
            });
        }
        let module = self.compile(actual, wasm)?;
        self.cache().insert(module.clone());
        Ok(module)
    }

    /// The module cached under `hash`, if it is.
    pub fn cached(&self, hash: &Hash) -> Option<LoadedModule<T>> {
        self.cache().get(hash)
    }

    /// How many compiled modules are cached.
    pub fn cached_len(&self) -> usize {
        self.cache().entries.len()
    }

    fn compile(&self, hash: Hash, wasm: &[u8]) -> Result<LoadedModule<T>, UploadError> {
        check_shape(wasm, &self.config.limits, self.config.host_module)?;
        let module =
            Module::new(&self.engine, wasm).map_err(|e| UploadError::Invalid(format!("{e:#}")))?;
        let entry_ok = module
            .get_export(self.config.entry_export_name)
            .and_then(|export| export.func().cloned())
            .is_some_and(|func| {
                func.params().len() == 0
                    && func.results().len() == 1
                    && func.results().all(|result| result.is_i32())
            });
        if !entry_ok {
            return Err(UploadError::MissingExport {
                name: self.config.entry_export_name,
                expected: "a function () -> i32",
            });
        }
        let memory_exported = module
            .get_export(MEMORY_EXPORT_NAME)
            .is_some_and(|export| export.memory().is_some());
        if !memory_exported {
            return Err(UploadError::MissingExport {
                name: MEMORY_EXPORT_NAME,
                expected: "a linear memory",
            });
        }
        let instance_pre =
            self.linker
                .instantiate_pre(&module)
                .map_err(|e| UploadError::UnresolvedImport {
                    reason: format!("{e:#}"),
                })?;
        Ok(LoadedModule { hash, instance_pre })
    }

    /// Runs the module's entry point once in a fresh store holding `host`, with the full fuel
    /// budget. `Err` only when the node could not run the call; every script failure is an
    /// `Ok` outcome carrying the fault.
    pub fn call(&self, module: &LoadedModule<T>, host: T) -> Result<CallOutcome<T>, SandboxError> {
        self.call_with_fuel(module, host, self.config.limits.fuel_per_call_max)
    }

    /// Like [`Sandbox::call`], with a fuel budget the caller names instead of the limits'
    /// `fuel_per_call_max` (a transformation request names its own). The caller checks the
    /// budget against its own maximum; the sandbox runs whatever it is given.
    pub fn call_with_fuel(
        &self,
        module: &LoadedModule<T>,
        host: T,
        fuel_max: u64,
    ) -> Result<CallOutcome<T>, SandboxError> {
        let limits = &self.config.limits;
        let memory_bytes_max = limits
            .memory_bytes_max()
            .ok_or_else(|| SandboxError::Config("memory cap does not fit usize".into()))?;
        let limiter = CallLimiter::new(
            memory_bytes_max,
            limits.memory_pages_max,
            limits.table_elements_max,
        );
        let mut store = Store::new(&self.engine, StoreData::new(host, limiter));
        store.limiter(|data| &mut data.limiter);
        store
            .set_fuel(fuel_max)
            .map_err(|e| SandboxError::Internal(format!("{e:#}")))?;

        let entry_name = self.config.entry_export_name;
        let run = (|| -> Result<i32, HostError> {
            let instance = module.instance_pre.instantiate(&mut store)?;
            let memory = instance.get_memory(&mut store, MEMORY_EXPORT_NAME);
            store.data_mut().memory = memory;
            let entry = instance.get_typed_func::<(), i32>(&mut store, entry_name)?;
            entry.call(&mut store, ())
        })();

        let fuel_left = store
            .get_fuel()
            .map_err(|e| SandboxError::Internal(format!("{e:#}")))?;
        let fuel_used = fuel_max.saturating_sub(fuel_left);
        let result = match run {
            Ok(value) => Ok(value),
            Err(error) => Err(classify(error, limits, fuel_max)?),
        };
        Ok(CallOutcome {
            result,
            fuel_used,
            host: store.into_data().into_host(),
        })
    }
}
