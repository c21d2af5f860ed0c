// The bitverse_v1 host API for AssemblyScript scripts. Import what you need from here; see
// docs/SCRIPTS.md for the meaning of each function.

/** Operation codes returned by `op()`. */
export const OP_PUT: i32 = 0;
export const OP_DELETE: i32 = 1;
export const OP_BUY_SUB_KEYSPACE: i32 = 2;
export const OP_SET_SCRIPT: i32 = 3;

@external("bitverse_v1", "op")
export declare function op(): i32;
@external("bitverse_v1", "keyspace_len")
export declare function keyspace_len(): i32;
@external("bitverse_v1", "keyspace_read")
export declare function keyspace_read(dst: usize, offset: u32, len: u32): void;
@external("bitverse_v1", "key_len")
export declare function key_len(): i32;
@external("bitverse_v1", "key_read")
export declare function key_read(dst: usize, offset: u32, len: u32): void;
@external("bitverse_v1", "value_len")
export declare function value_len(): i32;
@external("bitverse_v1", "value_read")
export declare function value_read(dst: usize, offset: u32, len: u32): void;
@external("bitverse_v1", "existing_len")
export declare function existing_len(): i32;
@external("bitverse_v1", "existing_read")
export declare function existing_read(dst: usize, offset: u32, len: u32): void;
@external("bitverse_v1", "writer")
export declare function writer(dst: usize): void;
@external("bitverse_v1", "keyspace_owner")
export declare function keyspace_owner(dst: usize): void;
@external("bitverse_v1", "block_height")
export declare function block_height(): u64;
@external("bitverse_v1", "block_time")
export declare function block_time(): u64;
@external("bitverse_v1", "paid")
export declare function paid(to: usize, dst: usize): void;
@external("bitverse_v1", "paid_at_least")
export declare function paid_at_least(to: usize, min_lo: u64, min_hi: u64): i32;
@external("bitverse_v1", "verify_signature")
export declare function verify_signature(account: usize, message: usize, signature: usize): i32;
@external("bitverse_v1", "blake3")
export declare function blake3(src: usize, len: u32, dst: usize): void;
@external("bitverse_v1", "reject_reason")
export declare function reject_reason(ptr: usize, len: u32): void;

/** Reads the writer and the keyspace owner and compares them. */
export function writer_is_owner(): bool {
  const accounts = memory.data(64);
  writer(accounts);
  keyspace_owner(accounts + 32);
  for (let i: usize = 0; i < 32; i += 8) {
    if (load<u64>(accounts + i) != load<u64>(accounts + 32 + i)) return false;
  }
  return true;
}
