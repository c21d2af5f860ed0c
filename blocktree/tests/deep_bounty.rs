//! Bounties over inputs on data chains: the requester brings each value with its proof through
//! the anchors (`DeepValue`), the root checks it against a header it anchored, pins the value's
//! hash and keeps the value for the bounty's computations until the bounty ends; a proof that
//! does not check, or a missing or extra one, is refused with `BAD_DEEP_VALUE` (6004).

mod common;

use bitverse_blocktree::{
    Blocktree, BountyError, BountyStatus, ChainError, ChainParams, DeepValue, DeepValueFault,
    Tracking, TxError, TxPayload, chain_of_keyspace,
};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use bitverse_relay_lineup::Envelope;
use common::{buy, signed, signed_by};

/// A transformation that outputs its first input.
const ECHO_WAT: &str = r#"(module
  (import "bitverse_transform_v1" "input_len" (func $input_len (param i32) (result i32)))
  (import "bitverse_transform_v1" "input_read" (func $input_read (param i32 i32 i32 i32)))
  (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "transform") (result i32)
    (call $input_read (i32.const 0) (i32.const 0) (i32.const 0) (call $input_len (i32.const 0)))
    (call $output_write (i32.const 0) (call $input_len (i32.const 0)))
    (i32.const 0)))"#;
const PHOTO: &[u8] = b"a photo kept two levels down";
const FUEL_BUDGET: u64 = 5_000_000;

struct Deep {
    tree: Blocktree,
    step: u64,
}

impl Deep {
    fn seal(&mut self) {
        self.step += 1;
        let time_ms = self.tree.params().genesis_time_ms + self.step * 1_000;
        self.tree
            .seal_dev(SecretKey::dev("dave").account(), time_ms)
            .unwrap();
    }

    fn submit(
        &mut self,
        who: &str,
        chain: ChainId,
        payload: TxPayload,
    ) -> Result<Hash, ChainError> {
        let tx = signed_by(&self.tree, &SecretKey::dev(who), chain, payload);
        self.tree.submit(tx)
    }

    fn tip(&self) -> u64 {
        self.tree.root().lock().tip().height
    }

    fn post(
        &mut self,
        inputs: Vec<String>,
        deep_values: Vec<DeepValue>,
    ) -> Result<Hash, ChainError> {
        let tip = self.tip();
        self.submit(
            "alice",
            ChainId::ROOT,
            TxPayload::PostBounty {
                amount: Amount(5_000),
                transform: "filters/echo".into(),
                inputs,
                pinned_height: tip,
                args: Vec::new(),
                hops: 0,
                offerer: SecretKey::dev("bob").account(),
                fuel_budget: FUEL_BUDGET,
                expiry_height: tip + 20,
                deep_values,
                acceptance: None,
            },
        )
    }
}

/// alice owns `filters` on the root and `deep` two levels down, with the photo in it; bob is
/// staked as an offerer; the photo's block is anchored up to the root.
fn deep_market() -> Deep {
    let tree = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
    let mut m = Deep { tree, step: 0 };
    buy(&m.tree, "filters", 0);
    buy(&m.tree, "deep", 2);
    m.submit(
        "alice",
        ChainId::ROOT,
        TxPayload::Transfer {
            to: SecretKey::dev("bob").account(),
            amount: Amount(1_000_000),
        },
    )
    .unwrap();
    m.seal();
    m.submit(
        "bob",
        ChainId::ROOT,
        TxPayload::Stake {
            amount: Amount(100_000),
            role: TaskKind::Offer,
        },
    )
    .unwrap();
    let put = signed(
        &m.tree,
        ChainId::ROOT,
        TxPayload::Put {
            key: "filters/echo".into(),
            value: wat::parse_str(ECHO_WAT).unwrap(),
        },
    );
    m.tree.submit(put).unwrap();
    let deep = chain_of_keyspace("deep", 2).unwrap();
    let put = signed(
        &m.tree,
        deep,
        TxPayload::Put {
            key: "deep/photo".into(),
            value: PHOTO.to_vec(),
        },
    );
    m.tree.submit(put).unwrap();
    // The data chains' blocks, then the roots that anchor them, level by level.
    for _ in 0..4 {
        m.seal();
    }
    m
}

fn proven(m: &Deep, key: &str) -> DeepValue {
    DeepValue::from_value_proof(m.tree.value_proof(key).unwrap()).expect("a deep value")
}

fn refusal(result: Result<Hash, ChainError>) -> TxError {
    match result {
        Err(ChainError::Tx(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_bounty_pins_a_proven_deep_value_keeps_it_while_open_and_settles_over_it() {
    let mut m = deep_market();
    let deep_value = proven(&m, "deep/photo");
    assert_eq!(deep_value.value, PHOTO);
    assert_eq!(deep_value.links.len(), 1, "one link below depth 1");
    let id = m
        .post(vec!["deep/photo".into()], vec![deep_value])
        .expect("a proven deep input is pinned");
    m.seal();
    let (bounty, values) = {
        let root = m.tree.root().lock();
        let bounty = root.bounty_at(&id, root.tip().height).unwrap().unwrap();
        let values = root.bounty_values(&bounty).unwrap();
        (bounty, values)
    };
    assert_eq!(bounty.inputs[0].value_hash, Hash::digest(PHOTO));
    assert_eq!(
        values.1,
        vec![PHOTO.to_vec()],
        "the root holds the value for the offerer"
    );

    // bob computes over it (the echo gives the photo back) and settles.
    let runner = bitverse_compute::TransformRunner::new().unwrap();
    let outcome = runner
        .run(
            &values.0,
            bitverse_compute::TransformRequest {
                inputs: values.1.clone(),
                args: Vec::new(),
                fuel_max: FUEL_BUDGET,
            },
        )
        .unwrap();
    let output = outcome.result.unwrap();
    assert_eq!(output, PHOTO);
    let envelope = Envelope::offer(
        &SecretKey::dev("bob"),
        id,
        Hash::digest(&output),
        outcome.fuel_used,
    );
    m.submit(
        "carol",
        ChainId::ROOT,
        TxPayload::Settle {
            bounty: id,
            result_hash: Hash::digest(&output),
            chain: vec![envelope],
        },
    )
    .unwrap();
    m.seal();
    let root = m.tree.root().lock();
    let bounty = root.bounty_at(&id, root.tip().height).unwrap().unwrap();
    assert!(
        matches!(bounty.status, BountyStatus::Settled { .. }),
        "{:?}",
        bounty.status
    );
    // The value was kept only while the bounty was open.
    assert!(
        root.bounty_values(&bounty).is_err(),
        "the deep value is forgotten"
    );
}

#[test]
fn deep_values_that_do_not_check_are_refused() {
    let mut m = deep_market();
    let good = proven(&m, "deep/photo");

    let mut changed = good.clone();
    changed.value = b"another photo".to_vec();
    let e = refusal(m.post(vec!["deep/photo".into()], vec![changed]));
    assert!(
        matches!(
            &e,
            TxError::Bounty(BountyError::BadDeepValue {
                key,
                reason: DeepValueFault::Proof(_)
            }) if key == "deep/photo"
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), bitverse_blocktree::error::codes::BAD_DEEP_VALUE);

    let mut broken = good.clone();
    broken.value_proof.truncate(broken.value_proof.len() / 2);
    assert!(matches!(
        refusal(m.post(vec!["deep/photo".into()], vec![broken])),
        TxError::Bounty(BountyError::BadDeepValue {
            reason: DeepValueFault::Proof(_),
            ..
        })
    ));

    // A header the root never anchored: the top header with another time.
    let mut unanchored = good.clone();
    unanchored.top.time_ms += 1;
    let e = refusal(m.post(vec!["deep/photo".into()], vec![unanchored]));
    assert!(
        matches!(
            &e,
            TxError::Bounty(BountyError::BadDeepValue {
                reason: DeepValueFault::NotAnchored { .. },
                ..
            })
        ) && e.to_string().contains("anchor"),
        "{e:?}"
    );

    let e = refusal(m.post(vec!["deep/photo".into()], Vec::new()));
    assert!(
        matches!(
            &e,
            TxError::Bounty(BountyError::BadDeepValue {
                reason: DeepValueFault::Missing { .. },
                ..
            })
        ) && e.to_string().contains("no proven value"),
        "{e:?}"
    );

    let e = refusal(m.post(vec!["filters/echo".into()], vec![good]));
    assert!(
        matches!(
            &e,
            TxError::Bounty(BountyError::BadDeepValue {
                key,
                reason: DeepValueFault::Extra
            }) if key.is_empty()
        ),
        "{e:?}"
    );
}
