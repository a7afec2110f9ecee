//! Data-parallel training: several peers step one run together.
//!
//! Every peer holds the whole run (dataset, weights, optimiser, seeded shuffle) and takes its
//! shard of every batch: the batch's images split into `world` contiguous chunks, the first
//! ones one image larger when the batch does not divide ([`shard_range`]). A step is then:
//!
//! 1. each peer's forward and backward pass on its shard (batch norm normalises with the
//!    shard's own statistics, as PyTorch's DDP does without `SyncBatchNorm`);
//! 2. one [`Exchange::all_gather`] of every peer's gradients, batch-norm running statistics and
//!    loss ([`state`]);
//! 3. on every peer, the same weighted sum in rank order (a shard of `n` images weighs
//!    `n / batch`: the combined batch's mean loss), then the same AdamW step.
//!
//! So every peer holds the same weights after every step, and the run equals one process that
//! takes each batch in the same shards one after another (`accumulate`, the test's reference):
//! batch norm's rule is the only difference from one process stepping the whole batch at once.
//! Validation is sharded the same way and its logits gathered, so early stopping, the tuned
//! thresholds and the run file agree everywhere; rank 0 writes the outputs.
//!
//! How the values travel is the [`Exchange`]: threads of one process ([`local`]), or processes
//! and machines over burn's own tensor transport ([`network`], feature `distributed`).

#[cfg(all(feature = "distributed", not(target_arch = "wasm32")))]
pub mod network;

pub mod local;
pub(super) mod state;

use std::ops::Range;

use crate::error::{Error, ErrorKind, Result};

/// Moves every peer's values to every peer: the one collective a data-parallel step needs.
pub trait Exchange: Send {
    /// Every peer's `values`, in rank order (this peer's own included). Every peer calls it the
    /// same number of times, in the same order; lengths may differ between peers.
    ///
    /// # Errors
    /// [`ErrorKind::Peer`] when a peer left the run or did not answer in time.
    fn all_gather(&mut self, values: Vec<f32>) -> Result<Vec<Vec<f32>>>;

    /// Waits until the other peers have what this one offered (a peer that leaves before then
    /// would fail them), then closes the connections.
    ///
    /// # Errors
    /// [`ErrorKind::Peer`] when they did not take it in time.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// This process's place in a data-parallel run, and the way to the other peers.
pub struct Peers {
    rank: usize,
    world: usize,
    exchange: Box<dyn Exchange>,
    traffic: PeerTraffic,
}

/// What a peer's exchanges cost so far: the figures a scaling estimate needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerTraffic {
    /// Peers in the run.
    pub peers: usize,
    /// Exchanges (one a step, one a validation, two when joining).
    pub exchanges: usize,
    /// Bytes this peer offered the others (each of the `world − 1` others takes them once).
    pub bytes_out: u64,
    /// Bytes this peer took from the others.
    pub bytes_in: u64,
    /// Seconds spent in exchanges: sending, receiving, and waiting for slower peers.
    pub seconds: f64,
}

impl Peers {
    /// Peer `rank` of `world`, reaching the others through `exchange`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidOption`] when `rank` is not below `world`.
    pub fn new(rank: usize, world: usize, exchange: Box<dyn Exchange>) -> Result<Self> {
        if world == 0 || rank >= world {
            return Err(Error::option(
                "rank",
                format!("the rank is 0 to {} for {world} peers, not {rank}", world.max(1) - 1),
            ));
        }
        let traffic = PeerTraffic { peers: world, ..PeerTraffic::default() };
        Ok(Self { rank, world, exchange, traffic })
    }

    /// This peer's rank: 0 writes the run's outputs.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many peers the run has.
    pub fn world(&self) -> usize {
        self.world
    }

    /// What this peer's exchanges cost so far.
    pub fn traffic(&self) -> PeerTraffic {
        self.traffic
    }

    /// This peer's part of `count` items ([`shard_range`]).
    pub fn shard(&self, count: usize) -> Range<usize> {
        shard_range(count, self.world, self.rank)
    }

    /// Every peer's `values`, in rank order.
    ///
    /// # Errors
    /// As [`Exchange::all_gather`].
    pub fn all_gather(&mut self, values: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let started = web_time::Instant::now();
        let offered = values.len() as u64 * 4 * (self.world as u64 - 1);
        let gathered = self.exchange.all_gather(values)?;
        self.traffic.exchanges += 1;
        self.traffic.bytes_out += offered;
        self.traffic.bytes_in += gathered
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != self.rank)
            .map(|(_, v)| v.len() as u64 * 4)
            .sum::<u64>();
        self.traffic.seconds += started.elapsed().as_secs_f64();
        if gathered.len() != self.world {
            return Err(peer_error(
                self.rank,
                format!("{} peers answered, the run has {}", gathered.len(), self.world),
            ));
        }
        Ok(gathered)
    }

    /// Checks that every peer runs the same thing: `facts` are numbers every peer must agree
    /// on (dataset size, steps, options…), each named in `names` for the message.
    ///
    /// # Errors
    /// [`ErrorKind::Peer`] naming the first fact a peer disagrees on.
    pub fn agree(&mut self, names: &[&str], facts: &[f64]) -> Result<()> {
        let values = facts.iter().map(|&f| f as f32).collect();
        let gathered = self.all_gather(values)?;
        for (rank, theirs) in gathered.iter().enumerate() {
            for (k, name) in names.iter().enumerate() {
                let (ours, other) = (facts[k] as f32, theirs.get(k).copied().unwrap_or(f32::NAN));
                if ours != other {
                    return Err(peer_error(
                        rank,
                        format!(
                            "it has {name} {other}, this peer {ours}: every peer needs the same \
                             dataset, options and run file"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Waits for the other peers to take what this one offered ([`Exchange::finish`]).
    ///
    /// # Errors
    /// As [`Exchange::finish`].
    pub fn finish(&mut self) -> Result<()> {
        self.exchange.finish()
    }
}

/// Items `start..end` of `count` that peer `rank` of `world` takes: contiguous chunks in rank
/// order, the first `count % world` one item larger (so a chunk may be empty when the batch
/// has fewer items than there are peers).
pub fn shard_range(count: usize, world: usize, rank: usize) -> Range<usize> {
    let world = world.max(1);
    let (base, extra) = (count / world, count % world);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// A peer-related failure, naming the peer.
pub(crate) fn peer_error(rank: usize, reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::Peer { rank, reason: reason.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_in_order_and_differ_by_one_at_most() {
        for count in 0..20 {
            for world in 1..5 {
                let shards: Vec<_> = (0..world).map(|r| shard_range(count, world, r)).collect();
                assert_eq!(shards[0].start, 0);
                assert_eq!(shards[world - 1].end, count);
                for pair in shards.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].len() >= pair[1].len());
                    assert!(pair[0].len() - pair[1].len() <= 1);
                }
            }
        }
        assert_eq!(shard_range(7, 2, 0), 0..4);
        assert_eq!(shard_range(7, 2, 1), 4..7);
        assert_eq!(shard_range(1, 2, 1), 1..1);
    }

    #[test]
    fn peers_that_run_different_things_are_told_which_fact_differs() {
        let mut ends = local::LocalExchange::group(2).into_iter();
        let (first, second) = (ends.next().unwrap(), ends.next().unwrap());
        let names = ["images", "seed"];
        let other = std::thread::spawn(move || {
            let mut peers = Peers::new(1, 2, Box::new(second)).unwrap();
            peers.agree(&names, &[100.0, 8.0])
        });
        let mut peers = Peers::new(0, 2, Box::new(first)).unwrap();
        let error = peers.agree(&names, &[100.0, 7.0]).unwrap_err();
        assert!(error.to_string().contains("peer 1: it has seed 8, this peer 7"), "{error}");
        let error = other.join().unwrap().unwrap_err();
        assert!(error.to_string().contains("peer 0: it has seed 7, this peer 8"), "{error}");
        assert_eq!(peers.traffic().exchanges, 1);
        assert_eq!(peers.traffic().bytes_in, 8);
    }

    #[test]
    fn a_rank_outside_the_run_is_refused() {
        let group = local::LocalExchange::group(2);
        let mut exchanges = group.into_iter();
        let exchange = Box::new(exchanges.next().unwrap());
        let error = Peers::new(2, 2, exchange).err().unwrap();
        assert!(error.to_string().contains("0 to 1"), "{error}");
    }
}
