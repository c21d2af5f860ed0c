//! The keyspace lifecycle on the chain, with the example scripts of `sandbox-scripts/` run by
//! the real sandbox: buying with a script, sub-keyspaces gated by the parent's script, scripts
//! judging every put and delete, SetScript, payments as scripts see them, refused uploads, a
//! hostile script that cannot stop the chain, and a replay reaching the same state root.

use bitverse_blocktree::{
    Block, Chain, ChainError, ChainParams, KeyspaceError, Transaction, TxError, TxPayload,
    TxStatus, UnsignedTx,
};
use bitverse_keyspace::script::REASON_OUT_OF_FUEL;
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};

const QUOTA_BYTES: u64 = 10_000;

fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

fn account(name: &str) -> AccountId {
    key(name).account()
}

/// The example script `sandbox-scripts/<name>.wat`, compiled.
fn example(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../sandbox-scripts/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A chain and the blocks it made, so a second chain can replay them.
struct Harness {
    chain: Chain,
    blocks: Vec<Block>,
    time_ms: u64,
}

impl Harness {
    fn new() -> Harness {
        let chain = Chain::in_memory(ChainParams::dev()).unwrap();
        let time_ms = chain.tip().time_ms;
        Harness {
            chain,
            blocks: Vec::new(),
            time_ms,
        }
    }

    fn tx(&self, who: &str, payload: TxPayload) -> Transaction {
        let k = key(who);
        UnsignedTx {
            chain: ChainId::ROOT,
            sender: k.account(),
            nonce: self.chain.pending_nonce(&k.account()).unwrap(),
            fee: Amount(1),
            payload,
        }
        .sign(&k)
    }

    /// Submits one transaction and seals a block; returns what admission said.
    fn send(&mut self, who: &str, payload: TxPayload) -> Result<(), TxError> {
        let tx = self.tx(who, payload);
        match self.chain.submit_transaction(tx) {
            Ok(_) => {
                self.seal();
                Ok(())
            }
            Err(ChainError::Tx(e)) => Err(e),
            Err(e) => panic!("node failure: {e}"),
        }
    }

    fn seal(&mut self) {
        self.time_ms += 1_000;
        let block = self
            .chain
            .produce_block(account("miner"), self.time_ms, true, u64::MAX)
            .unwrap()
            .expect("dev difficulty seals at once");
        self.blocks.push(block);
    }

    fn buy(&mut self, who: &str, name: &str, script: Option<Vec<u8>>) -> Result<(), TxError> {
        let payload = TxPayload::BuyKeyspace {
            name: name.into(),
            owner: account(who),
            quota_bytes: QUOTA_BYTES,
            prepaid: Amount(
                u128::from(QUOTA_BYTES) * ChainParams::dev().root.storage_price_per_byte.0,
            ),
            script,
            depth: 0,
        };
        self.send(who, payload)
    }

    fn put(&mut self, who: &str, k: &str, v: &[u8]) -> Result<(), TxError> {
        let payload = TxPayload::Put {
            key: k.into(),
            value: v.to_vec(),
        };
        self.send(who, payload)
    }

    fn delete(&mut self, who: &str, k: &str) -> Result<(), TxError> {
        self.send(who, TxPayload::Delete { key: k.into() })
    }

    fn set_script(
        &mut self,
        who: &str,
        name: &str,
        script: Option<Vec<u8>>,
    ) -> Result<(), TxError> {
        let payload = TxPayload::SetScript {
            keyspace: name.into(),
            script,
        };
        self.send(who, payload)
    }

    fn value(&self, k: &str) -> Option<Vec<u8>> {
        self.chain.value(k).unwrap()
    }

    /// A fresh chain importing every block made here must reach the same tip and state root:
    /// script verdicts are part of consensus.
    fn assert_replay_agrees(&self) {
        let mut replica = Chain::in_memory(ChainParams::dev()).unwrap();
        for block in &self.blocks {
            replica.import_block(block.clone(), self.time_ms).unwrap();
        }
        assert_eq!(replica.tip(), self.chain.tip());
    }
}

fn rejected(result: Result<(), TxError>) -> (String, u32) {
    match result {
        Err(TxError::Keyspace(KeyspaceError::ScriptRejected {
            keyspace,
            reason_code,
            ..
        })) => (keyspace, reason_code),
        other => panic!("expected a script rejection, got {other:?}"),
    }
}

#[test]
fn owner_only_script_judges_puts_and_deletes() {
    let mut h = Harness::new();
    h.buy("alice", "alice", Some(example("owner-only")))
        .unwrap();
    let record = h.chain.keyspace("alice").unwrap().unwrap();
    assert!(record.script_hash.is_some());

    h.put("alice", "alice/a", b"mine").unwrap();
    assert_eq!(
        rejected(h.put("bob", "alice/a", b"theirs")),
        ("alice".into(), 1)
    );
    assert_eq!(rejected(h.delete("bob", "alice/a")), ("alice".into(), 1));
    assert_eq!(h.value("alice/a").as_deref(), Some(&b"mine"[..]));
    h.delete("alice", "alice/a").unwrap();
    assert_eq!(h.value("alice/a"), None);
    h.assert_replay_agrees();
}

#[test]
fn a_keyspace_without_a_script_is_owner_only() {
    let mut h = Harness::new();
    h.buy("alice", "plain", None).unwrap();
    assert_eq!(
        h.chain.keyspace("plain").unwrap().unwrap().script_hash,
        None
    );
    h.put("alice", "plain/x", b"1").unwrap();
    assert!(matches!(
        h.put("bob", "plain/x", b"2"),
        Err(TxError::Keyspace(KeyspaceError::NotOwner { .. }))
    ));
    // Without a script, sub-keyspaces are the owner's to buy.
    assert!(matches!(
        h.buy("bob", "plain/bob", None),
        Err(TxError::Keyspace(KeyspaceError::NotOwner { .. }))
    ));
    h.buy("alice", "plain/sub", None).unwrap();
}

#[test]
fn posts_script_sells_handles_and_limits_posts_to_140_characters() {
    let mut h = Harness::new();
    let posts = example("posts");
    h.buy("alice", "twitter", Some(posts.clone())).unwrap();

    // Anyone may buy a free, well-formed handle inside `twitter`.
    h.buy("bob", "twitter/bob", Some(posts.clone())).unwrap();
    assert_eq!(
        h.chain.keyspace("twitter/bob").unwrap().unwrap().owner,
        account("bob")
    );
    assert!(matches!(
        h.buy("carol", "twitter/bob", Some(posts.clone())),
        Err(TxError::Keyspace(KeyspaceError::KeyspaceTaken(_)))
    ));
    assert_eq!(
        rejected(h.buy("carol", "twitter/bad-handle", Some(posts.clone()))),
        ("twitter".into(), 3)
    );
    // The handle's own script now judges its posts.
    let post = "é".repeat(140);
    h.put("bob", "twitter/bob/1", post.as_bytes()).unwrap();
    let long = "é".repeat(141);
    assert_eq!(
        rejected(h.put("bob", "twitter/bob/2", long.as_bytes())),
        ("twitter/bob".into(), 4)
    );
    assert_eq!(
        rejected(h.put("bob", "twitter/bob/3", &[0xff, 0xfe])),
        ("twitter/bob".into(), 5)
    );
    assert_eq!(
        rejected(h.put("carol", "twitter/bob/4", b"hi")),
        ("twitter/bob".into(), 1)
    );
    // A key's home is the longest registered keyspace prefixing it.
    assert_eq!(h.value("twitter/bob/1").as_deref(), Some(post.as_bytes()));
    assert_eq!(h.chain.keyspace("twitter").unwrap().unwrap().used_bytes, 0);
    h.assert_replay_agrees();
}

#[test]
fn set_script_needs_the_current_scripts_consent() {
    let mut h = Harness::new();
    // Without a script: only the owner may set one.
    h.buy("alice", "log", None).unwrap();
    assert!(matches!(
        h.set_script("bob", "log", Some(example("append-only-log"))),
        Err(TxError::Keyspace(KeyspaceError::NotOwner { .. }))
    ));
    h.set_script("alice", "log", Some(example("append-only-log")))
        .unwrap();

    // The append-only log lets anyone append once per key, and refuses every script change.
    h.put("bob", "log/1", b"first").unwrap();
    assert_eq!(
        rejected(h.put("carol", "log/1", b"again")),
        ("log".into(), 1)
    );
    assert_eq!(rejected(h.delete("alice", "log/1")), ("log".into(), 2));
    assert_eq!(
        rejected(h.set_script("alice", "log", None)),
        ("log".into(), 4)
    );

    // An owner-only script lets its owner hand the keyspace back to owner-only.
    h.buy("alice", "mine", Some(example("owner-only"))).unwrap();
    assert_eq!(
        rejected(h.set_script("bob", "mine", None)),
        ("mine".into(), 1)
    );
    h.set_script("alice", "mine", None).unwrap();
    assert_eq!(h.chain.keyspace("mine").unwrap().unwrap().script_hash, None);
    h.assert_replay_agrees();
}

#[test]
fn paid_writes_see_payments_made_in_earlier_blocks() {
    let mut h = Harness::new();
    let recipient = account("dave");
    let escaped: String = recipient.0.iter().map(|b| format!("\\{b:02x}")).collect();
    let path = format!(
        "{}/../sandbox-scripts/paid-writes.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let placeholder: String = b"RECIPIENTRECIPIENTRECIPIENTRECIP"
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    assert!(
        text.contains(&placeholder),
        "paid-writes.wat changed its placeholder"
    );
    let script = wat::parse_str(text.replace(&placeholder, &escaped)).unwrap();
    h.buy("alice", "paid", Some(script)).unwrap();

    assert_eq!(rejected(h.put("bob", "paid/x", b"1")), ("paid".into(), 1));
    h.send(
        "bob",
        TxPayload::Transfer {
            to: recipient,
            amount: Amount(600),
        },
    )
    .unwrap();
    assert_eq!(rejected(h.put("bob", "paid/x", b"1")), ("paid".into(), 1));
    h.send(
        "bob",
        TxPayload::Transfer {
            to: recipient,
            amount: Amount(400),
        },
    )
    .unwrap();
    // 1,000 paid in total, the script's price.
    h.put("bob", "paid/x", b"1").unwrap();

    // A payment in the same block as the write does not count yet: scripts read payments as
    // of the block's parent, the same on every node whatever the order inside the block.
    let pay = h.tx(
        "carol",
        TxPayload::Transfer {
            to: recipient,
            amount: Amount(1_000),
        },
    );
    let mut write = h.tx(
        "carol",
        TxPayload::Put {
            key: "paid/y".into(),
            value: b"2".to_vec(),
        },
    );
    write.body.nonce += 1;
    let write = write.body.sign(&key("carol"));
    let write_hash = write.hash();
    h.chain.submit_transaction(pay).unwrap();
    assert!(matches!(
        h.chain.submit_transaction(write),
        Err(ChainError::Tx(TxError::Keyspace(
            KeyspaceError::ScriptRejected { .. }
        )))
    ));
    h.seal();
    assert_eq!(h.chain.tx_status(&write_hash).unwrap(), TxStatus::Unknown);
    h.put("carol", "paid/y", b"2").unwrap();
    h.assert_replay_agrees();
}

#[test]
fn bad_scripts_are_refused_at_upload() {
    let mut h = Harness::new();
    let cases: [(&str, Vec<u8>); 4] = [
        ("not wasm", b"definitely not wasm".to_vec()),
        (
            "forbidden import",
            wat::parse_str(
                r#"(module (import "wasi_snapshot_preview1" "fd_write" (func))
                   (memory (export "memory") 1)
                   (func (export "validate") (result i32) (i32.const 0)))"#,
            )
            .unwrap(),
        ),
        (
            "float opcode",
            wat::parse_str(
                r#"(module (memory (export "memory") 1)
                   (func (export "validate") (result i32)
                     (i32.trunc_f32_s (f32.add (f32.const 1) (f32.const 2)))))"#,
            )
            .unwrap(),
        ),
        (
            "no validate export",
            wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap(),
        ),
    ];
    for (what, script) in cases {
        let result = h.buy("alice", "bad", Some(script.clone()));
        assert!(
            matches!(
                result,
                Err(TxError::Keyspace(KeyspaceError::ScriptRefused(_)))
            ),
            "{what}: {result:?}"
        );
    }
    h.buy("alice", "good", None).unwrap();
    let result = h.set_script("alice", "good", Some(b"\0asm junk".to_vec()));
    assert!(
        matches!(
            result,
            Err(TxError::Keyspace(KeyspaceError::ScriptRefused(_)))
        ),
        "{result:?}"
    );
}

#[test]
fn a_looping_script_refuses_its_writes_and_the_chain_goes_on() {
    let mut h = Harness::new();
    let looping = wat::parse_str(
        r#"(module (memory (export "memory") 1)
           (func (export "validate") (result i32) (loop $l (br $l)) (i32.const 0)))"#,
    )
    .unwrap();
    h.buy("alice", "spin", Some(looping)).unwrap();
    h.buy("bob", "calm", None).unwrap();
    for round in 0..3 {
        let result = h.put("alice", "spin/x", b"1");
        match result {
            Err(TxError::Keyspace(KeyspaceError::ScriptRejected {
                reason_code,
                reason_text,
                ..
            })) => {
                assert_eq!(reason_code, REASON_OUT_OF_FUEL, "round {round}");
                assert!(reason_text.unwrap_or_default().contains("fuel"));
            }
            other => panic!("round {round}: {other:?}"),
        }
        h.put("bob", &format!("calm/{round}"), b"ok").unwrap();
    }
    assert_eq!(h.value("calm/2").as_deref(), Some(&b"ok"[..]));
    h.assert_replay_agrees();
}

#[test]
fn a_block_carrying_a_write_its_script_refuses_is_invalid() {
    let mut h = Harness::new();
    h.buy("alice", "guarded", Some(example("owner-only")))
        .unwrap();
    let mut replica = Chain::in_memory(ChainParams::dev()).unwrap();
    for block in &h.blocks {
        replica
            .import_block(block.clone(), h.time_ms + 10_000)
            .unwrap();
    }
    // A miner that skips the script check: its block is refused by every validating node.
    let bad_put = h.tx(
        "bob",
        TxPayload::Put {
            key: "guarded/x".into(),
            value: b"sneaky".to_vec(),
        },
    );
    let mut forged = h.blocks.last().unwrap().clone();
    forged.header.parent = forged.hash();
    forged.header.height += 1;
    forged.header.time_ms += 1_000;
    forged.transactions = vec![bad_put];
    forged.header.tx_root = bitverse_blocktree::block::tx_root(&[forged.transactions[0].hash()]);
    let error = replica
        .import_block(forged, h.time_ms + 10_000)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("script of keyspace \"guarded\" rejected"),
        "{error}"
    );
}
