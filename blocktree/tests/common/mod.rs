//! What the blocktree's integration tests (and its benches) share: alice's dev key, signing a
//! transaction for any chain with the signer's next nonce there, and buying a keyspace.
// Each test binary uses its own part.
#![allow(dead_code)]

use bitverse_blocktree::{Blocktree, Chain, Transaction, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, SecretKey};

/// The dev account every test writes from.
pub(crate) fn alice() -> SecretKey {
    SecretKey::dev("alice")
}

/// Signs `payload` from alice for `chain` with her next nonce there (0 on a chain `tree` does
/// not have open, which it refuses anyway); the root's transactions pay a fee of 1, a data
/// chain's none.
pub(crate) fn signed(tree: &Blocktree, chain: ChainId, payload: TxPayload) -> Transaction {
    signed_by(tree, &alice(), chain, payload)
}

/// `payload` for the root `chain` (a bare [`Chain`], no tree) signed by `who` with its next
/// nonce there, paying a fee of 3 base units.
pub(crate) fn signed_on_root(chain: &Chain, who: &SecretKey, payload: TxPayload) -> Transaction {
    let nonce = chain.pending_nonce(&who.account()).unwrap();
    UnsignedTx {
        chain: ChainId::ROOT,
        sender: who.account(),
        nonce,
        fee: Amount(3),
        payload,
    }
    .sign(who)
}

/// [`signed`] by `key`.
pub(crate) fn signed_by(
    tree: &Blocktree,
    key: &SecretKey,
    chain: ChainId,
    payload: TxPayload,
) -> Transaction {
    let nonce = tree.chain(chain).map_or(0, |chain| {
        chain.lock().pending_nonce(&key.account()).unwrap()
    });
    let fee = if chain.is_root() {
        Amount(1)
    } else {
        Amount::ZERO
    };
    UnsignedTx {
        chain,
        sender: key.account(),
        nonce,
        fee,
        payload,
    }
    .sign(key)
}

/// Buys keyspace `name` at `depth` for alice, 4,096 bytes prepaid at the depth's price.
pub(crate) fn buy(tree: &Blocktree, name: &str, depth: u8) {
    let price = tree.params().depth(depth).unwrap().storage_price_per_byte;
    buy_with_prepaid(tree, name, depth, Amount(price.0 * 4096));
}

/// Buys keyspace `name` at `depth` for alice with `prepaid` paid into its chain's endowment
/// pool, and as much quota as that buys, up to 4,096 bytes.
pub(crate) fn buy_with_prepaid(tree: &Blocktree, name: &str, depth: u8, prepaid: Amount) {
    let price = tree.params().depth(depth).unwrap().storage_price_per_byte;
    let quota_bytes = (prepaid.0 / price.0).min(4096) as u64;
    let tx = signed(
        tree,
        ChainId::ROOT,
        TxPayload::BuyKeyspace {
            name: name.into(),
            owner: alice().account(),
            quota_bytes,
            prepaid,
            script: None,
            depth,
        },
    );
    tree.submit(tx).unwrap();
}
