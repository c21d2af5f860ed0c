//! The virtual network: a gossip mesh of links, each with its own latency, and the faults a
//! message meets on its way (loss, duplication, jitter that reorders, partitions).
//!
//! Links are kept in sorted vectors and ordered maps only, so which peer is visited first
//! never depends on a hash map's order.

use std::collections::BTreeMap;

use crate::config::NetConfig;
use crate::rng::SimRng;

/// A node's index in the run.
pub type NodeId = usize;

/// Most mesh peers a node takes while the mesh is built (gossipsub's D_high).
pub(crate) const MESH_DEGREE_HIGH: usize = 12;

/// The mesh and the links' latencies, with the current partition.
pub(crate) struct Network {
    config: NetConfig,
    /// Each node's mesh peers, ascending.
    peers: Vec<Vec<NodeId>>,
    /// One-way latency of each link, keyed by (lower id, higher id).
    latency_ms: BTreeMap<(NodeId, NodeId), u64>,
    /// While partitioned, each node's side; empty when whole.
    sides: Vec<bool>,
}

/// What becomes of one message sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Lost on the way (or across a partition).
    Lost,
    /// Arrives after these delays: one, or two for a duplicate.
    After(Vec<u64>),
}

impl Network {
    /// A mesh over `nodes` nodes where each takes at least `mesh_degree` peers (when that many
    /// exist) among those with fewer than [`MESH_DEGREE_HIGH`], links symmetric, latencies
    /// drawn per link.
    pub(crate) fn build(config: &NetConfig, nodes: usize, rng: &mut SimRng) -> Network {
        let mut peers: Vec<Vec<NodeId>> = vec![Vec::new(); nodes];
        let want = config.mesh_degree.min(nodes.saturating_sub(1));
        for node in 0..nodes {
            let mut attempts = 0;
            while peers[node].len() < want && attempts < nodes * 4 {
                attempts += 1;
                let other = rng.below(nodes as u64) as usize;
                if other == node
                    || peers[node].contains(&other)
                    || peers[other].len() >= MESH_DEGREE_HIGH
                {
                    continue;
                }
                peers[node].push(other);
                peers[other].push(node);
            }
            // Few nodes, all full: take the next ones in order rather than none.
            let mut other = 0;
            while peers[node].len() < want && other < nodes {
                if other != node && !peers[node].contains(&other) {
                    peers[node].push(other);
                    peers[other].push(node);
                }
                other += 1;
            }
        }
        let mut latency_ms = BTreeMap::new();
        for list in &mut peers {
            list.sort_unstable();
        }
        for (node, list) in peers.iter().enumerate() {
            for &other in list {
                if node < other {
                    let latency = rng.between(config.latency_ms_min, config.latency_ms_max);
                    latency_ms.insert((node, other), latency);
                }
            }
        }
        Network {
            config: config.clone(),
            peers,
            latency_ms,
            sides: Vec::new(),
        }
    }

    /// `node`'s mesh peers, ascending.
    pub(crate) fn peers(&self, node: NodeId) -> &[NodeId] {
        self.peers.get(node).map_or(&[], Vec::as_slice)
    }

    /// Whether `a` and `b` can reach each other now.
    pub(crate) fn connected(&self, a: NodeId, b: NodeId) -> bool {
        self.sides.is_empty() || self.sides.get(a) == self.sides.get(b)
    }

    /// Splits the nodes in two sides (`true` is one side, `false` the other).
    pub(crate) fn partition(&mut self, sides: Vec<bool>) {
        self.sides = sides;
    }

    /// Ends the partition.
    pub(crate) fn heal(&mut self) {
        self.sides.clear();
    }

    /// Whether the network is split now.
    pub(crate) fn is_partitioned(&self) -> bool {
        !self.sides.is_empty()
    }

    /// What happens to one message from `from` to `to`, drawn now.
    pub(crate) fn send(&self, from: NodeId, to: NodeId, rng: &mut SimRng) -> Delivery {
        let link = (from.min(to), from.max(to));
        let Some(&latency) = self.latency_ms.get(&link) else {
            return Delivery::Lost;
        };
        if !self.connected(from, to) || rng.chance_ppm(self.config.loss_ppm) {
            return Delivery::Lost;
        }
        let mut delays = vec![latency + rng.between(0, self.config.jitter_ms)];
        if rng.chance_ppm(self.config.duplicate_ppm) {
            delays.push(latency + rng.between(0, self.config.jitter_ms));
        }
        Delivery::After(delays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_gets_at_least_the_mesh_degree_and_links_are_symmetric() {
        let config = NetConfig::default();
        let mut rng = SimRng::new(5, 0);
        let net = Network::build(&config, 50, &mut rng);
        for node in 0..50 {
            let peers = net.peers(node);
            assert!(peers.len() >= config.mesh_degree, "node {node}: {peers:?}");
            assert!(peers.len() <= MESH_DEGREE_HIGH + config.mesh_degree);
            for &peer in peers {
                assert!(net.peers(peer).contains(&node));
                assert_ne!(peer, node);
            }
        }
    }

    #[test]
    fn a_small_network_is_a_full_mesh() {
        let mut rng = SimRng::new(1, 0);
        let net = Network::build(&NetConfig::default(), 4, &mut rng);
        for node in 0..4 {
            assert_eq!(net.peers(node).len(), 3);
        }
    }

    #[test]
    fn a_partition_drops_messages_across_it_until_healed() {
        let config = NetConfig {
            loss_ppm: 0,
            duplicate_ppm: 0,
            ..NetConfig::default()
        };
        let mut rng = SimRng::new(2, 0);
        let mut net = Network::build(&config, 4, &mut rng);
        net.partition(vec![true, true, false, false]);
        assert_eq!(net.send(0, 2, &mut rng), Delivery::Lost);
        assert!(matches!(net.send(0, 1, &mut rng), Delivery::After(_)));
        net.heal();
        let Delivery::After(delays) = net.send(0, 2, &mut rng) else {
            panic!("healed link lost a message");
        };
        assert!(delays[0] >= config.latency_ms_min);
        assert!(delays[0] <= config.latency_ms_max + config.jitter_ms);
    }
}
