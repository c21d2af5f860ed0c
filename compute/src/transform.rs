//! Transformations: modules that turn input values into output bytes (a black-and-white photo,
//! a thumbnail, a word count), run in the same deterministic sandbox as validation scripts with
//! a fuel budget the request names, behind the versioned host API `bitverse_transform_v1`.
//! The ABI, limits and errors are documented for authors in `docs/TRANSFORMS.md`; changing any
//! signature or meaning here requires a new host module name.
//!
//! A transformation exports its linear memory as `memory` and a function `transform() -> i32`.
//! It reads its inputs (values, in the order the request names them) and the request's
//! argument bytes through the host API, appends its result with `output_write`, and returns
//! `0` for success or any other value (read as `u32`) to refuse the input with that code. The
//! same module, inputs, arguments and fuel budget give the same output and the same fuel used,
//! or the same fault, on every node.

use bitverse_primitives::Hash;

use crate::StoreData;
use crate::error::{HostFault, SandboxError, ScriptFault, UploadError};
use crate::host::{
    Caller, FUEL_PER_HOST_CALL, HostError, Linker, charge_fuel, fuel_for_bytes, memory_and_host,
    memory_slice, memory_slice_mut,
};
use crate::limits::Limits;
use crate::sandbox::{LoadedModule, Sandbox, SandboxConfig};

/// The import module of version 1 of the transformation host API.
pub const TRANSFORM_HOST_MODULE: &str = "bitverse_transform_v1";

/// The function every transformation exports: `transform() -> i32`.
pub const TRANSFORM_EXPORT_NAME: &str = "transform";

/// Largest output a transformation may write. The output is a value, and values are capped at
/// 64 KiB (the blocktree's `VALUE_SIZE_BYTES_MAX`) until large values land.
pub const OUTPUT_SIZE_BYTES_MAX: usize = 64 * 1024;

/// Largest input value, for the same reason as [`OUTPUT_SIZE_BYTES_MAX`].
pub const INPUT_SIZE_BYTES_MAX: usize = 64 * 1024;

/// Inputs one request may name.
pub const INPUTS_MAX: usize = 16;

/// Largest argument string of a request (a thumbnail width, a JSON field name).
pub const ARGS_SIZE_BYTES_MAX: usize = 1024;

/// Largest transformation module. A module is stored as a value, so the value cap applies.
pub const TRANSFORM_MODULE_SIZE_BYTES_MAX: usize = 64 * 1024;

/// Largest fuel budget a request may name. One unit is about one simple WebAssembly
/// instruction; black-and-white over a 60 KiB photo takes a few tens of millions.
pub const FUEL_PER_TRANSFORM_MAX: u64 = 4_000_000_000;

/// Pages a transformation's memory may reach (512 pages = 32 MiB): room for a decoded image
/// whose compressed form fits a value, several times over (the examples keep up to five
/// image-sized buffers of at most 4 MiB each).
pub const TRANSFORM_MEMORY_PAGES_MAX: u32 = 512;

/// The limits of the transformation sandbox: the scripts' defaults, with the module size,
/// fuel and memory caps above.
pub fn transform_limits() -> Limits {
    Limits {
        module_size_bytes_max: TRANSFORM_MODULE_SIZE_BYTES_MAX,
        fuel_per_call_max: FUEL_PER_TRANSFORM_MAX,
        memory_pages_max: TRANSFORM_MEMORY_PAGES_MAX,
        ..Limits::default()
    }
}

/// One run's request: the input values, the argument bytes and the fuel budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformRequest {
    /// The input values, in the order the module reads them (index 0 first).
    pub inputs: Vec<Vec<u8>>,
    /// The request's arguments, whose meaning is the module's (e.g. `b"64"`, a width).
    pub args: Vec<u8>,
    /// The fuel budget; the run fails with out-of-fuel when it is used up.
    pub fuel_max: u64,
}

/// Why a transformation produced no output. Every variant is a deterministic function of the
/// module and the request, so it is a verdict: every node reaches the same one with the same
/// fuel used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformFault {
    /// The module returned a non-zero code: it refused its inputs or arguments (a malformed
    /// PNG, an unsupported format, a missing field). Codes are the module's, see its docs.
    #[error("the transformation refused its input with code {code}")]
    Refused {
        /// The code the module returned, read as `u32`.
        code: u32,
    },
    /// The module tried to write more than [`OUTPUT_SIZE_BYTES_MAX`] bytes of output.
    #[error("output of {size_bytes} bytes exceeds the limit of {size_bytes_max} bytes")]
    OutputTooLarge {
        /// Output size the write would have reached.
        size_bytes: u64,
        /// The cap.
        size_bytes_max: usize,
    },
    /// The module ran out of fuel, trapped, overflowed its stack, grew memory past the cap or
    /// misused the host API.
    #[error(transparent)]
    Sandbox(ScriptFault),
}

/// The full, deterministic result of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformOutcome {
    /// The output bytes, or why there are none.
    pub result: Result<Vec<u8>, TransformFault>,
    /// Fuel used, host calls included; the whole budget when out of fuel. Identical on every
    /// node for the same module and request.
    pub fuel_used: u64,
}

/// Why a transformation could not be run at all. Not a verdict on the module's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The module is refused at upload (imports, exports, floats, size, shape).
    #[error("transformation refused: {0}")]
    Upload(#[from] UploadError),
    /// The node could not run the module; retry or report, do not judge the module for it.
    #[error("node could not run the transformation: {0}")]
    Node(#[from] SandboxError),
    /// The request names more inputs than [`INPUTS_MAX`].
    #[error("{count} inputs, at most {count_max} allowed")]
    TooManyInputs {
        /// Inputs named.
        count: usize,
        /// The cap.
        count_max: usize,
    },
    /// An input is larger than [`INPUT_SIZE_BYTES_MAX`].
    #[error("input {index} has {size_bytes} bytes, at most {size_bytes_max} allowed")]
    InputTooLarge {
        /// Which input.
        index: usize,
        /// Its size.
        size_bytes: usize,
        /// The cap.
        size_bytes_max: usize,
    },
    /// The arguments are larger than [`ARGS_SIZE_BYTES_MAX`].
    #[error("arguments of {size_bytes} bytes, at most {size_bytes_max} allowed")]
    ArgsTooLarge {
        /// Their size.
        size_bytes: usize,
        /// The cap.
        size_bytes_max: usize,
    },
    /// The request's fuel budget is above the runner's maximum.
    #[error("fuel budget {fuel} is above the maximum of {fuel_max}")]
    FuelAboveMax {
        /// The budget asked for.
        fuel: u64,
        /// The maximum.
        fuel_max: u64,
    },
}

/// The host state of one run.
struct TransformHost {
    inputs: Vec<Vec<u8>>,
    args: Vec<u8>,
    output: Vec<u8>,
}

type Ctx<'a> = Caller<'a, StoreData<TransformHost>>;

fn len_i32(len: usize) -> i32 {
    // Inputs, arguments and outputs are capped far below 2 GiB.
    i32::try_from(len).unwrap_or(i32::MAX)
}

fn input_of<'h>(
    host: &'h TransformHost,
    function: &'static str,
    index: u32,
) -> Result<&'h [u8], HostFault> {
    usize::try_from(index)
        .ok()
        .and_then(|index| host.inputs.get(index))
        .map(Vec::as_slice)
        .ok_or(HostFault::InvalidArgument {
            function,
            reason: "input index is not below input_count()",
        })
}

/// Copies `len` bytes of `source(host)` from `offset` to `dst` in the module's memory.
fn read(
    caller: &mut Ctx<'_>,
    function: &'static str,
    source: impl Fn(&TransformHost) -> Result<&[u8], HostFault>,
    dst: u32,
    offset: u32,
    len: u32,
) -> Result<(), HostError> {
    charge_fuel(caller, fuel_for_bytes(len))?;
    let (memory, host) = memory_and_host(caller, function)?;
    let from = memory_slice(source(host)?, function, offset, len).map_err(|_| {
        HostFault::InvalidArgument {
            function,
            reason: "offset + len is beyond the source",
        }
    })?;
    memory_slice_mut(memory, function, dst, len)?.copy_from_slice(from);
    Ok(())
}

fn output_write(caller: &mut Ctx<'_>, src: u32, len: u32) -> Result<(), HostError> {
    const FUNCTION: &str = "output_write";
    charge_fuel(caller, fuel_for_bytes(len))?;
    let (memory, host) = memory_and_host(caller, FUNCTION)?;
    let size_bytes = (host.output.len() as u64).saturating_add(u64::from(len));
    if size_bytes > OUTPUT_SIZE_BYTES_MAX as u64 {
        return Err(HostError::new(HostFault::OutputTooLarge {
            function: FUNCTION,
            size_bytes,
            size_bytes_max: OUTPUT_SIZE_BYTES_MAX,
        }));
    }
    host.output
        .extend_from_slice(memory_slice(memory, FUNCTION, src, len)?);
    Ok(())
}

/// Adds the functions of `bitverse_transform_v1` to `linker`.
fn define_host(linker: &mut Linker<StoreData<TransformHost>>) -> Result<(), HostError> {
    let m = TRANSFORM_HOST_MODULE;
    linker.func_wrap(m, "input_count", |mut caller: Ctx<'_>| {
        charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
        Ok(len_i32(caller.data().host().inputs.len()))
    })?;
    linker.func_wrap(m, "input_len", |mut caller: Ctx<'_>, index: u32| {
        charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
        let input = input_of(caller.data().host(), "input_len", index)?;
        Ok(len_i32(input.len()))
    })?;
    linker.func_wrap(
        m,
        "input_read",
        |mut caller: Ctx<'_>, index: u32, dst: u32, offset: u32, len: u32| {
            read(
                &mut caller,
                "input_read",
                |host| input_of(host, "input_read", index),
                dst,
                offset,
                len,
            )
        },
    )?;
    linker.func_wrap(m, "args_len", |mut caller: Ctx<'_>| {
        charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
        Ok(len_i32(caller.data().host().args.len()))
    })?;
    linker.func_wrap(
        m,
        "args_read",
        |mut caller: Ctx<'_>, dst: u32, offset: u32, len: u32| {
            read(
                &mut caller,
                "args_read",
                |host| Ok(&host.args),
                dst,
                offset,
                len,
            )
        },
    )?;
    linker.func_wrap(
        m,
        "output_write",
        |mut caller: Ctx<'_>, src: u32, len: u32| output_write(&mut caller, src, len),
    )?;
    Ok(())
}

/// Runs transformations. One per node: it owns the engine and the compiled-module cache,
/// separate from the validation scripts' (other host API, other limits).
pub struct TransformRunner {
    sandbox: Sandbox<TransformHost>,
}

impl TransformRunner {
    /// A runner with the network's transformation limits ([`transform_limits`]).
    pub fn new() -> Result<Self, TransformError> {
        Self::with_limits(transform_limits())
    }

    /// A runner with other limits (tests, or a network upgrade). `limits.fuel_per_call_max`
    /// is the largest budget a request may name.
    pub fn with_limits(limits: Limits) -> Result<Self, TransformError> {
        let config = SandboxConfig {
            limits,
            host_module: TRANSFORM_HOST_MODULE,
            entry_export_name: TRANSFORM_EXPORT_NAME,
        };
        Ok(TransformRunner {
            sandbox: Sandbox::new(config, define_host)?,
        })
    }

    /// The limits this runner enforces.
    pub fn limits(&self) -> &Limits {
        &self.sandbox.config().limits
    }

    /// Checks a transformation as at upload (size, imports only from `bitverse_transform_v1`,
    /// exports `transform() -> i32` and `memory`, no floats) and returns its hash. The module is
    /// compiled and cached on the way.
    pub fn check_upload(&self, wasm: &[u8]) -> Result<Hash, TransformError> {
        Ok(self.sandbox.load(wasm)?.hash())
    }

    /// Runs the transformation `wasm` over `request`.
    pub fn run(
        &self,
        wasm: &[u8],
        request: TransformRequest,
    ) -> Result<TransformOutcome, TransformError> {
        self.check_request(&request)?;
        let module = self.sandbox.load(wasm)?;
        self.run_loaded(&module, request)
    }

    /// Runs the transformation stored under `module_hash`, compiling `wasm` (checked to hash to
    /// it) only when it is not cached.
    pub fn run_by_hash(
        &self,
        module_hash: &Hash,
        wasm: &[u8],
        request: TransformRequest,
    ) -> Result<TransformOutcome, TransformError> {
        self.check_request(&request)?;
        let module = self.sandbox.load_with_hash(module_hash, wasm)?;
        self.run_loaded(&module, request)
    }

    fn check_request(&self, request: &TransformRequest) -> Result<(), TransformError> {
        if request.inputs.len() > INPUTS_MAX {
            return Err(TransformError::TooManyInputs {
                count: request.inputs.len(),
                count_max: INPUTS_MAX,
            });
        }
        for (index, input) in request.inputs.iter().enumerate() {
            if input.len() > INPUT_SIZE_BYTES_MAX {
                return Err(TransformError::InputTooLarge {
                    index,
                    size_bytes: input.len(),
                    size_bytes_max: INPUT_SIZE_BYTES_MAX,
                });
            }
        }
        if request.args.len() > ARGS_SIZE_BYTES_MAX {
            return Err(TransformError::ArgsTooLarge {
                size_bytes: request.args.len(),
                size_bytes_max: ARGS_SIZE_BYTES_MAX,
            });
        }
        let fuel_max = self.limits().fuel_per_call_max;
        if request.fuel_max > fuel_max {
            return Err(TransformError::FuelAboveMax {
                fuel: request.fuel_max,
                fuel_max,
            });
        }
        Ok(())
    }

    fn run_loaded(
        &self,
        module: &LoadedModule<TransformHost>,
        request: TransformRequest,
    ) -> Result<TransformOutcome, TransformError> {
        let host = TransformHost {
            inputs: request.inputs,
            args: request.args,
            output: Vec::new(),
        };
        let outcome = self
            .sandbox
            .call_with_fuel(module, host, request.fuel_max)?;
        let result = match outcome.result {
            Ok(0) => Ok(outcome.host.output),
            Ok(code) => Err(TransformFault::Refused {
                code: u32::from_ne_bytes(code.to_ne_bytes()),
            }),
            Err(ScriptFault::Host(HostFault::OutputTooLarge {
                size_bytes,
                size_bytes_max,
                ..
            })) => Err(TransformFault::OutputTooLarge {
                size_bytes,
                size_bytes_max,
            }),
            Err(fault) => Err(TransformFault::Sandbox(fault)),
        };
        Ok(TransformOutcome {
            result,
            fuel_used: outcome.fuel_used,
        })
    }
}
