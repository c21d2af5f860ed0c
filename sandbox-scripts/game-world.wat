;; game-world: entities whose positions obey the world's law of motion.
;;
;; A value is 16 bytes: x (i32, little-endian), y (i32), then the block height (u64) at which
;; the entity is there. A write must carry the height of the block it is in; an entity is
;; created at the origin (0, 0); afterwards it moves at most SPEED cells per block along each
;; axis since its last position (Chebyshev distance <= SPEED * blocks elapsed). Entities are
;; never deleted. Edit $speed to change the law.
;;
;; Reason codes: 1 = value is not 16 bytes, 2 = height is not this block's, 3 = not created at
;; the origin, 4 = moved faster than SPEED, 5 = time went backwards, 6 = delete or other op.
(module
  (import "bitverse_v1" "op" (func $op (result i32)))
  (import "bitverse_v1" "value_len" (func $value_len (result i32)))
  (import "bitverse_v1" "value_read" (func $value_read (param i32 i32 i32)))
  (import "bitverse_v1" "existing_len" (func $existing_len (result i32)))
  (import "bitverse_v1" "existing_read" (func $existing_read (param i32 i32 i32)))
  (import "bitverse_v1" "block_height" (func $block_height (result i64)))
  (memory (export "memory") 1)

  (global $speed i64 (i64.const 3))
  ;; Elapsed blocks beyond this count as this many, so SPEED * blocks never overflows.
  (global $elapsed_blocks_max i64 (i64.const 0x1_0000_0000))

  (func $abs (param $v i64) (result i64)
    (select (i64.sub (i64.const 0) (local.get $v)) (local.get $v)
            (i64.lt_s (local.get $v) (i64.const 0))))

  (func (export "validate") (result i32)
    (local $elapsed i64) (local $reach i64)
    (if (i32.ne (call $op) (i32.const 0)) (then (return (i32.const 6))))
    (if (i32.ne (call $value_len) (i32.const 16)) (then (return (i32.const 1))))
    ;; New position at 0..16.
    (call $value_read (i32.const 0) (i32.const 0) (i32.const 16))
    (if (i64.ne (i64.load (i32.const 8)) (call $block_height)) (then (return (i32.const 2))))
    (if (i32.ne (call $existing_len) (i32.const 16))
      (then
        (if (i64.ne (i64.load (i32.const 0)) (i64.const 0)) (then (return (i32.const 3))))
        (return (i32.const 0))))
    ;; Old position at 16..32.
    (call $existing_read (i32.const 16) (i32.const 0) (i32.const 16))
    (if (i64.le_u (i64.load (i32.const 8)) (i64.load (i32.const 24))) (then (return (i32.const 5))))
    (local.set $elapsed (i64.sub (i64.load (i32.const 8)) (i64.load (i32.const 24))))
    (if (i64.gt_u (local.get $elapsed) (global.get $elapsed_blocks_max))
      (then (local.set $elapsed (global.get $elapsed_blocks_max))))
    (local.set $reach (i64.mul (global.get $speed) (local.get $elapsed)))
    (if (i64.gt_s (call $abs (i64.sub (i64.load32_s (i32.const 0)) (i64.load32_s (i32.const 16))))
                  (local.get $reach))
      (then (return (i32.const 4))))
    (if (i64.gt_s (call $abs (i64.sub (i64.load32_s (i32.const 4)) (i64.load32_s (i32.const 20))))
                  (local.get $reach))
      (then (return (i32.const 4))))
    (i32.const 0)))
