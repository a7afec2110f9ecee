//! Keeping the best epoch's weights (or the last one's, [`KeptEpoch::Last`]), and early
//! stopping when validation stops improving.

use burn::module::Module;

use crate::model::Network;
use crate::options::KeptEpoch;

use super::events::EpochReport;

/// The epoch kept so far, its weights (inference mode) and validation probabilities: the best
/// one, or the schedule's last with [`KeptEpoch::Last`].
pub(super) struct BestEpoch {
    /// The weights, detached from autodiff.
    pub model: Network,
    /// 1-based epoch.
    pub epoch: usize,
    /// Its validation mAP.
    pub map: f64,
    /// Its validation loss.
    pub valid_loss: Option<f64>,
    /// Its validation probabilities, `valid images × labels`, row-major.
    pub probs: Vec<f32>,
}

/// Watches each epoch's validation mAP, and keeps the weights the run will save.
pub(super) struct EarlyStopping {
    /// Epochs without improvement that end the run; 0 never ends it.
    patience: usize,
    /// Which epoch's weights are kept at the schedule's end.
    keep: KeptEpoch,
    best: Option<BestEpoch>,
    /// Epochs since the best one.
    stale_epochs: usize,
    stopped: bool,
}

impl EarlyStopping {
    pub fn new(patience: usize, keep: KeptEpoch) -> Self {
        Self { patience, keep, best: None, stale_epochs: 0, stopped: false }
    }

    /// Keeps `model` when this epoch's mAP beats the best so far (without validation images,
    /// every epoch counts as the best), or when it ends the schedule and the last epoch is to
    /// be kept; marks the report; decides early stopping (not at the schedule's end, which
    /// ends the run anyway).
    pub fn observe(
        &mut self,
        report: &mut EpochReport,
        model: &Network,
        probs: Vec<f32>,
        validated: bool,
        schedule_end: bool,
    ) {
        let improved = match &self.best {
            None => true,
            Some(best) => !validated || report.metrics.map > best.map,
        };
        let kept = improved || (schedule_end && self.keep == KeptEpoch::Last);
        report.best = kept;
        if kept {
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
            self.stopped = !schedule_end && self.patience > 0 && self.stale_epochs >= self.patience;
        }
    }

    /// Early stopping as it was when a run was saved (resuming).
    pub fn restore(
        patience: usize,
        keep: KeptEpoch,
        best: Option<BestEpoch>,
        stale_epochs: usize,
        stopped: bool,
    ) -> Self {
        Self { patience, keep, best, stale_epochs, stopped }
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

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::metrics::evaluate;
    use crate::model::ResNetV2Config;

    /// An epoch report whose validation mAP is `map`.
    fn report(epoch: usize, map: f64) -> EpochReport {
        let mut metrics = evaluate(&["a".to_string()], &[0.9, 0.1], &[1, 0], &[0.5]);
        metrics.map = map;
        EpochReport { epoch, train_loss: 0.1, valid_loss: Some(0.2), best: false, metrics }
    }

    /// Feeds the validation mAPs in order (the last one ends the schedule) and returns the
    /// kept epoch, each report's mark and whether early stopping ended the run.
    fn run(keep: KeptEpoch, patience: usize, maps: &[f64]) -> (usize, Vec<bool>, bool) {
        let model = ResNetV2Config::for_depth(11, 1).unwrap().init(&Device::flex()).unwrap().into();
        let mut watch = EarlyStopping::new(patience, keep);
        let mut marks = Vec::new();
        for (i, &map) in maps.iter().enumerate() {
            let mut r = report(i + 1, map);
            watch.observe(&mut r, &model, vec![map as f32], true, i + 1 == maps.len());
            marks.push(r.best);
            if watch.stopped() {
                break;
            }
        }
        let best = watch.best().unwrap();
        assert_eq!(best.probs, vec![best.map as f32], "the kept epoch's probabilities");
        (best.epoch, marks, watch.stopped())
    }

    #[test]
    fn best_keeps_the_highest_validation_map() {
        let (kept, marks, stopped) = run(KeptEpoch::Best, 0, &[0.5, 0.7, 0.6, 0.65]);
        assert_eq!(kept, 2);
        assert_eq!(marks, [true, true, false, false]);
        assert!(!stopped);
    }

    #[test]
    fn last_keeps_the_final_epoch_when_the_schedule_ends() {
        let (kept, marks, stopped) = run(KeptEpoch::Last, 0, &[0.5, 0.7, 0.6, 0.65]);
        assert_eq!(kept, 4);
        assert_eq!(marks, [true, true, false, true]);
        assert!(!stopped);
    }

    #[test]
    fn last_keeps_the_best_epoch_when_early_stopping_ends_the_run() {
        let (kept, marks, stopped) = run(KeptEpoch::Last, 2, &[0.5, 0.7, 0.6, 0.65, 0.66, 0.8]);
        assert_eq!(kept, 2);
        assert_eq!(marks, [true, true, false, false]);
        assert!(stopped);
    }

    #[test]
    fn patience_running_out_on_the_final_epoch_is_the_schedule_ending() {
        let (kept, _, stopped) = run(KeptEpoch::Last, 2, &[0.5, 0.7, 0.6, 0.65]);
        assert_eq!((kept, stopped), (4, false));
        let (kept, _, stopped) = run(KeptEpoch::Best, 2, &[0.5, 0.7, 0.6, 0.65]);
        assert_eq!((kept, stopped), (2, false));
    }
}
