//! Every bound the sandbox enforces, as named constants and one `Limits` value that carries them.
//!
//! A limit that decides validity (fuel, memory, table, module shape) is consensus: every node
//! must run with the same values, so they change only with a network upgrade. Those that only
//! protect the local node (cache size, concurrent instances) may differ between nodes.

/// Bytes in one WebAssembly page.
pub const WASM_PAGE_BYTES: u64 = 64 * 1024;

/// Largest module accepted at upload. Compile time grows with size; 256 KiB fits any sensible
/// validation script (AssemblyScript's output for the examples is a few KiB).
pub const MODULE_SIZE_BYTES_MAX: usize = 256 * 1024;

/// Fuel for one call, start function and host calls included. One unit is about one simple
/// WebAssembly instruction; ten million is a few milliseconds of work.
pub const FUEL_PER_CALL_MAX: u64 = 10_000_000;

/// Pages one linear memory may reach (16 pages = 1 MiB), declared or grown.
pub const MEMORY_PAGES_MAX: u32 = 16;

/// Elements one table may reach, declared or grown.
pub const TABLE_ELEMENTS_MAX: u32 = 1_024;

/// Native stack a call may use. Deep recursion stops here with a stack-overflow fault.
pub const STACK_BYTES_MAX: usize = 256 * 1024;

/// Linear memories a module may define (the wasm multi-memory proposal is off too).
pub const MEMORIES_PER_MODULE_MAX: u32 = 1;

/// Tables a module may define.
pub const TABLES_PER_MODULE_MAX: u32 = 1;

/// Instances per store: each call gets a fresh store holding exactly one instance.
pub const INSTANCES_PER_STORE_MAX: usize = 1;

/// Compiled modules kept in memory, keyed by the module's hash. Local only: a miss recompiles.
pub const COMPILED_MODULES_CACHED_MAX: usize = 128;

/// Instances alive at once across all threads, which sizes the pooling allocator. Local only:
/// exhausting it is a node resource error, never a verdict.
pub const INSTANCES_CONCURRENT_MAX: u32 = 32;

/// The bounds of one sandbox. `Limits::default()` is the network's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`MODULE_SIZE_BYTES_MAX`].
    pub module_size_bytes_max: usize,
    /// See [`FUEL_PER_CALL_MAX`].
    pub fuel_per_call_max: u64,
    /// See [`MEMORY_PAGES_MAX`].
    pub memory_pages_max: u32,
    /// See [`TABLE_ELEMENTS_MAX`].
    pub table_elements_max: u32,
    /// See [`STACK_BYTES_MAX`].
    pub stack_bytes_max: usize,
    /// See [`COMPILED_MODULES_CACHED_MAX`].
    pub compiled_modules_cached_max: usize,
    /// See [`INSTANCES_CONCURRENT_MAX`].
    pub instances_concurrent_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            module_size_bytes_max: MODULE_SIZE_BYTES_MAX,
            fuel_per_call_max: FUEL_PER_CALL_MAX,
            memory_pages_max: MEMORY_PAGES_MAX,
            table_elements_max: TABLE_ELEMENTS_MAX,
            stack_bytes_max: STACK_BYTES_MAX,
            compiled_modules_cached_max: COMPILED_MODULES_CACHED_MAX,
            instances_concurrent_max: INSTANCES_CONCURRENT_MAX,
        }
    }
}

impl Limits {
    /// The memory cap in bytes, or `None` if it does not fit the host's address space.
    pub fn memory_bytes_max(&self) -> Option<usize> {
        u64::from(self.memory_pages_max)
            .checked_mul(WASM_PAGE_BYTES)
            .and_then(|bytes| usize::try_from(bytes).ok())
    }
}
