//! Keeping the best epoch's weights, and early stopping when validation stops improving.

use burn::module::Module;

use crate::model::ResNetV2;

use super::events::EpochReport;

/// The best epoch so far: its weights (inference mode) and validation probabilities.
pub(super) struct BestEpoch {
    /// The weights, detached from autodiff.
    pub model: ResNetV2,
    /// 1-based epoch.
    pub epoch: usize,
    /// Its validation mAP.
    pub map: f64,
    /// Its validation loss.
    pub valid_loss: Option<f64>,
    /// Its validation probabilities, `valid images × labels`, row-major.
    pub probs: Vec<f32>,
}

/// Watches each epoch's validation mAP.
pub(super) struct EarlyStopping {
    /// Epochs without improvement that end the run; 0 never ends it.
    patience: usize,
    best: Option<BestEpoch>,
    /// Epochs since the best one.
    stale_epochs: usize,
    stopped: bool,
}

impl EarlyStopping {
    pub fn new(patience: usize) -> Self {
        Self { patience, best: None, stale_epochs: 0, stopped: false }
    }

    /// Keeps `model` when this epoch's mAP beats the best so far (without validation images,
    /// every epoch counts as the best) and marks the report; decides early stopping.
    pub fn observe(
        &mut self,
        report: &mut EpochReport,
        model: &ResNetV2,
        probs: Vec<f32>,
        validated: bool,
    ) {
        let improved = match &self.best {
            None => true,
            Some(best) => !validated || report.metrics.map > best.map,
        };
        report.best = improved;
        if improved {
            self.best = Some(BestEpoch {
                model: model.valid(),
                epoch: report.epoch,
                map: report.metrics.map,
                valid_loss: report.valid_loss,
                probs,
            });
            self.stale_epochs = 0;
        } else {
            self.stale_epochs += 1;
            self.stopped = self.patience > 0 && self.stale_epochs >= self.patience;
        }
    }

    /// Early stopping as it was when a run was saved (resuming).
    pub fn restore(
        patience: usize,
        best: Option<BestEpoch>,
        stale_epochs: usize,
        stopped: bool,
    ) -> Self {
        Self { patience, best, stale_epochs, stopped }
    }

    /// Epochs since the best one.
    pub fn stale_epochs(&self) -> usize {
        self.stale_epochs
    }

    /// The best epoch, once one has been validated.
    pub fn best(&self) -> Option<&BestEpoch> {
        self.best.as_ref()
    }

    /// True when the run should end.
    pub fn stopped(&self) -> bool {
        self.stopped
    }
}
