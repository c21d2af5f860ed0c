//! The sandbox's error boundary: why a module is refused at upload, why a call faulted (a
//! deterministic verdict), and why the node could not run a call at all (never a verdict).

use bitverse_primitives::Hash;

/// A module refused at upload. Deterministic: every node refuses the same bytes the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The module is larger than the size cap.
    #[error("module of {size_bytes} bytes exceeds the limit of {size_bytes_max} bytes")]
    TooLarge {
        /// Length of the module.
        size_bytes: usize,
        /// The limit in force.
        size_bytes_max: usize,
    },
    /// The bytes are not a valid module under the sandbox's feature set (floats, threads,
    /// SIMD and the other disabled proposals are refused here).
    #[error("invalid or disallowed wasm: {0}")]
    Invalid(String),
    /// The module imports something outside the host API.
    #[error("forbidden import {module}::{name}: only functions of {allowed} may be imported")]
    ForbiddenImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// The host module scripts may import from.
        allowed: &'static str,
    },
    /// The module imports a host function that does not exist or has another signature.
    #[error("unresolved import: {reason}")]
    UnresolvedImport {
        /// What the linker said (names the import).
        reason: String,
    },
    /// A required export is missing or has the wrong type.
    #[error("missing or mistyped export {name:?}: expected {expected}")]
    MissingExport {
        /// The export's name.
        name: &'static str,
        /// What the export must be.
        expected: &'static str,
    },
    /// The module declares more memories or tables than allowed.
    #[error("module declares {count} {what}, at most {count_max} allowed")]
    TooMany {
        /// `"memories"` or `"tables"`.
        what: &'static str,
        /// Declared.
        count: u32,
        /// Allowed.
        count_max: u32,
    },
    /// The module declares a memory whose initial size is above the memory cap.
    #[error("module declares a memory of {pages} pages, at most {pages_max} allowed")]
    MemoryTooLarge {
        /// Declared initial pages.
        pages: u64,
        /// The cap.
        pages_max: u32,
    },
    /// The module declares a table whose initial size is above the table cap.
    #[error("module declares a table of {elements} elements, at most {elements_max} allowed")]
    TableTooLarge {
        /// Declared initial elements.
        elements: u64,
        /// The cap.
        elements_max: u32,
    },
}

/// What a WebAssembly trap was. A script that traps has failed deterministically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// An out-of-bounds memory access.
    MemoryOutOfBounds,
    /// An out-of-bounds table access or a call through a null table entry.
    TableOutOfBounds,
    /// `call_indirect` through a function of another type.
    IndirectCallTypeMismatch,
    /// Integer division by zero.
    IntegerDivisionByZero,
    /// Integer overflow (`i32.div_s` of `MIN / -1`, trapping truncation).
    IntegerOverflow,
    /// The `unreachable` instruction (also how AssemblyScript's `abort` ends up).
    Unreachable,
    /// Any other trap, by wasmtime's (stable, deterministic) message.
    Other(String),
}

/// A fault raised by a host function, from its arguments: deterministic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostFault {
    /// A pointer and length given to a host function fall outside linear memory.
    #[error("host call {function}: range {ptr}+{len} is outside linear memory")]
    MemoryOutOfBounds {
        /// The host function.
        function: &'static str,
        /// Start offset given by the script.
        ptr: u32,
        /// Length given by the script.
        len: u32,
    },
    /// An argument is out of the range the host function accepts.
    #[error("host call {function}: {reason}")]
    InvalidArgument {
        /// The host function.
        function: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A module wrote more output than the host accepts (a transformation's
    /// `output_write` past its output cap).
    #[error(
        "host call {function}: output of {size_bytes} bytes exceeds the limit of {size_bytes_max} bytes"
    )]
    OutputTooLarge {
        /// The host function.
        function: &'static str,
        /// Output size the write would have reached.
        size_bytes: u64,
        /// The cap.
        size_bytes_max: usize,
    },
    /// The script exported no memory, so the host has nowhere to read or write.
    #[error("host call {function}: the module exports no memory")]
    NoMemory {
        /// The host function.
        function: &'static str,
    },
}

/// Why a script failed. Every variant is a deterministic function of the module, the host
/// state and the limits, so it is a verdict: the caller rejects the work, on every node alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptFault {
    /// The call used all its fuel (an endless or too long computation).
    #[error("out of fuel: used the whole budget of {fuel_max} units")]
    OutOfFuel {
        /// The budget.
        fuel_max: u64,
    },
    /// The call nested deeper than the stack allows.
    #[error("stack overflow")]
    StackOverflow,
    /// The script tried to grow memory above the cap.
    #[error("memory limit: asked for {pages_requested} pages, at most {pages_max} allowed")]
    MemoryLimit {
        /// Pages the growth asked for.
        pages_requested: u64,
        /// The cap.
        pages_max: u32,
    },
    /// The script tried to grow a table above the cap.
    #[error("table limit: asked for {elements_requested} elements, at most {elements_max}")]
    TableLimit {
        /// Elements the growth asked for.
        elements_requested: u64,
        /// The cap.
        elements_max: u32,
    },
    /// The script trapped.
    #[error("trap: {0:?}")]
    Trap(TrapKind),
    /// A host function refused its arguments.
    #[error(transparent)]
    Host(#[from] HostFault),
}

/// The node could not run a call. Not a verdict: the caller must not reject the work because
/// of it, only retry or report (a node without resources cannot judge a block).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The engine could not be built from the configuration.
    #[error("sandbox configuration: {0}")]
    Config(String),
    /// All pooled instance slots are in use; retry when a call finishes.
    #[error("all {instances_max} pooled instances are busy")]
    PoolExhausted {
        /// The pool size.
        instances_max: u32,
    },
    /// The operating system refused memory that the limits allow.
    #[error("the host could not provide memory within the limits")]
    HostResources,
    /// A module was asked for by hash but is not in the cache; load it from its bytes.
    #[error("module {0} is not compiled; load it first")]
    NotLoaded(Hash),
    /// Bytes given for a hash do not hash to it.
    #[error("module bytes hash to {actual}, not {expected}")]
    HashMismatch {
        /// The hash the caller named.
        expected: Hash,
        /// The hash of the bytes.
        actual: Hash,
    },
    /// The module stored under a hash no longer passes upload checks (for instance after a
    /// change of limits). A network upgrade must handle such scripts explicitly.
    #[error("stored module fails upload checks: {0}")]
    Upload(#[from] UploadError),
    /// Anything wasmtime reported that is not a known script fault. Not a verdict.
    #[error("sandbox internal error: {0}")]
    Internal(String),
}
