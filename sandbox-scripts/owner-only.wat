;; owner-only: only the keyspace's owner may write, whatever the write is.
;;
;; Reason codes: 1 = the writer is not the keyspace owner.
(module
  (import "bitverse_v1" "writer" (func $writer (param i32)))
  (import "bitverse_v1" "keyspace_owner" (func $keyspace_owner (param i32)))
  (memory (export "memory") 1)

  (func (export "validate") (result i32)
    (local $i i32)
    ;; writer at 0..32, owner at 32..64, compared as four 64-bit words.
    (call $writer (i32.const 0))
    (call $keyspace_owner (i32.const 32))
    (block $differ
      (loop $words
        (br_if $differ
          (i64.ne (i64.load (local.get $i)) (i64.load offset=32 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $words (i32.lt_u (local.get $i) (i32.const 32))))
      (return (i32.const 0)))
    (i32.const 1)))
