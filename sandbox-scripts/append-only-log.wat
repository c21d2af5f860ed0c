;; append-only-log: keys `<keyspace>/<n>` with n a decimal number; an entry, once written, can
;; never be overwritten or deleted. Anyone may append.
;;
;; Reason codes: 1 = the key already has a value (overwrite), 2 = delete, 3 = the key is not
;; `<keyspace>/<digits>`, 4 = any other operation (sub-keyspaces, script changes).
(module
  (import "bitverse_v1" "op" (func $op (result i32)))
  (import "bitverse_v1" "keyspace_len" (func $keyspace_len (result i32)))
  (import "bitverse_v1" "key_len" (func $key_len (result i32)))
  (import "bitverse_v1" "key_read" (func $key_read (param i32 i32 i32)))
  (import "bitverse_v1" "existing_len" (func $existing_len (result i32)))
  (memory (export "memory") 1)

  ;; Longest accepted entry number, in digits (u64 range).
  (global $digits_max i32 (i32.const 20))

  (func (export "validate") (result i32)
    (local $prefix i32) (local $len i32) (local $i i32) (local $byte i32)
    (if (i32.eq (call $op) (i32.const 1)) (then (return (i32.const 2))))
    (if (i32.ne (call $op) (i32.const 0)) (then (return (i32.const 4))))
    ;; The key is `<keyspace>/<digits>`: skip the keyspace and its slash.
    (local.set $prefix (i32.add (call $keyspace_len) (i32.const 1)))
    (local.set $len (i32.sub (call $key_len) (local.get $prefix)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 1))
                (i32.gt_s (local.get $len) (global.get $digits_max)))
      (then (return (i32.const 3))))
    (call $key_read (i32.const 0) (local.get $prefix) (local.get $len))
    (loop $digits
      (local.set $byte (i32.load8_u (local.get $i)))
      (if (i32.or (i32.lt_u (local.get $byte) (i32.const 48))
                  (i32.gt_u (local.get $byte) (i32.const 57)))
        (then (return (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $i) (local.get $len))))
    (if (i32.ge_s (call $existing_len) (i32.const 0)) (then (return (i32.const 1))))
    (i32.const 0)))
