//! The example scripts of `sandbox-scripts/`, each shown accepting the writes it should and
//! refusing the others with its documented reason code.

mod common;

use std::sync::Arc;

use bitverse_keyspace::script::{Verdict, WriteOp};
use bitverse_primitives::{AccountId, Amount};
use common::{alice, bob, example, put, reject, run_paying, verdict};

#[test]
fn owner_only_accepts_the_owner_and_refuses_anyone_else() {
    let script = example("owner-only");
    let mut write = put("erik", "erik/photos/1", b"jpeg");
    assert_eq!(verdict(&script, &write), Verdict::Accept);
    write.op = WriteOp::Delete;
    assert_eq!(verdict(&script, &write), Verdict::Accept);
    write.writer = bob();
    assert_eq!(verdict(&script, &write), reject(1));
    // Differs only in the last byte: every word of the account is compared.
    let mut almost = alice();
    almost.0[31] ^= 1;
    write.writer = almost;
    assert_eq!(verdict(&script, &write), reject(1));
}

/// The recipient embedded in `paid-writes.wat` ("RECIPIENT" repeated) and its price.
const RECIPIENT: [u8; 32] = *b"RECIPIENTRECIPIENTRECIPIENTRECIP";
const PRICE: u128 = 1000;

#[test]
fn paid_writes_accepts_writers_who_paid_the_price_to_the_recipient() {
    let script = example("paid-writes");
    let mut write = put("shop", "shop/ad/1", b"buy");
    write.writer = bob();
    let paid = |amount: u128, to: AccountId| {
        Arc::new(move |from: AccountId, asked: AccountId| {
            if from == bob() && asked == to {
                Amount(amount)
            } else {
                Amount::ZERO
            }
        })
    };
    assert_eq!(
        run_paying(&script, &write, paid(PRICE, AccountId(RECIPIENT))).verdict,
        Verdict::Accept
    );
    assert_eq!(
        run_paying(&script, &write, paid(PRICE * 5, AccountId(RECIPIENT))).verdict,
        Verdict::Accept
    );
    assert_eq!(
        run_paying(&script, &write, paid(PRICE - 1, AccountId(RECIPIENT))).verdict,
        reject(1)
    );
    assert_eq!(
        run_paying(&script, &write, paid(PRICE, alice())).verdict,
        reject(1),
        "paid the wrong address"
    );
    write.writer = alice();
    assert_eq!(
        run_paying(&script, &write, paid(0, AccountId(RECIPIENT))).verdict,
        Verdict::Accept,
        "owner"
    );
}

#[test]
fn posts_lets_anyone_buy_a_free_handle_only() {
    let script = example("posts");
    let mut buy = put("twitter", "twitter/erik", b"");
    buy.op = WriteOp::BuySubKeyspace;
    buy.writer = bob();
    assert_eq!(verdict(&script, &buy), Verdict::Accept);
    buy.existing_value = Some(b"registered".to_vec());
    assert_eq!(verdict(&script, &buy), reject(2), "handle taken");
    buy.existing_value = None;
    for bad in [
        "twitter/",
        "twitter/Erik",
        "twitter/erik/x",
        &format!("twitter/{}", "a".repeat(33)),
    ] {
        buy.key = bad.as_bytes().to_vec();
        assert_eq!(verdict(&script, &buy), reject(3), "{bad}");
    }
    // Posting straight into the top keyspace is not how it works, except for its owner.
    let mut stray = put("twitter", "twitter/erik/1", b"hi");
    stray.writer = bob();
    assert_eq!(verdict(&script, &stray), reject(6));
}

#[test]
fn posts_accepts_the_handle_owners_posts_of_at_most_140_characters() {
    let script = example("posts");
    let mut post = put("twitter/erik", "twitter/erik/1", "x".repeat(140).as_bytes());
    post.keyspace_owner = bob();
    post.writer = bob();
    assert_eq!(verdict(&script, &post), Verdict::Accept);
    post.value = "x".repeat(141).into_bytes();
    assert_eq!(verdict(&script, &post), reject(4));
    // 140 characters of 4 bytes each: 560 bytes, still one post.
    post.value = "🦀".repeat(140).into_bytes();
    assert_eq!(verdict(&script, &post), Verdict::Accept);
    post.value = "é".repeat(141).into_bytes();
    assert_eq!(verdict(&script, &post), reject(4));
    post.value = vec![b'a', 0xC3];
    assert_eq!(verdict(&script, &post), reject(5), "truncated UTF-8");
    post.value = vec![0xFF];
    assert_eq!(verdict(&script, &post), reject(5));
    post.writer = alice();
    post.value = b"impostor".to_vec();
    assert_eq!(verdict(&script, &post), reject(1));
    post.writer = bob();
    post.op = WriteOp::Delete;
    post.value = Vec::new();
    assert_eq!(verdict(&script, &post), Verdict::Accept);
}

fn position(x: i32, y: i32, height: u64) -> Vec<u8> {
    [
        x.to_le_bytes().as_slice(),
        &y.to_le_bytes(),
        &height.to_le_bytes(),
    ]
    .concat()
}

#[test]
fn game_world_accepts_moves_within_speed_per_block() {
    let script = example("game-world");
    let mut spawn = put("world", "world/ship", &position(0, 0, 10));
    assert_eq!(verdict(&script, &spawn), Verdict::Accept);
    spawn.value = position(1, 0, 10);
    assert_eq!(
        verdict(&script, &spawn),
        reject(3),
        "spawn away from the origin"
    );

    let mut step = put("world", "world/ship", &position(3, -3, 11));
    step.block_height = 11;
    step.existing_value = Some(position(0, 0, 10));
    assert_eq!(
        verdict(&script, &step),
        Verdict::Accept,
        "speed 3, one block"
    );
    step.value = position(4, 0, 11);
    assert_eq!(verdict(&script, &step), reject(4), "too fast");
    step.value = position(0, -4, 11);
    assert_eq!(verdict(&script, &step), reject(4), "too fast on y");
    step.block_height = 12;
    step.value = position(6, -6, 12);
    assert_eq!(
        verdict(&script, &step),
        Verdict::Accept,
        "two blocks, twice as far"
    );
    step.value = position(6, -6, 11);
    assert_eq!(verdict(&script, &step), reject(2), "stale height");
    step.block_height = 10;
    step.value = position(0, 0, 10);
    assert_eq!(verdict(&script, &step), reject(5), "no time passed");
    step.value = position(0, 0, 10)[..15].to_vec();
    assert_eq!(verdict(&script, &step), reject(1));
    step.op = WriteOp::Delete;
    assert_eq!(verdict(&script, &step), reject(6));
}

#[test]
fn append_only_log_refuses_overwrite_and_delete() {
    let script = example("append-only-log");
    let mut append = put("log", "log/42", b"entry");
    append.writer = bob();
    assert_eq!(verdict(&script, &append), Verdict::Accept);
    append.existing_value = Some(b"earlier".to_vec());
    assert_eq!(verdict(&script, &append), reject(1));
    append.op = WriteOp::Delete;
    assert_eq!(verdict(&script, &append), reject(2));
    append.op = WriteOp::Put;
    append.existing_value = None;
    for bad in ["log/", "log/4x", "log/-1", "log/123456789012345678901"] {
        append.key = bad.as_bytes().to_vec();
        assert_eq!(verdict(&script, &append), reject(3), "{bad}");
    }
    append.key = b"log/sub".to_vec();
    append.op = WriteOp::BuySubKeyspace;
    assert_eq!(verdict(&script, &append), reject(4));
}
