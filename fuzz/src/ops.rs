//! The little language the `state_transition` target reads its input as: a sequence of
//! operations, each a tag byte and fixed-width little-endian arguments (a byte string is a
//! `u16` length and its bytes). Input that runs out reads as zeros, so every input is a valid
//! program; [`encode`] writes a program back, for the seed corpus.

/// Most operations one input runs: enough for a market's whole life and a reorg, few enough
/// that one run takes milliseconds.
pub const OPS_MAX: usize = 48;
/// Longest byte string an operation carries (a raw payload, a script).
pub const OP_BYTES_MAX: usize = 4096;

/// One step of a run. Indices pick from small fixed lists (keys, names, bounties posted so
/// far), modulo their length, so that most inputs mean something.
// The fields are each variant's arguments, as its documentation names them.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A transfer; a `to` past the keys pays an account nobody holds.
    Transfer { from: u8, to: u8, amount: u64 },
    /// A keyspace purchase at `depth % 4`, with script `script` (see `state::script`).
    Buy {
        from: u8,
        name: u8,
        depth: u8,
        quota: u16,
        prepaid: u64,
        script: u8,
    },
    /// A script change.
    SetScript { from: u8, name: u8, script: u8 },
    /// A put of `len` bytes of `fill` to key `key`, on the chain its keyspace lives on.
    Put {
        from: u8,
        key: u8,
        len: u8,
        fill: u8,
    },
    /// A delete.
    Delete { from: u8, key: u8 },
    /// A stake as relayer (`relay`) or offerer.
    Stake { from: u8, relay: bool, amount: u64 },
    /// An unstake.
    Unstake { from: u8, relay: bool, amount: u64 },
    /// A bounty over the inputs of bitmask `inputs`; data-chain inputs bring their deep value,
    /// damaged where `tamper` says.
    Post {
        from: u8,
        offerer: u8,
        amount: u64,
        hops: u8,
        expiry: u8,
        pin_back: u8,
        transform: u8,
        inputs: u8,
        fuel: u32,
        tamper: u16,
    },
    /// A lineup proof for a posted bounty.
    Lineup { finder: u8, bounty: u8 },
    /// A settlement: `how` picks an honest chain, a short one, a lie or a reordered one.
    Settle { from: u8, bounty: u8, how: u8 },
    /// A dispute: `how` picks which envelopes conflict.
    Dispute { from: u8, bounty: u8, how: u8 },
    /// A miner's claim on a data chain's pool, its proof damaged at `tamper` if not 0.
    Claim {
        from: u8,
        chain: u8,
        miner: u8,
        tamper: u16,
    },
    /// Dev sealing of every chain, `ms` after the last block.
    Seal { miner: u8, ms: u16 },
    /// A merged mining round over every chain.
    Mine { miner: u8, ms: u16 },
    /// Any payload, as bytes, signed by `from` for the chain picked by `chain`.
    Raw { from: u8, chain: u8, bytes: Vec<u8> },
    /// A heavier root branch from `depth % 3 + 1` blocks back, mined empty by `miner`.
    Reorg { depth: u8, miner: u8 },
    /// The tree reopened from its store, as after a restart.
    Restart,
    /// A block of the run's history with the byte at `at` of its encoding xored with `xor`,
    /// imported into the tree and its replica, which must agree on it.
    Tamper { block: u8, at: u16, xor: u8 },
}

/// Reads `data` as a program of at most [`OPS_MAX`] operations.
pub fn decode(data: &[u8]) -> Vec<Op> {
    let mut r = Reader { data };
    let mut ops = Vec::new();
    while !r.data.is_empty() && ops.len() < OPS_MAX {
        let op = match r.u8() % 18 {
            0 => Op::Transfer {
                from: r.u8(),
                to: r.u8(),
                amount: r.u64(),
            },
            1 => Op::Buy {
                from: r.u8(),
                name: r.u8(),
                depth: r.u8(),
                quota: r.u16(),
                prepaid: r.u64(),
                script: r.u8(),
            },
            2 => Op::SetScript {
                from: r.u8(),
                name: r.u8(),
                script: r.u8(),
            },
            3 => Op::Put {
                from: r.u8(),
                key: r.u8(),
                len: r.u8(),
                fill: r.u8(),
            },
            4 => Op::Delete {
                from: r.u8(),
                key: r.u8(),
            },
            5 => Op::Stake {
                from: r.u8(),
                relay: r.u8() % 2 == 1,
                amount: r.u64(),
            },
            6 => Op::Unstake {
                from: r.u8(),
                relay: r.u8() % 2 == 1,
                amount: r.u64(),
            },
            7 => Op::Post {
                from: r.u8(),
                offerer: r.u8(),
                amount: r.u64(),
                hops: r.u8(),
                expiry: r.u8(),
                pin_back: r.u8(),
                transform: r.u8(),
                inputs: r.u8(),
                fuel: r.u32(),
                tamper: r.u16(),
            },
            8 => Op::Lineup {
                finder: r.u8(),
                bounty: r.u8(),
            },
            9 => Op::Settle {
                from: r.u8(),
                bounty: r.u8(),
                how: r.u8(),
            },
            10 => Op::Dispute {
                from: r.u8(),
                bounty: r.u8(),
                how: r.u8(),
            },
            11 => Op::Claim {
                from: r.u8(),
                chain: r.u8(),
                miner: r.u8(),
                tamper: r.u16(),
            },
            12 => Op::Seal {
                miner: r.u8(),
                ms: r.u16(),
            },
            13 => Op::Mine {
                miner: r.u8(),
                ms: r.u16(),
            },
            14 => Op::Raw {
                from: r.u8(),
                chain: r.u8(),
                bytes: r.bytes(),
            },
            15 => Op::Reorg {
                depth: r.u8(),
                miner: r.u8(),
            },
            16 => Op::Restart,
            _ => Op::Tamper {
                block: r.u8(),
                at: r.u16(),
                xor: r.u8(),
            },
        };
        ops.push(op);
    }
    ops
}

/// Writes `ops` so that [`decode`] reads them back.
pub fn encode(ops: &[Op]) -> Vec<u8> {
    let mut w = Vec::new();
    for op in ops {
        match op {
            Op::Transfer { from, to, amount } => {
                w.extend([0, *from, *to]);
                w.extend(amount.to_le_bytes());
            }
            Op::Buy {
                from,
                name,
                depth,
                quota,
                prepaid,
                script,
            } => {
                w.extend([1, *from, *name, *depth]);
                w.extend(quota.to_le_bytes());
                w.extend(prepaid.to_le_bytes());
                w.push(*script);
            }
            Op::SetScript { from, name, script } => w.extend([2, *from, *name, *script]),
            Op::Put {
                from,
                key,
                len,
                fill,
            } => w.extend([3, *from, *key, *len, *fill]),
            Op::Delete { from, key } => w.extend([4, *from, *key]),
            Op::Stake {
                from,
                relay,
                amount,
            }
            | Op::Unstake {
                from,
                relay,
                amount,
            } => {
                let tag = if matches!(op, Op::Stake { .. }) { 5 } else { 6 };
                w.extend([tag, *from, u8::from(*relay)]);
                w.extend(amount.to_le_bytes());
            }
            Op::Post {
                from,
                offerer,
                amount,
                hops,
                expiry,
                pin_back,
                transform,
                inputs,
                fuel,
                tamper,
            } => {
                w.extend([7, *from, *offerer]);
                w.extend(amount.to_le_bytes());
                w.extend([*hops, *expiry, *pin_back, *transform, *inputs]);
                w.extend(fuel.to_le_bytes());
                w.extend(tamper.to_le_bytes());
            }
            Op::Lineup { finder, bounty } => w.extend([8, *finder, *bounty]),
            Op::Settle { from, bounty, how } => w.extend([9, *from, *bounty, *how]),
            Op::Dispute { from, bounty, how } => w.extend([10, *from, *bounty, *how]),
            Op::Claim {
                from,
                chain,
                miner,
                tamper,
            } => {
                w.extend([11, *from, *chain, *miner]);
                w.extend(tamper.to_le_bytes());
            }
            Op::Seal { miner, ms } | Op::Mine { miner, ms } => {
                let tag = if matches!(op, Op::Seal { .. }) {
                    12
                } else {
                    13
                };
                w.extend([tag, *miner]);
                w.extend(ms.to_le_bytes());
            }
            Op::Raw { from, chain, bytes } => {
                let bytes = bytes.get(..OP_BYTES_MAX).unwrap_or(bytes);
                w.extend([14, *from, *chain]);
                w.extend(u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes());
                w.extend(bytes);
            }
            Op::Reorg { depth, miner } => w.extend([15, *depth, *miner]),
            Op::Restart => w.push(16),
            Op::Tamper { block, at, xor } => {
                w.extend([17, *block]);
                w.extend(at.to_le_bytes());
                w.push(*xor);
            }
        }
    }
    w
}

struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        out[..n].copy_from_slice(head);
        self.data = rest;
        out
    }

    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = usize::from(self.u16())
            .min(OP_BYTES_MAX)
            .min(self.data.len());
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        head.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_round_trip() {
        let ops = vec![
            Op::Transfer {
                from: 1,
                to: 2,
                amount: 3,
            },
            Op::Raw {
                from: 0,
                chain: 1,
                bytes: vec![1, 2, 3],
            },
            Op::Post {
                from: 0,
                offerer: 1,
                amount: 9,
                hops: 2,
                expiry: 3,
                pin_back: 0,
                transform: 0,
                inputs: 3,
                fuel: 77,
                tamper: 0,
            },
            Op::Restart,
            Op::Tamper {
                block: 1,
                at: 300,
                xor: 4,
            },
        ];
        assert_eq!(decode(&encode(&ops)), ops);
    }
}
