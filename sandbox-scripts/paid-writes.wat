;; paid-writes: anyone may write once they have paid at least PRICE to RECIPIENT (in total, as
;; of the block being validated). The keyspace owner always may.
;;
;; To set your own terms, edit the two marked places before compiling:
;;   RECIPIENT: the 32 bytes of the account to pay, as the data segment at offset 0
;;              (hex of the account id; `bitverse wallet show --hex` prints it);
;;   PRICE:     the two 64-bit halves of the u128 amount in base units, $price_lo / $price_hi.
;;
;; Reason codes: 1 = the writer has not paid enough.
(module
  (import "bitverse_v1" "writer" (func $writer (param i32)))
  (import "bitverse_v1" "keyspace_owner" (func $keyspace_owner (param i32)))
  (import "bitverse_v1" "paid_at_least" (func $paid_at_least (param i32 i64 i64) (result i32)))
  (memory (export "memory") 1)

  ;; RECIPIENT (32 bytes at offset 0).
  (data (i32.const 0)
    "\52\45\43\49\50\49\45\4e\54\52\45\43\49\50\49\45\4e\54\52\45\43\49\50\49\45\4e\54\52\45\43\49\50")
  ;; PRICE = price_hi * 2^64 + price_lo base units.
  (global $price_lo i64 (i64.const 1000))
  (global $price_hi i64 (i64.const 0))

  (func $writer_is_owner (result i32)
    (local $i i32)
    (call $writer (i32.const 32))
    (call $keyspace_owner (i32.const 64))
    (block $differ
      (loop $words
        (br_if $differ
          (i64.ne (i64.load offset=32 (local.get $i)) (i64.load offset=64 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $words (i32.lt_u (local.get $i) (i32.const 32))))
      (return (i32.const 1)))
    (i32.const 0))

  (func (export "validate") (result i32)
    (if (call $writer_is_owner) (then (return (i32.const 0))))
    (if (call $paid_at_least (i32.const 0) (global.get $price_lo) (global.get $price_hi))
      (then (return (i32.const 0))))
    (i32.const 1)))
