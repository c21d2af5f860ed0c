//! Integration tests of blobs on the root (issue 19 §2 and §3, chain side; `docs/STORAGE.md`):
//! storers stake and declare capacity; RegisterBlob writes the manifest as the key's value and
//! escrows the endowment; the shards are drawn onto distinct storers only after a later block,
//! weighted by stake; only the assigned storer confirms its shard, once; an unconfirmed shard
//! is redrawn at its deadline and its storer records a failure, and after four redraws the blob
//! fails and is refunded; the endowment pays confirmed storers every period until it runs out;
//! money is conserved in every root block; every refusal is named with its code. Audits: the
//! root audits confirmed shards within a budget per block; an honest storer's proof passes; a
//! storer that does not answer is slashed and its shard repaired onto another storer, which is
//! paid a repair fee; every bad proof is refused with its code. Challenges: the storer
//! claims with the key only the shard gives, a reader holding the shard cannot; an unclaimed
//! one is refunded, records a failure and repairs the shard; every refusal is named.

mod common;

use bitverse_blocktree::error::codes;
use bitverse_blocktree::{
    AUDITS_PER_BLOCK_MAX, AccountError, Blob, BlobFailure, BlobStatus, CHALLENGE_AMOUNT_MIN, Chain,
    ChainError, ChainParams, KeyspaceError, PLACEMENT_DELAY_BLOCKS, PendingAudit,
    REDRAWS_PER_SHARD_MAX, SHARD_PROOF_BYTES_MAX, SHARD_PROOFS_PER_TX_MAX, ShardProof,
    ShardReceipt, StatelessError, StorageError, TxError, TxPayload,
};
use bitverse_pricing::{EVENT_WEIGHT, StorageParams, TaskKind, shard_period_charge};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use bitverse_storage::{
    BlobEncoder, CHUNK_GROUP_BYTES, ChallengeKeyer, Layout, MANIFEST_VERSION, Manifest,
    ShardOutboard, Shares, challenge_nonce, challenge_secret, chunk_group_count, chunk_group_range,
    claim_message, encode_outboard, prove_range, verify_range,
};
use common::signed_on_root as signed;

const KEY: &str = "files/photo";
/// Every storer's stake, unless a test says otherwise.
const STAKE: u128 = 1_000_000;
/// Every storer's capacity: 1 GiB.
const CAPACITY: u64 = 1 << 30;

fn storer_key(i: usize) -> SecretKey {
    SecretKey::from_seed(format!("storer {i}").as_bytes())
}

/// alice publishes; `storers` storers; dave mines.
struct Store {
    chain: Chain,
    storers: Vec<SecretKey>,
}

fn alice() -> SecretKey {
    SecretKey::dev("alice")
}

fn bob() -> SecretKey {
    SecretKey::dev("bob")
}

/// Dev parameters with a short deadline and period, so that a test sees both.
fn params() -> ChainParams {
    let mut params = ChainParams::dev();
    params.storage = StorageParams {
        period_blocks: 3,
        confirm_deadline_blocks: 4,
        // A price a small blob pays visibly: 10^15 a GiB-year, so a 1 MiB shard pays
        // hundreds of base units a period.
        price_per_gib_year: Amount(1_000_000_000_000_000),
        // Longer than any test that does not audit runs: its audits stay pending.
        audit_deadline_blocks: 1_000,
        ..params.storage
    };
    params
}

/// [`params`] with audits answered within 6 blocks and 5 % of the storer stake burnt for
/// each one missed.
fn audit_params() -> ChainParams {
    let mut params = params();
    params.storage.audit_deadline_blocks = 6;
    params.storage.audit_slash_ppm = 50_000;
    params
}

/// A real blob: its manifest, and each shard's bytes and outboard, for proofs.
struct Data {
    manifest: Manifest,
    shards: Vec<Vec<u8>>,
    outboards: Vec<ShardOutboard>,
}

/// `size_bytes` of bytes drawn from `seed`, encoded at k-of-n with 64 KiB pieces.
fn data(size_bytes: usize, k: u8, n: u8, seed: u8) -> Data {
    let mut file = vec![0u8; size_bytes];
    let mut state = u64::from(seed) + 1;
    for byte in file.iter_mut() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *byte = (state >> 56) as u8;
    }
    let mut shards: Vec<Vec<u8>> = vec![Vec::new(); usize::from(n)];
    let manifest = BlobEncoder::new(Shares::new(k, n).unwrap(), 64 * 1024)
        .unwrap()
        .encode(file.as_slice(), &mut shards)
        .unwrap();
    let outboards = shards
        .iter()
        .map(|shard| encode_outboard(shard.as_slice(), shard.len() as u64).unwrap())
        .collect();
    Data {
        manifest,
        shards,
        outboards,
    }
}

impl Data {
    /// The proof of `range` of shard `shard`.
    fn prove(&self, shard: u8, range: std::ops::Range<u64>) -> Vec<u8> {
        let index = usize::from(shard);
        prove_range(self.shards[index].as_slice(), &self.outboards[index], range).unwrap()
    }

    /// The answer to `audit`, made from the shard's bytes.
    fn answer(&self, audit: &PendingAudit) -> ShardProof {
        ShardProof {
            blob: audit.blob,
            shard: audit.shard,
            audit_height: audit.audit_height,
            proof: self.prove(audit.shard, audit.range.clone()),
        }
    }
}

/// A valid manifest of `size_bytes` at k-of-n (its roots made up: the chain cannot check them
/// against bytes it never sees).
fn manifest(size_bytes: u64, k: u8, n: u8) -> Manifest {
    let shares = Shares::new(k, n).unwrap();
    let piece_bytes = 64 * 1024;
    let layout = Layout::new(size_bytes, shares, piece_bytes).unwrap();
    Manifest {
        version: MANIFEST_VERSION,
        size_bytes,
        content_hash: Hash::digest(&size_bytes.to_le_bytes()),
        shares,
        piece_bytes,
        shard_size_bytes: layout.shard_size_bytes(),
        shard_roots: (0..n).map(|i| Hash::digest(&[i])).collect(),
    }
}

impl Store {
    /// Block 1: alice buys `files` and funds `storers` storers. Block 2: each stakes `stakes[i]`
    /// as a storer. Block 3: each declares 1 GiB.
    fn new(params: ChainParams, stakes: &[u128]) -> Store {
        let mut store = Store {
            chain: Chain::in_memory(params).unwrap(),
            storers: (0..stakes.len()).map(storer_key).collect(),
        };
        let price = store.chain.params().root.storage_price_per_byte;
        store.submit(
            &alice(),
            TxPayload::BuyKeyspace {
                name: "files".into(),
                owner: alice().account(),
                quota_bytes: 64 * 1024,
                prepaid: Amount(price.0 * 64 * 1024),
                script: None,
                depth: 0,
            },
        );
        for i in 0..stakes.len() {
            store.submit(
                &alice(),
                TxPayload::Transfer {
                    to: storer_key(i).account(),
                    amount: Amount(STAKE * 100),
                },
            );
        }
        store.seal();
        for (i, stake) in stakes.iter().enumerate() {
            let key = storer_key(i);
            store.submit(
                &key,
                TxPayload::Stake {
                    amount: Amount(*stake),
                    role: TaskKind::Store,
                },
            );
        }
        store.seal();
        // A declaration is judged against the tip's stakes: after the stake's block.
        for i in 0..stakes.len() {
            store.submit(
                &storer_key(i),
                TxPayload::DeclareCapacity {
                    capacity_bytes: CAPACITY,
                    peer: "12D3KooWStorer".into(),
                },
            );
        }
        store.seal();
        store
    }

    fn submit(&mut self, who: &SecretKey, payload: TxPayload) -> Hash {
        let tx = signed(&self.chain, who, payload);
        self.chain.submit_transaction(tx).unwrap()
    }

    fn refusal(&mut self, who: &SecretKey, payload: TxPayload) -> TxError {
        let tx = signed(&self.chain, who, payload);
        match self.chain.submit_transaction(tx) {
            Err(ChainError::Tx(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// One block, mined by dave, holding every pending transaction; then the conservation
    /// check.
    fn seal(&mut self) {
        let pending = self.chain.mempool_len();
        let time_ms = self
            .chain
            .tip()
            .time_ms
            .max(self.chain.params().genesis_time_ms)
            + 1_000;
        let block = self
            .chain
            .produce_block(SecretKey::dev("dave").account(), time_ms, true, u64::MAX)
            .unwrap()
            .expect("a block");
        assert_eq!(
            block.transactions.len(),
            pending,
            "every transaction went in"
        );
        self.check_conservation();
    }

    fn seal_until(&mut self, height: u64) {
        while self.height() < height {
            self.seal();
        }
    }

    fn height(&self) -> u64 {
        self.chain.tip().height
    }

    fn register(&mut self, key: &str, manifest: &Manifest, endowment: Amount) -> Hash {
        self.submit(
            &alice(),
            TxPayload::RegisterBlob {
                key: key.into(),
                manifest: manifest.clone(),
                endowment,
                content_type: String::new(),
            },
        )
    }

    fn blob(&self, id: &Hash) -> Blob {
        self.chain.blob_at(id, self.height()).unwrap().unwrap()
    }

    fn key_of(&self, account: &AccountId) -> &SecretKey {
        self.storers
            .iter()
            .find(|k| k.account() == *account)
            .expect("a storer")
    }

    /// Every drawn, unconfirmed shard of `id` receipted by its storer, except `skip`.
    fn confirm_all_but(&mut self, id: &Hash, skip: &[u8]) {
        let blob = self.blob(id);
        for (index, shard) in blob.shards.iter().enumerate() {
            let index = index as u8;
            if skip.contains(&index) || shard.confirmed_height.is_some() {
                continue;
            }
            let storer = self.key_of(&shard.storer.expect("drawn")).clone();
            self.submit(
                &storer,
                TxPayload::ConfirmShards {
                    receipts: vec![ShardReceipt {
                        blob: *id,
                        shard: index,
                    }],
                },
            );
        }
        self.seal();
    }

    fn balance(&self, account: &AccountId) -> u128 {
        self.chain.account(account).unwrap().balance.0
    }

    fn storer_stake(&self, account: &AccountId) -> u128 {
        self.chain
            .stake_at(account, self.height())
            .unwrap()
            .stake(TaskKind::Store)
            .0
    }

    /// Every audit pending at the tip, of every storer.
    fn pending_audits(&self) -> Vec<(AccountId, PendingAudit)> {
        let mut all = Vec::new();
        for key in &self.storers {
            for audit in self
                .chain
                .pending_audits_of_storer_at(&key.account(), self.height())
                .unwrap()
            {
                all.push((key.account(), audit));
            }
        }
        all
    }

    /// Registers `data` at `key` with a generous endowment, has every shard confirmed, and
    /// returns the blob's id.
    fn store(&mut self, key: &str, data: &Data) -> Hash {
        let id = self.register(key, &data.manifest, Amount(10_000_000_000));
        self.seal();
        self.seal_until(self.height() + PLACEMENT_DELAY_BLOCKS);
        self.confirm_all_but(&id, &[]);
        assert_eq!(self.blob(&id).status, BlobStatus::Stored);
        id
    }

    /// Seals blocks until an audit of a shard of `id` is pending (at most 200 blocks), and
    /// returns it with its storer.
    fn next_audit_of(&mut self, id: &Hash) -> (AccountId, PendingAudit) {
        for _ in 0..200 {
            if let Some(found) = self
                .pending_audits()
                .into_iter()
                .find(|(_, audit)| audit.blob == *id)
            {
                return found;
            }
            self.seal();
        }
        panic!("no audit of blob {id} in 200 blocks");
    }

    fn prove(&mut self, who: &SecretKey, proofs: Vec<ShardProof>) -> Hash {
        self.submit(who, TxPayload::ProveShards { proofs })
    }

    /// Seals one block, in which every audit pending of blob `id` (whose data is `d`) is
    /// answered by its storer, except that of `skip`.
    fn seal_answering(&mut self, id: &Hash, d: &Data, skip: Option<&PendingAudit>) {
        let mut by_storer: Vec<(AccountId, Vec<ShardProof>)> = Vec::new();
        for (storer, audit) in self.pending_audits() {
            if audit.blob != *id || skip.is_some_and(|s| s.shard == audit.shard) {
                continue;
            }
            let proof = d.answer(&audit);
            match by_storer.iter_mut().find(|(a, _)| *a == storer) {
                Some((_, proofs)) => proofs.push(proof),
                None => by_storer.push((storer, vec![proof])),
            }
        }
        for (storer, proofs) in by_storer {
            let key = self.key_of(&storer).clone();
            for chunk in proofs.chunks(SHARD_PROOFS_PER_TX_MAX) {
                self.prove(&key, chunk.to_vec());
            }
        }
        self.seal();
    }

    /// Balances, stakes, the root's pool, bounties' escrow and blobs' escrow add up to the
    /// genesis supply (dev pays no subsidy).
    fn check_conservation(&self) {
        let height = self.height();
        let mut accounts: Vec<AccountId> = ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|n| SecretKey::dev(n).account())
            .collect();
        accounts.extend(self.storers.iter().map(SecretKey::account));
        let mut supply: u128 = 0;
        for a in &accounts {
            supply += self.balance(a);
            supply += self
                .chain
                .stake_at(a, height)
                .unwrap()
                .escrow_total()
                .unwrap()
                .0;
        }
        supply += self.chain.endowment_pool(&ChainId::ROOT).unwrap().held().0;
        let bounties = self.chain.bounty_totals_at(height).unwrap();
        supply += bounties.escrowed.0 + bounties.burnt.0;
        supply += self.chain.blob_totals_at(height).unwrap().escrowed.0;
        // Storer stake burnt for missed audits.
        supply += self.chain.audit_totals_at(height).unwrap().slashed.0;
        supply += self.chain.challenge_totals_at(height).unwrap().escrowed.0;
        let genesis: u128 = self
            .chain
            .params()
            .genesis_allocations
            .iter()
            .map(|(_, a)| a.0)
            .sum();
        assert_eq!(supply, genesis, "money conserved at height {height}");
    }
}

fn store_error(e: TxError) -> StorageError {
    match e {
        TxError::Storage(e) => e,
        other => panic!("expected a storage refusal, got {other:?}"),
    }
}

#[test]
fn a_blob_is_drawn_onto_distinct_storers_only_after_a_later_block() {
    let mut s = Store::new(params(), &[STAKE; 12]);
    let m = manifest(3 * 1024 * 1024, 3, 10);
    let needed = s.chain.blob_endowment_min(&m).unwrap();
    let alice_before = s.balance(&alice().account());
    let id = s.register(KEY, &m, needed);
    s.seal();
    let registered = s.height();
    // The key's value is the manifest's canonical bytes, so its proof proves the manifest.
    assert_eq!(s.chain.value_at(KEY, registered).unwrap(), Some(m.encode()));
    assert_eq!(
        Manifest::decode(&s.chain.value_at(KEY, registered).unwrap().unwrap()).unwrap(),
        m
    );
    let blob = s.blob(&id);
    assert_eq!(blob.status, BlobStatus::Placing);
    assert_eq!(blob.key, KEY);
    assert!(blob.shards.iter().all(|shard| shard.storer.is_none()));
    // The endowment left alice's balance (with the fee); the placement charge went to the
    // pool, the rest is escrowed.
    let placement = s.chain.params().storage.placement_price_per_shard.0 * 10;
    assert_eq!(alice_before - s.balance(&alice().account()), needed.0 + 3);
    assert_eq!(blob.endowment.0, needed.0 - placement);
    assert_eq!(
        s.chain.blob_of_key_at(KEY, registered).unwrap().unwrap().id,
        id
    );

    // The block after the registration: not drawn yet (its hash seeds the draw).
    s.seal();
    assert!(
        s.blob(&id)
            .shards
            .iter()
            .all(|shard| shard.storer.is_none())
    );
    s.seal();
    assert_eq!(s.height(), registered + PLACEMENT_DELAY_BLOCKS);
    let blob = s.blob(&id);
    let storers: Vec<AccountId> = blob.shards.iter().map(|s| s.storer.unwrap()).collect();
    let distinct: std::collections::BTreeSet<_> = storers.iter().collect();
    assert_eq!(distinct.len(), 10, "ten distinct storers");
    let deadline = s.height() + s.chain.params().storage.confirm_deadline_blocks;
    for shard in &blob.shards {
        assert_eq!(shard.placed_height, s.height());
        assert_eq!(shard.deadline_height, deadline);
        assert_eq!(shard.confirmed_height, None);
    }
    for storer in &storers {
        let record = s.chain.storer_at(storer, s.height()).unwrap();
        assert_eq!(record.shards, 1);
        assert_eq!(record.assigned_bytes, m.shard_size_bytes);
        assert_eq!(record.room_bytes(), CAPACITY - m.shard_size_bytes);
    }

    // Everyone confirms: the blob is stored.
    s.confirm_all_but(&id, &[]);
    let blob = s.blob(&id);
    assert_eq!(blob.status, BlobStatus::Stored);
    let confirmed = blob.shards[0].confirmed_height.unwrap();
    assert_eq!(confirmed, s.height());
}

#[test]
fn the_same_registration_draws_the_same_storers_and_another_block_hash_draws_others() {
    // Two chains, same transactions: the same draw. A chain whose block after the
    // registration differs (another miner): another draw, which the publisher could not
    // foresee when it signed.
    let run = |miner: &str| {
        let mut s = Store::new(params(), &[STAKE; 20]);
        let id = s.register(KEY, &manifest(100_000, 2, 4), Amount(10_000_000_000));
        s.seal();
        let time_ms = s.chain.tip().time_ms + 1_000;
        s.chain
            .produce_block(SecretKey::dev(miner).account(), time_ms, true, u64::MAX)
            .unwrap();
        s.seal();
        let blob = s.blob(&id);
        blob.shards
            .iter()
            .map(|s| s.storer.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(run("dave"), run("dave"));
    assert_ne!(run("dave"), run("carol"));
}

#[test]
fn heavier_storers_are_drawn_more_often() {
    // Two storers staking 1 : 9; forty 1-of-1 blobs: the heavy one takes about 36.
    let mut s = Store::new(params(), &[STAKE, 9 * STAKE]);
    let m = manifest(2_000, 1, 1);
    let ids: Vec<Hash> = (0..40)
        .map(|i| {
            let payload = TxPayload::RegisterBlob {
                key: format!("files/{i}"),
                manifest: m.clone(),
                endowment: Amount(1_000_000),
                content_type: String::new(),
            };
            s.submit(&alice(), payload)
        })
        .collect();
    s.seal();
    s.seal();
    s.seal();
    let heavy = s.storers[1].account();
    let drawn_heavy = ids
        .iter()
        .filter(|id| s.blob(id).shards[0].storer == Some(heavy))
        .count();
    assert!((30..=40).contains(&drawn_heavy), "{drawn_heavy} of 40");
}

#[test]
fn only_the_assigned_storer_confirms_its_shard_and_only_once() {
    let mut s = Store::new(params(), &[STAKE; 5]);
    let id = s.register(KEY, &manifest(50_000, 2, 3), Amount(10_000_000_000));
    s.seal();
    // Before the draw, nobody is assigned.
    let anyone = s.storers[0].clone();
    let receipt = |shard| TxPayload::ConfirmShards {
        receipts: vec![ShardReceipt { blob: id, shard }],
    };
    let e = store_error(s.refusal(&anyone, receipt(0)));
    assert!(matches!(e, StorageError::NotAssigned { .. }), "{e:?}");
    s.seal();
    s.seal();
    let blob = s.blob(&id);
    let holder = blob.shards[0].storer.unwrap();
    let outsider = s
        .storers
        .iter()
        .find(|k| blob.shards.iter().all(|sh| sh.storer != Some(k.account())))
        .unwrap()
        .clone();
    let other_holder = s.key_of(&blob.shards[1].storer.unwrap()).clone();
    let e = s.refusal(&outsider, receipt(0));
    assert_eq!(e.code(), codes::NOT_ASSIGNED);
    // A holder of another shard cannot confirm this one.
    let e = s.refusal(&other_holder, receipt(0));
    assert_eq!(e.code(), codes::NOT_ASSIGNED);
    let holder_key = s.key_of(&holder).clone();
    let e = s.refusal(&holder_key, receipt(3));
    assert_eq!(
        store_error(e),
        StorageError::NoSuchShard {
            blob: id,
            shard: 3,
            total_shards: 3
        }
    );
    let e = s.refusal(
        &holder_key,
        TxPayload::ConfirmShards {
            receipts: vec![ShardReceipt {
                blob: Hash::digest(b"no blob"),
                shard: 0,
            }],
        },
    );
    assert_eq!(e.code(), codes::UNKNOWN_BLOB);
    let e = s.refusal(&holder_key, TxPayload::ConfirmShards { receipts: vec![] });
    assert_eq!(e.code(), codes::RECEIPT_COUNT);
    let e = s.refusal(
        &holder_key,
        TxPayload::ConfirmShards {
            receipts: vec![ShardReceipt { blob: id, shard: 0 }; 65],
        },
    );
    assert_eq!(e.code(), codes::RECEIPT_COUNT);
    // The same shard twice in one transaction: the second is refused, and the whole
    // transaction with it.
    let e = s.refusal(
        &holder_key,
        TxPayload::ConfirmShards {
            receipts: vec![ShardReceipt { blob: id, shard: 0 }; 2],
        },
    );
    assert_eq!(e.code(), codes::SHARD_CONFIRMED);
    s.submit(&holder_key, receipt(0));
    s.seal();
    assert_eq!(s.blob(&id).shards[0].confirmed_height, Some(s.height()));
    let e = s.refusal(&holder_key, receipt(0));
    assert_eq!(
        store_error(e),
        StorageError::ShardConfirmed { blob: id, shard: 0 }
    );
    // The confirmation counts as a success on the storer's record.
    let record = s
        .chain
        .reliability_record_at(&holder, TaskKind::Store, s.height())
        .unwrap()
        .unwrap();
    assert_eq!(record.successes, EVENT_WEIGHT);
}

#[test]
fn an_unconfirmed_shard_is_redrawn_at_its_deadline_and_its_storer_records_a_failure() {
    let mut s = Store::new(params(), &[STAKE; 6]);
    let id = s.register(KEY, &manifest(50_000, 2, 3), Amount(10_000_000_000));
    s.seal();
    s.seal_until(s.height() + PLACEMENT_DELAY_BLOCKS);
    let placed = s.blob(&id);
    let no_show = placed.shards[0].storer.unwrap();
    s.confirm_all_but(&id, &[0]);
    let deadline = placed.shards[0].deadline_height;
    s.seal_until(deadline - 1);
    assert_eq!(s.blob(&id).shards[0].storer, Some(no_show));
    // At the start of the deadline block: a failure for the no-show, which lets go of the
    // shard, and a redraw queued for the next block.
    s.seal();
    let blob = s.blob(&id);
    assert_eq!(blob.shards[0].storer, None);
    assert_eq!(blob.shards[0].redraws, 1);
    let record = s
        .chain
        .reliability_record_at(&no_show, TaskKind::Store, s.height())
        .unwrap()
        .unwrap();
    assert_eq!(record.failures, EVENT_WEIGHT);
    assert_eq!(s.chain.storer_at(&no_show, s.height()).unwrap().shards, 0);
    // Too late to confirm.
    let key = s.key_of(&no_show).clone();
    let e = s.refusal(
        &key,
        TxPayload::ConfirmShards {
            receipts: vec![ShardReceipt { blob: id, shard: 0 }],
        },
    );
    assert_eq!(e.code(), codes::NOT_ASSIGNED);
    s.seal();
    let blob = s.blob(&id);
    let redrawn = blob.shards[0].storer.expect("redrawn");
    assert_eq!(blob.shards[0].placed_height, s.height());
    // Never onto a storer holding another shard of the blob.
    assert_ne!(Some(redrawn), blob.shards[1].storer);
    assert_ne!(Some(redrawn), blob.shards[2].storer);
    // The other shards were confirmed and stay so.
    assert!(blob.shards[1].confirmed_height.is_some());
    s.confirm_all_but(&id, &[]);
    assert_eq!(s.blob(&id).status, BlobStatus::Stored);
}

#[test]
fn a_shard_never_confirmed_fails_its_blob_after_the_last_redraw_and_refunds_the_rest() {
    let mut s = Store::new(params(), &[STAKE; 4]);
    let endowment = Amount(10_000_000_000);
    let id = s.register(KEY, &manifest(50_000, 1, 2), endowment);
    s.seal();
    let alice_after_register = s.balance(&alice().account());
    // Nobody ever confirms: 1 + REDRAWS_PER_SHARD_MAX placements, each ending at its deadline.
    for _ in 0..200 {
        if !s.blob(&id).status.is_live() {
            break;
        }
        s.seal();
    }
    let blob = s.blob(&id);
    match blob.status {
        BlobStatus::Failed {
            failure: BlobFailure::RedrawsExhausted { .. },
            ..
        } => {}
        other => panic!("expected a failed blob, got {other:?}"),
    }
    assert!(
        blob.shards
            .iter()
            .any(|shard| shard.redraws == REDRAWS_PER_SHARD_MAX + 1)
    );
    assert!(blob.shards.iter().all(|shard| shard.storer.is_none()));
    assert_eq!(blob.endowment, Amount::ZERO);
    // Nothing was paid (no shard confirmed): the whole escrow came back.
    let placement = s.chain.params().storage.placement_price_per_shard.0 * 2;
    assert_eq!(blob.paid, Amount::ZERO);
    assert_eq!(
        s.balance(&alice().account()) - alice_after_register,
        endowment.0 - placement
    );
    assert_eq!(s.chain.blob_totals_at(s.height()).unwrap().live, 0);
    // Every storer was let go, and may unstake.
    for key in s.storers.clone() {
        assert_eq!(
            s.chain
                .storer_at(&key.account(), s.height())
                .unwrap()
                .shards,
            0
        );
        s.submit(
            &key,
            TxPayload::Unstake {
                amount: Amount(STAKE),
                role: TaskKind::Store,
            },
        );
    }
    s.seal();
    // The key may be written again, and a new blob registered there.
    s.submit(
        &alice(),
        TxPayload::Put {
            key: KEY.into(),
            value: b"plain".to_vec(),
        },
    );
    s.seal();
}

#[test]
fn the_endowment_pays_confirmed_storers_every_period_until_it_runs_out() {
    let mut s = Store::new(params(), &[STAKE; 4]);
    let m = manifest(1 << 20, 2, 3);
    let params = s.chain.params().storage;
    let charge = shard_period_charge(m.shard_size_bytes, 0, &params)
        .unwrap()
        .0;
    assert!(charge > 100, "{charge}");
    let placement = params.placement_price_per_shard.0 * 3;
    // Three full periods of three shards, and a bit.
    let endowment = placement + 3 * 3 * charge + 5;
    let id = s.register(KEY, &m, Amount(endowment));
    s.seal();
    s.seal_until(s.height() + PLACEMENT_DELAY_BLOCKS);
    let placed_at = s.height();
    // Shard 2 is confirmed only in the block where the first period falls due, after that
    // block's payment: it is not paid for that period, and its share stays in the endowment.
    s.confirm_all_but(&id, &[2]);
    let blob = s.blob(&id);
    let paid_storers = [
        blob.shards[0].storer.unwrap(),
        blob.shards[1].storer.unwrap(),
    ];
    let late = blob.shards[2].storer.unwrap();
    let before: Vec<u128> = paid_storers.iter().map(|a| s.balance(a)).collect();
    let late_before = s.balance(&late);
    s.seal_until(placed_at + params.period_blocks - 1);
    let late_key = s.key_of(&late).clone();
    s.submit(
        &late_key,
        TxPayload::ConfirmShards {
            receipts: vec![ShardReceipt { blob: id, shard: 2 }],
        },
    );
    s.seal();
    assert_eq!(s.height(), placed_at + params.period_blocks);
    let blob = s.blob(&id);
    assert_eq!(blob.status, BlobStatus::Stored);
    assert_eq!(blob.periods_elapsed, 1);
    assert_eq!(blob.paid.0, 2 * charge);
    for (storer, before) in paid_storers.iter().zip(&before) {
        assert_eq!(s.balance(storer) - before, charge);
    }
    // The late storer paid its fee (3) and nothing yet.
    assert_eq!(late_before - s.balance(&late), 3);
    s.seal_until(placed_at + 2 * params.period_blocks);
    assert_eq!(s.blob(&id).paid.0, 5 * charge);
    // Run until the endowment cannot pay a period: the blob expires, the last of it shared.
    for _ in 0..200 {
        if !s.blob(&id).status.is_live() {
            break;
        }
        s.seal();
    }
    let blob = s.blob(&id);
    assert!(
        matches!(blob.status, BlobStatus::Expired { .. }),
        "{:?}",
        blob.status
    );
    assert_eq!(blob.endowment, Amount::ZERO);
    // 2 + 3 + 3 whole shares, then the last of it shared: 9c + 5 less what was paid.
    assert!(blob.paid.0 >= 8 * charge, "{}", blob.paid.0);
    assert!(blob.paid.0 <= endowment - placement);
    assert!(blob.shards.iter().all(|shard| shard.storer.is_none()));
    assert_eq!(
        s.chain.blob_totals_at(s.height()).unwrap().escrowed,
        Amount::ZERO
    );
}

#[test]
fn a_storer_holding_shards_cannot_unstake_and_a_key_holding_a_live_blob_cannot_be_written() {
    let mut s = Store::new(params(), &[STAKE; 3]);
    let id = s.register(KEY, &manifest(10_000, 1, 3), Amount(10_000_000_000));
    s.seal();
    let e = s.refusal(
        &alice(),
        TxPayload::Put {
            key: KEY.into(),
            value: b"over it".to_vec(),
        },
    );
    assert_eq!(
        store_error(e),
        StorageError::BlobKeyHeld {
            key: KEY.into(),
            blob: id
        }
    );
    let e = s.refusal(&alice(), TxPayload::Delete { key: KEY.into() });
    assert_eq!(e.code(), codes::BLOB_KEY_HELD);
    let e = s.refusal(
        &alice(),
        TxPayload::RegisterBlob {
            key: KEY.into(),
            manifest: manifest(10_000, 1, 3),
            endowment: Amount(10_000_000_000),
            content_type: String::new(),
        },
    );
    assert_eq!(e.code(), codes::BLOB_KEY_HELD);
    s.seal();
    s.seal();
    let holder = s.storers[0].clone();
    let e = s.refusal(
        &holder,
        TxPayload::Unstake {
            amount: Amount(1),
            role: TaskKind::Store,
        },
    );
    assert_eq!(
        store_error(e),
        StorageError::StorerHoldsShards {
            account: holder.account(),
            shards: 1
        }
    );
    // Its other roles are not locked.
    s.submit(
        &holder,
        TxPayload::Stake {
            amount: Amount(10),
            role: TaskKind::Relay,
        },
    );
    s.seal();
    s.submit(
        &holder,
        TxPayload::Unstake {
            amount: Amount(10),
            role: TaskKind::Relay,
        },
    );
    s.seal();
}

#[test]
fn every_refused_registration_and_declaration_is_named() {
    let mut s = Store::new(params(), &[STAKE; 3]);
    let m = manifest(10_000, 2, 3);
    let needed = s.chain.blob_endowment_min(&m).unwrap();
    let register = |key: &str, manifest: &Manifest, endowment: Amount| TxPayload::RegisterBlob {
        key: key.into(),
        manifest: manifest.clone(),
        endowment,
        content_type: String::new(),
    };
    // Not the keyspace's owner (no script: owner only).
    let e = s.refusal(&bob(), register(KEY, &m, needed));
    assert!(
        matches!(e, TxError::Keyspace(KeyspaceError::NotOwner { .. })),
        "{e:?}"
    );
    // An inconsistent manifest.
    let mut bad = m.clone();
    bad.shard_roots.pop();
    let e = s.refusal(&alice(), register(KEY, &bad, needed));
    assert_eq!(e.code(), codes::BAD_MANIFEST);
    let mut bad = m.clone();
    bad.shard_size_bytes += 2;
    let e = s.refusal(&alice(), register(KEY, &bad, needed));
    assert_eq!(e.code(), codes::BAD_MANIFEST);
    // Too small an endowment.
    let e = s.refusal(&alice(), register(KEY, &m, Amount(needed.0 - 1)));
    assert_eq!(
        store_error(e),
        StorageError::EndowmentTooLow {
            endowment: Amount(needed.0 - 1),
            needed
        }
    );
    // More shards than storers with room.
    let wide = manifest(10_000, 2, 4);
    let needed_wide = s.chain.blob_endowment_min(&wide).unwrap();
    let e = s.refusal(&alice(), register(KEY, &wide, needed_wide));
    assert_eq!(
        store_error(e),
        StorageError::NotEnoughStorers {
            needed: 4,
            eligible: 3
        }
    );
    // A shard larger than any storer's room.
    let huge = manifest(4 * CAPACITY, 2, 3);
    let needed_huge = s.chain.blob_endowment_min(&huge).unwrap();
    let e = s.refusal(&alice(), register(KEY, &huge, needed_huge));
    assert_eq!(
        store_error(e),
        StorageError::NotEnoughStorers {
            needed: 3,
            eligible: 0
        }
    );
    // An endowment the sender does not have.
    let e = s.refusal(&alice(), register(KEY, &m, Amount(u128::MAX / 4)));
    assert!(
        matches!(
            e,
            TxError::Account(AccountError::InsufficientBalance { .. })
        ),
        "{e:?}"
    );
    // A key of no registered keyspace, or not a key.
    let e = s.refusal(&alice(), register("nobody/file", &m, needed));
    assert_eq!(e.code(), codes::UNKNOWN_KEYSPACE);
    let e = s.refusal(&alice(), register("no keyspace", &m, needed));
    assert!(
        matches!(e, TxError::Stateless(StatelessError::InvalidKey(_))),
        "{e:?}"
    );
    // Capacity: only a storer, and at most 1 PiB.
    let e = s.refusal(
        &bob(),
        TxPayload::DeclareCapacity {
            capacity_bytes: 1024,
            peer: "12D3KooWStorer".into(),
        },
    );
    assert_eq!(
        store_error(e),
        StorageError::NotStorer {
            account: bob().account()
        }
    );
    let storer = s.storers[0].clone();
    let e = s.refusal(
        &storer,
        TxPayload::DeclareCapacity {
            capacity_bytes: (1 << 50) + 1,
            peer: "12D3KooWStorer".into(),
        },
    );
    assert_eq!(e.code(), codes::CAPACITY_TOO_LARGE);
    // None of it changed anything: the valid registration still goes through.
    let id = s.submit(&alice(), register(KEY, &m, needed));
    s.seal();
    assert_eq!(s.blob(&id).status, BlobStatus::Placing);
}

#[test]
fn a_blob_in_a_keyspace_on_a_data_chain_is_refused_on_the_root() {
    let mut s = Store::new(params(), &[STAKE; 3]);
    let price = s.chain.params().depth(1).unwrap().storage_price_per_byte;
    s.submit(
        &alice(),
        TxPayload::BuyKeyspace {
            name: "deep".into(),
            owner: alice().account(),
            quota_bytes: 4096,
            prepaid: Amount(price.0 * 4096),
            script: None,
            depth: 1,
        },
    );
    let m = manifest(10_000, 2, 3);
    let needed = s.chain.blob_endowment_min(&m).unwrap();
    let time_ms = s.chain.tip().time_ms + 1_000;
    s.chain
        .produce_block(SecretKey::dev("dave").account(), time_ms, true, u64::MAX)
        .unwrap();
    let e = s.refusal(
        &alice(),
        TxPayload::RegisterBlob {
            key: "deep/file".into(),
            manifest: m,
            endowment: needed,
            content_type: String::new(),
        },
    );
    assert_eq!(e.code(), codes::KEY_ON_OTHER_CHAIN);
}

#[test]
fn at_most_a_block_s_worth_of_shards_is_drawn_per_block_and_the_rest_waits_its_turn() {
    // Three blobs of 30 shards are due in the same block: two fit in its 64 draws, the third
    // is drawn in the next block, in registration order.
    assert_eq!(bitverse_blocktree::PLACEMENTS_PER_BLOCK_MAX, 64);
    let mut s = Store::new(params(), &[STAKE; 31]);
    let m = manifest(100_000, 10, 30);
    let needed = s.chain.blob_endowment_min(&m).unwrap();
    let ids: Vec<Hash> = (0..3)
        .map(|i| s.register(&format!("files/{i}"), &m, needed))
        .collect();
    s.seal();
    s.seal_until(s.height() + PLACEMENT_DELAY_BLOCKS);
    let drawn = |s: &Store, id: &Hash| s.blob(id).shards.iter().all(|sh| sh.storer.is_some());
    assert!(drawn(&s, &ids[0]));
    assert!(drawn(&s, &ids[1]));
    assert!(s.blob(&ids[2]).shards.iter().all(|sh| sh.storer.is_none()));
    s.seal();
    assert!(drawn(&s, &ids[2]));
    assert_eq!(s.blob(&ids[2]).shards[0].placed_height, s.height());
}

#[test]
fn at_most_a_block_s_worth_of_payments_is_made_per_block_and_the_rest_waits_its_turn() {
    // 64 blobs placed in one block and a 65th placed one period later fall due together two
    // periods after the first: 64 are paid in that block, the last in the next.
    assert_eq!(bitverse_blocktree::blob::PAYMENTS_PER_BLOCK_MAX, 64);
    let mut s = Store::new(params(), &[STAKE; 2]);
    let period = s.chain.params().storage.period_blocks;
    let m = manifest(2_000, 1, 1);
    let mut ids: Vec<Hash> = (0..64)
        .map(|i| s.register(&format!("files/{i}"), &m, Amount(1_000_000)))
        .collect();
    s.seal();
    s.seal_until(s.height() + PLACEMENT_DELAY_BLOCKS);
    let placed = s.height();
    let confirm_all = |s: &mut Store, ids: &[Hash]| {
        let mut by_storer: Vec<(SecretKey, Vec<ShardReceipt>)> = Vec::new();
        for id in ids {
            let blob = s.blob(id);
            if blob.shards[0].confirmed_height.is_some() {
                continue;
            }
            let storer = s.key_of(&blob.shards[0].storer.unwrap()).clone();
            let receipt = ShardReceipt {
                blob: *id,
                shard: 0,
            };
            match by_storer
                .iter_mut()
                .find(|(k, _)| k.account() == storer.account())
            {
                Some((_, receipts)) => receipts.push(receipt),
                None => by_storer.push((storer, vec![receipt])),
            }
        }
        for (storer, receipts) in by_storer {
            s.submit(&storer, TxPayload::ConfirmShards { receipts });
        }
        s.seal();
    };
    // The 65th goes in the block after the first draw (with the receipts): drawn a period
    // after the first 64.
    assert_eq!(period, 1 + PLACEMENT_DELAY_BLOCKS);
    let late = s.register("files/late", &m, Amount(1_000_000));
    confirm_all(&mut s, &ids);
    ids.push(late);
    s.seal_until(placed + period);
    assert_eq!(s.blob(&ids[64]).shards[0].placed_height, placed + period);
    confirm_all(&mut s, &ids);
    let periods = |s: &Store| -> u64 { ids.iter().map(|id| s.blob(id).periods_elapsed).sum() };
    s.seal_until(placed + 2 * period - 1);
    assert_eq!(periods(&s), 64);
    s.seal();
    // 64 paid here: the 65th (queued at its draw) and 63 of the first.
    assert_eq!(periods(&s), 64 + 64);
    s.seal();
    assert_eq!(periods(&s), 64 + 65);
}

/// One step of a random run: register a blob, have every drawn storer of a blob confirm, or let
/// blocks go by.
#[derive(Clone, Debug)]
enum Step {
    Register { n: u8, periods: u8 },
    ConfirmAll { blob: usize },
    Seal { blocks: u8 },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (1u8..=4, 0u8..4).prop_map(|(n, periods)| Step::Register { n, periods }),
        (0usize..8).prop_map(|blob| Step::ConfirmAll { blob }),
        (1u8..=6).prop_map(|blocks| Step::Seal { blocks }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Money is conserved in every root block of any run of registrations, receipts, draws,
    /// redraws, failures, payments and expiries, and of audits: the roots here are made up,
    /// so every audit fails, slashes its storer and marks its shard for repair, and a later
    /// ConfirmAll pays repair fees (`Store::seal` checks it after every block); and the escrow
    /// total is what the live blobs hold.
    #[test]
    fn any_run_of_blobs_conserves_money_in_every_block(
        steps in proptest::collection::vec(step(), 1..16)
    ) {
        let mut params = params();
        params.storage.audit_deadline_blocks = 3;
        let mut s = Store::new(params, &[STAKE; 6]);
        let mut ids: Vec<Hash> = Vec::new();
        for step in steps {
            match step {
                Step::Register { n, periods } => {
                    let m = manifest(1 << 20, 1, n);
                    let storage = s.chain.params().storage;
                    let charge = shard_period_charge(m.shard_size_bytes, 0, &storage).unwrap().0;
                    let endowment = s.chain.blob_endowment_min(&m).unwrap().0
                        + u128::from(periods) * u128::from(n) * charge
                        + u128::from(periods);
                    let key = format!("files/{}", ids.len());
                    ids.push(s.register(&key, &m, Amount(endowment)));
                    s.seal();
                }
                Step::ConfirmAll { blob } => {
                    let Some(id) = ids.get(blob).copied() else { continue };
                    let found = s.blob(&id);
                    if !found.status.is_live() {
                        continue;
                    }
                    let next = s.height() + 1;
                    for (index, shard) in found.shards.iter().enumerate() {
                        let (Some(storer), None) = (shard.storer, shard.confirmed_height) else {
                            continue;
                        };
                        if shard.deadline_height <= next {
                            continue;
                        }
                        let key = s.key_of(&storer).clone();
                        s.submit(
                            &key,
                            TxPayload::ConfirmShards {
                                receipts: vec![ShardReceipt { blob: id, shard: index as u8 }],
                            },
                        );
                    }
                    s.seal();
                }
                Step::Seal { blocks } => {
                    for _ in 0..blocks {
                        s.seal();
                    }
                }
            }
        }
        let height = s.height();
        let live: u128 = ids
            .iter()
            .map(|id| s.chain.blob_at(id, height).unwrap().unwrap())
            .filter(|b| b.status.is_live())
            .map(|b| b.endowment.0)
            .sum();
        proptest::prop_assert_eq!(s.chain.blob_totals_at(height).unwrap().escrowed.0, live);
    }
}

fn codes_of(e: TxError) -> i32 {
    e.code()
}

#[test]
fn an_honest_storer_proves_its_audit_and_records_a_success() {
    let mut s = Store::new(audit_params(), &[STAKE; 5]);
    let d = data(100_000, 2, 3, 1);
    let id = s.store(KEY, &d);
    assert_eq!(s.chain.audit_totals_at(s.height()).unwrap().shards, 3);
    let (storer, audit) = s.next_audit_of(&id);
    // The audit asks for one whole chunk group of the shard (the last may be shorter),
    // issued at the tip and answered before its deadline.
    let size = d.manifest.shard_size_bytes;
    let group = audit.range.start / CHUNK_GROUP_BYTES;
    assert_eq!(audit.range.start % CHUNK_GROUP_BYTES, 0);
    assert_eq!(Some(audit.range.clone()), chunk_group_range(size, group));
    assert!(group < chunk_group_count(size));
    assert_eq!(audit.audit_height, s.height());
    assert_eq!(audit.deadline_height, s.height() + 6);
    assert_eq!(
        s.blob(&id).shards[usize::from(audit.shard)].storer,
        Some(storer)
    );
    let successes_before = s
        .chain
        .reliability_record_at(&storer, TaskKind::Store, s.height())
        .unwrap()
        .unwrap()
        .successes;
    let stake_before = s.storer_stake(&storer);
    let key = s.key_of(&storer).clone();
    let proof = d.answer(&audit);
    assert!(proof.proof.len() <= SHARD_PROOF_BYTES_MAX);
    s.prove(&key, vec![proof.clone()]);
    s.seal();
    let shard = s.blob(&id).shards[usize::from(audit.shard)];
    assert_eq!(shard.last_audit_height, Some(s.height()));
    assert!(!shard.repair);
    assert!(
        s.chain
            .pending_audits_of_storer_at(&storer, s.height())
            .unwrap()
            .iter()
            .all(|a| a.blob != id || a.shard != audit.shard),
        "the audit is cleared"
    );
    let record = s
        .chain
        .reliability_record_at(&storer, TaskKind::Store, s.height())
        .unwrap()
        .unwrap();
    assert!(record.successes > successes_before, "a success recorded");
    assert_eq!(s.storer_stake(&storer), stake_before, "nothing slashed");
    let totals = s.chain.audit_totals_at(s.height()).unwrap();
    assert!(totals.passed >= 1);
    assert_eq!(totals.failed, 0);
    // Once answered, the same proof is refused: nothing is pending any more.
    let e = s.refusal(
        &key,
        TxPayload::ProveShards {
            proofs: vec![proof],
        },
    );
    assert_eq!(e.code(), codes::NO_PENDING_AUDIT);
    // The shard is not audited again within the audit window.
    let window = s.chain.params().storage.audit_deadline_blocks;
    let passed_at = s.height();
    while s.height() < passed_at + window - 1 {
        s.seal_answering(&id, &d, None);
        assert!(
            s.pending_audits()
                .iter()
                .all(|(_, a)| a.blob != id || a.shard != audit.shard)
        );
    }
}

#[test]
fn a_storer_that_misses_its_audit_is_slashed_and_its_shard_repaired_onto_another_storer() {
    let mut s = Store::new(audit_params(), &[STAKE; 6]);
    let d = data(100_000, 2, 3, 2);
    let id = s.store(KEY, &d);
    let (lost, audit) = s.next_audit_of(&id);
    let index = usize::from(audit.shard);
    let stake_before = s.storer_stake(&lost);
    let failures_before = s
        .chain
        .reliability_record_at(&lost, TaskKind::Store, s.height())
        .unwrap()
        .unwrap()
        .failures;
    // Every other pending audit is answered; this one is not.
    while s.height() < audit.deadline_height - 1 {
        s.seal_answering(&id, &d, Some(&audit));
    }
    assert_eq!(s.blob(&id).shards[index].storer, Some(lost));
    s.seal_answering(&id, &d, Some(&audit));
    // At the start of the deadline block: a failure, 5 % of the storer stake burnt, the
    // storer let go and the shard marked for repair, not counted as a redraw.
    let slashed = stake_before * 50_000 / 1_000_000;
    assert_eq!(s.storer_stake(&lost), stake_before - slashed);
    let totals = s.chain.audit_totals_at(s.height()).unwrap();
    assert_eq!(totals.failed, 1);
    assert_eq!(totals.slashed, Amount(slashed));
    assert_eq!(totals.shards, 2, "the shard left the audited shards");
    let record = s
        .chain
        .reliability_record_at(&lost, TaskKind::Store, s.height())
        .unwrap()
        .unwrap();
    assert_eq!(record.failures, failures_before + EVENT_WEIGHT);
    assert_eq!(s.chain.storer_at(&lost, s.height()).unwrap().shards, 0);
    let shard = s.blob(&id).shards[index];
    assert_eq!(shard.storer, None);
    assert!(shard.repair);
    assert_eq!(shard.redraws, 0);
    assert_eq!(shard.confirmed_height, None);
    // Still readable from the other two: the blob stays stored.
    assert_eq!(s.blob(&id).status, BlobStatus::Stored);
    assert!(s.pending_audits().iter().all(|(a, _)| *a != lost));
    // The next block draws another storer, never the one that lost the shard.
    s.seal_answering(&id, &d, None);
    let blob = s.blob(&id);
    let repairer = blob.shards[index].storer.expect("redrawn");
    assert_ne!(repairer, lost);
    assert!(blob.shards[index].repair, "the new storer must rebuild it");
    for (other, shard) in blob.shards.iter().enumerate() {
        if other != index {
            assert_ne!(shard.storer, Some(repairer));
        }
    }
    // It confirms: paid one period's charge from the endowment, the mark cleared.
    let charge = shard_period_charge(
        d.manifest.shard_size_bytes,
        blob.periods_elapsed,
        &s.chain.params().storage,
    )
    .unwrap();
    let balance_before = s.balance(&repairer);
    let endowment_before = blob.endowment;
    let paid_before = blob.paid;
    let key = s.key_of(&repairer).clone();
    s.submit(
        &key,
        TxPayload::ConfirmShards {
            receipts: vec![ShardReceipt {
                blob: id,
                shard: audit.shard,
            }],
        },
    );
    s.seal();
    let blob = s.blob(&id);
    // Its fee (3) paid, the repair fee earned (a period falling due in that block paid only
    // the other two, before the receipt).
    assert_eq!(s.balance(&repairer), balance_before - 3 + charge.0);
    let paid = blob.paid.0 - paid_before.0;
    assert!(paid == charge.0 || paid == 3 * charge.0, "{paid}");
    assert_eq!(blob.endowment.0, endowment_before.0 - paid);
    assert!(!blob.shards[index].repair);
    assert_eq!(blob.shards[index].confirmed_height, Some(s.height()));
    let totals = s.chain.audit_totals_at(s.height()).unwrap();
    assert_eq!(totals.repaired, 1);
    assert_eq!(totals.repair_fees, charge);
    assert_eq!(totals.shards, 3, "the repaired shard is audited again");
}

#[test]
fn every_bad_proof_is_refused_with_its_code() {
    let mut s = Store::new(audit_params(), &[STAKE; 5]);
    let d = data(100_000, 2, 3, 3);
    let id = s.store(KEY, &d);
    let (storer, audit) = s.next_audit_of(&id);
    let key = s.key_of(&storer).clone();
    let good = d.answer(&audit);
    let size = d.manifest.shard_size_bytes;
    assert!(chunk_group_count(size) >= 2);
    let with = |proof: Vec<u8>| ShardProof {
        proof,
        ..good.clone()
    };
    let one = |proof: ShardProof| TxPayload::ProveShards {
        proofs: vec![proof],
    };
    // Another segment of the same shard.
    let groups = chunk_group_count(size);
    let other_group = (audit.range.start / CHUNK_GROUP_BYTES + 1) % groups;
    let other_range = chunk_group_range(size, other_group).unwrap();
    let e = s.refusal(&key, one(with(d.prove(audit.shard, other_range.clone()))));
    assert_eq!(codes_of(e), codes::BAD_AUDIT_PROOF);
    // The same range of another shard.
    let other_shard = (audit.shard + 1) % 3;
    let e = s.refusal(&key, one(with(d.prove(other_shard, audit.range.clone()))));
    assert_eq!(codes_of(e), codes::BAD_AUDIT_PROOF);
    // A flipped byte, in the path or in the data.
    for at in [0, good.proof.len() / 2, good.proof.len() - 1] {
        let mut flipped = good.proof.clone();
        flipped[at] ^= 0x01;
        let e = s.refusal(&key, one(with(flipped)));
        assert_eq!(codes_of(e), codes::BAD_AUDIT_PROOF, "byte {at}");
    }
    // Cut short, or with a byte more.
    let e = s.refusal(&key, one(with(good.proof[..good.proof.len() - 1].to_vec())));
    assert_eq!(codes_of(e), codes::BAD_AUDIT_PROOF);
    let mut long = good.proof.clone();
    long.push(0);
    let e = s.refusal(&key, one(with(long)));
    assert_eq!(codes_of(e), codes::BAD_AUDIT_PROOF);
    // A valid proof sent by a storer the shard is not placed on: another holder, or one
    // holding nothing of the blob.
    let blob = s.blob(&id);
    let other_holder = s
        .key_of(&blob.shards[usize::from(other_shard)].storer.unwrap())
        .clone();
    let e = s.refusal(&other_holder, one(good.clone()));
    assert_eq!(codes_of(e), codes::NOT_ASSIGNED);
    let outsider = s
        .storers
        .iter()
        .find(|k| blob.shards.iter().all(|sh| sh.storer != Some(k.account())))
        .unwrap()
        .clone();
    let e = s.refusal(&outsider, one(good.clone()));
    assert_eq!(codes_of(e), codes::NOT_ASSIGNED);
    // Another audit height, a shard with no audit, a shard or blob that does not exist.
    let e = s.refusal(
        &key,
        one(ShardProof {
            audit_height: audit.audit_height - 1,
            ..good.clone()
        }),
    );
    assert_eq!(codes_of(e), codes::NO_PENDING_AUDIT);
    let e = s.refusal(
        &key,
        one(ShardProof {
            shard: 7,
            ..good.clone()
        }),
    );
    assert_eq!(codes_of(e), codes::NO_SUCH_SHARD);
    let e = s.refusal(
        &key,
        one(ShardProof {
            blob: Hash::digest(b"no blob"),
            ..good.clone()
        }),
    );
    assert_eq!(codes_of(e), codes::UNKNOWN_BLOB);
    // Bounds: no proof, more than a transaction carries, a proof longer than any.
    let e = s.refusal(&key, TxPayload::ProveShards { proofs: vec![] });
    assert_eq!(
        store_error(e),
        StorageError::ProofCount {
            count: 0,
            count_max: SHARD_PROOFS_PER_TX_MAX
        }
    );
    let e = s.refusal(
        &key,
        TxPayload::ProveShards {
            proofs: vec![with(vec![0; 64]); SHARD_PROOFS_PER_TX_MAX + 1],
        },
    );
    assert_eq!(codes_of(e), codes::PROOF_COUNT);
    let e = s.refusal(&key, one(with(vec![0; SHARD_PROOF_BYTES_MAX + 1])));
    assert_eq!(codes_of(e), codes::PROOF_TOO_LARGE);
    // The same answer twice in one transaction: the second finds nothing pending, and the
    // whole transaction is refused.
    let e = s.refusal(
        &key,
        TxPayload::ProveShards {
            proofs: vec![good.clone(), good.clone()],
        },
    );
    assert_eq!(codes_of(e), codes::NO_PENDING_AUDIT);
    // Nothing of it changed anything: the right proof passes.
    s.prove(&key, vec![good]);
    s.seal();
    let shard = s.blob(&id).shards[usize::from(audit.shard)];
    assert_eq!(shard.last_audit_height, Some(s.height()));
    assert_eq!(s.chain.audit_totals_at(s.height()).unwrap().failed, 0);
}

#[test]
fn a_proof_after_the_deadline_is_refused() {
    let mut s = Store::new(audit_params(), &[STAKE; 5]);
    let d = data(60_000, 2, 3, 4);
    let id = s.store(KEY, &d);
    let (storer, audit) = s.next_audit_of(&id);
    let key = s.key_of(&storer).clone();
    let proof = d.answer(&audit);
    // The tip is the block before the deadline: the next block starts by failing the audit
    // and letting the storer go, so a proof cannot go in any block from there on.
    while s.height() < audit.deadline_height - 1 {
        s.seal_answering(&id, &d, Some(&audit));
    }
    let e = s.refusal(
        &key,
        TxPayload::ProveShards {
            proofs: vec![proof.clone()],
        },
    );
    assert_eq!(codes_of(e), codes::NOT_ASSIGNED);
    s.seal_answering(&id, &d, Some(&audit));
    let e = s.refusal(
        &key,
        TxPayload::ProveShards {
            proofs: vec![proof],
        },
    );
    assert_eq!(codes_of(e), codes::NOT_ASSIGNED);
    assert_eq!(s.chain.audit_totals_at(s.height()).unwrap().failed, 1);
}

#[test]
fn a_block_issues_at_most_its_audit_budget_however_many_shards_are_confirmed() {
    assert_eq!(AUDITS_PER_BLOCK_MAX, 8);
    let mut s = Store::new(params(), &[STAKE; 12]);
    let m = manifest(100_000, 5, 10);
    let needed = s.chain.blob_endowment_min(&m).unwrap();
    let ids: Vec<Hash> = (0..6)
        .map(|i| s.register(&format!("files/{i}"), &m, Amount(needed.0 * 10)))
        .collect();
    s.seal();
    s.seal_until(s.height() + PLACEMENT_DELAY_BLOCKS);
    // Every shard confirmed in one block, each storer's receipts in one transaction.
    let mut by_storer: Vec<(AccountId, Vec<ShardReceipt>)> = Vec::new();
    for id in &ids {
        for (index, shard) in s.blob(id).shards.iter().enumerate() {
            let storer = shard.storer.unwrap();
            let receipt = ShardReceipt {
                blob: *id,
                shard: index as u8,
            };
            match by_storer.iter_mut().find(|(a, _)| *a == storer) {
                Some((_, receipts)) => receipts.push(receipt),
                None => by_storer.push((storer, vec![receipt])),
            }
        }
    }
    for (storer, receipts) in by_storer {
        let key = s.key_of(&storer).clone();
        s.submit(&key, TxPayload::ConfirmShards { receipts });
    }
    s.seal();
    assert_eq!(s.chain.audit_totals_at(s.height()).unwrap().shards, 60);
    let mut issued = s.chain.audit_totals_at(s.height()).unwrap().issued;
    let mut per_block = Vec::new();
    for _ in 0..10 {
        s.seal();
        let now = s.chain.audit_totals_at(s.height()).unwrap().issued;
        per_block.push(now - issued);
        issued = now;
    }
    assert!(
        per_block.iter().all(|n| *n <= AUDITS_PER_BLOCK_MAX as u64),
        "{per_block:?}"
    );
    // Until most shards have an audit pending, most draws find one without.
    assert!(per_block[0] >= 6, "{per_block:?}");
    assert!(issued >= 40, "{per_block:?}");
    let pending = s.pending_audits();
    assert_eq!(pending.len() as u64, issued);
    let distinct: std::collections::BTreeSet<(Hash, u8)> =
        pending.iter().map(|(_, a)| (a.blob, a.shard)).collect();
    assert_eq!(distinct.len(), pending.len(), "never two audits of a shard");
}

#[test]
fn an_expired_blob_s_shards_leave_the_audits_and_their_storers_owe_nothing() {
    let mut s = Store::new(audit_params(), &[STAKE; 4]);
    let d = data(50_000, 1, 2, 5);
    let storage = s.chain.params().storage;
    let charge = shard_period_charge(d.manifest.shard_size_bytes, 0, &storage)
        .unwrap()
        .0;
    // One period and a little: the blob expires at its second payment.
    let endowment = s.chain.blob_endowment_min(&d.manifest).unwrap().0 + charge;
    let id = s.register(KEY, &d.manifest, Amount(endowment));
    s.seal();
    s.seal_until(s.height() + PLACEMENT_DELAY_BLOCKS);
    s.confirm_all_but(&id, &[]);
    for _ in 0..50 {
        if !s.blob(&id).status.is_live() {
            break;
        }
        s.seal();
    }
    assert!(matches!(s.blob(&id).status, BlobStatus::Expired { .. }));
    let totals = s.chain.audit_totals_at(s.height()).unwrap();
    assert_eq!(totals.shards, 0);
    assert!(s.pending_audits().is_empty());
    let failed = totals.failed;
    s.seal_until(s.height() + 10);
    assert_eq!(s.chain.audit_totals_at(s.height()).unwrap().failed, failed);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// For any chunk group of any shard, the proof `prove_range` makes verifies against the
    /// shard's root as exactly that range, as the chain checks it, and a change of any one
    /// byte of it does not.
    #[test]
    fn a_proof_of_any_segment_verifies_and_any_changed_byte_fails(
        size in 1usize..200_000,
        seed in proptest::prelude::any::<u8>(),
        group in proptest::prelude::any::<proptest::sample::Index>(),
        at in proptest::prelude::any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        let d = data(size, 1, 2, seed);
        let shard_size = d.manifest.shard_size_bytes;
        let group = group.index(chunk_group_count(shard_size) as usize) as u64;
        let range = chunk_group_range(shard_size, group).unwrap();
        let root = d.manifest.shard_roots[1];
        let proof = d.prove(1, range.clone());
        proptest::prop_assert!(proof.len() <= SHARD_PROOF_BYTES_MAX);
        let verified = verify_range(root, shard_size, range.clone(), proof.as_slice(), |_, _| {});
        proptest::prop_assert_eq!(verified.unwrap(), range.end - range.start);
        let mut changed = proof.clone();
        changed[at.index(proof.len())] ^= 1 << bit;
        let verified = verify_range(root, shard_size, range, changed.as_slice(), |_, _| {});
        proptest::prop_assert!(verified.is_err());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]

    /// On the chain: whichever segment of whichever shard of a random blob the root audits,
    /// its storer's proof passes, and the same proof with one byte changed is refused.
    #[test]
    fn the_chain_takes_a_true_proof_of_an_audit_and_refuses_a_changed_byte(
        size in 1usize..300_000,
        k in 1u8..=3,
        extra in 0u8..=2,
        seed in proptest::prelude::any::<u8>(),
        at in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let n = k + extra;
        let mut s = Store::new(audit_params(), &[STAKE; 6]);
        let d = data(size, k, n, seed);
        let id = s.store(KEY, &d);
        let (storer, audit) = s.next_audit_of(&id);
        let key = s.key_of(&storer).clone();
        let good = d.answer(&audit);
        let mut bad = good.clone();
        let at = at.index(bad.proof.len());
        bad.proof[at] ^= 0x80;
        let e = s.refusal(&key, TxPayload::ProveShards { proofs: vec![bad] });
        proptest::prop_assert_eq!(e.code(), codes::BAD_AUDIT_PROOF);
        s.prove(&key, vec![good]);
        s.seal();
        let shard = s.blob(&id).shards[usize::from(audit.shard)];
        proptest::prop_assert_eq!(shard.last_audit_height, Some(s.height()));
    }
}

/// The key of alice's challenge `index` of shard `shard` of `d`, as her wallet derives it while
/// it has the file, and its nonce.
fn challenge_of(d: &Data, shard: u8, index: u32) -> (Hash, SecretKey) {
    // The content hash serves as the schedule's salt here.
    let nonce = challenge_nonce(&alice().to_bytes(), &d.manifest.content_hash, shard, index);
    let mut keyer = ChallengeKeyer::new(&[nonce]);
    keyer.update(&d.shards[usize::from(shard)]);
    (nonce, keyer.finish().remove(0))
}

/// alice's PostChallenge of shard `shard` of blob `id`.
fn post(id: &Hash, shard: u8, nonce: Hash, key: &SecretKey, amount: u128) -> TxPayload {
    TxPayload::PostChallenge {
        blob: *id,
        shard,
        nonce,
        key: key.account(),
        amount: Amount(amount),
    }
}

/// A claim of the challenge with `nonce` on shard `shard` of `id`, signed by `key` for
/// `claimer`.
fn claim(id: &Hash, shard: u8, nonce: &Hash, key: &SecretKey, claimer: &AccountId) -> TxPayload {
    TxPayload::ClaimChallenge {
        blob: *id,
        shard,
        signature: key.sign(&claim_message(id, shard, nonce, claimer)),
    }
}

#[test]
fn an_honest_storer_claims_its_challenge_and_a_reader_holding_the_shard_cannot() {
    let mut s = Store::new(audit_params(), &[STAKE; 6]);
    let d = data(100_000, 2, 3, 4);
    let id = s.store(KEY, &d);
    let storer = s.blob(&id).shards[0].storer.unwrap();
    let storer_key = s.key_of(&storer).clone();
    let (nonce, key) = challenge_of(&d, 0, 0);
    let alice_before = s.balance(&alice().account());
    s.submit(&alice(), post(&id, 0, nonce, &key, 50_000));
    s.seal_answering(&id, &d, None);
    assert_eq!(s.balance(&alice().account()), alice_before - 50_000 - 3);
    let open = s
        .chain
        .challenges_of_storer_at(&storer, s.height())
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].blob, open[0].shard, open[0].nonce), (id, 0, nonce));
    let totals = s.chain.challenge_totals_at(s.height()).unwrap();
    assert_eq!((totals.open, totals.escrowed), (1, Amount(50_000)));

    // The storer can derive the key from the shard it holds, as its node does.
    let derived = challenge_secret(&nonce, d.shards[0].as_slice()).unwrap();
    assert_eq!(derived.account(), key.account());
    // bob fetched the shard and derives the key too, but is not its storer.
    let e = s.refusal(&bob(), claim(&id, 0, &nonce, &derived, &bob().account()));
    assert_eq!(e.code(), codes::NOT_ASSIGNED, "{e}");
    // Nor is another storer.
    let other = s
        .storers
        .iter()
        .find(|k| k.account() != storer)
        .unwrap()
        .clone();
    let e = s.refusal(&other, claim(&id, 0, &nonce, &derived, &other.account()));
    assert_eq!(e.code(), codes::NOT_ASSIGNED, "{e}");
    // The storer cannot use a signature made for someone else, nor a key from other bytes.
    let e = s.refusal(
        &storer_key,
        claim(&id, 0, &nonce, &derived, &bob().account()),
    );
    assert_eq!(e.code(), codes::BAD_CHALLENGE_CLAIM, "{e}");
    let wrong = challenge_secret(&nonce, d.shards[1].as_slice()).unwrap();
    let e = s.refusal(&storer_key, claim(&id, 0, &nonce, &wrong, &storer));
    assert_eq!(e.code(), codes::BAD_CHALLENGE_CLAIM, "{e}");
    let mut cut = d.shards[0].clone();
    cut.pop();
    let short = challenge_secret(&nonce, cut.as_slice()).unwrap();
    let e = s.refusal(&storer_key, claim(&id, 0, &nonce, &short, &storer));
    assert_eq!(e.code(), codes::BAD_CHALLENGE_CLAIM, "{e}");

    // The honest claim: paid, a success on its record.
    let balance_before = s.balance(&storer);
    let successes_before = s
        .chain
        .reliability_record_at(&storer, TaskKind::Store, s.height())
        .unwrap()
        .unwrap()
        .successes;
    let paid_before = s.blob(&id).paid.0;
    s.submit(&storer_key, claim(&id, 0, &nonce, &derived, &storer));
    // No audit answered in this block, so the storer's only other income is its period's
    // pay, if one fell due: a third of what the blob paid its three storers.
    s.seal();
    let period_pay = (s.blob(&id).paid.0 - paid_before) / 3;
    assert_eq!(s.balance(&storer), balance_before + 50_000 - 3 + period_pay);
    let record = s
        .chain
        .reliability_record_at(&storer, TaskKind::Store, s.height())
        .unwrap()
        .unwrap();
    assert!(record.successes > successes_before);
    let totals = s.chain.challenge_totals_at(s.height()).unwrap();
    assert_eq!(
        (
            totals.open,
            totals.escrowed,
            totals.claimed,
            totals.unclaimed
        ),
        (0, Amount::ZERO, 1, 0)
    );
    assert!(
        s.chain
            .challenges_of_storer_at(&storer, s.height())
            .unwrap()
            .is_empty()
    );
    // Claimed once only.
    let e = s.refusal(&storer_key, claim(&id, 0, &nonce, &derived, &storer));
    assert_eq!(e.code(), codes::NO_OPEN_CHALLENGE, "{e}");
    // The shard can be challenged again, with the schedule's next nonce.
    let (next, next_key) = challenge_of(&d, 0, 1);
    assert_ne!(next, nonce);
    s.submit(&alice(), post(&id, 0, next, &next_key, 50_000));
    s.seal_answering(&id, &d, None);
}

#[test]
fn an_unclaimed_challenge_is_refunded_records_a_failure_and_the_shard_is_repaired_elsewhere() {
    let mut s = Store::new(audit_params(), &[STAKE; 6]);
    let d = data(100_000, 2, 3, 5);
    let id = s.store(KEY, &d);
    let lost = s.blob(&id).shards[1].storer.unwrap();
    let (nonce, key) = challenge_of(&d, 1, 0);
    let alice_before = s.balance(&alice().account());
    s.submit(&alice(), post(&id, 1, nonce, &key, 70_000));
    s.seal_answering(&id, &d, None);
    let deadline = s
        .chain
        .challenge_at(&id, 1, s.height())
        .unwrap()
        .unwrap()
        .deadline_height;
    let stake_before = s.storer_stake(&lost);
    let failures_before = s
        .chain
        .reliability_record_at(&lost, TaskKind::Store, s.height())
        .unwrap()
        .unwrap()
        .failures;
    // Its storer does not claim (as one that deleted the shard could not); its audits are
    // answered, so only the challenge fails.
    while s.height() < deadline - 1 {
        s.seal_answering(&id, &d, None);
        assert_eq!(s.blob(&id).shards[1].storer, Some(lost));
    }
    s.seal_answering(&id, &d, None);
    assert_eq!(s.height(), deadline);
    // Refunded (alice paid only her fee), a failure, no slash, the shard let go for repair.
    assert_eq!(s.balance(&alice().account()), alice_before - 3);
    let record = s
        .chain
        .reliability_record_at(&lost, TaskKind::Store, s.height())
        .unwrap()
        .unwrap();
    assert_eq!(record.failures, failures_before + EVENT_WEIGHT);
    assert_eq!(
        s.storer_stake(&lost),
        stake_before,
        "a challenge does not slash"
    );
    let shard = s.blob(&id).shards[1];
    assert_eq!(shard.storer, None);
    assert!(shard.repair);
    assert_eq!(s.chain.challenge_at(&id, 1, s.height()).unwrap(), None);
    let totals = s.chain.challenge_totals_at(s.height()).unwrap();
    assert_eq!(
        (
            totals.open,
            totals.escrowed,
            totals.claimed,
            totals.unclaimed
        ),
        (0, Amount::ZERO, 0, 1)
    );
    // The next block draws another storer.
    s.seal_answering(&id, &d, None);
    let repairer = s.blob(&id).shards[1].storer.expect("redrawn");
    assert_ne!(repairer, lost);
    // A claim after the deadline finds nothing.
    let lost_key = s.key_of(&lost).clone();
    let e = s.refusal(&lost_key, claim(&id, 1, &nonce, &key, &lost));
    assert!(
        [codes::NO_OPEN_CHALLENGE, codes::NOT_ASSIGNED].contains(&e.code()),
        "{e}"
    );
}

#[test]
fn every_refused_challenge_is_named_with_its_code() {
    let mut s = Store::new(audit_params(), &[STAKE; 6]);
    let d = data(100_000, 2, 3, 6);
    let id = s.store(KEY, &d);
    let (nonce, key) = challenge_of(&d, 2, 0);
    let amount_min = CHALLENGE_AMOUNT_MIN.0;
    let e = s.refusal(&alice(), post(&id, 2, nonce, &key, amount_min - 1));
    assert_eq!(e.code(), codes::CHALLENGE_TOO_SMALL, "{e}");
    let e = s.refusal(&bob(), post(&id, 2, nonce, &key, amount_min));
    assert_eq!(e.code(), codes::NOT_PUBLISHER, "{e}");
    let e = s.refusal(
        &alice(),
        post(&Hash::digest(b"none"), 2, nonce, &key, amount_min),
    );
    assert_eq!(e.code(), codes::UNKNOWN_BLOB, "{e}");
    let e = s.refusal(&alice(), post(&id, 3, nonce, &key, amount_min));
    assert_eq!(e.code(), codes::NO_SUCH_SHARD, "{e}");
    // A blob whose shards are drawn but not confirmed.
    let placing = s.register(
        "files/other",
        &manifest(100_000, 2, 3),
        Amount(10_000_000_000),
    );
    s.seal_answering(&id, &d, None);
    let e = s.refusal(&alice(), post(&placing, 0, nonce, &key, amount_min));
    assert_eq!(e.code(), codes::SHARD_NOT_HELD, "{e}");
    // One open challenge a shard.
    s.submit(&alice(), post(&id, 2, nonce, &key, amount_min));
    s.seal_answering(&id, &d, None);
    let (again, again_key) = challenge_of(&d, 2, 1);
    let e = s.refusal(&alice(), post(&id, 2, again, &again_key, amount_min));
    assert_eq!(e.code(), codes::CHALLENGE_OPEN, "{e}");
    // A claim of a shard nobody challenged.
    let storer = s.blob(&id).shards[0].storer.unwrap();
    let storer_key = s.key_of(&storer).clone();
    let e = s.refusal(&storer_key, claim(&id, 0, &nonce, &key, &storer));
    assert_eq!(e.code(), codes::NO_OPEN_CHALLENGE, "{e}");
}

impl Store {
    /// What `account` has unbonding as a storer, if anything.
    fn unbonding_of(&self, account: &AccountId) -> Option<u128> {
        let stake = self.chain.stake_at(account, self.height()).unwrap();
        let amount: u128 = stake
            .unbonding
            .iter()
            .filter(|e| e.role == TaskKind::Store)
            .map(|e| e.amount.0)
            .sum();
        (amount > 0).then_some(amount)
    }

    /// [`Store::seal_answering`] for several blobs at once.
    fn seal_answering_all(&mut self, blobs: &[(Hash, &Data)]) {
        let mut by_storer: Vec<(AccountId, Vec<ShardProof>)> = Vec::new();
        for (storer, audit) in self.pending_audits() {
            let Some((_, d)) = blobs.iter().find(|(id, _)| *id == audit.blob) else {
                continue;
            };
            let proof = d.answer(&audit);
            match by_storer.iter_mut().find(|(a, _)| *a == storer) {
                Some((_, proofs)) => proofs.push(proof),
                None => by_storer.push((storer, vec![proof])),
            }
        }
        for (storer, proofs) in by_storer {
            let key = self.key_of(&storer).clone();
            for chunk in proofs.chunks(SHARD_PROOFS_PER_TX_MAX) {
                self.prove(&key, chunk.to_vec());
            }
        }
        self.seal();
    }
}

#[test]
fn a_leaving_storer_has_its_shards_re_placed_and_then_its_stake_unbonds() {
    let mut s = Store::new(audit_params(), &[STAKE; 5]);
    let a = data(100_000, 2, 3, 9);
    let b = data(100_000, 2, 3, 10);
    let id_a = s.store("files/a", &a);
    let id_b = s.store("files/b", &b);
    let blobs = [(id_a, &a), (id_b, &b)];
    let leaver = s
        .storers
        .iter()
        .map(SecretKey::account)
        .max_by_key(|account| s.chain.storer_at(account, s.height()).unwrap().shards)
        .unwrap();
    let held = s.chain.storer_at(&leaver, s.height()).unwrap().shards;
    assert!(held >= 1);
    let leaver_key = s.key_of(&leaver).clone();
    let unstake = |amount: u128| TxPayload::Unstake {
        amount: Amount(amount),
        role: TaskKind::Store,
    };
    // Part of the stake: refused, the stake backs every shard.
    let e = s.refusal(&leaver_key, unstake(STAKE / 2));
    assert_eq!(e.code(), codes::STORER_HOLDS_SHARDS, "{e}");
    // All of it: it leaves; the stake stays until its shards are re-placed.
    s.submit(&leaver_key, unstake(STAKE));
    s.seal_answering_all(&blobs);
    let record = s.chain.storer_at(&leaver, s.height()).unwrap();
    assert_eq!(record.leaving, Some(Amount(STAKE)));
    assert_eq!(
        record.room_bytes(),
        0,
        "a leaving storer takes no new shard"
    );
    let e = s.refusal(&leaver_key, unstake(STAKE));
    assert_eq!(e.code(), codes::STORER_LEAVING, "{e}");
    // Its shards are let go a few a block (each waiting for its pending audit), drawn again
    // onto others, and confirmed by them as repairs as soon as they are drawn.
    let mut confirmed_repairs = 0;
    let mut unbonded: Option<u128> = None;
    for _ in 0..40 {
        for id in [id_a, id_b] {
            for (index, shard) in s.blob(&id).shards.iter().enumerate() {
                if let (Some(storer), None) = (shard.storer, shard.confirmed_height) {
                    assert_ne!(storer, leaver, "never drawn onto the leaving storer");
                    let key = s.key_of(&storer).clone();
                    s.submit(
                        &key,
                        TxPayload::ConfirmShards {
                            receipts: vec![ShardReceipt {
                                blob: id,
                                shard: index as u8,
                            }],
                        },
                    );
                    confirmed_repairs += 1;
                }
            }
        }
        let done = s.chain.storer_at(&leaver, s.height()).unwrap().shards == 0;
        if done && confirmed_repairs == held {
            break;
        }
        if !done {
            assert_eq!(
                s.storer_stake(&leaver),
                STAKE,
                "locked while it holds shards"
            );
        }
        s.seal_answering_all(&blobs);
        unbonded = unbonded.or_else(|| s.unbonding_of(&leaver));
    }
    s.seal_answering_all(&blobs);
    unbonded = unbonded.or_else(|| s.unbonding_of(&leaver));
    assert_eq!(s.chain.storer_at(&leaver, s.height()).unwrap().shards, 0);
    for id in [id_a, id_b] {
        let blob = s.blob(&id);
        assert_eq!(blob.status, BlobStatus::Stored);
        assert!(
            blob.shards
                .iter()
                .all(|shard| shard.confirmed_height.is_some() && shard.storer != Some(leaver))
        );
    }
    // Its last shard gone, its whole storer stake unbonds as an Unstake's would: seen in the
    // block after, before the unbonding delay returns it.
    let record = s.chain.storer_at(&leaver, s.height()).unwrap();
    assert_eq!(record.leaving, None);
    assert_eq!(s.storer_stake(&leaver), 0);
    assert_eq!(unbonded, Some(STAKE), "the whole stake unbonded at once");
    let totals = s.chain.audit_totals_at(s.height()).unwrap();
    assert_eq!(
        totals.repaired,
        u64::from(held),
        "each shard it held was repaired"
    );
}
