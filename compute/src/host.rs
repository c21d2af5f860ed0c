//! What host functions get to work with: the per-call store data, and bounded, fuel-charged
//! access to the script's linear memory. Embedders define their host API (a "versioned import
//! module") with these helpers and wasmtime's `Linker`, re-exported here.

use wasmtime::{Memory, Trap};

use crate::error::HostFault;
use crate::limits::{INSTANCES_PER_STORE_MAX, MEMORIES_PER_MODULE_MAX, TABLES_PER_MODULE_MAX};

pub use wasmtime::{Caller, Error as HostError, Linker};

/// The data of one call's store: the embedder's host state, the limiter, and the module's
/// exported memory once instantiated.
pub struct StoreData<T> {
    host: T,
    pub(crate) limiter: CallLimiter,
    pub(crate) memory: Option<Memory>,
}

impl<T> StoreData<T> {
    pub(crate) fn new(host: T, limiter: CallLimiter) -> Self {
        StoreData {
            host,
            limiter,
            memory: None,
        }
    }

    /// The embedder's state for this call.
    pub fn host(&self) -> &T {
        &self.host
    }

    /// The embedder's state for this call, mutably (e.g. to record a reason text).
    pub fn host_mut(&mut self) -> &mut T {
        &mut self.host
    }

    pub(crate) fn into_host(self) -> T {
        self.host
    }
}

/// Memory growth above this many bytes is the script's fault; the limiter raises it as a trap
/// carrying [`LimitExceeded`] so the verdict names the cause instead of looping on `-1`.
pub(crate) struct CallLimiter {
    pub(crate) memory_bytes_max: usize,
    pub(crate) memory_pages_max: u32,
    pub(crate) table_elements_max: u32,
    /// Whether the last growth request was within the module's own maximum, so that a failure
    /// of a permitted growth is known to be the host's (out of memory), not the script's.
    last_growth_within_declared_max: bool,
}

impl CallLimiter {
    pub(crate) fn new(
        memory_bytes_max: usize,
        memory_pages_max: u32,
        table_elements_max: u32,
    ) -> Self {
        CallLimiter {
            memory_bytes_max,
            memory_pages_max,
            table_elements_max,
            last_growth_within_declared_max: false,
        }
    }
}

/// A growth beyond the sandbox's caps, raised as a trap by the limiter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitExceeded {
    #[error("memory limit: {pages_requested} pages requested, {pages_max} allowed")]
    Memory {
        pages_requested: u64,
        pages_max: u32,
    },
    #[error("table limit: {elements_requested} elements requested, {elements_max} allowed")]
    Table {
        elements_requested: u64,
        elements_max: u32,
    },
}

/// The operating system failed a growth the limits allow. Not the script's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the host could not provide memory within the limits")]
pub(crate) struct HostOutOfMemory;

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            let pages_requested = (desired as u64) / crate::limits::WASM_PAGE_BYTES;
            return Err(HostError::new(LimitExceeded::Memory {
                pages_requested,
                pages_max: self.memory_pages_max,
            }));
        }
        self.last_growth_within_declared_max = maximum.is_none_or(|maximum| desired <= maximum);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: HostError) -> wasmtime::Result<()> {
        if self.last_growth_within_declared_max {
            // Within both the module's maximum and ours: only the host can have failed.
            return Err(HostError::new(HostOutOfMemory));
        }
        // Above the module's own declared maximum: `memory.grow` returns -1, as the spec says.
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements_max as usize {
            return Err(HostError::new(LimitExceeded::Table {
                elements_requested: desired as u64,
                elements_max: self.table_elements_max,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        INSTANCES_PER_STORE_MAX
    }

    fn tables(&self) -> usize {
        TABLES_PER_MODULE_MAX as usize
    }

    fn memories(&self) -> usize {
        MEMORIES_PER_MODULE_MAX as usize
    }
}

/// Fuel every host call costs, whatever it does: the one price of a call into the host for
/// validation scripts and transformations alike (consensus: every node charges the same).
pub const FUEL_PER_HOST_CALL: u64 = 20;

/// Fuel per byte a host call copies or hashes, for scripts and transformations alike.
pub const FUEL_PER_BYTE_COPIED: u64 = 1;

/// What a host call that copies or hashes `len` bytes costs.
pub fn fuel_for_bytes(len: u32) -> u64 {
    FUEL_PER_HOST_CALL.saturating_add(u64::from(len).saturating_mul(FUEL_PER_BYTE_COPIED))
}

/// Takes `units` of fuel from the call for work done by a host function, so host work counts
/// against the same deterministic budget as the script's own instructions. Running out is the
/// same out-of-fuel fault as in wasm code.
pub fn charge_fuel<T>(caller: &mut Caller<'_, StoreData<T>>, units: u64) -> Result<(), HostError> {
    let remaining = caller.get_fuel()?;
    match remaining.checked_sub(units) {
        Some(left) => caller.set_fuel(left),
        None => {
            caller.set_fuel(0)?;
            Err(HostError::new(Trap::OutOfFuel))
        }
    }
}

/// The script's linear memory and the host state, borrowed together so a host function can
/// copy between them.
pub fn memory_and_host<'a, T: 'static>(
    caller: &'a mut Caller<'_, StoreData<T>>,
    function: &'static str,
) -> Result<(&'a mut [u8], &'a mut T), HostError> {
    let memory = caller
        .data()
        .memory
        .ok_or(HostFault::NoMemory { function })?;
    let (bytes, data) = memory.data_and_store_mut(caller);
    Ok((bytes, &mut data.host))
}

/// The `len` bytes at `ptr` in `memory`, or a fault naming the host function.
pub fn memory_slice<'m>(
    memory: &'m [u8],
    function: &'static str,
    ptr: u32,
    len: u32,
) -> Result<&'m [u8], HostFault> {
    let start = ptr as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| memory.get(start..end))
        .ok_or(HostFault::MemoryOutOfBounds { function, ptr, len })
}

/// The `len` bytes at `ptr` in `memory`, mutably, or a fault naming the host function.
pub fn memory_slice_mut<'m>(
    memory: &'m mut [u8],
    function: &'static str,
    ptr: u32,
    len: u32,
) -> Result<&'m mut [u8], HostFault> {
    let start = ptr as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| memory.get_mut(start..end))
        .ok_or(HostFault::MemoryOutOfBounds { function, ptr, len })
}
