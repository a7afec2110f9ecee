//! A step taken in shards: by the peers of a data-parallel run, each its own shard
//! ([`super::peers`]), or by one process taking every shard in turn (gradient accumulation:
//! the same step on the memory of one shard, and the reference a data-parallel run is tested
//! against).

use burn::optim::GradientsParams;

use crate::error::{Error, Result};
use crate::model::Network;
use crate::rng::SeededRng;

use super::ema::WeightAverage;
use super::peers::state::{
    combine, every_value, running_statistics, set_every_value, set_running_statistics, shard_values,
};
use super::peers::{Peers, shard_range};
use super::session::{Batch, TrainingSession, busy};

impl TrainingSession {
    /// Joins a data-parallel run as `peers.rank()` of `peers.world()`: checks that every peer
    /// runs the same dataset and options at the same step, then takes rank 0's weights (so a
    /// run starts from one initialisation wherever its peers' weights came from). Every step
    /// after this takes this peer's shard of the batch and exchanges with the others.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOption`] for a time budget (each peer would time its own
    /// steps: give epochs); [`crate::ErrorKind::Peer`] when a peer differs or leaves.
    pub async fn join_peers(&mut self, mut peers: Peers) -> Result<()> {
        if self.choosing_epochs() {
            return Err(Error::option(
                "timeBudgetSeconds",
                "a time budget is not shared between peers: give the number of epochs",
            ));
        }
        let names = [
            "images",
            "training images",
            "validation images",
            "labels",
            "image size",
            "batch size",
            "epochs",
            "steps done",
            "seed",
        ];
        let facts = [
            self.dataset.len(),
            self.split.train.len(),
            self.split.valid.len(),
            self.dataset.labels.len(),
            self.dataset.image_size,
            self.options.batch_size,
            self.options.epochs,
            self.step,
            self.options.seed as usize,
        ]
        .map(|n| n as f64);
        peers.agree(&names, &facts)?;
        let model = self.model.take().ok_or_else(busy)?;
        let (values, layout) = every_value(&model).await?;
        let offered = if peers.rank() == 0 { values } else { Vec::new() };
        let gathered = peers.all_gather(offered)?;
        let model = set_every_value(model, &gathered[0], layout, &self.train_device)?;
        if self.step == 0 && self.ema.is_some() {
            self.ema = Some(WeightAverage::new(self.options.ema_decay, &model));
        }
        self.model = Some(model);
        self.peers = Some(peers);
        Ok(())
    }

    /// Takes every batch in `shards` passes, one after another, combined exactly as that many
    /// data-parallel peers combine theirs (batch norm normalising each pass on its own):
    /// the memory of a batch `shards` times smaller. 1 (the default) takes the batch whole.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOption`] for 0, or in a data-parallel run.
    pub fn accumulate(&mut self, shards: usize) -> Result<()> {
        if shards == 0 || (self.peers.is_some() && shards > 1) {
            return Err(Error::option("accumulate", "give 1 or more passes, without peers"));
        }
        self.shards = shards;
        Ok(())
    }

    /// The data-parallel peers this session steps with, if any.
    pub fn peers(&self) -> Option<&Peers> {
        self.peers.as_ref()
    }

    /// Waits until the other peers have this peer's last values; a peer ends its run with it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Peer`].
    pub fn leave_peers(&mut self) -> Result<()> {
        match self.peers.as_mut() {
            Some(peers) => peers.finish(),
            None => Ok(()),
        }
    }

    /// The images this process takes this epoch, in the order it takes them: the epoch's
    /// shuffle, or a peer's shard of each of its batches.
    pub(super) fn epoch_images(&self) -> Vec<usize> {
        let Some(peers) = &self.peers else {
            return self.order.clone();
        };
        let batch = self.options.batch_size.max(1);
        self.order
            .chunks(batch)
            .flat_map(|chunk| chunk[peers.shard(chunk.len())].iter().copied())
            .collect()
    }

    /// True when a step is taken in shards (by peers, or accumulated).
    pub(super) fn sharded(&self) -> bool {
        self.peers.is_some() || self.shards > 1
    }

    /// The batch `order[start..start + count]` in shards: this peer's, or every one in turn;
    /// combined with the other peers'. Returns the batch's loss, its gradients and the model,
    /// whose running statistics are the combined ones.
    pub(super) async fn sharded_gradients(
        &mut self,
        start: usize,
        count: usize,
    ) -> Result<(f32, GradientsParams, Network)> {
        let (world, ranks) = match &self.peers {
            Some(peers) => (peers.world(), peers.rank()..peers.rank() + 1),
            None => (self.shards, 0..self.shards),
        };
        // One process taking every shard starts each from the same running statistics.
        let model = self.model.as_ref().ok_or_else(busy)?;
        let base = match ranks.len() > 1 {
            true => Some(running_statistics(model).await?),
            false => None,
        };
        // Augmentation draws from a stream of its own per shard, so that a shard is augmented
        // the same whichever peer takes it, and the shuffle's stream stays equal on every peer.
        let step_rng = self.rng.state();
        let mut parts = Vec::with_capacity(ranks.len());
        for rank in ranks {
            let shard = shard_range(count, world, rank);
            if shard.is_empty() {
                let model = self.model.as_ref().ok_or_else(busy)?;
                parts.push(shard_values(model, None, None, 0).await?);
                continue;
            }
            let (from, to) = (start + shard.start, start + shard.end);
            self.cache_features(Batch::Train(from..to)).await?;
            self.rng =
                SeededRng::new(step_rng ^ (rank as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let gradients = self.batch_gradients(from, shard.len());
            self.rng = SeededRng::from_state(step_rng);
            let (loss, grads, model) = gradients?;
            parts.push(shard_values(&model, Some(&grads), Some(loss), shard.len()).await?);
            self.model = Some(match &base {
                Some(statistics) => set_running_statistics(model, statistics),
                None => model,
            });
        }
        self.rng.next_u64();
        if let Some(peers) = &mut self.peers {
            parts = peers.all_gather(parts.pop().unwrap_or_default())?;
        }
        let combined = combine(&parts)?;
        let (model, grads) = combined.apply(self.model.take().ok_or_else(busy)?);
        Ok((combined.loss, grads, model))
    }

    /// The validation images this process computes: a peer's shard, or all of them.
    pub(super) fn valid_shard(&self) -> &[usize] {
        let valid = &self.split.valid[..];
        match &self.peers {
            Some(peers) => &valid[peers.shard(valid.len())],
            None => valid,
        }
    }

    /// Logits of the validation images: with peers, each computes its shard's and they are
    /// gathered in rank order.
    pub(super) async fn valid_logits(&mut self) -> Result<Vec<f32>> {
        let mine = self.logits(self.valid_shard()).await?;
        match self.peers.as_mut() {
            Some(peers) => Ok(peers.all_gather(mine)?.concat()),
            None => Ok(mine),
        }
    }
}
