//! Bitverse's deterministic WebAssembly sandbox, on wasmtime.
//!
//! This crate owns running untrusted modules so that every node reaches the same result with
//! the same cost: fuel metering (never wall-clock) decides when a call is out of budget; a
//! resource limiter caps memory, tables and instances; the native stack is bounded; NaNs are
//! canonical, and floating-point code is refused at upload outright (see below); no threads,
//! no WASI, no clock, no randomness: a module can import only the functions its embedder puts
//! in one versioned host module. Modules are checked at upload (size, imports, exports, shape),
//! compiled once and cached by hash in a bounded cache, linked once into an `InstancePre`, and
//! instantiated per call from a pooling allocator.
//!
//! **Floats are refused, not canonicalized.** wasmtime can canonicalize NaNs, but invariant 1
//! of the design says nothing consensus-critical reads a float, and validation scripts have no
//! use for one (keys, values, heights and amounts are integers). Refusing at upload, with the
//! validator's `floats` feature off, removes the whole class — NaN payloads, cross-architecture
//! codegen differences in `min`/`max`/conversions — at no cost; NaN canonicalization stays on
//! as a second line.
//!
//! **Stack depth.** Stack overflow is decided by native stack use, which depends on the code
//! wasmtime generates: identical for one wasmtime version on one architecture, but not
//! guaranteed across architectures. The network pins the wasmtime version; a deterministic
//! call-depth counter injected at upload is the planned fix for mixed-architecture networks.
//!
//! Invariant: compute knows nothing of blocks, keyspaces, transactions or networks, and
//! depends on no Bitverse crate but `bitverse-primitives`. What a host function means is the
//! embedder's business (keyspace validation scripts), except for transformations, whose host
//! API `bitverse_transform_v1` lives here (`transform`): they are plain bytes in, bytes out.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod error;
pub mod host;
pub mod limits;
mod sandbox;
pub mod transform;
mod upload;

pub use error::{HostFault, SandboxError, ScriptFault, TrapKind, UploadError};
pub use host::StoreData;
pub use limits::Limits;
pub use sandbox::{
    CallOutcome, FUEL_PER_MEMORY_PAGE_GROWN, LoadedModule, MEMORY_EXPORT_NAME, Sandbox,
    SandboxConfig,
};
pub use transform::{
    TransformError, TransformFault, TransformOutcome, TransformRequest, TransformRunner,
};
