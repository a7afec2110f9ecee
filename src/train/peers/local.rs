//! Peers that are threads of one process (`tagtrain train --devices N`): the exchange is shared
//! memory, a rendezvous where the last peer to arrive publishes every peer's values.
//!
//! burn 0.22's own collective (`burn::backend::distributed`, an all-reduce registered with the
//! autodiff graph) is implemented by its CUDA backend alone (NCCL): on the CPU backend it is
//! `unimplemented!` and on wgpu an error, so threads on those devices meet here instead.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{Exchange, peer_error};
use crate::error::Result;

/// One peer's end of an in-process group ([`LocalExchange::group`]).
pub struct LocalExchange {
    rank: usize,
    shared: Arc<Shared>,
}

struct Shared {
    world: usize,
    state: Mutex<Round>,
    changed: Condvar,
}

#[derive(Default)]
struct Round {
    /// Completed rounds.
    generation: u64,
    /// This round's values so far, by rank.
    slots: Vec<Option<Vec<f32>>>,
    arrived: usize,
    /// The last completed round's values (kept until the next round completes, which needs
    /// every peer to have taken them first).
    published: Arc<Vec<Vec<f32>>>,
    /// A peer that left the run (its end was dropped: it returned or failed).
    left: Option<usize>,
}

impl LocalExchange {
    /// The `world` ends of one group, rank 0 first: give each to its peer's thread.
    pub fn group(world: usize) -> Vec<Self> {
        let round = Round { slots: vec![None; world], ..Round::default() };
        let shared = Arc::new(Shared { world, state: Mutex::new(round), changed: Condvar::new() });
        (0..world).map(|rank| Self { rank, shared: shared.clone() }).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        // A peer that panicked while holding the lock left the values consistent (every write
        // is one assignment): go on, and let the panic be reported by its own thread.
        self.shared.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Exchange for LocalExchange {
    fn all_gather(&mut self, values: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let mut round = self.lock();
        if let Some(rank) = round.left {
            return Err(peer_error(rank, "it left the run"));
        }
        let generation = round.generation;
        round.slots[self.rank] = Some(values);
        round.arrived += 1;
        if round.arrived == self.shared.world {
            let values = round.slots.iter_mut().map(|s| s.take().unwrap_or_default()).collect();
            round.published = Arc::new(values);
            round.arrived = 0;
            round.generation += 1;
            self.shared.changed.notify_all();
            return Ok(round.published.as_ref().clone());
        }
        while round.generation == generation {
            if let Some(rank) = round.left {
                return Err(peer_error(rank, "it left the run"));
            }
            round =
                self.shared.changed.wait(round).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        Ok(round.published.as_ref().clone())
    }
}

impl Drop for LocalExchange {
    fn drop(&mut self) {
        let mut round = self.lock();
        round.left.get_or_insert(self.rank);
        self.shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_peer_gets_every_value_in_rank_order_round_after_round() {
        let handles: Vec<_> = LocalExchange::group(3)
            .into_iter()
            .map(|mut end| {
                std::thread::spawn(move || {
                    let rank = end.rank as f32;
                    (0..50)
                        .map(|round| end.all_gather(vec![rank, round as f32]).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for rounds in &results {
            for (round, gathered) in rounds.iter().enumerate() {
                let expected: Vec<Vec<f32>> =
                    (0..3).map(|r| vec![r as f32, round as f32]).collect();
                assert_eq!(gathered, &expected);
            }
        }
    }

    #[test]
    fn a_peer_that_leaves_stops_the_others_with_an_error_naming_it() {
        let mut ends = LocalExchange::group(2);
        let leaver = ends.pop().unwrap();
        let mut stayer = ends.pop().unwrap();
        let waiting = std::thread::spawn(move || stayer.all_gather(vec![1.0]));
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(leaver);
        let error = waiting.join().unwrap().unwrap_err();
        assert!(error.to_string().contains("peer 1"), "{error}");
    }
}
