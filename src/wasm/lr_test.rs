//! `LearningRateTest`: a learning-rate range test (see `src/train/lr_find.rs`), stepped from
//! JS like a `Trainer`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{promise, to_js};
use super::interop::busy;
use crate::train::{LrFinder, LrPoint};

/// A learning-rate range test on the dataset, made by `Dataset.prepareLearningRateTest`.
#[wasm_bindgen]
#[derive(Clone)]
pub struct LearningRateTest {
    /// Taken out while a step runs, so no borrow is held across an `await`.
    finder: Rc<RefCell<Option<LrFinder>>>,
}

impl LearningRateTest {
    pub(super) fn new(finder: LrFinder) -> Self {
        LearningRateTest { finder: Rc::new(RefCell::new(Some(finder))) }
    }

    /// Tries the next rate: what `step` resolves to (`None` once the test is done).
    pub(super) async fn next_point(&self) -> Result<Option<LrPoint>, JsError> {
        let mut finder = self.finder.borrow_mut().take().ok_or_else(busy)?;
        let result = finder.step().await;
        *self.finder.borrow_mut() = Some(finder);
        Ok(result?)
    }
}

#[wasm_bindgen]
impl LearningRateTest {
    /// Batches the test runs at most.
    #[wasm_bindgen(js_name = totalSteps)]
    pub fn total_steps(&self) -> Result<usize, JsError> {
        Ok(self.finder.borrow().as_ref().ok_or_else(busy)?.total_steps())
    }

    /// Runs the next batch; resolves to `{ learningRate, loss, smoothed }`, or `null` once the
    /// test is done (every rate tried, or the loss blew up).
    pub fn step(&self) -> js_sys::Promise {
        let test = self.clone();
        promise(async move {
            match test.next_point().await? {
                Some(point) => to_js(&point),
                None => Ok(JsValue::NULL),
            }
        })
    }

    /// `{ points: [{ learningRate, loss, smoothed }], suggested, minLossRate, kneeRate,
    /// divergedAt }`.
    pub fn report(&self) -> Result<JsValue, JsError> {
        let guard = self.finder.borrow();
        to_js(&guard.as_ref().ok_or_else(busy)?.report()?)
    }
}
