//! The `bitverse_v1` host API seen from a script: each accessor returns what the context holds.

mod common;

use std::sync::Arc;

use bitverse_keyspace::script::{Verdict, WriteOp};
use bitverse_primitives::{AccountId, Amount, Hash, SecretKey};
use common::{alice, bob, put, run, run_paying, wasm};
use proptest::prelude::*;

/// A script that returns `body` (an i32 expression) as its verdict, with every import.
fn script(body: &str) -> Vec<u8> {
    wasm(&format!(
        r#"(module
          (import "bitverse_v1" "op" (func $op (result i32)))
          (import "bitverse_v1" "key_len" (func $key_len (result i32)))
          (import "bitverse_v1" "key_read" (func $key_read (param i32 i32 i32)))
          (import "bitverse_v1" "existing_len" (func $existing_len (result i32)))
          (import "bitverse_v1" "block_height" (func $block_height (result i64)))
          (import "bitverse_v1" "block_time" (func $block_time (result i64)))
          (import "bitverse_v1" "paid" (func $paid (param i32 i32)))
          (import "bitverse_v1" "verify_signature" (func $verify (param i32 i32 i32) (result i32)))
          (import "bitverse_v1" "blake3" (func $blake3 (param i32 i32 i32)))
          (import "bitverse_v1" "reject_reason" (func $reason (param i32 i32)))
          (import "bitverse_v1" "writer" (func $writer (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 512) "too expensive")
          (func (export "validate") (result i32) {body}))"#
    ))
}

#[test]
fn accessors_return_the_context() {
    let mut write = put("ks", "ks/abc", b"v");
    write.op = WriteOp::SetScript;
    write.block_height = 77;
    write.block_time_unix_s = 1_234;
    assert_eq!(
        run(&script("(call $op)"), &write).verdict,
        Verdict::Reject { reason_code: 3 }
    );
    assert_eq!(
        run(&script("(call $key_len)"), &write).verdict,
        Verdict::Reject { reason_code: 6 }
    );
    assert_eq!(
        run(&script("(call $existing_len)"), &write).verdict,
        Verdict::Reject {
            reason_code: u32::MAX
        }
    );
    assert_eq!(
        run(&script("(i32.wrap_i64 (call $block_height))"), &write).verdict,
        Verdict::Reject { reason_code: 77 }
    );
    assert_eq!(
        run(&script("(i32.wrap_i64 (call $block_time))"), &write).verdict,
        Verdict::Reject { reason_code: 1_234 }
    );
    // key byte 3 is 'a' (97).
    let third =
        "(call $key_read (i32.const 0) (i32.const 3) (i32.const 1)) (i32.load8_u (i32.const 0))";
    assert_eq!(
        run(&script(third), &write).verdict,
        Verdict::Reject { reason_code: 97 }
    );
}

#[test]
fn paid_writes_the_u128_amount_little_endian() {
    let write = put("ks", "ks/k", b"");
    let payments = Arc::new(|from: AccountId, _to: AccountId| {
        if from == alice() {
            Amount((5u128 << 64) | 9)
        } else {
            Amount::ZERO
        }
    });
    let low = "(call $paid (i32.const 0) (i32.const 64)) (i32.wrap_i64 (i64.load (i32.const 64)))";
    let high = "(call $paid (i32.const 0) (i32.const 64)) (i32.wrap_i64 (i64.load (i32.const 72)))";
    assert_eq!(
        run_paying(&script(low), &write, payments.clone()).verdict,
        Verdict::Reject { reason_code: 9 }
    );
    assert_eq!(
        run_paying(&script(high), &write, payments).verdict,
        Verdict::Reject { reason_code: 5 }
    );
}

#[test]
fn reject_reason_text_reaches_the_outcome() {
    let outcome = run(
        &script("(call $reason (i32.const 512) (i32.const 13)) (i32.const 402)"),
        &put("ks", "ks/k", b""),
    );
    assert_eq!(outcome.verdict, Verdict::Reject { reason_code: 402 });
    assert_eq!(outcome.reason_text.as_deref(), Some("too expensive"));
}

#[test]
fn verify_signature_checks_bip340_over_a_blake3_digest() {
    // The value holds a signature by bob over blake3("hello"); the script hashes "hello" itself.
    let key = SecretKey::dev("bob");
    let signature = key.sign(&Hash::digest(b"hello"));
    let mut memory = Vec::new();
    memory.extend_from_slice(&bob().0);
    memory.extend_from_slice(&signature.0);
    let data: String = memory.iter().map(|b| format!("\\{b:02x}")).collect();
    let check = |message: &str| {
        wasm(&format!(
            r#"(module
              (import "bitverse_v1" "verify_signature" (func $verify (param i32 i32 i32) (result i32)))
              (import "bitverse_v1" "blake3" (func $blake3 (param i32 i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "{data}")
              (data (i32.const 200) "{message}")
              (func (export "validate") (result i32)
                (call $blake3 (i32.const 200) (i32.const 5) (i32.const 300))
                (i32.eqz (call $verify (i32.const 0) (i32.const 300) (i32.const 32)))))"#
        ))
    };
    let write = put("ks", "ks/k", b"");
    let good = run(&check("hello"), &write);
    assert_eq!(good.verdict, Verdict::Accept);
    assert!(good.fuel_used > bitverse_keyspace::script::FUEL_PER_SIGNATURE_CHECK);
    assert_eq!(
        run(&check("jello"), &write).verdict,
        Verdict::Reject { reason_code: 1 }
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `key_read` copies exactly the requested range, or refuses a range beyond the key.
    #[test]
    fn key_read_copies_exactly_the_range(key in proptest::collection::vec(any::<u8>(), 0..64),
                                         offset in 0u32..80, len in 0u32..80) {
        let sum = format!(
            "(call $key_read (i32.const 0) (i32.const {offset}) (i32.const {len}))
             (local.set 0 (i32.const 0)) (local.set 1 (i32.const 0))
             (block $done (loop $l
               (br_if $done (i32.ge_u (local.get 0) (i32.const {len})))
               (local.set 1 (i32.add (i32.mul (local.get 1) (i32.const 31)) (i32.load8_u (local.get 0))))
               (local.set 0 (i32.add (local.get 0) (i32.const 1)))
               (br $l)))
             (i32.or (local.get 1) (i32.const 0x40000000))"
        );
        let text = wasm(&format!(
            r#"(module (import "bitverse_v1" "key_read" (func $key_read (param i32 i32 i32)))
              (memory (export "memory") 1)
              (func (export "validate") (result i32) (local i32 i32) {sum}))"#
        ));
        let mut write = put("ks", "", b"");
        write.key = key.clone();
        let verdict = run(&text, &write).verdict;
        let end = offset as usize + len as usize;
        if end <= key.len() {
            let expected = key[offset as usize..end]
                .iter()
                .fold(0u32, |acc, b| acc.wrapping_mul(31).wrapping_add(u32::from(*b)));
            prop_assert_eq!(verdict, Verdict::Reject { reason_code: expected | 0x4000_0000 });
        } else {
            prop_assert_eq!(
                verdict,
                Verdict::Reject { reason_code: bitverse_keyspace::script::REASON_HOST_CALL_REFUSED }
            );
        }
    }
}
