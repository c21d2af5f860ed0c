//! The host API `bitverse_v1` that validation scripts import: accessors for the write, the
//! existing value, the block, payments, and signature and hash helpers. Every call is charged
//! fuel (a base plus a per-byte or per-operation cost) so host work counts in the same
//! deterministic budget as the script's own code. The ABI is documented for authors in
//! `docs/SCRIPTS.md`; changing any signature or meaning here requires a new module name.

use std::sync::Arc;

use bitverse_compute::HostFault;
use bitverse_compute::StoreData;
use bitverse_compute::host::{
    Caller, HostError, Linker, charge_fuel, memory_and_host, memory_slice, memory_slice_mut,
};
use bitverse_primitives::{AccountId, Hash, Signature};

use super::{Payments, ValidationContext};

/// The import module of version 1 of the host API.
pub const HOST_MODULE: &str = "bitverse_v1";

/// The function every validation script exports: `validate() -> i32`.
pub const VALIDATE_EXPORT_NAME: &str = "validate";

use bitverse_compute::host::fuel_for_bytes;
/// The prices of host calls, shared with transformations: one definition, in `compute`.
pub use bitverse_compute::host::{FUEL_PER_BYTE_COPIED, FUEL_PER_HOST_CALL};

/// Fuel for one BIP-340 signature check (about 50 µs of native work, priced like the
/// equivalent amount of wasm).
pub const FUEL_PER_SIGNATURE_CHECK: u64 = 100_000;

/// Fuel for one payment lookup (a state read by the chain).
pub const FUEL_PER_PAYMENT_LOOKUP: u64 = 2_000;

/// Longest text a script may attach to a reject; longer is a refused host call. This is what
/// "a huge result" means for this ABI: the verdict itself is one `i32`.
pub const REASON_TEXT_BYTES_MAX: u32 = 256;

/// Bytes of an account id.
const ACCOUNT_BYTES: u32 = 32;
/// Bytes of a hash.
const HASH_BYTES: u32 = 32;
/// Bytes of an amount (u128, little-endian).
const AMOUNT_BYTES: u32 = 16;

/// The host state of one validation call.
pub(crate) struct HostState {
    context: ValidationContext,
    payments: Arc<dyn Payments>,
    reason_text: Option<Vec<u8>>,
}

impl HostState {
    pub(crate) fn new(context: ValidationContext, payments: Arc<dyn Payments>) -> Self {
        HostState {
            context,
            payments,
            reason_text: None,
        }
    }

    pub(crate) fn into_reason_text(self) -> Option<String> {
        self.reason_text
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }
}

type Ctx<'a> = Caller<'a, StoreData<HostState>>;

/// Which byte string of the context a `*_read` call copies from.
#[derive(Clone, Copy)]
enum Source {
    Keyspace,
    Key,
    Value,
    Existing,
}

impl Source {
    fn bytes(self, context: &ValidationContext) -> &[u8] {
        match self {
            Source::Keyspace => &context.keyspace,
            Source::Key => &context.key,
            Source::Value => &context.value,
            Source::Existing => context.existing_value.as_deref().unwrap_or_default(),
        }
    }
}

fn len_of(bytes: &[u8]) -> u32 {
    // Keys, values and names are far below 4 GiB; saturate rather than wrap if ever not.
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

/// Copies `len` bytes of `source` from `offset` to `dst` in the script's memory.
fn read(
    caller: &mut Ctx<'_>,
    function: &'static str,
    source: Source,
    dst: u32,
    offset: u32,
    len: u32,
) -> Result<(), HostError> {
    charge_fuel(caller, fuel_for_bytes(len))?;
    let (memory, state) = memory_and_host(caller, function)?;
    let from = memory_slice(source.bytes(&state.context), function, offset, len).map_err(|_| {
        HostFault::InvalidArgument {
            function,
            reason: "offset + len is beyond the source",
        }
    })?;
    memory_slice_mut(memory, function, dst, len)?.copy_from_slice(from);
    Ok(())
}

/// Writes `bytes` to `dst` in the script's memory.
fn write(
    caller: &mut Ctx<'_>,
    function: &'static str,
    dst: u32,
    bytes: &[u8],
) -> Result<(), HostError> {
    let (memory, _) = memory_and_host(caller, function)?;
    memory_slice_mut(memory, function, dst, len_of(bytes))?.copy_from_slice(bytes);
    Ok(())
}

/// Reads `N` bytes at `ptr` in the script's memory.
fn read_array<const N: usize>(
    caller: &mut Ctx<'_>,
    function: &'static str,
    ptr: u32,
) -> Result<[u8; N], HostError> {
    let (memory, _) = memory_and_host(caller, function)?;
    let len = u32::try_from(N).unwrap_or(u32::MAX);
    let mut out = [0u8; N];
    out.copy_from_slice(memory_slice(memory, function, ptr, len)?);
    Ok(out)
}

fn length_fn(
    linker: &mut Linker<StoreData<HostState>>,
    name: &'static str,
    source: Source,
) -> Result<(), HostError> {
    linker.func_wrap(
        HOST_MODULE,
        name,
        move |mut caller: Ctx<'_>| -> Result<u32, HostError> {
            charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
            Ok(len_of(source.bytes(&caller.data().host().context)))
        },
    )?;
    Ok(())
}

fn read_fn(
    linker: &mut Linker<StoreData<HostState>>,
    name: &'static str,
    source: Source,
) -> Result<(), HostError> {
    linker.func_wrap(
        HOST_MODULE,
        name,
        move |mut caller: Ctx<'_>, dst: u32, offset: u32, len: u32| -> Result<(), HostError> {
            read(&mut caller, name, source, dst, offset, len)
        },
    )?;
    Ok(())
}

/// Adds every function of `bitverse_v1` to the linker.
pub(crate) fn define(linker: &mut Linker<StoreData<HostState>>) -> Result<(), HostError> {
    linker.func_wrap(
        HOST_MODULE,
        "op",
        |mut caller: Ctx<'_>| -> Result<i32, HostError> {
            charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
            Ok(caller.data().host().context.op.code())
        },
    )?;
    length_fn(linker, "keyspace_len", Source::Keyspace)?;
    read_fn(linker, "keyspace_read", Source::Keyspace)?;
    length_fn(linker, "key_len", Source::Key)?;
    read_fn(linker, "key_read", Source::Key)?;
    length_fn(linker, "value_len", Source::Value)?;
    read_fn(linker, "value_read", Source::Value)?;
    linker.func_wrap(
        HOST_MODULE,
        "existing_len",
        |mut caller: Ctx<'_>| -> Result<i32, HostError> {
            charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
            Ok(match &caller.data().host().context.existing_value {
                None => -1,
                Some(bytes) => i32::try_from(bytes.len()).unwrap_or(i32::MAX),
            })
        },
    )?;
    read_fn(linker, "existing_read", Source::Existing)?;
    linker.func_wrap(
        HOST_MODULE,
        "writer",
        |mut caller: Ctx<'_>, dst: u32| -> Result<(), HostError> {
            charge_fuel(&mut caller, fuel_for_bytes(ACCOUNT_BYTES))?;
            let writer = caller.data().host().context.writer;
            write(&mut caller, "writer", dst, &writer.0)
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "keyspace_owner",
        |mut caller: Ctx<'_>, dst: u32| -> Result<(), HostError> {
            charge_fuel(&mut caller, fuel_for_bytes(ACCOUNT_BYTES))?;
            let owner = caller.data().host().context.keyspace_owner;
            write(&mut caller, "keyspace_owner", dst, &owner.0)
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "block_height",
        |mut caller: Ctx<'_>| -> Result<u64, HostError> {
            charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
            Ok(caller.data().host().context.block_height)
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "block_time",
        |mut caller: Ctx<'_>| -> Result<u64, HostError> {
            charge_fuel(&mut caller, FUEL_PER_HOST_CALL)?;
            Ok(caller.data().host().context.block_time_unix_s)
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "paid",
        |mut caller: Ctx<'_>, to_ptr: u32, dst: u32| -> Result<(), HostError> {
            charge_fuel(
                &mut caller,
                FUEL_PER_PAYMENT_LOOKUP.saturating_add(fuel_for_bytes(AMOUNT_BYTES)),
            )?;
            let to = AccountId(read_array::<32>(&mut caller, "paid", to_ptr)?);
            let state = caller.data().host();
            let amount = state.payments.paid(state.context.writer, to);
            write(&mut caller, "paid", dst, &amount.0.to_le_bytes())
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "paid_at_least",
        |mut caller: Ctx<'_>, to_ptr: u32, min_lo: u64, min_hi: u64| -> Result<i32, HostError> {
            charge_fuel(&mut caller, FUEL_PER_PAYMENT_LOOKUP)?;
            let to = AccountId(read_array::<32>(&mut caller, "paid_at_least", to_ptr)?);
            let state = caller.data().host();
            let amount = state.payments.paid(state.context.writer, to);
            let min = (u128::from(min_hi) << 64) | u128::from(min_lo);
            Ok(i32::from(amount.0 >= min))
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "verify_signature",
        |mut caller: Ctx<'_>,
         account_ptr: u32,
         message_ptr: u32,
         signature_ptr: u32|
         -> Result<i32, HostError> {
            charge_fuel(&mut caller, FUEL_PER_SIGNATURE_CHECK)?;
            let account = AccountId(read_array::<32>(
                &mut caller,
                "verify_signature",
                account_ptr,
            )?);
            let message = Hash(read_array::<32>(
                &mut caller,
                "verify_signature",
                message_ptr,
            )?);
            let signature = Signature(read_array::<64>(
                &mut caller,
                "verify_signature",
                signature_ptr,
            )?);
            Ok(i32::from(account.verify(&message, &signature).is_ok()))
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "blake3",
        |mut caller: Ctx<'_>, src: u32, len: u32, dst: u32| -> Result<(), HostError> {
            charge_fuel(
                &mut caller,
                fuel_for_bytes(len).saturating_add(u64::from(HASH_BYTES)),
            )?;
            let (memory, _) = memory_and_host(&mut caller, "blake3")?;
            let digest = Hash::digest(memory_slice(memory, "blake3", src, len)?);
            write(&mut caller, "blake3", dst, &digest.0)
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "reject_reason",
        |mut caller: Ctx<'_>, ptr: u32, len: u32| -> Result<(), HostError> {
            charge_fuel(&mut caller, fuel_for_bytes(len))?;
            if len > REASON_TEXT_BYTES_MAX {
                return Err(HostError::new(HostFault::InvalidArgument {
                    function: "reject_reason",
                    reason: "reason text longer than REASON_TEXT_BYTES_MAX (256 bytes)",
                }));
            }
            let (memory, state) = memory_and_host(&mut caller, "reject_reason")?;
            state.reason_text = Some(memory_slice(memory, "reject_reason", ptr, len)?.to_vec());
            Ok(())
        },
    )?;
    Ok(())
}
