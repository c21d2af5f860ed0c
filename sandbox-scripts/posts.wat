;; posts: 140-character posts under per-handle sub-keyspaces, like `twitter/erik/1`.
;;
;; Install it on the top keyspace (`twitter`) and give each handle's sub-keyspace the same
;; script when buying it. The script then sees two kinds of keyspace:
;;   * the top keyspace (its name has no `/`): anyone may buy the sub-keyspace
;;     `<keyspace>/<handle>` while the handle is free (the chain refuses a taken name before the
;;     script runs, and the script refuses one it sees as existing); handles are 1 to 32 bytes
;;     of `a-z`, `0-9`, `_`.
;;     Nothing else is accepted there, except from the keyspace owner.
;;   * a handle keyspace (`twitter/erik`): only its owner, the buyer of the handle, may put or
;;     delete, and a post is at most 140 UTF-8 characters (not bytes) of well-formed UTF-8.
;;
;; Reason codes: 1 = writer is not the owner, 2 = handle taken, 3 = bad handle,
;; 4 = post longer than 140 characters, 5 = post is not UTF-8, 6 = operation not allowed here.
(module
  (import "bitverse_v1" "op" (func $op (result i32)))
  (import "bitverse_v1" "keyspace_len" (func $keyspace_len (result i32)))
  (import "bitverse_v1" "keyspace_read" (func $keyspace_read (param i32 i32 i32)))
  (import "bitverse_v1" "key_len" (func $key_len (result i32)))
  (import "bitverse_v1" "key_read" (func $key_read (param i32 i32 i32)))
  (import "bitverse_v1" "value_len" (func $value_len (result i32)))
  (import "bitverse_v1" "value_read" (func $value_read (param i32 i32 i32)))
  (import "bitverse_v1" "existing_len" (func $existing_len (result i32)))
  (import "bitverse_v1" "writer" (func $writer (param i32)))
  (import "bitverse_v1" "keyspace_owner" (func $keyspace_owner (param i32)))
  (memory (export "memory") 1)

  (global $post_chars_max i32 (i32.const 140))
  (global $handle_bytes_max i32 (i32.const 32))
  ;; Memory map: writer 0..32, owner 32..64, keyspace name / handle / post from 1024.
  (global $buf i32 (i32.const 1024))

  (func $writer_is_owner (result i32)
    (local $i i32)
    (call $writer (i32.const 0))
    (call $keyspace_owner (i32.const 32))
    (block $differ
      (loop $words
        (br_if $differ
          (i64.ne (i64.load (local.get $i)) (i64.load offset=32 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $words (i32.lt_u (local.get $i) (i32.const 32))))
      (return (i32.const 1)))
    (i32.const 0))

  ;; 1 if the keyspace name contains a `/`, i.e. this is a handle's sub-keyspace.
  (func $in_handle_keyspace (result i32)
    (local $len i32) (local $i i32)
    (local.set $len (call $keyspace_len))
    (if (i32.gt_u (local.get $len) (i32.const 4096)) (then (return (i32.const 0))))
    (call $keyspace_read (global.get $buf) (i32.const 0) (local.get $len))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (if (i32.eq (i32.load8_u (i32.add (global.get $buf) (local.get $i))) (i32.const 47))
          (then (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const 0))

  ;; Checks a sub-keyspace purchase `<keyspace>/<handle>`: 0 or a reason code.
  (func $check_handle (result i32)
    (local $start i32) (local $len i32) (local $i i32) (local $b i32)
    (local.set $start (i32.add (call $keyspace_len) (i32.const 1)))
    (local.set $len (i32.sub (call $key_len) (local.get $start)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 1))
                (i32.gt_s (local.get $len) (global.get $handle_bytes_max)))
      (then (return (i32.const 3))))
    (call $key_read (global.get $buf) (local.get $start) (local.get $len))
    (loop $bytes
      (local.set $b (i32.load8_u (i32.add (global.get $buf) (local.get $i))))
      (if (i32.eqz
            (i32.or (i32.or
              (i32.and (i32.ge_u (local.get $b) (i32.const 97)) (i32.le_u (local.get $b) (i32.const 122)))
              (i32.and (i32.ge_u (local.get $b) (i32.const 48)) (i32.le_u (local.get $b) (i32.const 57))))
              (i32.eq (local.get $b) (i32.const 95))))
        (then (return (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $i) (local.get $len))))
    (if (i32.ge_s (call $existing_len) (i32.const 0)) (then (return (i32.const 2))))
    (i32.const 0))

  ;; Checks the value is well-formed UTF-8 of at most 140 characters: 0 or a reason code.
  (func $check_post (result i32)
    (local $len i32) (local $i i32) (local $b i32) (local $follow i32) (local $chars i32)
    (local.set $len (call $value_len))
    ;; 140 characters are at most 560 bytes; refuse longer before copying it.
    (if (i32.gt_u (local.get $len) (i32.mul (global.get $post_chars_max) (i32.const 4)))
      (then (return (i32.const 4))))
    (call $value_read (global.get $buf) (i32.const 0) (local.get $len))
    (block $done
      (loop $chars_loop
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $b (i32.load8_u (i32.add (global.get $buf) (local.get $i))))
        (local.set $follow
          (if (result i32) (i32.lt_u (local.get $b) (i32.const 0x80)) (then (i32.const 0))
          (else (if (result i32) (i32.eq (i32.and (local.get $b) (i32.const 0xE0)) (i32.const 0xC0)) (then (i32.const 1))
          (else (if (result i32) (i32.eq (i32.and (local.get $b) (i32.const 0xF0)) (i32.const 0xE0)) (then (i32.const 2))
          (else (if (result i32) (i32.eq (i32.and (local.get $b) (i32.const 0xF8)) (i32.const 0xF0)) (then (i32.const 3))
          (else (return (i32.const 5)))))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        ;; Each continuation byte must be there and be 10xxxxxx.
        (block $continuations_ok
          (loop $continuations
            (br_if $continuations_ok (i32.eqz (local.get $follow)))
            (if (i32.ge_u (local.get $i) (local.get $len)) (then (return (i32.const 5))))
            (if (i32.ne (i32.and (i32.load8_u (i32.add (global.get $buf) (local.get $i))) (i32.const 0xC0))
                        (i32.const 0x80))
              (then (return (i32.const 5))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $follow (i32.sub (local.get $follow) (i32.const 1)))
            (br $continuations)))
        (local.set $chars (i32.add (local.get $chars) (i32.const 1)))
        (br $chars_loop)))
    (if (i32.gt_u (local.get $chars) (global.get $post_chars_max)) (then (return (i32.const 4))))
    (i32.const 0))

  (func (export "validate") (result i32)
    (local $op i32)
    (local.set $op (call $op))
    (if (call $in_handle_keyspace)
      (then
        (if (i32.eqz (call $writer_is_owner)) (then (return (i32.const 1))))
        (if (i32.eq (local.get $op) (i32.const 0)) (then (return (call $check_post))))
        (if (i32.eq (local.get $op) (i32.const 1)) (then (return (i32.const 0))))
        (return (i32.const 6))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then (return (call $check_handle))))
    (if (call $writer_is_owner) (then (return (i32.const 0))))
    (i32.const 6)))
