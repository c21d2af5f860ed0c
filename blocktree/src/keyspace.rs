//! Keyspaces in a chain's state: what `BuyKeyspace`, `SetScript`, `Put` and `Delete` change,
//! and the rule every one of them must pass — the keyspace's validation script, or without
//! one, the owner rule.
//!
//! The registry (keyspace records, stored scripts) lives on the root; a data chain reads it as
//! of its block's relay parent and keeps only the values of the keyspaces that live on it and
//! the bytes each one holds there ([`crate::state::usage_key`]). The sender's fee and any
//! amount the transaction moves have left its balance before these functions run
//! ([`crate::state`]), and a refusal discards everything the transaction wrote.

use bitverse_keyspace::KeyspaceName;
use bitverse_keyspace::script::{Payments, ScriptError, ValidationContext, Verdict, WriteOp};
use bitverse_primitives::{AccountId, Amount, Hash};

use crate::error::{KeyspaceError, SandboxFailure, StatelessError, StoreError, TxError};
use crate::scripts::BlockContext;
use crate::state::{ApplyError, KeyspaceRecord, StateView, script_key};

/// What a BuyKeyspace asks for, as its payload carries it.
pub(crate) struct Purchase<'p> {
    pub(crate) name: &'p str,
    pub(crate) owner: AccountId,
    pub(crate) quota_bytes: u64,
    pub(crate) prepaid: Amount,
    pub(crate) script: Option<&'p [u8]>,
    pub(crate) depth: u8,
}

/// Registers a keyspace for its owner and pays its endowment into its chain's pool; a
/// sub-keyspace only when its parent's rule allows the purchase.
pub(crate) fn buy(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: AccountId,
    purchase: &Purchase<'_>,
) -> Result<(), ApplyError> {
    let name = KeyspaceName::new(purchase.name).map_err(StatelessError::InvalidKeyspaceName)?;
    if view.keyspace(name.as_str())?.is_some() {
        return Err(KeyspaceError::KeyspaceTaken(name.to_string()).into());
    }
    let depth_params = ctx
        .params
        .depth(purchase.depth)
        .ok_or(KeyspaceError::DepthTooDeep {
            depth: purchase.depth,
            depth_max: ctx.params.depth_max(),
        })?;
    let price = depth_params
        .storage_price_per_byte
        .checked_mul(u128::from(purchase.quota_bytes))
        .map_err(|_| TxError::Overflow)?;
    if purchase.prepaid < price {
        return Err(KeyspaceError::PrepaidTooLow {
            prepaid: purchase.prepaid,
            needed: price,
        }
        .into());
    }
    // A sub-keyspace is bought inside its parent, the longest registered keyspace prefixing
    // it, when the parent's rule allows the purchase.
    if name.parent().is_some() {
        let (parent, parent_record) = view.home_of(name.as_str())?;
        authorize(
            view,
            ctx,
            &Write {
                keyspace: parent.as_str(),
                record: &parent_record,
                op: WriteOp::BuySubKeyspace,
                key: name.as_str(),
                value: &[],
                existing: None,
                writer: sender,
            },
        )?;
    }
    let script_hash = upload_script(view, ctx, purchase.script)?;
    let chain =
        crate::state::chain_of_keyspace(name.as_str(), purchase.depth).ok_or(TxError::Overflow)?;
    crate::endowment::deposit(view, &chain, purchase.prepaid)?;
    view.set_keyspace(&KeyspaceRecord {
        name: name.to_string(),
        owner: purchase.owner,
        quota_bytes: purchase.quota_bytes,
        used_bytes: 0,
        endowment: purchase.prepaid,
        script_hash,
        depth: purchase.depth,
    });
    Ok(())
}

/// Replaces a keyspace's validation script (`None`: back to owner-only), when its current
/// rule allows it.
pub(crate) fn set_script(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: AccountId,
    keyspace: &str,
    script: Option<&[u8]>,
) -> Result<(), ApplyError> {
    let name = KeyspaceName::new(keyspace).map_err(StatelessError::InvalidKeyspaceName)?;
    let Some(mut record) = view.keyspace(name.as_str())? else {
        return Err(KeyspaceError::UnknownKeyspace(name.to_string()).into());
    };
    let script_hash = upload_script(view, ctx, script)?;
    let new_hash = script_hash.map(|h| h.0.to_vec()).unwrap_or_default();
    let old_hash = record.script_hash.map(|h| h.0.to_vec());
    authorize(
        view,
        ctx,
        &Write {
            keyspace: name.as_str(),
            record: &record,
            op: WriteOp::SetScript,
            key: name.as_str(),
            value: &new_hash,
            existing: old_hash.as_deref(),
            writer: sender,
        },
    )?;
    record.script_hash = script_hash;
    view.set_keyspace(&record);
    Ok(())
}

/// Sets `key` to `value` on this chain, within its keyspace's quota, when the keyspace's rule
/// allows it. (A RegisterBlob writes its manifest's bytes here too; `crate::apply` refuses a
/// Put of a key holding a live blob before it comes here.)
pub(crate) fn put(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: AccountId,
    key: &str,
    value: &[u8],
) -> Result<(), ApplyError> {
    let (home, mut record, slot) = view.home_here(key)?;
    let existing = view.get_raw(&slot)?;
    authorize(
        view,
        ctx,
        &Write {
            keyspace: home.as_str(),
            record: &record,
            op: WriteOp::Put,
            key,
            value,
            existing: existing.as_deref(),
            writer: sender,
        },
    )?;
    let old_size = entry_size(key, existing.as_deref());
    let new_size = entry_size(key, Some(value));
    let used_before = view.used_bytes(&record)?;
    let used = used_before
        .checked_sub(old_size)
        .and_then(|u| u.checked_add(new_size))
        .ok_or(TxError::Overflow)?;
    if used > record.quota_bytes {
        return Err(KeyspaceError::QuotaExceeded {
            keyspace: home.to_string(),
            quota_bytes: record.quota_bytes,
            used_bytes: used_before,
            needed_bytes: used,
        }
        .into());
    }
    view.set_used_bytes(&mut record, used);
    view.set_pending(slot, Some(value.to_vec()));
    Ok(())
}

/// Removes `key`'s value on this chain, when its keyspace's rule allows it.
pub(crate) fn delete(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    sender: AccountId,
    key: &str,
) -> Result<(), ApplyError> {
    let (home, mut record, slot) = view.home_here(key)?;
    let Some(old) = view.get_raw(&slot)? else {
        return Err(KeyspaceError::NoSuchKey(key.to_owned()).into());
    };
    authorize(
        view,
        ctx,
        &Write {
            keyspace: home.as_str(),
            record: &record,
            op: WriteOp::Delete,
            key,
            value: &[],
            existing: Some(&old),
            writer: sender,
        },
    )?;
    let old_size = entry_size(key, Some(&old));
    let used = view
        .used_bytes(&record)?
        .checked_sub(old_size)
        .ok_or(TxError::Overflow)?;
    view.set_used_bytes(&mut record, used);
    view.set_pending(slot, None);
    Ok(())
}

/// One write a keyspace's script (or, without one, its owner rule) must allow.
struct Write<'w> {
    /// The keyspace whose rule decides.
    keyspace: &'w str,
    record: &'w KeyspaceRecord,
    op: WriteOp,
    key: &'w str,
    value: &'w [u8],
    existing: Option<&'w [u8]>,
    writer: AccountId,
}

/// Checks a script offered by BuyKeyspace or SetScript as at upload, and stores it by its
/// hash. Returns the hash (`None` without a script: owner-only).
fn upload_script(
    view: &mut StateView<'_>,
    ctx: &BlockContext<'_>,
    script: Option<&[u8]>,
) -> Result<Option<Hash>, ApplyError> {
    let Some(wasm) = script else {
        return Ok(None);
    };
    let runner = ctx.scripts.get()?;
    let hash = runner.check_upload(wasm).map_err(script_error)?;
    view.set_pending(script_key(&hash), Some(wasm.to_vec()));
    Ok(Some(hash))
}

/// Whether the keyspace's rule allows `write`: its script's verdict, or without a script,
/// whether the writer is its owner (the same rule as `sandbox-scripts/owner-only.wat`,
/// natively, since most keyspaces have no script and it is the hot path).
fn authorize(
    view: &StateView<'_>,
    ctx: &BlockContext<'_>,
    write: &Write<'_>,
) -> Result<(), ApplyError> {
    let Some(script_hash) = write.record.script_hash else {
        if write.writer == write.record.owner {
            return Ok(());
        }
        return Err(KeyspaceError::NotOwner {
            keyspace: write.keyspace.to_owned(),
        }
        .into());
    };
    let wasm = view.script(&script_hash)?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "script {script_hash} of keyspace {:?} is missing",
            write.keyspace
        ))
    })?;
    let context = ValidationContext {
        op: write.op,
        keyspace: write.keyspace.as_bytes().to_vec(),
        key: write.key.as_bytes().to_vec(),
        value: write.value.to_vec(),
        writer: write.writer,
        keyspace_owner: write.record.owner,
        existing_value: write.existing.map(<[u8]>::to_vec),
        block_height: ctx.height,
        block_time_unix_s: ctx.time_unix_s(),
    };
    let runner = ctx.scripts.get()?;
    let payments: std::sync::Arc<dyn Payments> = ctx.payments.clone();
    let outcome = runner
        .validate_by_hash(&script_hash, &wasm, &context, payments)
        .map_err(script_error)?;
    ctx.scripts.record_fuel_used(outcome.fuel_used);
    ctx.payments.take_failure()?;
    match outcome.verdict {
        Verdict::Accept => Ok(()),
        Verdict::Reject { reason_code } => Err(KeyspaceError::ScriptRejected {
            keyspace: write.keyspace.to_owned(),
            reason_code,
            reason_text: outcome
                .reason_text
                .or_else(|| outcome.fault.map(|fault| fault.to_string())),
        }
        .into()),
    }
}

/// A script that cannot be stored is the transaction's fault; a sandbox that cannot run is the
/// node's.
fn script_error(e: ScriptError) -> ApplyError {
    match e {
        ScriptError::Upload(e) => KeyspaceError::ScriptRefused(e).into(),
        ScriptError::Node(e) => SandboxFailure::Run(e).into(),
    }
}

/// Bytes a key and its value count against a keyspace's quota.
fn entry_size(key: &str, value: Option<&[u8]>) -> u64 {
    match value {
        None => 0,
        Some(v) => (key.len() as u64).saturating_add(v.len() as u64),
    }
}
